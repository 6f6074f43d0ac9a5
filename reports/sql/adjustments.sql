select
    employee_id, license_state, license_type, license_number, kind, requirement, hours::decimal(18, 4) as hours,
    until::date as until, reference, applied, why_not, source_file, source_row::integer as source_row
from license_adjustments

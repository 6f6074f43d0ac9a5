select
    employee_id, license_state, license_type, license_number, course_id, course_title, provider,
    accreditation, completion_date::date as completion_date, hours::decimal(18, 4) as hours, category, delivery,
    counted_hours::decimal(18, 4) as counted_hours, decision, reason, source_file, source_row::integer as source_row,
    counts_toward, first_name, last_name, clinic
from credit_ledger

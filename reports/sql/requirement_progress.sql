select
    employee_id, license_state, license_type, license_number, requirement,
    required_hours::decimal(18, 4) as required_hours, counted_hours::decimal(18, 4) as counted_hours, met, waived_by,
    kind, origin, requirement_order
from requirement_progress

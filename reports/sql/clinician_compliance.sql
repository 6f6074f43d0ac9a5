-- clinician_compliance.csv, and the columns the pages show beside it. Hours are cast on read, so that an
-- upstream change of type never changes the CSV text.
select
    as_of_date::date as as_of_date, employee_id, first_name, last_name, clinic,
    license_type, license_state, license_number,
    cycle_start::date as cycle_start, cycle_end::date as cycle_end, days_remaining::integer as days_remaining,
    required_hours::decimal(18, 4) as required_hours, counted_hours::decimal(18, 4) as counted_hours,
    hours_remaining::decimal(18, 4) as hours_remaining,
    unmet_requirements, status, status_reason, deadline::date as deadline, carried_hours::decimal(18, 4) as carried_hours,
    rule_effective_date::date as rule_effective_date, job_title, rule_source, rule_not_modeled, email,
    license_expiration_date::date as license_expiration_date
from clinician_compliance

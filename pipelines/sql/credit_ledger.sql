-- The credit ledger: each decision with its license, its person and its credit as the provider reported it.
select
    decisions.license_id,
    decisions.credit_id,
    licenses.employee_id,
    licenses.license_state,
    licenses.license_type,
    licenses.license_number,
    credit.course_id,
    credit.course_key,
    credit.course_title,
    credit.provider,
    credit.accreditation,
    credit.completion_date,
    decisions.hours,
    decisions.category,
    credit.delivery,
    decisions.counted_hours,
    decisions.is_eligible,
    decisions.decision,
    decisions.reason,
    credit.source_file,
    credit.source_row,
    decisions.counts_toward,
    licenses.first_name,
    licenses.last_name,
    licenses.clinic
from credit_decisions as decisions
inner join license_cycles as licenses using (license_id)
inner join ce_credits as credit using (credit_id)

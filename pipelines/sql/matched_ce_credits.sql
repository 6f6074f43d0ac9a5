-- Staged credits, each with the roster person it belongs to (compliance rule 2, docs/compliance.md):
-- license_state + license_number, else employee_id, else email (case-insensitive). No name matching.
-- A view: the context suite reads a few of its columns and ce_credits the kept rows, so the 4M wide
-- rows are written once, into ce_credits.
with roster_by_license as (
    select license_state, upper(license_number) as license_number, min(employee_id) as employee_id
    from roster
    where license_state is not null and license_number is not null
    group by all
),

roster_by_employee as (
    select distinct employee_id from roster
),

roster_by_email as (
    select email, min(employee_id) as employee_id
    from roster
    where email is not null
    group by all
),

final as (
    select
        credits.*,
        coalesce(by_license.employee_id, by_employee.employee_id, by_email.employee_id) as person_id,
        -- the course: its id, else its case-folded title (course_title_keys: Python's casefold, which lower() is not)
        coalesce(credits.course_id, title_keys.course_key) as course_key
    from staged_ce_credits as credits
    left join course_title_keys as title_keys
        on credits.course_id is null
        and credits.course_title = title_keys.course_title
    left join roster_by_license as by_license
        on credits.license_state = by_license.license_state
        and upper(credits.license_number) = by_license.license_number
    left join roster_by_employee as by_employee
        on credits.employee_id = by_employee.employee_id
    left join roster_by_email as by_email
        on credits.email = by_email.email
)

select * from final

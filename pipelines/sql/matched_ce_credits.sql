-- Staged credits, each with the roster person it belongs to (SPEC compliance semantics 2):
-- license_state + license_number, else employee_id, else email (case-insensitive). No name matching.
create or replace table matched_ce_credits as
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
        coalesce(credits.course_id, lower(credits.course_title)) as course_key,
        -- the same row again in one file (a resend inside an export): all the provider reported agrees
        row_number() over (
            partition by
                credits.source_file, credits.license_state, credits.license_number, credits.employee_id, credits.email,
                credits.course_id, credits.course_title, credits.completion_date_raw, credits.hours_raw,
                credits.category_raw, credits.delivery_raw
            order by credits.source_row
        ) > 1 as repeats_an_earlier_row
    from staged_ce_credits as credits
    left join roster_by_license as by_license
        on credits.license_state = by_license.license_state
        and upper(credits.license_number) = by_license.license_number
    left join roster_by_employee as by_employee
        on credits.employee_id = by_employee.employee_id
    left join roster_by_email as by_email
        on credits.email = by_email.email
)

select * from final

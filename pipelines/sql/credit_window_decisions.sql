-- Every credit decided in every window of every evaluable license of its person (license_windows.sql):
-- in the current window every credit of the person, in the previous one (for carry-over) the credits
-- completed inside it, each window under its own entry. The first exclusion reason that applies
-- (outside_cycle, duplicate, repeat_course, provider_not_accepted, below_minimum_hours), then the
-- hours counted after the window's delivery caps, earliest completion first.
-- credit_id follows (source_file, source_row), so it stands for that order in every tie-break.
create or replace table credit_window_decisions as
with credits as (
    select
        credit_id,
        person_id,
        course_id,
        course_key,
        completion_date,
        hours,
        category,
        delivery,
        accreditation,
        row_number() over (partition by person_id, course_key, completion_date order by credit_id) > 1 as is_duplicate
    from ce_credits
    where person_id is not null
),

considered as (
    select
        windows.license_id,
        windows.window_name,
        credits.*,
        credits.completion_date between windows.window_start and windows.window_end as in_cycle,
        not rules.restricts_accreditation or accepted.accreditation is not null as is_accepted,
        credits.hours < coalesce(shortest.min_hours, shortest_of_any.min_hours, 0) as is_below_minimum,
        caps.max_hours
    from license_windows as windows
    inner join license_cycles as licenses using (license_id)
    inner join rules on rules.rule_id = windows.rule_id
    inner join credits
        on credits.person_id = licenses.employee_id
        and (windows.window_name = 'current' or credits.completion_date between windows.window_start and windows.window_end)
    left join rule_accepted_accreditations as accepted
        on accepted.rule_id = windows.rule_id
        and accepted.accreditation = upper(credits.accreditation)
    left join rule_min_credit_hours as shortest
        on shortest.rule_id = windows.rule_id
        and shortest.accreditation = upper(credits.accreditation)
    left join rule_min_credit_hours as shortest_of_any
        on shortest_of_any.rule_id = windows.rule_id
        and shortest_of_any.accreditation = '*'
    left join window_delivery_caps as caps
        on caps.license_id = windows.license_id
        and caps.window_name = windows.window_name
        and caps.delivery = credits.delivery
),

reasoned as (
    select
        *,
        -- Both running counts share one window (one sort of the rows), where two row_numbers partitioned by
        -- is_duplicate and by in_cycle would take two.
        -- the person's first completion of the course, whatever the date (what a one-time requirement takes)
        not is_duplicate and count(*) filter (where not is_duplicate) over course_in_window = 1 as is_first_completion,
        case
            when not in_cycle then 'outside_cycle'
            when is_duplicate then 'duplicate'
            -- the same course earlier in this cycle, among in-cycle credits that are not duplicates
            when count(*) filter (where in_cycle and not is_duplicate) over course_in_window > 1 then 'repeat_course'
            when not is_accepted then 'provider_not_accepted'
            when is_below_minimum then 'below_minimum_hours'
        end as exclusion_reason
    from considered
    window course_in_window as (
        partition by license_id, window_name, course_key order by completion_date, credit_id
        rows between unbounded preceding and current row
    )
),

-- Hours counted so far under a delivery cap, earliest first: only rows that count and have a cap need it
-- (about a seventh of them at 100k clinicians), so only those are sorted.
capped as (
    select
        *,
        sum(hours) over (
            partition by license_id, window_name, delivery
            order by completion_date, course_id nulls last, course_key, credit_id
            rows between unbounded preceding and current row
        ) as running_hours
    from reasoned
    where exclusion_reason is null and max_hours is not null
    union all by name
    select *, null as running_hours
    from reasoned
    where exclusion_reason is not null or max_hours is null
),

final as (
    select
        license_id,
        window_name,
        credit_id,
        course_id,
        completion_date,
        hours,
        category,
        delivery,
        accreditation,
        exclusion_reason,
        is_duplicate,
        is_accepted,
        is_below_minimum,
        is_first_completion,
        cast(
            case
                when exclusion_reason is not null then 0
                when max_hours is null then hours
                else greatest(0, least(hours, max_hours - (running_hours - hours)))
            end as decimal(18, 4)
        ) as counted_hours
    from capped
)

select * from final

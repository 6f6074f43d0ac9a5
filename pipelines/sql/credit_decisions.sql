-- Every credit considered for every evaluable license of its person (SPEC compliance semantics 3, 4, 8):
-- eligibility, the first exclusion reason that applies, and the hours counted after delivery caps.
-- The decisions are stored narrow (ids, hours, decision, reason): at 4M credits, writing the wide rows
-- cost more than deciding them. The view `credit_ledger` (credit_ledger.sql) joins the descriptive
-- columns back on.
-- credit_id follows (source_file, source_row), so it stands for that order in every tie-break.
create or replace table credit_decisions as
with licenses as (
    select * from license_cycles where not_evaluated_reason is null
),

credits as (
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
        licenses.license_id,
        credits.credit_id,
        credits.course_id,
        credits.course_key,
        credits.completion_date,
        credits.hours,
        credits.delivery,
        credits.is_duplicate,
        credits.completion_date between licenses.cycle_start and licenses.cycle_end as in_cycle,
        not licenses.restricts_accreditation or accepted.accreditation is not null as is_accepted,
        caps.max_hours
    from licenses
    inner join credits on credits.person_id = licenses.employee_id
    left join rule_accepted_accreditations as accepted
        on accepted.license_state = licenses.license_state
        and accepted.license_type = licenses.license_type
        and accepted.accreditation = upper(credits.accreditation)
    left join rule_delivery_caps as caps
        on caps.license_state = licenses.license_state
        and caps.license_type = licenses.license_type
        and caps.delivery = credits.delivery
),

reasoned as (
    select
        *,
        case
            when not in_cycle then 'outside_cycle'
            when is_duplicate then 'duplicate'
            -- the same course earlier in this cycle, among in-cycle credits that are not duplicates
            when row_number() over (
                partition by license_id, course_key, in_cycle and not is_duplicate order by completion_date, credit_id
            ) > 1 then 'repeat_course'
            when not is_accepted then 'provider_not_accepted'
        end as exclusion_reason
    from considered
),

capped as (
    select
        *,
        sum(hours) over (
            partition by license_id, delivery, exclusion_reason is null
            order by completion_date, course_id nulls last, course_key, credit_id
            rows between unbounded preceding and current row
        ) as running_hours
    from reasoned
),

counted as (
    select
        license_id,
        credit_id,
        exclusion_reason,
        cast(
            case
                when exclusion_reason is not null then 0
                when max_hours is null then hours
                else greatest(0, least(hours, max_hours - (running_hours - hours)))
            end as decimal(18, 4)
        ) as counted_hours
    from capped
),

final as (
    select
        counted.license_id,
        counted.credit_id,
        credits.hours,
        credits.category,
        counted.counted_hours,
        counted.exclusion_reason is null as is_eligible,
        case
            when counted.exclusion_reason is not null or counted.counted_hours = 0 then 'excluded'
            when counted.counted_hours < credits.hours then 'partially_counted'
            else 'counted'
        end as decision,
        coalesce(
            counted.exclusion_reason,
            case when counted.counted_hours < credits.hours then 'over_cap_' || credits.delivery end
        ) as reason
    from counted
    inner join credits using (credit_id)
)

select * from final

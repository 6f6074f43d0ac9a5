-- Every credit considered for every evaluable license of its person (SPEC compliance semantics 3, 4, 8):
-- eligibility, the first exclusion reason that applies, and the hours counted after delivery caps.
create or replace table credit_ledger as
with licenses as (
    select * from license_cycles where not_evaluated_reason is null
),

credits as (
    select
        *,
        row_number() over (
            partition by person_id, course_key, completion_date order by source_file, source_row
        ) > 1 as is_duplicate
    from ce_credits
    where person_id is not null
),

considered as (
    select
        licenses.license_id,
        licenses.employee_id,
        licenses.license_state,
        licenses.license_type,
        licenses.license_number,
        licenses.restricts_accreditation,
        credits.credit_id,
        credits.course_id,
        credits.course_key,
        credits.course_title,
        credits.provider,
        credits.accreditation,
        credits.completion_date,
        credits.hours,
        credits.category,
        credits.delivery,
        credits.source_file,
        credits.source_row,
        credits.is_duplicate,
        credits.completion_date between licenses.cycle_start and licenses.cycle_end as in_cycle
    from licenses
    inner join credits on credits.person_id = licenses.employee_id
),

repeats as (
    select
        license_id,
        credit_id,
        row_number() over (
            partition by license_id, course_key order by completion_date, source_file, source_row
        ) > 1 as is_repeat
    from considered
    where in_cycle and not is_duplicate
),

accreditation as (
    select
        considered.license_id,
        considered.credit_id,
        not considered.restricts_accreditation or accepted.accreditation is not null as is_accepted
    from considered
    left join rule_accepted_accreditations as accepted
        on accepted.license_state = considered.license_state
        and accepted.license_type = considered.license_type
        and accepted.accreditation = upper(considered.accreditation)
),

reasoned as (
    select
        considered.*,
        case
            when not considered.in_cycle then 'outside_cycle'
            when considered.is_duplicate then 'duplicate'
            when repeats.is_repeat then 'repeat_course'
            when not accreditation.is_accepted then 'provider_not_accepted'
        end as exclusion_reason
    from considered
    left join repeats using (license_id, credit_id)
    inner join accreditation using (license_id, credit_id)
),

capped as (
    select
        reasoned.*,
        caps.max_hours,
        sum(reasoned.hours) over (
            partition by reasoned.license_id, reasoned.delivery
            order by reasoned.completion_date, reasoned.course_id nulls last, reasoned.course_key, reasoned.source_file, reasoned.source_row
            rows between unbounded preceding and current row
        ) as running_hours
    from reasoned
    left join rule_delivery_caps as caps
        on caps.license_state = reasoned.license_state
        and caps.license_type = reasoned.license_type
        and caps.delivery = reasoned.delivery
    where reasoned.exclusion_reason is null
),

counted as (
    select
        license_id,
        credit_id,
        cast(
            case
                when max_hours is null then hours
                else greatest(0, least(hours, max_hours - (running_hours - hours)))
            end as decimal(18, 4)
        ) as counted_hours
    from capped
),

final as (
    select
        reasoned.license_id,
        reasoned.credit_id,
        reasoned.employee_id,
        reasoned.license_state,
        reasoned.license_type,
        reasoned.license_number,
        reasoned.course_id,
        reasoned.course_title,
        reasoned.provider,
        reasoned.accreditation,
        reasoned.completion_date,
        reasoned.hours,
        reasoned.category,
        reasoned.delivery,
        coalesce(counted.counted_hours, 0)::decimal(18, 4) as counted_hours,
        reasoned.exclusion_reason is null as is_eligible,
        case
            when reasoned.exclusion_reason is not null or counted.counted_hours = 0 then 'excluded'
            when counted.counted_hours < reasoned.hours then 'partially_counted'
            else 'counted'
        end as decision,
        coalesce(
            reasoned.exclusion_reason,
            case when counted.counted_hours < reasoned.hours then 'over_cap_' || reasoned.delivery end
        ) as reason,
        reasoned.source_file,
        reasoned.source_row
    from reasoned
    left join counted using (license_id, credit_id)
)

select * from final

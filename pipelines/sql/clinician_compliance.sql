-- One row per license of a person still employed on $as_of (SPEC compliance semantics 6 and 7).
create or replace table clinician_compliance as
with progress as (
    select
        license_id,
        any_value(counted_hours) filter (where requirement = 'total') as counted_hours,
        coalesce(sum(shortfall_hours) filter (where requirement = 'total'), 0) as total_shortfall,
        coalesce(sum(shortfall_hours) filter (where requirement <> 'total'), 0) as category_shortfall,
        string_agg(requirement, ';' order by requirement_order) filter (where not met) as unmet_requirements
    from requirement_progress
    group by license_id
),

evaluated as (
    select
        licenses.*,
        progress.counted_hours,
        greatest(progress.total_shortfall, progress.category_shortfall) as hours_remaining,
        progress.unmet_requirements,
        licenses.cycle_end - $as_of::date as days_remaining,
        case
            when licenses.not_evaluated_reason is not null then 'not_evaluated'
            when licenses.first_renewal = 'exempt'
                and licenses.license_issue_date between licenses.cycle_start and licenses.cycle_end then 'exempt'
            when progress.unmet_requirements is null then 'compliant'
            when $as_of::date > licenses.cycle_end then 'overdue'
            when licenses.cycle_end - $as_of::date <= $at_risk_days then 'at_risk'
            else 'on_track'
        end as status
    from license_cycles as licenses
    left join progress using (license_id)
),

final as (
    select
        $as_of::date as as_of_date,
        employee_id,
        first_name,
        last_name,
        clinic,
        license_type,
        license_state,
        license_number,
        case when status <> 'not_evaluated' then cycle_start end as cycle_start,
        case when status <> 'not_evaluated' then cycle_end end as cycle_end,
        case when status <> 'not_evaluated' then days_remaining end::integer as days_remaining,
        case when status <> 'not_evaluated' then total_hours end::decimal(18, 4) as required_hours,
        case when status <> 'not_evaluated' then counted_hours end::decimal(18, 4) as counted_hours,
        case
            when status = 'exempt' then 0
            when status <> 'not_evaluated' then hours_remaining
        end::decimal(18, 4) as hours_remaining,
        case when status not in ('exempt', 'not_evaluated') then unmet_requirements end as unmet_requirements,
        status,
        concat_ws(
            '; ',
            case status
                when 'not_evaluated' then not_evaluated_reason
                when 'exempt' then 'first renewal exempt: license issued ' || strftime(license_issue_date, '%Y-%m-%d') || ', inside this cycle'
                when 'compliant' then 'every requirement met'
                when 'overdue' then 'cycle ended ' || strftime(cycle_end, '%Y-%m-%d') || ' with requirements unmet'
                when 'at_risk' then 'requirements unmet and the cycle ends within ' || $at_risk_days || ' days'
                else 'requirements unmet; the cycle ends in more than ' || $at_risk_days || ' days'
            end,
            case when status <> 'not_evaluated' and rule_not_modeled is not null then 'rule does not model: ' || rule_not_modeled end
        ) as status_reason,
        job_title,
        email,
        license_id,
        rule_source,
        rule_not_modeled
    from evaluated
)

select * from final

-- One row per license of a person still employed on $as_of: its deadline, required, counted and
-- remaining hours, unmet requirements, status and why (the adjustments applied named by reference).
create or replace table clinician_compliance as
with category_shortfalls as (
    -- a category's minimum and its one-time requirement are met by the same hours: the larger shortfall counts
    select license_id, category, max(shortfall_hours) as shortfall_hours
    from requirement_progress
    where kind in ('category', 'once')
    group by all
),

progress as (
    select
        license_id,
        any_value(required_hours) filter (where kind = 'total') as required_hours,
        any_value(counted_hours) filter (where kind = 'total') as counted_hours,
        coalesce(sum(shortfall_hours) filter (where kind = 'total'), 0) as total_shortfall,
        coalesce(sum(shortfall_hours) filter (where kind = 'listed_providers'), 0) as listed_shortfall,
        string_agg(requirement, ';' order by requirement_order) filter (where not met) as unmet_requirements
    from requirement_progress
    group by license_id
),

shortfalls as (
    select license_id, sum(shortfall_hours) as category_shortfall
    from category_shortfalls
    group by license_id
),

adjustments as (
    select
        license_id,
        bool_or(kind = 'exemption') as is_exempted,
        string_agg(
            case kind
                when 'extension' then 'extension ' || reference || ' until ' || strftime(until, '%Y-%m-%d')
                when 'waiver' then 'waiver ' || reference || ' of ' || requirement
                when 'exemption' then 'exemption ' || reference
                when 'prior_completion' then 'prior completion ' || reference || ': ' || hours::double || ' h toward ' || requirement
                when 'carry_over' then 'certified carry-over ' || reference || ': ' || hours::double || ' h'
            end,
            '; '
            order by source_file, source_row
        ) as applied
    from license_adjustments
    where applied
    group by license_id
),

evaluated as (
    select
        licenses.*,
        windows.window_end as deadline,
        progress.required_hours,
        progress.counted_hours,
        case when licenses.carry_over_max_hours is not null then coalesce(carry.carried_hours, 0) else 0 end as carried_hours,
        greatest(progress.total_shortfall, coalesce(shortfalls.category_shortfall, 0), progress.listed_shortfall) as hours_remaining,
        progress.unmet_requirements,
        windows.window_end - $as_of::date as days_remaining,
        adjustments.applied as applied_adjustments,
        case
            when licenses.not_evaluated_reason is not null then 'not_evaluated'
            when licenses.first_renewal = 'exempt'
                and licenses.license_issue_date between licenses.cycle_start and licenses.cycle_end then 'exempt'
            when coalesce(adjustments.is_exempted, false) then 'exempt'
            when progress.unmet_requirements is null then 'compliant'
            when $as_of::date > windows.window_end then 'overdue'
            when windows.window_end - $as_of::date <= $at_risk_days then 'at_risk'
            else 'on_track'
        end as status
    from license_cycles as licenses
    left join license_windows as windows on windows.license_id = licenses.license_id and windows.window_name = 'current'
    left join progress on progress.license_id = licenses.license_id
    left join shortfalls on shortfalls.license_id = licenses.license_id
    left join license_carry_over as carry on carry.license_id = licenses.license_id
    left join adjustments on adjustments.license_id = licenses.license_id
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
        case when status <> 'not_evaluated' then required_hours end::decimal(18, 4) as required_hours,
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
                when 'exempt' then
                    case when first_renewal = 'exempt' and license_issue_date between cycle_start and cycle_end
                        then 'first renewal exempt: license issued ' || strftime(license_issue_date, '%Y-%m-%d') || ', inside this cycle'
                        else 'exempt for this cycle by the board'
                    end
                when 'compliant' then 'every requirement met'
                when 'overdue' then
                    case when deadline > cycle_end then 'extended deadline ' else 'cycle ' end
                    || 'ended ' || strftime(deadline, '%Y-%m-%d') || ' with requirements unmet'
                when 'at_risk' then
                    'requirements unmet and the ' || case when deadline > cycle_end then 'extended deadline' else 'cycle' end
                    || ' ends within ' || $at_risk_days || ' days'
                else
                    'requirements unmet; the ' || case when deadline > cycle_end then 'extended deadline' else 'cycle' end
                    || ' ends in more than ' || $at_risk_days || ' days'
            end,
            case when status <> 'not_evaluated' then applied_adjustments end,
            case when status <> 'not_evaluated' and rule_not_modeled is not null then 'rule does not model: ' || rule_not_modeled end
        ) as status_reason,
        case when status <> 'not_evaluated' then deadline end as deadline,
        case when status <> 'not_evaluated' then carried_hours end::decimal(18, 4) as carried_hours,
        case when status <> 'not_evaluated' then rule_effective_date end as rule_effective_date,
        job_title,
        email,
        license_id,
        rule_source,
        rule_not_modeled,
        license_expiration_date  -- whatever the status: a date before $as_of is a renewal not on file
    from evaluated
)

select * from final

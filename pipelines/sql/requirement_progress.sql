-- One row per evaluable license and requirement (license_requirements.sql): required and counted hours,
-- met, and the waiver that met it. `total` counts the hours counted after caps plus the carried hours; a
-- category its eligible in-cycle hours before caps; `once_<category>` the person's first completions in
-- that category on any date, before caps, plus prior completions the officer recorded; listed_providers
-- the hours counted toward the total from listed providers (carried hours aside).
create or replace table requirement_progress as
with counted as (
    select
        license_id,
        coalesce(sum(counted_hours) filter (where reason is distinct from 'carried_over'), 0) as counted_after_caps,
        coalesce(sum(counted_hours) filter (where counts_listed), 0) as listed_hours
    from credit_decisions
    group by license_id
),

category_hours as (
    select
        license_id,
        category,
        coalesce(sum(hours) filter (where is_eligible), 0) as eligible_hours,
        coalesce(sum(hours) filter (where counts_once), 0) as once_hours
    from credit_decisions
    group by all
),

prior_completions as (
    select license_id, requirement, sum(hours) as hours
    from license_adjustments
    where applied and kind = 'prior_completion'
    group by all
),

waivers as (
    select license_id, requirement, string_agg(reference, '; ' order by source_file, source_row) as waived_by
    from license_adjustments
    where applied and kind = 'waiver'
    group by all
),

progress as (
    select
        requirements.*,
        case requirements.kind
            when 'total' then coalesce(counted.counted_after_caps, 0) + coalesce(carry.carried_hours, 0)
            when 'category' then coalesce(category_hours.eligible_hours, 0)
            when 'once' then coalesce(category_hours.once_hours, 0) + coalesce(prior_completions.hours, 0)
            when 'listed_providers' then coalesce(counted.listed_hours, 0)
        end as counted_hours,
        waivers.waived_by
    from license_requirements as requirements
    left join counted using (license_id)
    left join license_carry_over as carry using (license_id)
    left join category_hours
        on category_hours.license_id = requirements.license_id
        and category_hours.category = requirements.category
    left join prior_completions
        on prior_completions.license_id = requirements.license_id
        and prior_completions.requirement = requirements.requirement
    left join waivers
        on waivers.license_id = requirements.license_id
        and waivers.requirement = requirements.requirement
),

final as (
    select
        progress.license_id,
        licenses.employee_id,
        licenses.license_state,
        licenses.license_type,
        licenses.license_number,
        progress.requirement,
        progress.kind,
        progress.category,
        progress.requirement_order,
        progress.origin,
        progress.required_hours::decimal(18, 4) as required_hours,
        progress.counted_hours::decimal(18, 4) as counted_hours,
        progress.waived_by is not null or progress.counted_hours >= progress.required_hours as met,
        progress.waived_by,
        case when progress.waived_by is not null then 0 else greatest(progress.required_hours - progress.counted_hours, 0) end
            ::decimal(18, 4) as shortfall_hours
    from progress
    inner join license_cycles as licenses using (license_id)
)

select * from final

-- One row per evaluable license and requirement (SPEC compliance semantics 5 and the extract's rules):
-- `total` counts hours after caps; a category counts its eligible hours before caps.
create or replace table requirement_progress as
with licenses as (
    select * from license_cycles where not_evaluated_reason is null
),

totals as (
    select
        licenses.license_id,
        'total' as requirement,
        0 as requirement_order,
        licenses.total_hours as required_hours,
        coalesce(sum(ledger.counted_hours), 0) as counted_hours
    from licenses
    left join credit_decisions as ledger using (license_id)
    group by all
),

category_hours as (
    select license_id, category, sum(hours) as eligible_hours
    from credit_decisions
    where is_eligible
    group by all
),

categories as (
    select
        licenses.license_id,
        minimums.category as requirement,
        row_number() over (partition by licenses.license_id order by minimums.category) as requirement_order,
        minimums.min_hours as required_hours,
        coalesce(category_hours.eligible_hours, 0) as counted_hours
    from licenses
    inner join rule_category_minimums as minimums
        on minimums.license_state = licenses.license_state
        and minimums.license_type = licenses.license_type
    left join category_hours
        on category_hours.license_id = licenses.license_id
        and category_hours.category = minimums.category
),

final as (
    select
        requirements.license_id,
        licenses.employee_id,
        licenses.license_state,
        licenses.license_type,
        licenses.license_number,
        requirements.requirement,
        requirements.requirement_order,
        requirements.required_hours::decimal(18, 4) as required_hours,
        requirements.counted_hours::decimal(18, 4) as counted_hours,
        requirements.counted_hours >= requirements.required_hours as met,
        greatest(requirements.required_hours - requirements.counted_hours, 0)::decimal(18, 4) as shortfall_hours
    from (select * from totals union all select * from categories) as requirements
    inner join licenses using (license_id)
)

select * from final

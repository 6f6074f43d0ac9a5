-- Every requirement of every evaluable license, one row each, with where it comes from: the one
-- place that says what a license must meet. `total` (the entry's total, or the smallest total of an
-- applying role, then reduced for a first renewal), each category with a minimum (the largest of the
-- entry's own, those due in this cycle and those of the license's roles), each one-time
-- `once_<category>`, and `listed_providers` where the entry asks a share from listed providers.
-- Hours that are a fraction of the total are rounded down to the hundredth (1/3 of 25 h is 8.33).
create or replace table license_requirements as
with licenses as (
    select * from license_cycles where not_evaluated_reason is null
),

role_totals as (
    select licenses.license_id, min(totals.total_hours) as total_hours, arg_min(totals.role, totals.total_hours) as role
    from licenses
    inner join rule_conditional_totals as totals
        on totals.rule_id = licenses.rule_id
        and list_contains(licenses.roles, totals.role)
    group by licenses.license_id
),

first_renewals as (
    select
        license_id,
        whole_months(license_issue_date, cycle_end + 1) as months_licensed
    from licenses
    where first_renewal in ('total_hours', 'hours_per_month')
        and license_issue_date between cycle_start and cycle_end
),

totals as (
    select
        licenses.license_id,
        coalesce(role_totals.total_hours, licenses.rule_total_hours) as cycle_total,
        case when first_renewals.license_id is not null then
            case licenses.first_renewal
                when 'total_hours' then licenses.first_renewal_hours
                else licenses.first_renewal_hours * first_renewals.months_licensed
            end
        end as first_renewal_total,
        concat_ws(
            '; ',
            case when role_totals.role is not null then 'role ' || role_totals.role end,
            case when first_renewals.license_id is not null then
                'first renewal' || case when licenses.first_renewal = 'hours_per_month'
                    then ': ' || licenses.first_renewal_hours::double || ' h x ' || first_renewals.months_licensed || ' months' else '' end
            end
        ) as origin
    from licenses
    left join role_totals using (license_id)
    left join first_renewals using (license_id)
),

total_requirement as (
    select
        license_id,
        'total' as requirement,
        'total' as kind,
        null::varchar as category,
        case when first_renewal_total is not null then least(first_renewal_total, cycle_total) else cycle_total end as required_hours,
        nullif(origin, '') as origin
    from totals
),

category_items as (
    select
        licenses.license_id,
        minimums.category,
        minimums.min_hours,
        case minimums.origin
            when 'base' then null
            when 'every_nth_cycle' then 'due every ' || minimums.every || ' cycles from ' || strftime(minimums.anchor, '%Y-%m-%d')
            else 'role ' || minimums.role
        end as origin
    from licenses
    inner join rule_category_minimums as minimums on minimums.rule_id = licenses.rule_id
    where minimums.origin = 'base'
        or (minimums.origin = 'conditional' and list_contains(licenses.roles, minimums.role))
        or (
            minimums.origin = 'every_nth_cycle'
            and floor(
                (12 * (year(licenses.cycle_end) - year(minimums.anchor)) + (month(licenses.cycle_end) - month(minimums.anchor)))
                / licenses.cycle_months
            )::bigint % minimums.every = 0
        )
),

category_requirements as (
    select
        license_id,
        category as requirement,
        'category' as kind,
        category,
        max(min_hours) as required_hours,
        arg_max(origin, min_hours) as origin
    from category_items
    group by license_id, category
),

once_requirements as (
    select
        licenses.license_id,
        'once_' || once.category as requirement,
        'once' as kind,
        once.category,
        once.min_hours as required_hours,
        null::varchar as origin
    from licenses
    inner join rule_once_minimums as once on once.rule_id = licenses.rule_id
),

listed_requirement as (
    select
        licenses.license_id,
        'listed_providers' as requirement,
        'listed_providers' as kind,
        null::varchar as category,
        fraction_of_hours(total.required_hours, rules.listed_share_numerator, rules.listed_share_denominator) as required_hours,
        rules.listed_share_numerator || '/' || rules.listed_share_denominator || ' of the total from listed providers' as origin
    from licenses
    inner join rules using (rule_id)
    inner join total_requirement as total using (license_id)
    where rules.listed_share_numerator is not null
),

final as (
    select
        license_id,
        requirement,
        kind,
        category,
        required_hours::decimal(18, 4) as required_hours,
        origin,
        -- `total` first, then the other requirements by name (the order of every list of them)
        row_number() over (partition by license_id order by requirement <> 'total', requirement) as requirement_order
    from (
        select * from total_requirement
        union all by name select * from category_requirements
        union all by name select * from once_requirements
        union all by name select * from listed_requirement
    )
)

select * from final

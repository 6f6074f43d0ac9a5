-- The windows in which credits are decided for each evaluable license: its current cycle, ending at
-- the deadline (cycle_end, or the latest `until` of an applied extension), and, under an entry with
-- carry_over, the previous cycle under the entry in force on that one's end; `required_total` is what
-- the window's fraction caps are fractions of (the previous window's: its own entry's total).
create or replace table license_windows as
with licenses as (
    select * from license_cycles where not_evaluated_reason is null
),

extensions as (
    select license_id, max(until) as until
    from license_adjustments
    where applied and kind = 'extension'
    group by license_id
),

windows as (
    select
        licenses.license_id,
        'current' as window_name,
        licenses.rule_id,
        licenses.cycle_start as window_start,
        coalesce(extensions.until, licenses.cycle_end) as window_end,
        total.required_hours as required_total
    from licenses
    inner join license_requirements as total on total.license_id = licenses.license_id and total.requirement = 'total'
    left join extensions on extensions.license_id = licenses.license_id
    union all
    select
        licenses.license_id,
        'previous' as window_name,
        licenses.previous_rule_id as rule_id,
        licenses.previous_cycle_start as window_start,
        licenses.previous_cycle_end as window_end,
        rules.total_hours as required_total
    from licenses
    inner join rules on rules.rule_id = licenses.previous_rule_id
),

final as (
    select * from windows
)

select * from final

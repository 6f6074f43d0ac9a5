-- Per license under an entry with carry_over: the hours its previous cycle counted past that cycle's
-- entry's total (the excess), and the hours carried into this cycle: the excess up to this entry's
-- carry_over.max_hours, or, where the board certified a carry-over (an applied adjustment), those hours
-- up to the same maximum.
create or replace table license_carry_over as
with licenses as (
    select license_id, carry_over_max_hours
    from license_cycles
    where not_evaluated_reason is null and carry_over_max_hours is not null
),

previous_totals as (
    select
        windows.license_id,
        windows.required_total as previous_required_hours,
        coalesce(sum(decisions.counted_hours), 0) as previous_counted_hours
    from license_windows as windows
    left join credit_window_decisions as decisions using (license_id, window_name)
    where windows.window_name = 'previous'
    group by all
),

certified as (
    select license_id, sum(hours) as hours, string_agg(reference, '; ' order by source_file, source_row) as reference
    from license_adjustments
    where applied and kind = 'carry_over'
    group by license_id
),

final as (
    select
        licenses.license_id,
        licenses.carry_over_max_hours,
        previous_totals.previous_required_hours,
        previous_totals.previous_counted_hours,
        greatest(coalesce(previous_totals.previous_counted_hours - previous_totals.previous_required_hours, 0), 0)
            ::decimal(18, 4) as excess_hours,
        certified.reference as certified_by,
        least(
            coalesce(certified.hours, excess_hours),
            licenses.carry_over_max_hours
        )::decimal(18, 4) as carried_hours
    from licenses
    left join previous_totals using (license_id)
    left join certified using (license_id)
)

select * from final

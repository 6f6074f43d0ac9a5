-- The delivery caps of each license window: the cap in hours, or the fraction of the window's required
-- total, whichever is lower.
create or replace table window_delivery_caps as
with final as (
    select
        windows.license_id,
        windows.window_name,
        caps.delivery,
        least(caps.max_hours, fraction_of_hours(windows.required_total, caps.fraction_numerator, caps.fraction_denominator))::decimal(18, 4)
            as max_hours
    from license_windows as windows
    inner join rule_delivery_caps as caps using (rule_id)
)

select * from final

-- The previous-cycle credits whose hours are carried (license_carry_over.sql), walked by completion_date,
-- then course_id, source file and row: the hours counted past the previous entry's total are the excess,
-- and the first carried hours of the excess are carried. None where a certified carry-over is the
-- evidence instead.
create or replace table carried_credits as
with carrying as (
    select license_id, previous_required_hours, carried_hours
    from license_carry_over
    where certified_by is null and carried_hours > 0
),

walked as (
    select
        decisions.license_id,
        decisions.credit_id,
        carrying.previous_required_hours,
        carrying.carried_hours,
        sum(decisions.counted_hours) over (
            partition by decisions.license_id
            order by decisions.completion_date, decisions.course_id nulls last, decisions.credit_id
            rows between unbounded preceding and current row
        ) as counted_through,
        decisions.counted_hours
    from credit_window_decisions as decisions
    inner join carrying using (license_id)
    where decisions.window_name = 'previous' and decisions.counted_hours > 0
),

final as (
    select
        license_id,
        credit_id,
        greatest(
            0,
            least(counted_through, previous_required_hours + carried_hours)
                - greatest(counted_through - counted_hours, previous_required_hours)
        )::decimal(18, 4) as carried_hours
    from walked
)

select * from final where carried_hours > 0

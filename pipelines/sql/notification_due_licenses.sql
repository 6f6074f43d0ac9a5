-- The licenses a reminder or an overdue notice is due for as of $as_of (docs/notifications.md),
-- judged against what was sent by the end of that date: a threshold t is due when 0 <= days_remaining <= t
-- and no reminder for (license, deadline, t) went out; an overdue notice on the first run after the
-- deadline, then once $overdue_every_days have passed since the last (0: never again).
with open_licenses as (
    select employee_id, license_state, license_type, license_number, deadline, days_remaining, status
    from clinician_compliance
    where status in ('on_track', 'at_risk', 'overdue')
),

sent as (
    select *
    from notification_items
    where status = 'sent' and as_of_date <= $as_of::date
),

thresholds as (
    select unnest($reminder_days::integer[]) as threshold_days
),

reminders as (
    select
        licenses.employee_id, licenses.license_state, licenses.license_type, licenses.license_number,
        'reminder' as kind,
        list(thresholds.threshold_days order by thresholds.threshold_days) as thresholds
    from open_licenses as licenses
    inner join thresholds on licenses.days_remaining between 0 and thresholds.threshold_days
    where not exists (
        select 1 from sent
        where sent.kind = 'reminder'
            and sent.employee_id = licenses.employee_id and sent.license_state = licenses.license_state
            and sent.license_type = licenses.license_type and sent.license_number = licenses.license_number
            and sent.deadline = licenses.deadline and sent.threshold_days = thresholds.threshold_days
    )
    group by all
),

last_notices as (
    select employee_id, license_state, license_type, license_number, deadline, max(as_of_date) as last_sent_on
    from sent
    where kind = 'overdue'
    group by all
),

notices as (
    select
        licenses.employee_id, licenses.license_state, licenses.license_type, licenses.license_number,
        'overdue' as kind,
        []::integer[] as thresholds
    from open_licenses as licenses
    left join last_notices as last using (employee_id, license_state, license_type, license_number, deadline)
    where licenses.status = 'overdue'
        and (
            last.last_sent_on is null
            or ($overdue_every_days > 0 and last.last_sent_on <= $as_of::date - $overdue_every_days::integer)
        )
),

final as (
    select * from reminders
    union all
    select * from notices
)

select * from final
order by employee_id, license_state, license_type, license_number

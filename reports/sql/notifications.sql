-- notifications.csv's rows for the as-of date: the latest record of each message of that date (a person's
-- message, whatever address it had; a digest's, per recipient). A later run of the same date tells what became
-- of a message; a preview never hides what a real run did.
select as_of_date, kind, recipient, employee_id, clinic, licenses, threshold_days, status, message_id, error
from notification_messages
where as_of_date = $as_of
qualify row_number() over (
    partition by kind, employee_id, clinic, case when employee_id is null then recipient end
    order by status <> 'preview' desc, recorded_at desc
) = 1

-- What the notify step did, kept between runs like the landing history (docs/notifications.md).
-- notification_messages: one row per message a run decided (sent, failed, no_address or preview).
-- notification_items: one row per license (and reminder threshold) a message covered; only `sent` rows
-- make a reminder or notice not due again. notification_digest_statuses: each digest's licenses and their
-- statuses when it last went out, per clinic (NULL: the organisation digest), for "changed since".
create table if not exists notification_messages (
    run_id varchar not null,
    as_of_date date not null,
    run_date date not null,
    recorded_at timestamp not null,
    kind varchar not null,
    recipient varchar,
    employee_id varchar,
    clinic varchar,
    licenses varchar,
    threshold_days integer,
    iso_week varchar,
    status varchar not null,
    message_id varchar,
    error varchar
);

create table if not exists notification_items (
    run_id varchar not null,
    as_of_date date not null,
    message_id varchar,
    kind varchar not null,
    employee_id varchar not null,
    license_state varchar not null,
    license_type varchar not null,
    license_number varchar not null,
    deadline date not null,
    threshold_days integer,
    status varchar not null
);

create table if not exists notification_digest_statuses (
    clinic varchar,
    as_of_date date not null,
    employee_id varchar not null,
    license_state varchar not null,
    license_type varchar not null,
    license_number varchar not null,
    status varchar not null
);

-- Per configured provider: the newest completion in its accepted files, and whether it is older than the
-- provider's max_age_days before the as-of date. A provider with no accepted file is stale too.
-- `configured_providers` (input_name, max_age_days) is registered by the caller from the configuration.
create or replace table provider_freshness as
with newest as (
    select input_name, count(*) as accepted_files, max(newest_row_date) as newest_row_date
    from input_files
    where input_kind = 'provider' and status = 'accepted'
    group by all
),

final as (
    select
        providers.input_name as provider,
        coalesce(newest.accepted_files, 0)::integer as accepted_files,
        newest.newest_row_date,
        ($as_of::date - newest.newest_row_date)::integer as age_days,
        providers.max_age_days::integer as max_age_days,
        coalesce(age_days > providers.max_age_days, true) as stale
    from configured_providers as providers
    left join newest using (input_name)
)

select * from final
order by provider

-- Every data-quality finding of the run: rejected files, the suites' quarantined and warned rows, and
-- the accepted adjustments that do not apply (the engine's judgement: another cycle, a requirement the
-- license does not have, a carry-over under an entry without one).
create or replace table data_quality_exceptions as
with warned_files as (
    -- an accepted file's file-level warning (other_sheets_ignored: data on a sheet that is not read)
    select
        source_file,
        null::bigint as source_row,
        reason_code as "check",
        null::varchar as "column",
        null::varchar as value,
        reason as message,
        'warned' as action
    from ingested_files
    where status = 'accepted' and reason_code is not null
),

rejected_files as (
    select
        source_file,
        null::bigint as source_row,
        coalesce(reason_code, 'file_rejected') as "check",
        rejected_column as "column",
        null::varchar as value,
        reason as message,
        'rejected' as action
    from ingested_files
    where status = 'rejected'
),

adjustments_not_applied as (
    select
        source_file,
        source_row,
        'adjustment_not_applied' as "check",
        why_not_column as "column",
        why_not_value as value,
        'kept, not applied: ' || why_not as message,
        'warned' as action
    from license_adjustments
    where not applied and why_not <> 'no roster license matches'
),

final as (
    select * from rejected_files
    union all
    select * from warned_files
    union all
    select * from roster_exceptions
    union all
    select * from ce_credit_exceptions
    union all
    select * from course_catalog_exceptions
    union all
    select * from adjustments_exceptions
    union all
    select * from adjustments_not_applied
)

select * from final
order by source_file, source_row nulls first, "check", "column"

-- Reconciliation per input file (docs/data_quality.md: rows read = rows accepted + rows quarantined).
create or replace table input_files as
with accepted as (
    select source_file, count(*) as rows_accepted, max(completion_date) as newest_row_date
    from ce_credits
    group by all
    union all
    select source_file, count(*), null from roster group by all
    union all
    select source_file, count(*), null from course_catalog group by all
    union all
    select source_file, count(*), null from adjustments group by all
),

quarantined as (
    select source_file, count(distinct source_row) as rows_quarantined
    from data_quality_exceptions
    where action = 'quarantined'
    group by all
),

final as (
    select
        files.source_file,
        files.input_kind,
        files.input_name,
        files.sha256,
        files.status,
        files.reason,
        files.rows_read,
        coalesce(accepted.rows_accepted, 0)::integer as rows_accepted,
        coalesce(quarantined.rows_quarantined, 0)::integer as rows_quarantined,
        accepted.newest_row_date
    from ingested_files as files
    left join accepted using (source_file)
    left join quarantined using (source_file)
)

select * from final
order by source_file

-- Remember each file version this run saw for the first time: where it lay, its content hash, the
-- configuration it was staged under, when it was first seen and what reading it gave. A version seen before
-- under another name (or twice in this run) gives the same outcome, its reason naming this file.
insert into landing_files
select * from (
    with outcomes as (
        select source_file as read_as, sha256, config_fingerprint, status, reason, rejected_column, rows_read, reason_code
        from parsed_files
        union all
        select source_file as read_as, sha256, config_fingerprint, status, reason, rejected_column, rows_read, reason_code
        from landing_files
        where input_kind = $input_kind
    ),

    one_outcome_per_version as (
        select distinct on (sha256, config_fingerprint) * from outcomes
    ),

    new_entries as (
        select listing.*
        from listing
        anti join (select * from landing_files where input_kind = $input_kind) as known
            using (source_file, sha256, config_fingerprint)
    )

    select
        $input_kind as input_kind,
        new_entries.input_name,
        new_entries.source_file,
        new_entries.sha256,
        new_entries.config_fingerprint,
        $now::timestamp as first_seen_at,
        outcome.status,
        case
            when starts_with(outcome.reason, outcome.read_as || ': ')
                then new_entries.source_file || ': ' || outcome.reason[length(outcome.read_as) + 3:]
            else outcome.reason
        end as reason,
        outcome.rejected_column,
        outcome.rows_read,
        outcome.reason_code
    from new_entries
    inner join one_outcome_per_version as outcome using (sha256, config_fingerprint)
)

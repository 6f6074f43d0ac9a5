-- The file versions this run stages for one input kind. A run as of today stages the landing folder as
-- it is. A rerun as of an earlier date ($history_cutoff: the instant that date ended in the schedule's
-- timezone, in UTC like first_seen_at) stages, per file, the newest version first seen before the
-- cutoff: the inputs that existed then. A date before the history's first entry (of any input kind) has
-- no history to go by, so it too stages the folder as it is. A file whose bytes the run did not get (a
-- link, a vanished or unreadable file) is never in the history: it is one of the files of a run of the
-- folder as it is, rejected.
insert into run_input_files
select * from (
    with versions as (
        select * from landing_files where input_kind = $input_kind
    ),

    -- the history starts with its first entry of any kind: an input configured later (an adjustments
    -- file) had no files before its own first one
    is_rerun as (
        select $history_cutoff::timestamp > min(first_seen_at) as value from landing_files
    ),

    files_now as (
        select versions.*
        from versions
        inner join listing using (source_file, sha256, config_fingerprint)
    ),

    files_then as (
        select *
        from versions
        where first_seen_at < $history_cutoff::timestamp
        qualify row_number() over (partition by source_file order by first_seen_at desc) = 1
    )

    select * from files_then where (select value from is_rerun)
    union all
    select * from files_now where not coalesce((select value from is_rerun), false)
    union all by name
    -- a file whose bytes this run did not get (a link, a vanished or unreadable file) is never in the
    -- history: one of the files of a run of the folder as it is, rejected
    select * from unavailable_files where not coalesce((select value from is_rerun), false)
)

-- The file versions this run stages for one input kind. A run as of today (or later) stages the
-- landing folder as it is. A rerun as of an earlier date stages, per file, the newest version first
-- seen by the end of that date: the inputs that existed then. A date before the history's first
-- entry (of any input kind) has no history to go by, so it too stages the folder as it is.
insert into run_input_files
select * from (
    with versions as (
        select * from landing_files where input_kind = $input_kind
    ),

    -- the history starts with its first entry of any kind: an input configured later (an adjustments
    -- file) had no files before its own first one
    is_rerun as (
        select $as_of::date < $today::date and $as_of::date >= min(first_seen_at)::date as value from landing_files
    ),

    files_now as (
        select versions.*
        from versions
        inner join listing using (source_file, sha256, config_fingerprint)
    ),

    files_then as (
        select *
        from versions
        where first_seen_at::date <= $as_of::date
        qualify row_number() over (partition by source_file order by first_seen_at desc) = 1
    )

    select * from files_then where (select value from is_rerun)
    union all
    select * from files_now where not coalesce((select value from is_rerun), false)
)

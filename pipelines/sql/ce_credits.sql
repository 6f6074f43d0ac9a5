-- The credits that passed the credit suites: every matched credit but the quarantined rows, with
-- the documented defaults (docs/data_quality.md) for a warned category (general) or delivery (self_study), and an id that follows
-- source file, then row.
create or replace table ce_credits as
with file_positions as (
    select source_file, row_number() over (order by source_file) as file_position
    from (select distinct source_file from run_input_files where input_kind = 'provider')
),

final as (
    select
        -- ordered as (source_file, source_row) without sorting the 4M wide rows, which cost most of
        -- the step's time and memory; ids need only follow that order, not be consecutive
        file_positions.file_position * 4294967296 + matched.source_row as credit_id,
        matched.* replace (coalesce(matched.category, 'general') as category, coalesce(matched.delivery, 'self_study') as delivery)
    from matched_ce_credits as matched
    inner join file_positions using (source_file)
    anti join quarantined_credit_rows using (source_file, source_row)
)

select * from final

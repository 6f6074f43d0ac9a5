-- The credits that passed the credit suite: every matched credit but the quarantined rows, with
-- SPEC's defaults for a warned category (general) or delivery (self_study), and a stable id in the
-- order of source file and row.
create or replace table ce_credits as
with kept as (
    select source_file, source_row
    from matched_ce_credits
    anti join quarantined_credit_rows using (source_file, source_row)
),

-- numbered on the two keys alone, then joined back: sorting the wide rows themselves cost 3x the time
-- and most of the run's memory at 4M credits
numbered as (
    select source_file, source_row, row_number() over (order by source_file, source_row) as credit_id
    from kept
),

final as (
    select
        numbered.credit_id,
        matched.* replace (coalesce(matched.category, 'general') as category, coalesce(matched.delivery, 'self_study') as delivery)
    from matched_ce_credits as matched
    inner join numbered using (source_file, source_row)
)

select * from final

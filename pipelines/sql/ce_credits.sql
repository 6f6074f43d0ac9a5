-- The credits that passed the credit suite: every matched credit but the quarantined rows, with
-- SPEC's defaults for a warned category (general) or delivery (self_study), and a stable id in the
-- order of source file and row.
create or replace table ce_credits as
with kept as (
    select matched.*
    from matched_ce_credits as matched
    anti join quarantined_credit_rows as quarantined using (source_file, source_row)
),

final as (
    select
        row_number() over (order by source_file, source_row) as credit_id,
        * replace (coalesce(category, 'general') as category, coalesce(delivery, 'self_study') as delivery)
    from kept
)

select * from final

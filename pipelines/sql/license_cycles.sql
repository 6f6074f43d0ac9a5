-- One row per roster license of a person still employed on $as_of (SPEC compliance semantics 1 and 6):
-- its rule, its cycle window, and why it cannot be evaluated where that is so.
create or replace table license_cycles as
with licenses as (
    select
        row_number() over (order by employee_id, license_state, license_type, license_number, source_file, source_row) as license_id,
        *
    from roster
    where not (
        coalesce(termination_date <= $as_of, false)
        or (employment_status = 'terminated' and termination_date is null)
    )
),

with_rule as (
    select
        licenses.*,
        rules.license_state is not null as has_rule,
        rules.cycle_months,
        rules.total_hours,
        rules.first_renewal,
        rules.restricts_accreditation,
        rules.source as rule_source,
        rules.not_modeled as rule_not_modeled
    from licenses
    left join rules
        on licenses.license_state = rules.license_state
        and licenses.license_type = rules.license_type
),

with_cycle as (
    select
        *,
        -- month arithmetic clamps to the month's end (2028-02-29 minus 24 months is 2026-02-28)
        cast(license_expiration_date - to_months(cycle_months) + interval 1 day as date) as cycle_start,
        license_expiration_date as cycle_end
    from with_rule
),

final as (
    select
        *,
        case
            when license_type is null then 'license_type is missing in the roster'
            when license_state is null then 'license_state is missing in the roster'
            when not regexp_full_match(license_state, '[A-Z]{2}')
                then 'license_state ' || license_state || ' in the roster is not a two-letter US state code'
            when license_number is null then 'license_number is missing in the roster'
            when license_expiration_date is null and license_expiration_date_raw is null
                then 'license_expiration_date is missing in the roster'
            when license_expiration_date is null
                then 'license_expiration_date ' || license_expiration_date_raw || ' is not a date in the roster''s date format'
            when not has_rule then 'no rule for ' || license_state || ' ' || license_type || ' in the rules catalog'
        end as not_evaluated_reason
    from with_cycle
)

select * from final

-- One row per roster license of a person still employed on $as_of: the rules entry in force on its
-- cycle end (the latest effective_date on or before it), its cycle window, the previous cycle's window
-- and the entry in force on that one's end (for carry-over), and why it cannot be evaluated where so.
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

entries_for_type as (
    select distinct license_state, license_type from rules
),

in_force as (
    select licenses.license_id, rules.rule_id
    from licenses
    inner join rules
        on rules.license_state = licenses.license_state
        and rules.license_type = licenses.license_type
        and coalesce(rules.effective_date <= licenses.license_expiration_date, true)
    qualify row_number() over (partition by licenses.license_id order by rules.effective_date desc nulls last) = 1
),

with_rule as (
    select
        licenses.*,
        entries_for_type.license_state is not null as has_rule,
        rules.rule_id,
        rules.effective_date as rule_effective_date,
        rules.cycle_months,
        rules.total_hours as rule_total_hours,
        rules.first_renewal,
        rules.first_renewal_hours,
        rules.restricts_accreditation,
        rules.carry_over_max_hours,
        rules.source as rule_source,
        rules.not_modeled as rule_not_modeled
    from licenses
    left join in_force using (license_id)
    left join rules using (rule_id)
    left join entries_for_type
        on entries_for_type.license_state = licenses.license_state
        and entries_for_type.license_type = licenses.license_type
),

with_cycle as (
    select
        *,
        -- month arithmetic clamps to the month's end (2028-02-29 minus 24 months is 2026-02-28)
        cast(license_expiration_date - to_months(cycle_months) + interval 1 day as date) as cycle_start,
        license_expiration_date as cycle_end
    from with_rule
),

with_previous as (
    select
        *,
        cast(cycle_start - interval 1 day as date) as previous_cycle_end,
        cast(cycle_start - interval 1 day - to_months(cycle_months) + interval 1 day as date) as previous_cycle_start
    from with_cycle
),

previous_in_force as (
    select licenses.license_id, rules.rule_id as previous_rule_id
    from with_previous as licenses
    inner join rules
        on rules.license_state = licenses.license_state
        and rules.license_type = licenses.license_type
        and coalesce(rules.effective_date <= licenses.previous_cycle_end, true)
    where licenses.carry_over_max_hours is not null
    qualify row_number() over (partition by licenses.license_id order by rules.effective_date desc nulls last) = 1
),

final as (
    select
        with_previous.*,
        previous_in_force.previous_rule_id,
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
            when rule_id is null then 'no rule in force for the cycle ending ' || strftime(license_expiration_date, '%Y-%m-%d')
        end as not_evaluated_reason
    from with_previous
    left join previous_in_force using (license_id)
)

select * from final

-- Every accepted adjustment (a board's or the organisation's decision no CE file carries), matched to
-- its roster license, and whether it applies: only to the license's current cycle, to a requirement the
-- license has, and a carry-over only under an entry with carry_over. `why_not` says why one does not, and
-- `why_not_column` which of its columns that is about.
create or replace table license_adjustments as
with roster_licenses as (
    select employee_id, license_state, license_type, any_value(license_number) as license_number
    from roster
    group by all
),

matched as (
    select
        adjustments.*,
        roster_licenses.license_number,
        roster_licenses.employee_id is not null as has_roster_license,
        licenses.license_id,
        licenses.not_evaluated_reason,
        licenses.cycle_end as license_cycle_end,
        licenses.carry_over_max_hours,
        requirements.kind as requirement_kind
    from adjustments
    left join roster_licenses using (employee_id, license_state, license_type)
    left join license_cycles as licenses using (employee_id, license_state, license_type)
    left join license_requirements as requirements
        on requirements.license_id = licenses.license_id
        and requirements.requirement = adjustments.requirement
),

not_applied as (
    select
        *,
        case
            when not has_roster_license then {'column': 'employee_id', 'why': 'no roster license matches'}
            when license_id is null then {'column': 'employee_id', 'why': 'the license is not evaluated: the employment ended'}
            when not_evaluated_reason is not null
                then {'column': 'employee_id', 'why': 'the license is not evaluated: ' || not_evaluated_reason}
            when cycle_end is not null and cycle_end <> license_cycle_end
                then {
                    'column': 'cycle_end',
                    'why': 'for the cycle ending ' || strftime(cycle_end, '%Y-%m-%d') || ', not the current one ending '
                        || strftime(license_cycle_end, '%Y-%m-%d')
                }
            when kind in ('waiver', 'prior_completion') and requirement_kind is null
                then {'column': 'requirement', 'why': 'the license''s rules entry has no requirement ' || requirement}
            when kind = 'prior_completion' and requirement_kind <> 'once'
                then {
                    'column': 'requirement',
                    'why': 'a prior completion counts toward a one-time (once_<category>) requirement, not ' || requirement
                }
            when kind = 'carry_over' and carry_over_max_hours is null
                then {'column': 'kind', 'why': 'the license''s rules entry has no carry_over'}
            when kind = 'extension' and until <= license_cycle_end
                then {
                    'column': 'until',
                    'why': 'until ' || strftime(until, '%Y-%m-%d') || ' is not after the cycle end ' || strftime(license_cycle_end, '%Y-%m-%d')
                }
        end as judgement
    from matched
),

judged as (
    select *, judgement.why as why_not, judgement.column as why_not_column
    from not_applied
),

final as (
    select
        license_id,
        employee_id,
        license_state,
        license_type,
        license_number,
        kind,
        requirement,
        hours,
        until,
        reference,
        why_not is null as applied,
        why_not,
        why_not_column,
        case why_not_column
            when 'employee_id' then employee_id
            when 'cycle_end' then cycle_end_raw
            when 'requirement' then requirement
            when 'kind' then kind
            when 'until' then until_raw
        end as why_not_value,
        source_file,
        source_row
    from judged
)

select * from final

-- The roster rows the data-quality rules quarantined whose license is on no page (a row without a clinic
-- or an employee_id; not the superseded duplicate of a license that is shown): who, the checks they failed,
-- and the credits warned `unmatched_clinician` whose person key (license, else employee_id, else email, as
-- the credit suite reports it) names them: credits that will count once the row is fixed.
with unmatched_credits as (
    select value as person_key, count(*) as credits
    from data_quality_exceptions
    where "check" = 'unmatched_clinician'
    group by all
),

quarantined as (
    select source_file, source_row, string_agg("check", ';' order by "check") as checks
    from data_quality_exceptions
    where action = 'quarantined' and source_row is not null
    group by all
),

final as (
    select
        roster.source_file, roster.source_row, roster.employee_id, roster.first_name, roster.last_name, roster.clinic,
        roster.email, roster.license_state, roster.license_type, roster.license_number, quarantined.checks,
        (
            select coalesce(sum(credits), 0) from unmatched_credits
            where person_key = roster.license_state || ' ' || roster.license_number
                or person_key = roster.employee_id
                or lower(person_key) = lower(roster.email)
        )::integer as unmatched_credits
    from quarantined
    inner join staged_roster as roster using (source_file, source_row)
    where not exists (
        select 1 from clinician_compliance as shown
        where shown.employee_id = roster.employee_id
            and shown.license_state is not distinct from roster.license_state
            and shown.license_type is not distinct from roster.license_type
    )
)

select * from final
order by source_file, source_row

-- Per rule, the catalog courses its board accepts (SPEC "Learning plans" 1): the accreditation where the
-- rule lists accreditations (a course without one is then not accepted), and the states the course names
-- (none named: every state).
with accepted as (
    select rules.license_state, rules.license_type, catalog.course_id, catalog.accreditation, catalog.states,
        rules.restricts_accreditation
    from rules
    cross join course_catalog as catalog
),

final as (
    select accepted.license_state, accepted.license_type, accepted.course_id
    from accepted
    left join rule_accepted_accreditations as accreditations
        on accreditations.license_state = accepted.license_state
        and accreditations.license_type = accepted.license_type
        and accreditations.accreditation = upper(accepted.accreditation)
    where (not accepted.restricts_accreditation or accreditations.accreditation is not null)
        and (coalesce(len(accepted.states), 0) = 0 or list_contains(accepted.states, accepted.license_state))
)

select * from final
order by license_state, license_type, course_id

-- Per rules entry, the catalog courses its board accepts (docs/learning_plans.md): the accreditation where
-- the entry lists accreditations (a course without one is then not accepted), not shorter than the entry's
-- shortest credit for its accreditation, and the states the course names (none named: every state).
with accepted as (
    select rules.rule_id, rules.license_state, catalog.course_id, catalog.accreditation, catalog.states, catalog.hours,
        rules.restricts_accreditation
    from rules
    cross join course_catalog as catalog
),

final as (
    select accepted.rule_id, accepted.course_id
    from accepted
    left join rule_accepted_accreditations as accreditations
        on accreditations.rule_id = accepted.rule_id
        and accreditations.accreditation = upper(accepted.accreditation)
    left join rule_min_credit_hours as shortest
        on shortest.rule_id = accepted.rule_id
        and shortest.accreditation = upper(accepted.accreditation)
    left join rule_min_credit_hours as shortest_of_any
        on shortest_of_any.rule_id = accepted.rule_id
        and shortest_of_any.accreditation = '*'
    where (not accepted.restricts_accreditation or accreditations.accreditation is not null)
        and (coalesce(len(accepted.states), 0) = 0 or list_contains(accepted.states, accepted.license_state))
        and accepted.hours >= coalesce(shortest.min_hours, shortest_of_any.min_hours, 0)
)

select * from final
order by rule_id, course_id

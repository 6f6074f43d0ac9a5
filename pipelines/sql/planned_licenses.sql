-- Each license with a gap (docs/learning_plans.md): what each of its requirements still needs, the hours
-- each delivery cap of its current cycle still leaves (the cap minus what real credits already count;
-- carried hours stand outside every cap), the accreditations its listed-provider share takes, and the
-- catalog courses the person already completed: in this cycle (no candidate), or ever (no hours toward
-- a one-time requirement, which takes a course's first completion only). A course completed after the
-- cycle's end that counts toward a one-time requirement is no candidate either: taken in the cycle, it
-- would become the first completion and take that requirement's hours from the real one. A course
-- matches by course_id, or, for a credit without one, by case-folded title.
with planned as (
    select
        compliance.license_id, compliance.employee_id, compliance.first_name, compliance.last_name, compliance.clinic,
        compliance.license_state, compliance.license_type, compliance.license_number, compliance.cycle_end,
        licenses.rule_id
    from clinician_compliance as compliance
    inner join license_cycles as licenses using (license_id)
    where compliance.status in ('on_track', 'at_risk', 'overdue')
),

shortfalls as (
    select
        license_id,
        coalesce(sum(shortfall_hours) filter (where kind = 'total'), 0)::decimal(18, 4) as total_shortfall,
        list({'requirement': requirement, 'kind': kind, 'category': category, 'hours': shortfall_hours} order by requirement)
            filter (where kind <> 'total' and shortfall_hours > 0) as minimum_shortfalls
    from requirement_progress
    where license_id in (select license_id from planned)
    group by license_id
),

counted_by_delivery as (
    select license_id, delivery, sum(counted_hours) as counted_hours
    from credit_ledger
    where license_id in (select license_id from planned) and reason is distinct from 'carried_over'
    group by all
),

cap_room as (
    select
        planned.license_id,
        list(
            {'delivery': caps.delivery, 'hours': greatest(caps.max_hours - coalesce(used.counted_hours, 0), 0)::decimal(18, 4)}
            order by caps.delivery
        ) as cap_room
    from planned
    inner join window_delivery_caps as caps
        on caps.license_id = planned.license_id
        and caps.window_name = 'current'
    left join counted_by_delivery as used
        on used.license_id = planned.license_id
        and used.delivery = caps.delivery
    group by planned.license_id
),

listed as (
    select planned.license_id, list(listed.accreditation order by listed.accreditation) as listed_accreditations
    from planned
    inner join rule_listed_accreditations as listed using (rule_id)
    group by planned.license_id
),

person_credits as (
    select
        ledger.license_id,
        ledger.course_id,
        ledger.course_key,
        ledger.reason not in ('outside_cycle', 'carried_over') or ledger.reason is null
            or (
                ledger.completion_date > planned.cycle_end
                and regexp_matches(coalesce(ledger.counts_toward, ''), '(^|;)once_')
            ) as rules_out_candidate
    from credit_ledger as ledger
    inner join planned using (license_id)
),

completed_courses as (
    select credits.license_id, catalog.course_id, credits.rules_out_candidate
    from person_credits as credits
    inner join course_catalog as catalog on catalog.course_id = credits.course_id
    union all
    select credits.license_id, catalog.course_id, credits.rules_out_candidate
    from person_credits as credits
    inner join course_catalog as catalog on catalog.title_key = credits.course_key
    where credits.course_id is null
),

completed as (
    select
        license_id,
        list(distinct course_id order by course_id) filter (where rules_out_candidate) as completed_course_ids,
        list(distinct course_id order by course_id) as ever_completed_course_ids
    from completed_courses
    group by license_id
),

final as (
    select
        planned.*,
        coalesce(shortfalls.total_shortfall, 0)::decimal(18, 4) as total_shortfall,
        shortfalls.minimum_shortfalls,
        cap_room.cap_room,
        listed.listed_accreditations,
        completed.completed_course_ids,
        completed.ever_completed_course_ids
    from planned
    left join shortfalls using (license_id)
    left join cap_room using (license_id)
    left join listed using (license_id)
    left join completed using (license_id)
)

select * from final
order by employee_id, license_state, license_type, license_number

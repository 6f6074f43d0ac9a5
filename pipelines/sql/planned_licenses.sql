-- Each license with a gap (SPEC "Learning plans"): what it still needs, the hours each delivery cap still
-- leaves (the cap minus what real credits already count), and the catalog courses already completed in
-- its cycle (the same course_id, or for a credit without one the same case-folded title).
with planned as (
    select license_id, employee_id, first_name, last_name, clinic, license_state, license_type, license_number, cycle_end
    from clinician_compliance
    where status in ('on_track', 'at_risk', 'overdue')
),

shortfalls as (
    select
        license_id,
        coalesce(sum(shortfall_hours) filter (where requirement = 'total'), 0)::decimal(18, 4) as total_shortfall,
        list({'category': requirement, 'hours': shortfall_hours} order by requirement)
            filter (where requirement <> 'total' and shortfall_hours > 0) as category_shortfalls
    from requirement_progress
    where license_id in (select license_id from planned)
    group by license_id
),

counted_by_delivery as (
    select license_id, delivery, sum(counted_hours) as counted_hours
    from credit_ledger
    where license_id in (select license_id from planned)
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
    inner join rule_delivery_caps as caps
        on caps.license_state = planned.license_state
        and caps.license_type = planned.license_type
    left join counted_by_delivery as used
        on used.license_id = planned.license_id
        and used.delivery = caps.delivery
    group by planned.license_id
),

in_cycle_credits as (
    select license_id, course_id, lower(course_title) as course_title
    from credit_ledger
    where license_id in (select license_id from planned) and reason is distinct from 'outside_cycle'
),

completed as (
    select license_id, list(distinct course_id order by course_id) as completed_course_ids
    from (
        select credits.license_id, catalog.course_id
        from in_cycle_credits as credits
        inner join course_catalog as catalog on catalog.course_id = credits.course_id
        union all
        select credits.license_id, catalog.course_id
        from in_cycle_credits as credits
        inner join course_catalog as catalog on lower(catalog.course_title) = credits.course_title
        where credits.course_id is null
    )
    group by license_id
),

final as (
    select
        planned.*,
        coalesce(shortfalls.total_shortfall, 0)::decimal(18, 4) as total_shortfall,
        shortfalls.category_shortfalls,
        cap_room.cap_room,
        completed.completed_course_ids
    from planned
    left join shortfalls using (license_id)
    left join cap_room using (license_id)
    left join completed using (license_id)
)

select * from final
order by employee_id, license_state, license_type, license_number

-- The compliance engine's inputs for re-checking the plans, in the scratch schema (docs/learning_plans.md):
-- each planned license as a person of its own, with its person's real credits plus the planned courses
-- that count for it as credits completed in its cycle: on its first day those from a provider its
-- listed-provider share lists (a plan counts on them being the first its caps count), the others on
-- its cycle end.
create or replace table license_cycles as
select cycles.* replace (cycles.employee_id || '#' || cycles.license_id as employee_id)
from main.license_cycles as cycles
where cycles.license_id in (select license_id from main.learning_plan_status);

create or replace table ce_credits as
with licenses as (
    select cycles.license_id, cycles.rule_id, cycles.license_state, cycles.license_type, cycles.cycle_start, cycles.cycle_end,
        original.employee_id as person_id, cycles.employee_id as license_person_id
    from license_cycles as cycles
    inner join main.license_cycles as original using (license_id)
),

-- in the columns the planned courses have (copying every column of 3M credits took twice as long)
real_credits as (
    select
        credits.credit_id,
        licenses.license_person_id as person_id,
        credits.course_key,
        credits.course_id,
        credits.course_title,
        credits.provider,
        credits.accreditation,
        credits.completion_date,
        credits.hours,
        credits.category,
        credits.delivery,
        credits.source_file,
        credits.source_row
    from main.ce_credits as credits
    inner join licenses on licenses.person_id = credits.person_id
),

planned as (
    select planned.employee_id, planned.course_id, unnest(string_split(planned.licenses, ';')) as license
    from main.planned_courses as planned
),

hypothetical_credits as (
    select
        licenses.license_person_id as person_id,
        catalog.course_id as course_key,
        catalog.course_id,
        catalog.course_title,
        catalog.provider,
        catalog.accreditation,
        case when listed.accreditation is null then licenses.cycle_end else licenses.cycle_start end as completion_date,
        catalog.hours,
        catalog.category,
        catalog.delivery,
        'learning plan' as source_file,
        row_number() over (order by licenses.license_id, catalog.course_id) as source_row
    from planned
    inner join licenses
        on licenses.person_id = planned.employee_id
        and licenses.license_state || ' ' || licenses.license_type = planned.license
    inner join main.course_catalog as catalog using (course_id)
    left join main.rule_listed_accreditations as listed
        on listed.rule_id = licenses.rule_id
        and listed.accreditation = upper(catalog.accreditation)
)

select * from real_credits
union all by name
select
    *,
    source_row + (select coalesce(max(credit_id), 0) from main.ce_credits) as credit_id
from hypothetical_credits

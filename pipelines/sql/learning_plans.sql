-- The published plans (docs/outputs.md): the solver's courses per person with the course's
-- catalog details, and per planned license whether its plan closes the gap or what no course can meet.
create or replace table learning_plans as
with people as (
    select employee_id, arg_min(first_name, license_id) as first_name, arg_min(last_name, license_id) as last_name,
        arg_min(clinic, license_id) as clinic
    from clinician_compliance
    group by employee_id
),

final as (
    select
        planned.employee_id,
        people.first_name,
        people.last_name,
        people.clinic,
        catalog.course_id,
        catalog.course_title,
        catalog.provider,
        catalog.accreditation,
        catalog.hours::decimal(18, 4) as hours,
        catalog.category,
        catalog.delivery,
        catalog.cost::decimal(18, 4) as cost,
        planned.licenses,
        planned.complete_by
    from planned_courses as planned
    inner join people using (employee_id)
    inner join course_catalog as catalog using (course_id)
)

select * from final
order by employee_id, complete_by, course_id;

create or replace table learning_plan_status as
select
    licenses.employee_id,
    licenses.license_state,
    licenses.license_type,
    licenses.license_number,
    status.plan,
    status.reason,
    licenses.license_id
from planned_license_status as status
inner join clinician_compliance as licenses using (license_id)
order by licenses.employee_id, licenses.license_state, licenses.license_type, licenses.license_number

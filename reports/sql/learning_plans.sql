select
    employee_id, first_name, last_name, clinic, course_id, course_title, provider, accreditation,
    hours::decimal(18, 4) as hours, category, delivery, cost::decimal(18, 4) as cost, licenses,
    complete_by::date as complete_by
from learning_plans

select employee_id, license_state, license_type, license_number, plan, reason
from learning_plan_status

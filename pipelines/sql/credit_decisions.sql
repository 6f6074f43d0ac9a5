-- The ledger's decisions: one row per evaluable license and credit of its person, as decided in the
-- license's current window (credit_window_decisions.sql), except that a previous-cycle credit whose
-- hours are carried is `counted` (or `partially_counted`) with reason `carried_over`. `counts_toward`
-- names what each row counts toward: `total` first, then the other requirements by name.
-- Stored narrow: the view `credit_ledger` (credit_ledger.sql) joins the descriptive columns back on.
create or replace table credit_decisions as
with decided as (
    select decisions.*, carried.carried_hours
    from credit_window_decisions as decisions
    left join carried_credits as carried using (license_id, credit_id)
    where decisions.window_name = 'current'
),

listed as (
    select licenses.license_id, listed.accreditation
    from license_cycles as licenses
    inner join rule_listed_accreditations as listed using (rule_id)
),

judged as (
    select
        decided.*,
        decided.exclusion_reason is null as is_eligible,
        coalesce(decided.carried_hours, decided.counted_hours) as ledger_hours,
        category_requirement.requirement is not null and decided.exclusion_reason is null as counts_for_category,
        once_requirement.requirement is not null
            and not decided.is_duplicate
            and decided.is_accepted
            and not decided.is_below_minimum
            and decided.is_first_completion as counts_once,
        listed.accreditation is not null and decided.exclusion_reason is null and decided.counted_hours > 0 as counts_listed
    from decided
    left join license_requirements as category_requirement
        on category_requirement.license_id = decided.license_id
        and category_requirement.kind = 'category'
        and category_requirement.category = decided.category
    left join license_requirements as once_requirement
        on once_requirement.license_id = decided.license_id
        and once_requirement.kind = 'once'
        and once_requirement.category = decided.category
    left join listed
        on listed.license_id = decided.license_id
        and listed.accreditation = upper(decided.accreditation)
),

final as (
    select
        license_id,
        credit_id,
        hours,
        category,
        ledger_hours::decimal(18, 4) as counted_hours,
        is_eligible,
        counts_once,
        counts_listed,
        case
            when carried_hours is not null then case when carried_hours < hours then 'partially_counted' else 'counted' end
            when exclusion_reason is not null or counted_hours = 0 then 'excluded'
            when counted_hours < hours then 'partially_counted'
            else 'counted'
        end as decision,
        case
            when carried_hours is not null then 'carried_over'
            else coalesce(exclusion_reason, case when counted_hours < hours then 'over_cap_' || delivery end)
        end as reason,
        nullif(
            concat_ws(
                ';',
                case when ledger_hours > 0 then 'total' end,
                nullif(array_to_string(
                    list_sort(list_filter(
                        [
                            case when counts_for_category then category end,
                            case when counts_listed then 'listed_providers' end,
                            case when counts_once then 'once_' || category end
                        ],
                        lambda name: name is not null
                    )),
                    ';'
                ), '')
            ),
            ''
        ) as counts_toward
    from judged
)

select * from final

"""Invariants of the compliance SQL on random rules and credits (hypothesis), in a real DuckDB file."""

import datetime as dt
import decimal

import duckdb
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.rules import RulesCatalog, Rule
from pipelines.warehouse import create_view, read_sql, replace_table, run_sql

AS_OF = dt.date(2026, 11, 25)
DELIVERIES = ["live", "live_online", "self_study"]
CATEGORIES = ["general", "ethics", "cultural_competency"]
HOURS = st.decimals(min_value=decimal.Decimal("0.1"), max_value=decimal.Decimal("20"), places=1)


@st.composite
def scenarios(draw):
    total = draw(st.integers(min_value=1, max_value=40))
    caps = draw(st.dictionaries(st.sampled_from(DELIVERIES), st.integers(min_value=0, max_value=total), max_size=2))
    minimums = draw(st.dictionaries(st.sampled_from(CATEGORIES[1:]), st.integers(min_value=1, max_value=8), max_size=2))
    rule = Rule(
        license_state="TX", license_type="LPC", cycle_months=24, total_hours=decimal.Decimal(total),
        min_hours_by_category={k: decimal.Decimal(v) for k, v in minimums.items()},
        max_hours_by_delivery={k: decimal.Decimal(v) for k, v in caps.items()},
        first_renewal="full", accepted_accreditations=None, source="property test", effective_date=None, not_modeled=None,
    )
    people = draw(st.integers(min_value=1, max_value=3))
    roster = [
        {
            "employee_id": f"{p:06d}", "license_state": "TX", "license_type": "LPC", "license_number": f"L{p}",
            "license_expiration_date": AS_OF + dt.timedelta(days=draw(st.integers(min_value=-200, max_value=700))),
        }
        for p in range(people)
    ]
    credits = [
        {
            "person_id": f"{draw(st.integers(min_value=0, max_value=people - 1)):06d}",
            "course_id": f"C{draw(st.integers(min_value=0, max_value=8))}",
            "completion_date": AS_OF - dt.timedelta(days=draw(st.integers(min_value=0, max_value=900))),
            "hours": draw(HOURS),
            "category": draw(st.sampled_from(CATEGORIES)),
            "delivery": draw(st.sampled_from(DELIVERIES)),
        }
        for _ in range(draw(st.integers(min_value=0, max_value=25)))
    ]
    return RulesCatalog(path=None, version="p", sha256="", rules=(rule,)), roster, credits


def evaluate(con, catalog, roster, credits):
    replace_table(con, "rules", catalog.rules_table())
    replace_table(con, "rule_category_minimums", catalog.category_minimums_table())
    replace_table(con, "rule_delivery_caps", catalog.delivery_caps_table())
    replace_table(con, "rule_accepted_accreditations", catalog.accepted_accreditations_table())
    roster_frame = pl.DataFrame(roster, schema_overrides={"license_expiration_date": pl.Date}).with_columns(
        pl.lit("Ana").alias("first_name"), pl.lit("Ruiz").alias("last_name"), pl.lit("North").alias("clinic"),
        pl.lit(None, pl.String).alias("job_title"), pl.lit(None, pl.String).alias("email"), pl.lit("active").alias("employment_status"),
        pl.lit(None, pl.Date).alias("termination_date"), pl.lit(dt.date(2000, 1, 1)).alias("license_issue_date"),
        pl.lit("x").alias("license_expiration_date_raw"), pl.lit("roster.csv").alias("source_file"),
        pl.int_range(2, len(roster) + 2).alias("source_row"),
    )
    credit_schema = {"person_id": pl.String, "course_id": pl.String, "completion_date": pl.Date, "hours": pl.Decimal(18, 4), "category": pl.String, "delivery": pl.String}
    credit_frame = pl.DataFrame(credits, schema=credit_schema).with_columns(
        pl.int_range(1, len(credits) + 1).alias("credit_id"), pl.col("course_id").alias("course_key"),
        pl.col("course_id").alias("course_title"), pl.lit("P").alias("provider"), pl.lit(None, pl.String).alias("accreditation"),
        pl.lit("credits.csv").alias("source_file"), pl.int_range(2, len(credits) + 2).alias("source_row"),
    )
    replace_table(con, "roster", roster_frame)
    replace_table(con, "ce_credits", credit_frame)
    run_sql(con, "license_cycles", as_of=AS_OF)
    run_sql(con, "credit_decisions")
    create_view(con, "credit_ledger", read_sql("credit_ledger"))
    run_sql(con, "requirement_progress")
    run_sql(con, "clinician_compliance", as_of=AS_OF, at_risk_days=90)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_compliance_invariants(tmp_path, scenario):
    catalog, roster, credits = scenario
    con = duckdb.connect(str(tmp_path / "properties.duckdb"))
    try:
        evaluate(con, catalog, roster, credits)
        bad_rows = con.execute(
            "select count(*) from credit_ledger where counted_hours < 0 or counted_hours > hours "
            "or (decision = 'excluded' and counted_hours <> 0) or (decision = 'counted' and counted_hours <> hours)"
        ).fetchone()[0]
        assert bad_rows == 0

        over_cap = con.execute(
            "select l.delivery, sum(l.counted_hours) as used, c.max_hours from credit_ledger l "
            "join rule_delivery_caps c using (license_state, license_type, delivery) group by l.license_id, l.delivery, c.max_hours "
            "having sum(l.counted_hours) > c.max_hours"
        ).fetchall()
        assert over_cap == []

        for row in con.execute(
            "select c.license_id, c.counted_hours, c.status, c.unmet_requirements, c.hours_remaining, "
            "coalesce((select sum(counted_hours) from credit_ledger l where l.license_id = c.license_id), 0), "
            "coalesce((select sum(hours) from credit_ledger l where l.license_id = c.license_id and is_eligible), 0) "
            "from clinician_compliance c"
        ).fetchall():
            _, counted, status, unmet, remaining, ledger_counted, eligible = row
            assert counted == ledger_counted
            assert counted <= eligible
            assert (status == "compliant") == (unmet is None)
            assert remaining >= 0 and (remaining == 0) == (status == "compliant")
    finally:
        con.close()

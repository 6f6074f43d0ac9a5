"""A small warehouse holding the tables the publish stage reads, with the values that break naive output:
HTML in a name, a formula as a course title, a license number starting with `-`, Unicode names, a clinic
name with punctuation, decimals that float arithmetic gets wrong, a rejected file."""

from __future__ import annotations

import datetime as dt
import hashlib
import pathlib
from decimal import Decimal

import duckdb

from reports.publication import load_publication, record_history
from reports.site import PublishedSite, publish

AS_OF = dt.date(2026, 11, 25)
TODAY = dt.date(2026, 12, 1)  # the day the tests publish on: every as-of date of the fixtures is before it
GENERATED_AT = dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC)
SCRIPT_NAME = "<script>alert(1)</script>"
FORMULA_TITLE = '=HYPERLINK("http://example.com","click")'
NORTH, ST_MARYS = "North Clinic", "St. Mary's / Eastside"
# The rules catalog file as the compliance stage read it (a byte-order mark and CRLF line ends included).
RULES_CATALOG = "\ufeffversion: '2026.11'\r\nrules:\r\n  - {license_state: TX, license_type: LPC}  # Tomás\r\n".encode()

_TABLES = """
create table clinician_compliance (
    as_of_date date, employee_id varchar, first_name varchar, last_name varchar, clinic varchar,
    license_type varchar, license_state varchar, license_number varchar, cycle_start date, cycle_end date,
    days_remaining integer, required_hours decimal(18, 4), counted_hours decimal(18, 4),
    hours_remaining decimal(18, 4), unmet_requirements varchar, status varchar, status_reason varchar,
    job_title varchar, email varchar, rule_source varchar, rule_not_modeled varchar
);
create table requirement_progress (
    employee_id varchar, license_state varchar, license_type varchar, license_number varchar,
    requirement varchar, required_hours decimal(18, 4), counted_hours decimal(18, 4), met boolean,
    requirement_order integer
);
create table credit_ledger (
    employee_id varchar, license_state varchar, license_type varchar, license_number varchar,
    course_id varchar, course_title varchar, provider varchar, accreditation varchar, completion_date date,
    hours decimal(18, 4), category varchar, delivery varchar, counted_hours decimal(18, 4), decision varchar,
    reason varchar, source_file varchar, source_row integer
);
create table data_quality_exceptions (
    source_file varchar, source_row integer, "check" varchar, "column" varchar, value varchar,
    message varchar, action varchar
);
create table input_files (
    source_file varchar, input_kind varchar, input_name varchar, sha256 varchar, status varchar, reason varchar,
    rows_read integer, rows_accepted integer, rows_quarantined integer, newest_row_date date
);
create table provider_freshness (
    provider varchar, accepted_files integer, newest_row_date date, age_days integer, max_age_days integer, stale boolean
);
create table rules_catalog_info (path varchar, version varchar, sha256 varchar, data blob);
create table learning_plans (
    employee_id varchar, first_name varchar, last_name varchar, clinic varchar, course_id varchar, course_title varchar,
    provider varchar, accreditation varchar, hours decimal(18, 4), category varchar, delivery varchar, cost decimal(18, 4),
    licenses varchar, complete_by date
);
create table learning_plan_status (
    employee_id varchar, license_state varchar, license_type varchar, license_number varchar, plan varchar, reason varchar
);
create table learning_plan_info (has_catalog boolean, budget_per_clinician decimal(18, 4), currency varchar);
create table staged_roster (
    source_file varchar, source_row bigint, employee_id varchar, first_name varchar, last_name varchar, email varchar,
    clinic varchar, license_state varchar, license_type varchar, license_number varchar
);
create table license_adjustments (
    employee_id varchar, license_state varchar, license_type varchar, license_number varchar, kind varchar,
    requirement varchar, hours decimal(18, 4), until date, reference varchar, applied boolean, why_not varchar,
    source_file varchar, source_row integer
);
"""
# The columns the rule shapes and adjustments added, each with the value most rows have; rows that differ are set below.
_ADDED_COLUMNS = """
alter table clinician_compliance add column deadline date;
update clinician_compliance set deadline = cycle_end;
alter table clinician_compliance add column license_expiration_date date;
update clinician_compliance set license_expiration_date = cycle_end;
alter table clinician_compliance add column carried_hours decimal(18, 4);
update clinician_compliance set carried_hours = 0 where status <> 'not_evaluated';
alter table clinician_compliance add column rule_effective_date date;
update clinician_compliance set rule_effective_date = date '2024-01-01' where status <> 'not_evaluated';
alter table requirement_progress add column waived_by varchar;
alter table requirement_progress add column kind varchar;
update requirement_progress set kind = case when requirement = 'total' then 'total' else 'category' end;
alter table requirement_progress add column origin varchar;
alter table credit_ledger add column counts_toward varchar;
update credit_ledger set counts_toward = case when counted_hours > 0 then 'total' end;
alter table credit_ledger add column first_name varchar;
alter table credit_ledger add column last_name varchar;
alter table credit_ledger add column clinic varchar;
update credit_ledger l set first_name = c.first_name, last_name = c.last_name, clinic = c.clinic
from clinician_compliance c
where c.employee_id = l.employee_id and c.license_state = l.license_state and c.license_type = l.license_type;
"""

D = Decimal
_d = dt.date.fromisoformat
BOARD = "providers/board/board_2026-11.csv"

# Rows are inserted out of order on purpose: the extracts must sort them.
COMPLIANCE = [
    ("E004", "Aisha", "Khan", ST_MARYS, "LPC", "TX", "0070003", _d("2026-07-01"), _d("2028-06-30"), 583,
     D(24), D(10), D(14), "total", "on_track", "14 h short, deadline 2028-06-30", "Clinical Director", "aisha@example.org",
     "TX 22 TAC 681.140", None),
    ("E001", "José", "García", NORTH, "LPC", "TX", "0070001", _d("2025-05-01"), _d("2027-04-30"), 156,
     D(24), D(26), D(0), None, "compliant", "every requirement met", "Counselor", "jose@example.org",
     "TX 22 TAC 681.140", "carry-over of up to 10 excess hours"),
    ("E002", SCRIPT_NAME, "Smith", NORTH, "LCSW", "IL", "-0123", _d("2025-02-01"), _d("2027-01-31"), 67,
     D(30), D(25), D(5), "total;ethics", "at_risk", "5 h short, deadline within 90 days", "Social Worker <b>Lead</b>",
     "smith@example.org", "IL 68 Ill. Adm. Code 1470.95", "one-time 1 h sexual harassment prevention course"),
    ("E003", "Nguyễn", "Văn An", ST_MARYS, "LMHC", "FL", "MH0012345", _d("2024-10-01"), _d("2026-09-30"), -56,
     D(30), None, D(29), "total;cultural_competency", "overdue", "deadline passed", "Therapist", "an@example.org",
     "FL 64B4-6.002", None),
    ("E004", "Aisha", "Khan", ST_MARYS, "LCSW", "IL", "149.012345", _d("2025-12-01"), _d("2027-11-30"), 370,
     D(30), D(0), D(0), None, "exempt", "first renewal: license issued 2026-01-15 inside the cycle", "Clinical Director",
     "aisha@example.org", "IL 68 Ill. Adm. Code 1470.95", None),
    ("E005", "Peter", "Novak", NORTH, "LMFT", "FL", "MF0000123", None, None, None,
     None, None, None, None, "not_evaluated", "no rule for FL LMFT in the rules catalog", "Therapist",
     "peter@example.org", None, None),
]
PROGRESS = [
    ("E002", "IL", "LCSW", "-0123", "ethics", D(3), D(0), False, 1),
    ("E002", "IL", "LCSW", "-0123", "total", D(30), D(25), False, 0),
    ("E001", "TX", "LPC", "0070001", "total", D(24), D(26), True, 0),
    ("E001", "TX", "LPC", "0070001", "ethics", D(4), D(4), True, 1),
    ("E003", "FL", "LMHC", "MH0012345", "total", D(30), None, False, 0),
    ("E003", "FL", "LMHC", "MH0012345", "cultural_competency", D(2), D(0), False, 1),
    ("E004", "TX", "LPC", "0070003", "total", D(24), D(10), False, 0),
]
LEDGER = [
    ("E001", "TX", "LPC", "0070001", "M-2", "Ethics for Counselors", "Lone Star CE", "NBCC", _d("2025-07-01"),
     D(4), "ethics", "live", D(4), "counted", None, BOARD, 3),
    ("E001", "TX", "LPC", "0070001", "M-1", "Assessment Foundations", "Lone Star CE", "NBCC", _d("2025-06-10"),
     D(10), "general", "live", D(10), "counted", None, BOARD, 2),
    ("E001", "TX", "LPC", "0070001", "M-3", "Self-paced Grief Work", "+Lone Star CE", "NBCC", _d("2025-08-01"),
     D(14), "general", "self_study", D(12), "partially_counted", "over_cap_self_study", BOARD, 4),
    ("E002", "IL", "LCSW", "-0123", "H-5", FORMULA_TITLE, "@Prairie CE", "ASWB_ACE", _d("2026-10-02"),
     D(25), "general", "live", D(25), "counted", None, BOARD, 5),
    ("E003", "FL", "LMHC", "MH0012345", "A-1", "Ethics Module A", "Sunshine CE", "NBCC", _d("2026-08-03"),
     D("0.7"), "ethics", "live_online", D("0.7"), "counted", None, "providers/lms/lms_2026-11.csv", 2),
    ("E003", "FL", "LMHC", "MH0012345", "A-2", "Ethics Module B", "Sunshine CE", "NBCC", _d("2026-08-04"),
     D("0.1"), "ethics", "live_online", D("0.1"), "counted", None, "providers/lms/lms_2026-11.csv", 3),
    ("E003", "FL", "LMHC", "MH0012345", "A-3", "Ethics Module C", "Sunshine CE", "NBCC", _d("2026-08-05"),
     D("0.2"), "ethics", "live_online", D("0.2"), "counted", None, "providers/lms/lms_2026-11.csv", 4),
    ("E003", "FL", "LMHC", "MH0012345", "A-0", "Old Course", "Sunshine CE", "NBCC", _d("2024-01-05"),
     D("3.25"), "general", "live", D(0), "excluded", "outside_cycle", "providers/lms/lms_2026-11.csv", 5),
    ("E004", "TX", "LPC", "0070003", "K-1", "Clinical Supervision Models", "Lone Star CE", "NBCC", _d("2026-08-15"),
     D(10), "general", "live", D(10), "counted", None, BOARD, 6),
]
EXCEPTIONS = [
    (BOARD, 11, "completion_date_after_as_of", "completion_date", "2027-01-01", "completion date is after the as-of date", "quarantined"),
    ("providers/lms/bad.xlsx", None, "required_column_missing", "Course Title", None,
     "providers/lms/bad.xlsx: required column 'Course Title' is missing", "rejected"),
    (BOARD, 10, "unmatched_clinician", "license_number", "-9999999", "no roster person matches TX -9999999", "warned"),
    ("roster/staff.csv", 6, "unparseable_license", "license_type", "LMFT", "no rule for FL LMFT", "warned"),
]
INPUT_FILES = [
    ("roster/staff.csv", "roster", "roster", "a" * 64, "accepted", None, 6, 6, 0, _d("2026-11-01")),
    (BOARD, "provider", "stateboard", "b" * 64, "accepted", None, 10, 9, 1, _d("2026-10-02")),
    ("providers/lms/bad.xlsx", "provider", "lms", "c" * 64, "rejected",
     "required column 'Course Title' is missing", 0, 0, 0, None),
    ("providers/lms/lms_2026-11.csv", "provider", "lms", "d" * 64, "accepted", None, 4, 4, 0, _d("2026-08-05")),
]
LEARNING_PLANS = [
    ("E002", SCRIPT_NAME, "Smith", NORTH, "IL-ETH3", "Ethics in Social Work Practice", "NASW Illinois", "ASWB_ACE",
     D(3), "ethics", "live_online", D("45.5"), "IL LCSW", _d("2027-01-31")),
    ("E002", SCRIPT_NAME, "Smith", NORTH, "GEN-2", "=HYPERLINK(\"x\")", "PESI", "ASWB_ACE",
     D(2), "general", "self_study", D(19), "IL LCSW", _d("2027-01-31")),
    ("E004", "Aisha", "Khan", ST_MARYS, "GEN-14", "Trauma-Informed Care Intensive", "PESI", "NBCC",
     D(14), "general", "live", D(350), "TX LPC", _d("2028-06-30")),
    ("E003", "Nguyễn", "Văn An", ST_MARYS, "GEN-14", "Trauma-Informed Care Intensive", "PESI", "NBCC",
     D(14), "general", "live", D(350), "FL LMHC", _d("2026-09-30")),
    ("E003", "Nguyễn", "Văn An", ST_MARYS, "GEN-15", "Evidence-Based Practice Week", "PESI", "NBCC",
     D(15), "general", "live", D(400), "FL LMHC", _d("2026-09-30")),
]
LEARNING_PLAN_STATUS = [
    ("E002", "IL", "LCSW", "-0123", "closes_gap", None),
    ("E003", "FL", "LMHC", "MH0012345", "no_plan", "cultural_competency"),
    ("E004", "TX", "LPC", "0070003", "closes_gap", None),
]
ADJUSTMENTS = [
    ("E002", "IL", "LCSW", "-0123", "extension", None, None, _d("2027-03-31"), "IL-EXT-2026-0412", True, None,
     "adjustments/adjustments.csv", 2),
    ("E004", "TX", "LPC", "0070003", "waiver", "law", None, None, "=TX-W-1", False,
     "the license's rules entry has no requirement law", "adjustments/adjustments.csv", 3),
]
PROVIDER_FRESHNESS = [
    ("lms", 1, _d("2026-08-05"), 112, 35, True),
    ("stateboard", 1, _d("2026-10-02"), 54, 60, False),
]


def build_warehouse(path: pathlib.Path) -> pathlib.Path:
    """A DuckDB file at `path` holding the fixture tables, as the upstream stages would leave them."""
    with duckdb.connect(str(path)) as con:
        con.execute(_TABLES)
        con.executemany(
            f"insert into clinician_compliance values ({', '.join('?' * 21)})", [(AS_OF, *row) for row in COMPLIANCE]
        )
        con.executemany(f"insert into requirement_progress values ({', '.join('?' * 9)})", PROGRESS)
        con.executemany(f"insert into credit_ledger values ({', '.join('?' * 17)})", LEDGER)
        con.executemany(f"insert into data_quality_exceptions values ({', '.join('?' * 7)})", EXCEPTIONS)
        con.executemany(f"insert into input_files values ({', '.join('?' * 10)})", INPUT_FILES)
        con.executemany(f"insert into provider_freshness values ({', '.join('?' * 6)})", PROVIDER_FRESHNESS)
        con.execute(
            "insert into rules_catalog_info values ('/srv/ce/rules.yaml', '2026.11', ?, ?)",
            [hashlib.sha256(RULES_CATALOG).hexdigest(), RULES_CATALOG],
        )
        con.executemany(f"insert into learning_plans values ({', '.join('?' * 14)})", LEARNING_PLANS)
        con.executemany(f"insert into learning_plan_status values ({', '.join('?' * 6)})", LEARNING_PLAN_STATUS)
        con.execute("insert into learning_plan_info values (true, 400, 'EUR')")
        con.executemany(f"insert into license_adjustments values ({', '.join('?' * 13)})", ADJUSTMENTS)
        con.execute(_ADDED_COLUMNS)
        # E002's board extended the deadline; E001 carried 2 h from the previous cycle
        con.execute("update clinician_compliance set deadline = date '2027-03-31', days_remaining = 126 where employee_id = 'E002'")
        con.execute("update clinician_compliance set carried_hours = 2 where employee_id = 'E001'")
        # The engine sums exact decimals; 0.7 + 0.1 + 0.2 must come out as 1, not 0.9999999.
        con.execute(
            """
            update clinician_compliance c set counted_hours = (
                select sum(l.counted_hours) from credit_ledger l
                where l.employee_id = c.employee_id and l.license_state = c.license_state
                    and l.license_type = c.license_type and l.decision <> 'excluded')
            where employee_id = 'E003'
            """
        )
        con.execute("update requirement_progress set counted_hours = 1 where employee_id = 'E003' and requirement = 'total'")
    return path


def publish_warehouse(
    warehouse: pathlib.Path,
    output_dir: pathlib.Path,
    run_id: str = "run-1",
    as_of: dt.date = AS_OF,
    data_docs_dir: pathlib.Path | None = None,
    today: dt.date = TODAY,
    after_step=None,
) -> PublishedSite:
    """What the publish asset does, without Dagster: record history, load, publish, then close the warehouse."""
    with duckdb.connect(str(warehouse)) as con:
        record_history(con, as_of, run_id, GENERATED_AT)
        publication = load_publication(con, as_of, run_id, GENERATED_AT)
        return publish(publication, output_dir, data_docs_dir, today, after_step)

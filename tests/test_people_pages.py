"""Personal pages, people/<employee_id>.html, on the publication fixtures: every license, requirement, ledger
row, applied adjustment and plan course of the person, values from the data as text, linked from the clinic
page, and the same pages whatever the ledger's batch size."""

from __future__ import annotations

import dataclasses
import html
import re

import duckdb
import polars as pl
import pytest

from reports.extracts import CREDIT_LEDGER
from reports.dashboards import _deadline_note, person_page
from reports.publication import StreamedQuery, load_publication, record_history
from reports.site import build_site
from tests.publish_fixtures import AS_OF, BOARD, FORMULA_TITLE, GENERATED_AT, SCRIPT_NAME, build_warehouse, publish_warehouse


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("people")
    return publish_warehouse(build_warehouse(tmp / "warehouse.duckdb"), tmp / "published").site


def text_of(page: str) -> str:
    """What a reader sees: tags dropped, entities resolved, blanks collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def person(site, employee_id: str) -> tuple[str, str]:
    page = (site / "people" / f"{employee_id}.html").read_text(encoding="utf-8")
    return page, text_of(page)


def test_a_page_for_every_person_with_a_license_linked_from_their_clinic_page(site):
    assert sorted(p.name for p in (site / "people").iterdir()) == [f"E00{n}.html" for n in range(1, 6)]
    north = (site / "clinics" / "north-clinic.html").read_text(encoding="utf-8")
    for employee_id in ("E001", "E002", "E005"):
        assert f'href="../people/{employee_id}.html"' in north
    assert 'href="../people/E003.html"' not in north


def test_the_page_holds_every_requirement_with_required_and_counted_hours_and_every_ledger_row(site):
    page, text = person(site, "E001")
    assert "<h1>José García</h1>" in page and "Employee E001 · Counselor · 1 license" in text
    assert "LPC TX 0070001 Compliant" in text and "Deadline 2027-04-30 in 156 days" in text
    assert "Cycle 2025-05-01 to 2027-04-30" in text and "Hours counted 26 of 24 h incl. 2 h carried from the previous cycle" in text
    assert "Still needed Nothing: every requirement met" in text and "Rule caveat The rule does not model: carry-over of up to 10 excess hours" in text
    assert "total 24 26 met" in text and "ethics 4 4 met" in text
    for row in (
        "2025-06-10 Assessment Foundations M-1 Lone Star CE NBCC general live 10 10 counted",
        "2025-07-01 Ethics for Counselors M-2 Lone Star CE NBCC ethics live 4 4 counted",
        "2025-08-01 Self-paced Grief Work M-3 +Lone Star CE NBCC general self study 14 12 partially counted over cap self study",
    ):
        assert row in text
    assert text.count(BOARD) == 3 and all(f"{BOARD} row {n}" in text for n in (2, 3, 4))
    assert text.index("M-1") < text.index("M-2") < text.index("M-3")  # the ledger's order: by completion date


def test_values_from_the_data_are_text_and_adjustments_and_the_plan_are_shown(site):
    page, text = person(site, "E002")
    assert SCRIPT_NAME not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<b>Lead</b>" not in page
    assert f"{SCRIPT_NAME} Smith" in text and "Social Worker <b>Lead</b>" in text
    assert FORMULA_TITLE in text and "@Prairie CE" in text  # as written: a page runs no formula
    assert "Deadline 2027-03-31 extended from 2027-01-31 in 126 days" in text
    assert "Adjustments applied extension IL-EXT-2026-0412, until 2027-03-31" in text
    assert "total 30 25 not met" in text and "ethics 3 0 not met" in text
    assert "Learning plan Plan: 2 courses" in text and "Ethics in Social Work Practice IL-ETH3, NASW Illinois" in text


def test_a_person_with_two_licenses_gets_both_and_only_applied_adjustments(site):
    page, text = person(site, "E004")
    assert "Employee E004 · Clinical Director · 2 licenses" in text
    assert "LCSW IL 149.012345 Exempt" in text and "LPC TX 0070003 On track" in text
    assert text.index("LCSW IL 149.012345") < text.index("LPC TX 0070003")  # license-key order
    assert "=TX-W-1" not in text  # the waiver not applied is on the overview, not among the applied
    assert "Clinical Supervision Models K-1" in text and "No credits on file for this license." in text  # one each
    assert '<a href="../clinics/st-mary-s-eastside.html">← St. Mary&#39;s / Eastside</a>' in page


def test_excluded_credits_and_a_license_without_rule_are_shown_with_why(site):
    _, overdue = person(site, "E003")
    assert "Old Course A-0 Sunshine CE NBCC general live 3.25 0 excluded outside cycle providers/lms/lms_2026-11.csv row 5" in overdue
    assert "No catalog course meets: cultural competency" in overdue and "56 days overdue" in overdue
    assert "License expired on 2026-09-30: renewal not recorded in the roster" in overdue  # what the evidence must say too
    _, not_evaluated = person(site, "E005")
    assert "LMFT FL MF0000123 Not evaluated" in not_evaluated and "Deadline none" in not_evaluated
    assert "No requirements: no rule for FL LMFT in the rules catalog" in not_evaluated


def test_the_page_loads_no_script_and_prints(site):
    page, _ = person(site, "E001")
    assert "<script" not in page and '<link rel="stylesheet" href="../person.css">' in page
    assert "@media print" in (site / "person.css").read_text(encoding="utf-8")


def test_the_pages_are_the_same_when_a_license_s_ledger_rows_straddle_two_batches(tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    pages = {}
    for batch_rows in (1 << 18, 2):
        with duckdb.connect(str(warehouse)) as con:
            record_history(con, AS_OF, "run-1", GENERATED_AT)
            publication = load_publication(con, AS_OF, "run-1", GENERATED_AT)
            streamed = StreamedQuery(con, CREDIT_LEDGER.sql, batch_rows)
            publication = dataclasses.replace(publication, frames={**publication.frames, CREDIT_LEDGER.name: streamed})
            build_site(publication, tmp_path / f"site-{batch_rows}")
        pages[batch_rows] = {p.name: p.read_bytes() for p in (tmp_path / f"site-{batch_rows}" / "people").iterdir()}
    assert pages[2] == pages[1 << 18]
    assert b"Ethics Module C" in pages[2]["E003.html"]


def test_a_page_name_keeps_any_employee_id_inside_the_folder():
    assert person_page("E001") == "E001.html"
    assert person_page("A/1 b") == "A%2F1%20b.html"
    assert person_page("..") == "%2E..html" and person_page(".hidden") == "%2Ehidden.html"


def test_a_ledger_that_cannot_be_read_stops_the_site_with_the_reason(tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        record_history(con, AS_OF, "run-1", GENERATED_AT)
        publication = load_publication(con, AS_OF, "run-1", GENERATED_AT)
        broken = dataclasses.replace(publication, frames={**publication.frames, CREDIT_LEDGER.name: StreamedQuery(con, "select * from no_such_ledger")})
        with pytest.raises(Exception) as stopped:
            build_site(broken, tmp_path / "site")
    reasons = [stopped.value, stopped.value.__cause__]
    assert any("no_such_ledger" in str(reason) for reason in reasons)


def test_a_deadline_passed_reads_overdue_only_where_the_license_is():
    licenses = pl.DataFrame({"status": ["overdue", "compliant", "exempt", "at_risk", "on_track"], "days_remaining": [-56, -24, -1, 0, 1]})
    notes = licenses.select(_deadline_note(pl.col("days_remaining"))).to_series().to_list()
    assert notes == ["56 days overdue", "24 days ago", "1 day ago", "today", "in 1 day"]

"""Personal pages, `people/<employee_id>.html`: everything about one person's licenses, printable as their
evidence for a board audit. Every license with its status and deadline, every requirement with the hours
required and counted, every ledger row (decision, reason, source file and row), the applied adjustments and
the learning plan.

The ledger is not held in memory (reports/publication.py): its batches arrive in license-key order, the
order of the compliance rows, so the pages are written person by person while the ledger streams past.
Ledger rows become table rows in Polars (escaped there, column by column, rather than cell by cell in
Jinja: 4M rows at 100k clinicians), one HTML text per license.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator

import markupsafe
import polars as pl

from reports.dashboards import (
    PersonRow,
    SiteRenderer,
    _page_context,
    _person_fields,
    _person_row,
    _templates,
    person_page,
    requirement_label,
)
from reports.extracts import exact_hours_text
from reports.publication import LICENSE_KEY

DECISION_WORDS = {"counted": "counted", "partially_counted": "partially counted", "excluded": "excluded"}


@dataclasses.dataclass(frozen=True, slots=True)
class RequirementRow:
    label: str
    required: str
    counted: str
    met: bool
    note: str  # "waived (W-1)", where the requirement comes from, or empty


@dataclasses.dataclass(frozen=True, slots=True)
class LicenseSection:
    row: PersonRow
    cycle: str  # "2025-05-01 to 2027-04-30", or empty
    clinic: str
    requirements: list[RequirementRow]
    ledger: markupsafe.Markup  # the ledger's table rows, or empty


def _html_text(expression: pl.Expr) -> pl.Expr:
    """Text as HTML escapes it (markupsafe's five characters), null as empty."""
    text = expression.cast(pl.String).fill_null("")
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        text = text.str.replace_all(character, entity, literal=True)
    return text


def _ledger_html(batch: pl.DataFrame) -> pl.DataFrame:
    """One row per license of the batch, in its order: the license key and its ledger rows as `<tr>`s."""
    return (
        batch.select(
            *LICENSE_KEY,
            html=pl.format(
                '<tr class="{}"><td>{}</td><td><span class="course">{}</span><br><span class="muted">{}</span></td>'
                '<td>{}<br><span class="muted">{}</span></td><td>{}<br><span class="muted">{}</span></td>'
                '<td class="num">{}</td><td class="num">{}</td><td>{}<br><span class="muted">{}</span></td>'
                "<td>{}<br><span class=\"muted\">row {}</span></td></tr>",
                pl.col("decision"),
                pl.col("completion_date").dt.to_string("%Y-%m-%d").fill_null(""),
                _html_text(pl.col("course_title")),
                _html_text(pl.col("course_id")),
                _html_text(pl.col("provider")),
                _html_text(pl.col("accreditation")),
                _html_text(pl.col("category").str.replace_all("_", " ", literal=True)),
                _html_text(pl.col("delivery").str.replace_all("_", " ", literal=True)),
                exact_hours_text(pl.col("hours")).fill_null(""),
                exact_hours_text(pl.col("counted_hours")).fill_null(""),
                _html_text(pl.col("decision").replace(DECISION_WORDS)),
                _html_text(pl.col("reason").str.replace_all("_", " ", literal=True)),
                _html_text(pl.col("source_file")),
                pl.col("source_row").cast(pl.String).fill_null(""),
            ),
        )
        .group_by(LICENSE_KEY, maintain_order=True)
        .agg(pl.col("html").str.join(""))
    )


def ledger_by_license(batches: Iterable[pl.DataFrame]) -> Iterator[tuple[tuple, str]]:
    """(license key, its ledger rows as HTML) in the ledger's order; a license split across two batches is
    joined again."""
    carried: tuple[tuple, str] | None = None
    for batch in batches:
        for *key, html in _ledger_html(batch).iter_rows():
            key = tuple(key)
            if carried is not None and carried[0] == key:
                carried = (key, carried[1] + html)
                continue
            if carried is not None:
                yield carried
            carried = (key, html)
    if carried is not None:
        yield carried


def _requirement_rows(progress: pl.DataFrame) -> dict[tuple, list[RequirementRow]]:
    """License key -> every requirement, the total first, as the extract orders them."""
    labels = {r: requirement_label(r) for r in progress.get_column("requirement").unique().to_list()}
    rows = progress.select(
        *LICENSE_KEY,
        pl.col("requirement").replace_strict(labels, return_dtype=pl.String),
        exact_hours_text(pl.col("required_hours")).fill_null(""),
        exact_hours_text(pl.col("counted_hours")).fill_null("0"),
        "met",
        pl.when(pl.col("waived_by").is_not_null())
        .then(pl.lit("waived (") + pl.col("waived_by") + pl.lit(")"))
        .otherwise(pl.col("origin").fill_null("")),
    )
    found: dict[tuple, list[RequirementRow]] = {}
    for *key, label, required, counted, met, note in rows.iter_rows():
        found.setdefault(tuple(key), []).append(RequirementRow(label, required, counted, bool(met), note))
    return found


def person_pages(pages: SiteRenderer) -> Iterator[tuple[str, str, list[str], list[str | None]]]:
    """(file name, page, the person's clinics, roster emails) for every person with a license, in employee_id
    order, reading the ledger once as it goes."""
    publication = pages.publication
    compliance = publication.compliance
    requirements = _requirement_rows(publication.progress)
    licenses = set(compliance.select(LICENSE_KEY).iter_rows())
    # The ledger holds only licenses of clinician_compliance, in the same order; one it did not would be skipped.
    ledger = (entry for entry in ledger_by_license(publication.ledger) if entry[0] in licenses)
    next_ledger = next(ledger, None)
    rows = zip(
        _person_fields(compliance).iter_rows(named=True),
        compliance.select(
            "clinic",
            "email",
            cycle=pl.when(pl.col("cycle_start").is_not_null() & pl.col("cycle_end").is_not_null())
            .then(pl.format("{} to {}", pl.col("cycle_start").dt.to_string("%Y-%m-%d"), pl.col("cycle_end").dt.to_string("%Y-%m-%d")))
            .otherwise(pl.lit("")),
        ).iter_rows(),
    )
    context = _page_context(publication)
    template = _templates.get_template("person.html")
    for employee_id, person_rows in itertools.groupby(rows, key=lambda row: row[0]["employee_id"]):
        sections = []
        emails: list[str | None] = []
        for person, (clinic, email, cycle) in person_rows:
            key = tuple(person[k] for k in LICENSE_KEY)
            ledger_rows = ""
            if next_ledger is not None and next_ledger[0] == key:
                ledger_rows = next_ledger[1]
                next_ledger = next(ledger, None)
            row = _person_row(person, pages._needed, pages._plans, {}, pages._adjustments)
            sections.append(LicenseSection(row, cycle, clinic, requirements.get(key, []), markupsafe.Markup(ledger_rows)))
            emails.append(email)
        clinics = sorted({s.clinic for s in sections if s.clinic is not None})
        page = template.render(
            **context,
            root="../",
            name=sections[0].row.name,
            employee_id=employee_id,
            job_title=sections[0].row.job_title,
            clinics=[(clinic, pages.slugs[clinic]) for clinic in clinics],
            licenses=sections,
        )
        yield person_page(employee_id), page, clinics, emails

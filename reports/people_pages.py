"""Personal pages, `people/<employee_id>.html`: everything about one person's licenses, printable as their
evidence for a board audit. Every license with its status and deadline, every requirement with the hours
required and counted, every ledger row (decision, reason, source file and row), the applied adjustments and
the learning plan.

At 100k clinicians these are 100k pages holding 4M ledger rows, written within a quarter of the rest of
the publication's time (bench/bench_publish.py), so they are not rendered by Jinja one by one: the page's
frame is `person.html` rendered once around markers, and the parts from the data are HTML built by Polars
expressions, every value escaped by `_html_text`, column by column. The ledger is not held in memory
(reports/publication.py): its batches arrive in license-key order, the order of the compliance rows, so the
pages are written person by person while the ledger streams past.
"""

from __future__ import annotations

import datetime as dt

import itertools
from collections.abc import Iterable, Iterator

import markupsafe
import polars as pl

from reports.dashboards import STATUS_STYLES, SiteRenderer, _page_context, _person_fields, _status_badge, _templates, person_page, requirement_label
from reports.extracts import exact_hours_text
from reports.plan_views import LicensePlan
from reports.publication import LICENSE_KEY

DECISION_WORDS = {"counted": "counted", "partially_counted": "partially counted", "excluded": "excluded"}
_MARK = "\x00"  # around the names of the parts in the rendered frame; never in a template or escaped text
_BATCH_LICENSES = 20_000  # the license sections are built this many at a time: bounded memory
_LEDGER_HEAD = (
    '<h3>Credits considered</h3><table class="ledger"><thead><tr><th>Completed</th><th>Course</th><th>Provider</th>'
    '<th>Category</th><th class="num">Hours</th><th class="num">Counted h</th><th>Decision</th><th>Source</th></tr>'
    "</thead><tbody>"
)
_NO_LEDGER = '<h3>Credits considered</h3><p class="empty">No credits on file for this license.</p>'
_REQUIREMENTS_HEAD = (
    '<h3>Requirements</h3><table class="requirements-table"><thead><tr><th>Requirement</th><th class="num">Required h</th>'
    '<th class="num">Counted h</th><th>Met</th><th></th></tr></thead><tbody>'
)


def _html_text(expression: pl.Expr) -> pl.Expr:
    """Text escaped for HTML as markupsafe escapes it, in one pass; null as empty."""
    return (
        expression.cast(pl.String)
        .fill_null("")
        .str.replace_many(["&", "<", ">", '"', "'"], ["&amp;", "&lt;", "&gt;", "&#34;", "&#39;"])
    )


def _words(column: str) -> pl.Expr:
    return _html_text(pl.col(column).str.replace_all("_", " ", literal=True))


def _ledger_html(batch: pl.DataFrame) -> pl.DataFrame:
    """One row per license of the batch, in its order: the license key and its ledger rows as `<tr>`s (end
    tags left out where HTML allows, as the rows are 4M at 100k clinicians)."""
    return (
        batch.select(
            *LICENSE_KEY,
            html=pl.format(
                '<tr><td>{}<td>{}<br><small>{}</small><td>{}<br><small>{}</small><td>{}<br><small>{}</small>'
                '<td class="num">{}<td class="num">{}<td>{}{}<td>{} row {}',
                pl.col("completion_date").dt.to_string("%Y-%m-%d").fill_null(""),
                _html_text(pl.col("course_title")),
                _html_text(pl.col("course_id")),
                _html_text(pl.col("provider")),
                _html_text(pl.col("accreditation")),
                _words("category"),
                _words("delivery"),
                exact_hours_text(pl.col("hours")).fill_null(""),
                exact_hours_text(pl.col("counted_hours")).fill_null(""),
                _html_text(pl.col("decision").replace(DECISION_WORDS)),
                pl.when(pl.col("reason").is_null()).then(pl.lit("")).otherwise(pl.format("<br><small>{}</small>", _words("reason"))),
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


def _requirements_html(progress: pl.DataFrame) -> pl.DataFrame:
    """The license key and `requirements`: every requirement (the total first, as the extract orders them) as `<tr>`s."""
    labels = {r: requirement_label(r) for r in progress.get_column("requirement").unique().to_list()}
    return (
        progress.select(
            *LICENSE_KEY,
            requirements=pl.format(
                '<tr class="{}"><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td><td class="muted">{}</td></tr>',
                pl.when(pl.col("met")).then(pl.lit("met")).otherwise(pl.lit("unmet")),
                _html_text(pl.col("requirement").replace_strict(labels, return_dtype=pl.String)),
                exact_hours_text(pl.col("required_hours")).fill_null(""),
                exact_hours_text(pl.col("counted_hours")).fill_null("0"),
                pl.when(pl.col("met")).then(pl.lit("met")).otherwise(pl.lit("not met")),
                _html_text(
                    pl.when(pl.col("waived_by").is_not_null())
                    .then(pl.format("waived ({})", pl.col("waived_by")))
                    .otherwise(pl.col("origin"))
                ),
            ),
        )
        .group_by(LICENSE_KEY, maintain_order=True)
        .agg(pl.col("requirements").str.join(""))
    )


def _optional(condition: pl.Expr, template: str, *values: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.format(template, *values)).otherwise(pl.lit(""))


def _license_sections(licenses: pl.DataFrame, needed: pl.DataFrame, requirements: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Per license, in the given order: the person's id, name and job title, clinic and email, and the HTML
    of the license's section up to its plan and ledger (`head`) and its requirements (`requirements`)."""
    fields = _person_fields(licenses, needed, as_of)
    text = pl.col
    badges = {status: str(_status_badge(status)) for status in STATUS_STYLES}
    return pl.concat(
        [
            licenses.select("employee_id", "clinic", "email", "cycle_start", "cycle_end"),
            fields.select(*(c for c in fields.columns if c != "employee_id")),
        ],
        how="horizontal",
    ).join(requirements, on=LICENSE_KEY, how="left", nulls_equal=True, maintain_order="left").select(
        *LICENSE_KEY,
        "clinic",
        "email",
        name=_html_text(pl.concat_str(text("first_name").fill_null(""), pl.lit(" "), text("last_name").fill_null("")).str.strip_chars()),
        job_title=_html_text(text("job_title")),
        head=pl.concat_str(
            pl.format(
                '<section class="panel license"><h2>{} <span class="muted">{}</span> {}</h2><dl class="facts"><dt>Deadline</dt><dd>{}',
                _html_text(pl.concat_str(text("license_type"), text("license_state"), separator=" ", ignore_nulls=True)),
                _html_text(text("license_number")),
                text("status").replace_strict(badges, return_dtype=pl.String),
                pl.when(text("deadline") == "").then(pl.lit("none")).otherwise(text("deadline")),
            ),
            _optional(text("extended_from") != "", ' <span class="muted">extended from {}</span>', text("extended_from")),
            _optional(
                text("deadline_note") != "",
                ' <span class="muted{}">{}</span>',
                pl.when(text("status") == "overdue").then(pl.lit(" late")).otherwise(pl.lit("")),
                text("deadline_note"),
            ),
            pl.lit("</dd>"),
            _optional(
                text("cycle_start").is_not_null() & text("cycle_end").is_not_null(),
                "<dt>Cycle</dt><dd>{} to {}</dd>",
                text("cycle_start").dt.to_string("%Y-%m-%d"),
                text("cycle_end").dt.to_string("%Y-%m-%d"),
            ),
            _optional(text("expired") != "", '<dt>License</dt><dd class="late">{}</dd>', _html_text(text("expired"))),
            pl.format(
                "<dt>Hours counted</dt><dd>{}{}</dd><dt>Still needed</dt><dd>{}</dd><dt>Clinic</dt><dd>{}</dd>",
                pl.when(text("hours") == "").then(pl.lit("none required")).otherwise(text("hours")),
                _optional(text("carried") != "", ' <span class="muted">incl. {}</span>', _html_text(text("carried"))),
                _html_text(text("still_needed")),
                _html_text(text("clinic")),
            ),
            _optional(text("rule_version") != "", "<dt>Rules entry</dt><dd>of {}</dd>", text("rule_version")),
            _optional(
                text("rule_not_modeled").is_not_null(),
                "<dt>Rule caveat</dt><dd>The rule does not model: {}</dd>",
                _html_text(text("rule_not_modeled")),
            ),
        ),
        requirements=pl.when(text("requirements").is_null())
        .then(pl.format('<h3>Requirements</h3><p class="empty">No requirements: {}</p>', _html_text(text("still_needed"))))
        .otherwise(pl.format("{}{}</tbody></table>", pl.lit(_REQUIREMENTS_HEAD), text("requirements"))),
    )


def _adjustments_html(adjustments: list[str]) -> str:
    if not adjustments:
        return ""
    items = "".join(f"<li>{markupsafe.escape(a)}</li>" for a in adjustments)
    return f'<dt>Adjustments applied</dt><dd><ul class="adjustments">{items}</ul></dd>'


def _plan_html(plan: LicensePlan | None) -> str:
    """The license's learning plan, as the clinic page shows it (reports/templates/_plans.html)."""
    if plan is None:
        return ""
    e = markupsafe.escape
    html = ["<h3>Learning plan</h3>", '<div class="plan">']
    if plan.courses:
        count = len(plan.courses)
        html.append(f'<p class="plan-head">Plan: {count} course{"" if count == 1 else "s"}, {e(plan.hours)} h, cost {e(plan.cost)}</p><ul>')
        for c in plan.courses:
            provider = f", {e(c.provider)}" if c.provider else ""
            also = f' <span class="muted">also counts for {e(c.also_for)}</span>' if c.also_for else ""
            html.append(f'<li><span class="course">{e(c.title)}</span> <span class="muted">{e(c.course_id)}{provider}</span><br>{e(c.details)}{also}</li>')
        html.append("</ul>")
    if plan.no_plan:
        html.append(f'<p class="no-plan">No catalog course meets: {e(plan.no_plan)}</p>')
    html.append("</div>")
    return "".join(html)


def _frame(pages: SiteRenderer) -> list[str]:
    """person.html rendered once around markers: literal text and part names, alternating."""
    marked = {name: markupsafe.Markup(f"{_MARK}{name}{_MARK}") for name in ("name", "crumbs", "about", "licenses")}
    return _templates.get_template("person.html").render(**_page_context(pages.publication), root="../", **marked).split(_MARK)


def person_pages(pages: SiteRenderer, ledger_batches: Iterable[pl.DataFrame]) -> Iterator[tuple[str, str, list[str], list[str | None]]]:
    """(file name, page, the person's clinics, roster emails) for every person with a license, in employee_id
    order, taking the ledger's batches (in license-key order) as it goes."""
    publication = pages.publication
    compliance = publication.compliance
    requirements = _requirements_html(publication.progress)
    licenses = set(compliance.select(LICENSE_KEY).iter_rows())
    # The ledger holds only licenses of clinician_compliance, in the same order; one it did not would be skipped.
    ledger = (entry for entry in ledger_by_license(ledger_batches) if entry[0] in licenses)
    next_ledger = next(ledger, None)
    frame = _frame(pages)
    rows = itertools.chain.from_iterable(
        _license_sections(compliance.slice(offset, _BATCH_LICENSES), pages._needed, requirements, pages.publication.as_of_date).iter_rows()
        for offset in range(0, compliance.height, _BATCH_LICENSES)
    )
    for employee_id, person_rows in itertools.groupby(rows, key=lambda row: row[0]):
        sections, clinics, emails = [], set(), []
        for *key, clinic, email, name, job_title, head, requirement_rows in person_rows:
            key = tuple(key)
            if next_ledger is not None and next_ledger[0] == key:
                credits = f"{_LEDGER_HEAD}{next_ledger[1]}</tbody></table>"
                next_ledger = next(ledger, None)
            else:
                credits = _NO_LEDGER
            sections.append(
                f"{head}{_adjustments_html(pages._adjustments.get(key, []))}</dl>{requirement_rows}"
                f"{_plan_html(pages._plans.get(key))}{credits}</section>"
            )
            clinics.add(clinic)
            emails.append(email)
        count = len(sections)
        about = f"Employee {markupsafe.escape(employee_id)}{f' · {job_title}' if job_title else ''} · {count} license{'' if count == 1 else 's'}"
        crumbs = " · ".join(f'<a href="../clinics/{pages.slugs[c]}.html">← {markupsafe.escape(c)}</a>' for c in sorted(clinics))
        parts = {"name": name, "crumbs": crumbs, "about": about, "licenses": "".join(sections)}
        page = "".join(piece if i % 2 == 0 else parts[piece] for i, piece in enumerate(frame))
        yield person_page(employee_id), page, sorted(clinics), emails

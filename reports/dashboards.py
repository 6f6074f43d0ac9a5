"""The HTML pages of a published site: the organisation overview and one page per clinic.

Pages are Jinja2 templates with autoescape on, so every value from the data is escaped by construction.
The only markup inserted as is are the charts: an empty div and the figure's JSON in a
`<script type="application/json">` block (data, not code), with `<`, `>` and `&` escaped so that nothing in it
can close the block; chart labels from the data are HTML-escaped as well, because Plotly renders a subset of
HTML tags inside labels. Every page loads the site's `site.js` by a relative path, which loads the single
`plotly.min.js` while the page parses and draws the charts: no inline script or event handler, so a
Content-Security-Policy can forbid them, and parsing Plotly never delays the text.
Without JavaScript every row is on the page; with it, long tables are paged, searched, sorted and filtered
by status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import html
import re
import urllib.parse
from collections.abc import Callable, Iterable

import jinja2
import markupsafe
import plotly.io as pio
import polars as pl

from reports.access import LINKS
from reports.extracts import exact_hours_text
from reports.plan_views import LicensePlan, license_plans, money_text, top_courses, training_costs
from reports.publication import LICENSE_KEY, Publication


@dataclasses.dataclass(frozen=True)
class StatusStyle:
    label: str
    colour: str  # Okabe-Ito, distinguishable with the common colour-vision deficiencies
    urgency: int  # 0 = needs action first
    meaning: str


STATUS_STYLES: dict[str, StatusStyle] = {
    "overdue": StatusStyle("Overdue", "#D55E00", 0, "deadline passed, hours still missing"),
    "at_risk": StatusStyle("At risk", "#E69F00", 1, "hours missing, deadline soon"),
    "on_track": StatusStyle("On track", "#0072B2", 2, "hours missing, deadline further away"),
    "not_evaluated": StatusStyle("Not evaluated", "#7F7F7F", 3, "no rule or license data: see the reason"),
    "exempt": StatusStyle("Exempt", "#56B4E9", 4, "first renewal, nothing required this cycle"),
    "compliant": StatusStyle("Compliant", "#009E73", 5, "every requirement met"),
}
_BY_URGENCY = sorted(STATUS_STYLES.items(), key=lambda item: item[1].urgency)
OPEN_STATUSES = ("at_risk", "on_track")  # still short of hours with the deadline ahead
DEADLINE_WINDOWS_DAYS = (30, 60, 90)
CLINICS_CHARTED = 20  # beyond this, the chart shows the clinics with most licenses at risk or overdue
CHASED_PER_LIST = 50  # people named in each who-to-chase list on the overview; the rest are counted
PAGE_ROWS = 50  # rows a long table shows at a time (site.js; reports/templates/site.css hides the rest until it runs)
CHASE_SOON_DAYS = DEADLINE_WINDOWS_DAYS[0]
# Why a quarantined roster row leaves its person off the pages, in the words of the overview.
NOT_SHOWN_BECAUSE = {
    "missing_clinic": "roster row without a clinic",
    "missing_employee_id": "roster row without an employee id",
}

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.globals["links_endpoint"] = LINKS


@dataclasses.dataclass(frozen=True)
class Download:
    href: str
    label: str
    description: str
    download: bool  # a file to save, rather than a page to open


def clinic_slugs(clinics: Iterable[str]) -> dict[str, str]:
    """Clinic name -> page name: lower case, runs of anything but a-z 0-9 as `-`; collisions get -2, -3 in name order."""
    slugs: dict[str, str] = {}
    taken: set[str] = set()
    for clinic in sorted(set(clinics)):
        base = re.sub(r"[^a-z0-9]+", "-", clinic.lower()).strip("-") or "clinic"
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        slugs[clinic] = slug
        taken.add(slug)
    return slugs


def license_anchor() -> pl.Expr:
    """The id of a license's row on its clinic page, from its key: `lic-E002-IL-LCSW--0123`."""
    return pl.lit("lic-") + pl.concat_str(
        [pl.col(k).fill_null("").str.replace_all(r"[^A-Za-z0-9_.-]+", "_") for k in LICENSE_KEY], separator="-"
    )


def expired_note(as_of: dt.date) -> pl.Expr:
    """Set where the license's expiration date has passed, whatever its status: the renewal is what to chase."""
    return (
        pl.when(pl.col("license_expiration_date") < as_of)
        .then(pl.format("expired on {}: renewal not recorded in the roster", pl.col("license_expiration_date").dt.to_string("%Y-%m-%d")))
        .otherwise(pl.lit(""))
    )


def nothing_evaluable(compliance: pl.DataFrame) -> dict[str, str]:
    """Clinic -> why nothing there can be evaluated, for clinics whose every license is not_evaluated: their
    budget figures and course suggestions would mean nothing."""
    counts = compliance.group_by("clinic").agg(
        blocked=(pl.col("status") == "not_evaluated").all(),
        reasons=pl.col("status_reason").drop_nulls().unique().sort().head(3).str.join("; "),
    )
    return {clinic: reasons for clinic, blocked, reasons in counts.iter_rows() if blocked}
def person_page(employee_id: str) -> str:
    """The file name of a person's page in `people/`: the id, percent-encoded where a file name or URL would
    not keep it (`A/1` -> `A%2F1.html`), and never a hidden name."""
    name = urllib.parse.quote(employee_id, safe="")
    return ("%2E" + name[1:] if name.startswith(".") else name) + ".html"


def _count_expressions() -> list[pl.Expr]:
    return [
        pl.len().alias("licenses"),
        *(pl.col("status").eq(status).sum().alias(status) for status in STATUS_STYLES),
        *(
            (pl.col("status").is_in(OPEN_STATUSES) & pl.col("days_remaining").is_between(0, days))
            .sum()
            .alias(f"due_{days}")
            for days in DEADLINE_WINDOWS_DAYS
        ),
    ]


def _with_rates(counts: pl.DataFrame) -> pl.DataFrame:
    """Exempt licenses owe nothing this cycle, so they count as compliant in the rate."""
    evaluated = pl.col("licenses") - pl.col("not_evaluated")
    return counts.with_columns(
        evaluated=evaluated,
        percent_compliant=pl.when(evaluated > 0).then(100 * (pl.col("compliant") + pl.col("exempt")) / evaluated),
    )


def _status_counts(frame: pl.DataFrame, by: str) -> pl.DataFrame:
    return _with_rates(frame.group_by(by).agg(_count_expressions())).sort(by)


def _headline(frame: pl.DataFrame) -> dict:
    return _with_rates(frame.select(_count_expressions())).to_dicts()[0] | {"people": frame["employee_id"].n_unique()}


def _label(text: str) -> str:
    """Plotly renders <b>, <a href> and friends inside labels: show data as text instead."""
    return html.escape(text, quote=False)


def _figure(
    traces: list[dict], div_id: str, height: int, xaxis: dict | None = None, yaxis: dict | None = None, **layout
) -> markupsafe.Markup:
    """A chart's div and its figure as JSON for site.js to draw, from plain dicts (Plotly's JSON schema: fast, no
    validation)."""
    figure = {
        "data": traces,
        "layout": {
            "height": height,
            "margin": {"l": 10, "r": 10, "t": 36 if len(traces) > 1 else 10, "b": 30},
            "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13, "color": "#1f2328"},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "traceorder": "normal"},
            "xaxis": {"automargin": True, "gridcolor": "#e5e7eb", **(xaxis or {})},
            "yaxis": {"automargin": True, **(yaxis or {})},
            **layout,
        },
    }
    figure["config"] = {"displayModeBar": False, "responsive": True}
    data = pio.to_json(figure, validate=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # Trusted markup: the id is ours, and the JSON holds no `<` that could end its block.
    return markupsafe.Markup(
        f'<div id="{div_id}" class="chart" style="min-height: {height}px"></div>'
        f'<script type="application/json" data-chart="{div_id}">{data}</script>'
    )


def _count_axis(largest: int) -> dict:
    """Whole-number ticks: Plotly would otherwise mark half a license on small charts."""
    return {"rangemode": "tozero", "tickformat": ",d", "dtick": 1 if largest <= 8 else None}


def _horizontal_bars(
    labels: list[str], counts: list[int], colours: str | list[str], hover: str, div_id: str
) -> markupsafe.Markup:
    """One bar per label, first label on top, its count written on it."""
    bar = {
        "type": "bar",
        "orientation": "h",
        "y": labels,
        "x": counts,
        "marker": {"color": colours},
        "text": counts,
        "textposition": "auto",
        "hovertemplate": hover,
    }
    return _figure(
        [bar],
        div_id,
        height=70 + 28 * len(labels),
        xaxis=_count_axis(max(counts, default=0)),
        yaxis={"autorange": "reversed"},
    )


def _status_bars(counts: pl.DataFrame, by: str, div_id: str) -> markupsafe.Markup:
    """Horizontal bars stacked by status, one bar per value of `by`, first row on top."""
    labels = [_label(value) for value in counts[by]]
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": style.label,
            "y": labels,
            "x": counts[status].to_list(),
            "marker": {"color": style.colour},
            "hovertemplate": f"%{{y}}: %{{x}} {style.label.lower()}<extra></extra>",
        }
        for status, style in _BY_URGENCY
    ]
    return _figure(
        traces,
        div_id,
        height=90 + 28 * max(len(labels), 1),
        xaxis=_count_axis(counts["licenses"].max() or 0),
        yaxis={"autorange": "reversed"},
        barmode="stack",
    )


def _clinic_status_chart(people: pl.DataFrame) -> markupsafe.Markup:
    counts = people["status"].value_counts()
    count_of = dict(zip(counts["status"], counts["count"]))
    return _horizontal_bars(
        [style.label for _, style in _BY_URGENCY],
        [count_of.get(status, 0) for status, _ in _BY_URGENCY],
        [style.colour for _, style in _BY_URGENCY],
        "%{y}: %{x} licenses<extra></extra>",
        "chart-clinic-status",
    )


def _unmet_requirements_chart(publication: Publication) -> markupsafe.Markup | None:
    short = publication.compliance.filter(pl.col("status").is_in([*OPEN_STATUSES, "overdue"])).select(LICENSE_KEY)
    unmet = (
        publication.progress.filter(~pl.col("met"))
        .join(short, on=LICENSE_KEY, how="semi", nulls_equal=True)
        .group_by("requirement")
        .agg(licenses=pl.len())
        .sort(["licenses", "requirement"], descending=[True, False])
    )
    if unmet.is_empty():
        return None
    return _horizontal_bars(
        [_label(r.replace("_", " ")) for r in unmet["requirement"]],
        unmet["licenses"].to_list(),
        "#0072B2",
        "%{y}: unmet for %{x} licenses<extra></extra>",
        "chart-unmet-requirements",
    )


def _trend_chart(publication: Publication) -> markupsafe.Markup | None:
    trend = publication.compliance_trend.with_columns(evaluated=pl.col("licenses") - pl.col("not_evaluated")).filter(
        pl.col("evaluated") > 0
    )
    if trend.is_empty():
        return None
    line = {
        "type": "scatter",
        "mode": "lines+markers",
        "x": [d.isoformat() for d in trend["as_of_date"]],
        "y": (100 * (trend["compliant"] + trend["exempt"]) / trend["evaluated"]).round(1).to_list(),
        "line": {"color": "#009E73", "width": 3},
        "hovertemplate": "%{x}: %{y}% compliant<extra></extra>",
    }
    return _figure(
        [line],
        "chart-compliance-trend",
        height=260,
        xaxis={"type": "date" if trend.height > 1 else "category"},
        yaxis={"range": [0, 100], "ticksuffix": "%", "gridcolor": "#e5e7eb"},
    )


def _files_and_failed_checks(publication: Publication) -> list[dict]:
    """Each input file with its row counts, warnings and the checks its rows failed: "unmatched_clinician (13), ..."."""
    exceptions = publication.exceptions
    checks = (
        exceptions.group_by("source_file", "check")
        .agg(rows=pl.len())
        .sort(["source_file", "rows", "check"], descending=[False, True, False])
        .group_by("source_file", maintain_order=True)
        .agg(checks_failed=pl.format("{} ({})", "check", "rows").str.join(", "))
    )
    warnings = exceptions.filter(pl.col("action") == "warned").group_by("source_file").agg(warnings=pl.len())
    return (
        publication.input_files.join(checks, on="source_file", how="full", coalesce=True)
        .join(warnings, on="source_file", how="left")
        .with_columns(pl.col("warnings").fill_null(0), pl.col("checks_failed").fill_null(""))
        .sort("source_file")
        .to_dicts()
    )


def _still_needed(publication: Publication) -> pl.DataFrame:
    """The license key and `words`: its unmet requirements in words, categories first: "3 h ethics, 5 h total"."""
    return (
        publication.progress.filter(~pl.col("met"))
        .with_columns(shortfall=pl.col("required_hours") - pl.col("counted_hours"))
        .filter(pl.col("shortfall") > 0)
        .sort([*LICENSE_KEY, pl.col("requirement_order") == 0, "requirement_order"], nulls_last=True)
        .with_columns(
            words=pl.concat_str(
                exact_hours_text(pl.col("shortfall")),
                pl.lit(" h "),
                pl.col("requirement").replace_strict(
                    {r: requirement_label(r) for r in publication.progress.get_column("requirement").unique().to_list()}
                ),
            )
        )
        .group_by(LICENSE_KEY, maintain_order=True)
        .agg(pl.col("words").str.join(", "))
    )


def requirement_label(requirement: str) -> str:
    """A requirement's name in words: `once_hiv_aids` -> "one-time hiv aids", `listed_providers` -> "from listed providers"."""
    if requirement == "listed_providers":
        return "from listed providers"
    if requirement.startswith("once_"):
        return "one-time " + requirement.removeprefix("once_").replace("_", " ")
    return requirement.replace("_", " ")


@dataclasses.dataclass(frozen=True, slots=True)
class RequirementLine:
    label: str
    progress: str  # "2 of 5 h"
    met: bool
    waived_by: str | None
    origin: str | None  # where the requirement comes from, when not the entry itself ("role supervisor")


def _requirement_lines(publication: Publication) -> dict[tuple, list[RequirementLine]]:
    """License key -> every requirement but the total (shown on its own) with its progress, in the extract's order."""
    lines = publication.progress.filter(pl.col("requirement") != "total").select(
        *LICENSE_KEY,
        "requirement",
        "met",
        "waived_by",
        "origin",
        progress=pl.concat_str(exact_hours_text(pl.col("counted_hours")), pl.lit(" of "), exact_hours_text(pl.col("required_hours")), pl.lit(" h")),
    )
    found: dict[tuple, list[RequirementLine]] = {}
    for row in lines.iter_rows():
        found.setdefault(row[:4], []).append(RequirementLine(requirement_label(row[4]), row[8], row[5], row[6], row[7]))
    return found


def _applied_adjustments(publication: Publication) -> dict[tuple, list[str]]:
    """License key -> each applied adjustment in words, with its reference: the evidence beside the status."""
    words = publication.adjustments.filter(pl.col("applied")).select(
        *LICENSE_KEY,
        pl.concat_str(
            pl.col("kind").str.replace_all("_", " "),
            pl.lit(" "),
            pl.col("reference"),
            pl.when(pl.col("kind") == "extension").then(pl.lit(", until ") + pl.col("until").dt.to_string("%Y-%m-%d")),
            pl.when(pl.col("requirement").is_not_null()).then(pl.lit(", ") + pl.col("requirement")),
            pl.when(pl.col("hours").is_not_null()).then(pl.lit(", ") + exact_hours_text(pl.col("hours")) + pl.lit(" h")),
            ignore_nulls=True,
        ).alias("words"),
    )
    found: dict[tuple, list[str]] = {}
    for row in words.iter_rows():
        found.setdefault(row[:4], []).append(row[4])
    return found


@functools.cache
def _status_badge(status: str) -> markupsafe.Markup:
    """The badge macro's markup, rendered once per status rather than once for each of 100k rows."""
    return _templates.get_template("_macros.html").module.status_badge(STATUS_STYLES[status])


def _deadline_note(days: pl.Expr) -> pl.Expr:
    """"12 days overdue" (only where the status is overdue: a license met in time is not), "3 days ago", "today",
    "in 30 days", "in 1 day"; empty without a deadline."""
    unit = pl.when(days.abs() == 1).then(pl.lit("day")).otherwise(pl.lit("days"))
    return (
        pl.when((days < 0) & (pl.col("status") == "overdue"))
        .then(pl.format("{} {} overdue", -days, unit))
        .when(days < 0)
        .then(pl.format("{} {} ago", -days, unit))
        .when(days == 0)
        .then(pl.lit("today"))
        .otherwise(pl.format("in {} {}", days, unit))
        .fill_null("")
    )


def _still_needed_text(words: pl.Expr) -> pl.Expr:
    """What a license still needs, in words: nothing, its unmet requirements by (or since) the deadline, else
    why it has no status."""
    return (
        pl.when(pl.col("status") == "compliant")
        .then(pl.lit("Nothing: every requirement met"))
        .when(pl.col("status").is_in([*OPEN_STATUSES, "overdue"]) & words.is_not_null() & (words != ""))
        .then(
            pl.when(pl.col("status") == "overdue")
            .then(pl.format("{}: overdue since {}, as soon as possible", words, pl.col("deadline").dt.to_string("%Y-%m-%d")))
            .otherwise(pl.format("{} by {}", words, pl.col("deadline").dt.to_string("%Y-%m-%d").fill_null("")))
        )
        .otherwise(pl.col("status_reason").fill_null(""))
    )


def _person_name(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


@dataclasses.dataclass(slots=True)
class PersonRow:
    """One license on a clinic page. Attributes rather than a dict: Jinja tries attribute access first, and a
    failed one (an exception) for each of ~15 fields on 100k rows costs seconds."""

    anchor: str  # the row's id: the overview's who-to-chase list links to it
    name: str
    page: str  # the link to the person's page from the site's folder: people/<employee_id>.html
    job_title: str
    license: str
    license_number: str
    status: str
    badge: markupsafe.Markup
    deadline: str
    deadline_note: str
    hours: str
    still_needed: str
    plan: LicensePlan | None
    caveat: str
    expired: str  # "expired on 2026-09-30: renewal not recorded in the roster", or empty
    requirements: list[RequirementLine]
    adjustments: list[str]
    carried: str  # "5 h carried from the previous cycle", or empty
    rule_version: str  # the rules entry's effective date, or empty
    extended_from: str  # the cycle end an extension moved the deadline from, or empty
    sort_name: str
    sort_status: str
    sort_deadline: str


def _person_fields(people: pl.DataFrame, needed: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The columns a clinic page and a personal page show, with hours, deadline and what is still needed
    already as text (cheaper than Decimal and date objects row by row); `needed` is `_still_needed`'s."""
    return people.join(needed, on=LICENSE_KEY, how="left", nulls_equal=True, maintain_order="left").select(
        *LICENSE_KEY,
        "first_name",
        "last_name",
        "job_title",
        "status",
        "status_reason",
        "days_remaining",
        "rule_not_modeled",
        anchor=license_anchor(),
        expired=expired_note(as_of),
        deadline=pl.col("deadline").dt.to_string("%Y-%m-%d").fill_null(""),
        extended_from=pl.when(pl.col("deadline") > pl.col("cycle_end")).then(pl.col("cycle_end").dt.to_string("%Y-%m-%d")).otherwise(pl.lit("")),
        carried=pl.when(pl.col("carried_hours") > 0)
        .then(exact_hours_text(pl.col("carried_hours")) + pl.lit(" h carried from the previous cycle"))
        .otherwise(pl.lit("")),
        rule_version=pl.col("rule_effective_date").dt.to_string("%Y-%m-%d").fill_null(""),
        deadline_note=_deadline_note(pl.col("days_remaining")),
        still_needed=_still_needed_text(pl.col("words")),
        hours=pl.when(pl.col("required_hours").is_not_null())
        .then(
            pl.concat_str(
                exact_hours_text(pl.col("counted_hours")).fill_null("0"),
                pl.lit(" of "),
                exact_hours_text(pl.col("required_hours")),
                pl.lit(" h"),
            )
        )
        .otherwise(pl.lit("")),
    )


def _person_rows(
    fields: pl.DataFrame,
    plans: dict[tuple, LicensePlan],
    requirements: dict[tuple, list[RequirementLine]],
    adjustments: dict[tuple, list[str]],
) -> list[PersonRow]:
    """A clinic page's rows, most urgent first, from its licenses' `_person_fields`."""
    rows = []
    for person in fields.iter_rows(named=True):
        status = person["status"]
        deadline = person["deadline"]
        key = tuple(person[k] for k in LICENSE_KEY)
        rows.append(
            PersonRow(
                anchor=person["anchor"],
                name=_person_name(person["first_name"], person["last_name"]),
                page=f"people/{urllib.parse.quote(person_page(person['employee_id']))}",
                job_title=person["job_title"] or "",
                license=" ".join(filter(None, (person["license_type"], person["license_state"]))),
                license_number=person["license_number"] or "",
                status=status,
                badge=_status_badge(status),
                deadline=deadline,
                deadline_note=person["deadline_note"],
                hours=person["hours"],
                still_needed=person["still_needed"],
                plan=plans.get(key),
                caveat=person["rule_not_modeled"] or "",
                expired=person["expired"],
                requirements=requirements.get(key, []),
                adjustments=adjustments.get(key, []),
                carried=person["carried"],
                rule_version=person["rule_version"],
                extended_from=person["extended_from"],
                sort_name=f"{person['last_name'] or ''} {person['first_name'] or ''}".casefold(),
                sort_status=f"{STATUS_STYLES[status].urgency}|{deadline or '9999-12-31'}",
                sort_deadline=deadline or "9999-12-31",
            )
        )
    return sorted(rows, key=lambda row: (row.sort_status, row.sort_name))


@dataclasses.dataclass(frozen=True, slots=True)
class ChasedPerson:
    name: str
    href: str  # their row on their clinic page, or the data-quality panel for people on no page
    clinic: str
    license: str
    what: str


@dataclasses.dataclass(frozen=True)
class ChaseList:
    key: str
    title: str
    meaning: str
    total: int
    people: list[ChasedPerson]  # the first CHASED_PER_LIST, most urgent first

    @property
    def more(self) -> int:
        return self.total - len(self.people)


def _not_shown_because() -> pl.Expr:
    """The checks that quarantined a roster row, in the overview's words."""
    return pl.col("checks").str.split(";").list.eval(pl.element().replace(NOT_SHOWN_BECAUSE)).list.join("; ")


def _license_words() -> pl.Expr:
    return pl.concat_str(pl.col("license_type"), pl.col("license_state"), separator=" ", ignore_nulls=True)


def _chase_list(key: str, title: str, meaning: str, rows: pl.DataFrame, what: Callable[[dict], str]) -> ChaseList:
    return ChaseList(
        key,
        title,
        meaning,
        rows.height,
        [
            ChasedPerson(_person_name(r["first_name"], r["last_name"]) or "(no name)", r["href"], r["clinic"] or "", r["license"], what(r))
            for r in rows.head(CHASED_PER_LIST).iter_rows(named=True)
        ],
    )


def who_to_chase(publication: Publication, slugs: dict[str, str], needed: pl.DataFrame) -> list[ChaseList]:
    """The people the overview names, by what to chase them for; each links to their row on their clinic page."""
    as_of = publication.as_of_date
    licenses = (
        publication.compliance.join(needed, on=LICENSE_KEY, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(
            href=pl.format("clinics/{}.html#{}", pl.col("clinic").replace_strict(slugs, default=""), license_anchor()),
            license=_license_words(),
            expired=expired_note(as_of),
            deadline_text=pl.col("deadline").dt.to_string("%Y-%m-%d"),
            deadline_note=_deadline_note(pl.col("days_remaining")),
        )
        .sort("last_name", "first_name", *LICENSE_KEY, nulls_last=True)
    )

    def still_needs(r: dict) -> str:
        return f"; still needs {r['words']}" if r["words"] else ""

    overdue = licenses.filter(pl.col("status") == "overdue").sort("deadline", maintain_order=True)
    soon = licenses.filter(pl.col("status").is_in(OPEN_STATUSES) & pl.col("days_remaining").is_between(0, CHASE_SOON_DAYS))
    expired = licenses.filter(pl.col("expired") != "").sort("license_expiration_date", maintain_order=True)
    not_evaluated = licenses.filter(pl.col("status") == "not_evaluated")
    not_shown = publication.roster_rows_not_shown.with_columns(
        href=pl.lit("#not-shown"),
        license=_license_words(),
        why=_not_shown_because(),
    )
    return [
        _chase_list("overdue", "Overdue", "the deadline passed with hours missing", overdue,
                    lambda r: f"overdue since {r['deadline_text']}{still_needs(r)}"),  # fmt: skip
        _chase_list("expired", "License expired", "the roster's expiration date has passed, whatever the status", expired,
                    lambda r: f"{r['expired']} ({STATUS_STYLES[r['status']].label.lower()})"),  # fmt: skip
        _chase_list("soon", f"Deadline within {CHASE_SOON_DAYS} days", "hours still missing", soon.sort("days_remaining", maintain_order=True),
                    lambda r: f"deadline {r['deadline_text']} ({r['deadline_note']}){still_needs(r)}"),  # fmt: skip
        _chase_list("not-evaluated", "Not evaluated", "no status can be computed until this is fixed", not_evaluated,
                    lambda r: r["status_reason"] or ""),  # fmt: skip
        _chase_list("not-shown", "Not on any page", "the data-quality rules quarantined their roster row", not_shown,
                    lambda r: f"{r['why']} ({r['source_file']} row {r['source_row']}); {r['unmatched_credits']} credit(s) match no one"),  # fmt: skip
    ]


def _not_shown_summary(publication: Publication) -> list[dict]:
    """"2 people not shown: roster row without a clinic", per reason, with who."""
    rows = publication.roster_rows_not_shown.with_columns(why=_not_shown_because())
    return [
        {"why": why, "rows": group.to_dicts(), "unmatched_credits": group["unmatched_credits"].sum()}
        for (why,), group in rows.group_by("why", maintain_order=True)
    ]


def _rows_per_check(publication: Publication) -> list[dict]:
    """The rows each check lists in data_quality_exceptions: the counts its asset check and the command line give."""
    return (
        publication.exceptions.group_by("check", "action")
        .agg(rows=pl.len(), files=pl.col("source_file").n_unique())
        .sort(["rows", "check"], descending=[True, False])
        .to_dicts()
    )


def _page_context(publication: Publication) -> dict:
    """What every page shows in its header: the as-of date and when the data was produced."""
    return {
        "as_of": publication.as_of_date.isoformat(),
        "generated_at": publication.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "run_id": publication.run_id,
        "status_styles": STATUS_STYLES,
        "status_order": [status for status, _ in _BY_URGENCY],
        "page_rows": PAGE_ROWS,
    }


class SiteRenderer:
    """Renders the pages of one publication; the shared aggregations are computed once."""

    def __init__(self, publication: Publication):
        self.publication = publication
        self.slugs = clinic_slugs(publication.compliance["clinic"])
        self._needed = _still_needed(publication)
        self._by_clinic = publication.compliance.partition_by("clinic", as_dict=True, maintain_order=True)
        # Once for every license, then split: per clinic, each of hundreds of clinics joined all of `_needed`.
        fields = _person_fields(publication.compliance, self._needed, publication.as_of_date)
        self._fields_by_clinic = fields.with_columns(publication.compliance.get_column("clinic")).partition_by(
            "clinic", as_dict=True, maintain_order=True, include_key=False
        )
        self._plans = license_plans(publication)
        self._requirements = _requirement_lines(publication)
        self._adjustments = _applied_adjustments(publication)
        self._nothing_evaluable = nothing_evaluable(publication.compliance)
        self._training_costs = training_costs(publication, set(self._nothing_evaluable))
        self._top_courses = top_courses(publication)

    def _plan_context(self) -> dict:
        return {
            "has_catalog": self.publication.has_course_catalog,
            "budget_per_clinician": money_text(self.publication.training_budget_per_clinician),
            "currency": self.publication.currency,
            "top_courses": self._top_courses,
        }

    def clinics(self) -> list[tuple[str, str, pl.DataFrame]]:
        """(clinic, slug, its rows of clinician_compliance) for every clinic, in name order."""
        return [(clinic, slug, self._by_clinic[(clinic,)]) for clinic, slug in self.slugs.items()]

    def clinic_page(self, clinic: str, people: pl.DataFrame) -> str:
        return _templates.get_template("clinic.html").render(
            **_page_context(self.publication),
            root="../",
            clinic=clinic,
            slug=self.slugs[clinic],
            headline=_headline(people),
            people=_person_rows(self._fields_by_clinic[(clinic,)], self._plans, self._requirements, self._adjustments),
            nothing_evaluable=self._nothing_evaluable.get(clinic),
            status_chart=_clinic_status_chart(people),
            training_costs=[c for c in self._training_costs if c["clinic"] == clinic],
            **self._plan_context(),
        )

    def overview_page(self, downloads: list[Download]) -> str:
        publication = self.publication
        compliance = publication.compliance
        by_clinic = _status_counts(compliance, "clinic").with_columns(
            slug=pl.col("clinic").replace_strict(self.slugs)
        )
        charted = by_clinic
        if by_clinic.height > CLINICS_CHARTED:
            charted = by_clinic.sort(
                [pl.col("overdue") + pl.col("at_risk"), "clinic"], descending=[True, False]
            ).head(CLINICS_CHARTED)
        # A license whose type is missing is kept as not evaluated (docs/data_quality.md).
        by_license_type = _status_counts(
            compliance.with_columns(pl.col("license_type").fill_null("(type missing)")), "license_type"
        )
        return _templates.get_template("overview.html").render(
            **_page_context(publication),
            root="",
            headline=_headline(compliance) if compliance.height else None,
            chase=who_to_chase(publication, self.slugs, self._needed),
            not_shown=_not_shown_summary(publication),
            rows_per_check=_rows_per_check(publication),
            nothing_evaluable=self._nothing_evaluable,
            clinics=by_clinic.to_dicts(),
            clinics_charted=charted.height,
            clinic_chart=_status_bars(charted, "clinic", "chart-status-by-clinic") if charted.height else None,
            license_type_chart=(
                _status_bars(by_license_type, "license_type", "chart-status-by-license-type")
                if by_license_type.height
                else None
            ),
            deadline_windows=DEADLINE_WINDOWS_DAYS,
            unmet_chart=_unmet_requirements_chart(publication),
            trend_chart=_trend_chart(publication),
            rejected_files=publication.input_files.filter(pl.col("status") == "rejected").to_dicts(),
            adjustments_not_applied=publication.adjustments.filter(~pl.col("applied")).to_dicts(),
            files=_files_and_failed_checks(publication),
            providers=publication.provider_freshness.to_dicts(),
            downloads=downloads,
            training_costs=self._training_costs,
            **self._plan_context(),
        )

"""The extracts of a published site, each declared once, and the CSV writer and `manifest.json`.

An `Extract` says everything about one extract: its name (`<name>.csv`, and its sheet of
`ce_compliance.xlsx`), what it holds (the site's download list), its query (`reports/sql/<name>.sql`), its
columns in their order, its row order, whether it is read in batches, and which columns are costs. The
publication reads each query (`reports.publication`), the CSV writer, the workbook (`reports.workbook`),
the manifest and the download list (`reports.site`) all walk `SITE_EXTRACTS`: adding an extract is one
declaration there (and its query file).

CSV cells are written so that a spreadsheet shows exactly what the warehouse holds: UTF-8 with a
byte-order mark (what Excel's "CSV UTF-8" writes, so that Excel reads `Tomás` as such), LF line endings,
hours as exact decimals without trailing zeros ("10", "3.3"), ISO dates, `true`/`false`, NULL as an empty
cell, and text that a spreadsheet would run as a formula prefixed with `'`. The same frames give
byte-identical files.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import pathlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import polars as pl

from pipelines.hashing import sha256_of

if TYPE_CHECKING:
    from reports.publication import Publication

LICENSE_KEY = ("employee_id", "license_state", "license_type", "license_number")
UTF8_BOM = b"\xef\xbb\xbf"


@functools.cache
def read_query(name: str) -> str:
    """`reports/sql/<name>.sql`, the query of the extract of that name."""
    return importlib.resources.files("reports").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


@dataclasses.dataclass(frozen=True)
class Extract:
    name: str  # the file is <name>.csv, the workbook's sheet <name>
    description: str  # what a row is, for the site's download list
    columns: tuple[str, ...]  # the file's columns, in order; the query may select more, for the pages
    order: tuple[str, ...]  # the rows' order: SQL order terms over the query's columns, so that no two rows tie
    query: str  # a select without `order by`
    streams: bool = False  # read in batches while written (never held in memory whole): the pages do not show it
    money: tuple[str, ...] = ()  # columns holding costs, in the configured currency

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def sql(self) -> str:
        return f"{self.query.rstrip()}\norder by {', '.join(self.order)}\n"


CLINICIAN_COMPLIANCE = Extract(
    name="clinician_compliance",
    description="one row per license: status, deadline and hours",
    columns=(
        "as_of_date", "employee_id", "first_name", "last_name", "clinic", "license_type", "license_state",
        "license_number", "cycle_start", "cycle_end", "days_remaining", "required_hours", "counted_hours",
        "hours_remaining", "unmet_requirements", "status", "status_reason", "deadline", "carried_hours",
        "rule_effective_date",
    ),
    order=LICENSE_KEY,
    query=read_query("clinician_compliance"),
)
CREDIT_LEDGER = Extract(
    name="credit_ledger",
    description="every credit considered for every license, with the decision and its reason",
    columns=(
        *LICENSE_KEY, "course_id", "course_title", "provider", "accreditation", "completion_date", "hours",
        "category", "delivery", "counted_hours", "decision", "reason", "source_file", "source_row",
        "counts_toward", "first_name", "last_name", "clinic",
    ),
    order=(*LICENSE_KEY, "completion_date", "source_file", "source_row"),
    query=read_query("credit_ledger"),
    # At 100k clinicians its 4M rows would take more memory than everything else the site shows.
    streams=True,
)
SITE_EXTRACTS: tuple[Extract, ...] = (
    CLINICIAN_COMPLIANCE,
    Extract(
        name="requirement_progress",
        description="each license's requirements (total, categories, one-time topics, listed providers), whether each is met, and any waiver",
        columns=(*LICENSE_KEY, "requirement", "required_hours", "counted_hours", "met", "waived_by"),
        order=(*LICENSE_KEY, "requirement_order", "requirement"),  # `total` first, then the others by name
        query=read_query("requirement_progress"),
    ),
    CREDIT_LEDGER,
    Extract(
        name="adjustments",
        description="every board extension, waiver, exemption, prior completion and certified carry-over on file, applied or why not",
        columns=(
            *LICENSE_KEY, "kind", "requirement", "hours", "until", "reference", "applied", "why_not", "source_file",
            "source_row",
        ),
        order=("employee_id", "license_state", "license_type", "source_file", "source_row"),
        query=read_query("adjustments"),
    ),
    Extract(
        name="data_quality_exceptions",
        description="every input row or file that failed a check, and what was done with it",
        columns=("source_file", "source_row", "check", "column", "value", "message", "action"),
        # whole-file rejections first within a file; value, message and action so that no two rows tie
        order=("source_file", "source_row nulls first", '"check"', '"column"', "value", "message", "action"),
        query=read_query("data_quality_exceptions"),
    ),
    Extract(
        name="learning_plans",
        description="per person with a gap, the catalog courses that close it at least cost",
        columns=(
            "employee_id", "first_name", "last_name", "clinic", "course_id", "course_title", "provider",
            "accreditation", "hours", "category", "delivery", "cost", "licenses", "complete_by",
        ),
        order=("employee_id", "complete_by", "course_id"),
        query=read_query("learning_plans"),
        money=("cost",),
    ),
    Extract(
        name="learning_plan_status",
        description="per license with a gap, whether its plan closes it, or what no course can meet",
        columns=(*LICENSE_KEY, "plan", "reason"),
        order=LICENSE_KEY,
        query=read_query("learning_plan_status"),
    ),
)
# Written by the notify step into the site it published before (pipelines/notifications/run.py), so it is in
# the manifest but neither in the workbook nor in the download list the pages were built with.
NOTIFICATIONS = Extract(
    name="notifications",
    description="every reminder, overdue notice and digest of the as-of date, and what became of it",
    columns=(
        "as_of_date", "kind", "recipient", "employee_id", "clinic", "licenses", "threshold_days", "status",
        "message_id", "error",
    ),
    order=("kind", "recipient", "employee_id", "clinic"),
    query=read_query("notifications"),
)
MANIFEST = "manifest.json"
RULES_COPY = "rules.yaml"  # the rules catalog in force, beside the extracts

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = r"^[=+\-@\t\r]"


def exact_hours_text(hours: pl.Expr) -> pl.Expr:
    """A decimal as its shortest exact text: 10.0000 -> "10", 3.3000 -> "3.3", 0.2500 -> "0.25"."""
    text = hours.cast(pl.String)
    shortest = text.str.strip_chars_end("0").str.strip_suffix(".")
    return pl.when(text.str.contains(".", literal=True)).then(shortest).otherwise(text)


def _neutralised(column: str) -> pl.Expr:
    text = pl.col(column)
    return pl.when(text.str.contains(_FORMULA_START)).then(pl.lit("'") + text).otherwise(text).alias(column)


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells neutralised, decimals exact; numbers, dates and booleans keep their own form."""
    return frame.with_columns(
        *(_neutralised(name) for name, dtype in frame.schema.items() if dtype == pl.String),
        *(exact_hours_text(pl.col(name)) for name, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)),
    )


def write_csv(frames: Iterable[pl.DataFrame], columns: tuple[str, ...], path: pathlib.Path) -> int:
    """Write `columns` of the frames, one after another, as one CSV (UTF-8 with a byte-order mark, LF line
    endings); returns the number of rows. The header comes from the first frame, so there must be one, if empty."""
    rows = 0
    with path.open("wb") as file:
        file.write(UTF8_BOM)
        for index, frame in enumerate(frames):
            spreadsheet_safe(frame.select(columns)).write_csv(file, include_header=index == 0, line_terminator="\n")
            rows += frame.height
    return rows


def write_extracts(publication: Publication, directory: pathlib.Path) -> dict[str, int]:
    """Each of the publication's extracts as `<name>.csv` in `directory` (the plans' too, empty without a
    course catalog); returns rows per file name."""
    return {
        extract.file: write_csv(publication.batches(extract), extract.columns, directory / extract.file)
        for extract in publication.extracts
    }


def write_rules_copy(publication: Publication, directory: pathlib.Path) -> pathlib.Path:
    """`rules.yaml`: the bytes of the rules catalog the run evaluated with, so that the download alone
    re-derives every status (its SHA-256 is the manifest's)."""
    path = directory / RULES_COPY
    path.write_bytes(publication.rules_catalog_data)
    return path


def manifest_output(directory: pathlib.Path, file: str, rows: int) -> dict:
    """One entry of the manifest's `outputs`: a file of the site (relative path), its SHA-256 and its data rows."""
    return {"file": file, "sha256": sha256_of(directory / file), "rows": rows}


def write_manifest(publication: Publication, directory: pathlib.Path, rows: Mapping[str, int]) -> pathlib.Path:
    """`manifest.json`: what this site was built from (rules catalog, input files) and what it holds: `rows`
    names each output file (relative to `directory`) with its number of data rows."""
    inputs = []
    for row in publication.input_files.iter_rows(named=True):
        entry = {
            "file": row["source_file"],
            "sha256": row["sha256"],
            "status": row["status"],
            "rows_read": row["rows_read"],
            "rows_accepted": row["rows_accepted"],
            "rows_quarantined": row["rows_quarantined"],
        }
        if row["status"] == "rejected":
            entry["reason"] = row["reason"]
        inputs.append(entry)
    manifest = {
        "as_of_date": publication.as_of_date.isoformat(),
        "generated_at": publication.generated_at_iso,
        "run_id": publication.run_id,
        "rules_catalog": {"path": RULES_COPY, "version": publication.rules_catalog_version, "sha256": publication.rules_catalog_sha256},
        "inputs": sorted(inputs, key=lambda entry: entry["file"]),
        "outputs": [manifest_output(directory, file, rows[file]) for file in sorted(rows)],
    }
    path = directory / MANIFEST
    path.write_text(manifest_text(manifest), encoding="utf-8")
    return path


def manifest_text(manifest: dict) -> str:
    """The manifest as written: keys sorted, two-space indents, non-ASCII kept."""
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

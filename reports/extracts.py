"""The CSV extracts and `manifest.json` of a published site (docs/outputs.md).

Each extract holds its documented columns in their order, in the row order its frames were loaded in (see
`reports.publication`). Cells are written so that a spreadsheet shows exactly what the warehouse holds:
hours as exact decimals without trailing zeros ("10", "3.3"), ISO dates, `true`/`false`, NULL as an
empty cell, and text that a spreadsheet would run as a formula prefixed with `'`. The same frames give
byte-identical files.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterable

import polars as pl

from pipelines.hashing import sha256_of
from reports.publication import Publication

EXTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "clinician_compliance.csv": (
        "as_of_date",
        "employee_id",
        "first_name",
        "last_name",
        "clinic",
        "license_type",
        "license_state",
        "license_number",
        "cycle_start",
        "cycle_end",
        "days_remaining",
        "required_hours",
        "counted_hours",
        "hours_remaining",
        "unmet_requirements",
        "status",
        "status_reason",
        "deadline",
        "carried_hours",
        "rule_effective_date",
    ),
    "requirement_progress.csv": (
        "employee_id",
        "license_state",
        "license_type",
        "license_number",
        "requirement",
        "required_hours",
        "counted_hours",
        "met",
        "waived_by",
    ),
    "credit_ledger.csv": (
        "employee_id",
        "license_state",
        "license_type",
        "license_number",
        "course_id",
        "course_title",
        "provider",
        "accreditation",
        "completion_date",
        "hours",
        "category",
        "delivery",
        "counted_hours",
        "decision",
        "reason",
        "source_file",
        "source_row",
        "counts_toward",
        "first_name",
        "last_name",
        "clinic",
    ),
    "adjustments.csv": (
        "employee_id",
        "license_state",
        "license_type",
        "license_number",
        "kind",
        "requirement",
        "hours",
        "until",
        "reference",
        "applied",
        "why_not",
        "source_file",
        "source_row",
    ),
    "data_quality_exceptions.csv": ("source_file", "source_row", "check", "column", "value", "message", "action"),
    "learning_plans.csv": (
        "employee_id",
        "first_name",
        "last_name",
        "clinic",
        "course_id",
        "course_title",
        "provider",
        "accreditation",
        "hours",
        "category",
        "delivery",
        "cost",
        "licenses",
        "complete_by",
    ),
    "learning_plan_status.csv": ("employee_id", "license_state", "license_type", "license_number", "plan", "reason"),
}
MANIFEST = "manifest.json"

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
    """Write `columns` of the frames, one after another, as one UTF-8 CSV with LF line endings; returns the
    number of rows. The header comes from the first frame, so there must be one, if empty."""
    rows = 0
    with path.open("wb") as file:
        for index, frame in enumerate(frames):
            spreadsheet_safe(frame.select(columns)).write_csv(file, include_header=index == 0, line_terminator="\n")
            rows += frame.height
    return rows


def write_extracts(publication: Publication, directory: pathlib.Path) -> dict[str, int]:
    """The extracts in `directory` (the plans' too, empty without a course catalog); returns rows per file name."""
    frames = {
        "clinician_compliance.csv": [publication.compliance],
        "requirement_progress.csv": [publication.progress],
        "credit_ledger.csv": publication.ledger,
        "adjustments.csv": [publication.adjustments],
        "data_quality_exceptions.csv": [publication.exceptions],
        "learning_plans.csv": [publication.learning_plans],
        "learning_plan_status.csv": [publication.learning_plan_status],
    }
    return {name: write_csv(batches, EXTRACT_COLUMNS[name], directory / name) for name, batches in frames.items()}


def write_manifest(publication: Publication, directory: pathlib.Path, rows: dict[str, int]) -> pathlib.Path:
    """`manifest.json`: what this site was built from (rules catalog, input files) and what it holds."""
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
        "rules_catalog": publication.rules_catalog,
        "inputs": sorted(inputs, key=lambda entry: entry["file"]),
        "outputs": [
            {"file": name, "sha256": sha256_of(directory / name), "rows": rows[name]} for name in sorted(rows)
        ],
    }
    path = directory / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path

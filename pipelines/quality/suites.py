"""The data-quality contract (docs/data_quality.md), declared as expectations.

Each input has one suite (credits two: see credit_validation.py). A failing row of a `quarantined` expectation leaves the canonical table
and is listed with the check it failed; a `warned` row stays and is listed too. `judge_findings` is
the one place that turns the suites' failing rows into quarantined rows and exception rows.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.ingestion import case_folded
from pipelines.names import clinic_key
from pipelines.notifications.settings import ADDRESS_PATTERN
from pipelines.quality.gx_runner import RowExpectation, SuiteResult
from pipelines.settings import ADJUSTMENT_KINDS, HOURS_PER_CEU

QUARANTINED, WARNED = "quarantined", "warned"
US_STATE_CODE = r"^[A-Z]{2}$"
EMAIL_SHAPE = rf"^\s*{ADDRESS_PATTERN}\s*$"  # one address a reminder can go to, blanks around it aside
# No board publishes a number format we could verify, so only the shape every one shares: letters,
# digits and separators, at least one digit ("n/a", "pending" or "see file" are not numbers).
LICENSE_NUMBER_SHAPE = r"^(?=.*[0-9])[A-Za-z0-9][A-Za-z0-9 .\-/]{0,29}$"
EMPLOYMENT_STATUSES = ["active", "leave", "terminated"]
MAX_CREDIT_HOURS = 100
EARLIEST_PLAUSIBLE_DATE = dt.date(1950, 1, 1)

EXCEPTION_SCHEMA = {
    "source_file": pl.String,
    "source_row": pl.Int64,
    "check": pl.String,
    "column": pl.String,
    "value": pl.String,
    "message": pl.String,
    "action": pl.String,
}


def _not_null(check: str, column: str, action: str, message: str) -> RowExpectation:
    return RowExpectation(check, column, "ExpectColumnValuesToNotBeNull", {"column": column}, action, message)


def _flag_false(check: str, flag: str, column: str, action: str, message: str) -> RowExpectation:
    """A row-level predicate computed beforehand (a boolean column) that must be false."""
    return RowExpectation(check, column, "ExpectColumnValuesToBeInSet", {"column": flag, "value_set": [False]}, action, message)


def roster_expectations() -> list[RowExpectation]:
    return [
        _not_null("missing_employee_id", "employee_id", QUARANTINED, "employee_id is required: the HR key of the person"),
        _not_null("missing_clinic", "clinic", QUARANTINED, "clinic is required: the site the person works at"),
        _flag_false(
            "duplicate_roster_row",
            "is_superseded",
            "employee_id",
            QUARANTINED,
            "the same employee_id + license_state + license_type appears more than once; the row with the later license_expiration_date is kept",
        ),
        _not_null("missing_license_type", "license_type", WARNED, "license_type is required to evaluate the license; evaluated as not_evaluated"),
        _not_null("missing_license_state", "license_state", WARNED, "license_state is required to evaluate the license; evaluated as not_evaluated"),
        RowExpectation(
            "invalid_license_state", "license_state", "ExpectColumnValuesToMatchRegex",
            {"column": "license_state", "regex": US_STATE_CODE}, WARNED, "license_state must be a two-letter US state code",
        ),
        _not_null("missing_license_number", "license_number", WARNED, "license_number is required to evaluate the license; evaluated as not_evaluated"),
        _flag_false(
            "shared_license_number", "is_shared_license", "license_number", WARNED,
            "another employee_id lists the same license_state + license_number; credits reported by license number go to "
            "the smallest of their employee_ids only",
        ),
        _flag_false(
            "clinic_spelt_differently", "is_clinic_spelt_otherwise", "clinic", WARNED,
            "other roster rows spell this clinic with other capitals or blanks: each spelling gets its own clinic page, "
            "while a manager's access and digest take them together; spell it one way",
        ),
        _not_null(
            "invalid_license_expiration_date", "license_expiration_date", WARNED,
            "license_expiration_date is missing or not a date in the roster's date_format; evaluated as not_evaluated",
        ),
        RowExpectation(
            "implausible_license_expiration_date", "license_expiration_date", "ExpectColumnValuesToBeBetween",
            {"column": "license_expiration_date", "min_value": EARLIEST_PLAUSIBLE_DATE, "max_value": dt.date(2100, 12, 31)},
            WARNED, "license_expiration_date should lie between 1950 and 2100",
        ),
        _flag_false("invalid_license_issue_date", "issue_date_unreadable", "license_issue_date", WARNED,
                    "license_issue_date is not a date in the roster's date_format; first-renewal rules cannot apply"),
        _flag_false("invalid_termination_date", "termination_date_unreadable", "termination_date", WARNED,
                    "termination_date is not a date in the roster's date_format; the person is treated as still employed"),
        _not_null("missing_first_name", "first_name", WARNED, "first_name is required"),
        _not_null("missing_last_name", "last_name", WARNED, "last_name is required"),
        RowExpectation(
            "unknown_employment_status", "employment_status", "ExpectColumnValuesToBeInSet",
            {"column": "employment_status", "value_set": EMPLOYMENT_STATUSES}, WARNED,
            "employment_status should be one of active, leave, terminated",
        ),
        RowExpectation(
            "invalid_email", "email", "ExpectColumnValuesToMatchRegex",
            {"column": "email", "regex": EMAIL_SHAPE}, WARNED, "email is not one address such as name@example.org: the person gets no reminder",
        ),
        RowExpectation(
            "implausible_license_number", "license_number", "ExpectColumnValuesToMatchRegex",
            {"column": "license_number", "regex": LICENSE_NUMBER_SHAPE}, WARNED,
            "license_number should be letters, digits and . - / with at least one digit; board credits cannot match it otherwise",
        ),
    ]


def credit_file_expectations() -> list[RowExpectation]:
    """The credit checks that depend on a file's rows alone: run once per file version."""
    return [
        _flag_false("missing_person_key", "lacks_person_key", "person_key", QUARANTINED,
                    "a credit needs license_state + license_number, employee_id or email to name its clinician"),
        _not_null("invalid_completion_date", "completion_date", QUARANTINED,
                  "completion date is missing or not a date in the provider's date_format"),
        RowExpectation(
            "implausible_completion_date", "completion_date", "ExpectColumnValuesToBeBetween",
            {"column": "completion_date", "min_value": EARLIEST_PLAUSIBLE_DATE}, QUARANTINED,
            f"completion date must not be before {EARLIEST_PLAUSIBLE_DATE.isoformat()}",
        ),
        _not_null("unknown_credit_unit", "credit_unit", QUARANTINED, "credit unit must be hours or CEU (10 contact hours)"),
        # a row of an unknown unit has no hours either: it is quarantined for its unit alone
        _flag_false("invalid_hours", "hours_unreadable", "hours", QUARANTINED, "hours must be a number"),
        RowExpectation(
            "hours_out_of_range", "hours", "ExpectColumnValuesToBeBetween",
            {"column": "hours_float", "min_value": 0, "strict_min": True, "max_value": MAX_CREDIT_HOURS}, QUARANTINED,
            f"hours must be more than 0 and at most {MAX_CREDIT_HOURS} contact hours",
        ),
        _not_null("unknown_category", "category", WARNED,
                  "category is missing or not in the vocabulary after the provider's categories map; counted as general"),
        _not_null("unknown_delivery", "delivery", WARNED,
                  "delivery is missing or not live, live_online or self_study after the provider's delivery map; treated as self_study"),
        RowExpectation(
            "invalid_license_state", "license_state", "ExpectColumnValuesToMatchRegex",
            {"column": "license_state", "regex": US_STATE_CODE}, WARNED, "license_state must be a two-letter US state code",
        ),
        _flag_false("duplicate_row", "repeats_an_earlier_row", "course_title", WARNED,
                    "the same row appears earlier in this file (a resend?); the ledger counts one of them"),
    ]


def credit_context_expectations(as_of: dt.date) -> list[RowExpectation]:
    """The credit checks that depend on the run: its as-of date and its roster."""
    return [
        RowExpectation(
            "completion_date_after_as_of", "completion_date", "ExpectColumnValuesToBeBetween",
            {"column": "completion_date", "max_value": as_of}, QUARANTINED,
            f"completion date must not be after the as-of date {as_of.isoformat()}",
        ),
        RowExpectation(
            "unmatched_clinician", "person_key", "ExpectColumnValuesToNotBeNull", {"column": "person_id"}, WARNED,
            "no roster person matches this credit's license, employee_id or email; it counts for no one",
        ),
    ]


def course_catalog_expectations() -> list[RowExpectation]:
    return [
        _not_null("missing_course_id", "course_id", QUARANTINED, "course_id is required: it names the course in every plan"),
        _flag_false("duplicate_course_id", "is_repeated_course_id", "course_id", QUARANTINED,
                    "the same course_id appears more than once in the catalog; the first row (by file, then row) is kept"),
        _not_null("invalid_hours", "hours", QUARANTINED, "hours must be a number of contact hours"),
        RowExpectation(
            "hours_out_of_range", "hours", "ExpectColumnValuesToBeBetween",
            {"column": "hours_float", "min_value": 0, "strict_min": True, "max_value": MAX_CREDIT_HOURS}, QUARANTINED,
            f"hours must be more than 0 and at most {MAX_CREDIT_HOURS} contact hours",
        ),
        _not_null("invalid_cost", "cost", QUARANTINED, "cost must be a number in the organisation's currency"),
        RowExpectation(
            "negative_cost", "cost", "ExpectColumnValuesToBeBetween",
            {"column": "cost_float", "min_value": 0}, QUARANTINED, "cost must be 0 or more",
        ),
        _not_null("unknown_category", "category", WARNED,
                  "category is missing or not in the vocabulary after the catalog's categories map; counted as general"),
        _not_null("unknown_delivery", "delivery", WARNED,
                  "delivery is missing or not live, live_online or self_study after the catalog's delivery map; treated as self_study"),
        _flag_false("invalid_states", "has_invalid_state", "states", WARNED,
                    "states must be two-letter US state codes separated by ';'; a code that is not one matches no license"),
    ]


def adjustment_expectations() -> list[RowExpectation]:
    kinds = ", ".join(ADJUSTMENT_KINDS)
    return [
        _not_null("missing_employee_id", "employee_id", QUARANTINED, "employee_id is required: the person the adjustment concerns"),
        _not_null("missing_license_state", "license_state", QUARANTINED, "license_state is required: the license the adjustment concerns"),
        _not_null("missing_license_type", "license_type", QUARANTINED, "license_type is required: the license the adjustment concerns"),
        _not_null("missing_adjustment_kind", "kind", QUARANTINED, f"kind is required: one of {kinds}"),
        RowExpectation(
            "unknown_adjustment_kind", "kind", "ExpectColumnValuesToBeInSet", {"column": "kind", "value_set": list(ADJUSTMENT_KINDS)},
            QUARANTINED, f"kind must be one of {kinds}",
        ),
        _not_null("missing_reference", "reference", QUARANTINED, "reference is required: the board's letter, case or document number"),
        _flag_false("missing_requirement", "lacks_requirement", "requirement", QUARANTINED,
                    "a waiver or prior_completion must name its requirement (total, a category, once_<category> or listed_providers)"),
        _flag_false("invalid_adjustment_hours", "lacks_hours", "hours", QUARANTINED,
                    "a prior_completion or carry_over needs hours: a number above 0"),
        _flag_false("invalid_until", "lacks_valid_until", "until", QUARANTINED,
                    "an extension needs `until`: a date after the cycle's end"),
        _flag_false("invalid_cycle_end", "cycle_end_unreadable", "cycle_end", QUARANTINED,
                    "cycle_end, where given, must be a date in the adjustments' date_format: the end of the cycle the "
                    "adjustment is for (empty: the license's current cycle)"),
        _flag_false("unmatched_license", "lacks_roster_license", "employee_id", WARNED,
                    "no roster license matches this employee_id + license_state + license_type; the adjustment applies to nothing"),
    ]


def prepare_adjustments_for_validation(staged: pl.DataFrame, roster_licenses: pl.DataFrame) -> pl.DataFrame:
    """Flags for the adjustments suite: each kind's required fields, and whether a roster license matches
    (`roster_licenses`: employee_id, license_state, license_type, license_expiration_date)."""
    kind = pl.col("kind")
    cycle_end = pl.coalesce("cycle_end", "license_expiration_date")
    return staged.join(roster_licenses, on=["employee_id", "license_state", "license_type"], how="left", maintain_order="left").with_columns(
        (kind.is_in(["waiver", "prior_completion"]) & pl.col("requirement").is_null()).alias("lacks_requirement"),
        (kind.is_in(["prior_completion", "carry_over"]) & ~(pl.col("hours") > 0).fill_null(False)).alias("lacks_hours"),
        # an unmatched license has no cycle end to compare with: it is warned as unmatched instead
        ((kind == "extension") & (pl.col("until").is_null() | (pl.col("until") <= cycle_end).fill_null(False))).alias("lacks_valid_until"),
        pl.col("license_expiration_date").is_null().alias("lacks_roster_license"),
        (pl.col("cycle_end_raw").is_not_null() & pl.col("cycle_end").is_null()).alias("cycle_end_unreadable"),
    )


def prepare_catalog_for_validation(staged: pl.DataFrame) -> pl.DataFrame:
    """Flags for the catalog suite: a course_id seen before (by file, then row), an unreadable state code."""
    return staged.with_columns(
        (pl.col("course_id").is_not_null() & (pl.int_range(pl.len()).over("course_id") > 0)).alias("is_repeated_course_id"),
        pl.col("hours").cast(pl.Float64).alias("hours_float"),
        pl.col("cost").cast(pl.Float64).alias("cost_float"),
        pl.col("states").list.eval(~pl.element().str.contains(US_STATE_CODE)).list.any().fill_null(False).alias("has_invalid_state"),
    )


def finalise_catalog(kept: pl.DataFrame) -> pl.DataFrame:
    """Kept courses with the documented defaults for warned vocabulary, and `title_key`, the case-folded title
    a credit without a course id names the course by."""
    return kept.with_columns(
        pl.col("category").fill_null("general"), pl.col("delivery").fill_null("self_study"), title_key=case_folded("course_title")
    )


def mark_superseded_roster_rows(staged: pl.DataFrame) -> pl.DataFrame:
    """Flag every row but the latest-expiring one of each employee_id + license_state + license_type, the rows
    of a license_state + license_number that more than one employee_id holds, and the rows of a clinic that
    other rows spell with other capitals or blanks."""
    ranked = staged.with_row_index("_position").sort(
        ["license_expiration_date", "source_file", "source_row"], descending=[True, False, False], nulls_last=True
    )
    keep_first = ranked.select(
        "_position",
        (
            pl.col("employee_id").is_not_null()
            & pl.col("clinic").is_not_null()
            & pl.int_range(pl.len()).over(["employee_id", "license_state", "license_type"]).gt(0)
        ).alias("is_superseded"),
    )
    return (
        staged.with_row_index("_position")
        .join(keep_first, on="_position", how="left")
        .sort("_position")
        .drop("_position")
        .with_columns(
            (pl.col("license_issue_date_raw").is_not_null() & pl.col("license_issue_date").is_null()).alias("issue_date_unreadable"),
            (pl.col("termination_date_raw").is_not_null() & pl.col("termination_date").is_null()).alias("termination_date_unreadable"),
            # as credits match a license: its number without case (matched_ce_credits.sql)
            (
                pl.col("license_state").is_not_null()
                & pl.col("license_number").is_not_null()
                & (pl.col("employee_id").drop_nulls().n_unique().over(["license_state", pl.col("license_number").str.to_uppercase()]) > 1)
            ).alias("is_shared_license"),
            (pl.col("clinic").n_unique().over(pl.col("clinic").map_elements(clinic_key, return_dtype=pl.String, skip_nulls=True)) > 1)
            .fill_null(False)
            .alias("is_clinic_spelt_otherwise"),
        )
    )


# The staged credit columns the file suite reads or reports, and those a repeated row repeats.
CREDIT_FILE_COLUMNS = [
    "source_row", "license_state", "license_number", "employee_id", "email", "course_id", "course_title",
    "completion_date", "completion_date_raw", "hours", "hours_raw", "credit_unit", "credit_unit_raw",
    "category", "category_raw", "delivery", "delivery_raw",
]
REPEATED_ROW_COLUMNS = [
    "license_state", "license_number", "employee_id", "email", "course_id", "course_title",
    "completion_date_raw", "hours_raw", "category_raw", "delivery_raw",
]
# The matched credit columns the context suite reads or reports.
CREDIT_CONTEXT_COLUMNS = [
    "source_file", "source_row", "license_state", "license_number", "employee_id", "email", "person_id",
    "completion_date", "completion_date_raw",
]


def _person_key_raw() -> pl.Expr:
    return pl.coalesce(
        pl.concat_str("license_state", "license_number", separator=" "), pl.col("employee_id"), pl.col("email")
    ).alias("person_key_raw")


def _hours_as_written() -> pl.Expr:
    """The contact hours the range check judges: as the file wrote them, before they are kept to 4 places, so that
    100.00004 is over 100; and 0 where they keep nothing (0.00004 counts no hour)."""
    written = pl.col("hours_raw").cast(pl.Float64, strict=False) * pl.when(pl.col("credit_unit") == "CEU").then(HOURS_PER_CEU).otherwise(1)
    return pl.when(pl.col("hours").is_null()).then(None).when(pl.col("hours") == 0).then(0.0).otherwise(written).alias("hours_float")


def prepare_credit_file_for_validation(staged: pl.DataFrame) -> pl.DataFrame:
    """Flags for the file suite over one file's staged rows in file order: a row that repeats an
    earlier one of the file (all the provider reported agrees), a credit that names no one."""
    return staged.with_columns(
        ~pl.struct(REPEATED_ROW_COLUMNS).is_first_distinct().alias("repeats_an_earlier_row"),
        ~(
            (pl.col("license_state").is_not_null() & pl.col("license_number").is_not_null())
            | pl.col("employee_id").is_not_null()
            | pl.col("email").is_not_null()
        ).alias("lacks_person_key"),
        (pl.col("hours").is_null() & pl.col("credit_unit").is_not_null()).alias("hours_unreadable"),
        _hours_as_written(),
        _person_key_raw(),
    )


def prepare_credits_in_context(matched: pl.DataFrame) -> pl.DataFrame:
    return matched.with_columns(_person_key_raw())


def _reported_value(frame: pl.DataFrame, column: str) -> pl.Series:
    """The value as the file gave it: the raw text beside a parsed column, where there is one."""
    for candidate in (f"{column}_raw", column):
        if candidate in frame.columns:
            return frame.get_column(candidate).cast(pl.String)
    return pl.Series([None] * frame.height, dtype=pl.String)


def failing_rows_of(frame: pl.DataFrame, result: SuiteResult) -> pl.DataFrame:
    """Every row each expectation found unexpected, as an exception row (EXCEPTION_SCHEMA), not yet judged."""
    pieces = []
    for outcome in result.outcomes:
        if outcome.failing_rows.size == 0:
            continue
        failing = frame[outcome.failing_rows]
        pieces.append(
            pl.DataFrame(
                {
                    "source_file": failing.get_column("source_file"),
                    "source_row": failing.get_column("source_row"),
                    "check": outcome.expectation.check,
                    "column": outcome.expectation.column,
                    "value": _reported_value(failing, outcome.expectation.column),
                    "message": outcome.expectation.message,
                    "action": outcome.expectation.action,
                },
                schema=EXCEPTION_SCHEMA,
            )
        )
    return pl.concat(pieces) if pieces else pl.DataFrame(schema=EXCEPTION_SCHEMA)


def judge_findings(findings: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(quarantined rows as source_file + source_row, exception rows) from every suite's failing rows
    of one input. Warnings are listed for kept rows only: a quarantined row's quarantine reasons are
    what its steward must fix first."""
    quarantined = findings.filter(pl.col("action") == QUARANTINED).select("source_file", "source_row").unique()
    warnings_of_kept_rows = findings.filter(pl.col("action") == WARNED).join(
        quarantined, on=["source_file", "source_row"], how="anti"
    )
    return quarantined, pl.concat([findings.filter(pl.col("action") == QUARANTINED), warnings_of_kept_rows])


def split_rows(frame: pl.DataFrame, result: SuiteResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept rows, exception rows), for inputs small enough to filter in memory."""
    quarantined, exceptions = judge_findings(failing_rows_of(frame, result))
    return frame.join(quarantined, on=["source_file", "source_row"], how="anti", maintain_order="left"), exceptions

"""The credit suite in two parts, so that each provider file is validated once and memory follows
one file, not every credit of the organisation.

* The file suite (GX suite `ce_credits`, `credit_file_expectations`) holds every check that depends
  on a file's rows alone. Each file version (content + source configuration, as the landing history
  keys it) is validated once, on the first run that stages it; its failing rows and its GX result are
  kept in the warehouse, so a night's run validates only the night's new files. A change to the
  suite's declarations validates every version again.
* The context suite (`ce_credits_in_context`, `credit_context_expectations`) holds the two checks that
  depend on the run, its as-of date and its roster; it runs every run over the run's credits, a
  chunk at a time.

The run's failing rows of both are judged together (`judge_findings`), as one suite's would be.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import duckdb
import polars as pl
import pyarrow as pa

from pipelines.hashing import fingerprint_of
from pipelines.quality.gx_runner import RowExpectation, SuiteResult, merge_suite_results, suite_result_from_json, suite_result_to_json, validate_rows
from pipelines.quality.suites import (
    CREDIT_CONTEXT_COLUMNS,
    CREDIT_FILE_COLUMNS,
    EXCEPTION_SCHEMA,
    credit_context_expectations,
    credit_file_expectations,
    failing_rows_of,
    prepare_credit_file_for_validation,
    prepare_credits_in_context,
)
from pipelines.warehouse import read_sql

FILE_SUITE, CONTEXT_SUITE = "ce_credits", "ce_credits_in_context"
# Rows handed to GX at once: larger batches spend less on GX's fixed cost per batch, smaller ones
# less memory (pandas holds text as Python objects).
VALIDATION_BATCH_ROWS = 500_000

KEPT_VALIDATIONS_DDL = """
create table if not exists ce_credit_file_validations (
    file_sha256 varchar, config_fingerprint varchar, suite_fingerprint varchar, result json
);
create table if not exists ce_credit_file_findings (
    file_sha256 varchar, config_fingerprint varchar, suite_fingerprint varchar,
    source_row bigint, "check" varchar, "column" varchar, value varchar, message varchar, action varchar
);
"""


@dataclasses.dataclass(frozen=True)
class CreditValidation:
    file_suite: SuiteResult  # merged over the run's files
    context_suite: SuiteResult
    findings: pl.DataFrame  # every failing row of both suites for the run's files: EXCEPTION_SCHEMA, not judged
    versions_validated: int  # file versions validated this run; the others were validated before


def suite_fingerprint(expectations: list[RowExpectation]) -> str:
    return fingerprint_of([dataclasses.asdict(expectation) for expectation in expectations])


def validate_credits(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> CreditValidation:
    """Both suites over the run's credits (the view `staged_ce_credits`, matched in `matched_ce_credits`)."""
    expectations = credit_file_expectations()
    fingerprint = suite_fingerprint(expectations)
    versions_validated = _validate_new_file_versions(con, expectations, fingerprint)
    kept_results = con.execute(read_sql("credit_file_validations_of_run"), {"suite_fingerprint": fingerprint}).fetchall()
    file_results = [suite_result_from_json(text, expectations) for (text,) in kept_results]
    file_findings = con.sql(read_sql("credit_file_findings_of_run"), params={"suite_fingerprint": fingerprint}).pl()
    in_context = credit_context_expectations(as_of)
    matched = con.sql(f"select {', '.join(CREDIT_CONTEXT_COLUMNS)} from matched_ce_credits")
    context_results, context_findings = [], [pl.DataFrame(schema=EXCEPTION_SCHEMA)]
    for chunk in _chunks(matched, VALIDATION_BATCH_ROWS):
        prepared = prepare_credits_in_context(chunk)
        result = validate_rows(CONTEXT_SUITE, prepared, in_context, batch_rows=VALIDATION_BATCH_ROWS)
        context_results.append(result)
        context_findings.append(failing_rows_of(prepared, result))
    if not file_results:  # no accepted provider file: the suites still show in Data Docs, on 0 rows
        file_results = [_validate_file(_file_rows(con, None, None), expectations)[0]]
    if not context_results:
        context_results = [validate_rows(CONTEXT_SUITE, prepare_credits_in_context(matched.limit(0).pl()), in_context)]
    return CreditValidation(
        file_suite=merge_suite_results(FILE_SUITE, file_results),
        context_suite=merge_suite_results(CONTEXT_SUITE, context_results),
        findings=pl.concat([file_findings.cast(EXCEPTION_SCHEMA), *context_findings]),
        versions_validated=versions_validated,
    )


def _validate_new_file_versions(con: duckdb.DuckDBPyConnection, expectations: list[RowExpectation], fingerprint: str) -> int:
    """Validate, one at a time, the run's file versions the current suite has not validated, and
    keep what it found; results of other suite declarations are forgotten."""
    con.execute(KEPT_VALIDATIONS_DDL)
    for table in ("ce_credit_file_validations", "ce_credit_file_findings"):
        con.execute(f"delete from {table} where suite_fingerprint <> ?", [fingerprint])
    pending = con.execute(read_sql("credit_file_versions_to_validate"), {"suite_fingerprint": fingerprint}).fetchall()
    for file_sha256, config_fingerprint in pending:
        result, findings = _validate_file(_file_rows(con, file_sha256, config_fingerprint), expectations)
        con.execute("begin transaction")
        con.execute(
            "insert into ce_credit_file_validations values (?, ?, ?, ?)",
            [file_sha256, config_fingerprint, fingerprint, suite_result_to_json(merge_suite_results(FILE_SUITE, [result]))],
        )
        con.register("version_findings", findings.drop("source_file").to_arrow())
        con.execute(
            "insert into ce_credit_file_findings select ?, ?, ?, * from version_findings", [file_sha256, config_fingerprint, fingerprint]
        )
        con.unregister("version_findings")
        con.execute("commit")
    return len(pending)


def _file_rows(con: duckdb.DuckDBPyConnection, file_sha256: str | None, config_fingerprint: str | None) -> pl.DataFrame:
    """One file version's staged rows in file order, in the columns the file suite reads or reports
    (none for a null version)."""
    return con.sql(
        f"select source_file, {', '.join(CREDIT_FILE_COLUMNS)} from staged_ce_credits_versions "
        "where file_sha256 = ? and config_fingerprint = ? order by source_row",
        params=[file_sha256, config_fingerprint],
    ).pl()


def _validate_file(staged: pl.DataFrame, expectations: list[RowExpectation]) -> tuple[SuiteResult, pl.DataFrame]:
    """The file suite's result and failing rows for one file version's staged rows."""
    prepared = prepare_credit_file_for_validation(staged)
    result = validate_rows(FILE_SUITE, prepared, expectations, batch_rows=VALIDATION_BATCH_ROWS)
    return result, failing_rows_of(prepared, result)


def _chunks(relation: duckdb.DuckDBPyRelation, rows: int) -> Iterator[pl.DataFrame]:
    """The relation's rows as frames of about `rows` rows (DuckDB hands them over in row groups)."""
    batches, held = [], 0
    for batch in relation.to_arrow_reader(rows):
        batches.append(batch)
        held += batch.num_rows
        if held >= rows:
            yield pl.from_arrow(pa.Table.from_batches(batches))
            batches, held = [], 0
    if held:
        yield pl.from_arrow(pa.Table.from_batches(batches))

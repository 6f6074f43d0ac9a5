"""Everything a published site shows, read from the warehouse.

The publish step reads these tables into memory, except the credit ledger: at 100k clinicians its 4M rows
would take more memory than everything else, so it is read in batches while its CSV is written, and again
while the personal pages are (the connection stays open until the site is built). Rows come in a deterministic
order, which is the order of the extracts:

- clinician_compliance: employee_id, license_state, license_type, license_number
- requirement_progress: the same license key, then requirement_order (`total`, then the others by name)
- credit_ledger: the same license key, then completion_date, source_file, source_row
- adjustments: employee_id, license_state, license_type, source_file, source_row
- data_quality_exceptions: source_file, source_row (whole-file rejections first), check, column
  (then value, message, action, so that no two rows tie)
- learning_plans: employee_id, complete_by, course_id; learning_plan_status: the license key
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import queue
import threading
from collections.abc import Callable, Iterable, Iterator

import duckdb
import polars as pl

from pipelines.warehouse import read_sql

LICENSE_KEY = ("employee_id", "license_state", "license_type", "license_number")

_HOURS = "decimal(18, 4)"  # cast on read, so that an upstream change of type never changes the CSV text

_COMPLIANCE = f"""
select
    as_of_date::date as as_of_date, employee_id, first_name, last_name, clinic,
    license_type, license_state, license_number,
    cycle_start::date as cycle_start, cycle_end::date as cycle_end, days_remaining::integer as days_remaining,
    required_hours::{_HOURS} as required_hours, counted_hours::{_HOURS} as counted_hours,
    hours_remaining::{_HOURS} as hours_remaining,
    unmet_requirements, status, status_reason, deadline::date as deadline, carried_hours::{_HOURS} as carried_hours,
    rule_effective_date::date as rule_effective_date, job_title, rule_source, rule_not_modeled, email,
    license_expiration_date::date as license_expiration_date
from clinician_compliance
order by employee_id, license_state, license_type, license_number
"""
_PROGRESS = f"""
select
    employee_id, license_state, license_type, license_number, requirement,
    required_hours::{_HOURS} as required_hours, counted_hours::{_HOURS} as counted_hours, met, waived_by,
    kind, origin, requirement_order
from requirement_progress
order by employee_id, license_state, license_type, license_number, requirement_order, requirement
"""
_LEDGER = f"""
select
    employee_id, license_state, license_type, license_number, course_id, course_title, provider,
    accreditation, completion_date::date as completion_date, hours::{_HOURS} as hours, category, delivery,
    counted_hours::{_HOURS} as counted_hours, decision, reason, source_file, source_row::integer as source_row,
    counts_toward, first_name, last_name, clinic
from credit_ledger
order by employee_id, license_state, license_type, license_number, completion_date, source_file, source_row
"""
_ADJUSTMENTS = f"""
select
    employee_id, license_state, license_type, license_number, kind, requirement, hours::{_HOURS} as hours,
    until::date as until, reference, applied, why_not, source_file, source_row::integer as source_row
from license_adjustments
order by employee_id, license_state, license_type, source_file, source_row
"""
_EXCEPTIONS = """
select source_file, source_row::integer as source_row, "check", "column", value, message, action
from data_quality_exceptions
order by source_file, source_row nulls first, "check", "column", value, message, action
"""
_INPUT_FILES = """
select source_file, input_kind, input_name, sha256, status, reason, rows_read, rows_accepted, rows_quarantined,
    newest_row_date
from input_files
order by source_file
"""
_PROVIDER_FRESHNESS = """
select provider, accepted_files, newest_row_date, age_days, max_age_days, stale
from provider_freshness
order by provider
"""
_ROSTER_ROWS_NOT_SHOWN = read_sql("roster_rows_not_shown")
_LEARNING_PLANS = f"""
select
    employee_id, first_name, last_name, clinic, course_id, course_title, provider, accreditation,
    hours::{_HOURS} as hours, category, delivery, cost::{_HOURS} as cost, licenses, complete_by::date as complete_by
from learning_plans
order by employee_id, complete_by, course_id
"""
_LEARNING_PLAN_STATUS = """
select employee_id, license_state, license_type, license_number, plan, reason
from learning_plan_status
order by employee_id, license_state, license_type, license_number
"""
_COMPLIANCE_TREND = """
select
    as_of_date,
    sum(licenses)::integer as licenses,
    sum(compliant)::integer as compliant,
    sum(exempt)::integer as exempt,
    sum(not_evaluated)::integer as not_evaluated
from compliance_history
group by as_of_date
order by as_of_date
"""
_CREATE_HISTORY = """
create table if not exists compliance_history (
    as_of_date date not null,
    clinic varchar not null,
    licenses integer not null,
    compliant integer not null,
    at_risk integer not null,
    overdue integer not null,
    on_track integer not null,
    exempt integer not null,
    not_evaluated integer not null,
    run_id varchar not null,
    generated_at timestamp not null
)
"""
_RECORD_HISTORY = """
insert into compliance_history
select
    $as_of::date, clinic, count(*),
    count(*) filter (where status = 'compliant'),
    count(*) filter (where status = 'at_risk'),
    count(*) filter (where status = 'overdue'),
    count(*) filter (where status = 'on_track'),
    count(*) filter (where status = 'exempt'),
    count(*) filter (where status = 'not_evaluated'),
    $run_id, $generated_at::timestamp
from clinician_compliance
group by clinic
"""


@dataclasses.dataclass(frozen=True)
class StreamedQuery:
    """Rows read in frames of at most `batch_rows` each time they are iterated, never all at once; at least one
    frame (empty when there are no rows), so that a CSV written from them always has its header."""

    con: duckdb.DuckDBPyConnection
    sql: str
    batch_rows: int = 1 << 18

    def __iter__(self) -> Iterator[pl.DataFrame]:
        # A cursor of its own: the extracts are written on another thread than the one that opened `con`.
        with self.con.cursor() as cursor:
            # Polars holds text as string views: handed over as such, 4M rows of text are not converted once more.
            cursor.execute("set produce_arrow_string_view = true")
            reader = cursor.sql(self.sql).to_arrow_reader(self.batch_rows)
            empty = True
            for batch in reader:
                empty = False
                yield pl.from_arrow(batch)
            if empty:
                yield pl.from_arrow(reader.schema.empty_table())


class SharedBatches:
    """The batches of `source` read once for two readers on two threads: iterating this object is the first
    reader (the ledger's CSV), `second_reader` the other (the personal pages), which is never more than
    `ahead` batches behind; `close` lets the first go on alone."""

    _END = object()

    def __init__(self, source: Iterable[pl.DataFrame], ahead: int = 4):
        self.source = source
        self._queue: queue.Queue = queue.Queue(ahead)
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[pl.DataFrame]:
        try:
            for batch in self.source:
                self._hand_on(batch)
                yield batch
        except BaseException as error:
            self._hand_on(error)
            raise
        self._hand_on(self._END)

    def _hand_on(self, item: object) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def second_reader(self, first_gone: Callable[[], bool]) -> Iterator[pl.DataFrame]:
        """The batches as the first reader reads them. `first_gone` tells whether the first reader's thread
        ended; if it ended before the batches did, this ends too, and that thread's error is the one to raise."""
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if first_gone():
                    return
                continue
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise RuntimeError("reading the batches failed") from item
            yield item

    def close(self) -> None:
        self._closed.set()


class StaleComplianceError(RuntimeError):
    """The compliance table was computed for another as-of date than the one being published."""


@dataclasses.dataclass(frozen=True)
class Publication:
    """One run's data, as the site shows it; frames are typed and in extract order."""

    as_of_date: dt.date
    run_id: str
    generated_at: dt.datetime  # UTC
    compliance: pl.DataFrame
    progress: pl.DataFrame
    ledger: StreamedQuery  # read from the warehouse while its CSV is written: keep the connection open until then
    adjustments: pl.DataFrame  # every accepted adjustment row: applied or not, and why not
    exceptions: pl.DataFrame
    roster_rows_not_shown: pl.DataFrame  # quarantined roster rows whose license is on no page: who and why
    input_files: pl.DataFrame
    provider_freshness: pl.DataFrame  # per configured provider: newest completion, age, limit, stale
    rules_catalog: dict[str, str]  # path, version, sha256
    compliance_trend: pl.DataFrame  # one row per past as-of date, from compliance_history
    learning_plans: pl.DataFrame  # one row per person and planned course
    learning_plan_status: pl.DataFrame  # one row per planned license: closes_gap or no_plan, and why
    has_course_catalog: bool  # false: no catalog configured or no catalog file, so no plans
    training_budget_per_clinician: decimal.Decimal | None

    @property
    def generated_at_iso(self) -> str:
        return self.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_history(con: duckdb.DuckDBPyConnection, as_of_date: dt.date, run_id: str, generated_at: dt.datetime) -> None:
    """Store this run's status counts per clinic; a rerun for the same as-of date replaces that date's rows."""
    con.execute(_CREATE_HISTORY)
    con.execute("begin transaction")
    try:
        con.execute("delete from compliance_history where as_of_date = ?", [as_of_date])
        con.execute(
            _RECORD_HISTORY,
            {"as_of": as_of_date, "run_id": run_id, "generated_at": generated_at.astimezone(dt.UTC).replace(tzinfo=None)},
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def load_publication(
    con: duckdb.DuckDBPyConnection, as_of_date: dt.date, run_id: str, generated_at: dt.datetime
) -> Publication:
    """Read every table the site needs into memory but the ledger, which stays a query on `con` (call
    `record_history` first for today's trend point)."""
    dates = con.execute("select distinct as_of_date from clinician_compliance").fetchall()
    stale = [d for (d,) in dates if d != as_of_date]
    if stale:
        raise StaleComplianceError(
            f"clinician_compliance holds as-of date(s) {', '.join(map(str, sorted(stale)))}, "
            f"not {as_of_date}: run the compliance stage for {as_of_date} before publishing"
        )
    catalog = con.execute("select path, version, sha256 from rules_catalog_info").fetchall()
    if len(catalog) != 1:
        raise ValueError(f"rules_catalog_info must hold exactly one row, it holds {len(catalog)}")
    path, version, sha256 = catalog[0]
    [(has_course_catalog, budget)] = con.sql("select has_catalog, budget_per_clinician from learning_plan_info").fetchall()
    return Publication(
        as_of_date=as_of_date,
        run_id=run_id,
        generated_at=generated_at,
        compliance=con.sql(_COMPLIANCE).pl(),
        progress=con.sql(_PROGRESS).pl(),
        ledger=StreamedQuery(con, _LEDGER),
        adjustments=con.sql(_ADJUSTMENTS).pl(),
        exceptions=con.sql(_EXCEPTIONS).pl(),
        roster_rows_not_shown=con.sql(_ROSTER_ROWS_NOT_SHOWN).pl(),
        input_files=con.sql(_INPUT_FILES).pl(),
        provider_freshness=con.sql(_PROVIDER_FRESHNESS).pl(),
        rules_catalog={"path": path, "version": version, "sha256": sha256},
        compliance_trend=con.sql(_COMPLIANCE_TREND).pl(),
        learning_plans=con.sql(_LEARNING_PLANS).pl(),
        learning_plan_status=con.sql(_LEARNING_PLAN_STATUS).pl(),
        has_course_catalog=has_course_catalog,
        training_budget_per_clinician=budget,
    )

"""Everything a published site shows, read from the warehouse.

The publish step reads each extract's query (`reports.extracts.SITE_EXTRACTS`) into memory, except those
declared `streams` (the credit ledger), which are read in batches each time they are written (the connection
stays open until the site is built); the personal pages take the ledger's batches as its CSV is written
(`SharedBatches`). Rows come in each extract's declared order.
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
from reports.extracts import LICENSE_KEY, SITE_EXTRACTS, Extract

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

    def count(self) -> int:
        """The rows, counted by DuckDB without handing them to Python (for the ledger at 100k clinicians,
        5.7M rows of a view over credit_decisions, about 2 s)."""
        with self.con.cursor() as cursor:
            [(rows,)] = cursor.sql(f"select count(*) from ({self.sql})").fetchall()
        return rows


class SharedBatches:
    """The batches of `source` read once for two readers on two threads: iterating this object is the first
    reader (the ledger's CSV), `second_reader` the other (the personal pages), which is never more than
    `ahead` batches behind; `close` lets the first go on alone. Iterated once."""

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
    extracts: tuple[Extract, ...]  # what the site publishes, in the download list's order
    frames: dict[str, pl.DataFrame | Iterable[pl.DataFrame]]  # extract name -> its rows; a streamed one keeps `con` in use
    roster_rows_not_shown: pl.DataFrame  # quarantined roster rows whose license is on no page: who and why
    input_files: pl.DataFrame
    provider_freshness: pl.DataFrame  # per configured provider: newest completion, age, limit, stale
    rules_catalog_version: str
    rules_catalog_sha256: str
    rules_catalog_data: bytes  # the catalog file's bytes as the run read them
    compliance_trend: pl.DataFrame  # one row per past as-of date, from compliance_history
    has_course_catalog: bool  # false: no catalog configured or no catalog file, so no plans
    training_budget_per_clinician: decimal.Decimal | None
    currency: str  # of every cost and budget
    sends_notifications: bool = False  # the notify step adds notifications.csv to the site after it is published

    @property
    def generated_at_iso(self) -> str:
        return self.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def batches(self, extract: Extract) -> Iterable[pl.DataFrame]:
        rows = self.frames[extract.name]
        return [rows] if isinstance(rows, pl.DataFrame) else rows

    def rows_of(self, extract: Extract) -> int:
        rows = self.frames[extract.name]
        return rows.height if isinstance(rows, pl.DataFrame) else rows.count()

    # The extracts the pages read, by name.
    @property
    def compliance(self) -> pl.DataFrame:
        return self.frames["clinician_compliance"]

    @property
    def progress(self) -> pl.DataFrame:
        return self.frames["requirement_progress"]

    @property
    def adjustments(self) -> pl.DataFrame:  # every accepted adjustment row: applied or not, and why not
        return self.frames["adjustments"]

    @property
    def exceptions(self) -> pl.DataFrame:
        return self.frames["data_quality_exceptions"]

    @property
    def learning_plans(self) -> pl.DataFrame:  # one row per person and planned course
        return self.frames["learning_plans"]

    @property
    def learning_plan_status(self) -> pl.DataFrame:  # one row per planned license: closes_gap or no_plan, and why
        return self.frames["learning_plan_status"]


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
    con: duckdb.DuckDBPyConnection,
    as_of_date: dt.date,
    run_id: str,
    generated_at: dt.datetime,
    extracts: tuple[Extract, ...] = SITE_EXTRACTS,
    sends_notifications: bool = False,
) -> Publication:
    """Read every table the site needs into memory but the streamed extracts, which stay queries on `con`
    (call `record_history` first for today's trend point)."""
    dates = con.execute("select distinct as_of_date from clinician_compliance").fetchall()
    stale = [d for (d,) in dates if d != as_of_date]
    if stale:
        raise StaleComplianceError(
            f"clinician_compliance holds as-of date(s) {', '.join(map(str, sorted(stale)))}, "
            f"not {as_of_date}: run the compliance stage for {as_of_date} before publishing"
        )
    catalog = con.execute("select version, sha256, data from rules_catalog_info").fetchall()
    if len(catalog) != 1:
        raise ValueError(f"rules_catalog_info must hold exactly one row, it holds {len(catalog)}")
    version, sha256, data = catalog[0]
    [(has_course_catalog, budget, currency)] = con.sql(
        "select has_catalog, budget_per_clinician, currency from learning_plan_info"
    ).fetchall()
    return Publication(
        as_of_date=as_of_date,
        run_id=run_id,
        generated_at=generated_at,
        extracts=extracts,
        frames={e.name: StreamedQuery(con, e.sql) if e.streams else con.sql(e.sql).pl() for e in extracts},
        roster_rows_not_shown=con.sql(_ROSTER_ROWS_NOT_SHOWN).pl(),
        input_files=con.sql(_INPUT_FILES).pl(),
        provider_freshness=con.sql(_PROVIDER_FRESHNESS).pl(),
        rules_catalog_version=version,
        rules_catalog_sha256=sha256,
        rules_catalog_data=bytes(data),
        compliance_trend=con.sql(_COMPLIANCE_TREND).pl(),
        has_course_catalog=has_course_catalog,
        training_budget_per_clinician=budget,
        currency=currency,
        sends_notifications=sends_notifications,
    )

"""Dagster resources: the deployment's configuration file, the run's as-of date, and the warehouse."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
from collections.abc import Iterator

import dagster as dg
import duckdb
from pydantic import Field, PrivateAttr

from pipelines.run_lock import WarehouseRunLock
from pipelines.settings import ConfigError, Settings, load_settings, size_in_bytes
from pipelines.storage import check_storage
from reports.output_folder import remove_leftovers

WAREHOUSE_POOL = "warehouse"  # every step that opens the DuckDB file queues on this pool
# Only what can pass on a second try is retried: a DuckDB file held by another process, a network share
# that dropped out. Every step replaces its tables in one transaction, so running it again is safe; any
# other error fails the step at once.
TRANSIENT_RETRIES = 2
TRANSIENT_RETRY_SECONDS = 30
TRANSIENT_ERRNOS = frozenset(
    {errno.EIO, errno.ESTALE, errno.ETIMEDOUT, errno.EHOSTDOWN, errno.EHOSTUNREACH, errno.ENETDOWN,
     errno.ENETUNREACH, errno.ENETRESET, errno.ECONNRESET, errno.ECONNABORTED}
)  # fmt: skip


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file."""


@contextlib.contextmanager
def transient_failures_retried() -> Iterator[None]:
    """Turn a failure that may pass (a lock, a share that dropped out) into Dagster's RetryRequested."""
    try:
        yield
    except OSError as error:
        if error.errno not in TRANSIENT_ERRNOS:
            raise
        raise dg.RetryRequested(max_retries=TRANSIENT_RETRIES, seconds_to_wait=TRANSIENT_RETRY_SECONDS) from error


# What DuckDB says of a file that is no warehouse any more: a block whose checksum fails, bytes that are not
# a DuckDB file (overwritten), a file shorter than its header says (truncated).
WAREHOUSE_CORRUPT_SIGNS = ("corrupt database file", "not a valid duckdb database file", "could not read enough bytes")


class WarehouseCorruptError(dg.Failure):
    """The warehouse file no longer opens as a DuckDB database (WAREHOUSE_CORRUPT_SIGNS); no retry mends that."""

    def __init__(self, description: str):
        super().__init__(description, allow_retries=False)


class ComplianceDeployment(dg.ConfigurableResource):
    """One deployment: its YAML configuration file and the as-of date of the run (empty: today)."""

    config_path: str
    as_of: str = ""
    now: str = Field(
        default="",
        description="The run's clock, an ISO date-time (UTC unless it names an offset); empty: when the run starts. "
        "Today, in the schedule's timezone, is its date. For replaying a past run and for tests.",
    )
    accept_roster_change: bool = Field(
        default=False, description="Let this run through the roster_complete check once: a deliberate drop in roster licenses."
    )
    _settings: Settings | None = PrivateAttr(default=None)
    _run_lock: WarehouseRunLock | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Read the configuration once for the run (its as-of date and today with it), then hold the
        warehouse for the whole run (see pipelines/run_lock.py); fails at once if another run has it."""
        self._settings = self._load()
        self._run_lock = WarehouseRunLock(self._settings.warehouse, context.run_id or "")
        self._run_lock.acquire()
        try:
            self._start_run(context)
        except BaseException:
            self._run_lock.release()
            raise

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run_lock is not None:
            self._run_lock.release()

    def _load(self) -> Settings:
        try:
            now = dt.datetime.fromisoformat(self.now) if self.now else None
        except ValueError:
            raise ConfigError(f"the run's clock `now` must be an ISO date-time such as 2026-11-25T08:00:00, got {self.now!r}") from None
        return load_settings(self.config_path, as_of=self.as_of or None, now=now)

    def settings(self) -> Settings:
        """The run's settings, read when the run started (outside a run, read now)."""
        return self._settings or self._load()

    def as_of_date(self) -> dt.date:
        return self.settings().resolved_as_of()

    @contextlib.contextmanager
    def warehouse(self, memory_cap: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the embedded warehouse, closed on exit so no lock outlives a step.
        A lock held by another process, or a share that dropped out while the step ran, retries the step.
        `memory_cap` lowers DuckDB's memory limit for this connection below the configured one, never above."""
        settings = self.settings()
        path = settings.warehouse
        path.parent.mkdir(parents=True, exist_ok=True)
        limit = settings.warehouse_memory_limit
        if memory_cap is not None and (limit is None or size_in_bytes(memory_cap) < size_in_bytes(limit)):
            limit = memory_cap
        try:
            limits = {"memory_limit": limit} if limit else {}
            con = duckdb.connect(str(path), config=limits)
        except duckdb.Error as error:
            if any(sign in str(error).lower() for sign in WAREHOUSE_CORRUPT_SIGNS):
                raise WarehouseCorruptError(
                    f"the warehouse {path} is corrupt ({str(error).splitlines()[0]}); recreate it from the landing archive "
                    f"with `ce-compliance rebuild --config {settings.config_file}`, then run again"
                ) from None
            if isinstance(error, duckdb.IOException) and "lock" in str(error).lower():
                raise dg.RetryRequested(max_retries=TRANSIENT_RETRIES, seconds_to_wait=TRANSIENT_RETRY_SECONDS) from WarehouseLockedError(
                    f"the warehouse {path} is locked by another process (another run, or a shell holding it open); "
                    "wait for it to finish or close it, then run again"
                )
            raise
        try:
            with transient_failures_retried():
                yield con
        finally:
            con.close()

    def _start_run(self, context: dg.InitResourceContext) -> None:
        """What a run checks and clears before any step, with the run lock held: room to write, a warehouse
        that opens, and no staging folder left by a run that died while publishing."""
        settings = self.settings()
        check_storage(settings)
        try:
            with self.warehouse():
                pass  # a corrupt warehouse stops the run here, once, before any step
        except dg.RetryRequested:
            pass  # held by another process for now: each step waits and retries on its own
        # Only now, with the lock held, is a staging folder surely a dead run's.
        for name in remove_leftovers(settings.output_dir):
            context.log.info(f"removed {settings.output_dir / name}, left by a run that died while publishing")

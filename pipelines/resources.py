"""Dagster resources: the deployment's configuration file, the run's as-of date, and the warehouse."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from pipelines.run_lock import WarehouseRunLock
from pipelines.settings import Settings, load_settings
from pipelines.storage import check_storage
from reports.output_folder import remove_leftovers

WAREHOUSE_POOL = "warehouse"  # every step that opens the DuckDB file queues on this pool


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file."""


class ComplianceDeployment(dg.ConfigurableResource):
    """One deployment: its YAML configuration file and the as-of date of the run (empty: today)."""

    config_path: str
    as_of: str = ""
    _run_lock: WarehouseRunLock | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Hold the warehouse for the whole run (see pipelines/run_lock.py); fails at once if another run has it."""
        self._run_lock = WarehouseRunLock(self.settings().warehouse, context.run_id or "")
        self._run_lock.acquire()
        try:
            self._start_run(context)
        except BaseException:
            self._run_lock.release()
            raise

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run_lock is not None:
            self._run_lock.release()

    def settings(self) -> Settings:
        return load_settings(self.config_path, as_of=self.as_of or None)

    def as_of_date(self) -> dt.date:
        return self.settings().resolved_as_of()

    @contextlib.contextmanager
    def warehouse(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the embedded warehouse, closed on exit so no lock outlives a step."""
        settings = self.settings()
        path = settings.warehouse
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            limits = {"memory_limit": settings.warehouse_memory_limit} if settings.warehouse_memory_limit else {}
            con = duckdb.connect(str(path), config=limits)
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise WarehouseLockedError(
                    f"the warehouse {path} is locked by another process (another run, or a shell holding it open); "
                    "wait for it to finish or close it, then run again"
                ) from error
            raise
        except duckdb.Error as error:
            if "corrupt database file" in str(error).lower():
                raise WarehouseCorruptError(
                    f"the warehouse {path} is corrupt ({str(error).splitlines()[0]}); recreate it from the landing archive "
                    f"with `ce-compliance rebuild --config {settings.config_file}`, then run again"
                ) from None
            raise
        try:
            yield con
        finally:
            con.close()

    def _start_run(self, context: dg.InitResourceContext) -> None:
        """What a run checks and clears before any step, with the run lock held: room to write, a warehouse
        that opens, and no staging folder left by a run that died while publishing."""
        settings = self.settings()
        check_storage(settings)
        with self.warehouse():
            pass  # a corrupt warehouse stops the run here, once, before any step
        # Only now, with the lock held, is a staging folder surely a dead run's.
        for name in remove_leftovers(settings.output_dir):
            context.log.info(f"removed {settings.output_dir / name}, left by a run that died while publishing")


class WarehouseCorruptError(dg.Failure):
    """DuckDB found a block of the warehouse file that no longer matches its checksum; no retry mends that."""

    def __init__(self, description: str):
        super().__init__(description, allow_retries=False)

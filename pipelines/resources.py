"""Dagster resources: the deployment's configuration file, the run's as-of date, and the warehouse."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import dagster as dg
import duckdb

from pipelines.settings import Settings, load_settings

WAREHOUSE_POOL = "warehouse"  # every step that opens the DuckDB file queues on this pool


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file."""


class ComplianceDeployment(dg.ConfigurableResource):
    """One deployment: its YAML configuration file and the as-of date of the run (empty: today)."""

    config_path: str
    as_of: str = ""

    def settings(self) -> Settings:
        return load_settings(self.config_path, as_of=self.as_of or None)

    def as_of_date(self) -> dt.date:
        return self.settings().resolved_as_of()

    @contextlib.contextmanager
    def warehouse(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the embedded warehouse, closed on exit so no lock outlives a step."""
        path = self.settings().warehouse
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(path))
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise WarehouseLockedError(
                    f"the warehouse {path} is locked by another process (another run, or a shell holding it open); "
                    "wait for it to finish or close it, then run again"
                ) from error
            raise
        try:
            yield con
        finally:
            con.close()

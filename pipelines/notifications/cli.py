"""`ce-compliance notify --preview`: what the notify step would send as of a date, written to the outbox and
summed up, with nothing sent and nothing recorded."""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
import sys
import uuid

import duckdb

from pipelines.notifications.due import StaleComplianceError
from pipelines.notifications.run import notify
from pipelines.settings import ConfigError, load_settings


def preview(config: pathlib.Path, as_of: dt.date | None) -> int:
    """Raises ConfigError for a configuration that cannot preview (the command line reports it)."""
    settings = load_settings(config, as_of=as_of)
    if settings.notifications is None:
        raise ConfigError(f"{settings.config_file} has no `notifications:` section: nothing would be sent")

    @contextlib.contextmanager
    def connect():
        con = duckdb.connect(str(settings.warehouse))
        try:
            yield con
        finally:
            con.close()

    try:
        if not settings.warehouse.is_file():  # connecting would create an empty one
            raise StaleComplianceError(f"there is no warehouse {settings.warehouse} yet: run `ce-compliance run` first")
        with connect() as con:
            dates = con.execute("select distinct as_of_date from clinician_compliance").fetchall() if _has_compliance(con) else []
        if not dates:
            raise StaleComplianceError(f"the warehouse {settings.warehouse} holds no compliance yet: run `ce-compliance run` first")
        as_of_date = settings.as_of or max(d for (d,) in dates)
        outcome = notify(settings.notifications, as_of_date, as_of_date, f"preview-{uuid.uuid4()}", connect, preview=True, keep_records=False)
    except (StaleComplianceError, duckdb.Error) as error:
        print(f"ce-compliance: {error}", file=sys.stderr)
        return 1
    for line in outcome.summary():
        print(line)
    if outcome.outbox is None:
        print("  (configure notifications.outbox to see the messages themselves)")
    return 0


def _has_compliance(con: duckdb.DuckDBPyConnection) -> bool:
    [(found,)] = con.execute("select count(*) from information_schema.tables where table_name = 'clinician_compliance'").fetchall()
    return found > 0

"""One run at a time per warehouse, however the run was started (CLI, UI, schedule, sensor).

DuckDB locks its file only while a connection is open, and each step opens and closes its own:
two runs could interleave their steps and publish one run's credits under the other's as-of date.
Dagster's run queue keeps runs it launches apart, but not a `ce-compliance run` from a shell. So a run
holds an exclusive `flock` on a file beside the warehouse from its first step to its last; the kernel
releases it if the process dies, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import pathlib
import socket
from typing import IO


class WarehouseBusyError(RuntimeError):
    """Another run is writing the same warehouse."""


def run_lock_path(warehouse: pathlib.Path) -> pathlib.Path:
    return warehouse.with_name(warehouse.name + ".run-lock")


class WarehouseRunLock:
    def __init__(self, warehouse: pathlib.Path, run_id: str):
        self.warehouse = warehouse
        self.path = run_lock_path(warehouse)
        self.run_id = run_id
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise `WarehouseBusyError` naming the run that holds it; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "unknown"
            lock_file.close()
            raise WarehouseBusyError(
                f"another run is writing the warehouse {self.warehouse} ({holder}); "
                "this run did not start and changed nothing: run it again once that run has finished"
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        holder = {
            "run_id": self.run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        lock_file.write(json.dumps(holder))
        lock_file.flush()
        self._file = lock_file

    def release(self) -> None:
        if self._file is not None:
            self._file.truncate(0)
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

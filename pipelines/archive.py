"""The landing archive (`archive_dir`): every landing file version a run staged, kept by the SHA-256 of its
bytes, with what the warehouse's landing history needs to be rebuilt from it.

    files/<sha[:2]>/<sha256>       the bytes of a file version, exactly as read (written once, never changed)
    sources/<fingerprint>.json     the source configuration a fingerprint stands for (how its files were staged)
    landing_files.parquet          the warehouse's registry (path, SHA-256, fingerprint, first seen at, outcome),
                                   replaced after each ingest step commits
    history/<table>.parquet        what past runs did that no input can give back (RUN_HISTORY_TABLES), replaced
                                   after the publish and notify steps commit

The warehouse is derived from these: `ce-compliance rebuild` stages every registered version again
from its archived bytes under its recorded configuration, so a lost or corrupt warehouse comes back
with its whole history and every as-of rerun stays possible, and the run history comes back as it was: the
roster guard's baseline, the compliance trend, and every message sent (so nothing is sent twice).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import threading

import duckdb
import polars as pl

from pipelines.settings import InputSource

REGISTRY = "landing_files.parquet"
# Tables that persist between runs and that no input can give back: the roster guard's counts and the runs
# whose site was published (its baseline), the compliance trend, and the notify step's log.
RUN_HISTORY_TABLES = (
    "roster_checks",
    "published_runs",
    "compliance_history",
    "notification_messages",
    "notification_items",
    "notification_digest_statuses",
)


class ArchiveError(RuntimeError):
    """The archive cannot give back what a rebuild needs; the message names the folder."""


def _write_once(target: pathlib.Path, data: bytes) -> None:
    """Write `target` whole or not at all (a temporary file, flushed to disk, renamed into place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    with temporary.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, target)


def file_path(archive_dir: pathlib.Path, sha256: str) -> pathlib.Path:
    return archive_dir / "files" / sha256[:2] / sha256


def keep_file(archive_dir: pathlib.Path, sha256: str, data: bytes) -> None:
    """Archive a file version's bytes unless they are there already (content-addressed: same name, same bytes)."""
    target = file_path(archive_dir, sha256)
    if not target.exists():
        _write_once(target, data)


def read_file(archive_dir: pathlib.Path, sha256: str) -> bytes | None:
    """The archived bytes of a version; None when they are missing or no longer hash to their name."""
    try:
        data = file_path(archive_dir, sha256).read_bytes()
    except FileNotFoundError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def keep_source(archive_dir: pathlib.Path, fingerprint: str, source: InputSource) -> None:
    target = archive_dir / "sources" / f"{fingerprint}.json"
    if not target.exists():
        _write_once(target, json.dumps(dataclasses.asdict(source), sort_keys=True, indent=1).encode())


def read_source(archive_dir: pathlib.Path, fingerprint: str) -> InputSource | None:
    try:
        return InputSource(**json.loads((archive_dir / "sources" / f"{fingerprint}.json").read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def keep_registry(con: duckdb.DuckDBPyConnection, archive_dir: pathlib.Path) -> None:
    """Replace the archive's copy of the registry with the warehouse's (call it once the registry is committed)."""
    target = archive_dir / REGISTRY
    temporary = target.with_name(f".{REGISTRY}.{os.getpid()}.tmp")
    archive_dir.mkdir(parents=True, exist_ok=True)
    con.sql("select * from landing_files order by input_kind, source_file, first_seen_at").pl().write_parquet(temporary)
    os.replace(temporary, target)


def keep_run_history(con: duckdb.DuckDBPyConnection, archive_dir: pathlib.Path) -> None:
    """Replace the archive's copies of the run-history tables the warehouse holds (call it once they are committed)."""
    existing = {name for (name,) in con.execute("select table_name from duckdb_tables() where schema_name = 'main'").fetchall()}
    folder = archive_dir / "history"
    folder.mkdir(parents=True, exist_ok=True)
    for table in RUN_HISTORY_TABLES:
        if table in existing:
            temporary = folder / f".{table}.parquet.{os.getpid()}.tmp"
            con.sql(f"select * from {table}").pl().write_parquet(temporary)
            os.replace(temporary, folder / f"{table}.parquet")


def restore_run_history(con: duckdb.DuckDBPyConnection, archive_dir: pathlib.Path) -> dict[str, int]:
    """Create the run-history tables the archive holds in an empty warehouse; returns rows per table restored."""
    restored = {}
    for table in RUN_HISTORY_TABLES:
        kept = archive_dir / "history" / f"{table}.parquet"
        if kept.is_file():
            con.execute(f"create table {table} as select * from read_parquet(?)", [str(kept)])
            [(restored[table],)] = con.execute(f"select count(*) from {table}").fetchall()
    return restored


def read_registry(archive_dir: pathlib.Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(archive_dir / REGISTRY)
    except FileNotFoundError:
        raise ArchiveError(
            f"the landing archive {archive_dir} holds no registry ({REGISTRY}): no run has archived its landing files there"
        ) from None

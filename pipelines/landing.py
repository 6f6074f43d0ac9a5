"""The landing folder's history in the warehouse: every file version seen, and its staged rows.

A file version is its content (SHA-256) read under one source configuration (its fingerprint). Each
version is parsed once, when first seen, and its staged rows are kept; a nightly run then parses
only what is new. The same history lets a rerun for a past as-of date stage the versions that
existed on that date (see sql/run_input_files.sql).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import pathlib
from collections.abc import Iterator

import duckdb
import polars as pl

from pipelines import archive
from pipelines.ingestion import (
    FILE_RECORD_SCHEMA,
    FileUnavailable,
    IngestedSource,
    LandingPath,
    SourceFile,
    discover_files,
    ingest_files,
    load_file,
    source_fingerprint,
    unavailable_record,
)
from pipelines.run_lock import WarehouseBusyError, WarehouseRunLock
from pipelines.settings import InputSource
from pipelines.warehouse import create_view, run_sql

REGISTRY_DDL = """
create table if not exists landing_files (
    input_kind varchar, input_name varchar, source_file varchar, sha256 varchar, config_fingerprint varchar,
    first_seen_at timestamp, status varchar, reason varchar, rejected_column varchar, rows_read bigint,
    reason_code varchar
)
"""
# The staged table of each input kind with a landing history; its rows of every version are in `<table>_versions`.
STAGED_TABLES = {
    "roster": "staged_roster",
    "provider": "staged_ce_credits",
    "adjustments": "staged_adjustments",
    "course_catalog": "staged_course_catalog",
}
LISTING_SCHEMA = {"source_file": pl.String, "input_name": pl.String, "sha256": pl.String, "config_fingerprint": pl.String}


@dataclasses.dataclass(frozen=True)
class StagedRun:
    files: pl.DataFrame  # the run's files: FILE_RECORD_SCHEMA
    files_parsed: int  # versions read this time; the others came from the warehouse
    rows: int


def _create_registry(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(REGISTRY_DDL)
    con.execute("alter table landing_files add column if not exists reason_code varchar")  # warehouses before it


def _known_versions(con: duckdb.DuckDBPyConnection, input_kind: str) -> pl.DataFrame:
    return con.sql(
        "select distinct on (sha256, config_fingerprint) sha256, config_fingerprint, status, reason, rejected_column, rows_read, reason_code "
        "from landing_files where input_kind = ? order by sha256, config_fingerprint, first_seen_at",
        params=[input_kind],
    ).pl()


def _forget_history_staged_differently(con, input_kind: str, versions_table: str, staged_shape: pl.DataFrame) -> None:
    """Kept rows staged by an older version of the code (other columns) cannot be reused: parse again."""
    expected = [*staged_shape.columns, "config_fingerprint"]
    kept = [row[0] for row in con.execute("select column_name from information_schema.columns where table_name = ? order by ordinal_position", [versions_table]).fetchall()]
    if kept and kept != expected:
        con.execute(f"drop table {versions_table}")
        con.execute("delete from landing_files where input_kind = ?", [input_kind])


def _with_fingerprint(frame: pl.DataFrame, fingerprint: str | None) -> pl.DataFrame:
    return frame.with_columns(pl.lit(fingerprint, pl.String).alias("config_fingerprint"))


def _append_rows(con: duckdb.DuckDBPyConnection, versions_table: str, rows: pl.DataFrame) -> None:
    # Arrow's string views, as Polars holds them: no copy of the millions of text cells on the way in. A relation,
    # not con.register: inside the step's transaction DuckDB keeps each registered object alive until the commit,
    # which held every parsed file in memory at once (2 GB at 100k clinicians, growing with the landing folder).
    parsed = con.from_arrow(rows.to_arrow(compat_level=pl.CompatLevel.newest()))
    parsed.query("parsed_rows", f"create table if not exists {versions_table} as select * from parsed_rows limit 0")
    parsed.query("parsed_rows", f"insert into {versions_table} by name select * from parsed_rows")


@contextlib.contextmanager
def _one_insert_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Inserts on one thread fill the table's row groups one after the other. Parallel inserts leave each
    file's rows ending in a partly filled row group, and the next checkpoint (the close of this step, or of
    any later one) rewrites them all to merge those: 2-5 s at 100k clinicians. The thread left over parses
    the next file meanwhile."""
    threads = con.execute("select current_setting('threads')").fetchone()[0]
    con.execute("set threads = 1")
    yield
    # Not in a `finally`: after a failed insert the transaction is aborted, DuckDB refuses any SET, and that
    # error would hide the real one; the step closes the connection anyway.
    con.execute(f"set threads = {threads}")


@dataclasses.dataclass(frozen=True)
class _Taken:
    """One landing path after reading: its listing row (None: its bytes were not had), and its parse when new."""

    listing: tuple[str, str, str, str] | None
    parsed: IngestedSource | None = None
    fingerprint: str | None = None
    unavailable: dict | None = None


def _take_one_ahead(
    landing_dir: pathlib.Path,
    archive_dir: pathlib.Path,
    entries: list[tuple[InputSource, LandingPath]],
    fingerprints: dict[str, str],
    seen: set[tuple[str, str]],
    input_kind: str,
    now: dt.datetime,
) -> Iterator[_Taken]:
    """Each file read once, hashed, archived, and parsed from the same bytes when its version is new, in order;
    the next file is read on another thread while the caller writes this one, so about two files are in
    memory at once, however many the landing folder holds. `seen` grows on that one thread, in path order."""

    def take(source: InputSource, entry: LandingPath) -> _Taken:
        try:
            file = load_file(landing_dir, entry)
            archive.keep_file(archive_dir, file.sha256, file.data)
            fingerprint = fingerprints[source.name]
            listing = (file.relative, source.name, file.sha256, fingerprint)
            if (file.sha256, fingerprint) in seen:
                return _Taken(listing)
            parsed = ingest_files([(source, file)], input_kind, now)
        except FileUnavailable as error:  # not read, or not parsed for want of memory: not remembered
            return _Taken(listing=None, unavailable=unavailable_record(input_kind, source, entry, error))
        seen.add((file.sha256, fingerprint))
        return _Taken(listing, parsed, fingerprint)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as reader:
        taking = None
        for source, entry in entries:
            taken_before, taking = taking, reader.submit(take, source, entry)
            if taken_before is not None:
                yield taken_before.result()
        if taking is not None:
            yield taking.result()


def stage_incrementally(
    con: duckdb.DuckDBPyConnection,
    landing_dir: pathlib.Path,
    sources: tuple[InputSource, ...],
    input_kind: str,
    staged_table: str,
    history_cutoff: dt.datetime | None,
    now: dt.datetime,
    archive_dir: pathlib.Path,
) -> StagedRun:
    """Parse the versions not seen before, remember them (their bytes in the landing archive), and point
    `staged_table` at this run's files: the folder as it is, or with `history_cutoff` (an as-of rerun, see
    Settings.history_cutoff) the versions first seen before that instant.

    `staged_table` becomes a view over `<staged_table>_versions`, which holds the rows of every version.
    """
    if STAGED_TABLES.get(input_kind) != staged_table:
        raise ValueError(f"{input_kind} files are staged into {STAGED_TABLES.get(input_kind)}, where a rebuild restores them, not {staged_table}")
    fingerprints = {source.name: source_fingerprint(source) for source in sources}
    for source in sources:
        archive.keep_source(archive_dir, fingerprints[source.name], source)
    entries = [(source, entry) for source in sources for entry in discover_files(landing_dir, source)]
    versions_table = f"{staged_table}_versions"
    _create_registry(con)
    empty = ingest_files([], input_kind, now)
    _forget_history_staged_differently(con, input_kind, versions_table, empty.rows)
    known = _known_versions(con, input_kind)
    seen = set(zip(known.get_column("sha256").to_list(), known.get_column("config_fingerprint").to_list(), strict=True))
    _append_rows(con, versions_table, _with_fingerprint(empty.rows, None))
    parsed_files = [_with_fingerprint(empty.files, None)]
    listing_rows, unavailable = [], []
    with _one_insert_thread(con):
        for taken in _take_one_ahead(landing_dir, archive_dir, entries, fingerprints, seen, input_kind, now):
            if taken.unavailable is not None:
                unavailable.append({**taken.unavailable, "config_fingerprint": None, "first_seen_at": now})
                continue
            listing_rows.append(taken.listing)
            if taken.parsed is not None:
                _append_rows(con, versions_table, _with_fingerprint(taken.parsed.rows, taken.fingerprint))
                parsed_files.append(_with_fingerprint(taken.parsed.files, taken.fingerprint))
    listing = pl.DataFrame(listing_rows, schema=LISTING_SCHEMA, orient="row")
    # A file whose bytes we did not get (a link, a vanished or unreadable file) is in this run's files only:
    # never in the history, so nothing is remembered of it and the next run looks again.
    unavailable_files = pl.DataFrame(
        unavailable, schema={**FILE_RECORD_SCHEMA, "config_fingerprint": pl.String, "first_seen_at": pl.Datetime("us")}
    )
    con.register("parsed_files", pl.concat(parsed_files).to_arrow())
    con.register("listing", listing.to_arrow())
    con.register("unavailable_files", unavailable_files.to_arrow())
    try:
        run_sql(con, "register_landing_files", input_kind=input_kind, now=now)
        con.execute("create table if not exists run_input_files as select * from landing_files limit 0")
        con.execute("alter table run_input_files add column if not exists reason_code varchar")
        con.execute("delete from run_input_files where input_kind = ?", [input_kind])
        run_sql(con, "run_input_files", input_kind=input_kind, history_cutoff=history_cutoff)
    finally:
        for name in ("parsed_files", "listing", "unavailable_files"):
            con.unregister(name)
    create_view(
        con,
        staged_table,
        f"""
        select
            run_files.source_file,
            versions.file_sha256,
            run_files.first_seen_at as ingested_at,
            versions.* exclude (source_file, file_sha256, ingested_at, config_fingerprint)
        from {versions_table} as versions
        inner join run_input_files as run_files
            on run_files.sha256 = versions.file_sha256
            and run_files.config_fingerprint = versions.config_fingerprint
        where run_files.input_kind = '{input_kind}'
        """
    )
    files = con.sql(
        f"select {', '.join(FILE_RECORD_SCHEMA)} from run_input_files where input_kind = ? order by source_file", params=[input_kind]
    ).pl()
    rows = con.execute(f"select count(*) from {staged_table}").fetchone()[0]
    return StagedRun(files=files, files_parsed=len(parsed_files) - 1, rows=rows)



@dataclasses.dataclass(frozen=True)
class RestoredHistory:
    versions: int  # file versions registered again
    rows: int  # their staged rows
    lost: list[str]  # "<file> (<sha256>)" of versions the archive could not give back


def restore_history(con: duckdb.DuckDBPyConnection, archive_dir: pathlib.Path, now: dt.datetime) -> RestoredHistory:
    """Fill an empty warehouse's landing history from the archive: each registered version staged again from
    its archived bytes under the configuration it was first staged with, and the registry as it was (paths,
    first_seen_at, outcomes). A version whose bytes or configuration are missing is left out and named: its
    file, if still delivered, is then a new version to the next run."""
    registry = archive.read_registry(archive_dir).sort("input_kind", "first_seen_at", "source_file")
    _create_registry(con)
    kept, lost, rows = [], [], 0
    with _one_insert_thread(con):
        for (input_kind,), entries in registry.group_by("input_kind", maintain_order=True):
            versions_table = f"{STAGED_TABLES[input_kind]}_versions"
            _append_rows(con, versions_table, _with_fingerprint(ingest_files([], input_kind, now).rows, None))
            for (sha256, fingerprint), version in entries.group_by("sha256", "config_fingerprint", maintain_order=True):
                first = version.row(0, named=True)
                if first["status"] == "accepted":
                    data, source = archive.read_file(archive_dir, sha256), archive.read_source(archive_dir, fingerprint)
                    if data is None or source is None:
                        lost.append(f"{first['source_file']} ({sha256})")
                        continue
                    file = SourceFile(path=pathlib.Path(first["source_file"]), relative=first["source_file"], sha256=sha256, data=data)
                    parsed = ingest_files([(source, file)], input_kind, now)
                    _append_rows(con, versions_table, _with_fingerprint(parsed.rows, fingerprint))
                    rows += parsed.rows.height
                kept.append(version)
    if kept:
        con.register("restored_registry", pl.concat(kept).to_arrow())
        try:
            con.execute("insert into landing_files by name select * from restored_registry")
        finally:
            con.unregister("restored_registry")
    return RestoredHistory(versions=len(kept), rows=rows, lost=lost)


def rebuild_warehouse(warehouse: pathlib.Path, archive_dir: pathlib.Path) -> list[str]:
    """A new warehouse with the archive's landing history, built beside the old one and renamed into place,
    under the warehouse's run lock; an existing (corrupt) warehouse is set aside as `<name>.corrupt-<UTC
    time>`, never deleted. Returns lines that say what was done; raises RebuildError."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    lock = WarehouseRunLock(warehouse, "rebuild")
    try:
        lock.acquire()
        archive.read_registry(archive_dir)  # fail before anything moves when there is nothing to rebuild from
        building = warehouse.with_name(f"{warehouse.name}.rebuilding")
        for leftover in (building, building.with_name(f"{building.name}.wal")):
            leftover.unlink(missing_ok=True)
        con = duckdb.connect(str(building))
        try:
            con.execute("begin transaction")
            restored = restore_history(con, archive_dir, now)
            con.execute("commit")
        finally:
            con.close()
        lines = [f"Rebuilt {warehouse} from {archive_dir}: {restored.versions} file version(s), {restored.rows} staged row(s)"]
        if warehouse.exists():
            aside = warehouse.with_name(f"{warehouse.name}.corrupt-{now:%Y%m%dT%H%M%SZ}")
            for old, new in ((warehouse, aside), (warehouse.with_name(f"{warehouse.name}.wal"), aside.with_name(f"{aside.name}.wal"))):
                if old.exists():
                    old.rename(new)
            lines.append(f"The previous warehouse file is kept as {aside}")
        building.rename(warehouse)
    except (archive.ArchiveError, WarehouseBusyError, FileUnavailable) as error:
        raise RebuildError(f"{error}; the warehouse was not changed") from None
    finally:
        lock.release()
    return lines + [f"  not in the archive, left out: {version}" for version in restored.lost]


class RebuildError(RuntimeError):
    """The warehouse could not be rebuilt (no archive, or a run holds the warehouse); nothing was changed."""

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

from pipelines.ingestion import FILE_RECORD_SCHEMA, IngestedSource, SourceFile, discover_files, ingest_files, source_fingerprint
from pipelines.settings import InputSource
from pipelines.warehouse import create_view, run_sql

REGISTRY_DDL = """
create table if not exists landing_files (
    input_kind varchar, input_name varchar, source_file varchar, sha256 varchar, config_fingerprint varchar,
    first_seen_at timestamp, status varchar, reason varchar, rejected_column varchar, rows_read bigint
)
"""
LISTING_SCHEMA = {"source_file": pl.String, "input_name": pl.String, "sha256": pl.String, "config_fingerprint": pl.String}


@dataclasses.dataclass(frozen=True)
class StagedRun:
    files: pl.DataFrame  # the run's files: FILE_RECORD_SCHEMA
    files_parsed: int  # versions read this time; the others came from the warehouse
    rows: int


def _known_versions(con: duckdb.DuckDBPyConnection, input_kind: str) -> pl.DataFrame:
    return con.sql(
        "select distinct on (sha256, config_fingerprint) sha256, config_fingerprint, status, reason, rejected_column, rows_read "
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


def _parsed_one_ahead(files: list[tuple[InputSource, SourceFile]], input_kind: str, now: dt.datetime) -> Iterator[IngestedSource]:
    """Each file read and staged, in order; the next file is parsed on another thread while the caller
    writes this one, so about two files are in memory at once, however many the landing folder holds."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as parser:
        parsing = None
        for file in files:
            parsed_before, parsing = parsing, parser.submit(ingest_files, [file], input_kind, now)
            if parsed_before is not None:
                yield parsed_before.result()
        if parsing is not None:
            yield parsing.result()


def stage_incrementally(
    con: duckdb.DuckDBPyConnection,
    landing_dir: pathlib.Path,
    sources: tuple[InputSource, ...],
    input_kind: str,
    staged_table: str,
    as_of: dt.date,
    now: dt.datetime,
) -> StagedRun:
    """Parse the versions not seen before, remember them, and point `staged_table` at this run's files.

    `staged_table` becomes a view over `<staged_table>_versions`, which holds the rows of every version.
    """
    fingerprints = {source.name: source_fingerprint(source) for source in sources}
    on_disk = [(source, file) for source in sources for file in discover_files(landing_dir, source)]
    listing = pl.DataFrame(
        [(f.relative, s.name, f.sha256, fingerprints[s.name]) for s, f in on_disk], schema=LISTING_SCHEMA, orient="row"
    )
    versions_table = f"{staged_table}_versions"
    con.execute(REGISTRY_DDL)
    empty = ingest_files([], input_kind, now)
    _forget_history_staged_differently(con, input_kind, versions_table, empty.rows)
    known = _known_versions(con, input_kind)
    seen = set(zip(known.get_column("sha256").to_list(), known.get_column("config_fingerprint").to_list(), strict=True))
    new: dict[tuple[str, str], tuple[InputSource, SourceFile]] = {}
    for source, file in on_disk:
        version = (file.sha256, fingerprints[source.name])
        if version not in seen:
            new.setdefault(version, (source, file))
    _append_rows(con, versions_table, _with_fingerprint(empty.rows, None))
    parsed_files = [_with_fingerprint(empty.files, None)]
    with _one_insert_thread(con):
        for (_, fingerprint), parsed in zip(new, _parsed_one_ahead(list(new.values()), input_kind, now), strict=True):
            _append_rows(con, versions_table, _with_fingerprint(parsed.rows, fingerprint))
            parsed_files.append(_with_fingerprint(parsed.files, fingerprint))
    con.register("parsed_files", pl.concat(parsed_files).to_arrow())
    con.register("listing", listing.to_arrow())
    try:
        run_sql(con, "register_landing_files", input_kind=input_kind, now=now)
        con.execute("create table if not exists run_input_files as select * from landing_files limit 0")
        con.execute("delete from run_input_files where input_kind = ?", [input_kind])
        run_sql(con, "run_input_files", input_kind=input_kind, as_of=as_of, today=now.date())
    finally:
        for name in ("parsed_files", "listing"):
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
    return StagedRun(files=files, files_parsed=len(new), rows=rows)


"""The embedded DuckDB warehouse: SQL files run by name, Polars frames in and out through Arrow."""

from __future__ import annotations

import functools
import pathlib

import duckdb
import polars as pl

SQL_DIR = pathlib.Path(__file__).parent / "sql"


@functools.cache
def read_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def run_sql(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> None:
    """Run `sql/<name>.sql`; its `$param` placeholders bind to `params`."""
    con.execute(read_sql(name), params or None)


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Replace `table` (a name from our code, never from data) with the frame's rows."""
    con.register("incoming_frame", frame.to_arrow())
    try:
        con.execute(f"create or replace table {table} as select * from incoming_frame")
    finally:
        con.unregister("incoming_frame")


def table_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]

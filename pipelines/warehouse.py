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


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table or view called `name`, whichever it is: a warehouse written by an older
    version may hold as a table what is now a view, and DuckDB drops each only by its own kind."""
    found = con.execute(
        "select table_type from information_schema.tables where table_schema = current_schema() and table_name = ?", [name]
    ).fetchone()
    if found:
        con.execute(f"drop {'view' if found[0] == 'VIEW' else 'table'} {name}")


def create_view(con: duckdb.DuckDBPyConnection, name: str, select_sql: str) -> None:
    """(Re)create the view `name` (a name from our code) over `select_sql`."""
    drop_relation(con, name)
    con.execute(f"create view {name} as {select_sql}")


def table_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]

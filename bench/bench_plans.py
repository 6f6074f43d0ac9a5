"""Learning plans at scale: prints people planned, distinct gap signatures (each planned once)
and the planner's wall time, on one core and on two. Asserts nothing.

    python bench/bench_plans.py [--clinicians 100000] [--courses 200] [--work /tmp/ce-bench-plans]

It writes a sample deployment of that size (pipelines.sample_generator), widens its course catalog to
`--courses` courses (the sample's courses plus seeded variants: other hours, prices, formats and
approvals), runs the whole pipeline once with the CLI, then times the planner alone on the warehouse
it left (reading its inputs from DuckDB is timed separately).
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import time

import duckdb
import numpy as np
import polars as pl

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import sample_generator  # noqa: E402
from pipelines.planning import catalog_of, plan_organisation  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402
from pipelines.warehouse import read_sql  # noqa: E402


def widen_catalog(path: pathlib.Path, courses: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = pl.read_csv(path, infer_schema=False).head(len(sample_generator.COURSES))
    picks = base[rng.integers(base.height, size=courses - base.height)]
    formats = list(sample_generator.CATALOG_FORMATS)
    hours = rng.choice([1, 1.5, 2, 3, 4, 6, 8, 10, 12], size=picks.height)
    variants = picks.with_columns(
        pl.format("{}-V{}", pl.col("Course Code"), pl.int_range(pl.len()).cast(pl.String).str.zfill(3)).alias("Course Code"),
        (pl.col("Title") + ": Module " + pl.int_range(1, pl.len() + 1).cast(pl.String)).alias("Title"),
        pl.Series("CE Hours", [f"{h:g}" for h in hours]),
        pl.Series("Format", rng.choice(formats, size=picks.height)),
        pl.Series("Price", [f"{p:.2f}" for p in (hours * rng.uniform(6, 30, size=picks.height)).round(0)]),
    )
    pl.concat([base, variants]).write_csv(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clinicians", type=int, default=100_000)
    parser.add_argument("--courses", type=int, default=200)
    parser.add_argument("--work", type=pathlib.Path, default=pathlib.Path("/tmp/ce-bench-plans"))
    args = parser.parse_args()

    sample_generator.generate(args.work, args.clinicians, seed=1, bad_rows=False)
    catalog_file = args.work / "landing" / sample_generator.CATALOG_FOLDER / sample_generator.CATALOG_FILE
    widen_catalog(catalog_file, args.courses, seed=1)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--config", str(args.work / "config.yaml")], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"whole pipeline: {time.perf_counter() - started:.1f} s")

    settings = load_settings(args.work / "config.yaml")
    started = time.perf_counter()
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    licenses = con.sql(read_sql("planned_licenses")).pl()
    catalog = catalog_of(con.sql("select * from course_catalog").pl(), con.sql(read_sql("plan_rule_candidates")).pl())
    con.close()
    print(f"planner inputs read from DuckDB: {time.perf_counter() - started:.1f} s ({licenses.height:,} licenses with a gap, {len(catalog.courses)} courses)")
    for workers in (1, 2):
        started = time.perf_counter()
        planned = plan_organisation(licenses, catalog, workers=workers)
        seconds = time.perf_counter() - started
        print(
            f"{workers} core(s): {planned.people:,} people planned, {planned.signatures_solved:,} distinct gap signatures solved, "
            f"{planned.courses.height:,} plan rows, {seconds:.1f} s"
        )


if __name__ == "__main__":
    main()

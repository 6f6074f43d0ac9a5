"""End-to-end benchmark: generate a deployment, run the real pipeline, print seconds, rows/s and peak RSS.

    .venv/bin/python bench/bench_pipeline.py --clinicians 10000,100000 [--seed 1] [--workdir /tmp/ce-bench] [--memory-limit 8GB] [--rules FILE]

For each size: the generator's time (not part of the pipeline), every step's wall seconds as the
command line reports them, the stage totals, credit rows per second, the run's peak RSS, the floor
(DuckDB reading the same CSV inputs as text, nothing else) and the ratio of pipeline and compliance
stage to it, the same files through an analyst's pandas script that only reads and computes
(bench/pandas_baseline.py, in its own process) and how often its statuses agree with the pipeline's, then a
second, "nightly" run as of the next day after 1% new export rows arrive. Prints figures; asserts nothing.
The sizes' totals show how cost grows.
"""

import argparse
import csv
import datetime as dt
import os
import pathlib
import re
import resource
import shutil
import subprocess
import sys
import time

import duckdb

from pipelines.settings import load_settings

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
STEP_LINE = re.compile(r"^\[(?P<stage>\w+)\] (?P<step>\w+) done in (?P<seconds>[\d.]+) s$")


def run(command: list[str]) -> tuple[float, str]:
    # What earlier commands wrote or removed reaches the disk first, not on this command's clock: on a file
    # system mounted with `discard`, removing the last run's 4 GB site made the next run's writes crawl.
    os.sync()
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - started, proc.stdout


def peak_rss_of_children_gb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2


def credit_rows(folder: pathlib.Path) -> int:
    con = duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("select sum(rows_read) from input_files where input_kind = 'provider'").fetchone()[0]
    finally:
        con.close()


def floor_seconds(folder: pathlib.Path) -> float:
    """DuckDB reading every CSV input as text into a table: the least any pipeline must pay.
    DuckDB reads no Windows-1252 offline, so those files are converted to UTF-8 first (untimed)."""
    utf8 = folder / "floor-utf8"
    files = []
    for path in sorted((folder / "landing").rglob("*.csv")):
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            copy = utf8 / path.relative_to(folder / "landing")
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(data.decode("cp1252").encode("utf-8"))
            path = copy
        files.append(str(path))
    con = duckdb.connect()
    os.sync()  # as in run()
    started = time.perf_counter()
    for path in files:
        con.execute("create or replace temp table raw as select * from read_csv(?, all_varchar = true)", [path])
    seconds = time.perf_counter() - started
    con.close()
    shutil.rmtree(utf8, ignore_errors=True)
    return seconds


def pandas_baseline(folder: pathlib.Path) -> tuple[float, float]:
    """The analyst's script on the same files, in its own process: (wall seconds, share of licenses whose
    status it gives as the pipeline does)."""
    out = folder / "pandas-statuses.csv"
    seconds, _ = run([sys.executable, str(ROOT / "bench" / "pandas_baseline.py"), str(folder / "config.yaml"), "--out", str(out)])
    key = ["employee_id", "license_state", "license_type", "license_number"]
    con = duckdb.connect()
    [(agree, total)] = con.execute(
        f"""
        select count(*) filter (where theirs.status = ours.status), count(*)
        from read_csv(?, all_varchar = true) as ours
        left join read_csv(?, all_varchar = true) as theirs using ({", ".join(key)})
        where ours.status <> 'not_evaluated'
        """,
        [str(folder / "published" / "latest" / "clinician_compliance.csv"), str(out)],
    ).fetchall()
    con.close()
    return seconds, agree / total if total else 1.0


def add_new_rows(folder: pathlib.Path, share: float) -> int:
    """A new export file holding `share` of the newest LMS file's rows again, under new course codes."""
    newest = sorted((folder / "landing" / "providers" / "lms").glob("*.csv"))[-1]
    with newest.open(newline="", encoding="cp1252") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    wanted = max(1, int(credit_rows(folder) * share))
    code = header.index("Course Code")
    extra = [row[:code] + [f"NEW-{i}"] + row[code + 1:] for i, row in enumerate((body * (wanted // len(body) + 1))[:wanted])]
    with (newest.parent / "lms_nightly_new.csv").open("w", newline="", encoding="cp1252") as f:
        csv.writer(f).writerows([header, *extra])
    return wanted


def pipeline_run(folder: pathlib.Path, as_of: dt.date | None = None) -> tuple[float, dict[str, float], dict[str, float]]:
    as_of_option = ["--as-of", as_of.isoformat()] if as_of else []
    seconds, output = run([str(BIN / "ce-compliance"), "run", "--config", str(folder / "config.yaml"), *as_of_option])
    steps, stages = {}, {}
    for line in output.splitlines():
        if match := STEP_LINE.match(line.strip()):
            steps[match["step"]] = float(match["seconds"])
            stages[match["stage"]] = stages.get(match["stage"], 0.0) + float(match["seconds"])
    return seconds, steps, stages


def bench(clinicians: int, seed: int, workdir: pathlib.Path, memory_limit: str | None, rules: pathlib.Path | None) -> dict:
    folder = workdir / f"{clinicians}"
    shutil.rmtree(folder, ignore_errors=True)
    generate_seconds, _ = run([sys.executable, "-m", "pipelines.sample_generator", "--clinicians", str(clinicians), "--seed", str(seed), "--out", str(folder), "--no-bad-rows"])
    if rules:  # the same people and credits under another catalog
        shutil.copyfile(rules, folder / "rules.yaml")
    if memory_limit:
        with (folder / "config.yaml").open("a", encoding="utf-8") as config:
            config.write(f"warehouse_memory_limit: {memory_limit}\n")
    total, steps, stages = pipeline_run(folder)
    rss = peak_rss_of_children_gb()
    rows = credit_rows(folder)
    floor = floor_seconds(folder)
    pandas_seconds, agreement = pandas_baseline(folder)
    new_rows = add_new_rows(folder, 0.01)
    next_day = load_settings(folder / "config.yaml").resolved_as_of() + dt.timedelta(days=1)
    nightly_total, nightly_steps, nightly_stages = pipeline_run(folder, next_day)

    print(f"\n== {clinicians:,} clinicians, {rows:,} credit rows (generated in {generate_seconds:.1f} s)")
    print(f"   {'step':<28} {'full':>7}   {'nightly':>7}")
    for step, seconds in steps.items():
        print(f"   {step:<28} {seconds:7.1f} s {nightly_steps.get(step, 0.0):7.1f} s")
    for stage, seconds in stages.items():
        print(f"   stage {stage:<22} {seconds:7.1f} s   {rows / seconds if seconds else 0:12,.0f} credit rows/s")
    print(f"   total (process wall)         {total:7.1f} s   {rows / total:12,.0f} credit rows/s")
    print(f"   peak RSS (largest run so far) {rss:6.2f} GB")
    print(f"   floor: DuckDB reads the CSV inputs as text in {floor:.1f} s; pipeline / floor = {total / floor:.1f}x, compliance stage / floor = {stages.get('compliance', 0) / floor:.1f}x")
    print(f"   pandas read-and-compute script: {pandas_seconds:.1f} s; pipeline / pandas = {total / pandas_seconds:.2f}x "
          f"(its statuses agree with the pipeline's for {100 * agreement:.1f}% of the evaluated licenses: it leaves out the rule shapes)")
    print(f"   nightly run with {new_rows:,} new rows (1%): {nightly_total:.1f} s = {100 * nightly_total / total:.0f}% of the full run "
          + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in nightly_stages.items()))
    return {"clinicians": clinicians, "rows": rows, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clinicians", default="10000,100000", help="comma-separated sizes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("/tmp/ce-bench"))
    parser.add_argument("--memory-limit", help="the deployments' warehouse_memory_limit (DuckDB's default: 80%% of RAM)")
    parser.add_argument("--rules", type=pathlib.Path, help="a rules catalog to run the generated deployments under (default: the sample catalog)")
    args = parser.parse_args()
    results = [bench(int(size), args.seed, args.workdir, args.memory_limit, args.rules) for size in args.clinicians.split(",")]
    if len(results) > 1:
        print("\n== growth")
        base = results[0]
        for result in results:
            size_ratio = result["rows"] / base["rows"]
            time_ratio = result["total"] / base["total"]
            print(f"   {result['clinicians']:>9,} clinicians: {size_ratio:6.1f}x the rows, {time_ratio:6.1f}x the time")


if __name__ == "__main__":
    main()

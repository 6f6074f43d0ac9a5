"""Benchmark: publish a synthetic organisation of 100k clinician licenses with ~4M ledger rows, in about a
thousand clinics of `--clinic-size` licenses and one of `--largest-clinic`.

Prints seconds per phase (load from DuckDB, the ledger's read and write alone, each sheet of the workbook
alone, what the pages need, the clinic pages, the overview, the personal pages), then the whole site without
the personal pages and with them, and the ratio, which is what the personal pages cost (in the whole site the
extracts and manifest are written on a second thread and the workbooks by a second process while the pages
render, and the personal pages take the ledger's batches as its CSV is written), and page and workbook
sizes. Then, in headless Chromium (Debian's, /usr/bin/chromium), the overview and the largest clinic page,
each the median of three loads in a fresh tab: until the text is painted (first contentful paint), until
the page has loaded, and until every chart is drawn. Targets: the 4M-row ledger written in under 10 s; the overview under 2 MB and rendered in
under 2 s; a 5,000-person clinic page rendered in under 3 s; a 100-person clinic page under 500 KB (sizes
without plotly.min.js).

`--warehouse` publishes a copy of a real pipeline's warehouse instead (e.g. one bench_pipeline.py or
`ce-compliance run` on a generated deployment left).

    .venv/bin/python bench/bench_publish.py [--licenses 100000] [--credits-per-license 40] [--clinic-size 100] [--largest-clinic 5000]
    .venv/bin/python bench/bench_publish.py --warehouse /tmp/ce-bench/100000/warehouse.duckdb
"""

from __future__ import annotations

import argparse
import contextlib
import os
import datetime as dt
import pathlib
import resource
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator

import duckdb

from reports.dashboards import SiteRenderer
from reports.people_pages import person_pages
from reports.extracts import CREDIT_LEDGER, write_csv
from reports.publication import Publication, load_publication, record_history
import reports.site as site_module
from reports.site import build_site
from reports.workbook import STREAMED_ROWS_IN_WORKBOOK, WORKBOOK, write_workbook

AS_OF = dt.date(2026, 11, 25)
# Debian's Chromium as root, with no network to phone home to (as in tests/test_browser.py)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]

# Deterministic synthetic rows: every value derives from the row number through hash().
_GENERATE = """
create table clinician_compliance as
with licenses as (select i, (hash(i) >> 1)::bigint as h from range(getvariable('licenses')) t(i))
select
    getvariable('as_of')::date as as_of_date,
    printf('%07d', i) as employee_id,
    ['María', 'Tom', 'Aisha', 'Li', 'Nguyễn', 'José', 'Grace', 'Omar'][1 + h % 8] as first_name,
    ['García', 'O''Neil', 'Khan', 'Na', 'Văn An', 'Novak', 'Lee', 'Haddad'][1 + (h >> 8) % 8] as last_name,
    case
        when i < getvariable('largest_clinic') then 'Telehealth Hub'
        else printf('Clinic %04d', (i - getvariable('largest_clinic')) // getvariable('clinic_size'))
    end as clinic,
    ['LPC', 'LCSW', 'LMFT', 'LMHC'][1 + (h >> 16) % 4] as license_type,
    ['TX', 'IL', 'NY', 'CA', 'FL', 'OH'][1 + (h >> 20) % 6] as license_state,
    printf('%08d', h % 100000000) as license_number,
    getvariable('as_of')::date - 400 as cycle_start,
    getvariable('as_of')::date + ((h >> 24) % 700)::integer - 100 as cycle_end,
    ((h >> 24) % 700)::integer - 100 as days_remaining,
    30::decimal(18, 4) as required_hours,
    ((h >> 32) % 400 / 10)::decimal(18, 4) as counted_hours,
    greatest(30 - (h >> 32) % 400 / 10, 0)::decimal(18, 4) as hours_remaining,
    case when (h >> 32) % 400 >= 300 then null else 'total;ethics' end as unmet_requirements,
    case
        when (h >> 40) % 50 = 0 then 'not_evaluated'
        when (h >> 32) % 400 >= 300 then 'compliant'
        when ((h >> 24) % 700) < 100 then 'overdue'
        when ((h >> 24) % 700) < 190 then 'at_risk'
        else 'on_track'
    end as status,
    'synthetic' as status_reason,
    'Counselor' as job_title,
    printf('p%d@example.org', i) as email,
    'synthetic rule' as rule_source,
    case when h % 3 = 0 then 'a one-time course the rule does not model' end as rule_not_modeled,
    getvariable('as_of')::date + ((h >> 24) % 700)::integer - 100 + case when h % 97 = 0 then 60 else 0 end as deadline,
    case when h % 5 = 0 then 4 else 0 end::decimal(18, 4) as carried_hours,
    date '2024-01-01' as rule_effective_date,
    getvariable('as_of')::date + ((h >> 24) % 700)::integer - 100 as license_expiration_date
from licenses;

-- the roster rows the publication looks up for quarantined ones: none are
create table staged_roster as
select null::varchar as source_file, null::bigint as source_row, employee_id, first_name, last_name, email, clinic,
    license_state, license_type, license_number
from clinician_compliance limit 0;

create table requirement_progress as
select employee_id, license_state, license_type, license_number, 'total' as requirement, required_hours,
    counted_hours, counted_hours >= required_hours as met, null::varchar as waived_by, 'total' as kind,
    null::varchar as origin, 1 as requirement_order
from clinician_compliance
union all
select employee_id, license_state, license_type, license_number, 'ethics', 6::decimal(18, 4),
    least(counted_hours, 6.5)::decimal(18, 4), counted_hours >= 6, null, 'category', null, 2
from clinician_compliance
union all
select employee_id, license_state, license_type, license_number, 'once_hiv_aids', 7::decimal(18, 4),
    least(counted_hours, 7)::decimal(18, 4), counted_hours >= 7, null, 'once', null, 3
from clinician_compliance;

create table credit_ledger as
with credits as (
    select c.*, c.employee_id::bigint * 100 + k.j as n
    from clinician_compliance c, range(getvariable('credits_per_license')) k(j)
)
select
    employee_id, license_state, license_type, license_number,
    printf('C-%05d', hash(n) % 20000) as course_id,
    case when n % 1000 = 0 then '=HYPERLINK("http://example.com")' else printf('Course %d: Ethics, Law & Practice', n % 5000) end as course_title,
    'Lone Star CE' as provider, 'NBCC' as accreditation,
    cycle_start + (n % 400)::integer as completion_date,
    ((1 + n % 12) / 2)::decimal(18, 4) + 0.25 as hours,
    ['general', 'ethics', 'law', 'cultural_competency'][1 + n % 4] as category,
    ['live', 'live_online', 'self_study'][1 + n % 3] as delivery,
    ((1 + n % 12) / 2)::decimal(18, 4) as counted_hours,
    case when n % 10 = 0 then 'partially_counted' else 'counted' end as decision,
    case when n % 10 = 0 then 'over_cap_self_study' end as reason,
    printf('providers/board/board_%02d.csv', n % 40) as source_file,
    (2 + n % 100000)::integer as source_row,
    'total' as counts_toward, first_name, last_name, clinic
from credits;

create table license_adjustments as
select employee_id, license_state, license_type, license_number, 'extension' as kind, null::varchar as requirement,
    null::decimal(18, 4) as hours, deadline as until, printf('EXT-%d', hash(employee_id) % 10000) as reference,
    true as applied, null::varchar as why_not, 'adjustments/adjustments.csv' as source_file,
    row_number() over (order by employee_id)::integer + 1 as source_row
from clinician_compliance
where deadline > cycle_end;

create table data_quality_exceptions as
select printf('providers/board/board_%02d.csv', i % 40) as source_file, (2 + i)::integer as source_row,
    ['unmatched_clinician', 'completion_date_after_as_of', 'hours_out_of_range'][1 + i % 3] as "check",
    'hours' as "column", '-1' as value, 'synthetic exception' as message,
    ['warned', 'quarantined'][1 + i % 2] as action
from range(20000) t(i);

create table input_files as
select printf('providers/board/board_%02d.csv', i) as source_file, 'provider' as input_kind, 'board' as input_name,
    repeat('a', 64) as sha256, 'accepted' as status, null::varchar as reason, 100000 as rows_read,
    99500 as rows_accepted, 500 as rows_quarantined, getvariable('as_of')::date as newest_row_date
from range(40) t(i);

create table rules_catalog_info as
select 'rules.yaml' as path, 'bench' as version, sha256('rules: []') as sha256, 'rules: []'::blob as data;

create table provider_freshness as
select 'board' as provider, 40 as accepted_files, getvariable('as_of')::date - 3 as newest_row_date, 3 as age_days,
    35 as max_age_days, false as stale;

-- two catalog courses for every license with a gap
create table learning_plans as
select
    c.employee_id, c.first_name, c.last_name, c.clinic, printf('CAT-%03d', (hash(c.employee_id) + n) % 200) as course_id,
    printf('Catalog course %d', n) as course_title, 'Bench CE' as provider, 'NBCC' as accreditation,
    3.0::decimal(18, 4) as hours, ['ethics', 'general'][n + 1] as category, 'live_online' as delivery,
    45.0::decimal(18, 4) as cost, c.license_state || ' ' || c.license_type as licenses, c.cycle_end as complete_by
from clinician_compliance as c, range(2) t(n)
where c.status in ('on_track', 'at_risk', 'overdue');

create table learning_plan_status as
select employee_id, license_state, license_type, license_number, 'closes_gap' as plan, null::varchar as reason
from clinician_compliance
where status in ('on_track', 'at_risk', 'overdue');

create table learning_plan_info as select true as has_catalog, 400::decimal(18, 4) as budget_per_clinician, 'USD' as currency;
"""


def workbook_sheets(path: pathlib.Path) -> list[str]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return workbook.sheetnames
    finally:
        workbook.close()


def kilobytes(path: pathlib.Path) -> str:
    return f"{path.stat().st_size / 1024:,.0f} KB"


def render_seconds(pages: list[pathlib.Path], loads: int = 3) -> dict[pathlib.Path, tuple[float, float, float]]:
    """Per page, the median over `loads` fresh tabs of seconds from navigation until the first contentful paint,
    the load event, and every Plotly chart drawn."""
    from playwright.sync_api import sync_playwright

    seconds = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        for page in pages:
            runs = []
            for _ in range(loads):
                tab = browser.new_page(viewport={"width": 1366, "height": 900})
                started = time.perf_counter()
                tab.goto(page.as_uri(), wait_until="load")
                loaded = time.perf_counter() - started
                tab.wait_for_function(
                    "[...document.querySelectorAll('[data-chart]')].every(b => document.getElementById(b.dataset.chart).querySelector('.main-svg'))"
                )
                drawn = time.perf_counter() - started
                painted = tab.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime") / 1000
                runs.append((painted, loaded, drawn))
                tab.close()
            seconds[page] = tuple(statistics.median(run[i] for run in runs) for i in range(3))
        browser.close()
    return seconds


def generate(warehouse: pathlib.Path, licenses: int, credits_per_license: int, clinic_size: int, largest_clinic: int) -> dt.date:
    with duckdb.connect(str(warehouse)) as con:
        for name, value in {"licenses": licenses, "credits_per_license": credits_per_license,
                            "clinic_size": clinic_size, "largest_clinic": largest_clinic, "as_of": AS_OF}.items():  # fmt: skip
            con.execute(f"set variable {name} = ?", [value])
        con.execute(_GENERATE)
    return AS_OF


def as_of_of(warehouse: pathlib.Path) -> dt.date:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(as_of,)] = con.execute("select distinct as_of_date from clinician_compliance").fetchall()
    return as_of


@contextlib.contextmanager
def _children_peak_rss() -> Iterator[list[int]]:
    """The largest sum of this process's children's peak RSS (KB; VmHWM, which starts again at exec, unlike
    getrusage's figure for children), sampled every 0.2 s while the block runs."""
    peak, done = [0], threading.Event()

    def children_kb() -> int:
        total = 0
        for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                    status = (stat.parent / "status").read_text()
                    total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
            except (OSError, StopIteration, ValueError):
                continue  # ended meanwhile
        return total

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], children_kb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


@contextlib.contextmanager
def _without_personal_pages() -> Iterator[None]:
    """build_site as it was before the personal pages (the ledger then goes to its CSV alone), for the ratio."""
    write_people_pages = site_module._write_people_pages
    site_module._write_people_pages = lambda pages, directory, ledger: None
    try:
        yield
    finally:
        site_module._write_people_pages = write_people_pages


def time_pages(publication: Publication) -> None:
    """The page work alone, in the order build_site does it (no files written)."""
    started = time.perf_counter()
    pages = SiteRenderer(publication)
    print(f"  page data (still needed, plans, budgets): {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for clinic, _, people in pages.clinics():
        pages.clinic_page(clinic, people)
    print(f"  clinic pages rendered ({len(pages.clinics()):,}): {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    pages.overview_page([])
    print(f"  overview rendered: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    people = sum(1 for _ in person_pages(pages, publication.batches(CREDIT_LEDGER)))
    print(f"  personal pages rendered ({people:,}, the ledger read once more for them alone): {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--licenses", type=int, default=100_000)
    parser.add_argument("--credits-per-license", type=int, default=40)
    parser.add_argument("--clinic-size", type=int, default=100)
    parser.add_argument("--largest-clinic", type=int, default=5000, help="licenses of the one large clinic")
    parser.add_argument("--warehouse", type=pathlib.Path, help="publish a copy of this pipeline warehouse instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        tmp = pathlib.Path(tmp)
        warehouse = tmp / "warehouse.duckdb"
        started = time.perf_counter()
        if args.warehouse:
            shutil.copyfile(args.warehouse, warehouse)  # publishing records history: never in the original
            as_of = as_of_of(warehouse)
            print(f"copied warehouse {args.warehouse}: {time.perf_counter() - started:.1f} s")
        else:
            as_of = generate(warehouse, args.licenses, args.credits_per_license, args.clinic_size, min(args.largest_clinic, args.licenses))
            print(f"generated warehouse: {time.perf_counter() - started:.1f} s")

        generated_at = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        with duckdb.connect(str(warehouse)) as con:  # the ledger is read from it while its CSV is written
            record_history(con, as_of, "bench", generated_at)
            publication = load_publication(con, as_of, "bench", generated_at)
            print(f"load from DuckDB (history + every table but the ledger): {time.perf_counter() - started:.1f} s")
            print(f"  licenses {publication.compliance.height:,}, progress rows {publication.progress.height:,}")

            ledger = next(e for e in publication.extracts if e.streams)
            started = time.perf_counter()
            ledger_rows = write_csv(publication.batches(ledger), ledger.columns, tmp / ledger.file)
            print(f"{ledger.file} alone, read from DuckDB as it is written: {time.perf_counter() - started:.1f} s "
                  f"({ledger_rows:,} rows, {kilobytes(tmp / ledger.file)}; target < 10 s)")  # fmt: skip
            for extract in publication.extracts:
                if extract.streams and ledger_rows > STREAMED_ROWS_IN_WORKBOOK:
                    print(f"  {WORKBOOK} sheet {extract.name}: a note ({ledger_rows:,} rows, above {STREAMED_ROWS_IN_WORKBOOK:,})")
                    continue
                started = time.perf_counter()
                rows = write_workbook(tmp / f"{extract.name}.xlsx", [(extract, publication.batches(extract))], as_of, publication.currency)
                print(f"  {WORKBOOK} sheet {extract.name} alone: {time.perf_counter() - started:.1f} s "
                      f"({rows:,} rows, {kilobytes(tmp / f'{extract.name}.xlsx')})")  # fmt: skip
            time_pages(publication)

            started = time.perf_counter()
            with _without_personal_pages():
                build_site(publication, tmp / "site-without-people")
            without = time.perf_counter() - started
            shutil.rmtree(tmp / "site-without-people")
            print(f"whole site without the personal pages: {without:.1f} s")
            site = tmp / "site"
            started = time.perf_counter()
            with _children_peak_rss() as workbooks_rss:
                build_site(publication, site)
            whole = time.perf_counter() - started
            print(f"whole site (extracts, workbooks and manifest beside the pages, {len(list(site.glob('clinics/*.html'))):,} "
                  f"clinic pages, CSVs and workbooks, overview, {len(list(site.glob('people/*.html'))):,} personal pages): "
                  f"{whole:.1f} s = {whole / without:.2f}x the site without them (target <= 1.25x)")  # fmt: skip

        clinic_pages = sorted(site.glob("clinics/*.html"), key=lambda p: p.stat().st_size)
        largest_clinic_page, typical_clinic_page = clinic_pages[-1], clinic_pages[len(clinic_pages) // 2]
        rows_on = {page: page.read_text(encoding="utf-8").count("<tr id=") for page in (largest_clinic_page, typical_clinic_page)}
        print(f"overview index.html: {kilobytes(site / 'index.html')} (target < 2 MB)")
        print(f"largest clinic page {largest_clinic_page.name} ({rows_on[largest_clinic_page]:,} licenses): {kilobytes(largest_clinic_page)}; "
              f"median clinic page {typical_clinic_page.name} ({rows_on[typical_clinic_page]:,}): {kilobytes(typical_clinic_page)} "
              "(target < 500 KB)")  # fmt: skip
        print(f"plotly.min.js, once per site: {kilobytes(site / 'plotly.min.js')}")
        print(f"{WORKBOOK}: {kilobytes(site / WORKBOOK)}, sheets {', '.join(workbook_sheets(site / WORKBOOK))}")
        people = list(site.glob("people/*.html"))
        print(f"personal pages: {sum(p.stat().st_size for p in people) / 1024**2:,.0f} MB, the largest "
              f"{kilobytes(max(people, key=lambda p: p.stat().st_size))}")  # fmt: skip
        targets = {site / "index.html": "overview, target < 2 s", largest_clinic_page: "largest clinic, target < 3 s for 5,000 people"}
        for page, (painted, loaded, drawn) in render_seconds(list(targets)).items():
            print(f"{page.name} in headless Chromium ({targets[page]}): text painted {painted:.2f} s, "
                  f"loaded {loaded:.2f} s, charts drawn {drawn:.2f} s (median of 3)")  # fmt: skip
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.1f} GB, "
              f"the workbooks' processes {workbooks_rss[0] / 1024**2:.1f} GB together")  # fmt: skip


if __name__ == "__main__":
    main()

"""Build a whole site in a staging folder, then publish it atomically (docs/outputs.md).

Layout of `output_dir`:

    <as_of_date>/                    one complete site per as-of date
        index.html                   organisation overview
        clinics/<slug>.html|.csv|.xlsx  one page, and its rows of clinician_compliance as CSV and workbook, per clinic
        people/<employee_id>.html    one page per person with a license (reports/people_pages.py)
        access.json                  whose each clinic and personal page is, for `ce-compliance serve` (reports/access.py)
        <extract>.csv                one per extract (reports/extracts.py: SITE_EXTRACTS)
        ce_compliance.xlsx           every extract, a sheet each (reports/workbook.py)
        rules.yaml, manifest.json    the rules catalog the run used; what the site was built from and holds
        plotly.min.js, site.css, site.js, person.css
                                     shared by the pages, referenced by relative paths
        data-docs/                   the data-quality report, when the quality stage wrote one
    latest -> <as_of_date>           relative symbolic link to the newest site whose as-of date is not after today

A failure at any point leaves `latest` and the site it points at as they were, and no staging folder;
a kill at any point leaves `latest` on a whole site (reports/output_folder.py).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import gc
import importlib.resources
import json
import pathlib
import shutil
from collections.abc import Callable, Iterable, Iterator

import polars as pl

from reports.access import SITE_INDEX, site_index_of
from reports.dashboards import Download, SiteRenderer, clinic_slugs
from reports.extracts import CLINICIAN_COMPLIANCE, CREDIT_LEDGER, MANIFEST, NOTIFICATIONS, RULES_COPY, write_csv, write_extracts, write_manifest, write_rules_copy
from reports.output_folder import LATEST, move_into_place, point_latest, remove, staging_folder
from reports.people_pages import person_pages
from reports.publication import Publication, SharedBatches
from reports.workbook import WORKBOOK, SiteWorkbooks

DATA_DOCS = "data-docs"
# Plotly's basic bundle (bar, scatter, pie: every chart the pages draw), 1.2 MB against the full bundle's 4.7 MB,
# which took 2 s to parse in Chromium on a loaded two-core machine; the same plotly.js version as the figure
# JSON that plotly.py writes (tests/test_publish_site.py holds the two together).
PLOTLY_JS = "vendor/plotly.js-basic-dist-min-4.1.1/plotly-basic.min.js"
# copied into each site, shared by its pages
_ASSETS = {
    "plotly.min.js": PLOTLY_JS,
    "site.css": "templates/site.css",
    "site.js": "templates/site.js",
    "person.css": "templates/person.css",
}


@dataclasses.dataclass(frozen=True)
class PublishedSite:
    site: pathlib.Path
    latest: pathlib.Path
    rows: dict[str, int]  # data rows per output file name (the extracts and the workbook)
    clinic_pages: int


def build_site(
    publication: Publication, directory: pathlib.Path, data_docs_dir: pathlib.Path | None = None
) -> dict[str, int]:
    """Write every file of the site into `directory`; returns data rows per output file (manifest.json's)."""
    (directory / "clinics").mkdir(parents=True)
    (directory / "people").mkdir()
    # DuckDB reads the ledger, Polars writes the CSVs and hashlib hashes them without holding the GIL, so the
    # extracts and the manifest take a second core while the pages render in Python (at 100k licenses: seconds
    # off the stage). The workbooks, which xlsxwriter writes in Python, are written by two more processes,
    # started first: at 100k licenses they take longest.
    # The personal pages take the ledger's batches as its CSV is written, so it is read from DuckDB once.
    with _cyclic_gc_paused(), SiteWorkbooks(publication, directory, clinic_slugs(publication.compliance["clinic"])) as workbooks:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as background:
            ledger = SharedBatches(publication.frames[CREDIT_LEDGER.name])
            shared = dataclasses.replace(publication, frames={**publication.frames, CREDIT_LEDGER.name: ledger})
            extracts = background.submit(write_extracts, shared, directory)
            try:
                pages = SiteRenderer(publication)
                _write_people_pages(pages, directory, ledger.second_reader(first_gone=extracts.done))
            finally:
                ledger.close()
            _write_clinic_files(pages, directory / "clinics")
            rows = extracts.result()
        rows[WORKBOOK] = workbooks.result()
    write_rules_copy(publication, directory)
    write_manifest(publication, directory, rows)

    has_data_docs = data_docs_dir is not None and data_docs_dir.is_dir()
    downloads = [
        Download(e.file, e.file, f"{e.description} ({rows[e.file]:,} rows)", True) for e in publication.extracts
    ]
    sheets = ", ".join(e.name for e in publication.extracts)
    downloads.append(Download(WORKBOOK, WORKBOOK, f"every extract above as an Excel workbook, a sheet each ({sheets})", True))
    downloads.append(Download(RULES_COPY, RULES_COPY, "the rules catalog this site was computed with, as the run read it", True))
    downloads.append(Download(MANIFEST, MANIFEST, "as-of date, rules catalog and input files with their checksums", True))
    if publication.sends_notifications:
        downloads.append(Download(NOTIFICATIONS.file, NOTIFICATIONS.file, NOTIFICATIONS.description, True))
    if has_data_docs:
        index = "index.html" if (data_docs_dir / "index.html").is_file() else ""
        downloads.append(Download(f"{DATA_DOCS}/{index}", "Data Docs", "the data-quality validation report", False))
    (directory / "index.html").write_text(pages.overview_page(downloads), encoding="utf-8")

    for shared, packaged in _ASSETS.items():
        (directory / shared).write_bytes(importlib.resources.files("reports").joinpath(packaged).read_bytes())
    if has_data_docs:
        shutil.copytree(data_docs_dir, directory / DATA_DOCS)
    return rows


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Rendering allocates millions of short-lived objects but next to no reference cycles, while hundreds of
    thousands of row objects stay alive until the last page: Python's full collections, which walk every live
    object, took a third of the pages' time at 100k licenses."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _write_clinic_files(pages: SiteRenderer, directory: pathlib.Path) -> None:
    """Each clinic's page and its rows of clinician_compliance as CSV (its workbook: SiteWorkbooks)."""
    for clinic, slug, people in pages.clinics():
        write_csv([people], CLINICIAN_COMPLIANCE.columns, directory / f"{slug}.csv")
        (directory / f"{slug}.html").write_text(pages.clinic_page(clinic, people), encoding="utf-8")


def _write_people_pages(pages: SiteRenderer, directory: pathlib.Path, ledger: Iterable[pl.DataFrame]) -> None:
    """Each person's page, then access.json: the clinic pages and, per personal page, the person's clinic pages
    and roster emails, which the server decides access by."""
    people = []
    for name, page, clinics, emails in person_pages(pages, ledger):
        (directory / "people" / name).write_text(page, encoding="utf-8")
        people.append((name, [pages.slugs[clinic] for clinic in clinics], emails))
    index = site_index_of(pages.slugs, people)
    (directory / SITE_INDEX).write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def publish(
    publication: Publication,
    output_dir: pathlib.Path,
    data_docs_dir: pathlib.Path | None,
    today: dt.date,
    after_step: Callable[[str], None] | None = None,
) -> PublishedSite:
    """Build the site beside the published ones, switch it into `output_dir/<as_of_date>`, then point `latest`
    at the newest site not after `today`, one atomic rename each (see
    reports/output_folder.py). `after_step` is called with each step's name once it is done."""
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(output_dir, publication.run_id)
    site = output_dir / publication.as_of_date.isoformat()
    done = after_step or (lambda step: None)
    try:
        rows = build_site(publication, staging, data_docs_dir)
        done("site_built")
        move_into_place(staging, site)
        done("site_switched")
        point_latest(output_dir, today, publication.run_id)
        done("latest_switched")
    finally:
        remove(staging)  # the half-built site after a failure, else the site it replaced (or nothing)
    done("old_site_removed")
    return PublishedSite(
        site=site,
        latest=output_dir / LATEST,
        rows=rows,
        clinic_pages=len(list((site / "clinics").glob("*.html"))),
    )

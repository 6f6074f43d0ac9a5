"""Row-level data-quality checks, run with Great Expectations 1.x in-process.

There is no Dagster integration for GX 1.x, so this module is the whole bridge:
``validate_rows`` turns our ``RowExpectation`` declarations into one GX
ExpectationSuite, validates a polars frame with it in bounded batches, and hands
back the exact failing row positions of every expectation (what
``data_quality_exceptions.csv`` lists) plus GX's own validation results (what
Data Docs render). ``merge_suite_results`` joins the results of
several frames validated with one suite (files validated one at a time) into
one, and ``suite_result_to_json`` / ``suite_result_from_json`` keep a result
for later runs. ``write_data_docs`` renders results with GX's own Data Docs
site builder, with the scripts and styles its pages load from public CDNs
served from the Data Docs folder itself (data_docs_vendor/), so that they
work offline.

``great_expectations`` costs about 2 s to import, so it is imported inside the
functions; importing this module stays cheap.

Semantics worth knowing (they are GX's, kept as they are):

* Nulls are never unexpected for Between, InSet or MatchRegex: GX leaves them
  out. A check that must catch missing values declares its own NotBeNull.
* Two expectations with the same class and kwargs are one expectation to GX
  (the suite is a set, ``meta`` is ignored), so ``validate_rows`` refuses them.
* Date columns are compared as timestamps at midnight; a ``datetime.date``
  bound is handed to GX as that midnight ``datetime.datetime``.
* Decimal columns work with Between. They are compared as float64 when that
  is exact (at most 15 significant digits), else as decimal.Decimal objects.
* Examples of unexpected values are JSON-ready: dates as ISO strings,
  decimals as floats, nulls as None.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import datetime
import html
import json
import os
import pathlib
import re
import shutil
import urllib.parse
from collections.abc import Sequence

import numpy
import polars

EXAMPLES_PER_EXPECTATION = 5
# GX keeps this many sampled unexpected values per expectation in a validation result.
GX_PARTIAL_UNEXPECTED = 20


@dataclasses.dataclass(frozen=True)
class RowExpectation:
    check: str  # reason code written into data_quality_exceptions.check
    column: str  # canonical column named in the exception row
    expectation: str  # GX 1.x expectation class name, e.g. "ExpectColumnValuesToBeInSet"
    kwargs: dict  # its arguments: column=..., value_set=..., min_value=..., mostly=...
    action: str  # "quarantined" or "warned"
    message: str  # what was expected, in words


@dataclasses.dataclass(frozen=True)
class ExpectationOutcome:
    expectation: RowExpectation
    success: bool
    element_count: int
    missing_count: int
    unexpected_count: int
    # sorted int64 positions in the validated frame; None in a merged or kept result, whose rows
    # belong to several frames
    failing_rows: numpy.ndarray | None
    examples: list  # a few unexpected values, JSON-serialisable


@dataclasses.dataclass(frozen=True)
class SuiteResult:
    suite_name: str
    outcomes: list[ExpectationOutcome]
    validation_results: list[dict]  # GX ExpectationSuiteValidationResult JSON, one per batch
    # (one for a merged result)


def validate_rows(
    suite_name: str,
    frame: polars.DataFrame,
    expectations: Sequence[RowExpectation],
    batch_rows: int = 250_000,
) -> SuiteResult:
    """Validate ``frame`` with one GX suite built from ``expectations``.

    The frame is converted to pandas and validated ``batch_rows`` rows at a
    time, so memory stays flat as the data grows; failing rows are reported as
    positions in the whole frame. An empty frame is validated once (every
    expectation succeeds on 0 elements) so that Data Docs still show the run.
    Raises ValueError for an unknown expectation class or duplicate
    expectations, and RuntimeError when GX could not evaluate an expectation
    (a wrong column name or an incomparable bound, say): that is a bug in the
    declaration, never a data-quality failure.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    gx = _import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    context = _ephemeral_context(gx)
    suite = gx.ExpectationSuite(name=suite_name)
    for row_expectation in expectations:
        suite.add_expectation(_gx_expectation(gx, row_expectation))
    if len(suite.expectations) != len(expectations):
        raise ValueError(
            f"suite {suite_name!r} declares the same expectation class and kwargs twice; "
            "GX would keep only one of them"
        )
    suite = context.suites.add(suite)
    batch_definition = (
        context.data_sources.add_pandas("frames")
        .add_dataframe_asset(suite_name)
        .add_batch_definition_whole_dataframe("whole frame")
    )

    # GX lists the results of expectations it could not evaluate first, so
    # results are matched to expectations by the id the suite gave them.
    tallies = {expectation.id: _Tally() for expectation in suite.expectations}
    validation_results = []
    # GX filters the whole pandas frame for every metric, so carrying columns
    # no expectation reads costs time for nothing.
    frame = frame.select(_columns_read(expectations))
    fast_path_casts = _fast_path_casts(frame)
    run_id = RunIdentifier(run_name=suite_name, run_time=datetime.datetime.now(datetime.timezone.utc))
    for offset in range(0, max(frame.height, 1), batch_rows):
        pandas_batch = _to_pandas(frame.slice(offset, batch_rows), offset, fast_path_casts)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": pandas_batch})
        suite_result = batch.validate(suite, result_format="COMPLETE")
        for result in suite_result.results:
            tallies[result.expectation_config.id].add(result)
        # What GX's ValidationDefinition.run adds, and which rows the batch held.
        suite_result.meta.update(
            run_id=run_id,
            validation_time=run_id.run_time,
            row_range=[offset, offset + len(pandas_batch)],
        )
        validation_results.append(suite_result.to_json_dict())
        del pandas_batch, batch, suite_result  # one batch in memory at a time

    return SuiteResult(
        suite_name=suite_name,
        outcomes=[
            tally.outcome(row_expectation)
            for tally, row_expectation in zip(tallies.values(), expectations, strict=True)
        ],
        validation_results=validation_results,
    )


def merge_suite_results(suite_name: str, results: Sequence[SuiteResult]) -> SuiteResult:
    """One result for several frames validated with the same expectations, as if they were one.

    Counts are summed and success judged again over the sum (``mostly`` included), examples and
    GX's sampled values are kept up to their limits, and the GX documents become one document
    (one Data Docs page, however many files or batches). Failing row positions are not kept: each
    frame's positions are its own.
    """
    if not results:
        raise ValueError(f"suite {suite_name!r}: nothing to merge")
    expectations = [outcome.expectation for outcome in results[0].outcomes]
    tallies = [_Tally(failing_rows=None) for _ in expectations]
    for result in results:
        if [outcome.expectation for outcome in result.outcomes] != expectations:
            raise ValueError(f"suite {suite_name!r}: only results of the same expectations can be merged")
        for tally, outcome in zip(tallies, result.outcomes, strict=True):
            tally.add_outcome(outcome)
    outcomes = [tally.outcome(expectation) for tally, expectation in zip(tallies, expectations, strict=True)]
    documents = [document for result in results for document in result.validation_results]
    return SuiteResult(suite_name=suite_name, outcomes=outcomes, validation_results=[_merged_document(documents, outcomes)])


def suite_result_to_json(result: SuiteResult) -> str:
    """The result as JSON, failing row positions left out (they belong to the frame validated)."""
    return json.dumps(
        {
            "suite_name": result.suite_name,
            "outcomes": [
                {
                    "check": outcome.expectation.check,
                    "success": outcome.success,
                    "element_count": outcome.element_count,
                    "missing_count": outcome.missing_count,
                    "unexpected_count": outcome.unexpected_count,
                    "examples": outcome.examples,
                }
                for outcome in result.outcomes
            ],
            "validation_results": result.validation_results,
        }
    )


def suite_result_from_json(text: str, expectations: Sequence[RowExpectation] | None = None) -> SuiteResult:
    """A result kept with ``suite_result_to_json``, with the expectations it was validated with;
    without them, its GX documents alone (what Data Docs render)."""
    kept = json.loads(text)
    if expectations is None:
        return SuiteResult(suite_name=kept["suite_name"], outcomes=[], validation_results=kept["validation_results"])
    if [outcome["check"] for outcome in kept["outcomes"]] != [expectation.check for expectation in expectations]:
        raise ValueError(f"the kept result of suite {kept['suite_name']!r} was validated with other expectations")
    return SuiteResult(
        suite_name=kept["suite_name"],
        outcomes=[
            ExpectationOutcome(
                expectation=expectation,
                success=outcome["success"],
                element_count=outcome["element_count"],
                missing_count=outcome["missing_count"],
                unexpected_count=outcome["unexpected_count"],
                failing_rows=None,
                examples=outcome["examples"],
            )
            for expectation, outcome in zip(expectations, kept["outcomes"], strict=True)
        ],
        validation_results=kept["validation_results"],
    )


def _merged_document(documents: list[dict], outcomes: list[ExpectationOutcome]) -> dict:
    """GX's validation result document for the union of the documents' rows."""
    merged = copy.deepcopy(max(documents, key=lambda document: document["meta"]["run_id"]["run_time"]))
    success_by_check = {outcome.expectation.check: outcome.success for outcome in outcomes}
    parts_by_check = collections.defaultdict(list)
    for document in documents:
        for result in document["results"]:
            parts_by_check[result["expectation_config"]["meta"]["check"]].append(result["result"])
    for result in merged["results"]:
        check = result["expectation_config"]["meta"]["check"]
        result["success"] = success_by_check[check]
        result["result"] = _merged_details(parts_by_check[check])
    evaluated = len(merged["results"])
    successful = sum(result["success"] for result in merged["results"])
    merged["success"] = successful == evaluated
    merged["statistics"] = {
        "evaluated_expectations": evaluated,
        "successful_expectations": successful,
        "unsuccessful_expectations": evaluated - successful,
        "success_percent": 100 * successful / evaluated if evaluated else None,
    }
    merged["meta"]["row_range"] = [0, sum(document["meta"]["row_range"][1] - document["meta"]["row_range"][0] for document in documents)]
    return merged


def _percent(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


def _merged_details(parts: list[dict]) -> dict:
    details = copy.deepcopy(parts[0])
    for count in ("element_count", "missing_count", "unexpected_count"):
        if count in details:
            details[count] = sum(part[count] for part in parts)
    elements, unexpected = details["element_count"], details["unexpected_count"]
    if "missing_count" in details:
        missing = details["missing_count"]
        details.update(
            missing_percent=_percent(missing, elements),
            unexpected_percent=_percent(unexpected, elements - missing),
            unexpected_percent_total=_percent(unexpected, elements),
            unexpected_percent_nonmissing=_percent(unexpected, elements - missing),
        )
    else:
        details["unexpected_percent"] = _percent(unexpected, elements)
    details["partial_unexpected_list"] = [value for part in parts for value in part.get("partial_unexpected_list", [])][:GX_PARTIAL_UNEXPECTED]
    counts = collections.Counter()
    for part in parts:
        for entry in part.get("partial_unexpected_counts", []):
            counts[json.dumps(entry["value"])] += entry["count"]
    details["partial_unexpected_counts"] = [
        {"value": json.loads(value), "count": count} for value, count in counts.most_common(GX_PARTIAL_UNEXPECTED)
    ]
    # positions within one part's frame mean nothing in the union
    details.pop("partial_unexpected_index_list", None)
    return details


DATA_DOCS_SITE = "data_docs"


def write_data_docs(results: Sequence[SuiteResult], target_dir: pathlib.Path) -> pathlib.Path:
    """Render ``results`` as a Great Expectations Data Docs site in ``target_dir``.

    GX's own site builder writes an index page, one page per suite and one per
    validated batch, with relative links only, so the folder can be moved.
    Returns the path of its index.html.
    """
    gx = _import_gx()
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    target_dir = pathlib.Path(target_dir).absolute()
    context = _ephemeral_context(gx)
    context.add_data_docs_site(
        DATA_DOCS_SITE,
        {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(target_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    schema = ExpectationSuiteValidationResultSchema()
    for suite_result in results:
        suite_key = ExpectationSuiteIdentifier(name=suite_result.suite_name)
        # The suite's own page, rebuilt from the configurations the results carry.
        context.suites.add(
            gx.ExpectationSuite(
                name=suite_result.suite_name,
                expectations=[r["expectation_config"] for r in suite_result.validation_results[0]["results"]],
            )
        )
        for document in suite_result.validation_results:
            start, stop = document["meta"]["row_range"]
            key = ValidationResultIdentifier(
                expectation_suite_identifier=suite_key,
                run_id=RunIdentifier(**document["meta"]["run_id"]),
                batch_identifier=f"rows-{start}-{stop}",
            )
            context.validation_results_store.set(key, schema.load(_html_safe(document)))
    # Only this site: an ephemeral context also has GX's default `local_site`, in a new folder under the
    # system's temporary directory each time, which building every site filled and never removed.
    context.build_data_docs(site_names=[DATA_DOCS_SITE])
    serve_assets_locally(target_dir)
    index = target_dir / "index.html"
    _add_static_links(index)
    return index


VENDOR = pathlib.Path(__file__).parent / "data_docs_vendor"
# What GX 1.24's page templates load from the network -> the copy in data_docs_vendor (its README says whence).
_VENDORED = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "css/bootstrap.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": "css/bootstrap-prefers-dark.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "css/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": "css/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": "css/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": "css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "css/fontawesome-all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "js/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "js/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "js/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": "js/bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": "js/bootstrap-datepicker.min.js",
}
# GX's logos from its web-assets bucket -> the logo GX ships in its own static folder.
_GX_LOGO = re.compile(r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/(?:logo-long|full_logo_dark)\.png(?:\?[^'\"]*)?")
_VEGA_TAG = re.compile(r'<script src="https://cdn\.jsdelivr\.net/npm/vega(?:-lite|-embed)?@\d+"></script>\n?')
_URL_ATTRIBUTE = re.compile(r'(src|href)="(https?://[^"]+)"')
_SRI = re.compile(r'\s+(?:integrity="[^"]*"|crossorigin="[^"]*")')
# Anything a browser would fetch by itself (not a link to follow): a script, image or frame source, a
# stylesheet or icon link, a CSS url().
_FETCHED_FROM_NETWORK = re.compile(r'src="https?://[^"]*"|<link\b[^>]*href="https?://[^"]*"|url\([\'"]?https?://[^)]*\)')


def serve_assets_locally(site: pathlib.Path) -> None:
    """Copy the vendored scripts, styles and fonts into `site/static/vendor` and point every page at them
    by a relative path (so the folder can still be moved). The integrity and CORS attributes go with the
    CDN URLs: a `crossorigin` script is refused from a file:// page. A page that would still load
    something from the network stops this with its name and the URL."""
    vendor = site / "static" / "vendor"
    shutil.copytree(VENDOR, vendor, ignore=shutil.ignore_patterns("README.md"), dirs_exist_ok=True)
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        if "vegaEmbed(" in text:
            raise RuntimeError(
                f"{page}: this Data Docs page draws a Vega chart, and Vega is not vendored in {VENDOR}: "
                "add vega, vega-lite and vega-embed there (see its README) to publish it"
            )
        to_vendor = pathlib.Path(os.path.relpath(vendor, page.parent)).as_posix()
        to_logo = pathlib.Path(os.path.relpath(site / "static" / "images" / "logo-long.png", page.parent)).as_posix()

        def local(match: re.Match) -> str:
            attribute, url = match.groups()
            return f'{attribute}="{to_vendor}/{_VENDORED[url]}"' if url in _VENDORED else match.group(0)

        text = _VEGA_TAG.sub("", text)
        text = re.sub(r"<(script|link)\b[^>]*>", lambda tag: _SRI.sub("", tag.group(0)) if "https://" in tag.group(0) else tag.group(0), text)
        text = _URL_ATTRIBUTE.sub(local, text)
        text = _GX_LOGO.sub(to_logo, text)
        remote = _FETCHED_FROM_NETWORK.findall(text)
        if remote:
            raise RuntimeError(
                f"{page}: Data Docs would load {remote[0]} from the network; add the file to {VENDOR} and to "
                "_VENDORED in gx_runner.py, so that the pages work offline"
            )
        page.write_text(text, encoding="utf-8")


def _html_safe(document: dict) -> dict:
    """The validation result with the sampled unexpected values HTML-escaped.

    GX writes them into its tables as they are, so a cell holding
    ``<script>`` would run in the published site; every other value on the
    pages (kwargs, notes, names) GX escapes itself.
    """
    document = copy.deepcopy(document)
    for result in document["results"]:
        details = result.get("result") or {}
        details["partial_unexpected_list"] = [_escaped(v) for v in details.get("partial_unexpected_list", [])]
        for count in details.get("partial_unexpected_counts", []):
            count["value"] = _escaped(count["value"])
    return document


def _escaped(value):
    return html.escape(value) if isinstance(value, str) else value


def _add_static_links(index: pathlib.Path) -> None:
    """Add a plain list of every page to GX's index page.

    GX's index draws its table of validation results with bootstrap-table and
    jQuery: where the published site's content policy blocks scripts, that
    table stays empty. The list needs no script.
    """
    site = index.parent
    pages = sorted(path.relative_to(site).as_posix() for path in site.glob("*/**/*.html"))
    items = "".join(
        f'<li><a href="{html.escape(urllib.parse.quote(page))}">{html.escape(page.removesuffix(".html"))}</a></li>'
        for page in pages
    )
    section = f'<section class="container-fluid pl-5 pr-5 pb-4"><h2>All pages</h2><ul>{items}</ul></section>'
    index.write_text(index.read_text(encoding="utf-8").replace("</body>", section + "</body>", 1), encoding="utf-8")


@dataclasses.dataclass
class _Tally:
    """One expectation's counts, summed over the batches."""

    element_count: int = 0
    missing_count: int = 0
    unexpected_count: int = 0
    failing_rows: list | None = dataclasses.field(default_factory=list)  # None: positions not kept
    examples: list = dataclasses.field(default_factory=list)

    def add(self, result) -> None:
        problem = _exception_message(result.exception_info)
        if problem is not None:
            meta = result.expectation_config.meta
            raise RuntimeError(
                f"GX could not evaluate check {meta['check']!r} on column {meta['column']!r}: {problem}"
            )
        # COMPLETE returns every failing row's index and value, and the index
        # list again as a pandas query string. Take them out of GX's result
        # before it is kept: memory would grow with the failing rows,
        # serialising deep-copies them, and Data Docs would print them all.
        # Without them Data Docs show GX's table of sampled values.
        details = result.result
        rows = details.pop("unexpected_index_list", None) or []
        details.pop("unexpected_list", None)
        details.pop("unexpected_index_query", None)
        self.failing_rows.append(numpy.asarray(rows, dtype=numpy.int64))
        self._count(
            details.get("element_count", 0),
            details.get("missing_count", 0),
            details.get("unexpected_count", 0),
            # converted only while examples are still wanted
            _json_values(details.get("partial_unexpected_list", [])) if len(self.examples) < EXAMPLES_PER_EXPECTATION else [],
        )

    def add_outcome(self, outcome: ExpectationOutcome) -> None:
        self._count(outcome.element_count, outcome.missing_count, outcome.unexpected_count, outcome.examples)

    def _count(self, element_count: int, missing_count: int, unexpected_count: int, examples: list) -> None:
        self.element_count += element_count
        self.missing_count += missing_count
        self.unexpected_count += unexpected_count
        if len(self.examples) < EXAMPLES_PER_EXPECTATION:
            self.examples.extend(examples)
            del self.examples[EXAMPLES_PER_EXPECTATION:]

    def outcome(self, expectation: RowExpectation) -> ExpectationOutcome:
        # GX judges `mostly` per batch; judged again here over the whole frame,
        # with GX's rule: the share of considered (non-null, except for
        # NotBeNull) values that were expected must reach `mostly`.
        considered = self.element_count - self.missing_count
        mostly = expectation.kwargs.get("mostly", 1.0)
        success = self.unexpected_count == 0 or (
            considered > 0 and (considered - self.unexpected_count) / considered >= mostly
        )
        return ExpectationOutcome(
            expectation=expectation,
            success=success,
            element_count=self.element_count,
            missing_count=self.missing_count,
            unexpected_count=self.unexpected_count,
            failing_rows=None if self.failing_rows is None else numpy.sort(numpy.concatenate(self.failing_rows)),
            examples=self.examples,
        )


def _import_gx():
    # GX reads this when its context is made; set it before the import, and
    # only if the deployment has not said otherwise.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch under this many bytes (pandas' hash of every row, then md5) only to
    # list it among the batch's markers, and a merged result shows one batch's fingerprint of many. At 100k
    # clinicians that was 2.6 s of the 21 s `ce_credits` took, so no batch is fingerprinted.
    pandas_execution_engine.HASH_THRESHOLD = 0
    return great_expectations


def _ephemeral_context(gx):
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _gx_expectation(gx, row_expectation: RowExpectation):
    expectation_class = getattr(gx.expectations, row_expectation.expectation, None)
    if expectation_class is None:
        raise ValueError(
            f"check {row_expectation.check!r}: {row_expectation.expectation!r} "
            "is not a Great Expectations expectation class"
        )
    kwargs = {key: _midnight(value) if key in ("min_value", "max_value") else value
              for key, value in row_expectation.kwargs.items()}
    meta = {
        "check": row_expectation.check,
        "column": row_expectation.column,
        "action": row_expectation.action,
        "message": row_expectation.message,
    }
    # Data Docs show notes (not meta) beside the expectation.
    notes = f"**{row_expectation.check}** ({row_expectation.action}): {row_expectation.message}"
    return expectation_class(**kwargs, meta=meta, notes=notes)


def _columns_read(expectations: Sequence[RowExpectation]) -> list[str]:
    """The columns the (single-column) expectations validate, each once, in order."""
    return list(dict.fromkeys(e.kwargs["column"] for e in expectations))


def _midnight(value):
    """A date bound as the timestamp at its midnight, as date columns are validated."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return datetime.datetime.combine(value, datetime.time())
    return value


# pandas' datetime64[ns] holds these years only.
_NS_RANGE = (datetime.datetime(1678, 1, 1), datetime.datetime(2262, 1, 1))
# A decimal of at most this many significant digits becomes a float that
# compares with a bound (itself a short decimal) exactly as the decimal does.
_FLOAT_EXACT_DIGITS = 15


def _fast_path_casts(frame: polars.DataFrame) -> list[polars.Expr]:
    """Casts that put date and decimal columns on GX's vectorised path, where exact.

    GX's Between is vectorised only for int64, float64 and datetime64[ns]
    columns; polars dates arrive in pandas as datetime64[ms] and decimals as
    decimal.Decimal objects, which GX compares in Python one value at a time
    (a 4M-row decimal column costs about 8 s more). A column is cast only when
    the cast loses nothing: dates within the nanosecond range (a typo such as
    3023 keeps the whole column on the slow, exact path), decimals of at most
    15 significant digits.
    """
    casts = []
    for name, dtype in frame.schema.items():
        column = frame[name]
        if dtype == polars.Date or isinstance(dtype, polars.Datetime):
            low, high = column.min(), column.max()
            if low is None or (_NS_RANGE[0] <= _naive(low) and _naive(high) < _NS_RANGE[1]):
                time_zone = getattr(dtype, "time_zone", None)
                casts.append(polars.col(name).cast(polars.Datetime("ns", time_zone)))
        elif isinstance(dtype, polars.Decimal):
            largest = column.abs().max()
            if largest is None or largest < 10 ** (_FLOAT_EXACT_DIGITS - dtype.scale):
                casts.append(polars.col(name).cast(polars.Float64))
    return casts


def _naive(value) -> datetime.datetime:
    return _midnight(value).replace(tzinfo=None)


def _to_pandas(frame: polars.DataFrame, offset: int, fast_path_casts: list[polars.Expr]):
    import pandas

    pandas_frame = frame.with_columns(fast_path_casts).to_pandas()
    # GX reports failing rows by index label: label them with their position
    # in the whole frame.
    pandas_frame.index = pandas.RangeIndex(offset, offset + frame.height)
    return pandas_frame


def _exception_message(exception_info) -> str | None:
    """GX's exception_info is either one record or a dict of records keyed by metric."""
    if not exception_info:
        return None
    records = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    return next((r["exception_message"] for r in records if r.get("raised_exception")), None)


def _json_values(values: list) -> list:
    import pandas
    from great_expectations.util import convert_to_json_serializable

    return [None if pandas.isna(value) else convert_to_json_serializable(value) for value in values]

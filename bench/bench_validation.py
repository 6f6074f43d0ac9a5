"""Benchmark: validate a synthetic 4M-row credits frame with the credits checks.

Prints rows, batch size, wall and CPU seconds (frame generation excluded, GX
import included) and peak RSS (resource.getrusage: the whole process, frame
included).
Target: under 15 s and 3 GB at 4M rows on 2 cores.

    .venv/bin/python bench/bench_validation.py [--rows 4000000] [--batch-rows 250000] [--decimal-hours]
"""

from __future__ import annotations

import argparse
import datetime
import resource
import time

import numpy
import polars

from pipelines.quality.gx_runner import RowExpectation, validate_rows

AS_OF = datetime.date(2025, 6, 30)
CATEGORIES = ["general", "ethics", "suicide_prevention", "cultural_competence", "supervision"]
DELIVERIES = ["live", "live_online", "self_study"]


def credits_frame(rows: int, decimal_hours: bool, seed: int = 7) -> polars.DataFrame:
    """About 1% of rows break each check; every column has some nulls."""
    rng = numpy.random.default_rng(seed)

    def with_nulls(series: polars.Series, share: float = 0.01) -> polars.Series:
        return series.scatter(numpy.flatnonzero(rng.random(rows) < share), None)

    def pick(values: list, p: list[float] | None = None) -> polars.Series:
        # Gathering from a small polars Series avoids a numpy unicode array
        # (4 bytes a character) that would dwarf the frame itself.
        return polars.Series(values)[rng.choice(len(values), rows, p=p)]

    employee = rng.integers(1, 20_000, rows)
    days = rng.integers(-3 * 365, 10, rows)  # a few after as_of
    completion = polars.Series(numpy.datetime64(AS_OF) + days.astype("timedelta64[D]"))
    hours = pick([0.5, 1.0, 1.5, 2.0, 3.0, 6.0, 0.0, 120.0], [0.2, 0.3, 0.1, 0.2, 0.09, 0.1, 0.005, 0.005])
    hours_series = with_nulls(hours)
    if decimal_hours:
        hours_series = hours_series.cast(polars.Decimal(6, 2))
    return polars.DataFrame({
        "source_row": numpy.arange(2, rows + 2),
        "employee_id": with_nulls(polars.Series(employee).cast(polars.String)),
        "email": with_nulls(polars.Series(employee).cast(polars.String) + "@example.org"),
        "license_number": with_nulls(polars.Series(employee).cast(polars.String)),
        "license_state": with_nulls(pick(["NY", "CA", "TX", "ZZ"], [0.4, 0.3, 0.29, 0.01])),
        "has_person_key": with_nulls(polars.Series(rng.random(rows) > 0.01)),
        "completion_date": with_nulls(completion.cast(polars.Date)),
        "completion_date_raw": completion.cast(polars.String),
        "hours": hours_series,
        "hours_raw": hours.cast(polars.String),
        "category": with_nulls(pick(CATEGORIES + ["misc"], [0.3, 0.2, 0.2, 0.15, 0.14, 0.01])),
        "delivery": with_nulls(pick(DELIVERIES + ["podcast"], [0.3, 0.3, 0.39, 0.01])),
    })


def credits_checks() -> list[RowExpectation]:
    def check(check, column, expectation, action, message, **kwargs):
        return RowExpectation(check, column, expectation, {"column": column, **kwargs}, action, message)

    return [
        check("no_person_key", "has_person_key", "ExpectColumnValuesToBeInSet", "quarantined",
              "an employee_id, email or license number that identifies a person", value_set=[True]),
        check("no_person_key", "has_person_key", "ExpectColumnValuesToNotBeNull", "quarantined",
              "an employee_id, email or license number that identifies a person"),
        check("completion_date_valid", "completion_date", "ExpectColumnValuesToNotBeNull", "quarantined",
              "a completion date that parses"),
        check("completion_date_valid", "completion_date", "ExpectColumnValuesToBeBetween", "quarantined",
              f"a completion date on or before as_of ({AS_OF})", max_value=AS_OF),
        check("hours_valid", "hours", "ExpectColumnValuesToNotBeNull", "quarantined", "hours must be a number"),
        check("hours_valid", "hours", "ExpectColumnValuesToBeBetween", "quarantined",
              "hours must be a number > 0 and <= 100", min_value=0, strict_min=True, max_value=100),
        check("category_known", "category", "ExpectColumnValuesToBeInSet", "warned",
              "a category in the vocabulary", value_set=CATEGORIES),
        check("delivery_known", "delivery", "ExpectColumnValuesToBeInSet", "warned",
              "a delivery in the vocabulary", value_set=DELIVERIES),
        check("license_state_known", "license_state", "ExpectColumnValuesToMatchRegex", "warned",
              "a two-letter state code other than ZZ", regex=r"^(?!ZZ)[A-Z]{2}$"),
        check("employee_id_present", "employee_id", "ExpectColumnValuesToNotBeNull", "warned",
              "an employee_id", mostly=0.95),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--batch-rows", type=int, default=250_000)
    parser.add_argument("--decimal-hours", action="store_true", help="hours as polars Decimal(6, 2)")
    args = parser.parse_args()

    frame = credits_frame(args.rows, args.decimal_hours)
    checks = credits_checks()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = validate_rows("credits", frame, checks, batch_rows=args.batch_rows)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds tell the run's own cost when other work shares the cores.
    cpu_seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    print(f"rows={frame.height:,} batch_rows={args.batch_rows:,} expectations={len(checks)} "
          f"hours={'decimal' if args.decimal_hours else 'float'}")
    for outcome in result.outcomes:
        print(f"  {outcome.expectation.check:22} {outcome.expectation.expectation:32} "
              f"unexpected={outcome.unexpected_count:>7,} success={outcome.success}")
    print(f"seconds={seconds:.1f} cpu_seconds={cpu_seconds:.1f} peak_rss_mb={after.ru_maxrss / 1024:,.0f} "
          f"(frame: {frame.estimated_size('mb'):,.0f} MB; peak before validating: {before.ru_maxrss / 1024:,.0f} MB)")


if __name__ == "__main__":
    main()

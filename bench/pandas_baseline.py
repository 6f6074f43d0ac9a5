"""The analyst's script this project is weighed against: read the roster and the provider exports with pandas
and compute each license's status, and nothing more.

It does what compliance rules 1-9 need (docs/compliance.md): header mapping, units and vocabularies; whose
credit; the entry in force; cycles; eligibility (cycle, duplicates, repeats, accepted accreditations);
delivery caps; category minimums; status and hours remaining. It does none of what the pipeline also does:
no data-quality checks or quarantine with reasons, no lineage, no landing history, none of the rule shapes
beyond the entry in force (fraction caps, first-renewal hours, one-time and role requirements, shares,
shortest credits, carry-over), no adjustments, no ledger, no plans, no pages. So it is a lower bound on the
time such a script takes. `bench_pipeline.py` times it on the same files.

    .venv/bin/python bench/pandas_baseline.py DEPLOYMENT/config.yaml [--as-of 2026-11-25] [--out statuses.csv]
"""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import time

import numpy as np
import pandas as pd
import yaml

from pipelines.settings import BUILT_IN_LAYOUTS, CATEGORIES, DELIVERIES, HOURS_PER_CEU


def read_table(path: pathlib.Path) -> pd.DataFrame:
    if path.suffix.lower() == ".xlsx":
        return pd.read_excel(path, dtype=str)
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252")


def read_files(landing: pathlib.Path, glob: str, columns: dict[str, str]) -> pd.DataFrame:
    frames = []
    for path in sorted(landing.glob(glob)):
        frame = read_table(path)
        frame.columns = [c.strip().lower() for c in frame.columns]
        frame = frame.rename(columns={header.lower(): canonical for canonical, header in columns.items()})
        frame["source_file"] = str(path.relative_to(landing))
        frame["source_row"] = np.arange(2, len(frame) + 2)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def dates(values: pd.Series, date_format: str | None) -> pd.Series:
    return pd.to_datetime(values, format=date_format or "%Y-%m-%d", errors="coerce")


def vocabulary(values: pd.Series, mapping: dict[str, str], known: tuple[str, ...], default: str) -> pd.Series:
    lookup = {k.strip().lower(): v for k, v in mapping.items()} | {v: v for v in known}
    return values.fillna("").str.strip().str.lower().map(lookup).fillna(default)


def read_roster(config: dict, landing: pathlib.Path) -> pd.DataFrame:
    roster = config["roster"]
    frame = read_files(landing, roster["path"], roster.get("columns", {}))
    for column in ("license_expiration_date", "license_issue_date", "termination_date"):
        frame[column] = dates(frame.get(column, pd.Series(index=frame.index, dtype=str)), roster.get("date_format"))
    frame["license_state"] = frame["license_state"].str.strip().str.upper()
    frame["license_type"] = frame["license_type"].str.strip().str.upper()
    frame["license_number"] = frame["license_number"].str.strip()
    return frame.dropna(subset=["license_expiration_date"]).drop_duplicates(["employee_id", "license_state", "license_type"], keep="last")


def read_credits(config: dict, landing: pathlib.Path) -> pd.DataFrame:
    frames = []
    for provider in config["providers"]:
        layout = BUILT_IN_LAYOUTS.get(provider.get("layout", ""))
        columns = {**(layout.columns if layout else {}), **provider.get("columns", {})}
        unit = provider.get("credit_unit") or (layout.credit_unit if layout else "hours")
        if unit.startswith("column:"):
            columns["unit"] = unit.removeprefix("column:")
        frame = read_files(landing, provider["path"], columns)
        if frame.empty:
            continue
        hours = pd.to_numeric(frame["hours"], errors="coerce")
        per_row = frame["unit"].str.strip().str.upper() if "unit" in frame else pd.Series(unit.upper(), index=frame.index)
        frame["hours"] = hours.where(per_row != "CEU", hours * HOURS_PER_CEU)
        frame["completion_date"] = dates(frame["completion_date"], provider.get("date_format") or (layout.date_format if layout else None))
        frame["category"] = vocabulary(frame.get("category", pd.Series(index=frame.index, dtype=str)), provider.get("categories", {}), CATEGORIES, "general")
        frame["delivery"] = vocabulary(frame.get("delivery", pd.Series(index=frame.index, dtype=str)), provider.get("delivery", {}), DELIVERIES, "self_study")
        frames.append(frame)
    credits = pd.concat(frames, ignore_index=True)
    for column in ("license_number", "license_state", "employee_id", "email", "course_id", "accreditation"):
        credits[column] = credits[column].fillna("").str.strip() if column in credits else ""
    return credits[(credits["hours"] > 0) & (credits["hours"] <= 100) & credits["completion_date"].notna()]


def match_people(credits: pd.DataFrame, roster: pd.DataFrame) -> pd.Series:
    """Rule 2: license state and number, else employee id, else email."""
    by_license = dict(zip(roster["license_state"] + " " + roster["license_number"].str.upper(), roster["employee_id"], strict=True))
    employees = set(roster["employee_id"])
    by_email = dict(zip(roster["email"].fillna("").str.strip().str.lower(), roster["employee_id"], strict=True))
    person = (credits["license_state"].str.upper() + " " + credits["license_number"].str.upper()).map(by_license)
    person = person.fillna(credits["employee_id"].where(credits["employee_id"].isin(employees)))
    return person.fillna(credits["email"].str.lower().map(by_email))


def rules_in_force(licenses: pd.DataFrame, rules: list[dict]) -> pd.DataFrame:
    """Rule 9: of the entries for the license's state and type, the latest effective on or before cycle_end."""
    entries = pd.DataFrame(
        [{"license_state": r["license_state"], "license_type": r["license_type"], "rule": i,
          "effective_date": pd.Timestamp(str(r.get("effective_date") or "1900-01-01"))} for i, r in enumerate(rules)]
    ).sort_values("effective_date")
    entries["effective_date"] = entries["effective_date"].astype(licenses["license_expiration_date"].dtype)
    found = pd.merge_asof(
        licenses.sort_values("license_expiration_date"), entries, left_on="license_expiration_date", right_on="effective_date",
        by=["license_state", "license_type"],
    )
    return found.dropna(subset=["rule"]).astype({"rule": int})


def evaluate(roster: pd.DataFrame, credits: pd.DataFrame, rules: list[dict], as_of: dt.date, at_risk_days: int) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of)
    employed = ~((roster["termination_date"] <= as_of) | (roster["employment_status"].str.lower().eq("terminated") & roster["termination_date"].isna()))
    licenses = rules_in_force(roster[employed].reset_index(drop=True), rules)
    licenses["cycle_months"] = [rules[r]["cycle_months"] for r in licenses["rule"]]
    licenses["total_hours"] = [float(rules[r]["total_hours"]) for r in licenses["rule"]]
    licenses["cycle_start"] = licenses["license_expiration_date"]
    for months, group in licenses.groupby("cycle_months"):
        licenses.loc[group.index, "cycle_start"] = group["license_expiration_date"] - pd.DateOffset(months=months) + pd.Timedelta(days=1)
    licenses["license"] = np.arange(len(licenses))

    credits = credits.assign(person=match_people(credits, roster)).dropna(subset=["person"])
    credits["course_key"] = credits["course_id"].where(credits["course_id"] != "", credits["course_title"].str.lower())
    credits = credits.sort_values(["person", "course_key", "completion_date", "source_file", "source_row"])
    credits = credits[~credits.duplicated(["person", "course_key", "completion_date"])]
    weighed = licenses[["license", "employee_id", "rule", "cycle_start", "license_expiration_date"]].merge(
        credits, left_on="employee_id", right_on="person"
    )
    weighed = weighed[weighed["completion_date"].between(weighed["cycle_start"], weighed["license_expiration_date"])]
    weighed = weighed[~weighed.duplicated(["license", "course_key"])]  # repeats: the first completion in the cycle
    accepted = {i: {a.upper() for a in r["accepted_accreditations"]} for i, r in enumerate(rules) if r.get("accepted_accreditations")}
    if accepted:
        allowed = pd.Series(
            [r not in accepted or a.upper() in accepted[r] for r, a in zip(weighed["rule"], weighed["accreditation"], strict=True)], index=weighed.index
        )
        weighed = weighed[allowed]

    caps = pd.DataFrame(
        [{"rule": i, "delivery": d, "cap": float(h)} for i, r in enumerate(rules) for d, h in (r.get("max_hours_by_delivery") or {}).items()],
        columns=["rule", "delivery", "cap"],
    )
    weighed = weighed.merge(caps, on=["rule", "delivery"], how="left").sort_values(["license", "delivery", "completion_date", "course_id"])
    used_before = weighed.groupby(["license", "delivery"])["hours"].cumsum() - weighed["hours"]
    weighed["counted"] = np.where(weighed["cap"].isna(), weighed["hours"], (weighed["cap"] - used_before).clip(lower=0).clip(upper=weighed["hours"]))

    counted = weighed.groupby("license")["counted"].sum()
    by_category = weighed.groupby(["license", "category"])["hours"].sum()
    minimums = pd.DataFrame(
        [{"rule": i, "category": c, "minimum": float(h)} for i, r in enumerate(rules) for c, h in (r.get("min_hours_by_category") or {}).items()],
        columns=["rule", "category", "minimum"],
    ).merge(licenses[["license", "rule"]], on="rule")
    minimums["eligible"] = [by_category.get((lic, cat), 0.0) for lic, cat in zip(minimums["license"], minimums["category"], strict=True)]
    category_shortfall = (minimums["minimum"] - minimums["eligible"]).clip(lower=0).groupby(minimums["license"]).sum()

    licenses["counted_hours"] = licenses["license"].map(counted).fillna(0.0)
    total_shortfall = (licenses["total_hours"] - licenses["counted_hours"]).clip(lower=0)
    licenses["hours_remaining"] = np.maximum(total_shortfall, licenses["license"].map(category_shortfall).fillna(0.0))
    days = (licenses["license_expiration_date"] - as_of).dt.days
    exempt = [
        rules[r].get("first_renewal") == "exempt" and pd.notna(issued) and start <= issued <= end
        for r, issued, start, end in zip(licenses["rule"], licenses["license_issue_date"], licenses["cycle_start"], licenses["license_expiration_date"], strict=True)
    ]
    licenses["status"] = np.select(
        [np.array(exempt), licenses["hours_remaining"] <= 1e-9, days < 0, days <= at_risk_days],
        ["exempt", "compliant", "overdue", "at_risk"],
        default="on_track",
    )
    return licenses[["employee_id", "license_state", "license_type", "license_number", "counted_hours", "hours_remaining", "status"]]


def read_and_compute(config_path: pathlib.Path, as_of: dt.date) -> tuple[pd.DataFrame, float]:
    """The statuses, and the seconds reading and computing took."""
    started = time.perf_counter()
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    landing = (config_path.parent / config.get("landing_dir", "landing")).resolve()
    rules = yaml.safe_load((config_path.parent / config.get("rules_catalog", "rules.yaml")).read_text(encoding="utf-8"))
    rules = rules["rules"] if isinstance(rules, dict) else rules
    statuses = evaluate(read_roster(config, landing), read_credits(config, landing), rules, as_of, config.get("at_risk_days", 90))
    return statuses, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=pathlib.Path)
    parser.add_argument("--as-of", type=dt.date.fromisoformat)
    parser.add_argument("--out", type=pathlib.Path, help="write the statuses there (CSV)")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    as_of = args.as_of or config.get("as_of") or dt.date.today()
    statuses, seconds = read_and_compute(args.config, as_of)
    if args.out:
        statuses.to_csv(args.out, index=False)
    print(f"{len(statuses):,} licenses in {seconds:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in statuses["status"].value_counts().items()))


if __name__ == "__main__":
    main()

"""The sample generator writes a complete, reproducible deployment folder in the shapes docs/inputs.md describes."""

from __future__ import annotations

import datetime as dt
import io
import pathlib

import polars as pl
import pytest

from pipelines import sample_generator
from pipelines.settings import ADJUSTMENT_COLUMNS, ADJUSTMENT_KINDS, BUILT_IN_LAYOUTS, load_settings

CLINICIANS = 60
SEED = 3
AS_OF = dt.date(2026, 11, 25)


def _generate(out: pathlib.Path, seed: int = SEED, bad_rows: bool = True) -> pathlib.Path:
    sample_generator.main(["--clinicians", str(CLINICIANS), "--seed", str(seed), "--out", str(out), "--as-of", AS_OF.isoformat()] + ([] if bad_rows else ["--no-bad-rows"]))
    return out


def _files(folder: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _read(path: pathlib.Path) -> pl.DataFrame:
    if path.suffix == ".xlsx":
        return pl.read_excel(path, infer_schema_length=0)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    return pl.read_csv(io.StringIO(text), infer_schema=False)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> pathlib.Path:
    return _generate(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def settings(sample):
    return load_settings(sample / "config.yaml")


@pytest.fixture(scope="module")
def roster(sample, settings) -> pl.DataFrame:
    (path,) = settings.landing_dir.glob(settings.roster.path)
    return _read(path).rename({header: canonical for canonical, header in settings.roster.columns.items()})


def test_same_seed_gives_identical_bytes_and_another_seed_differs(sample, tmp_path):
    again = _files(_generate(tmp_path / "again"))
    assert again == _files(sample)
    other = _files(_generate(tmp_path / "other", seed=SEED + 1))
    assert other.keys() & again.keys()
    assert other != again


def test_configuration_loads_with_outputs_apart_from_the_landing_folder(sample, settings):
    assert settings.as_of == AS_OF
    assert settings.landing_dir == sample / "landing"
    assert settings.rules_catalog.read_bytes() == sample_generator.SAMPLE_RULES.read_bytes()
    assert not settings.output_dir.is_relative_to(settings.landing_dir)
    assert not settings.warehouse.is_relative_to(settings.landing_dir)
    assert [p.name for p in settings.providers] == ["stateboard", "lms", "summit"]
    assert settings.roster.date_format == "%m/%d/%Y"
    assert "employee_id" not in settings.roster.columns.values()  # the HR header differs from the canonical name


def test_roster_looks_like_a_mid_size_organisation(roster):
    rules = sample_generator.load_rules()
    assert CLINICIANS <= roster.height <= CLINICIANS * 1.4
    assert roster["clinic"].drop_nulls().n_unique() >= 3
    covered = roster.filter(pl.struct("license_state", "license_type").map_elements(lambda k: (k["license_state"], k["license_type"]) in rules, return_dtype=pl.Boolean))
    assert covered["license_type"].n_unique() >= 5
    assert covered["license_state"].n_unique() >= 3
    assert covered.height < roster.height  # some licenses have no rule: not_evaluated
    people = roster.drop_nulls("employee_id").group_by("employee_id").len()
    assert people.filter(pl.col("len") >= 2).height >= 2
    assert roster["employee_id"].drop_nulls().str.starts_with("0").all()
    assert roster["license_number"].drop_nulls().str.contains(r"^0|[A-Z]").any()
    assert set(roster["employment_status"]) >= {"active", "terminated"}
    assert roster.filter(pl.col("employment_status") == "terminated")["termination_date"].drop_nulls().len() > 0
    assert roster["first_name"].str.contains(r"[^\x00-\x7f]").any()
    expiring = roster["license_expiration_date"].drop_nulls().str.strptime(pl.Date, "%m/%d/%Y", strict=False).drop_nulls()
    assert (expiring < AS_OF).any() and (expiring < AS_OF + dt.timedelta(days=90)).any() and (expiring > AS_OF + dt.timedelta(days=365)).any()


def test_every_provider_delivers_files_with_its_configured_headers(settings):
    expected_headers = {
        "stateboard": list(BUILT_IN_LAYOUTS["board_report"].columns.values()),
        "lms": ["Employee ID", "Email", "Course Title", "Course Code", "Completed On", "Credits", "Credit Unit", "Category", "Format"],
        "summit": list(sample_generator.SUMMIT_COLUMNS.values()),
    }
    assert set(expected_headers["lms"]) == set(BUILT_IN_LAYOUTS["lms_export"].columns.values()) | {"Credit Unit"}
    total = 0
    for provider in settings.providers:
        files = sorted(settings.landing_dir.glob(provider.path))
        assert len(files) >= 4, provider.name
        for path in files:
            frame = _read(path)
            if not path.stem.endswith("_correction"):
                assert frame.columns == expected_headers[provider.name], path
                assert set(frame.columns) >= set(provider.columns.values())
            total += frame.height
    assert 25 * CLINICIANS <= total <= 60 * CLINICIANS


def test_lms_reports_some_credit_in_ceu_and_keeps_leading_zeros(settings):
    lms = pl.concat([_read(p) for p in settings.landing_dir.glob("providers/lms/*.csv")])
    assert set(lms["Credit Unit"]) == {"hours", "CEU"}
    summit = pl.concat([_read(p) for p in settings.landing_dir.glob("providers/summit/*.xlsx")])
    for ids in (lms["Employee ID"].drop_nulls(), summit["Staff No"].drop_nulls()):
        assert ids.str.starts_with("0").mean() > 0.9  # the rest: people not on the roster


def test_free_text_labels_map_through_the_configuration(settings):
    for provider in settings.providers:
        headers = provider.columns
        labels = pl.concat([_read(p) for p in settings.landing_dir.glob(provider.path) if not p.stem.endswith("_correction")])
        categories = {str(v).strip().casefold() for v in labels[headers["category"]].drop_nulls()}
        unmapped = categories - set(provider.categories) - set(sample_generator.CATEGORIES)
        assert unmapped <= {"misc topic", "other"}, provider.name  # the planted not-in-map values only


def test_the_course_catalog_is_a_realistic_one_with_a_training_budget(settings):
    catalog = settings.course_catalog
    [path] = settings.landing_dir.glob(catalog.path)
    courses = _read(path).filter(pl.col(catalog.header_for("course_id")).is_not_null()).unique(catalog.header_for("course_id"))
    assert courses.height >= 30
    assert courses[catalog.header_for("provider")].n_unique() >= 5 and courses[catalog.header_for("accreditation")].n_unique() >= 5
    assert {catalog.delivery[str(f).casefold()] for f in courses[catalog.header_for("delivery")]} == {"live", "live_online", "self_study"}
    assert courses.filter(pl.col(catalog.header_for("states")).is_not_null()).height >= 3
    assert settings.training_budget_per_clinician > 0


def test_every_bad_input_case_is_planted_where_the_listing_says(sample, settings, roster):
    listing = pl.read_csv(sample / "injected_bad_rows.csv", schema_overrides={"row": pl.Int64})
    assert set(listing["case"]) == {
        "roster_missing_employee_id", "roster_missing_clinic", "duplicate_roster_row", "roster_missing_license_type",
        "roster_unparseable_license_state", "roster_missing_license_number", "roster_missing_expiration_date",
        "roster_unparseable_expiration_date", "html_in_text", "formula_text",
        "no_person_key", "completion_date_missing", "completion_date_unparseable", "completion_after_as_of",
        "hours_missing", "hours_not_a_number", "hours_zero", "hours_negative", "hours_over_100",
        "category_not_in_map", "delivery_not_in_map", "unmatched_clinician", "duplicate_credit_in_two_files",
        "repeat_course_in_cycle", "outside_cycle", "accreditation_not_accepted", "file_missing_required_column",
        "catalog_duplicate_course_id", "catalog_missing_course_id", "catalog_missing_cost", "catalog_negative_cost",
        "catalog_topic_not_in_map", "adjustment_for_another_cycle", "adjustment_missing_hours",
    }

    def cell(case: str, canonical: str) -> list:
        values = []
        for file, row in listing.filter(pl.col("case") == case).select("file", "row").iter_rows():
            sources = (*settings.providers, settings.course_catalog, settings.adjustments)
            provider = next((p for p in sources if (settings.landing_dir / file).match(p.path)), settings.roster)
            values.append(_read(settings.landing_dir / file)[row - 2, provider.header_for(canonical)])
        return values

    assert cell("roster_missing_employee_id", "employee_id") == [None, None]
    assert cell("roster_unparseable_expiration_date", "license_expiration_date") == ["31/12/2027"] * 2
    assert all("<b>" in name for name in cell("html_in_text", "last_name"))
    assert cell("hours_over_100", "hours") == ["150", "150"]
    assert cell("catalog_negative_cost", "cost") == ["-25.00"]
    assert cell("catalog_duplicate_course_id", "course_id") == ["NS-ETH-103"]
    assert cell("adjustment_missing_hours", "kind") == ["prior_completion"]
    assert cell("adjustment_missing_hours", "hours") == [None]
    assert cell("adjustment_for_another_cycle", "kind") == ["extension"]
    for file, row in listing.filter(pl.col("case") == "formula_text").select("file", "row").iter_rows():
        assert any(str(value).startswith("=") for value in _read(settings.landing_dir / file).row(row - 2))
    duplicated = roster.filter(pl.struct("employee_id", "license_state", "license_type").is_duplicated())
    assert duplicated["license_expiration_date"].n_unique() == duplicated.height
    (rejected,) = listing.filter(pl.col("case") == "file_missing_required_column")["file"]
    assert "Hours" not in _read(settings.landing_dir / rejected).columns


def test_without_bad_rows_nothing_is_planted(tmp_path):
    clean = _generate(tmp_path / "clean", bad_rows=False)
    assert not (clean / "injected_bad_rows.csv").exists()
    assert not list((clean / "landing").rglob("*_correction.csv"))
    roster = _read(next((clean / "landing" / "roster").glob("*.csv")))
    assert roster.null_count().select("Emp No", "Site", "License #", "Lic Exp Date").sum_horizontal().item() == 0
    assert not roster.select("License State", "License #").is_duplicated().any()


@pytest.fixture(scope="module")
def adjustments(settings) -> pl.DataFrame:
    (path,) = settings.landing_dir.glob(settings.adjustments.path)
    return _read(path)


def _expiration(roster: pl.DataFrame) -> pl.Expr:
    return pl.col("license_expiration_date").str.strptime(pl.Date, "%m/%d/%Y", strict=False)


def test_the_rules_catalog_is_read_version_by_version():
    versions = sample_generator.load_rule_versions()
    ca_lcsw = [e for e in versions if (e["license_state"], e["license_type"]) == ("CA", "LCSW")]
    assert [e["effective_date"] for e in ca_lcsw] == [dt.date(2021, 1, 1), dt.date(2023, 7, 1)]
    newest = sample_generator.load_rules()
    assert newest[("CA", "LCSW")]["effective_date"] == dt.date(2023, 7, 1)
    assert newest[("CA", "LCSW")]["once_by_category"] == {"hiv_aids": 7, "suicide_prevention": 6, "telehealth": 3}
    assert newest[("IL", "LCSW")]["effective_date"] == dt.date(2027, 11, 30)
    assert "effective_date" not in newest[("OH", "LICDC")]  # no date in the source: in force from the beginning
    assert len(newest) < len(versions)


def test_roster_lists_roles_under_an_hr_header(settings, roster):
    assert settings.roster.columns["roles"] == "Roles"
    listed = roster.filter(pl.col("roles").is_not_null())
    tokens = set(listed["roles"].str.split(";").explode().str.strip_chars().str.to_lowercase())
    assert tokens == {"supervisor", "telehealth"}
    assert listed["roles"].str.contains("Supervisor|Telehealth").any()  # as HR keys them in: trimmed and lower-cased by the loader
    people = roster.drop_nulls("employee_id")["employee_id"].n_unique()
    assert 0.15 * people <= listed["employee_id"].n_unique() <= 0.6 * people
    assert roster.filter(pl.col("clinic") == sample_generator.TELEHEALTH_CLINIC, pl.col("employee_id") >= "001007")["roles"].str.contains("(?i)telehealth").all()
    assert roster.filter(pl.col("employee_id").is_in([f"00{1000 + i}" for i in range(len(sample_generator.SHOWCASE))]))["roles"].null_count() == len(sample_generator.SHOWCASE)


def test_credits_reach_into_earlier_cycles_and_years(settings, roster):
    board = pl.concat([_read(p) for p in settings.landing_dir.glob("providers/stateboard/ce_report_*.csv") if not p.stem.endswith("_correction")], how="diagonal")
    completed = board["Completion Date"].str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    window_start = AS_OF - dt.timedelta(days=sample_generator.HISTORY_DAYS - 1)
    # the board's transcript of what predates the quarterly exports: one-time topics completed years ago
    history = _read(settings.landing_dir / "providers" / "stateboard" / sample_generator.HISTORY_FILE)
    history_dates = history["Completion Date"].str.strptime(pl.Date, "%Y-%m-%d")
    assert history.height >= 5 and (history_dates < window_start - dt.timedelta(days=365)).any()
    assert history_dates.max() < window_start
    assert set(history["Subject Area"]) <= {"HIV/AIDS", "Suicide Prevention", "Telehealth", "Clinical Supervision"}
    assert history["Course Title"].str.ends_with("-Hour Requirement Course").all()
    # some California BBS licensees completed the one-time HIV/AIDS course before their records began, some never did
    ca = roster.filter(pl.col("license_state") == "CA", pl.col("license_type").is_in(["LCSW", "LMFT", "LPCC"])).drop_nulls("license_number")
    hiv = board.filter(pl.col("Subject Area") == "HIV/AIDS", pl.col("Hours") == "7")["License Number"]
    assert ca["license_number"].is_in(hiv.implode()).any() and not ca["license_number"].is_in(hiv.implode()).all()
    # Texas and Ohio entries carry hours over: their previous cycles have completions, before the two-year window
    assert (completed < window_start).sum() > history.height
    earlier = {p.stem for p in settings.landing_dir.glob("providers/*/*") if p.stem[-6:-2] < str(window_start.year)}
    assert earlier  # quarterly files of years before the window


def test_adjustments_hold_every_kind_with_a_board_reference(settings, roster, adjustments, sample):
    assert settings.adjustments.path == "adjustments/*.csv"
    assert settings.adjustments.columns == {}  # the file's headers are the canonical ones
    assert adjustments.columns == list(ADJUSTMENT_COLUMNS)
    assert set(adjustments["kind"]) == set(ADJUSTMENT_KINDS)
    assert adjustments["reference"].null_count() == 0
    assert adjustments["reference"].str.contains(r"^(BHEC|BBS|CA BOP|TSBEP|NYSED OP|FL DOH MQA|IDFPR|OH CSWMFT|OCDP Board) .+ 20\d\d-[A-Z]?\d{4}$").all()
    licenses = roster.select("employee_id", "license_state", "license_type", roster_cycle_end=_expiration(roster))
    joined = adjustments.with_row_index("at").join(licenses, on=["employee_id", "license_state", "license_type"], how="left")
    assert joined.height == adjustments.height and joined["roster_cycle_end"].null_count() == 0  # every row names one roster license
    listing = pl.read_csv(sample / "injected_bad_rows.csv", schema_overrides={"row": pl.Int64}).filter(pl.col("file") == "adjustments/adjustments.csv")
    planted = (listing["row"] - 2).to_list()
    valid = joined.filter(~pl.col("at").is_in(planted))
    assert dict(valid.group_by("kind").len().iter_rows()) == dict.fromkeys(ADJUSTMENT_KINDS, 2)  # at least two of each kind
    extensions = valid.filter(pl.col("kind") == "extension")
    assert (extensions["cycle_end"].str.to_date() == extensions["roster_cycle_end"]).all()
    assert (extensions["until"].str.to_date() > extensions["roster_cycle_end"]).all()
    hours = valid.filter(pl.col("kind").is_in(["prior_completion", "carry_over"]))["hours"].cast(pl.Float64)
    assert hours.null_count() == 0 and (hours > 0).all()
    assert valid.filter(pl.col("kind") == "prior_completion")["requirement"].str.starts_with("once_").all()
    assert valid.filter(pl.col("kind") == "waiver")["requirement"].is_in(list(sample_generator.CATEGORIES)).all()
    assert set(valid.filter(pl.col("kind") == "carry_over")["license_state"]) <= {"TX", "OH"}
    assert valid.filter(pl.col("kind") != "extension")["cycle_end"].null_count() == valid.height - extensions.height  # empty: the current cycle
    (stale,) = joined.filter(pl.col("at").is_in(planted), pl.col("kind") == "extension").iter_rows(named=True)
    assert dt.date.fromisoformat(stale["cycle_end"]) < stale["roster_cycle_end"]  # the previous cycle: kept, not applied


def test_without_bad_rows_every_adjustment_is_valid(tmp_path):
    clean = _generate(tmp_path / "clean", bad_rows=False)
    adjustments = _read(clean / "landing" / "adjustments" / "adjustments.csv")
    assert set(adjustments["kind"]) == set(ADJUSTMENT_KINDS)
    assert adjustments.filter(pl.col("kind").is_in(["prior_completion", "carry_over"]))["hours"].null_count() == 0
    assert adjustments.filter(pl.col("kind") == "extension")["note"].str.contains("previous period").sum() == 0

"""Scale-out by region: each region partition is a whole deployment, and together they give the
same extracts as one unpartitioned run over every region's files."""

import datetime as dt

import dagster as dg
import yaml

from pipelines.definitions import build_definitions
from tests.support import BOARD_HEADER, DEFAULT_RULES, LMS_HEADER, ROSTER_HEADER, board_row, lms_row, roster_row, write_csv

EXTRACTS = ("clinician_compliance.csv", "requirement_progress.csv", "credit_ledger.csv", "data_quality_exceptions.csv")
NM_LPC = {**DEFAULT_RULES[0], "license_state": "NM", "total_hours": 20, "min_hours_by_category": {}, "max_hours_by_delivery": {}}


def deployment_config(landing_glob: str, name: str) -> dict:
    return {
        "landing_dir": "landing",
        "rules_catalog": "rules.yaml",
        "output_dir": f"out-{name}",
        "warehouse": f"{name}.duckdb",
        "roster": {"path": f"{landing_glob}/roster/*.csv"},
        "providers": [
            {"name": "stateboard", "path": f"{landing_glob}/stateboard/*.csv", "layout": "board_report"},
            {"name": "lms", "path": f"{landing_glob}/lms/*.csv", "layout": "lms_export"},
        ],
    }


def write_regions(root):
    """Two regions; in the north a person holds licenses in two states, and one credit matches no one."""
    landing = root / "landing"
    write_csv(landing / "north" / "roster" / "staff.csv", ROSTER_HEADER, [
        roster_row("000001", clinic="North Clinic"),
        roster_row("000001", clinic="North Clinic", license_state="NM", license_number="NM-11"),
        roster_row("000002", clinic="Lakeside", license_expiration_date="2026-12-31"),
    ])  # fmt: skip
    write_csv(landing / "north" / "stateboard" / "board.csv", BOARD_HEADER, [
        board_row("7000001", "C-1", "2026-01-10", "12"),
        board_row("NM-11", "C-2", "2026-02-01", "8", **{"License State": "NM"}),
        board_row("7000002", "C-3", "2026-03-01", "4", **{"Subject Area": "Ethics"}),
        board_row("9999999", "C-4", "2026-03-02", "2"),
    ])  # fmt: skip
    write_csv(landing / "north" / "lms" / "lms.csv", LMS_HEADER, [lms_row("000002", "L-1", "04/01/2026", "6")])
    write_csv(landing / "south" / "roster" / "staff.csv", ROSTER_HEADER, [
        roster_row("000003", clinic="Bayside", license_expiration_date="2028-01-31"),
        roster_row("000004", clinic="Bayside", employment_status="terminated", termination_date="2026-01-01"),
    ])  # fmt: skip
    write_csv(landing / "south" / "stateboard" / "board.csv", BOARD_HEADER, [
        board_row("7000003", "C-1", "2026-05-05", "30", **{"Delivery Method": "Self-Study"}),
        board_row("7000003", "C-9", "2026-05-06", "-1"),
    ])  # fmt: skip
    (root / "rules.yaml").write_text(yaml.safe_dump([DEFAULT_RULES[0], NM_LPC]), encoding="utf-8")
    for region in ("north", "south"):
        (root / f"{region}.yaml").write_text(yaml.safe_dump(deployment_config(region, region)), encoding="utf-8")
    whole = {**deployment_config("*", "whole"), "regions": {"north": "north.yaml", "south": "south.yaml"}}
    (root / "whole.yaml").write_text(yaml.safe_dump(whole), encoding="utf-8")
    return root / "whole.yaml"


def extract_rows(site, name):
    header, *rows = (site / name).read_text(encoding="utf-8-sig").splitlines()
    return header, rows


def test_region_partitions_together_equal_one_unpartitioned_run(tmp_path):
    whole = write_regions(tmp_path)
    defs = build_definitions(whole)
    run_config = {"resources": {"deployment": {"config": {"config_path": str(whole), "as_of": "2026-11-25"}}}}
    assert defs.resolve_job_def("ce_compliance").execute_in_process(run_config=run_config).success

    by_region = defs.resolve_job_def("ce_compliance_by_region")
    assert by_region.partitions_def.get_partition_keys() == ["north", "south"]
    instance = dg.DagsterInstance.ephemeral()
    for region in ("north", "south"):
        region_config = by_region.partitioned_config.get_run_config_for_partition_key(region)
        region_config["resources"]["deployment"]["config"]["as_of"] = "2026-11-25"
        result = by_region.execute_in_process(partition_key=region, run_config=region_config, instance=instance)
        assert result.success and result.dagster_run.tags["ce_compliance/deployment"] == region

    whole_site = tmp_path / "out-whole" / "2026-11-25"
    for name in EXTRACTS:
        header, rows = extract_rows(whole_site, name)
        region_rows = []
        for region in ("north", "south"):
            region_header, rows_of_region = extract_rows(tmp_path / f"out-{region}" / "2026-11-25", name)
            assert region_header == header
            region_rows += rows_of_region
        assert sorted(region_rows) == sorted(rows), name
        assert rows, name
    _, compliance = extract_rows(whole_site, "clinician_compliance.csv")
    assert sum(",000001," in row for row in compliance) == 2  # both states of the same person, in one partition


def test_the_region_schedule_requests_one_run_per_region(tmp_path):
    defs = build_definitions(write_regions(tmp_path))
    context = dg.build_schedule_context(
        repository_def=defs.get_repository_def(), scheduled_execution_time=dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC)
    )
    requests = defs.resolve_schedule_def("nightly_ce_compliance_by_region").evaluate_tick(context).run_requests
    assert [(r.partition_key, r.run_config["resources"]["deployment"]["config"]["config_path"]) for r in requests] == [
        ("north", str(tmp_path / "north.yaml")),
        ("south", str(tmp_path / "south.yaml")),
    ]
    assert {r.tags["ce_compliance/as_of"] for r in requests} == {"2026-11-25"}

"""The code location loads, validates with Dagster's own tooling, and has the graph the README describes."""

import pathlib
import subprocess
import sys

import dagster as dg

from pipelines.definitions import defs as load_defs
from pipelines.engine import ENGINE_MODELS, MODELS_BY_ASSET

ROOT = pathlib.Path(__file__).resolve().parents[1]
defs = load_defs()


def test_assets_are_grouped_by_stage():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {
        "staged_roster": "ingest", "staged_ce_credits": "ingest", "staged_adjustments": "ingest",
        "roster": "quality", "ce_credits": "quality", "adjustments": "quality", "data_quality_exceptions": "quality",
        "input_files": "quality",
        "rules_catalog": "compliance", "license_cycles": "compliance", "license_requirements": "compliance",
        "license_adjustments": "compliance", "credit_ledger": "compliance",
        "requirement_progress": "compliance", "clinician_compliance": "compliance",
        "staged_course_catalog": "ingest", "course_catalog": "quality", "learning_plans": "plans",
        "published_site": "publish",
    }


def test_quality_checks_are_asset_checks_and_reconciliation_blocks():
    graph = defs.resolve_asset_graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    assert {"roster_files_readable", "ce_credit_files_readable", "roster_rows_valid", "ce_credit_rows_valid", "input_rows_reconcile"} <= set(checks)
    assert checks["input_rows_reconcile"].blocking


def test_the_compliance_assets_run_the_engines_models_in_the_engines_order():
    """pipelines.engine declares the models once; the assets' dependencies must put them in that order."""
    graph = defs.resolve_asset_graph()
    ordered = [key.to_user_string() for key in graph.toposorted_asset_keys if key.to_user_string() in MODELS_BY_ASSET]
    assert [model for asset in ordered for model in MODELS_BY_ASSET[asset]] == list(ENGINE_MODELS)


def test_the_job_runs_in_one_process():
    job = defs.resolve_job_def("ce_compliance")
    assert job.executor_def is dg.in_process_executor


def test_dagster_definitions_validate_and_dg_check_defs_pass():
    bin_dir = pathlib.Path(sys.executable).parent
    for command in ([str(bin_dir / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], [str(bin_dir / "dg"), "check", "defs"]):
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr

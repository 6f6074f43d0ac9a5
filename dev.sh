#!/usr/bin/env bash
# Set-up plus the everyday commands, so a fresh machine needs nothing but Python 3.11+ and git.
#   ./dev.sh sample   install (first time), run the pipeline on sample_data/, print where the dashboards are
#   ./dev.sh test     install (first time), run the test suite
#   ./dev.sh ui       install (first time), open the Dagster UI on http://127.0.0.1:3000
#   ./dev.sh bench-smoke   every benchmark at its smallest size (CI runs it so the scripts cannot rot)
set -euo pipefail
cd "$(dirname "$0")"

install() {
    if [ ! -x .venv/bin/python ]; then
        "${PYTHON:-python3}" -m venv .venv
    fi
    # Reinstall only when the pinned versions or the package definition changed.
    local stamp=".venv/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock -e ".[test]"
        rm -f .venv/.installed-*
        touch "$stamp"
    fi
}

# `sample` and `ui` share one Dagster instance under var/, so the UI shows the sample's runs.
dagster_home() {
    export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/var/dagster_home}"
    mkdir -p "$DAGSTER_HOME"
    cp -n deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml" 2>/dev/null || true
}

command="${1:-}"
case "$command" in
    sample) install; dagster_home; exec .venv/bin/ce-compliance run --config sample_data/config.yaml ;;
    test)   install; shift; exec .venv/bin/pytest "$@" ;;
    ui)     install; dagster_home; exec .venv/bin/dg dev -w workspace.yaml ;;
    bench-smoke)
            install; work="$(mktemp -d)"
            .venv/bin/python bench/bench_pipeline.py --clinicians 200 --workdir "$work/pipeline"
            .venv/bin/python bench/bench_validation.py --rows 20000
            .venv/bin/python bench/bench_publish.py --licenses 500
            .venv/bin/python bench/bench_plans.py --clinicians 500 --courses 40 --work "$work/plans"
            rm -rf "$work" ;;
    *) echo "usage: ./dev.sh sample | test | ui | bench-smoke" >&2; exit 2 ;;
esac

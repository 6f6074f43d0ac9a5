"""The rules catalog: validation errors that name the entry and field, and the shipped sample."""

import pathlib
import re

import pytest
import yaml

from pipelines.rules import RulesCatalogError, load_rules_catalog

SAMPLE = pathlib.Path(__file__).resolve().parents[1] / "sample_data" / "rules.yaml"
VALID = {
    "license_state": "TX", "license_type": "LPC", "cycle_months": 24, "total_hours": 24,
    "min_hours_by_category": {"ethics": 6}, "max_hours_by_delivery": {"self_study": 1},
    "source": "22 TAC 681.140 https://example.org", "effective_date": "2024-01-01",
}


def load(tmp_path, entries):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(entries))
    return load_rules_catalog(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"min_hours_by_category": {"astrology": 2}}, r"entry 1 \(TX LPC\).*min_hours_by_category.*'astrology'"),
        ({"max_hours_by_delivery": {"carrier_pigeon": 2}}, r"max_hours_by_delivery.*'carrier_pigeon'"),
        ({"total_hours": -3}, r"total_hours.*>= 0"),
        ({"max_hours_by_delivery": {"self_study": 30}}, r"max_hours_by_delivery\.self_study.*larger than `total_hours`"),
        ({"source": ""}, r"`source` is missing \(a citation"),
        ({"cycle_months": 0}, r"cycle_months"),
        ({"first_renewal": "sometimes"}, r"first_renewal"),
        ({"min_hours_by_catgory": {"ethics": 1}}, r"unknown field\(s\) min_hours_by_catgory"),
        ({"license_state": "Texas"}, r"two-letter"),
    ],
)
def test_invalid_entries_are_refused_naming_entry_and_field(tmp_path, change, message):
    with pytest.raises(RulesCatalogError, match=message):
        load(tmp_path, [dict(VALID, **change)])


def test_two_entries_for_the_same_state_and_license_are_refused(tmp_path):
    with pytest.raises(RulesCatalogError, match=r"entries 1 and 2 both define TX LPC"):
        load(tmp_path, [VALID, VALID])


def test_a_versioned_catalog_carries_its_version_and_sha256(tmp_path):
    catalog = load(tmp_path, {"version": "2026.1", "rules": [VALID]})
    assert catalog.version == "2026.1"
    assert re.fullmatch(r"[0-9a-f]{64}", catalog.sha256)
    assert catalog.rules[0].max_hours_by_delivery == {"self_study": 1}


def test_the_shipped_sample_catalog_is_valid_and_cites_every_entry():
    catalog = load_rules_catalog(SAMPLE)
    states = {rule.license_state for rule in catalog.rules}
    assert len(states) >= 5
    assert {"LCSW", "LPC", "LMFT", "PSYCHOLOGIST"} <= {rule.license_type for rule in catalog.rules}
    for rule in catalog.rules:
        assert "https://" in rule.source or "http://" in rule.source, f"{rule.license_state} {rule.license_type} has no URL"

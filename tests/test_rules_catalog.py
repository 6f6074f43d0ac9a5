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
        ({"max_fraction_by_delivery": {"self_study": "4/3"}}, r"max_fraction_by_delivery\.self_study.*above 0 and at most 1"),
        ({"max_fraction_by_delivery": {"self_study": 0}}, r"max_fraction_by_delivery\.self_study.*above 0 and at most 1"),
        ({"max_fraction_by_delivery": {"self_study": "a third"}}, r"max_fraction_by_delivery\.self_study.*fraction such as"),
        ({"every_nth_cycle": [{"every": 1, "anchor": "2025-03-31", "min_hours_by_category": {"law": 2}}]}, r"every_nth_cycle`\[0\]\.every.*>= 2"),
        ({"every_nth_cycle": [{"every": 3, "anchor": "last March", "min_hours_by_category": {"law": 2}}]}, r"every_nth_cycle`\[0\]\.anchor must be a date"),
        ({"every_nth_cycle": [{"every": 3, "anchor": "2025-03-31", "min_hours_by_catgory": {"law": 2}}]}, r"every_nth_cycle`\[0\]: unknown field\(s\) min_hours_by_catgory"),
        ({"once_by_category": {"hiv_aids": -7}}, r"once_by_category`\.hiv_aids.*>= 0"),
        ({"conditional": [{"role": "supervisor", "min_hours_by_category": {"supervision": 6}, "totl_hours": 40}]}, r"conditional`\[0\]: unknown field\(s\) totl_hours"),
        ({"conditional": [{"role": "lead; supervisor", "total_hours": 40}]}, r"conditional`\[0\]\.role must be one roster role token"),
        ({"min_share_from": {"accreditations": ["NBCC"], "fraction": 1.5}}, r"min_share_from`\.fraction.*at most 1"),
        ({"min_share_from": {"accreditations": [], "fraction": 0.5}}, r"min_share_from`\.accreditations must be a non-empty list"),
        ({"carry_over": {"max_hours": -1}}, r"carry_over`\.max_hours.*>= 0"),
        ({"carry_over": {"hours": 10}}, r"carry_over`: unknown field\(s\) hours"),
        ({"first_renewal": {"hours_per_month": "lots"}}, r"first_renewal`\.hours_per_month must be a number"),
        ({"first_renewal": {"prorated": 1}}, r"first_renewal` must be full, exempt, \{total_hours: H\} or \{hours_per_month: H\}"),
        ({"effective_date": "2024-13-01"}, r"effective_date` must be a date"),
    ],
)
def test_invalid_entries_are_refused_naming_entry_and_field(tmp_path, change, message):
    with pytest.raises(RulesCatalogError, match=message):
        load(tmp_path, [dict(VALID, **change)])


def test_two_entries_for_the_same_state_license_and_effective_date_are_refused(tmp_path):
    with pytest.raises(RulesCatalogError, match=r"entries 1 and 2 both define TX LPC effective 2024-01-01"):
        load(tmp_path, [VALID, VALID])


def test_versions_of_one_license_by_effective_date_load_as_entries_of_their_own(tmp_path):
    catalog = load(tmp_path, [VALID, dict(VALID, effective_date="2026-09-01", max_fraction_by_delivery={"self_study": "1/3"})])
    rules = catalog.tables()["rules"]
    assert rules.get_column("rule_id").to_list() == [1, 2]
    caps = catalog.tables()["rule_delivery_caps"].to_dicts()
    assert [(c["rule_id"], c["fraction_numerator"], c["fraction_denominator"]) for c in caps] == [(1, None, None), (2, 1, 3)]


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

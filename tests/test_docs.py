"""The repository documents its own contract (docs/): every input column, extract column and
configuration key the code declares is described there, and nothing in the repository points outside it."""

import pathlib
import re

import pydantic
import pytest

from pipelines.settings import ADJUSTMENT_COLUMNS, COURSE_CATALOG_COLUMNS, CREDIT_COLUMNS, ROSTER_COLUMNS, DeploymentFile
from reports.extracts import NOTIFICATIONS, SITE_EXTRACTS

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# what is the repository's own: everything but environments, outputs and caches
SKIPPED = {".git", ".venv", "var", "__pycache__", ".pytest_cache", ".hypothesis"}


def doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under a markdown heading, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.MULTILINE)
    assert match, f"no heading {heading!r}"
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


@pytest.mark.parametrize(
    ("heading", "columns"),
    [("Roster", ROSTER_COLUMNS), ("CE provider exports", CREDIT_COLUMNS), ("Course catalog", COURSE_CATALOG_COLUMNS), ("Adjustments", ADJUSTMENT_COLUMNS)],
)
def test_every_input_column_is_described(heading, columns):
    text = section(doc("inputs.md"), heading)
    assert [c for c in columns if f"`{c}`" not in text] == []


@pytest.mark.parametrize("declared", [*SITE_EXTRACTS, NOTIFICATIONS], ids=lambda e: e.file)
def test_every_extract_column_is_described_under_its_extract(declared):
    extract, columns = declared.file, declared.columns
    text = doc("outputs.md")
    headings = [h for h in re.findall(r"^### (.+)$", text, re.MULTILINE) if f"`{extract}`" in h]
    assert headings, f"{extract} has no section in docs/outputs.md"
    described = section(text, headings[0])
    if extract == "learning_plan_status.csv":  # shares its section with learning_plans.csv, after it
        described = described[described.index("`learning_plan_status.csv`:"):]
    assert [c for c in columns if f"`{c}`" not in described] == []


def keys_of(model: type[pydantic.BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        nested = [a for a in (field.annotation, *getattr(field.annotation, "__args__", ())) if isinstance(a, type) and issubclass(a, pydantic.BaseModel)]
        for inner in nested:
            keys.extend(keys_of(inner, f"{prefix}{name}."))
    return keys


def test_every_configuration_key_is_documented():
    configuration = doc("configuration.md") + doc("learning_plans.md") + doc("notifications.md")
    missing = [k for k in keys_of(DeploymentFile) if re.search(rf"\b{re.escape(k.rsplit('.', 1)[-1])}:", configuration) is None]
    assert missing == []


def test_nothing_in_the_repository_points_outside_it():
    # written so that this line does not match itself
    outside = re.compile("|".join([r"\bS" + r"PEC\b", r"\.\./sha" + "red", "/wo" + "rk/"]))
    found = []
    for path in sorted(ROOT.rglob("*")):
        parts = path.relative_to(ROOT).parts
        if SKIPPED & set(parts) or any(part.endswith(".egg-info") for part in parts) or not path.is_file() or path.suffix in {".xlsx", ".pyc"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found.extend(f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1) if outside.search(line))
    assert found == []

"""How a name written in one file is matched to the same name written in another."""

from collections.abc import Iterable


def clinic_key(name: str) -> str:
    """Which clinic a name means, however the roster, users.yaml or the notifications settings spell it in
    capitals or blanks (`North Clinic`, ` north  clinic`): its words, Unicode case-folded (`str.casefold`)."""
    return " ".join(name.split()).casefold()


def clinic_spellings(names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """`clinic_key` -> the spellings of that clinic among `names`, in name order (the first names it)."""
    spellings: dict[str, list[str]] = {}
    for name in sorted(set(names)):
        spellings.setdefault(clinic_key(name), []).append(name)
    return {key: tuple(names) for key, names in spellings.items()}

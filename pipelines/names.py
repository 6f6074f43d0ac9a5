"""How a name written in one file is matched to the same name written in another."""


def clinic_key(name: str) -> str:
    """Which clinic a name means, however the roster, users.yaml or the notifications settings spell it in
    capitals or blanks (`North Clinic`, ` north  clinic`): its words, Unicode case-folded (`str.casefold`)."""
    return " ".join(name.split()).casefold()

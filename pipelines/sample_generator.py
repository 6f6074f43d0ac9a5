"""A seeded generator of a complete sample deployment: configuration, rules catalog, HR roster, CE files.

    python -m pipelines.sample_generator --clinicians 70 --seed 7 --out DIR [--as-of 2026-11-25] [--bad-rows]

It writes `DIR/config.yaml`, `DIR/rules.yaml` (a copy of sample_data/rules.yaml), the roster under
`DIR/landing/roster/` and three providers' files under `DIR/landing/providers/<name>/`: `stateboard`
(built-in layout board_report), `lms` (built-in layout lms_export, Windows-1252) and `summit` (XLSX,
added by configuration alone), the organisation's course catalog under `DIR/landing/catalog/` with a
training budget per clinician, and the compliance officer's adjustments (extensions, waivers,
exemptions, prior completions, certified carry-overs) under `DIR/landing/adjustments/`. With
`--bad-rows` it also plants every bad-input case of the data-quality table (docs/data_quality.md) and lists each one in
`DIR/injected_bad_rows.csv` (file, row, case).

The rules catalog decides what people take: each license is generated against the catalog entry in
force on its cycle's last day (compliance rule 9): its category minimums, those of the
conditional items its person's roster `roles` list (supervisor, telehealth) and of the
`every_nth_cycle` items due in that cycle; its one-time topics (`once_by_category`), completed years
ago (reported in the state board's transcript history file), inside the cycle, or not at all; and,
under an entry with `carry_over`, completions throughout the previous cycle, so that excess hours
carry over.

The same arguments give byte-identical files. Everything is vectorised (numpy draws, polars frames),
so 100k clinicians (~5M credits) take seconds; XLSX writing is slow, so the XLSX provider's share of
rows shrinks at scale.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import pathlib
import shutil
import unicodedata

import numpy as np
import polars as pl
import scipy.special
import xlsxwriter
import yaml

from pipelines.settings import BUILT_IN_LAYOUTS, CATEGORIES
from pipelines.yaml_files import read_yaml

SAMPLE_RULES = pathlib.Path(__file__).resolve().parent.parent / "sample_data" / "rules.yaml"
DEFAULT_AS_OF = dt.date(2026, 11, 25)
HISTORY_DAYS = 730  # providers deliver about two years of completions
MAX_CLINICIANS = 2_000_000  # people are numbered in 21 bits of the file-order key
XLSX_ROW_BUDGET = 40_000  # the XLSX provider's rows at most: xlsxwriter writes ~15k rows/s
HTML_NAME = "<b>Nguyễn</b>"
FORMULA_TEXT = '=HYPERLINK("http://example.com/claim","Claim your certificate")'
ORG_EMAIL_DOMAIN = "northstarbh.org"

# ------------------------------------------------------------------------------------------------
# The organisation: licenses it employs, clinics, people's names
# ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LicenseKind:
    state: str
    type: str
    weight: float  # relative share of the roster
    family: str  # social_work | counseling | mft | psychology | addiction
    number_prefix: str  # license numbers are prefix + zero-padded digits, in the state's style
    number_width: int
    expiry: str  # month_end (birth-month style) | anniversary (from the date of licensure) | MM-DD/odd|even (statewide date)


LICENSE_KINDS = (
    LicenseKind("TX", "LPC", 12, "counseling", "", 7, "month_end"),
    LicenseKind("TX", "LCSW", 8, "social_work", "", 7, "month_end"),
    LicenseKind("TX", "LMSW", 4, "social_work", "", 7, "month_end"),
    LicenseKind("TX", "LMFT", 4, "mft", "", 7, "month_end"),
    LicenseKind("TX", "PSYCHOLOGIST", 3, "psychology", "", 7, "month_end"),
    LicenseKind("TX", "LCDC", 2, "addiction", "", 7, "month_end"),
    LicenseKind("CA", "LCSW", 6, "social_work", "LCSW ", 6, "month_end"),
    LicenseKind("CA", "LMFT", 7, "mft", "LMFT ", 6, "month_end"),
    LicenseKind("CA", "LPCC", 3, "counseling", "LPCC ", 5, "month_end"),
    LicenseKind("CA", "PSYCHOLOGIST", 3, "psychology", "PSY ", 5, "month_end"),
    LicenseKind("NY", "LCSW", 6, "social_work", "", 6, "month_end"),
    LicenseKind("NY", "LMSW", 3, "social_work", "", 6, "month_end"),
    LicenseKind("NY", "LMHC", 5, "counseling", "", 6, "month_end"),
    LicenseKind("NY", "LMFT", 2, "mft", "", 6, "month_end"),
    LicenseKind("NY", "PSYCHOLOGIST", 2, "psychology", "", 6, "month_end"),
    LicenseKind("FL", "LMHC", 3, "counseling", "MH", 7, "03-31/odd"),
    LicenseKind("FL", "LCSW", 2, "social_work", "SW", 7, "03-31/odd"),
    LicenseKind("FL", "PSYCHOLOGIST", 2, "psychology", "PY", 7, "05-31/even"),
    LicenseKind("IL", "LCSW", 5, "social_work", "149.", 6, "11-30/odd"),
    LicenseKind("IL", "LCPC", 4, "counseling", "180.", 6, "03-31/odd"),
    LicenseKind("IL", "LPC", 1, "counseling", "178.", 6, "03-31/odd"),
    LicenseKind("IL", "LMFT", 2, "mft", "168.", 6, "02-28/odd"),
    LicenseKind("IL", "PSYCHOLOGIST", 2, "psychology", "071.", 6, "09-30/even"),
    LicenseKind("OH", "LISW", 4, "social_work", "I.", 7, "anniversary"),
    LicenseKind("OH", "LPCC", 4, "counseling", "E.", 7, "anniversary"),
    LicenseKind("OH", "IMFT", 2, "mft", "M.", 7, "anniversary"),
    LicenseKind("OH", "LICDC", 2, "addiction", "LICDC.", 6, "anniversary"),
)
KIND_INDEX = {(k.state, k.type): i for i, k in enumerate(LICENSE_KINDS)}

# Approvals a course reported against a license usually carries; a few credits carry another one.
ACCREDITATIONS_BY_FAMILY = {
    "social_work": ("ASWB_ACE", "NASW"),
    "counseling": ("NBCC",),
    "mft": ("AAMFT",),
    "psychology": ("APA",),
    "addiction": ("NAADAC",),
}
APPROVALS_OVERRIDE = {("CA", "mft"): ("CAMFT",), ("OH", "mft"): ("NASW_OH",), ("OH", "addiction"): ("NAADAC",)}
STATE_BOARD_APPROVAL = {"TX": "TX_BHEC", "CA": "CA_BBS", "NY": "NY_SED", "FL": "FL_CEBROKER", "IL": "IL_IDFPR", "OH": "OH_CSWMFT"}
ALL_ACCREDITATIONS = ("APA", "ASWB_ACE", "NBCC", "NAADAC", "NASW", "NASW_OH", "AAMFT", "CAMFT", *STATE_BOARD_APPROVAL.values())

CLINIC_BY_STATE = {
    "TX": ("Austin Clinic", "Houston Clinic"),
    "CA": ("Oakland Clinic",),
    "NY": ("Brooklyn Clinic",),
    "FL": ("Tampa Clinic",),
    "IL": ("Chicago Clinic",),
    "OH": ("Columbus Clinic",),
}
# A larger organisation has more clinics than these, about one per CLINIC_PEOPLE people of a state, named
# after the region and city they serve ("Gulf Coast – Houston Clinic 3"). Their sizes follow a log-normal
# curve, as real ones do: most of 10–300 people, a few hubs of a thousand or more.
CLINIC_PEOPLE = 100
CLINIC_SIZE_SIGMA = 1.0
REGIONS_BY_STATE = {
    "TX": {"Central Texas": ("Austin", "Round Rock", "Waco"), "Gulf Coast": ("Houston", "Galveston", "Beaumont"),
           "North Texas": ("Dallas", "Fort Worth", "Plano"), "South Texas": ("San Antonio", "Corpus Christi", "Laredo")},
    "CA": {"Bay Area": ("Oakland", "San José", "Berkeley"), "Southern California": ("Los Angeles", "San Diego", "Long Beach"),
           "Central Valley": ("Fresno", "Sacramento")},
    "NY": {"New York City": ("Brooklyn", "Queens", "The Bronx", "Manhattan"), "Upstate": ("Albany", "Buffalo", "Rochester")},
    "FL": {"Tampa Bay": ("Tampa", "St. Petersburg"), "South Florida": ("Miami", "Fort Lauderdale"), "North Florida": ("Jacksonville", "Tallahassee")},
    "IL": {"Chicagoland": ("Chicago", "Evanston", "Aurora"), "Central Illinois": ("Springfield", "Peoria")},
    "OH": {"Central Ohio": ("Columbus", "Dublin"), "Northeast Ohio": ("Cleveland", "Akron"), "Southwest Ohio": ("Cincinnati", "Dayton")},
}  # fmt: skip
TELEHEALTH_CLINIC = "Telehealth Services"
TELEHEALTH_CLINIC_SHARE = 0.15  # of people, up to TELEHEALTH_CLINIC_MAX: one large clinic of a large organisation
TELEHEALTH_CLINIC_MAX = 5_000
SUPERVISOR_SHARE = 0.18  # of people: licensed clinical supervisors (LCSW-S, LPC-S, LISW-S ...)
TELEHEALTH_SHARE = 0.2  # of people outside the telehealth clinic who also see clients by video

JOB_TITLES_BY_FAMILY = {
    "social_work": ("Clinical Social Worker", "Senior Clinical Social Worker", "Social Worker", "Care Coordinator – LCSW"),
    "counseling": ("Counselor", "Licensed Professional Counselor", "Senior Therapist", "Outpatient Therapist"),
    "mft": ("Marriage & Family Therapist", "Family Therapist", "Couples Therapist"),
    "psychology": ("Staff Psychologist", "Clinical Director", "Neuropsychologist"),
    "addiction": ("Addiction Counselor", "Substance Use Counselor"),
}

FIRST_NAMES = (
    "José", "María", "Sofía", "Zoë", "Chloé", "Aisha", "Fatima", "Omar", "Li", "Wei", "Mei", "Hiroshi",
    "Yuki", "Ngọc", "Thảo", "Minh", "Priya", "Arjun", "Siobhán", "Seán", "Niamh", "Björn", "Jürgen",
    "Léa", "François", "Renée", "Zoltán", "Małgorzata", "Dmitri", "Olga", "Kwame", "Chiamaka",
    "Oluwaseun", "Tom", "Grace", "Emily", "Michael", "Sarah", "David", "Jennifer", "James", "Ashley",
    "Robert", "Jessica", "Daniel", "Amanda", "Christopher", "Elizabeth", "Matthew", "Laura", "Andrew",
    "Megan", "Kevin", "Rachel", "Brian", "Nicole", "Jamal", "Keisha", "DeShawn", "Imani", "Carlos",
    "Lucía", "Ana", "Juan", "Guadalupe", "Ximena", "Mateo", "Valentina", "Ahmed", "Layla", "Yusuf",
    "Noor", "Sun-hee", "Ji-woo", "Hana", "Tomás", "Inés", "Mary Ellen", "Anne-Marie", "Jean-Luc",
)
LAST_NAMES = (
    "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez", "Ramírez",
    "Núñez", "Peña", "O'Brien", "O'Neil", "McCarthy", "D'Angelo", "Nguyễn", "Trần", "Lê", "Phạm",
    "Müller", "Schröder", "Weiß", "Kowalski", "Wiśniewski", "Smith", "Johnson", "Williams", "Brown",
    "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin",
    "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen",
    "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell",
    "Kim", "Park", "Choi", "Patel", "Shah", "Singh", "Khan", "Haddad", "Okafor", "Adeyemi", "Mensah",
    "Cohen", "Levi", "Novak", "Horváth", "Dubois", "Lefèvre", "Rossi", "Smith-Jones", "de la Cruz", "Van Buren",
)

# ------------------------------------------------------------------------------------------------
# Courses and the providers that report them
# ------------------------------------------------------------------------------------------------

COURSE_TOPICS = {
    "general": (
        "Trauma-Informed Care – Foundations", "Motivational Interviewing in Practice", "CBT for Anxiety Disorders",
        "DBT Skills for Emotion Regulation", "Treating Adolescent Depression", "EMDR: An Overview",
        "Grief and Bereavement Counseling", "Assessment and Diagnosis with the DSM-5-TR", "Sleep and Mood",
        "Mindfulness-Based Interventions", "Working with Veterans and PTSD", "Treatment Planning That Works",
        "Eating Disorders: Recognition and Referral", "Perinatal Mental Health", "Play Therapy Techniques",
        "Family Systems, Part 1", "Family Systems, Part 2", "Autism Spectrum: Adult Presentations",
        "Documentation and Progress Notes", "Group Therapy Facilitation", "ACT for Chronic Stress",
        "Psychopharmacology for Non-Prescribers", "Café Conversations: Peer Consultation", "Schema Therapy Basics",
    ),
    "ethics": (
        "Ethics for Behavioral Health Professionals", "Ethical Decision-Making in Practice", "Ethics in Telehealth",
        "Law and Ethics Update", "Confidentiality, HIPAA and Duty to Warn", "Ethics in Supervision",
    ),
    "law": ("State Laws and Rules Review", "Mandated Reporting and the Law"),
    "cultural_competency": (
        "Culturally Responsive Care", "Cultural Humility in Clinical Practice", "Serving LGBTQ+ Clients",
        "Working with Interpreters", "Racial Trauma and Healing",
    ),
    "suicide_prevention": ("Suicide Risk Assessment and Safety Planning", "Collaborative Assessment of Suicidality (CAMS)"),
    "supervision": ("Clinical Supervision Models", "Supervising New Clinicians"),
    "substance_use": ("Substance Use Disorders: Screening and Brief Intervention", "Opioid Use Disorder Treatment", "Co-Occurring Disorders"),
    "domestic_violence": ("Domestic Violence: Assessment and Safety",),
    "pain_management": ("Chronic Pain and Behavioral Health",),
    "hiv_aids": ("HIV/AIDS: Prevention and Care",),
    "implicit_bias": ("Implicit Bias in Health Care",),
    "human_trafficking": ("Human Trafficking Prevention",),
    "professional_boundaries": ("Appropriate Professional Boundaries",),
    "medical_errors": ("Prevention of Medical Errors",),
    "sexual_harassment_prevention": ("Sexual Harassment Prevention",),
    "telehealth": ("Telehealth Best Practices",),
    "crisis_management": ("Crisis Intervention and De-escalation",),
    "dementia": ("Alzheimer's Disease and Dementia Care",),
    "child_abuse": ("Child Abuse Identification and Reporting",),
}
# How often a background credit falls in each category (the rest is general).
CATEGORY_SHARES = {
    "ethics": 0.09, "cultural_competency": 0.06, "suicide_prevention": 0.03, "supervision": 0.03,
    "substance_use": 0.05, "domestic_violence": 0.015, "pain_management": 0.01, "hiv_aids": 0.01,
    "implicit_bias": 0.015, "human_trafficking": 0.01, "professional_boundaries": 0.02, "medical_errors": 0.01,
    "sexual_harassment_prevention": 0.015, "telehealth": 0.03, "crisis_management": 0.02, "dementia": 0.01,
    "law": 0.02, "child_abuse": 0.005,
}
COURSE_HOURS_TENTHS = np.array([5, 7, 10, 12, 15, 20, 30, 40, 60])
COURSE_HOURS_SHARES = np.array([0.07, 0.02, 0.38, 0.02, 0.14, 0.17, 0.10, 0.05, 0.05])
DELIVERIES = ("live", "live_online", "self_study")
CE_PROVIDER_ORGS = ("Lone Star CE", "PESI", "Relias", "CE4Less", "Pacific Institute", "Empire State CE", "Prairie CE", "Buckeye Learning")


@dataclasses.dataclass(frozen=True, eq=False)
class Provider:
    name: str
    folder: str
    categories: dict[str, str]  # vocabulary -> the provider's own label
    delivery: dict[str, str]


STATEBOARD = Provider(
    "stateboard",
    "providers/stateboard",
    categories={
        "general": "General", "ethics": "Ethics", "law": "Laws and Rules", "cultural_competency": "Cultural Diversity",
        "suicide_prevention": "Suicide Prevention", "supervision": "Clinical Supervision",
        "substance_use": "Substance Use Disorders", "domestic_violence": "Domestic Violence",
        "pain_management": "Pain Management", "hiv_aids": "HIV/AIDS", "implicit_bias": "Implicit Bias",
        "human_trafficking": "Human Trafficking", "professional_boundaries": "Professional Boundaries",
        "medical_errors": "Prevention of Medical Errors", "sexual_harassment_prevention": "Sexual Harassment Prevention",
        "telehealth": "Telehealth", "crisis_management": "Crisis Management", "dementia": "Alzheimer's & Dementia",
        "child_abuse": "Child Abuse Reporting",
    },
    delivery={"live": "Live", "live_online": "Live Webinar", "self_study": "Self-Study"},
)
LMS = Provider(
    "lms",
    "providers/lms",
    categories={
        "general": "Clinical Skills", "ethics": "Ethics & Law", "law": "Legal", "cultural_competency": "Diversity, Equity & Inclusion",
        "suicide_prevention": "Suicide Prevention", "supervision": "Leadership & Supervision",
        "substance_use": "Addictions", "domestic_violence": "Domestic Violence", "pain_management": "Pain Management",
        "hiv_aids": "HIV/AIDS", "implicit_bias": "Implicit Bias", "human_trafficking": "Human Trafficking",
        "professional_boundaries": "Boundaries", "medical_errors": "Patient Safety",
        "sexual_harassment_prevention": "Harassment Prevention",
        "telehealth": "telehealth",  # already a vocabulary value: the config needs no entry for it
        "crisis_management": "Crisis Response", "dementia": "Dementia Care", "child_abuse": "Child Protection",
    },
    delivery={"live": "Classroom", "live_online": "Virtual Classroom", "self_study": "Self-paced"},
)
SUMMIT = Provider(
    "summit",
    "providers/summit",
    categories={
        "general": "General Practice", "ethics": "Professional Ethics", "law": "Law", "cultural_competency": "Cultural Competence",
        "suicide_prevention": "Suicide Prevention", "supervision": "Supervision", "substance_use": "Substance Use",
        "domestic_violence": "Domestic Violence", "pain_management": "Pain", "hiv_aids": "HIV", "implicit_bias": "Implicit Bias",
        "human_trafficking": "Human Trafficking", "professional_boundaries": "Boundaries", "medical_errors": "Medical Errors",
        "sexual_harassment_prevention": "Harassment", "telehealth": "Telehealth", "crisis_management": "Crisis",
        "dementia": "Dementia", "child_abuse": "Child Abuse",
    },
    delivery={"live": "In Person", "live_online": "Webinar", "self_study": "On Demand"},
)
PROVIDERS = (STATEBOARD, LMS, SUMMIT)
PROVIDER_NAMES = pl.Enum([p.name for p in PROVIDERS])
ACCREDITATION_CODES = pl.Enum(ALL_ACCREDITATIONS)
LMS_KEYS = ("both", "email", "id")  # which person keys an LMS row carries
SUMMIT_COLUMNS = {
    "employee_id": "Staff No",
    "course_id": "Module ID",
    "course_title": "Module",
    "completion_date": "Finished",
    "hours": "CE Hours",
    "category": "Topic",
    "delivery": "Mode",
    "accreditation": "Approval",
}
SUMMIT_DATE_FORMAT = "%d.%m.%Y"
ROSTER_HEADERS = {
    "employee_id": "Emp No",
    "first_name": "Legal First Name",
    "last_name": "Legal Last Name",
    "email": "Work Email",
    "clinic": "Site",
    "job_title": "Job Title",
    "employment_status": "Employment Status",
    "termination_date": "Term Date",
    "license_type": "License Type",
    "license_state": "License State",
    "license_number": "License #",
    "license_issue_date": "Lic Issue Date",
    "license_expiration_date": "Lic Exp Date",
    "roles": "Roles",
}
ROSTER_DATE_FORMAT = "%m/%d/%Y"

# The first people of every generated roster show one status each on the as-of date, so that even
# a small sample shows them all: (license, diligent, days from as_of to expiry, issued in this cycle).
SHOWCASE = (
    (("TX", "LPC"), True, 200, False),  # compliant
    (("CA", "LCSW"), False, 40, False),  # at_risk
    (("TX", "LCSW"), False, -30, False),  # overdue
    (("NY", "LMHC"), False, 500, False),  # on_track
    (("IL", "LCSW"), True, 0, True),  # exempt (Illinois: a first renewal is exempt)
    (("TX", "LCDC"), True, 300, False),  # not_evaluated (no rule in the catalog)
    (("OH", "LPCC"), True, 300, False),  # an accepted_accreditations rule: hosts the unaccepted-approval case
)


# ------------------------------------------------------------------------------------------------
# Roster
# ------------------------------------------------------------------------------------------------


def _ascii_letters(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalpha())


def _people(rng: np.random.Generator, count: int, as_of: dt.date) -> pl.DataFrame:
    """One row per person: names, email, engagement, employment."""
    first = rng.integers(len(FIRST_NAMES), size=count)
    last = rng.integers(len(LAST_NAMES), size=count)
    status = rng.choice(["active", "leave", "terminated"], size=count, p=[0.92, 0.04, 0.04])
    diligent = rng.random(count) < 0.75
    showcase = min(count, len(SHOWCASE))
    status[:showcase] = "active"
    diligent[:showcase] = [is_diligent for _, is_diligent, _, _ in SHOWCASE[:showcase]]
    # a few terminations are announced for a date still ahead of as_of
    terminated_days_ago = np.where(rng.random(count) < 0.15, -rng.integers(5, 40, size=count), rng.integers(1, 300, size=count))
    # roles HR records (the roster's `roles`): clinical supervisors, and clinicians who see clients by video
    supervisor = rng.random(count) < SUPERVISOR_SHARE
    telehealth = rng.random(count) < TELEHEALTH_SHARE
    supervisor[:showcase] = telehealth[:showcase] = False  # the showcase keeps its one status each
    people = pl.DataFrame(
        {
            "person": np.arange(count, dtype=np.int64),
            "first_name": pl.Series(FIRST_NAMES).gather(first),
            "last_name": pl.Series(LAST_NAMES).gather(last),
            "first_ascii": pl.Series([_ascii_letters(n) for n in FIRST_NAMES]).gather(first),
            "last_ascii": pl.Series([_ascii_letters(n) for n in LAST_NAMES]).gather(last),
            "diligent": diligent,
            "employment_status": status,
            "termination_days_ago": terminated_days_ago,
            "capitalised_email": rng.random(count) < 0.2,
            "role_supervisor": supervisor,
            "role_telehealth": telehealth,
            "capitalised_roles": rng.random(count) < 0.15,
        }
    )
    width = max(6, len(str(count + 1000)))
    local = pl.col("first_ascii") + "." + pl.col("last_ascii")
    repeat = pl.int_range(pl.len()).over(local)  # the second José García becomes jose.garcia2
    email_local = pl.when(repeat == 0).then(local).otherwise(local + (repeat + 1).cast(pl.String))
    return people.with_columns(
        employee_id=(pl.col("person") + 1000).cast(pl.String).str.zfill(width),
        email=pl.when(pl.col("capitalised_email"))
        .then(email_local.str.to_titlecase() + "@NorthstarBH.org")
        .otherwise(email_local + "@" + ORG_EMAIL_DOMAIN),
        termination_date=pl.when(pl.col("employment_status") == "terminated")
        .then(pl.lit(as_of) - pl.duration(days=pl.col("termination_days_ago")))
        .otherwise(None),
    ).drop("first_ascii", "last_ascii", "capitalised_email", "termination_days_ago")


def _statewide_expiry(rule: str, as_of: dt.date) -> dt.date:
    """The next statewide expiry date on or after as_of, for rules like '11-30/odd'."""
    month_day, parity = rule.split("/")
    month, day = (int(part) for part in month_day.split("-"))
    year = as_of.year
    while True:
        candidate = dt.date(year, month, day)
        if candidate >= as_of and (year % 2 == 1) == (parity == "odd"):
            return candidate
        year += 1


def _second_license_kind(rng: np.random.Generator, first_kind: np.ndarray) -> np.ndarray:
    """A plausible second license: another license of the same state, or the same profession elsewhere."""
    companions = [
        [j for j, other in enumerate(LICENSE_KINDS) if j != i and (other.state == kind.state or other.family == kind.family)]
        for i, kind in enumerate(LICENSE_KINDS)
    ]
    width = max(len(c) for c in companions)
    table = np.array([c + [c[0]] * (width - len(c)) for c in companions])
    counts = np.array([len(c) for c in companions])
    pick = (rng.random(first_kind.size) * counts[first_kind]).astype(np.int64)
    return table[first_kind, pick]


def _licenses(rng: np.random.Generator, people: pl.DataFrame, rules: dict, as_of: dt.date) -> pl.DataFrame:
    """One row per person and license, with number, issue and expiration dates."""
    count = people.height
    weights = np.array([k.weight for k in LICENSE_KINDS], dtype=float)
    first_kind = rng.choice(len(LICENSE_KINDS), size=count, p=weights / weights.sum())
    has_second = rng.random(count) < 0.15
    days_to_expiry = _days_to_expiry(rng, count)
    issued_in_cycle = rng.random(count) < 0.08
    for person, (kind, _, days, recent) in enumerate(SHOWCASE[:count]):
        first_kind[person], has_second[person] = KIND_INDEX[kind], False
        days_to_expiry[person], issued_in_cycle[person] = days, recent
    second = np.flatnonzero(has_second)
    person = np.concatenate([np.arange(count), second])
    kind = np.concatenate([first_kind, _second_license_kind(rng, first_kind[second])])
    licenses = pl.DataFrame(
        {
            "person": person,
            "license_seq": np.concatenate([np.zeros(count, np.int8), np.ones(second.size, np.int8)]),
            "kind": kind,
            "days_to_expiry": np.concatenate([days_to_expiry, _days_to_expiry(rng, second.size)]),
            "issued_in_cycle": np.concatenate([issued_in_cycle, rng.random(second.size) < 0.08]),
            "years_licensed": rng.integers(0, 22, size=person.size),
            "issue_day_jitter": rng.integers(1, 365, size=person.size),
            "issue_fraction": rng.random(person.size),
        }
    ).sort("person", "license_seq")
    kinds = pl.DataFrame(
        {
            "kind": np.arange(len(LICENSE_KINDS)),
            "license_state": [k.state for k in LICENSE_KINDS],
            "license_type": [k.type for k in LICENSE_KINDS],
            "family": [k.family for k in LICENSE_KINDS],
            "number_prefix": [k.number_prefix for k in LICENSE_KINDS],
            "number_width": [k.number_width for k in LICENSE_KINDS],
            "expiry": [k.expiry for k in LICENSE_KINDS],
            "statewide_expiry": [
                _statewide_expiry(k.expiry, as_of) if "/" in k.expiry else None for k in LICENSE_KINDS
            ],
            "cycle_months": [rules.get((k.state, k.type), {}).get("cycle_months", 24) for k in LICENSE_KINDS],
        }
    )
    target = pl.lit(as_of) + pl.duration(days=pl.col("days_to_expiry"))
    expiration = (
        pl.when(pl.col("expiry") == "month_end")
        .then(target.dt.month_end())
        .when(pl.col("expiry") == "anniversary")
        .then(target)
        .otherwise(pl.col("statewide_expiry"))
    )
    cycle_start = pl.col("license_expiration_date").dt.offset_by(pl.format("-{}mo", pl.col("cycle_months"))).dt.offset_by("1d")
    cycle_days_so_far = (pl.min_horizontal(pl.col("license_expiration_date"), pl.lit(as_of)) - pl.col("cycle_start")).dt.total_days()
    issue_in_cycle = pl.col("cycle_start") + pl.duration(days=(pl.col("issue_fraction") * cycle_days_so_far).cast(pl.Int64))
    issue_before_cycle = (
        pl.when(pl.col("expiry") == "anniversary")  # Ohio: cycles run every two years from the date of licensure
        .then(pl.col("cycle_start").dt.offset_by(pl.format("-{}y", 2 * (pl.col("years_licensed") // 2 + 1))))
        .otherwise(
            pl.col("cycle_start").dt.offset_by(pl.format("-{}y", pl.col("years_licensed")))
            - pl.duration(days=pl.col("issue_day_jitter"))
        )
    )
    return (
        licenses.join(kinds, on="kind", how="left", maintain_order="left")
        .with_row_index("license_row")
        .with_columns(license_expiration_date=expiration)
        .with_columns(cycle_start=cycle_start)
        .with_columns(
            license_issue_date=pl.when(pl.col("issued_in_cycle")).then(issue_in_cycle).otherwise(issue_before_cycle),
            license_number=pl.col("number_prefix")
            + (pl.col("license_row").cast(pl.Int64) + 1201).cast(pl.String).str.zfill(pl.col("number_width")),
        )
    )


def _days_to_expiry(rng: np.random.Generator, count: int) -> np.ndarray:
    """Days from as_of to the end of the current cycle: a few lapsed, some due soon, most later."""
    band = rng.choice(3, size=count, p=[0.06, 0.16, 0.78])
    return np.select(
        [band == 0, band == 1],
        [-rng.integers(1, 75, size=count), rng.integers(1, 89, size=count)],
        rng.integers(90, 730, size=count),
    )


def _pick_by_group(
    groups: pl.Series, fraction: np.ndarray, options: dict[str, tuple[str, ...]], weights: dict[str, np.ndarray] | None = None
) -> pl.Series:
    """For each row, the option at `fraction` of its group's options: all equally likely, or in proportion to
    the group's `weights`."""
    picked = np.empty(groups.len(), dtype=object)
    group_values = groups.to_numpy()
    for group, names in options.items():
        rows = np.flatnonzero(group_values == group)
        if weights and group in weights:
            cumulative = np.cumsum(weights[group]) / weights[group].sum()
            index = np.minimum(np.searchsorted(cumulative, fraction[rows], side="right"), len(names) - 1)
        else:
            index = (fraction[rows] * len(names)).astype(np.int64)
        picked[rows] = np.asarray(names, dtype=object)[index]
    return pl.Series(picked, dtype=pl.String)


def _clinics(rng: np.random.Generator, people_by_state: dict[str, int]) -> tuple[dict[str, tuple[str, ...]], dict[str, np.ndarray]]:
    """Each state's clinics, and their relative sizes where the state has more than CLINIC_BY_STATE names."""
    clinics, weights = dict(CLINIC_BY_STATE), {}
    for state, people in people_by_state.items():
        count = round(people / CLINIC_PEOPLE)
        if count <= len(CLINIC_BY_STATE[state]):
            continue
        places = [(region, city) for region, cities in REGIONS_BY_STATE[state].items() for city in cities]
        clinics[state] = tuple(
            f"{region} – {city} Clinic {i // len(places) + 1}" for i, (region, city) in ((i, places[i % len(places)]) for i in range(count))
        )
        # log-normal sizes at evenly spaced quantiles, dealt to the clinics in a seeded order
        sizes = np.exp(CLINIC_SIZE_SIGMA * scipy.special.ndtri((np.arange(count) + 0.5) / count))
        weights[state] = sizes[rng.permutation(count)]
    return clinics, weights


def _roster(rng: np.random.Generator, people: pl.DataFrame, licenses: pl.DataFrame) -> pl.DataFrame:
    """The HR export: one row per license, the person's columns repeated, canonical column names."""
    first_license = licenses.filter(pl.col("license_seq") == 0)
    telehealth_share = min(TELEHEALTH_CLINIC_SHARE, TELEHEALTH_CLINIC_MAX / people.height)
    works_at_a_site = rng.random(people.height) < 1 - telehealth_share
    at_sites = first_license.filter(pl.Series(works_at_a_site))["license_state"].value_counts()
    clinics, sizes = _clinics(rng, dict(zip(at_sites["license_state"], at_sites["count"])))
    clinic = _pick_by_group(first_license["license_state"], rng.random(people.height), clinics, sizes)
    people = people.with_columns(
        clinic=pl.when(pl.Series(works_at_a_site)).then(clinic).otherwise(pl.lit(TELEHEALTH_CLINIC)),
        job_title=_pick_by_group(first_license["family"], rng.random(people.height), JOB_TITLES_BY_FAMILY),
    ).with_columns(role_telehealth=pl.col("role_telehealth") | ((pl.col("clinic") == TELEHEALTH_CLINIC) & (pl.col("person") >= len(SHOWCASE))))
    tokens = pl.concat_str(
        [pl.when("role_supervisor").then(pl.lit("supervisor")), pl.when("role_telehealth").then(pl.lit("telehealth"))],
        separator=";",
        ignore_nulls=True,
    )
    # as HR keys them in: mostly `supervisor;telehealth`, some `Supervisor; Telehealth` (trimmed and lower-cased on reading)
    roles = pl.when(pl.col("capitalised_roles")).then(tokens.str.to_titlecase().str.replace(";", "; ", literal=True)).otherwise(tokens)
    people = people.with_columns(roles=pl.when(tokens != "").then(roles))
    return licenses.join(people, on="person", how="left", maintain_order="left").select(
        "person", "license_row", "license_seq", "employee_id", "first_name", "last_name", "email", "clinic",
        "job_title", "employment_status", "termination_date", "license_type", "license_state", "license_number",
        "license_issue_date", "license_expiration_date", "roles", "cycle_start", "cycle_months", "kind", "diligent",
        "role_supervisor", "role_telehealth",
    )


# ------------------------------------------------------------------------------------------------
# Credits
# ------------------------------------------------------------------------------------------------

EDITIONS = ("", ": Advanced", " (2025 Update)", ": Case Studies", ", Module 2", ": Intensive")


EARLIEST = dt.date(1900, 1, 1)  # an entry without effective_date is in force from the beginning


def _effective(entry: dict) -> dt.date:
    value = entry.get("effective_date")
    if value is None:
        return EARLIEST
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _tenths(hours) -> int:
    return round(float(hours) * 10)


@dataclasses.dataclass(frozen=True)
class RuleTables:
    """The catalog's entries as the generator needs them, one row per entry version."""

    versions: pl.DataFrame  # version, kind, effective, cycle_months, carry_over
    minimums: pl.DataFrame  # version, category, min_tenths, role (null: everyone), every, anchor (null: every cycle)
    once: pl.DataFrame  # version, category, hours_tenths: one-time (lifetime) topics


def _rule_tables(versions: list[dict]) -> RuleTables:
    version_rows, minimum_rows, once_rows = [], [], []
    for version, entry in enumerate(versions):
        kind = KIND_INDEX.get((entry["license_state"], entry["license_type"]))
        if kind is None:
            continue
        version_rows.append((version, kind, _effective(entry), int(entry["cycle_months"]), "carry_over" in entry))
        for category, hours in sorted((entry.get("min_hours_by_category") or {}).items()):
            minimum_rows.append((version, category, _tenths(hours), None, None, None))
        for item in entry.get("conditional") or ():
            for category, hours in sorted((item.get("min_hours_by_category") or {}).items()):
                minimum_rows.append((version, category, _tenths(hours), str(item["role"]).strip().lower(), None, None))
        for item in entry.get("every_nth_cycle") or ():
            anchor = item["anchor"] if isinstance(item["anchor"], dt.date) else dt.date.fromisoformat(str(item["anchor"]))
            for category, hours in sorted((item.get("min_hours_by_category") or {}).items()):
                minimum_rows.append((version, category, _tenths(hours), None, int(item["every"]), anchor))
        for category, hours in sorted((entry.get("once_by_category") or {}).items()):
            once_rows.append((version, category, _tenths(hours)))
    return RuleTables(
        versions=pl.DataFrame(
            version_rows,
            schema={"version": pl.Int64, "kind": pl.Int64, "effective": pl.Date, "cycle_months": pl.Int64, "carry_over": pl.Boolean},
            orient="row",
        ),
        minimums=pl.DataFrame(
            minimum_rows,
            schema={"version": pl.Int64, "category": pl.String, "min_tenths": pl.Int64, "role": pl.String, "every": pl.Int64, "anchor": pl.Date},
            orient="row",
        ),
        once=pl.DataFrame(once_rows, schema={"version": pl.Int64, "category": pl.String, "hours_tenths": pl.Int64}, orient="row"),
    )


def _in_force(roster: pl.DataFrame, tables: RuleTables) -> pl.DataFrame:
    """The roster with `version` (the entry in force on the cycle's last day, compliance rule 9;
    null where none is) and `carry_over` (whether that entry has one)."""
    matched = (
        roster.select("license_row", pl.col("kind").cast(pl.Int64), "license_expiration_date")
        .sort("license_expiration_date")
        .join_asof(
            tables.versions.select("version", "kind", "effective").sort("effective"),
            left_on="license_expiration_date", right_on="effective", by="kind", strategy="backward", check_sortedness=False,
        )
        .select("license_row", "version")
    )
    return roster.join(matched, on="license_row", how="left", maintain_order="left").join(
        tables.versions.select("version", "carry_over"), on="version", how="left", maintain_order="left"
    ).with_columns(pl.col("carry_over").fill_null(False))


def _license_minimums(roster: pl.DataFrame, tables: RuleTables) -> pl.DataFrame:
    """(license_row, category, min_tenths): per license and category the largest minimum of its entry's
    own, of the conditional items its roster roles list and of the every_nth_cycle items due in its cycle."""
    end = pl.col("license_expiration_date")
    months = 12 * (end.dt.year() - pl.col("anchor").dt.year()).cast(pl.Int64) + (end.dt.month().cast(pl.Int64) - pl.col("anchor").dt.month().cast(pl.Int64))
    due = ((months // pl.col("cycle_months")) % pl.col("every")) == 0
    role_listed = pl.when(pl.col("role") == "supervisor").then("role_supervisor").when(pl.col("role") == "telehealth").then("role_telehealth").otherwise(False)
    return (
        roster.select(pl.col("license_row").cast(pl.Int64), "version", "license_expiration_date", "role_supervisor", "role_telehealth")
        .join(tables.minimums, on="version", how="inner")
        .join(tables.versions.select("version", "cycle_months"), on="version", how="left")
        .filter((pl.col("role").is_null() | role_listed) & (pl.col("every").is_null() | due))
        .group_by("license_row", "category")
        .agg(pl.col("min_tenths").max())
        .sort("license_row", "category")
    )


def _course_pool(rng: np.random.Generator, tables: RuleTables) -> pl.DataFrame:
    """Every course any provider reports: topic courses in several editions, plus one course per
    (category, hours) a rule requires (a minimum, a conditional or due minimum, a one-time topic),
    which is what people take to meet it."""
    titles = [(category, title + edition) for category in CATEGORIES for title in COURSE_TOPICS[category] for edition in EDITIONS]
    count = len(titles)
    topic_courses = pl.DataFrame(
        {
            "category": [c for c, _ in titles],
            "title": [t for _, t in titles],
            "hours_tenths": rng.choice(COURSE_HOURS_TENTHS, size=count, p=COURSE_HOURS_SHARES),
            "delivery": rng.choice(DELIVERIES, size=count, p=[0.3, 0.3, 0.4]),
            "org": rng.choice(CE_PROVIDER_ORGS, size=count),
            "requirement": False,
        }
    )
    needed = (
        pl.concat([tables.minimums.select("category", "min_tenths"), tables.once.select("category", min_tenths="hours_tenths")])
        .unique()
        .sort("category", "min_tenths")
    )
    requirement_courses = needed.select(
        "category",
        title=pl.col("category").replace_strict({c: COURSE_TOPICS[c][0] for c in CATEGORIES})
        + " – "
        + _decimal_text(pl.col("min_tenths"), 1)
        + "-Hour Requirement Course",
        hours_tenths=pl.col("min_tenths"),
        delivery=pl.lit("live_online"),
        org=pl.lit(CE_PROVIDER_ORGS[0]),
        requirement=pl.lit(True),
    )
    return pl.concat([topic_courses, requirement_courses], how="vertical_relaxed").with_row_index("course").with_columns(
        pl.col("course").cast(pl.Int64)
    )


def _decimal_text(units: pl.Expr, decimals: int) -> pl.Expr:
    """An integer count of 10**-decimals as exact decimal text without trailing zeros: 15 -> "1.5"."""
    scale = 10**decimals
    whole, fraction = (units // scale).cast(pl.String), (units % scale).cast(pl.String).str.zfill(decimals).str.strip_chars_end("0")
    return pl.when(units % scale == 0).then(whole).otherwise(whole + "." + fraction)


def _approval_table() -> tuple[np.ndarray, np.ndarray]:
    """Per license kind, the approvals its credits usually carry, as positions in ALL_ACCREDITATIONS
    (padded table, count per row)."""
    options = [
        APPROVALS_OVERRIDE.get((k.state, k.family), ACCREDITATIONS_BY_FAMILY[k.family]) + (STATE_BOARD_APPROVAL[k.state],)
        for k in LICENSE_KINDS
    ]
    width = max(len(o) for o in options)
    padded = [[ALL_ACCREDITATIONS.index(a) for a in o + (o[0],) * (width - len(o))] for o in options]
    return np.array(padded), np.array([len(o) for o in options])


# One-time topics: (completed before the cycle and the records, completed inside the cycle) chances; the rest never completed.
ONCE_CHANCES = {True: (0.6, 0.3), False: (0.3, 0.2)}  # by diligence
ONCE_HISTORY_DAYS = 8 * 365  # how far before the records' window a one-time topic may have been completed


def _credits(rng: np.random.Generator, roster: pl.DataFrame, pool: pl.DataFrame, tables: RuleTables, as_of: dt.date, clinicians: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical completions: per person a background of courses over two years; per license, courses
    meeting (or, for those falling behind, often missing) the category minimums that apply to it;
    its one-time topics, some completed years ago; and, under an entry with carry-over, courses
    throughout the previous cycle. Also returns the one-time topics per license with their outcome."""
    people = roster.group_by("person", maintain_order=True).agg(
        pl.col("license_row").first().alias("first_row"), pl.col("license_row").last().alias("last_row"), pl.col("diligent").first()
    )
    first_row, last_row = people["first_row"].to_numpy().astype(np.int64), people["last_row"].to_numpy().astype(np.int64)
    diligent = people["diligent"].to_numpy()
    per_person = rng.poisson(np.where(diligent, 50, 6))
    person = np.repeat(np.arange(people.height), per_person)
    size = person.size
    on_second_license = (first_row[person] != last_row[person]) & (rng.random(size) < 0.5)
    topic_pool = pool.filter(~pl.col("requirement"))
    shares = np.array([CATEGORY_SHARES.get(c, 0.0) for c in CATEGORIES])
    shares[CATEGORIES.index("general")] = 1 - shares.sum()
    first_course = topic_pool.group_by("category", maintain_order=True).agg(pl.col("course").min(), pl.len())
    starts = dict(zip(first_course["category"], first_course["course"]))
    lengths = dict(zip(first_course["category"], first_course["len"]))
    start_by_category = np.array([starts[c] for c in CATEGORIES])
    length_by_category = np.array([lengths[c] for c in CATEGORIES])

    def topic_courses(count: int) -> np.ndarray:
        category = rng.choice(len(CATEGORIES), size=count, p=shares)
        return start_by_category[category] + (rng.random(count) * length_by_category[category]).astype(np.int64)

    background = pl.DataFrame(
        {
            "person": person,
            "license_row": np.where(on_second_license, last_row[person], first_row[person]),
            "course": topic_courses(size),
            "days_ago": rng.integers(0, HISTORY_DAYS, size=size),
        }
    ).select("person", "license_row", "course", completion_date=pl.lit(as_of) - pl.duration(days=pl.col("days_ago")))

    window_start = as_of - dt.timedelta(days=HISTORY_DAYS - 1)
    licenses = roster.select(
        pl.col("license_row").cast(pl.Int64), pl.col("person").cast(pl.Int64), "cycle_start", "license_expiration_date",
        "license_issue_date", "diligent", "version", "carry_over", "cycle_months",
    )
    requirement_courses = pool.filter("requirement").select("course", "category", min_tenths="hours_tenths")
    requirements = (
        _license_minimums(roster, tables)
        .join(licenses, on="license_row", how="left")
        .join(requirement_courses, on=["category", "min_tenths"], how="left")
        .sort("license_row", "category")
    )
    showcase = requirements["person"].to_numpy() < len(SHOWCASE)
    take_chance = np.where(requirements["diligent"].to_numpy(), 0.95, 0.3)
    take_chance[showcase] = requirements["diligent"].to_numpy()[showcase]  # showcase: all or nothing
    first_day = pl.max_horizontal("cycle_start", pl.lit(window_start))
    last_day = pl.min_horizontal("license_expiration_date", pl.lit(as_of))
    topic = (
        requirements.with_columns(take=pl.Series(rng.random(requirements.height) < take_chance), fraction=pl.Series(rng.random(requirements.height)))
        .filter(pl.col("take") & (last_day >= first_day))
        .select(
            "person",
            "license_row",
            "course",
            completion_date=first_day + pl.duration(days=(pl.col("fraction") * ((last_day - first_day).dt.total_days() + 1)).cast(pl.Int64)),
        )
    )

    # One-time topics: once per person and course, whichever of the person's licenses requires it
    once = (
        licenses.join(tables.once, on="version", how="inner")
        .join(requirement_courses.rename({"min_tenths": "hours_tenths"}), on=["category", "hours_tenths"], how="left")
        .sort("license_row", "category")
        .unique(["person", "course"], keep="first", maintain_order=True)
    )
    once_diligent = once["diligent"].to_numpy()
    draw = rng.random(once.height)
    before_chance = np.where(once_diligent, ONCE_CHANCES[True][0], ONCE_CHANCES[False][0])
    inside_chance = np.where(once_diligent, ONCE_CHANCES[True][1], ONCE_CHANCES[False][1])
    long_ago, inside = draw < before_chance, (draw >= before_chance) & (draw < before_chance + inside_chance)
    once_showcase = once["person"].to_numpy() < len(SHOWCASE)
    long_ago[once_showcase], inside[once_showcase] = False, once_diligent[once_showcase]  # showcase: all or nothing
    earliest = pl.max_horizontal("license_issue_date", pl.lit(window_start - dt.timedelta(days=ONCE_HISTORY_DAYS)))
    latest_before = pl.min_horizontal("cycle_start", pl.lit(window_start)) - pl.duration(days=1)
    first_inside = pl.max_horizontal("cycle_start", pl.lit(window_start), "license_issue_date")
    once = once.with_columns(long_ago=pl.Series(long_ago), inside=pl.Series(inside), fraction=pl.Series(rng.random(once.height))).with_columns(
        outcome=pl.when(pl.col("long_ago") & (earliest <= latest_before))
        .then(pl.lit("before_records"))
        .when((pl.col("long_ago") | pl.col("inside")) & (last_day >= first_inside))
        .then(pl.lit("in_cycle"))
        .otherwise(pl.lit("missing"))
    )
    once_credits = once.filter(pl.col("outcome") != "missing").select(
        "person",
        "license_row",
        "course",
        completion_date=pl.when(pl.col("outcome") == "before_records")
        .then(earliest + pl.duration(days=(pl.col("fraction") * (latest_before - earliest).dt.total_days()).cast(pl.Int64)))
        .otherwise(first_inside + pl.duration(days=(pl.col("fraction") * ((last_day - first_inside).dt.total_days() + 1)).cast(pl.Int64))),
        history=pl.col("outcome") == "before_records",
    )

    # Under an entry with carry-over: completions from the previous cycle's start up to the records' window
    previous_start = pl.col("cycle_start").dt.offset_by(pl.format("-{}mo", pl.col("cycle_months")))
    carrying = licenses.filter("carry_over").with_columns(
        previous_start=previous_start, days=pl.max_horizontal(pl.lit(0), (pl.lit(window_start) - previous_start).dt.total_days())
    )
    rate = np.where(carrying["diligent"].to_numpy(), 50, 6) / HISTORY_DAYS
    earlier_count = rng.poisson(rate * carrying["days"].to_numpy())
    at = np.repeat(np.arange(carrying.height), earlier_count)
    earlier = (
        carrying.select("person", "license_row", "previous_start", "days")[at]
        .with_columns(course=pl.Series(topic_courses(at.size), dtype=pl.Int64), fraction=pl.Series(rng.random(at.size)))
        .select(
            "person",
            "license_row",
            "course",
            completion_date=pl.col("previous_start") + pl.duration(days=(pl.col("fraction") * pl.col("days")).cast(pl.Int64)),
        )
    )

    credits = pl.concat(
        [
            background.with_columns(history=pl.lit(False)),
            topic.with_columns(history=pl.lit(False)),
            once_credits,
            earlier.with_columns(history=pl.lit(False)),
        ]
    )
    size = credits.height
    # XLSX is slow to write: at scale the XLSX provider keeps a fixed budget of rows
    summit_share = min(0.1, XLSX_ROW_BUDGET / max(1, 42 * clinicians))
    provider = rng.choice(len(PROVIDERS), size=size, p=[0.5, 0.5 - summit_share, summit_share])
    provider[credits["history"].to_numpy()] = 0  # the state board's transcript holds what predates the other records
    approvals, approval_counts = _approval_table()
    kind = roster["kind"].to_numpy()[credits["license_row"].to_numpy()]
    usual = approvals[kind, (rng.random(size) * approval_counts[kind]).astype(np.int64)]
    other = rng.integers(len(ALL_ACCREDITATIONS), size=size)
    lms_key = rng.choice(len(LMS_KEYS), size=size, p=[0.8, 0.12, 0.08])
    credits = credits.with_columns(
        # enums, not strings: at a million clinicians these columns have 40M rows
        provider=pl.Series([p.name for p in PROVIDERS], dtype=PROVIDER_NAMES).gather(provider),
        accreditation=pl.Series(ALL_ACCREDITATIONS, dtype=ACCREDITATION_CODES).gather(np.where(rng.random(size) < 0.9, usual, other)),
        lms_key=pl.Series(LMS_KEYS, dtype=pl.Enum(LMS_KEYS)).gather(lms_key),
        in_ceu=pl.Series(rng.random(size) < 0.15),
        file_date=pl.col("completion_date"),  # the delivery a completion arrives in; a resend arrives later
        case=pl.lit(None, dtype=pl.String),
    )
    return credits, once.select("license_row", "person", "category", "hours_tenths", "outcome")


HISTORY_FILE = "ce_report_transcript_history.csv"  # the board's transcript of completions before the quarterly exports


def _file_label(provider: str) -> pl.Expr:
    date = pl.col("file_date")
    if provider == SUMMIT.name:
        return pl.format("summit_export_{}H{}", date.dt.year(), (date.dt.month() > 6).cast(pl.Int8) + 1) + ".xlsx"
    prefix = "ce_report" if provider == STATEBOARD.name else "lms_completions"
    quarterly = pl.format(prefix + "_{}Q{}", date.dt.year(), date.dt.quarter()) + ".csv"
    return pl.when(pl.col("history")).then(pl.lit(HISTORY_FILE)).otherwise(quarterly) if provider == STATEBOARD.name else quarterly


# ------------------------------------------------------------------------------------------------
# Bad input (docs/data_quality.md), planted with --bad-rows
# ------------------------------------------------------------------------------------------------

COPIES_PER_CASE = 2


def _pick_rows(rng: np.random.Generator, frame: pl.DataFrame, condition: pl.Expr, count: int = COPIES_PER_CASE) -> np.ndarray:
    """Row positions of `count` random rows that meet `condition`, are no showcase person's and carry no case yet."""
    eligible = frame.select(
        pl.int_range(pl.len()).alias("at"), (condition & pl.col("case").is_null() & (pl.col("person") >= len(SHOWCASE))).alias("ok")
    ).filter("ok")["at"].to_numpy()
    return np.sort(rng.choice(eligible, size=min(count, eligible.size), replace=False))


def _plant_credit_cases(rng: np.random.Generator, credits: pl.DataFrame, roster: pl.DataFrame, rules: dict, as_of: dt.date) -> pl.DataFrame:
    """Cases that need whole credit rows: people not on the roster, the same completion in two files,
    a course repeated later in its cycle, a late report from before the cycle, an approval the rule refuses."""
    licenses = roster.select(
        pl.col("license_row").cast(pl.Int64), "cycle_start", "license_expiration_date",
        accepts_listed_only=pl.col("kind").is_in([i for i, k in enumerate(LICENSE_KINDS) if rules.get((k.state, k.type), {}).get("accepted_accreditations")]),
    )
    credits = credits.join(licenses, on="license_row", how="left", maintain_order="left")
    in_cycle = pl.col("completion_date").is_between("cycle_start", pl.min_horizontal("license_expiration_date", pl.lit(as_of)))
    is_stateboard, is_lms = pl.col("provider") == STATEBOARD.name, pl.col("provider") == LMS.name
    added = []

    unmatched = credits[_pick_rows(rng, credits, is_stateboard | is_lms, 2 * COPIES_PER_CASE)]
    added.append(unmatched.with_columns(person=pl.lit(-1, pl.Int64), license_row=pl.lit(-1, pl.Int64), lms_key=pl.lit("both", pl.Enum(LMS_KEYS)), case=pl.lit("unmatched_clinician")))

    resent = credits[_pick_rows(rng, credits, is_lms & in_cycle & (pl.col("completion_date") < pl.lit(as_of - dt.timedelta(days=100))))]
    added.append(resent.with_columns(file_date=pl.col("completion_date").dt.offset_by("3mo"), case=pl.lit("duplicate_credit_in_two_files")))

    repeat_gap = pl.duration(days=60)
    repeated = credits[_pick_rows(rng, credits, is_stateboard & in_cycle & (pl.col("completion_date") + repeat_gap <= pl.min_horizontal("license_expiration_date", pl.lit(as_of))))]
    added.append(
        repeated.with_columns(
            completion_date=pl.col("completion_date") + repeat_gap,
            file_date=pl.col("completion_date") + repeat_gap,
            case=pl.lit("repeat_course_in_cycle"),
        )
    )

    late_report = credits[_pick_rows(rng, credits, is_stateboard & in_cycle)]
    added.append(late_report.with_columns(completion_date=pl.col("cycle_start") - pl.duration(days=400), case=pl.lit("outside_cycle")))

    refused = _pick_rows(rng, credits, is_stateboard & in_cycle & pl.col("accepts_listed_only"))
    at = pl.int_range(pl.len()).is_in(refused.tolist())
    credits = credits.with_columns(
        accreditation=pl.when(at).then(pl.lit("APA", ACCREDITATION_CODES)).otherwise("accreditation"),
        case=pl.when(at).then(pl.lit("accreditation_not_accepted")).otherwise("case"),
    )
    return pl.concat([credits, *added]).drop("cycle_start", "license_expiration_date", "accepts_listed_only")


def _plant_values(rng: np.random.Generator, frame: pl.DataFrame, plantings: list[tuple[str, dict]], eligible: pl.Expr) -> pl.DataFrame:
    """Overwrite cells of COPIES_PER_CASE distinct eligible rows per case: (case, {header: bad value})."""
    free = frame.select(pl.int_range(pl.len()).alias("at"), (eligible & pl.col("_case").is_null()).alias("ok")).filter("ok")["at"]
    rows = rng.choice(free.to_numpy(), size=min(free.len(), COPIES_PER_CASE * len(plantings)), replace=False)
    cells: dict[str, tuple[list[int], list]] = {}
    for (case, values), at in zip([p for p in plantings for _ in range(COPIES_PER_CASE)], rows):
        for column, value in {**values, "_case": case}.items():
            cells.setdefault(column, ([], []))[0].append(int(at))
            cells[column][1].append(value)
    for column, (at, values) in cells.items():
        series = frame[column].clone()
        series.scatter(at, pl.Series(values, dtype=series.dtype))
        frame = frame.with_columns(series)
    return frame


# ------------------------------------------------------------------------------------------------
# Files as each source writes them
# ------------------------------------------------------------------------------------------------

UNMATCHED_LICENSE_NUMBER = "0999999"
UNMATCHED_EMAIL = "former.contractor@" + ORG_EMAIL_DOMAIN


def _with_courses(credits: pl.DataFrame, provider: Provider, pool: pl.DataFrame) -> pl.DataFrame:
    """The provider's credits in file order with their course and its labels, helper columns prefixed `_`."""
    courses = pool.select(
        "course",
        "title",
        "hours_tenths",
        "org",
        category_label=pl.col("category").replace_strict(provider.categories),
        delivery_label=pl.col("delivery").replace_strict(provider.delivery),
    )
    return (
        credits.filter(pl.col("provider") == provider.name)
        .sort(_file_order(provider))  # while the rows are narrow, before the course texts join
        .join(courses, on="course", how="left", maintain_order="left")
        .with_columns(_file=_file_label(provider.name), unmatched=pl.col("case") == "unmatched_clinician")
        .rename({"case": "_case", "person": "_person"})
    )


def _file_order(provider: Provider) -> pl.Expr:
    """File, completion date, person, course, planted rows last: packed into one integer, because a
    single-key sort is several times faster than a sort on five columns at 40M rows."""
    date = pl.col("file_date")
    period = (date.dt.month() > 6).cast(pl.UInt64) if provider is SUMMIT else date.dt.quarter().cast(pl.UInt64)
    fields = (  # (value, bits)
        (date.dt.year().cast(pl.UInt64) * 4 + period, 15),
        (pl.col("completion_date").cast(pl.Int32).cast(pl.UInt64), 16),  # days since 1970
        ((pl.col("person") + 1).cast(pl.UInt64), 21),  # -1: a person not on the roster
        (pl.col("course").cast(pl.UInt64), 11),
        (pl.col("case").is_not_null().cast(pl.UInt64), 1),
    )
    key = pl.lit(0, pl.UInt64)
    for value, bits in fields:
        key = key * (1 << bits) + value
    return key


def _stateboard_rows(credits: pl.DataFrame, roster: pl.DataFrame, pool: pl.DataFrame, _employee_id_width: int) -> pl.DataFrame:
    licenses = roster.select(pl.col("license_row").cast(pl.Int64), "license_number", "license_state", "first_name", "last_name")
    rows = _with_courses(credits, STATEBOARD, pool).join(licenses, on="license_row", how="left", maintain_order="left")
    unmatched = pl.col("unmatched")
    canonical = rows.select(
        license_number=pl.when(unmatched).then(pl.lit(UNMATCHED_LICENSE_NUMBER)).otherwise("license_number"),
        license_state=pl.when(unmatched).then(pl.lit("TX")).otherwise("license_state"),
        first_name=pl.when(unmatched).then(pl.lit("Jordan")).otherwise("first_name"),
        last_name=pl.when(unmatched).then(pl.lit("Former-Staff")).otherwise("last_name"),
        course_title="title",
        course_id=pl.format("20-{}", pl.col("course") + 614000),
        provider="org",
        accreditation=pl.col("accreditation").cast(pl.String),
        completion_date=pl.col("completion_date").dt.strftime(BUILT_IN_LAYOUTS["board_report"].date_format),
        hours=_decimal_text(pl.col("hours_tenths"), 1),
        category="category_label",
        delivery="delivery_label",
        _file="_file", _case="_case", _person="_person",
    )
    return _as_headers(canonical, BUILT_IN_LAYOUTS["board_report"].columns)


def _lms_rows(credits: pl.DataFrame, roster: pl.DataFrame, pool: pl.DataFrame, employee_id_width: int) -> pl.DataFrame:
    people = roster.filter(pl.col("license_seq") == 0).select(pl.col("person").cast(pl.Int64).alias("_person"), "employee_id", "email")
    rows = _with_courses(credits, LMS, pool).join(people, on="_person", how="left", maintain_order="left")
    unmatched, key = pl.col("unmatched"), pl.col("lms_key")
    layout = BUILT_IN_LAYOUTS["lms_export"]
    canonical = rows.select(
        employee_id=pl.when(unmatched).then(pl.lit("9" * employee_id_width)).when(key == "email").then(None).otherwise("employee_id"),
        email=pl.when(unmatched).then(pl.lit(UNMATCHED_EMAIL)).when(key == "id").then(None).otherwise(pl.col("email").str.to_lowercase()),
        course_title="title",
        course_id=pl.format("LMS-{}", pl.col("course").cast(pl.String).str.zfill(5)),
        completion_date=pl.col("completion_date").dt.strftime(layout.date_format),
        hours=pl.when("in_ceu").then(_decimal_text(pl.col("hours_tenths"), 2)).otherwise(_decimal_text(pl.col("hours_tenths"), 1)),
        unit=pl.when("in_ceu").then(pl.lit("CEU")).otherwise(pl.lit("hours")),
        category="category_label",
        delivery="delivery_label",
        _file="_file", _case="_case", _person="_person",
    )
    headers = {**layout.columns, "unit": layout.credit_unit.removeprefix("column:")}
    # the layout's column order: the unit follows the credits
    order = ["employee_id", "email", "course_title", "course_id", "completion_date", "hours", "unit", "category", "delivery"]
    return _as_headers(canonical.select(*order, "_file", "_case", "_person"), headers)


def _summit_rows(credits: pl.DataFrame, roster: pl.DataFrame, pool: pl.DataFrame, employee_id_width: int) -> pl.DataFrame:
    people = roster.filter(pl.col("license_seq") == 0).select(pl.col("person").cast(pl.Int64).alias("_person"), "employee_id")
    rows = _with_courses(credits, SUMMIT, pool).join(people, on="_person", how="left", maintain_order="left")
    canonical = rows.select(
        employee_id=pl.when("unmatched").then(pl.lit("9" * employee_id_width)).otherwise("employee_id"),
        course_id=pl.format("SUM-{}", pl.col("course").cast(pl.String).str.zfill(4)),
        course_title="title",
        completion_date=pl.col("completion_date").dt.strftime(SUMMIT_DATE_FORMAT),
        hours=pl.col("hours_tenths") / 10,  # a spreadsheet export: hours are numeric cells
        category="category_label",
        delivery="delivery_label",
        accreditation=pl.col("accreditation").cast(pl.String),
        _file="_file", _case="_case", _person="_person",
    )
    return _as_headers(canonical, SUMMIT_COLUMNS)


RENDERERS = {STATEBOARD.name: _stateboard_rows, LMS.name: _lms_rows, SUMMIT.name: _summit_rows}


def _as_headers(canonical: pl.DataFrame, headers: dict[str, str]) -> pl.DataFrame:
    return canonical.rename({c: h for c, h in headers.items() if c in canonical.columns})


def _roster_rows(roster: pl.DataFrame) -> pl.DataFrame:
    dates = ("termination_date", "license_issue_date", "license_expiration_date")
    canonical = roster.sort("employee_id", "license_state", "license_type", "case", nulls_last=True, maintain_order=True).select(
        *[pl.col(c).dt.strftime(ROSTER_DATE_FORMAT) if c in dates else pl.col(c) for c in ROSTER_HEADERS],
        _case="case", _person="person", _eligible=pl.col("single_license") & (pl.col("employment_status") == "active"),
    )
    return _as_headers(canonical, ROSTER_HEADERS)


def _plant_roster_cases(rng: np.random.Generator, roster: pl.DataFrame) -> pl.DataFrame:
    """Adds a stale duplicate of some licenses (the previous cycle's expiration): the later one is kept."""
    stale = roster[_pick_rows(rng, roster, pl.col("single_license") & (pl.col("employment_status") == "active"))]
    return pl.concat(
        [
            roster,
            stale.with_columns(
                license_expiration_date=pl.col("license_expiration_date").dt.offset_by("-24mo"),
                case=pl.lit("duplicate_roster_row"),
            ),
        ]
    )


ROSTER_PLANTINGS = [
    ("roster_missing_employee_id", {ROSTER_HEADERS["employee_id"]: None}),
    ("roster_missing_clinic", {ROSTER_HEADERS["clinic"]: None}),
    ("roster_missing_license_type", {ROSTER_HEADERS["license_type"]: None}),
    ("roster_unparseable_license_state", {ROSTER_HEADERS["license_state"]: "Texas"}),
    ("roster_missing_license_number", {ROSTER_HEADERS["license_number"]: None}),
    ("roster_missing_expiration_date", {ROSTER_HEADERS["license_expiration_date"]: None}),
    ("roster_unparseable_expiration_date", {ROSTER_HEADERS["license_expiration_date"]: "31/12/2027"}),
    ("html_in_text", {ROSTER_HEADERS["last_name"]: HTML_NAME}),
    ("formula_text", {ROSTER_HEADERS["job_title"]: '=CONCAT("Lead"," Therapist")'}),
]


def _credit_plantings(provider: Provider, as_of: dt.date) -> list[tuple[str, dict]]:
    after_as_of = as_of + dt.timedelta(days=10)
    if provider is STATEBOARD:
        h = BUILT_IN_LAYOUTS["board_report"].columns
        return [
            ("no_person_key", {h["license_number"]: None}),
            ("completion_date_unparseable", {h["completion_date"]: "2026-02-30"}),
            ("completion_after_as_of", {h["completion_date"]: after_as_of.isoformat()}),
            ("hours_zero", {h["hours"]: "0"}),
            ("hours_over_100", {h["hours"]: "150"}),
            ("category_not_in_map", {h["category"]: "Misc Topic"}),
            ("delivery_not_in_map", {h["delivery"]: "Podcast"}),
        ]
    if provider is LMS:
        h = BUILT_IN_LAYOUTS["lms_export"].columns
        return [
            ("no_person_key", {h["employee_id"]: None, h["email"]: None}),
            ("completion_date_missing", {h["completion_date"]: None}),
            ("completion_date_unparseable", {h["completion_date"]: "13/45/2026"}),
            ("hours_not_a_number", {h["hours"]: "two"}),
            ("hours_negative", {h["hours"]: "-1"}),
            ("delivery_not_in_map", {h["delivery"]: "Hybrid"}),
            ("formula_text", {h["course_title"]: FORMULA_TEXT}),
        ]
    h = SUMMIT_COLUMNS
    return [
        ("no_person_key", {h["employee_id"]: None}),
        ("completion_after_as_of", {h["completion_date"]: after_as_of.strftime(SUMMIT_DATE_FORMAT)}),
        ("hours_missing", {h["hours"]: None}),
        ("category_not_in_map", {h["category"]: "Other"}),
    ]


def _write(frame: pl.DataFrame, folder: pathlib.Path, encoding: str = "utf-8", bom: bool = False) -> pl.DataFrame:
    """Writes one file per `_file`; returns the planted cases as (file, row, case), row as a spreadsheet shows it."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame.with_columns(_row=pl.int_range(pl.len()).over("_file") + 2)
    for (name,), part in frame.partition_by("_file", as_dict=True, maintain_order=True).items():
        data = part.select(pl.exclude("^_.*$"))
        path = folder / name
        if name.endswith(".xlsx"):
            workbook = xlsxwriter.Workbook(path)
            workbook.set_properties({"created": dt.datetime(2026, 1, 1)})  # a fixed timestamp keeps the bytes reproducible
            data.write_excel(workbook=workbook, worksheet="Completions", autofit=False, table_style=None)
            workbook.close()
        elif encoding == "utf-8":
            data.write_csv(path, include_bom=bom)
        else:
            path.write_bytes(data.write_csv().encode(encoding))
    return frame.filter(pl.col("_case").is_not_null()).select(file=pl.col("_file"), row="_row", case="_case")


# ------------------------------------------------------------------------------------------------
# The organisation's course catalog: what it offers or pays for (docs/inputs.md)
# ------------------------------------------------------------------------------------------------

CATALOG_FOLDER = "catalog"
CATALOG_FILE = "course_catalog.csv"
CATALOG_HEADERS = {
    "course_id": "Course Code",
    "course_title": "Title",
    "provider": "Vendor",
    "accreditation": "Approved By",
    "hours": "CE Hours",
    "category": "Topic",
    "delivery": "Format",
    "cost": "Price",
    "states": "Board States",
}
CATALOG_TOPICS = {
    "Clinical": "general", "Diversity": "cultural_competency", "Law & Rules": "law", "Boundaries": "professional_boundaries",
    "Harassment Prevention": "sexual_harassment_prevention", "Patient Safety": "medical_errors", "Addictions": "substance_use",
    "Ethics": "ethics", "Implicit Bias": "implicit_bias", "Supervision": "supervision", "Suicide Prevention": "suicide_prevention",
    "Telehealth": "telehealth", "Domestic Violence": "domestic_violence", "Dementia": "dementia",
}
CATALOG_FORMATS = {"In Person": "live", "Live Webinar": "live_online", "On Demand": "self_study"}
TRAINING_BUDGET_PER_CLINICIAN = 200
# Code, title, vendor, approval, hours, topic, format, price, board states (empty: every state). No course
# covers crisis management, so Texas LMFTs short of it get `no_plan` with that reason.
COURSES = (
    ("NS-ETH-101", "Ethics for Behavioral Health Professionals", "PESI", "NBCC", "6", "Ethics", "Live Webinar", "89.00", ""),
    ("NS-ETH-102", "Ethical Decision-Making in Social Work", "NASW", "ASWB_ACE", "3", "Ethics", "Live Webinar", "45.00", ""),
    ("NS-ETH-103", "Ethics Refresher", "CE4Less", "NBCC", "3", "Ethics", "On Demand", "19.00", ""),
    ("NS-ETH-104", "Ethics and Telehealth", "Relias", "APA", "3", "Ethics", "Live Webinar", "60.00", ""),
    ("NS-ETH-105", "Ethics in Couple and Family Therapy", "AAMFT", "AAMFT", "6", "Ethics", "Live Webinar", "95.00", ""),
    ("NS-ETH-OH1", "Ohio Ethics and Laws for Counselors", "Buckeye Learning", "OH_CSWMFT", "3", "Ethics", "In Person", "55.00", "OH"),
    ("NS-ETH-OH2", "Ethics and Law for Ohio Social Workers", "Buckeye Learning", "NASW_OH", "3", "Ethics", "Live Webinar", "50.00", "OH"),
    ("NS-ETH-CA1", "California Law and Ethics Update", "Pacific Institute", "CA_BBS", "6", "Ethics", "In Person", "120.00", "CA"),
    ("NS-CC-201", "Cultural Humility in Clinical Practice", "PESI", "NBCC", "3", "Diversity", "Live Webinar", "49.00", ""),
    ("NS-CC-202", "Serving LGBTQ+ Clients", "Relias", "ASWB_ACE", "3", "Diversity", "On Demand", "29.00", ""),
    ("NS-CC-203", "Racial Trauma and Healing", "Pacific Institute", "APA", "6", "Diversity", "In Person", "140.00", ""),
    ("NS-LAW-TX1", "Texas Jurisprudence for Mental Health Professionals", "Lone Star CE", "TX_BHEC", "2", "Law & Rules", "Live Webinar", "25.00", "TX"),
    ("NS-BND-NY1", "New York Professional Boundaries", "Empire State CE", "NY_SED", "3", "Boundaries", "Live Webinar", "45.00", "NY"),
    ("NS-BND-301", "Appropriate Professional Boundaries", "PESI", "NBCC", "3", "Boundaries", "On Demand", "35.00", ""),
    ("NS-SH-IL1", "Illinois Sexual Harassment Prevention", "Prairie CE", "IL_IDFPR", "1", "Harassment Prevention", "On Demand", "0.00", "IL"),
    ("NS-IB-IL1", "Implicit Bias Awareness for Illinois Clinicians", "Prairie CE", "IL_IDFPR", "1.5", "Implicit Bias", "On Demand", "15.00", "IL"),
    ("NS-IB-401", "Implicit Bias in Health Care", "Relias", "ASWB_ACE", "2", "Implicit Bias", "Live Webinar", "30.00", ""),
    ("NS-MED-FL1", "Prevention of Medical Errors (Florida)", "Sunshine CE", "FL_CEBROKER", "2", "Patient Safety", "On Demand", "20.00", "FL"),
    ("NS-SUD-501", "Co-Occurring Disorders", "NAADAC", "NAADAC", "6", "Addictions", "Live Webinar", "75.00", ""),
    ("NS-SUD-502", "Opioid Use Disorder Treatment", "PESI", "NBCC", "3", "Addictions", "On Demand", "39.00", ""),
    ("NS-SUP-601", "Clinical Supervision Models", "NASW", "ASWB_ACE", "6", "Supervision", "In Person", "150.00", ""),
    ("NS-SP-701", "Suicide Risk Assessment and Safety Planning", "PESI", "NBCC", "6", "Suicide Prevention", "Live Webinar", "79.00", ""),
    ("NS-GEN-801", "Trauma-Informed Care Intensive", "PESI", "NBCC", "12", "Clinical", "In Person", "249.00", ""),
    ("NS-GEN-802", "Motivational Interviewing Skills", "Relias", "NBCC", "6", "Clinical", "Live Webinar", "99.00", ""),
    ("NS-GEN-803", "CBT for Anxiety Disorders", "CE4Less", "APA", "10", "Clinical", "On Demand", "49.00", ""),
    ("NS-GEN-804", "DBT Skills Training", "Pacific Institute", "APA", "12", "Clinical", "In Person", "295.00", ""),
    ("NS-GEN-805", "Grief and Bereavement Counseling", "CE4Less", "NBCC", "5", "Clinical", "On Demand", "25.00", ""),
    ("NS-GEN-806", "Treating Child and Adolescent Depression", "PESI", "ASWB_ACE", "6", "Clinical", "Live Webinar", "89.00", ""),
    ("NS-GEN-807", "EMDR Foundations", "Pacific Institute", "APA", "20", "Clinical", "In Person", "450.00", ""),
    ("NS-GEN-808", "Annual Clinical Conference", "Northstar Behavioral Health", "NBCC", "12", "Clinical", "In Person", "150.00", ""),
    ("NS-GEN-809", "Telehealth Best Practices", "Relias", "ASWB_ACE", "3", "Telehealth", "On Demand", "25.00", ""),
    ("NS-GEN-810", "Psychological Assessment Update", "APA", "APA", "8", "Clinical", "Live Webinar", "160.00", ""),
    ("NS-GEN-811", "Domestic Violence: Assessment and Safety", "NASW", "NASW", "3", "Domestic Violence", "Live Webinar", "40.00", ""),
    ("NS-GEN-812", "Dementia Care for Clinicians", "Relias", "NBCC", "1.5", "Dementia", "On Demand", "15.00", ""),
    ("NS-GEN-813", "Family Systems in Practice", "AAMFT", "AAMFT", "10", "Clinical", "Live Webinar", "150.00", ""),
    ("NS-GEN-814", "CE Bundle: 24 Hours On Demand", "CE4Less", "NBCC", "24", "Clinical", "On Demand", "99.00", ""),
    ("NS-GEN-OH1", "Ohio Counselor Practice Update", "Buckeye Learning", "OH_CSWMFT", "6", "Clinical", "Live Webinar", "70.00", "OH"),
)
# Rows the catalog's suite must catch, appended after the courses: (case, row).
CATALOG_BAD_ROWS = (
    ("catalog_duplicate_course_id", ("NS-ETH-103", "Ethics Refresher (2025 price)", "CE4Less", "NBCC", "3", "Ethics", "On Demand", "29.00", "")),
    ("catalog_missing_course_id", ("", "Untitled draft course", "PESI", "NBCC", "3", "Clinical", "On Demand", "10.00", "")),
    ("catalog_missing_cost", ("NS-GEN-898", "Mindfulness-Based Stress Reduction", "Relias", "NBCC", "8", "Clinical", "Live Webinar", "", "")),
    ("catalog_negative_cost", ("NS-GEN-899", "Vendor Credit Note", "PESI", "NBCC", "1", "Clinical", "On Demand", "-25.00", "")),
    ("catalog_topic_not_in_map", ("NS-GEN-900", "Wellness Week", "Relias", "NBCC", "2", "Wellbeing", "On Demand", "20.00", "")),
)


def _write_course_catalog(folder: pathlib.Path, bad_rows: bool) -> pl.DataFrame:
    """The catalog file; returns its planted bad rows as (file, row, case)."""
    folder.mkdir(parents=True, exist_ok=True)
    planted = CATALOG_BAD_ROWS if bad_rows else ()
    rows = [*COURSES, *(row for _, row in planted)]
    frame = pl.DataFrame(rows, schema=list(CATALOG_HEADERS.values()), orient="row")
    frame.write_csv(folder / CATALOG_FILE)
    first_planted_row = len(COURSES) + 2  # the header is row 1
    return pl.DataFrame(
        {
            "file": [f"{CATALOG_FOLDER}/{CATALOG_FILE}"] * len(planted),
            "row": [first_planted_row + i for i in range(len(planted))],
            "case": [case for case, _ in planted],
        },
        schema={"file": pl.String, "row": pl.Int64, "case": pl.String},
    )


# ------------------------------------------------------------------------------------------------
# The compliance officer's adjustments (docs/inputs.md): board decisions no CE file carries
# ------------------------------------------------------------------------------------------------

ADJUSTMENTS_FOLDER = "adjustments"
ADJUSTMENTS_FILE = "adjustments.csv"
ADJUSTMENT_HEADERS = (
    "employee_id", "license_state", "license_type", "kind", "requirement", "hours", "until", "cycle_end",
    "reference", "entered_by", "entered_on", "note",
)
# Share of roster licenses with an adjustment of each kind (at least two of each in any sample).
ADJUSTMENT_SHARES = {"extension": 0.012, "waiver": 0.006, "exemption": 0.005, "prior_completion": 0.02, "carry_over": 0.012}
BOARD_BY_STATE = {"TX": "BHEC", "CA": "BBS", "NY": "NYSED OP", "FL": "FL DOH MQA", "IL": "IDFPR", "OH": "OH CSWMFT"}
BOARD_BY_LICENSE = {("CA", "PSYCHOLOGIST"): "CA BOP", ("TX", "PSYCHOLOGIST"): "TSBEP", ("OH", "LICDC"): "OCDP Board"}
# (the reference's words, a letter before its number, the note)
ADJUSTMENT_WORDING = {
    "extension": ("CE extension", "", "medical leave; the board granted more time to complete CE"),
    "waiver": ("partial waiver", "W", "hardship: the board waived this requirement for the period"),
    "exemption": ("exemption", "X", "active military duty for the whole renewal period"),
    "prior_completion": ("equivalency letter", "", "equivalent course completed before our records begin; certificate on file"),
    "carry_over": ("audit", "", "excess hours of the previous period certified at the board's audit"),
}
STALE_NOTE = "granted for the previous period; left in the file"
MISSING_HOURS_NOTE = "hours to be confirmed with the licensee"
ENTERED_BY = ("m.okafor@" + ORG_EMAIL_DOMAIN, "j.kowalski@" + ORG_EMAIL_DOMAIN)


def _adjustments(
    rng: np.random.Generator, roster: pl.DataFrame, once: pl.DataFrame, versions: list[dict], excluded: pl.Series, as_of: dt.date, bad_rows: bool
) -> pl.DataFrame:
    """Canonical adjustment rows, each for a roster license under a rule (no showcase person, nobody
    whose roster row carries a planted case); with bad_rows also one for another cycle (kept, not
    applied) and one prior_completion without hours (quarantined)."""
    base = roster.filter(
        pl.col("version").is_not_null()
        & (pl.col("person") >= len(SHOWCASE))
        & ~pl.col("person").is_in(excluded.to_list())
        & (pl.col("employment_status") == "active")
    ).select(
        pl.col("license_row").cast(pl.Int64), pl.col("person").cast(pl.Int64), "employee_id", "license_state", "license_type",
        "license_expiration_date", "cycle_start", "version", "carry_over",
    )
    taken: set[int] = set()

    def pick(frame: pl.DataFrame, count: int) -> pl.DataFrame:
        free = frame.filter(~pl.col("license_row").is_in(list(taken)))
        at = np.sort(rng.choice(free.height, size=min(count, free.height), replace=False)) if free.height else np.array([], dtype=np.int64)
        chosen = free[at]
        taken.update(chosen["license_row"].to_list())
        return chosen

    def count(kind: str) -> int:
        return max(2, round(ADJUSTMENT_SHARES[kind] * roster.height))

    end = pl.col("license_expiration_date")
    rows = []
    extension = pick(base.filter(end <= pl.lit(as_of + dt.timedelta(days=60))), count("extension"))
    rows.append(extension.with_columns(
        kind=pl.lit("extension"), until=(pl.max_horizontal(end, pl.lit(as_of)) + pl.duration(days=75)).dt.month_end(), cycle_end=end,
    ))
    minimums = {str(v): tuple(sorted(e.get("min_hours_by_category") or {})) for v, e in enumerate(versions)}
    waiver = pick(base.filter(pl.col("version").cast(pl.String).is_in([v for v, c in minimums.items() if c])), count("waiver"))
    rows.append(waiver.with_columns(
        kind=pl.lit("waiver"), requirement=_pick_by_group(waiver["version"].cast(pl.String), rng.random(waiver.height), {v: c for v, c in minimums.items() if c}),
    ))
    rows.append(pick(base, count("exemption")).with_columns(kind=pl.lit("exemption")))
    once_rows = base.join(once.select(pl.col("license_row").cast(pl.Int64), "category", "hours_tenths", "outcome"), on="license_row")
    # mostly one-time topics the records lack; in a small sample, also ones the board documented besides a course
    prior = pick(once_rows.filter(pl.col("outcome") == "missing").unique("license_row", keep="first", maintain_order=True), count("prior_completion"))
    prior = pl.concat([prior, pick(once_rows.unique("license_row", keep="first", maintain_order=True), count("prior_completion") - prior.height)])
    rows.append(
        prior.with_columns(kind=pl.lit("prior_completion"), requirement="once_" + pl.col("category"), hours=_decimal_text(pl.col("hours_tenths"), 1))
        .drop("category", "hours_tenths", "outcome")
    )
    carry = pick(base.filter("carry_over"), count("carry_over"))
    rows.append(carry.with_columns(kind=pl.lit("carry_over"), hours=pl.Series(rng.choice(["4", "6", "8", "10"], size=carry.height), dtype=pl.String)))
    if bad_rows:
        stale = pick(base, 1)
        previous_end = pl.col("cycle_start") - pl.duration(days=1)
        rows.append(stale.with_columns(
            kind=pl.lit("extension"), until=(previous_end + pl.duration(days=90)).dt.month_end(), cycle_end=previous_end,
            note=pl.lit(STALE_NOTE), case=pl.lit("adjustment_for_another_cycle"),
        ))
        invalid = pick(once_rows.unique("license_row", keep="first", maintain_order=True), 1).drop("hours_tenths", "outcome")
        rows.append(invalid.with_columns(
            kind=pl.lit("prior_completion"), requirement="once_" + pl.col("category"), note=pl.lit(MISSING_HOURS_NOTE), case=pl.lit("adjustment_missing_hours"),
        ).drop("category"))
    frame = pl.concat(rows, how="diagonal_relaxed")
    size = frame.height
    boards = {f"{k.state} {k.type}": BOARD_BY_LICENSE.get((k.state, k.type), BOARD_BY_STATE[k.state]) for k in LICENSE_KINDS}
    frame = frame.with_columns(
        pl.Series("_days_ago", rng.integers(3, 200, size=size)),
        pl.Series("_number", rng.integers(1, 9999, size=size)),
        pl.Series("entered_by", ENTERED_BY, dtype=pl.String).gather(rng.integers(len(ENTERED_BY), size=size)),
    ).with_columns(entered_on=pl.lit(as_of) - pl.duration(days=pl.col("_days_ago")))
    frame = frame.with_columns(
        reference=pl.concat_str(
            [
                pl.concat_str(["license_state", pl.lit(" "), "license_type"]).replace_strict(boards), pl.lit(" "),
                pl.col("kind").replace_strict({k: w[0] for k, w in ADJUSTMENT_WORDING.items()}), pl.lit(" "),
                pl.col("entered_on").dt.year().cast(pl.String), pl.lit("-"),
                pl.col("kind").replace_strict({k: w[1] for k, w in ADJUSTMENT_WORDING.items()}),
                pl.col("_number").cast(pl.String).str.zfill(4),
            ]
        ),
        note=pl.coalesce(
            pl.col("note") if "note" in frame.columns else pl.lit(None, pl.String),
            pl.col("kind").replace_strict({k: w[2] for k, w in ADJUSTMENT_WORDING.items()}),
        ),
    )
    for column in ("requirement", "hours", "case"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(column))
    for column in ("until", "cycle_end"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Date).alias(column))
    return frame.sort("entered_on", "employee_id", "kind").select(
        *[pl.col(c).dt.strftime("%Y-%m-%d") if c in ("until", "cycle_end", "entered_on") else pl.col(c) for c in ADJUSTMENT_HEADERS],
        _case="case", _person="person",
    )


# ------------------------------------------------------------------------------------------------
# Configuration and entry point
# ------------------------------------------------------------------------------------------------


def _config(as_of: dt.date, output_dir: str, warehouse: str) -> dict:
    def provider_maps(provider: Provider) -> dict:
        return {
            "categories": {label: value for value, label in provider.categories.items() if label != value},
            "delivery": {label: value for value, label in provider.delivery.items() if label != value},
        }

    return {
        "landing_dir": "landing",
        "rules_catalog": "rules.yaml",
        "output_dir": output_dir,
        "warehouse": warehouse,
        "as_of": as_of,
        "at_risk_days": 90,
        "roster": {"path": "roster/*.csv", "columns": ROSTER_HEADERS, "date_format": ROSTER_DATE_FORMAT},
        "providers": [
            {"name": STATEBOARD.name, "path": STATEBOARD.folder + "/*.csv", "layout": "board_report", **provider_maps(STATEBOARD)},
            {"name": LMS.name, "path": LMS.folder + "/*.csv", "layout": "lms_export", **provider_maps(LMS)},
            {
                "name": SUMMIT.name,
                "path": SUMMIT.folder + "/*.xlsx",
                "columns": SUMMIT_COLUMNS,
                "date_format": SUMMIT_DATE_FORMAT,
                "credit_unit": "hours",
                **provider_maps(SUMMIT),
            },
        ],
        "course_catalog": {
            "path": f"{CATALOG_FOLDER}/*.csv",
            "columns": CATALOG_HEADERS,
            "categories": {label: value for label, value in CATALOG_TOPICS.items() if label.casefold() != value},
            "delivery": CATALOG_FORMATS,
        },
        "training_budget": {"per_clinician": TRAINING_BUDGET_PER_CLINICIAN},
        "adjustments": {"path": f"{ADJUSTMENTS_FOLDER}/*.csv"},  # canonical headers: no column map
    }


def load_rule_versions(path: pathlib.Path = SAMPLE_RULES) -> list[dict]:
    """Every catalog entry in file order, license_type upper-cased: several per license with different effective dates."""
    raw = read_yaml(path.read_text(encoding="utf-8"), path.name)
    entries = raw["rules"] if isinstance(raw, dict) else raw
    return [dict(e, license_type=e["license_type"].upper()) for e in entries]


def load_rules(path: pathlib.Path = SAMPLE_RULES) -> dict[tuple[str, str], dict]:
    """Per (license_state, license_type), its newest entry (the latest effective_date)."""
    newest: dict[tuple[str, str], dict] = {}
    for entry in sorted(load_rule_versions(path), key=_effective):  # stable: file order among equal dates
        newest[(entry["license_state"], entry["license_type"])] = entry
    return newest


def generate(
    out: pathlib.Path,
    clinicians: int,
    seed: int,
    as_of: dt.date = DEFAULT_AS_OF,
    bad_rows: bool = True,
    output_dir: str = "published",
    warehouse: str = "warehouse.duckdb",
) -> None:
    rng = np.random.default_rng(seed)
    versions = load_rule_versions()
    rules, tables = load_rules(), _rule_tables(versions)
    landing = out / "landing"
    for folder in [landing / "roster", landing / CATALOG_FOLDER, landing / ADJUSTMENTS_FOLDER, *(landing / p.folder for p in PROVIDERS)]:
        shutil.rmtree(folder, ignore_errors=True)  # files of an earlier, larger run must not linger

    people = _people(rng, clinicians, as_of)
    roster = _roster(rng, people, _licenses(rng, people, rules, as_of)).with_columns(
        single_license=pl.len().over("person") == 1, case=pl.lit(None, dtype=pl.String)
    )
    roster = _in_force(roster, tables)
    pool = _course_pool(rng, tables)
    credits, once = _credits(rng, roster, pool, tables, as_of, clinicians)
    id_width = roster["employee_id"].str.len_chars().max()
    if bad_rows:
        credits = _plant_credit_cases(rng, credits, roster, rules, as_of)
    roster_rows = _roster_rows(_plant_roster_cases(rng, roster) if bad_rows else roster)
    not_a_showcase = pl.col("_person") >= len(SHOWCASE)
    if bad_rows:
        roster_rows = _plant_values(rng, roster_rows, ROSTER_PLANTINGS, not_a_showcase & pl.col("_eligible"))
    roster_file = f"hr_roster_{as_of.isoformat()}.csv"
    planted = [_write(roster_rows.with_columns(_file=pl.lit(roster_file)), landing / "roster", bom=True).with_columns(file=pl.lit("roster/" + roster_file))]

    for provider in PROVIDERS:  # one at a time: only one provider's rendered rows are in memory
        rows = RENDERERS[provider.name](credits, roster, pool, id_width)
        if bad_rows:
            rows = _plant_values(rng, rows, _credit_plantings(provider, as_of), not_a_showcase)
        encoding = "cp1252" if provider is LMS else "utf-8"  # the LMS exports in the Windows code page
        planted.append(_write(rows, landing / provider.folder, encoding).with_columns(file=provider.folder + "/" + pl.col("file")))
        if bad_rows and provider is STATEBOARD:
            planted.append(_write_rejected_file(rows, landing / STATEBOARD.folder))
    planted.append(_write_course_catalog(landing / CATALOG_FOLDER, bad_rows))
    excluded = roster_rows.filter(pl.col("_case").is_not_null())["_person"].unique()  # their roster rows carry a planted case
    adjustments = _adjustments(rng, roster, once, versions, excluded, as_of, bad_rows)
    planted.append(
        _write(adjustments.with_columns(_file=pl.lit(ADJUSTMENTS_FILE)), landing / ADJUSTMENTS_FOLDER).with_columns(file=ADJUSTMENTS_FOLDER + "/" + pl.col("file"))
    )
    if bad_rows:
        pl.concat(planted).sort("file", "row", nulls_last=True).write_csv(out / "injected_bad_rows.csv")
    else:
        (out / "injected_bad_rows.csv").unlink(missing_ok=True)

    command = (
        f"python -m pipelines.sample_generator --clinicians {clinicians} --seed {seed} --out <this folder> --as-of {as_of}"
        f" --{'' if bad_rows else 'no-'}bad-rows --output-dir {output_dir} --warehouse {warehouse}"
    )
    (out / "config.yaml").write_text(
        f"# A sample deployment, written by `{command}`.\n"
        + yaml.safe_dump(_config(as_of, output_dir, warehouse), sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    if (out / "rules.yaml").resolve() != SAMPLE_RULES:
        shutil.copyfile(SAMPLE_RULES, out / "rules.yaml")


def _write_rejected_file(stateboard: pl.DataFrame, folder: pathlib.Path) -> pl.DataFrame:
    """A corrected resend whose export dropped the Hours column: the whole file is rejected."""
    latest = stateboard.filter(pl.col("_file") != HISTORY_FILE)["_file"].max()
    name = latest.removesuffix(".csv") + "_correction.csv"
    hours = BUILT_IN_LAYOUTS["board_report"].columns["hours"]
    rows = stateboard.filter((pl.col("_file") == latest) & pl.col("_case").is_null()).head(5)
    rows.select(pl.exclude("^_.*$", hours)).write_csv(folder / name)
    return pl.DataFrame({"file": [f"{STATEBOARD.folder}/{name}"], "row": [None], "case": ["file_missing_required_column"]}, schema={"file": pl.String, "row": pl.Int64, "case": pl.String})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.sample_generator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clinicians", type=int, required=True, help="people on the roster (about 15%% hold two licenses)")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True, help="the deployment folder to write")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=DEFAULT_AS_OF, help="YYYY-MM-DD (default %(default)s)")
    parser.add_argument("--bad-rows", action=argparse.BooleanOptionalAction, default=True, help="plant every bad-input case (default on)")
    parser.add_argument("--output-dir", default="published", help="config.yaml's output_dir, relative to --out")
    parser.add_argument("--warehouse", default="warehouse.duckdb", help="config.yaml's warehouse, relative to --out")
    args = parser.parse_args(argv)
    if not len(SHOWCASE) * 6 <= args.clinicians <= MAX_CLINICIANS:
        parser.error(f"--clinicians must be between {len(SHOWCASE) * 6} (room for every bad-row case) and {MAX_CLINICIANS}")
    args.out.mkdir(parents=True, exist_ok=True)
    generate(args.out, args.clinicians, args.seed, args.as_of, args.bad_rows, args.output_dir, args.warehouse)


if __name__ == "__main__":
    main()

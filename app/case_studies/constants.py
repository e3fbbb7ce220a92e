"""Fixed vocabularies of the case-study format (CONTRACTS.md §1), with their translated labels."""

from __future__ import annotations

import re

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

TOPICS = {
    "transport": _l("Transport"),
    "digital-services": _l("Digital services"),
    "civic-participation": _l("Civic participation"),
    "public-councils": _l("Public councils"),
    "utilities": _l("Utilities"),
    "housing": _l("Housing"),
    "healthcare": _l("Healthcare"),
    "education": _l("Education"),
    "social-protection": _l("Social protection"),
    "budgeting": _l("Budgeting"),
    "anti-corruption": _l("Anti-corruption"),
    "agriculture": _l("Agriculture"),
    "tourism": _l("Tourism"),
    "environment": _l("Environment"),
    "public-safety": _l("Public safety"),
    "land-management": _l("Land management"),
    "business-support": _l("Business support"),
    "culture-sport": _l("Culture and sport"),
}

LEVELS = {
    "oblast": _l("Oblast"),
    "city": _l("City"),
    "district": _l("District"),
    "rural": _l("Rural okrug"),
}

STATUSES = {
    "idea": _l("Idea"),
    "pilot": _l("Pilot"),
    "implemented": _l("Implemented"),
    "scaled": _l("Scaled up"),
    "discontinued": _l("Discontinued"),
}

CASE_LANGUAGES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

STATES = {
    "draft": _l("Draft"),
    "published": _l("Published"),
    "withdrawn": _l("Withdrawn"),
}

ADOPTION_STATUSES = {
    "adopted": _l("Adopted"),
    "piloting": _l("Piloting"),
    "adapted": _l("Adapted"),
    "abandoned": _l("Abandoned"),
}

SECTIONS = {
    "problem": _l("Problem"),
    "solution": _l("Solution"),
    "challenges": _l("What went wrong"),
    "results": _l("Results"),
    "lessons": _l("Lessons for peers"),
}

# Nesta's Standards of Evidence: how strongly a case study shows that the practice works (CONTRACTS.md §1).
EVIDENCE_LEVELS = {
    1: _l("A plausible account of why it works"),
    2: _l("Data showing change"),
    3: _l("A comparison showing it caused the change"),
    4: _l("An independent replication or evaluation"),
    5: _l("Scaled, with repeated evaluations"),
}
EVIDENCE_NEEDS_PROOF = 3  # from this level on, a published case study names its evaluation (file or link)
MAX_EVIDENCE_URL_CHARS = 500

FIRST_YEAR = 1991  # independence: nothing earlier is a case study of Kazakhstan's akimats
ID_PATTERN = re.compile(r"[a-z0-9-]{3,120}")  # a case study's id (slug), CONTRACTS.md §1
MAX_SECTION_CHARS = 20_000
MAX_SUMMARY_CHARS = 1_000
MAX_TITLE_CHARS = 300


def evidence_options() -> dict[int, str]:
    """"Level N – meaning" of each evidence level in the current language (select options, filters, facets)."""
    return {level: gettext("Level %(level)s – %(meaning)s", level=level, meaning=meaning)
            for level, meaning in EVIDENCE_LEVELS.items()}


def case_labels() -> dict:
    """Translated labels of the case-study vocabularies, for templates."""
    return {"topics": TOPICS, "levels": LEVELS, "statuses": STATUSES, "states": STATES, "languages": CASE_LANGUAGES,
            "evidence": EVIDENCE_LEVELS, "evidence_options": evidence_options()}

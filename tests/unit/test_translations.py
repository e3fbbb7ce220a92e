"""Unit tests for the translation catalogs in app/translations (no Flask app needed).

They fail when a UI string has no Kazakh, Russian or English translation, when a translation breaks a
``%(name)s`` placeholder, when messages.pot lags behind the source, or when a committed .mo file lags
behind its .po file. To fix most failures, run from the repository root::

    make translations   # or the three pybabel commands in UPDATE_HINT below, then translate what is new
"""

from __future__ import annotations

import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from config import Config

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
POT = TRANSLATIONS / "messages.pot"
LANGUAGES = ("kk", "ru", "en")

# The extraction that writes messages.pot (keep in step with the Makefile). --ignore-dirs replaces Babel's
# default, which would silently skip folders whose name starts with "_" (templates/_macros).
EXTRACT_OPTIONS = (
    "-F babel.cfg -k _l -k lazy_gettext --ignore-dirs '.* __pycache__ node_modules' --no-location --sort-output"
    ' --project "Akims\' Experience Exchange"'
)
UPDATE_HINT = (
    "Run from the repository root:\n"
    f"  .venv/bin/pybabel extract {EXTRACT_OPTIONS} -o app/translations/messages.pot .\n"
    "  .venv/bin/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching"
    " --ignore-obsolete\n"
    "  (then translate every new msgid in kk, ru and en)\n"
    "  .venv/bin/pybabel compile -d app/translations --statistics"
)

# Letters of the Kazakh Cyrillic alphabet that Russian does not have (lower and upper case).
KAZAKH_ONLY_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")

# A printf-style conversion as Python's % operator reads it: %(name)s, %(max)d, %s, %.2f, %% ...
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)


def load_po(path: Path) -> Catalog:
    """Read a .po or .pot file, failing on syntax errors instead of skipping them."""
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing.\n{UPDATE_HINT}"
    with path.open("rb") as f:
        return read_po(f, abort_invalid=True)


def msgids(catalog: Catalog) -> set:
    """Return the message keys of a catalog (msgid, or (singular, plural) for plural messages), without header."""
    return {message.id for message in catalog if message.id}


def placeholders(text: str) -> set[str]:
    """Return the printf-style placeholders of ``text`` (``%%`` is an escaped percent sign, not one)."""
    return {match.group(0) for match in PLACEHOLDER.finditer(text) if match.group("type") != "%"}


def forms(message) -> list[str]:
    """Return the msgstr forms of a message: one for a plain message, nplurals for a plural one."""
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def sample_arguments(text: str) -> dict[str, object]:
    """Arguments for ``text % arguments``: a number for numeric conversions, a string otherwise."""
    return {
        match.group("name"): 1 if match.group("type") in "diouxXeEfFgGc" else "x"
        for match in PLACEHOLDER.finditer(text)
        if match.group("name") is not None
    }


@pytest.fixture(scope="module")
def pot() -> Catalog:
    return load_po(POT)


@pytest.fixture(scope="module", params=LANGUAGES)
def language(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def catalog(language) -> Catalog:
    return load_po(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")


def test_every_configured_language_has_a_catalog():
    assert set(Config.LANGUAGES) == set(LANGUAGES), "a language in config.LANGUAGES has no catalog test here"
    missing = [lang for lang in LANGUAGES if not (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").is_file()]
    assert not missing, f"no messages.po for {missing}.\n{UPDATE_HINT}"


def test_catalog_has_every_message_translated(pot, catalog, language):
    assert catalog.locale is not None and str(catalog.locale) == language, (
        f"{language}/messages.po declares Language: {catalog.locale}"
    )
    assert not catalog.fuzzy, f"the header of {language}/messages.po is marked fuzzy: pybabel compile would skip it"

    expected = msgids(pot)
    present = msgids(catalog)
    missing = sorted(map(str, expected - present))
    assert not missing, (
        f"{language}: {len(missing)} msgid(s) of messages.pot are not in the catalog: {missing}\n{UPDATE_HINT}"
    )
    stale = sorted(map(str, present - expected))
    assert not stale, f"{language}: msgid(s) no longer in messages.pot: {stale}\n{UPDATE_HINT}"

    untranslated = [str(m.id) for m in catalog if m.id and not all(form.strip() for form in forms(m))]
    assert not untranslated, f"{language}: empty msgstr for {untranslated}"

    fuzzy = [str(m.id) for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"{language}: fuzzy entries (check the translation, then remove the fuzzy flag): {fuzzy}"

    nplurals = catalog.num_plurals
    wrong_count = [str(m.id) for m in catalog if m.pluralizable and len(forms(m)) != nplurals]
    assert not wrong_count, f"{language}: plural entries without exactly {nplurals} forms: {wrong_count}"


def test_placeholders_are_kept(catalog, language):
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if message.pluralizable:
            singular, plural = message.id
            expected_sets = [placeholders(plural)]
            # Under "n != 1" the first form is used for exactly one, so it may drop the number, as the msgid does.
            expected_first = [placeholders(plural), placeholders(singular)]
        else:
            singular = message.id
            expected_sets = expected_first = [placeholders(singular)]
        for index, form in enumerate(forms(message)):
            allowed = expected_first if index == 0 and catalog.plural_expr == "(n != 1)" else expected_sets
            found = placeholders(form)
            if found not in allowed:
                problems.append(f"{message.id!r} -> {form!r}: has {sorted(found)}, expected {sorted(allowed[0])}")
                continue
            if message.python_format or found:
                try:
                    form % sample_arguments(form)
                except (KeyError, ValueError, TypeError) as exc:
                    problems.append(f"{message.id!r} -> {form!r}: cannot be formatted ({exc!r})")
    assert not problems, f"{language}: placeholders differ from the msgid:\n" + "\n".join(problems)


def test_english_catalog_repeats_the_source():
    catalog = load_po(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po")
    different = [str(m.id) for m in catalog if m.id and forms(m) != (list(m.id) if m.pluralizable else [m.id])]
    assert not different, f"en: msgstr differs from msgid (fix the source string instead): {different}"


def test_kazakh_and_russian_catalogs_are_not_swapped():
    kk = load_po(TRANSLATIONS / "kk" / "LC_MESSAGES" / "messages.po")
    ru = load_po(TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.po")

    kk_text = "".join(form for m in kk if m.id for form in forms(m))
    assert KAZAKH_ONLY_LETTERS & set(kk_text), "kk/messages.po has no Kazakh letter (ә ғ қ ң ө ұ ү һ і): wrong catalog?"

    with_kazakh_letters = [str(m.id) for m in ru if m.id and KAZAKH_ONLY_LETTERS & set("".join(forms(m)))]
    assert not with_kazakh_letters, f"ru/messages.po uses Kazakh-only letters in: {with_kazakh_letters}"

    same = [str(m.id) for m in ru if m.id and kk.get(m.id) is not None and forms(kk.get(m.id)) == forms(m)]
    # A few short labels (Код, Профиль) are spelt alike; most of the catalog must differ.
    assert len(same) < len(msgids(ru)) / 10, f"kk and ru share too many translations: {same}"


def test_pot_is_up_to_date_with_the_source(pot, tmp_path):
    output = tmp_path / "messages.pot"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            *shlex.split(EXTRACT_OPTIONS),
            "-o",
            str(output),
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"extraction failed:\n{result.stderr}"
    extracted = msgids(load_po(output))
    committed = msgids(pot)

    new = sorted(map(str, extracted - committed))
    gone = sorted(map(str, committed - extracted))
    assert not new and not gone, (
        "app/translations/messages.pot is out of date with the source.\n"
        f"New strings without a translation ({len(new)}): {new}\n"
        f"Strings no longer in the source ({len(gone)}): {gone}\n"
        f"{UPDATE_HINT}"
    )


def test_committed_mo_matches_its_po(catalog, language):
    mo_path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"
    assert mo_path.is_file(), f"{mo_path.relative_to(ROOT)} is missing: run pybabel compile -d app/translations"

    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # what `pybabel compile` writes (fuzzy entries left out)
    buffer.seek(0)
    fresh = read_mo(buffer)
    with mo_path.open("rb") as f:
        committed = read_mo(f)

    def translations(cat: Catalog) -> dict:
        # read_mo gives plural ids and strings as lists: make them comparable and hashable.
        def frozen(value):
            return tuple(value) if isinstance(value, list | tuple) else value

        return {(m.context, frozen(m.id)): frozen(m.string) for m in cat if m.id}

    expected, actual = translations(fresh), translations(committed)
    differing = sorted(str(key[1]) for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key))
    assert not differing, (
        f"{language}/messages.mo is out of date with messages.po for {len(differing)} message(s): {differing[:20]}\n"
        "Run: .venv/bin/pybabel compile -d app/translations --statistics"
    )
    assert committed.plural_forms == fresh.plural_forms, f"{language}/messages.mo has other Plural-Forms than the .po"

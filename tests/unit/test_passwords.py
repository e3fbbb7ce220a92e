"""Unit tests for the pure password-policy module app.auth.passwords (no Flask app needed)."""

from __future__ import annotations

import ast
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from app.auth import passwords
from app.auth.passwords import MAX_LENGTH
from app.auth.passwords import MIN_LENGTH
from app.auth.passwords import check_password
from app.auth.passwords import normalise

LIST_FILE = Path(passwords.__file__).with_name("common_passwords.txt")
KAZAKH_PASSPHRASE = "Менің сүйікті көлім Балқаш"


def _entries() -> list[str]:
    """Return the non-comment, non-blank lines of the blocklist file."""
    lines = LIST_FILE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


# --- module shape -------------------------------------------------------------------------------


def test_limits() -> None:
    """The length limits are 12 and 128 characters."""
    assert MIN_LENGTH == 12
    assert MAX_LENGTH == 128


def test_module_is_pure() -> None:
    """passwords.py imports neither Flask nor SQLAlchemy and has a module docstring."""
    tree = ast.parse(Path(passwords.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "flask" not in imported
    assert "sqlalchemy" not in imported
    assert "flask_sqlalchemy" not in imported
    assert passwords.__doc__


def test_public_functions_have_docstrings() -> None:
    """The public functions are documented."""
    assert normalise.__doc__
    assert check_password.__doc__


# --- length -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "Kókpar-Tau9",  # English/Latin
        "Бүркіт ұшты",  # Kazakh
        "Тихий вечер",  # Russian
    ],
)
def test_eleven_characters_rejected(password: str) -> None:
    """11 characters are too short in every language."""
    assert len(normalise(password)) == 11
    assert check_password(password) == ["too_short"]


@pytest.mark.parametrize(
    "password",
    [
        "Kókpar-Tau9!",
        "Бүркіт ұшты!",
        "Тихий вечер!",
    ],
)
def test_twelve_characters_accepted(password: str) -> None:
    """12 characters are long enough in every language."""
    assert len(normalise(password)) == 12
    assert check_password(password) == []


def test_length_counts_code_points_not_bytes() -> None:
    """Length is counted in code points, not UTF-8 bytes."""
    # 12 Kazakh letters are 24 bytes in UTF-8 but 12 characters: long enough.
    password = "әғқңөұүһіәғқ"
    assert len(password.encode("utf-8")) == 24
    assert "too_short" not in check_password(password)
    # 11 emoji are 44 bytes but only 11 code points: too short.
    assert check_password("🍎🐎🦅🌷🏔🌙⭐🔥🌊🎵🎲") == ["too_short"]


def test_128_ok_129_rejected() -> None:
    """128 characters are accepted, 129 are too long."""
    text = (KAZAKH_PASSPHRASE + " ") * 5
    at_max, over_max = text[:128], text[:129]
    assert len(normalise(at_max)) == 128
    assert len(normalise(over_max)) == 129
    assert check_password(at_max) == []
    assert check_password(over_max) == ["too_long"]


def test_empty_password() -> None:
    """An empty password is only too short."""
    assert check_password("") == ["too_short"]


# --- acceptable passphrases ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        KAZAKH_PASSPHRASE,
        "Тоғыз құмалақ ойыны",
        "Ақ бидай, көк шалғын, һәм ұзақ жол",
        "Мой кот любит рыбу по пятницам",
        "correct horse battery staple",
        "🍎🐎🦅🌷🏔🌙⭐🔥🌊🎵🎲🚀",  # 12 emoji
        "🐎 жүйрік ат, 🦅 қыран құс",
        "Apples 🍎 and horses 🐎 in Almaty",
    ],
)
def test_passphrases_accepted(password: str) -> None:
    """Kazakh, Russian, English and emoji passphrases are accepted."""
    assert check_password(password) == []


def test_no_composition_rules() -> None:
    """There are no 'needs a digit/symbol/capital' rules."""
    # Only lowercase letters, no digits, no symbols: still fine.
    assert check_password("wanderingsnowleopard") == []
    assert check_password("қарлыбарысжолда") == []


# --- common passwords ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "Password1234!",
        "Пароль123456",
        "пароль!!!2024",
        "құпиясөз2024!",
        "Қазақстан-2050!!",
        "Astana2024!!!",
        "qupiasoz12345",
        "1234 iloveyou",
        "i love you 12345",
        "Жаным менің 2024",
        "P@ssw0rd2024!",
        "п@роль2024!!!",
        "passwordpassword",
        "ghbdtn123456",  # "привет" typed with the English layout
        "akimat2024!!",
        "Exchange2024!",
        "demo12345678",
    ],
)
def test_common_word_with_padding_rejected(password: str) -> None:
    """Blocklisted words padded with digits/punctuation are common."""
    assert len(normalise(password)) >= MIN_LENGTH
    assert check_password(password) == ["common"]


@pytest.mark.parametrize(
    "password",
    [
        "qwertyuiop12",
        "qwertyuiopas",
        "123456789012",
        "098765432109",
        "йцукенгшщзхъ",
        "фывапролджэя",
        "abcdefghijkl",
        "ZYXWVUTSRQPO",
        "абвгдеёжзийк",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "1234567890!!",
    ],
)
def test_keyboard_and_alphabet_runs_rejected(password: str) -> None:
    """Straight keyboard, digit and alphabet runs are common."""
    assert check_password(password) == ["common"]


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaa",
        "ққққққққққққ",
        "111111111111",
        "            ",
        "abababababab",
        "😀😀😀😀😀😀😀😀😀😀😀😀",
    ],
)
def test_repeated_characters_rejected(password: str) -> None:
    """One character (or a short group) repeated is common."""
    assert check_password(password) == ["common"]


def test_short_and_common_reports_both() -> None:
    """A short blocklisted password gets both codes, in order."""
    assert check_password("password") == ["too_short", "common"]
    assert check_password("сәлем") == ["too_short", "common"]


def test_common_word_inside_passphrase_is_fine() -> None:
    """Blocklisted words inside a real sentence are fine."""
    # Blocklisted words are only rejected when padded with digits/punctuation, not inside real text.
    assert check_password("my password is a long sentence") == []
    assert check_password("Астана — менің сүйікті қалам") == []


def test_blocklist_file() -> None:
    """The blocklist is big enough, normalised, unique and has the required words."""
    text = LIST_FILE.read_text(encoding="utf-8")
    assert text.startswith("#")
    entries = _entries()
    assert len(entries) >= 500
    assert len(set(entries)) == len(entries), "duplicate entries"
    for entry in entries:
        assert entry == unicodedata.normalize("NFKC", entry).casefold().strip(), entry
    required = {
        "password",
        "qwerty",
        "letmein",
        "iloveyou",
        "admin",
        "welcome",
        "monkey",
        "dragon",
        "trustno1",
        "123456",
        "пароль",
        "йцукен",
        "любовь",
        "привет",
        "parol",
        "privet",
        "құпиясөз",
        "qupiasoz",
        "kupiasoz",
        "сәлем",
        "salem",
        "махаббат",
        "қазақстан",
        "kazakhstan",
        "qazaqstan",
        "астана",
        "almaty",
        "шымкент",
        "әкімдік",
        "akimat",
        "акимат",
        "akim",
        "аким",
        "әкім",
        "exchange",
        "demo",
    }
    assert required <= set(entries)


@pytest.mark.parametrize("entry", ["letmein", "monkey", "наташа", "махаббат", "mahabbat", "astana", "әкім"])
def test_blocklist_entries_with_digits_rejected(entry: str) -> None:
    """Short blocklist entries padded to 12 characters with digits are common."""
    password = entry + "1" * (MIN_LENGTH - len(entry))
    assert check_password(password) == ["common"]


def test_run_sequences_have_unique_characters() -> None:
    """Each run sequence lists every character once."""
    # The run detector relies on each sequence listing every character once.
    for sequence in passwords._SEQUENCES:
        assert len(set(sequence)) == len(sequence), sequence


# --- personal data ------------------------------------------------------------------------------


def test_email_local_part_rejected() -> None:
    """A password containing the e-mail local part is personal."""
    assert check_password("aigerim.n-Secret-2024", email="Aigerim.N@gov.kz") == ["contains_personal"]
    assert check_password("Мой логин Nurlan_Kz навсегда", email="nurlan_kz@mail.ru") == ["contains_personal"]


def test_email_plus_tag_local_part_rejected() -> None:
    """The local part without its +tag also counts."""
    assert check_password("daniyar forever and ever", email="daniyar+test@example.kz") == [
        "contains_personal"
    ]


def test_whole_email_rejected_even_with_short_local_part() -> None:
    """The whole e-mail address always counts."""
    assert check_password("my mail is ab@gov.kz ok", email="ab@gov.kz") == ["contains_personal"]


def test_short_local_part_is_ignored() -> None:
    """Local parts shorter than 4 characters are not checked on their own."""
    assert check_password("a big absent crab lab", email="ab@gov.kz") == []


def test_email_is_not_personal_when_absent() -> None:
    """An unrelated e-mail address does not matter."""
    assert check_password("Тоғыз құмалақ ойыны", email="aigerim@gov.kz") == []


def test_full_name_rejected() -> None:
    """The full name, ignoring case, spaces and word order, is personal."""
    name = "Айгерім Нұрланқызы"
    assert check_password("айгерімнұрланқызы", full_name=name) == ["contains_personal"]
    assert check_password("АЙГЕРІМ НҰРЛАНҚЫЗЫ", full_name=name) == ["contains_personal"]
    assert check_password("Нұрланқызы Айгерім 1990", full_name=name) == ["contains_personal"]
    assert check_password("John Smith Williams", full_name="john smith williams") == ["contains_personal"]


def test_passphrase_mentioning_name_is_fine() -> None:
    """A passphrase that only mentions the names is fine."""
    assert check_password("Айгерім әнші, Нұрланқызы биші", full_name="Айгерім Нұрланқызы") == []


def test_personal_and_other_codes_order() -> None:
    """All applicable codes are reported, in a fixed order."""
    # "aigerim" is also a blocklisted name: all applicable codes are reported, in a fixed order.
    assert check_password("aigerim", email="aigerim@gov.kz") == ["too_short", "common", "contains_personal"]
    assert check_password("xq@gov.kz", email="xq@gov.kz") == ["too_short", "contains_personal"]


# --- NFKC normalisation -------------------------------------------------------------------------


def test_normalise_fullwidth_equals_ascii() -> None:
    """Fullwidth letters are treated as their ASCII equivalents."""
    assert normalise("ｐａｓｓｗｏｒｄ１２３４") == "password1234"
    assert check_password("ｐａｓｓｗｏｒｄ１２３４") == ["common"]
    fullwidth = "Ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ"
    assert normalise(fullwidth) == "Correct horse battery"
    assert check_password(fullwidth) == check_password("Correct horse battery") == []


def test_normalise_composes_kazakh_letters() -> None:
    """Decomposed Kazakh letters are composed."""
    composed = "Сәлем әлем, қалайсың?"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert normalise(decomposed) == composed


def test_normalise_keeps_case_and_spaces() -> None:
    """normalise() does not change case or whitespace."""
    assert normalise("  Сәлем ӘЛЕМ  ") == "  Сәлем ӘЛЕМ  "


def test_length_is_measured_after_normalisation() -> None:
    """Length is measured after NFKC (ligatures expand)."""
    # "ﬁ" (one code point) becomes "fi" (two): 6 ligatures make 12 characters.
    assert len("ﬁﬁﬁﬁﬁﬁ") == 6
    assert "too_short" not in check_password("ﬁﬁﬁﬁﬁﬁ")
    # "㍱" (one code point) becomes "hPa": 4 of them are 12 characters.
    assert len(normalise("㍱㍱㍱㍱")) == 12
    assert "too_short" not in check_password("㍱㍱㍱㍱")


def test_rejects_non_string() -> None:
    """Non-string input is a programming error."""
    with pytest.raises(TypeError):
        check_password(None)  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------


def _has_list_word(text: str) -> bool:
    """Return True if ``text`` or one of its words is in the blocklist."""
    common = passwords._common_passwords()
    folded = text.casefold()
    return any(word in common for word in folded.split()) or folded.strip() in common


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=MIN_LENGTH, max_size=MAX_LENGTH).map(normalise))
def test_length_in_range_never_length_problem(text: str) -> None:
    """Any text of 12-128 characters without list words has no length problem."""
    if not MIN_LENGTH <= len(text) <= MAX_LENGTH or _has_list_word(text):
        return
    result = check_password(text)
    assert "too_short" not in result
    assert "too_long" not in result
    assert set(result) <= {"common", "contains_personal"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=MAX_LENGTH + 40), st.one_of(st.none(), st.emails()), st.one_of(st.none(), st.text()))
def test_deterministic_and_consistent(text: str, email: str | None, full_name: str | None) -> None:
    """Results are deterministic, ordered, and the length codes match the length."""
    first = check_password(text, email=email, full_name=full_name)
    second = check_password(text, email=email, full_name=full_name)
    assert first == second
    order = ["too_short", "too_long", "common", "contains_personal"]
    assert first == [code for code in order if code in first]
    length = len(normalise(text))
    assert ("too_short" in first) == (length < MIN_LENGTH)
    assert ("too_long" in first) == (length > MAX_LENGTH)
    if email is None and full_name is None:
        assert "contains_personal" not in first


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя ", min_size=0, max_size=40))
def test_normalise_is_idempotent(text: str) -> None:
    """Normalising twice gives the same result as once."""
    assert normalise(normalise(text)) == normalise(text)

"""Alphabetical order of Kazakh, Russian and English lists (app/collation.py)."""

from __future__ import annotations

import pytest

from app.collation import KAZAKH
from app.collation import sort_key


def ordered(words, language):
    return sorted(words, key=lambda w: sort_key(w, language))


def test_kazakh_letters_sort_in_the_kazakh_alphabet_not_after_every_russian_letter():
    # Code-point order puts Қ (U+049A), Ұ (U+04B0), Ә (U+04D8) and І (U+0406) after Я.
    names = ["Шымкент", "Қарағанды", "Ұлытау", "Ақтөбе", "Әйтеке би", "Ілияс", "Ыбырай", "Юрий", "Курчатов"]
    assert sorted(names) != ordered(names, "kk")
    assert ordered(names, "kk") == ["Ақтөбе", "Әйтеке би", "Курчатов", "Қарағанды", "Ұлытау", "Шымкент",
                                    "Ыбырай", "Ілияс", "Юрий"]


def test_every_kazakh_letter_follows_the_one_before_it_in_the_alphabet():
    letters = list(KAZAKH)
    assert len(letters) == 42
    shuffled = letters[::-1]
    assert ordered(shuffled, "kk") == letters
    assert ordered([c.upper() for c in shuffled], "kk") == [c.upper() for c in letters]


def test_russian_puts_yo_with_ye_and_kazakh_letters_after_their_base_letter():
    assert ordered(["Ёлка", "Еда", "Ель"], "ru") == ["Еда", "Ёлка", "Ель"]  # ё is е, except in a tie
    assert ordered(["Ель", "Ёль"], "ru") == ["Ель", "Ёль"]
    assert ordered(["Лисаковск", "Қостанай", "Кокшетау", "Караганда"], "ru") == [
        "Караганда", "Кокшетау", "Қостанай", "Лисаковск"]
    assert ordered(["Ёл", "Ел"], "kk") == ["Ел", "Ёл"] and ordered(["Ёа", "Еб"], "kk") == ["Еб", "Ёа"]


def test_english_sorts_latin_then_cyrillic_and_ignores_case_and_punctuation_first():
    assert ordered(["zebra", "Almaty", "aktobe", "Шымкент", "Baikonur"], "en") == [
        "aktobe", "Almaty", "Baikonur", "zebra", "Шымкент"]
    assert ordered(["Ақтау", "Ақсу", "Ақ-Су"], "kk") == ["Ақ-Су", "Ақсу", "Ақтау"]  # the hyphen: a tie only
    assert ordered(["2 district", "10 district", "A"], "en")[-1] == "A"


@pytest.mark.parametrize("language", ["kk", "ru", "en", "de"])
def test_the_key_is_a_total_order_on_any_text(language):
    words = ["", " ", "Z", "z", "ё", "Ё", "日本", "🙂", "ß", "SS", "ǅ", "123", "١٢٣"]
    assert len(ordered(words, language)) == len(words)
    assert ordered(words, language) == ordered(list(reversed(words)), language)

"""Bad input to search, on the imported demo case studies, through the results page in all three languages and
through ``GET /api/v1/search`` (CONTRACTS.md §2): what test_search_query.py does not already cover.

- Odd queries (empty, blanks, only stop words, 10,000 characters, unbalanced quotes and brackets, ``*``,
  ``title:`` alone, an unknown field ``foo:bar``, mixed scripts and emoji) are never an error: the page in
  every language shows the same case studies, in the same order and with the same count, as the API.
- Malformed syntax means plain words: an unclosed quote is closed, brackets are ignored, ``foo:`` is a word.
- Unknown filter values: the API answers 400 with a JSON error naming the value; the page shows the notice in
  the reader's language (the app's own translation) and ignores only the bad value.
- ``page=0`` is refused like any bad number; ``page=10**9`` is never an error and, on the page, never leaves a
  reader with "N case studies" and nothing to click; ``per_page`` over 100 is capped to 100, on the page too
  (and the next-page link keeps it).
"""

from __future__ import annotations

import html
import itertools
import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext
from flask_babel import ngettext
from markupsafe import escape

from app.case_studies import services
from app.case_studies.commands import seed_demo_content
from app.case_studies.models import CaseStudy
from app.cli import seed_demo_accounts
from app.extensions import db
from app.regions.models import Region
from app.regions.services import find_akimat
from tests.conftest import case_data

LANGUAGES = ("en", "ru", "kk")
ONAY = "almaty-onay-transit-card"  # demo: "Электронная транспортная карта Onay (Онай) в общественном транспорте"

ODD_QUERIES = [
    "",
    "   ",
    "и в the and of",
    "the",
    "x" * 10_000,
    "Онай " * 2_000,  # 10,000 characters of a real word
    "Onay " + "транспорт " * 1_000,
    '"Onay',
    '"транспортная карта',
    '"',
    '""',
    "(Onay",
    "Onay]",
    "{[(",
    ")]}",
    "*",
    "**",
    "Onay*",
    "title:",
    "title: ",
    "title:*",
    "title:(",
    "foo:bar",
    "foo:bar Onay",
    "region:KZ-75",
    "Onay Онай 🚌",
    "🚌🚎",
    "ШЫМКЕНТ shymkent Шымкент",
    "қоғамдық kenes совет",
    "-",
    "-*",
    "- -",
]

BAD_FILTERS = [
    ({"region": "XX-99"}, {}, "region", "XX-99"),
    ({"region": ["KZ-75", "XX-99"]}, {"region": "KZ-75"}, "region", "XX-99"),
    ({"topic": "nope"}, {}, "topic", "nope"),
    ({"topic": ["transport", "Transport"]}, {"topic": "transport"}, "topic", "Transport"),
    ({"level": "galaxy"}, {}, "level", "galaxy"),
    ({"status": "done"}, {}, "status", "done"),
    ({"language": "fr", "status": "scaled"}, {"status": "scaled"}, "language", "fr"),
    ({"region": "kz-75"}, {}, "region", "kz-75"),
]


# --- helpers --------------------------------------------------------------------------------------------


@pytest.fixture
def demo(app) -> dict[str, str]:
    """The demo accounts and case studies, imported as ``flask seed-demo`` does; returns slug → region of the
    published ones."""
    with app.app_context():
        seed_demo_accounts()
        content = seed_demo_content()
        db.session.commit()
        assert not content["problems"], content["problems"]
        published = dict(
            db.session.execute(
                sa.select(CaseStudy.slug, Region.iso_code)
                .join(Region, CaseStudy.region_id == Region.id)
                .where(CaseStudy.state == "published")
            ).all()
        )
        db.session.remove()
    assert len(published) >= 30
    return published


def api(client, /, **params):
    return client.get("/api/v1/search", query_string=params)


def api_ok(client, /, **params) -> dict:
    response = api(client, **params)
    assert response.status_code == 200, (params, response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    return response.get_json()


def ids(client, /, **params) -> list[str]:
    return [r["id"] for r in api_ok(client, **params)["results"]]


def page(client, language: str, /, **params) -> str:
    response = client.get("/search", query_string=params, headers={"Accept-Language": language})
    assert response.status_code == 200, (language, params, response.status_code)
    text = response.get_data(as_text=True)
    assert re.search(rf'<html[^>]* lang="{language}"', text), f"/search in {language} is not in {language}"
    return text


def translated(app, language: str, message: str, plural: str | None = None, **params) -> str:
    """``message`` as the app renders it in ``language`` (its own catalog, through Flask-Babel)."""
    with app.test_request_context(), force_locale(language):
        if plural is not None:
            return str(ngettext(message, plural, params.pop("num"), **params))
        return str(gettext(message, **params))


def page_hits(text: str) -> list[str]:
    return re.findall(r'<article class="card search-hit[^"]*">\s*<h3><a href="/cases/([^"]+)"', text)


def page_count(text: str) -> str:
    found = re.search(r'<p class="result-count" role="status">(.*?)\n', text)
    assert found, "no result count on the page"
    return html.unescape(found.group(1).strip())


def page_notices(text: str) -> list[str]:
    return [html.unescape(n) for n in re.findall(r'<div class="flash flash-warning" role="status">(.*?)</div>', text)]


def _args(link: str) -> dict[str, list[str]]:
    """The query-string arguments of a link, to pass to the test client."""
    return parse_qs(urlsplit(link).query)


def next_link(text: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', text)
    return html.unescape(found.group(1)) if found else None


def prev_link(text: str) -> str | None:
    found = re.search(r'<a rel="prev" href="([^"]+)"', text)
    return html.unescape(found.group(1)) if found else None


# What the page calls each parameter in its notice: the sidebar's heading, in the reader's language.
PARAM_LABELS = {"region": "Region", "topic": "Topic", "level": "Level", "status": "Status",
                "language": "Language of the text", "year_from": "Year started", "year_to": "Year started",
                "page": "Page", "per_page": "Results per page", "sort": "Sort"}


def notice(app, language: str, name: str) -> str:
    label = translated(app, language, PARAM_LABELS[name])
    return translated(app, language, "Ignored an invalid value for “%(name)s”.", name=label)


def count_text(app, language: str, total: int) -> str:
    return translated(app, language, "%(num)s case study", "%(num)s case studies", num=total)


# --- odd queries ----------------------------------------------------------------------------------------


def test_odd_queries_are_no_error_and_the_page_agrees_with_the_api_in_every_language(app, client, demo):
    for query in ODD_QUERIES:
        body = api_ok(client, q=query)
        assert list(body) == ["query", "total", "page", "per_page", "results", "facets", "suggestion"], query[:40]
        assert (body["page"], body["per_page"]) == (1, 20)
        expected = [r["id"] for r in body["results"]]
        assert len(expected) == min(body["total"], 20)
        for language in LANGUAGES:
            text = page(client, language, q=query)
            label = f"{query[:40]!r} in {language}"
            assert page_notices(text) == [], label  # a query is never "invalid"
            assert page_hits(text) == expected, label
            assert page_count(text) == count_text(app, language, body["total"]), label
            empty = escape(translated(app, language, "No published case study matches your search."))
            assert (empty in text) == (body["total"] == 0), label


def test_nothing_to_search_for_lists_every_published_case_newest_first(client, demo):
    everything = ids(client, q="", per_page="100")
    assert set(everything) == set(demo)
    assert ids(client, q="", sort="newest", per_page="100") == everything
    for query in ("   ", "*", "**", "🚌🚎", "-", '""'):
        assert ids(client, q=query, per_page="100") == everything, query
    # An empty q with filters lists the matching case studies (CONTRACTS.md §2).
    almaty = {slug for slug, region in demo.items() if region == "KZ-75"}
    assert almaty and set(ids(client, q="", region="KZ-75", per_page="100")) == almaty


def test_malformed_syntax_means_plain_words(client, demo):
    onay = ids(client, q="Onay")
    assert ONAY in onay
    for query in ('"Onay', "(Onay", "Onay]", "{Onay}", "ONAY", "Onay 🚌"):
        assert ids(client, q=query) == onay, query
    # Mixed scripts, and 10,000 characters of one word (the ranking may differ between the scripts).
    for query in ("Onay Онай 🚌", "Онай " * 2_000):
        assert set(ids(client, q=query)) == set(onay), query[:40]
    assert ids(client, q='"транспортная карта') == ids(client, q='"транспортная карта"')
    assert ONAY in ids(client, q='"транспортная карта')
    # An unknown field is not a field: "foo:bar" is the two words, and region: is no filter.
    assert ids(client, q="foo:bar") == ids(client, q="foo bar")
    assert ids(client, q="region:KZ-79") == ids(client, q="region KZ-79")


# --- unknown filter values -------------------------------------------------------------------------------


def test_unknown_filter_value_is_a_400_in_the_api_and_a_translated_notice_on_the_page(app, client, demo):
    for (bad, good, name, value), query in itertools.product(BAD_FILTERS, ("", "Onay")):
        label = f"q={query!r} {bad}"
        response = api(client, q=query, **bad)
        assert response.status_code == 400, (label, response.get_data(as_text=True)[:200])
        assert response.mimetype == "application/json"
        error = response.get_json()["error"]
        assert set(error) == {"code", "message"} and error["code"] == "bad_request", label
        assert value in error["message"], (label, error)

        expected = ids(client, q=query, **good)  # as if the bad value had not been there
        total = api_ok(client, q=query, **good)["total"]
        for language in LANGUAGES:
            text = page(client, language, q=query, **bad)
            assert page_notices(text) == [notice(app, language, name)], (label, language)
            assert page_hits(text) == expected, (label, language)
            assert page_count(text) == count_text(app, language, total), (label, language)
            assert f'value="{escape(value)}"' not in text, f"{label}: the ignored {name} {value!r} is still on the page"


# --- pages ---------------------------------------------------------------------------------------------


def test_page_zero_and_negative_are_refused_and_the_page_shows_the_first(app, client, demo):
    first = ids(client, q="")
    for number in ("0", "-1", str(-(10**9))):
        response = api(client, q="", page=number)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"
        for language in LANGUAGES:
            text = page(client, language, q="", page=number)
            assert page_notices(text) == [notice(app, language, "page")], (number, language)
            assert page_hits(text) == first


def test_a_page_far_beyond_the_last_is_no_error_and_leads_back_to_the_results(app, client, demo):
    for query in ("", "Onay", "transport"):
        _check_far_page(app, client, query)


def _check_far_page(app, client, query: str) -> None:
    first = api_ok(client, q=query)
    assert first["total"] > 0
    far = api_ok(client, q=query, page=str(10**9))
    assert (far["page"], far["total"], far["results"]) == (10**9, first["total"], [])
    assert api_ok(client, q=query, page=str(10**30))["results"] == []
    last = -(-first["total"] // first["per_page"])

    for language in LANGUAGES:
        text = page(client, language, q=query, page=str(10**9))
        assert page_count(text) == count_text(app, language, first["total"])
        assert page_notices(text) == []
        # "N case studies" must not stand next to "nothing matches" without a way to them: the page shows the
        # last page of results, or links back to it.
        if page_hits(text):
            assert page_hits(text) == ids(client, q=query, page=str(last)), (query, language)
            continue
        back = prev_link(text)
        assert back, f"page 10**9 of {query!r} ({first['total']} results) in {language}: no results and no link back"
        assert page_hits(page(client, language, **_args(back))), back


def test_per_page_over_100_is_capped_in_the_api_and_on_the_page(app, client, demo):
    with app.app_context():
        akimat = find_akimat("KZ-79")
        for number in range(110 - len(demo)):
            case = services.create_case(None, akimat, case_data(title=f"Bus lane extension {number}", region="KZ-79"))
            services.publish(None, case)
        db.session.commit()
    total = 110

    body = api_ok(client, q="", per_page="1000")
    assert (body["total"], body["per_page"], len(body["results"])) == (total, 100, 100)
    rest = api_ok(client, q="", per_page="1000", page="2")
    assert (rest["per_page"], len(rest["results"])) == (100, 10)
    assert not {r["id"] for r in body["results"]} & {r["id"] for r in rest["results"]}
    assert api_ok(client, q="", per_page="100")["per_page"] == 100
    assert api_ok(client, q="", per_page="101")["per_page"] == 100

    for language in LANGUAGES:
        text = page(client, language, q="", per_page="1000")
        assert page_notices(text) == []
        assert page_hits(text) == [r["id"] for r in body["results"]]
        assert escape(translated(app, language, "Page %(page)s of %(pages)s", page=1, pages=2)) in text
        following = next_link(text)
        assert following, "no link to the second page"
        second = page(client, language, **_args(following))
        assert page_hits(second) == [r["id"] for r in rest["results"]], f"{following} does not continue the list"

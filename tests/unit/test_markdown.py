"""Markdown rendering and sanitising: formatting survives, nothing executable does."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from app.markdown import plain_text
from app.markdown import render

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "![x](javascript:alert(1))",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "<style>*{background:url(javascript:alert(1))}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "[a](https://example.kz \"title\" onmouseover=alert(1))",
    "<a href=https://example.kz onclick=alert(1)>x</a>",
    "``<script>``",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<object data=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
]

ALLOWED = {"p", "br", "hr", "strong", "em", "b", "i", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a",
           "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}


class TagCollector(HTMLParser):
    """Collects the real tags and attributes of rendered HTML (escaped text is not a tag)."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_nothing_executable_survives(payload):
    html = str(render(f"Intro\n\n{payload}\n\n**after**"))
    parser = TagCollector()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in ALLOWED, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            if name == "href":
                assert (value or "").lower().startswith(("https://", "http://", "mailto:")), html
    assert "<strong>after</strong>" in html


def test_formatting_is_kept():
    html = str(render("# Heading\n\n- one\n- two\n\n**bold** and *em*, `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                      "[site](https://akimat.kz)"))
    assert "<h3>Heading</h3>" in html  # demoted below the page's section headings
    assert "<li>one</li>" in html and "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert "<code>code</code>" in html and "<table>" in html and "<td>1</td>" in html
    assert '<a href="https://akimat.kz" rel="noopener noreferrer nofollow ugc">site</a>' in html


def test_cyrillic_and_kazakh_text_survive():
    text = "Әкімдік **қоғамдық кеңес** құрды; общественный совет собирается ежемесячно."
    html = str(render(text))
    assert "Әкімдік <strong>қоғамдық кеңес</strong> құрды" in html


def test_empty_renders_empty():
    assert str(render("")) == "" and str(render(None)) == ""


def test_plain_text_strips_markup_and_cuts_at_a_word():
    assert plain_text("**Onay** <script>x</script> card & validators") == "Onay <script>x</script> card & validators"
    cut = plain_text("one two three four five", limit=12)
    assert cut.endswith("…") and len(cut) <= 12 and cut.startswith("one two")


SNIPPET_SAMPLES = [
    "## Что сделали\n\n- Ввели карту **Onay** в автобусах;\n- открыли [сайт](https://onay.kz) для жалоб.\n",
    "1. Бірінші қадам: _кеңес_ құру.\n2) Екінші қадам — `есеп` жариялау.\n\n> Тұрғындар қолдады.\n\n---\nСоңы.",
    "Plain paragraph with no markup at all, & an ampersand.\n\n* starred item\n+ plus item",
    "| Показатель | 2023 | 2024 |\n|---|---|---|\n| Жалобы | 120 | 45 |",
]


@pytest.mark.parametrize("source", SNIPPET_SAMPLES)
def test_snippet_text_has_the_words_of_the_rendered_text_and_no_markup(source):
    from app.markdown import snippet_text

    fast = snippet_text(source)
    assert fast == plain_text(source)
    for marker in ("**", "- ", "## ", "](", "> ", "1. ", "2) ", "* ", "+ ", "`", "|"):
        assert marker not in fast, (marker, fast)

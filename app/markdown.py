"""Markdown → safe HTML for long text fields (case-study sections, meeting programmes and outcomes).

markdown-it-py parses CommonMark (raw HTML disabled, tables on); nh3 (Ammonia) then keeps only an
allowlist of tags and attributes, so no script, no event handler and no ``javascript:`` link ever
reaches a page, whatever the author typed. Pure module: no Flask, no database.
"""

from __future__ import annotations

import functools
import html
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


@functools.cache
def _parser() -> MarkdownIt:
    # "js-default" is CommonMark with raw HTML off; linkify stays off (no extra dependency).
    return MarkdownIt("js-default", {"breaks": False}).enable("table").enable("strikethrough")


def _demote_headings(markup: str) -> str:
    # Section titles on the page are h2; an author's "# Heading" must not compete with them.
    for level in (2, 1):
        markup = markup.replace(f"<h{level}>", f"<h{level + 2}>").replace(f"</h{level}>", f"</h{level + 2}>")
    return markup


def render(text: str | None) -> Markup:
    """Render Markdown ``text`` to sanitised HTML, safe to insert into a page."""
    if not text:
        return Markup("")
    rendered = _demote_headings(_parser().render(text))
    clean = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
    )
    return Markup(clean)


def plain_text(text: str | None, limit: int | None = None) -> str:
    """Markdown ``text`` as plain text (for snippets, feeds and e-mails), optionally cut at ``limit``."""
    if not text:
        return ""
    stripped = html.unescape(nh3.clean(_parser().render(text), tags=set())).strip()
    stripped = " ".join(stripped.split())
    if limit is not None and len(stripped) > limit:
        stripped = stripped[: limit - 1].rsplit(" ", 1)[0] + "…"
    return stripped


_BLOCK_MARKERS = re.compile(
    r"^[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+|#{1,6}[ \t]+|>[ \t]?|(?:[-*_][ \t]*){3,}$|[|: \t-]*-{3,}[|: \t-]*$)",
    re.MULTILINE)  # list items, headings, quotes, rules, table delimiter rows
_LINKS = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_INLINE_MARKERS = re.compile(r"[*_~`|]+")


def snippet_text(text: str | None) -> str:
    """Markdown ``text`` as plain text for search snippets: list markers, headings' hashes, quote marks, rules,
    link targets and emphasis markers removed, whitespace collapsed. A fast approximation of
    :func:`plain_text` (a regex pass instead of a parse: snippets are made for every hit of every search)."""
    if not text:
        return ""
    text = _LINKS.sub(r"\1", _BLOCK_MARKERS.sub("", text))
    return " ".join(html.unescape(_INLINE_MARKERS.sub("", text)).split())

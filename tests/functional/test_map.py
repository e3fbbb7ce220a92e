"""The region map macro (templates/regions/_map.html) rendered inside the app: links, accessible names, legend,
attribution, and nothing the Content-Security-Policy would block (no inline styles, no scripts)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import render_template_string

from app.extensions import db
from app.regions import map as region_map
from app.regions.models import Region

MACRO = '{% from "regions/_map.html" import region_map %}'
CITIES = {"KZ-71", "KZ-75", "KZ-79"}


class Collector(HTMLParser):
    """Every start tag with its attributes, and the text inside each element by tag name."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.links: list[dict] = []
        self.texts: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "a":
            self.links.append({"attrs": attributes, "children": [], "title": ""})
        elif self.stack and self.stack[-1][0] == "a" and self.links:
            self.links[-1]["children"].append((tag, attributes))
        self.stack.append((tag, attributes))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.stack.pop()

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self.stack:
            return
        tag = self.stack[-1][0]
        self.texts.setdefault(tag, []).append(data)
        if tag == "title" and len(self.stack) > 1 and self.stack[-2][0] == "a":
            self.links[-1]["title"] += data


def parse(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    collector.close()
    return collector


def label(iso: str, count: int) -> str:
    return f"{iso}: {count} case studies"


@pytest.fixture
def counts():
    return {"KZ-75": 12, "KZ-71": 9, "KZ-79": 3, "KZ-19": 5, "KZ-63": 2, "KZ-55": 1}


@pytest.fixture
def names(app):
    """English region names from the reference data the app loaded."""
    with app.app_context():
        return {r.iso_code: r.name_en for r in db.session.scalars(sa.select(Region))}


def links_for(codes):
    return {iso: f"/regions/{iso}?from=map&x=1" for iso in codes}


def render(app, template: str, **context) -> str:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        return render_template_string(MACRO + template, **context)


def render_map(app, counts, names, *, marked=None, **kwargs) -> str:
    items = region_map.build_map(counts, marked=marked)
    extra = "".join(f", {key}={key}" for key in kwargs)
    return render(
        app,
        "{{ region_map(items, names, links, label_fn, title" + extra + ") }}",
        items=items,
        names=names,
        links=links_for(names),
        label_fn=label,
        title="Case studies by region",
        **kwargs,
    )


def test_twenty_links_with_counts_and_hrefs(app, counts, names):
    html = render_map(app, counts, names)
    doc = parse(html)
    assert len(names) == 20
    assert len(doc.links) == 20
    expected_links = links_for(names)
    for link in doc.links:
        attrs = link["attrs"]
        iso = attrs["data-iso"]
        count = counts.get(iso, 0)
        assert attrs["href"] == expected_links[iso]
        assert attrs["aria-label"] == label(iso, count)
        assert str(count) in attrs["aria-label"]
        assert link["title"] == label(iso, count)  # tooltip
        paths = [a for tag, a in link["children"] if tag == "path"]
        assert len(paths) == 1
        assert re.fullmatch(r"shade-[0-5]", paths[0]["class"])
        assert paths[0]["fill-rule"] == "evenodd"
        assert paths[0]["d"].startswith("M")
    assert sorted(link["attrs"]["data-iso"] for link in doc.links) == sorted(names)
    assert "&amp;x=1" in html  # hrefs are escaped


def test_no_inline_styles_or_scripts(app, counts, names):
    html = render_map(app, counts, names, marked={"KZ-75": "author", "KZ-19": "adopted", "KZ-63": "held"})
    doc = parse(html)
    assert not [tag for tag, attrs in doc.tags if "style" in attrs]
    assert not [tag for tag, attrs in doc.tags if any(name.startswith("on") for name in attrs)]
    assert "<script" not in html.lower()
    assert "<style" not in html.lower()
    assert "style=" not in html


def test_svg_structure_and_accessible_name(app, counts, names):
    html = render_map(app, counts, names)
    doc = parse(html)
    figure = [attrs for tag, attrs in doc.tags if tag == "figure"]
    assert figure == [{"class": "region-map"}]
    svg = next(attrs for tag, attrs in doc.tags if tag == "svg")
    assert svg["viewbox"] == region_map.view_box()
    assert "role" not in svg  # its implicit role (graphics-document) takes the name; the Nu checker refuses "group"
    title = next(attrs for tag, attrs in doc.tags if tag == "title" and attrs.get("id"))
    assert svg["aria-labelledby"] == title["id"]
    assert "Case studies by region" in doc.texts["title"]

    # the SVG is well-formed XML (so it also works when served or saved on its own)
    fragment = html[html.index("<svg") : html.index("</svg>") + len("</svg>")]
    root = ET.fromstring(fragment)
    assert len(root.findall("a")) == 20


def test_city_markers_inside_their_links(app, counts, names):
    doc = parse(render_map(app, counts, names))
    for link in doc.links:
        circles = [a for tag, a in link["children"] if tag == "circle"]
        if link["attrs"]["data-iso"] in CITIES:
            assert len(circles) == 1
            assert "map-city" in circles[0]["class"]
            assert float(circles[0]["r"]) >= 8
        else:
            assert circles == []


def test_legend_and_attribution(app, counts, names):
    html = render_map(app, counts, names)
    doc = parse(html)
    legend = next(attrs for tag, attrs in doc.tags if tag == "ul")
    assert legend["class"] == "map-legend" and legend["aria-label"]
    swatches = [attrs["class"] for tag, attrs in doc.tags if tag == "span" and "map-swatch" in attrs.get("class", "")]
    shades = [int(c.rsplit("-", 1)[1]) for c in swatches]
    assert shades == sorted(shades) and shades[0] == 0 and shades[-1] == 5
    legend_text = "".join(doc.texts.get("li", []))
    assert "12" in legend_text and "0" in legend_text
    assert "Author" not in legend_text  # marks appear in the legend only when used
    caption = "".join(doc.texts["figcaption"])
    assert "geokz" in caption and "CC BY 4.0" in caption and "OpenStreetMap" in caption

    without = parse(render_map(app, counts, names, caption=False))
    assert "figcaption" not in without.texts
    assert not [tag for tag, _ in without.tags if tag == "figcaption"]


def test_marks_add_classes_legend_and_accessible_text(app, counts, names):
    marked = {"KZ-75": "author", "KZ-19": "adopted", "KZ-63": "held", "KZ-10": "next"}
    html = render_map(app, counts, names, marked=marked)
    doc = parse(html)
    by_code = {link["attrs"]["data-iso"]: link for link in doc.links}
    for iso, mark in marked.items():
        path = next(a for tag, a in by_code[iso]["children"] if tag == "path")
        assert f"mark-{mark}" in path["class"].split()
        assert by_code[iso]["attrs"]["aria-label"].startswith(label(iso, counts.get(iso, 0)) + " — ")
    assert by_code["KZ-55"]["attrs"]["aria-label"] == label("KZ-55", 1)
    overlays = [attrs for tag, attrs in doc.tags if tag == "g" and attrs.get("class") == "map-marks"]
    assert overlays and all(attrs["aria-hidden"] == "true" for attrs in overlays)
    legend_text = " ".join(doc.texts["li"])
    for text in ("Author's region", "Adopted the practice", "Meeting held", "Next meeting"):
        assert text in legend_text
    hatch = [attrs for tag, attrs in doc.tags if tag == "pattern"]
    assert [attrs["id"] for attrs in hatch] == ["region-map-hatch"]


def test_label_fn_can_be_a_jinja_macro_and_output_is_escaped(app, names):
    items = region_map.build_map({"KZ-75": 2})
    html = render(
        app,
        "{% macro lbl(iso, count) %}\n  {{ names[iso] }} & <b>{{ count }}</b>\n{% endmacro %}"
        '{{ region_map(items, names, links, lbl, "<Map>", map_id="second") }}',
        items=items,
        names=names,
        links=links_for(names),
    )
    assert "<Map>" not in html and "&lt;Map&gt;" in html
    assert 'aria-labelledby="second-title"' in html and 'id="second-title"' in html
    doc = parse(html)
    almaty = next(link for link in doc.links if link["attrs"]["data-iso"] == "KZ-75")
    assert almaty["attrs"]["aria-label"] == f"{names['KZ-75']} & 2"  # a macro's markup becomes plain text
    assert almaty["title"] == f"{names['KZ-75']} & 2"
    assert not [tag for tag, _ in doc.tags if tag == "b"]


def test_label_fn_text_is_escaped(app, names):
    html = render(
        app,
        "{{ region_map(items, names, links, label_fn, 'Map') }}",
        items=region_map.build_map({}),
        names=names,
        links=links_for(names),
        label_fn=lambda iso, count: f'"{iso}" <script>alert(1)</script>',
    )
    assert "<script" not in html
    assert 'aria-label="&#34;KZ-10&#34; &lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_default_label_uses_names(app, names):
    items = region_map.build_map({"KZ-79": 1500})
    html = render(
        app,
        "{{ region_map(items, names, links, None, 'Map') }}",
        items=items,
        names=names,
        links=links_for(names),
    )
    doc = parse(html)
    shymkent = next(link for link in doc.links if link["attrs"]["data-iso"] == "KZ-79")
    text = shymkent["attrs"]["aria-label"]
    assert text.startswith(f"{names['KZ-79']}: ")
    assert re.sub(r"\D", "", text) == "1500"  # formatted for the locale: 1,500 or 1 500


def test_rendered_map_size(app, counts, names):
    html = render_map(app, counts, names, marked={"KZ-75": "author"})
    assert 30_000 < len(html.encode()) < 80_000

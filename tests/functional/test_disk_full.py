"""A full disk under an upload (issue #11): a 507 page in the user's language, and nothing left behind (no
partial file, no row, no audit entry).

The disk is really full: UPLOAD_DIR is a 64 KB tmpfs mounted for the test (as root, which `make test` is). Where
mounting is not allowed, the upload's file is opened on /dev/full instead, whose writes the kernel refuses with
ENOSPC, so the app still meets the operating system's own error rather than one we raise.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.case_studies.models import Attachment
from tests.helpers import translated
from tests.unit.test_attachments import pdf_bytes

ALMATY = ("KZ-75", None)


def _mount_tmpfs(folder: Path) -> bool:
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(folder)],
                          capture_output=True)
    return done.returncode == 0


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    """A 64 KB upload folder (a tmpfs), or failing that a folder whose uploads are written to /dev/full."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if _mount_tmpfs(folder):
        yield folder
        subprocess.run(["umount", str(folder)], check=True)
        return
    real_fdopen = os.fdopen

    def fdopen_on_dev_full(descriptor, *args, **kwargs):
        if Path(os.readlink(f"/proc/self/fd/{descriptor}")).parent == folder:
            os.close(descriptor)
            return real_fdopen(os.open("/dev/full", os.O_RDWR), *args, **kwargs)
        return real_fdopen(descriptor, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen_on_dev_full)
    yield folder


@pytest.fixture
def app_overrides(full_disk):
    return {"UPLOAD_DIR": str(full_disk)}


def upload(client, slug: str, content: bytes, language: str):
    return client.post(f"/cases/{slug}/attachments", data={"file": (io.BytesIO(content), "report.pdf")},
                       content_type="multipart/form-data", headers={"Accept-Language": language})


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_full_disk_gives_a_507_page_and_leaves_nothing(app, make_user, make_case, login_as, db_session, full_disk,
                                                         language):
    slug = make_case("published")
    member = login_as(make_user("akim", akimat=ALMATY, language=language), app.test_client())

    response = upload(member, slug, pdf_bytes(padding=300_000), language)

    assert response.status_code == 507
    page = response.get_data(as_text=True)
    assert translated(app, "The server has no room for this file", language) in page
    assert "The server has no room for this file" not in page  # really translated
    assert list(full_disk.iterdir()) == []
    assert db_session.scalars(sa.select(Attachment)).all() == []
    assert db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "attachment.uploaded")).all() == []


def test_a_small_file_still_fits(app, make_user, make_case, login_as, db_session, full_disk):
    if not os.path.ismount(full_disk):
        pytest.skip("no tmpfs could be mounted: every write to this folder goes to /dev/full")
    slug = make_case("published")
    member = login_as(make_user("akim", akimat=ALMATY), app.test_client())

    response = upload(member, slug, pdf_bytes(), "en")

    assert response.status_code == 303
    assert len(db_session.scalars(sa.select(Attachment)).all()) == 1
    assert len(list(full_disk.iterdir())) == 1

"""Attachments through the real app: upload every accepted type, refuse other content whatever its name,
limits (size → 413 page, count), Cyrillic and Kazakh names in Content-Disposition, path and XSS names,
who may upload, download and delete (drafts and withdrawn cases as private as the case, ids not guessable
across cases), and that a failed upload leaves no file in UPLOAD_DIR and no row behind.

Database checks use ``db_session`` (no app context stays pushed while the test client runs requests).
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from markupsafe import escape

from app.audit.models import AuditEntry
from app.auth.models import User
from app.case_studies.attachments import services
from app.case_studies.models import Attachment
from app.case_studies.models import CaseStudy
from app.extensions import db
from tests.unit.test_attachments import BAD_FILES
from tests.unit.test_attachments import GOOD_FILES
from tests.unit.test_attachments import ooxml_bytes
from tests.unit.test_attachments import pdf_bytes

ALMATY = ("KZ-75", None)
ASTANA = ("KZ-71", None)
NOT_ACCEPTED = "This type of file is not accepted. Upload one of: PDF, DOCX, XLSX, PPTX, ODT, JPG, PNG, WebP."
BAD_NAME = "The file name must not contain “..”, “/” or “\\”. Rename the file and try again."
NOT_MEMBER = "Only verified akims of the akimat that owns this case study can add or delete its files."


# --- helpers -----------------------------------------------------------------------------------------


def upload(client, slug: str, name: str, content: bytes, **kwargs):
    """POST one file as a browser would (multipart)."""
    return client.post(f"/cases/{slug}/attachments", data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data", **kwargs)


def raw_upload(client, slug: str, name: str, content: bytes, **kwargs):
    """POST one file with the multipart body written by hand, so that any name (quotes, backslashes)
    reaches the server exactly as given (escaped as in a quoted-string)."""
    boundary = "----akims-test-boundary"
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{quoted}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return client.post(f"/cases/{slug}/attachments", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}", **kwargs)


def stored_files(app) -> list[str]:
    """Every file in UPLOAD_DIR, temporary ones included."""
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def rows(db_session) -> list[Attachment]:
    db_session.expire_all()
    return db_session.scalars(sa.select(Attachment).order_by(Attachment.id)).all()


def assert_nothing_stored(app, db_session) -> None:
    assert rows(db_session) == []
    assert stored_files(app) == []


def member_client(app, make_user, login_as, akimat=ALMATY):
    return login_as(make_user("akim", akimat=akimat), app.test_client())


def refused_with(response, message: str) -> bool:
    """A refused upload: 303 back to the case page's files, which shows ``message`` as an error."""
    assert response.history and response.history[0].status_code == 303, response.status_code
    assert response.history[0].headers["Location"].endswith("#attachments")
    page = response.get_data(as_text=True)
    return response.status_code == 200 and html.escape(message, quote=False) in page and "flash-error" in page


def disposition_name(header: str) -> str:
    """The UTF-8 name from ``filename*=UTF-8''…`` in a Content-Disposition header."""
    match = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
    assert match, header
    return unquote(match.group(1), encoding="utf-8", errors="strict")


# --- storing and downloading --------------------------------------------------------------------------


def test_every_accepted_type_is_stored_and_downloaded_back(app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    for name, (content, _type) in GOOD_FILES.items():
        response = upload(member, slug, name, content, follow_redirects=True)
        assert response.history[0].status_code == 303 and response.status_code == 200
        assert f"File “{name}” attached." in response.get_data(as_text=True)

    stored = rows(db_session)
    assert [(row.original_name, row.content_type) for row in stored] == [
        (name, content_type) for name, (_content, content_type) in GOOD_FILES.items()
    ]
    assert sorted(stored_files(app)) == sorted(row.stored_name for row in stored)
    anonymous = app.test_client()
    for row, (content, _type) in zip(stored, GOOD_FILES.values(), strict=True):
        assert re.fullmatch(r"[0-9a-f]{32}\.(pdf|docx|xlsx|pptx|odt|jpg|png|webp)", row.stored_name)
        assert row.size == len(content) and row.sha256 == hashlib.sha256(content).hexdigest()
        assert (Path(app.config["UPLOAD_DIR"]) / row.stored_name).read_bytes() == content
        response = anonymous.get(f"/cases/{slug}/attachments/{row.id}")
        assert response.status_code == 200
        assert response.data == content
        assert response.mimetype == row.content_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert disposition_name(response.headers["Content-Disposition"]) == row.original_name
        assert response.headers["Cache-Control"] == "public, no-cache"
        response.close()
        again = anonymous.get(f"/cases/{slug}/attachments/{row.id}", headers={"If-None-Match": f'"{row.sha256}"'})
        again.close()
        assert again.status_code == 304 and again.data == b""
    # The upload folder is not under static/ and nothing is served from there.
    assert not Path(app.config["UPLOAD_DIR"]).is_relative_to(Path(app.static_folder).resolve())
    assert anonymous.get(f"/static/{stored[0].stored_name}").status_code == 404
    actions = db_session.scalars(sa.select(AuditEntry.action)).all()
    assert actions.count("attachment.uploaded") == len(GOOD_FILES)


def test_the_name_gets_the_extension_of_the_content(app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    upload(member, slug, "scan.png", pdf_bytes())
    upload(member, slug, "Отчёт", ooxml_bytes("docx"))
    assert [(r.original_name, r.content_type) for r in rows(db_session)] == [
        ("scan.pdf", "application/pdf"), ("Отчёт.docx", services.DOCX.content_type),
    ]


@pytest.mark.parametrize("name", ["Отчёт по Onay 2016.pdf", "Есеп қорытындысы.docx"])
def test_cyrillic_and_kazakh_names_round_trip(app, make_user, login_as, db_session, make_case, name):
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    content = pdf_bytes() if name.endswith(".pdf") else ooxml_bytes("docx")
    upload(member, slug, name, content)
    (row,) = rows(db_session)
    assert row.original_name == name
    response = app.test_client().get(f"/cases/{slug}/attachments/{row.id}")
    response.close()
    header = response.headers["Content-Disposition"]
    assert disposition_name(header) == name
    fallback = re.search(r'filename="([^"]*)"', header).group(1)
    assert fallback.isascii() and fallback.endswith(name.rsplit(".", 1)[1])
    assert {"Отчёт по Onay 2016.pdf": "Otchet po Onay 2016.pdf",
            "Есеп қорытындысы.docx": "Esep qorytyndysy.docx"}[name] == fallback
    page = app.test_client().get(f"/cases/{slug}").get_data(as_text=True)
    assert name in page


# --- refusals ------------------------------------------------------------------------------------------


def test_content_of_another_type_is_refused_whatever_the_name(app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    for name, content in BAD_FILES.items():
        response = upload(member, slug, name, content, follow_redirects=True)
        assert refused_with(response, NOT_ACCEPTED), name
        assert_nothing_stored(app, db_session)


def test_empty_file_and_no_file_are_refused(app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    response = upload(member, slug, "empty.pdf", b"", follow_redirects=True)
    assert refused_with(response, "The file is empty. Choose the file again, or another one.")
    response = member.post(f"/cases/{slug}/attachments", data={}, content_type="multipart/form-data",
                           follow_redirects=True)
    assert refused_with(response, "Choose a file to upload.")
    response = upload(member, slug, "", pdf_bytes(), follow_redirects=True)  # a file input left empty
    assert refused_with(response, "Choose a file to upload.")
    assert_nothing_stored(app, db_session)


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "..\\x.pdf", "C:\\Users\\akim\\report.pdf", "a/b.pdf"])
def test_names_with_path_parts_are_refused(app, make_user, login_as, db_session, make_case, name):
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    response = raw_upload(member, slug, name, pdf_bytes(), follow_redirects=True)
    assert refused_with(response, BAD_NAME)
    assert_nothing_stored(app, db_session)


def test_a_file_over_the_limit_gets_the_case_page_back_with_the_reason(app, make_user, login_as, db_session,
                                                                       make_case):
    app.config["ATTACHMENT_MAX_BYTES"] = 2048
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    response = upload(member, slug, "big.pdf", pdf_bytes(padding=4096))
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    # Not a dead end: the case page itself, its upload form included, with the reason on top.
    assert 'class="flash flash-error"' in page and "The file is larger than the limit of 2 KB." in page
    assert f'action="/cases/{slug}/attachments"' in page
    assert_nothing_stored(app, db_session)
    # Exactly at the limit is fine.
    content = next(c for n in range(1, 2048) if len(c := pdf_bytes(padding=n)) == 2048)
    assert upload(member, slug, "limit.pdf", content).status_code == 303
    assert len(rows(db_session)) == 1


def test_a_request_over_max_content_length_gets_the_case_page_back(app, make_user, login_as, db_session,
                                                                   make_case):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    response = upload(member, slug, "big.pdf", pdf_bytes(padding=8192))
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "The file is larger than the limit of 4 KB." in page and f'action="/cases/{slug}/attachments"' in page
    assert_nothing_stored(app, db_session)


def test_the_eleventh_file_is_refused(app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    for n in range(10):
        assert upload(member, slug, f"part {n}.pdf", pdf_bytes(padding=n)).status_code == 303
    files_before = stored_files(app)
    page = member.get(f"/cases/{slug}").get_data(as_text=True)
    assert "This case study has the most files allowed (10)." in page
    assert 'enctype="multipart/form-data"' not in page
    response = upload(member, slug, "eleventh.pdf", pdf_bytes(), follow_redirects=True)
    assert refused_with(response, "A case study can have at most 10 files. Delete one before adding another.")
    assert len(rows(db_session)) == 10 and stored_files(app) == files_before


def test_the_file_count_limit_is_configurable(app, make_user, login_as, db_session, make_case):
    app.config["ATTACHMENT_MAX_FILES"] = 1
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    assert upload(member, slug, "one.pdf", pdf_bytes()).status_code == 303
    response = upload(member, slug, "two.pdf", pdf_bytes(), follow_redirects=True)
    assert refused_with(response, "A case study can have at most 1 files. Delete one before adding another.")
    assert len(rows(db_session)) == 1 and len(stored_files(app)) == 1


XSS_NAMES = [
    "<img src=x onerror=alert(1)>.pdf",
    '"><svg onload=alert(1)>.pdf',
    "' onmouseover='alert(1)' x='.pdf",
    "<iframe srcdoc=&lt;script&gt;alert(1)&lt;&#47;script&gt;>.pdf",
    "{{ 7*7 }} {% raw %}.pdf",
    "javascript:alert(1).pdf",
]


def test_xss_names_are_shown_escaped(app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    for name in XSS_NAMES:
        response = raw_upload(member, slug, name, pdf_bytes(), follow_redirects=True)
        page = response.get_data(as_text=True)
        assert f"File “{escape(name)}” attached." in page  # the flash message is escaped too
    assert [row.original_name for row in rows(db_session)] == XSS_NAMES
    for client in (member, app.test_client()):
        page = client.get(f"/cases/{slug}").get_data(as_text=True)
        section = page.split('id="attachments"', 1)[1].split("</section>", 1)[0]
        for name in XSS_NAMES:
            assert escape(name) in section
        assert "<img" not in section and "<svg" not in section and "<iframe" not in section
        assert "onmouseover='alert" not in section and "onerror=alert(1)>" not in section
        assert "{{ 7*7 }} {% raw %}.pdf" in section  # shown as typed, never evaluated


# --- who may do what -----------------------------------------------------------------------------------


def test_upload_form_and_delete_buttons_only_for_members(app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    bare = make_case("published", title="A case without files")
    member = member_client(app, make_user, login_as)
    page = member.get(f"/cases/{bare}").get_data(as_text=True)
    assert 'id="attachments"' in page and "No files are attached yet." in page
    assert 'enctype="multipart/form-data"' in page and 'accept=".pdf,.docx,' in page
    assert "Accepted: PDF, DOCX, XLSX, PPTX, ODT, JPG, PNG, WebP. Up to 20 MB a file and 10 files" in page
    upload(member, slug, "report.pdf", pdf_bytes(padding=3000))
    (row,) = rows(db_session)
    page = member.get(f"/cases/{slug}").get_data(as_text=True)
    assert f'action="/cases/{slug}/attachments/{row.id}/delete"' in page
    assert "PDF, 3 KB" in page
    for role in ("reader", "akim", "organiser", None):
        client = app.test_client()
        if role:
            login_as(make_user(role, **({"akimat": ASTANA} if role == "akim" else {})), client)
        page = client.get(f"/cases/{slug}").get_data(as_text=True)
        assert f'href="/cases/{slug}/attachments/{row.id}"' in page and "report.pdf" in page
        assert "/delete" not in page and 'enctype="multipart/form-data"' not in page
        assert 'id="attachments"' not in client.get(f"/cases/{bare}").get_data(as_text=True)


def test_non_members_cannot_upload_or_delete(app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    upload(member, slug, "report.pdf", pdf_bytes())
    (row,) = rows(db_session)
    files = stored_files(app)
    other_akim = member_client(app, make_user, login_as, akimat=ASTANA)
    for response in (upload(other_akim, slug, "evil.pdf", pdf_bytes()),
                     other_akim.post(f"/cases/{slug}/attachments/{row.id}/delete")):
        assert response.status_code == 403
        assert NOT_MEMBER in response.get_data(as_text=True)
    for role in ("reader", "organiser"):
        client = login_as(make_user(role), app.test_client())
        assert upload(client, slug, "evil.pdf", pdf_bytes()).status_code == 403
        assert client.post(f"/cases/{slug}/attachments/{row.id}/delete").status_code == 403
    anonymous = app.test_client()
    for response in (upload(anonymous, slug, "evil.pdf", pdf_bytes()),
                     anonymous.post(f"/cases/{slug}/attachments/{row.id}/delete")):
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    admin = login_as(make_user("admin"), app.test_client())  # admins moderate cases, not their files
    assert upload(admin, slug, "evil.pdf", pdf_bytes()).status_code == 403
    assert [r.id for r in rows(db_session)] == [row.id] and stored_files(app) == files


@pytest.mark.parametrize("state", ["draft", "withdrawn"])
def test_unpublished_attachments_are_as_private_as_the_case(app, make_user, login_as, db_session, make_case,
                                                             state):
    slug = make_case(state)
    member = member_client(app, make_user, login_as)
    assert upload(member, slug, "internal.pdf", pdf_bytes()).status_code == 303
    (row,) = rows(db_session)
    url = f"/cases/{slug}/attachments/{row.id}"
    outsiders = [app.test_client(), login_as(make_user("reader"), app.test_client()),
                 member_client(app, make_user, login_as, akimat=ASTANA),
                 login_as(make_user("organiser"), app.test_client())]
    for client in outsiders:
        response = client.get(url)
        assert response.status_code == 404
        assert b"%PDF" not in response.data
    for client in (member, member_client(app, make_user, login_as), login_as(make_user("admin"), app.test_client())):
        response = client.get(url)
        assert response.status_code == 200 and response.data == pdf_bytes()
        cache = response.headers["Cache-Control"]
        assert "public" not in cache and ("no-store" in cache or "private" in cache)
        response.close()


def test_an_id_under_another_case_is_404(app, make_user, login_as, db_session, make_case):
    ours = make_case("published")
    theirs = make_case("published", akimat=ASTANA, region="KZ-71", title="Astana bus lanes")
    member = member_client(app, make_user, login_as)
    upload(member, ours, "ours.pdf", pdf_bytes())
    (row,) = rows(db_session)
    astana = member_client(app, make_user, login_as, akimat=ASTANA)
    # Astana's akim manages "theirs" but cannot reach Almaty's file through it.
    assert astana.get(f"/cases/{theirs}/attachments/{row.id}").status_code == 404
    assert astana.post(f"/cases/{theirs}/attachments/{row.id}/delete").status_code == 404
    assert member.get(f"/cases/{theirs}/attachments/{row.id}").status_code == 404
    assert app.test_client().get(f"/cases/{ours}/attachments/{row.id + 1}").status_code == 404
    assert app.test_client().get(f"/cases/no-such-case/attachments/{row.id}").status_code == 404
    assert len(rows(db_session)) == 1 and len(stored_files(app)) == 1


def test_delete_removes_the_row_and_the_file(app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    member = member_client(app, make_user, login_as)
    upload(member, slug, "keep.pdf", pdf_bytes())
    upload(member, slug, "Есеп.pdf", pdf_bytes(padding=10))
    (keep_id, keep_file), (drop_id, _file) = [(r.id, r.stored_name) for r in rows(db_session)]
    response = member.post(f"/cases/{slug}/attachments/{drop_id}/delete", follow_redirects=True)
    assert response.history[0].status_code == 303
    assert "File “Есеп.pdf” deleted." in response.get_data(as_text=True)
    assert [r.id for r in rows(db_session)] == [keep_id]
    assert stored_files(app) == [keep_file]
    assert app.test_client().get(f"/cases/{slug}/attachments/{drop_id}").status_code == 404
    assert member.post(f"/cases/{slug}/attachments/{drop_id}/delete").status_code == 404
    assert "attachment.deleted" in db_session.scalars(sa.select(AuditEntry.action)).all()


class TestWithCsrf:
    """The upload and delete forms carry a CSRF token, and a post without one is refused."""

    @pytest.fixture
    def app_overrides(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_forms_carry_the_token(self, app, make_user, login_as, db_session, make_case):
        slug = make_case("published")
        member = member_client(app, make_user, login_as)
        page = member.get(f"/cases/{slug}").get_data(as_text=True)
        section = page.split('id="attachments"', 1)[1]
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', section).group(1)
        assert upload(member, slug, "no-token.pdf", pdf_bytes()).status_code == 400
        assert_nothing_stored(app, db_session)
        response = member.post(f"/cases/{slug}/attachments", content_type="multipart/form-data",
                               data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes()), "ok.pdf")})
        assert response.status_code == 303
        (row,) = rows(db_session)
        page = member.get(f"/cases/{slug}").get_data(as_text=True)
        form = page.split(f'action="/cases/{slug}/attachments/{row.id}/delete"', 1)[1].split("</form>", 1)[0]
        delete_token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        assert member.post(f"/cases/{slug}/attachments/{row.id}/delete").status_code == 400
        assert len(rows(db_session)) == 1
        response = member.post(f"/cases/{slug}/attachments/{row.id}/delete", data={"csrf_token": delete_token})
        assert response.status_code == 303
        assert_nothing_stored(app, db_session)


# --- the service's clean-up guarantees ------------------------------------------------------------------


def test_a_rollback_removes_the_stored_file_and_undoes_a_delete(app, make_user, make_case):
    slug = make_case("published")
    akim = make_user("akim", akimat=ALMATY)
    with app.app_context():
        user = db.session.get(User, akim.id)
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
        attachment = services.store_attachment(user, case, "x.pdf", io.BytesIO(pdf_bytes()))
        path = services.file_path(attachment)
        assert path.is_file()
        db.session.rollback()  # e.g. a later step of the caller failed
        assert not path.exists() and stored_files(app) == []

        attachment = services.store_attachment(user, case, "y.pdf", io.BytesIO(pdf_bytes()))
        path = services.file_path(attachment)
        db.session.commit()
        assert path.is_file()

        services.delete_attachment(user, attachment)
        assert path.is_file()  # not before the commit
        db.session.rollback()
        assert path.is_file() and db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 1

        services.delete_attachment(user, db.session.get(Attachment, attachment.id))
        db.session.commit()
        assert not path.exists() and stored_files(app) == []


def test_a_failed_flush_leaves_no_file(app, make_user):
    akim = make_user("akim", akimat=ALMATY)
    with app.app_context():
        user = db.session.get(User, akim.id)
        ghost = CaseStudy(id=987_654, slug="ghost")  # not in the database: the row's foreign key fails
        with pytest.raises(sa.exc.IntegrityError):
            services.store_attachment(user, ghost, "x.pdf", io.BytesIO(pdf_bytes()))
        assert stored_files(app) == []
        db.session.rollback()
    assert stored_files(app) == []


def test_a_session_closed_without_commit_leaves_no_file(app, make_user, make_case):
    slug = make_case("published")
    akim = make_user("akim", akimat=ALMATY)
    with app.app_context():
        user = db.session.get(User, akim.id)
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
        services.store_attachment(user, case, "x.pdf", io.BytesIO(pdf_bytes()))
        assert len(stored_files(app)) == 1
    # The app context's teardown closed the session without a commit.
    assert stored_files(app) == []

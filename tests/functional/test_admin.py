"""Administration through the real app: pending claims, approve/reject/deactivate with audit entries and
e-mails, the audit page, and who may reach the admin pages. Every test checks the database afterwards.

Database checks run in a short-lived app context of their own (``in_db``): an app context left pushed
during requests is reused by every test-client request, which would share Flask-Login's cached user
(``g._login_user``) between requests and clients.
"""

from __future__ import annotations

import html
import re
from types import SimpleNamespace
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.auth.models import ClaimStatus
from tests.helpers import akimat_id
from tests.helpers import columns
from tests.helpers import field_error
from tests.helpers import flashes
from tests.helpers import page_text
from tests.helpers import text
from tests.helpers import user_row

ADMIN_GET_PAGES = ["/admin/users", "/admin/users?status=all", "/admin/audit", "/admin/users/{id}"]
ADMIN_POSTS = [
    ("/admin/users/{id}/approve", {"role": "akim", "akimat": "1", "position": "Akim"}),
    ("/admin/users/{id}/reject", {"reject-reason": "No such position"}),
    ("/admin/users/{id}/active", {"activate-reason": "Spam", "activate-active": "0"}),
]


# --- helpers -----------------------------------------------------------------------------------------


def audit_rows(in_db, **filters) -> list[SimpleNamespace]:
    with in_db() as session:
        return [columns(e) for e in session.scalars(sa.select(AuditEntry).filter_by(**filters).order_by(AuditEntry.id))]


def form_errors(page: str) -> list[str]:
    """Texts of every form-wide error box on the page."""
    return [text(m) for m in re.findall(r'<div class="form-errors" role="alert">(.*?)</div>', page, re.S)]


def path_of(response) -> str:
    return urlsplit(response.headers["Location"]).path


def assert_redirects_to_login(response, next_path: str) -> None:
    assert response.status_code == 302, response.status_code
    parts = urlsplit(response.headers["Location"])
    assert parts.path == "/login"
    assert parse_qs(parts.query).get("next") == [next_path]


@pytest.fixture
def admin(make_user, login_as):
    """A logged-in administrator (on ``client``)."""
    user = make_user("admin", email="admin@example.kz", full_name="Admin Adminov")
    login_as(user)
    return user


@pytest.fixture
def claimant(make_user):
    """A reader with a pending claim to the Semey city akimat (Abai Region)."""
    return make_user("reader", email="claimant@example.kz", full_name="Claimant Person", claim=("KZ-10", "Semey"))


# --- the pending list ----------------------------------------------------------------------------------


def test_admin_sees_the_pending_claims(client, admin, claimant, make_user):
    make_user("reader", email="plain-reader@example.kz", full_name="Plain Reader")

    response = client.get("/admin/users")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Claimant Person" in page
    assert "claimant@example.kz" in page
    assert f'href="/admin/users/{claimant.id}"' in page
    assert "Plain Reader" not in page, "the default list shows only pending claims"
    assert "Pending claims (1)" in text(page)
    everyone = client.get("/admin/users?status=all").get_data(as_text=True)
    assert "Plain Reader" in everyone and "Claimant Person" in everyone


def test_admin_user_search(client, admin, claimant, make_user):
    make_user("reader", email="other@example.kz", full_name="Somebody Else")

    page = client.get("/admin/users?status=all&q=CLAIMANT").get_data(as_text=True)

    assert "Claimant Person" in page
    assert "Somebody Else" not in page


def test_user_detail_shows_the_claim(client, admin, claimant):
    response = client.get(f"/admin/users/{claimant.id}")

    assert response.status_code == 200
    body = page_text(response)
    assert "Claimant Person" in body
    assert "Semey" in body
    assert "Deputy akim" in body
    assert "Waiting for verification" in body


# --- approve -------------------------------------------------------------------------------------------


def test_approve_as_akim_with_an_akimat(client, admin, claimant, in_db, outbox):
    semey = akimat_id(in_db, "KZ-10", "Semey")

    response = client.post(
        f"/admin/users/{claimant.id}/approve", data={"role": "akim", "akimat": str(semey), "position": "Deputy akim"}
    )

    assert response.status_code == 302
    assert path_of(response) == "/admin/users"
    row = user_row(in_db, claimant.id)
    assert row.role == "akim"
    assert row.akimat_id == semey
    assert row.position == "Deputy akim"
    assert row.claim_status == ClaimStatus.APPROVED
    [entry] = audit_rows(in_db, target_type="user", target_id=claimant.id)
    assert entry.actor_id == admin.id
    assert entry.action == "user.role_changed"
    assert entry.details["before"]["role"] == "reader"
    assert entry.details["after"]["role"] == "akim"
    assert entry.details["before"]["akimat_id"] is None
    assert entry.details["after"]["akimat_id"] == semey
    [message] = outbox()
    assert message["To"] == "claimant@example.kz"
    assert message["Subject"] == "Your account has been verified"
    assert "Akim" in message.get_content()
    flash = flashes(client.get("/admin/users").get_data(as_text=True))
    assert "Saved: Claimant Person is now Akim." in flash
    # The new akim is listed on the region's page.
    assert "Claimant Person" in client.get("/regions/KZ-10").get_data(as_text=True)


def test_approve_as_akim_without_an_akimat_is_refused(client, admin, claimant, in_db, outbox):
    before = user_row(in_db, claimant.id)

    response = client.post(
        f"/admin/users/{claimant.id}/approve", data={"role": "akim", "akimat": "0", "position": "Deputy akim"}
    )

    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "akimat") == "An akim must belong to an akimat."
    assert user_row(in_db, claimant.id) == before
    assert audit_rows(in_db) == []
    assert outbox() == []


@pytest.mark.parametrize("akimat", ["999999", "abc", "-1"])
def test_approve_with_an_unknown_akimat_is_refused(client, admin, claimant, in_db, outbox, akimat):
    before = user_row(in_db, claimant.id)

    response = client.post(
        f"/admin/users/{claimant.id}/approve", data={"role": "akim", "akimat": akimat, "position": "Deputy akim"}
    )

    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "akimat")
    assert user_row(in_db, claimant.id) == before
    assert audit_rows(in_db) == []
    assert outbox() == []


def test_approve_with_an_unknown_role_is_refused(client, admin, claimant, in_db):
    before = user_row(in_db, claimant.id)

    response = client.post(f"/admin/users/{claimant.id}/approve", data={"role": "superuser", "akimat": "0"})

    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "role")
    assert user_row(in_db, claimant.id) == before
    assert audit_rows(in_db) == []


# --- reject --------------------------------------------------------------------------------------------


def test_reject_with_a_reason(app, client, admin, claimant, in_db, outbox, login_as):
    reason = "There is no deputy akim of that name in Semey."

    response = client.post(f"/admin/users/{claimant.id}/reject", data={"reject-reason": f"  {reason}  "})

    assert response.status_code == 302
    assert path_of(response) == "/admin/users"
    row = user_row(in_db, claimant.id)
    assert row.claim_status == ClaimStatus.REJECTED
    assert row.claim_rejection_reason == reason
    assert row.role == "reader" and row.akimat_id is None
    [entry] = audit_rows(in_db, target_type="user", target_id=claimant.id)
    assert entry.actor_id == admin.id
    assert entry.action == "user.claim_rejected"
    assert entry.reason == reason
    [message] = outbox()
    assert message["To"] == "claimant@example.kz"
    assert message["Subject"] == "Your akimat claim was not approved"
    assert reason in message.get_content()
    # The user reads the reason on their profile page.
    own = login_as(claimant, app.test_client())
    profile = own.get("/account")
    assert profile.status_code == 200
    assert f"<blockquote>{html.escape(reason)}</blockquote>" in profile.get_data(as_text=True)


@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_without_a_reason_is_refused(client, admin, claimant, in_db, outbox, reason):
    before = user_row(in_db, claimant.id)

    response = client.post(f"/admin/users/{claimant.id}/reject", data={"reject-reason": reason})

    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "reject-reason").startswith("Give a reason")
    assert user_row(in_db, claimant.id) == before
    assert audit_rows(in_db) == []
    assert outbox() == []


def test_reject_without_a_pending_claim_is_refused(client, admin, make_user, in_db, outbox):
    reader = make_user("reader")
    before = user_row(in_db, reader.id)

    response = client.post(f"/admin/users/{reader.id}/reject", data={"reject-reason": "Not an official"})

    assert response.status_code == 400
    assert "This user has no pending claim." in page_text(response), "the admin must be told why nothing happened"
    assert user_row(in_db, reader.id) == before
    assert audit_rows(in_db) == []
    assert outbox() == []


# --- deactivate ----------------------------------------------------------------------------------------


def test_deactivate_with_a_reason_ends_the_users_sessions(app, client, admin, make_user, login_as, in_db):
    target = make_user("akim", akimat=("KZ-75", None))
    their_browser = login_as(target, app.test_client())
    assert their_browser.get("/account").status_code == 200

    response = client.post(
        f"/admin/users/{target.id}/active", data={"activate-reason": "Left the akimat", "activate-active": "0"}
    )

    assert response.status_code == 302
    assert path_of(response) == f"/admin/users/{target.id}"
    row = user_row(in_db, target.id)
    assert row.active is False
    assert row.session_version == target.session_version + 1
    assert_redirects_to_login(their_browser.get("/account"), "/account")
    [entry] = audit_rows(in_db, target_type="user", target_id=target.id)
    assert entry.actor_id == admin.id
    assert entry.action == "user.deactivated"
    assert entry.reason == "Left the akimat"
    detail = client.get(f"/admin/users/{target.id}")
    assert "Deactivated" in page_text(detail)
    assert "Left the akimat" in page_text(detail)
    # A deactivated akim is no longer listed for the region.
    assert target.full_name not in client.get("/regions/KZ-75").get_data(as_text=True)


def test_deactivate_without_a_reason_is_refused(app, client, admin, make_user, in_db):
    target = make_user("reader")
    before = user_row(in_db, target.id)

    response = client.post(f"/admin/users/{target.id}/active", data={"activate-reason": "", "activate-active": "0"})

    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "activate-reason") == "Give a reason for the audit log."
    assert user_row(in_db, target.id) == before
    assert audit_rows(in_db) == []


def test_reactivate(client, admin, make_user, in_db):
    target = make_user("reader", active=False)

    response = client.post(
        f"/admin/users/{target.id}/active", data={"activate-reason": "Came back", "activate-active": "1"}
    )

    assert response.status_code == 302
    assert user_row(in_db, target.id).active is True
    [entry] = audit_rows(in_db, target_id=target.id)
    assert entry.action == "user.activated"
    assert entry.reason == "Came back"


def test_admin_cannot_deactivate_themselves(client, admin, in_db):
    before = user_row(in_db, admin.id)

    response = client.post(
        f"/admin/users/{admin.id}/active", data={"activate-reason": "Oops", "activate-active": "0"}
    )

    assert response.status_code == 400
    assert "You cannot deactivate your own account." in form_errors(response.get_data(as_text=True))
    assert user_row(in_db, admin.id) == before
    assert audit_rows(in_db) == []
    assert client.get("/admin/users").status_code == 200, "the admin is still logged in"


# --- the audit page ------------------------------------------------------------------------------------


def test_audit_page_lists_entries(client, admin, claimant, make_user, in_db):
    target = make_user("reader", full_name="Target Reader")
    client.post(f"/admin/users/{claimant.id}/reject", data={"reject-reason": "Unknown position"})
    client.post(f"/admin/users/{target.id}/active", data={"activate-reason": "Spam account", "activate-active": "0"})
    assert len(audit_rows(in_db)) == 2

    response = client.get("/admin/audit")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    body = text(page)
    assert "Unknown position" in body and "Spam account" in body
    assert "akimat claim rejected" in body and "account deactivated" in body
    assert f'href="/admin/users/{claimant.id}"' in page and f'href="/admin/users/{target.id}"' in page
    assert body.count("Admin Adminov") >= 2
    # Newest first.
    assert body.index("Spam account") < body.index("Unknown position")
    filtered = text(client.get("/admin/audit?action=user.deactivated").get_data(as_text=True))
    assert "Spam account" in filtered and "Unknown position" not in filtered


def test_audit_page_when_empty(client, admin):
    response = client.get("/admin/audit")
    assert response.status_code == 200
    assert "Nothing recorded yet." in page_text(response)


# --- access --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reader", "akim", "organiser"])
def test_non_admin_roles_get_403(app, make_user, login_as, claimant, in_db, outbox, role):
    user = make_user(role, akimat=("KZ-75", None) if role == "akim" else None)
    browser = login_as(user, app.test_client())
    before = user_row(in_db, claimant.id)

    for url in ADMIN_GET_PAGES:
        response = browser.get(url.format(id=claimant.id))
        assert response.status_code == 403, url
        assert "You do not have access to this page" in page_text(response)
    for url, data in ADMIN_POSTS:
        assert browser.post(url.format(id=claimant.id), data=data).status_code == 403, url

    assert user_row(in_db, claimant.id) == before
    assert audit_rows(in_db) == []
    assert outbox() == []
    assert "Administration" not in page_text(browser.get("/"))


def test_anonymous_is_sent_to_login(client, claimant, in_db):
    before = user_row(in_db, claimant.id)

    for url in ["/admin/users", "/admin/audit", f"/admin/users/{claimant.id}"]:
        assert_redirects_to_login(client.get(url), url)
    assert_redirects_to_login(client.get("/admin/users?status=all"), "/admin/users?status=all")
    for url, data in ADMIN_POSTS:
        response = client.post(url.format(id=claimant.id), data=data)
        assert response.status_code == 302
        assert path_of(response) == "/login"

    assert user_row(in_db, claimant.id) == before
    assert audit_rows(in_db) == []


def test_unknown_user_is_404(client, admin, in_db):
    response = client.get("/admin/users/999999")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page not found" in page_text(response)
    approve = client.post("/admin/users/999999/approve", data={"role": "reader", "akimat": "0"})
    assert approve.status_code == 404
    assert audit_rows(in_db) == []

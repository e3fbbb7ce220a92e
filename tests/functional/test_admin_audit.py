"""The audit log page and its CSV export: words instead of codes, links to the objects, filters, pages, and
who may see them. Entries are written with the app's own ``record`` on real rows of the test database."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit.labels import ACTIONS
from app.audit.labels import TARGET_TYPES
from app.audit.models import AuditEntry
from app.audit.services import record
from app.auth.models import User
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.meetings.models import AgendaItem
from app.meetings.models import Meeting
from tests.helpers import field_error
from tests.helpers import page_text
from tests.helpers import text
from tests.helpers import translated

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin(make_user, login_as):
    user = make_user("admin", email="admin@example.kz", full_name="Admin Adminov")
    login_as(user)
    return user


@pytest.fixture
def log(app):
    """Record an entry with the app's ``record`` on the row ``model`` #``target_id``; return the entry id."""

    def _log(action, model, target_id, actor_id=None, at=None, reason=None, details=None) -> int:
        with app.app_context():
            actor = db.session.get(User, actor_id) if actor_id else None
            entry = record(actor, action, db.session.get(model, target_id), details, reason)
            if at is not None:
                entry.created_at = at
            db.session.commit()
            return entry.id

    return _log


@pytest.fixture
def case_id(app):
    """The id of the case study ``slug``."""

    def _id(slug: str) -> int:
        with app.app_context():
            return db.session.scalar(sa.select(CaseStudy.id).where(CaseStudy.slug == slug))

    return _id


def rows_of(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def table_rows(response) -> list[str]:
    page = response.get_data(as_text=True)
    tbody = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    return [text(row) for row in re.findall(r"<tr>(.*?)</tr>", tbody.group(1), re.S)] if tbody else []


# --- every code the app records has words --------------------------------------------------------------


def recorded_codes() -> set[str]:
    """The action codes passed to ``record`` anywhere in app/ (literal, f-string or a module constant)."""
    codes: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        constants = dict(re.findall(r'^([A-Z_]+_ACTION) = "([a-z_.]+)"', source, re.M))
        for argument in re.findall(r"(?<!def )\brecord\(\s*[^,()]+(?:\([^()]*\))?,\s*([^,]+),", source):
            argument = argument.strip()
            if argument in constants:
                codes.add(constants[argument])
            elif argument.startswith('f"meeting.proposal_{'):
                codes |= {"meeting.proposal_accepted", "meeting.proposal_declined"}
            elif re.fullmatch(r'"[a-z_]+\.[a-z_]+"', argument):
                codes.add(argument.strip('"'))
            elif " if " in argument:
                codes |= set(re.findall(r'"([a-z_]+\.[a-z_]+)"', argument))
            else:
                raise AssertionError(f"{path}: cannot read the action code {argument!r}; teach this test")
    return codes


def test_every_recorded_action_has_a_label():
    codes = recorded_codes()
    assert len(codes) > 30  # the scan finds the callers
    assert codes - set(ACTIONS) == set(), "codes without words in app/audit/labels.py"
    assert set(ACTIONS) - codes == set(), "labels for codes nothing records"


def test_every_target_type_has_a_label(app):
    from app.extensions import db

    tables = {mapper.class_.__tablename__ for mapper in db.Model.registry.mappers}
    assert set(TARGET_TYPES) <= tables


# --- the page --------------------------------------------------------------------------------------------


def test_entries_in_words_with_links(app, client, admin, make_case, make_meeting, log):
    slug = make_case("published")  # records case.published, by the system
    meeting_id = make_meeting()
    log("meeting.create", Meeting, meeting_id, admin.id)
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        item = AgendaItem(meeting=meeting, title="Onay in Almaty", starts_at=meeting.starts_at, ends_at=meeting.ends_at)
        gone = AgendaItem(meeting=meeting, title="Removed", starts_at=meeting.starts_at, ends_at=meeting.ends_at)
        db.session.add_all([item, gone])
        db.session.commit()
        item_id, gone_id = item.id, gone.id
    log("meeting.agenda_item_added", AgendaItem, item_id, admin.id)
    log("meeting.agenda_item_removed", AgendaItem, gone_id, admin.id)
    with app.app_context():
        db.session.delete(db.session.get(AgendaItem, gone_id))
        db.session.commit()

    response = client.get("/admin/audit")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    body = text(page)
    for words in ["case study published", "meeting created", "agenda item added", "agenda item removed"]:
        assert words in body
    assert not re.search(r"\b(case|meeting)\.[a-z_]+", body), "a raw action code is shown"
    assert "agenda_item" not in body and "case_study" not in body
    assert f'<a href="/cases/{slug}">Electronic bus card Onay</a>' in page
    assert f'<a href="/meetings/{meeting_id}">Exchange meeting' in page
    assert f'<a href="/meetings/{meeting_id}#programme">agenda item: Onay in Almaty</a>' in page
    assert f"agenda item #{gone_id} (no longer exists)" in body
    assert "system" in body  # the published case had no actor
    assert "4 entries" in body


def test_page_in_kazakh(app, client, make_user, login_as, make_case):
    make_case("published")
    login_as(make_user("admin", language="kk"))
    body = page_text(client.get("/admin/audit"))
    words = translated(app, "case study published", "kk")
    assert words != "case study published"
    assert words in body


def test_filters(client, admin, make_user, make_case, case_id, log):
    other = make_user("admin", full_name="Other Admin")
    target = case_id(make_case("published"))
    march = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # 2 March 01:00 in Kazakhstan (UTC+5)
    log("case.withdrawn", CaseStudy, target, admin.id, at=march, reason="first")
    log("case.restored", CaseStudy, target, other.id, at=datetime(2026, 3, 5, 6, tzinfo=UTC), reason="second")
    log("user.deactivated", User, other.id, admin.id, at=datetime(2026, 4, 1, 6, tzinfo=UTC), reason="third")

    def reasons(query: str) -> list[str]:
        response = client.get(f"/admin/audit?{query}")
        assert response.status_code == 200, query
        return [word for row in table_rows(response) for word in ("first", "second", "third") if word in row]

    assert reasons("") == ["third", "second", "first"]
    assert reasons(f"actor={admin.id}") == ["third", "first"]
    assert reasons(f"actor={other.id}") == ["second"]
    assert reasons("actor=system") == []  # the publication, by the system, has no reason
    assert len(table_rows(client.get("/admin/audit?actor=system"))) == 1
    assert reasons("action=case.restored") == ["second"]
    assert reasons("target_type=user") == ["third"]
    assert reasons("target_type=case_study&actor=" + str(admin.id)) == ["first"]
    # Days are Kazakhstan days, both ends included.
    assert reasons("since=2026-03-02&until=2026-03-02") == ["first"]
    assert reasons("until=2026-03-01") == []
    assert reasons("since=2026-03-03&until=2026-03-31") == ["second"]
    assert reasons("since=2026-04-01") == ["third"]
    # The form shows what was chosen.
    page = client.get("/admin/audit?action=case.restored&since=2026-03-03").get_data(as_text=True)
    assert '<option selected value="case.restored">' in page or '<option value="case.restored" selected>' in page
    assert 'value="2026-03-03"' in page
    assert "No entries match these filters." in page_text(client.get("/admin/audit?since=2027-01-01"))


@pytest.mark.parametrize(("query", "field", "message"), [
    ("since=yesterday", "since", "Enter a date as YYYY-MM-DD, for example 2026-03-01."),
    ("until=2026-02-30", "until", "Enter a date as YYYY-MM-DD, for example 2026-03-01."),
    ("since=2026-3-1", "since", "Enter a date as YYYY-MM-DD, for example 2026-03-01."),
    ("until=9999-12-31", "until", "Enter a date between the years 2000 and 2999."),
    ("since=2026-05-01&until=2026-04-01", "until", "The end date is before the start date."),
    ("action=case.eaten", "action", "Choose one of the values in the list."),
    ("actor=abc", "actor", "Choose one of the values in the list."),
    ("actor=999999", "actor", "Choose one of the values in the list."),
    ("target_type=password", "target_type", "Choose one of the values in the list."),
])
def test_bad_filters_say_what_is_wrong(client, admin, make_case, query, field, message):
    make_case("published")
    for path in ["/admin/audit", "/admin/audit.csv"]:
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert response.mimetype == "text/html"
        assert field_error(response, field) == message
        assert "Correct the filters to see the log." in page_text(response)


def test_pages_are_bounded(client, admin, make_case, case_id, log):
    target = case_id(make_case("published"))
    for n in range(55):
        log("case.restored", CaseStudy, target, reason=f"entry {n}")

    first = client.get("/admin/audit")
    assert len(table_rows(first)) == 50
    assert "Page 1 of 2" in page_text(first)
    second = client.get("/admin/audit?page=2")
    assert len(table_rows(second)) == 6  # 55 + the publication
    for page in ["abc", "-3", "0"]:
        assert len(table_rows(client.get(f"/admin/audit?page={page}"))) == 50, page
    huge = client.get("/admin/audit?page=" + "9" * 40)  # not a page number any database offset takes: page 1
    assert huge.status_code == 200
    assert len(table_rows(huge)) == 50
    far = client.get("/admin/audit?page=2000000")  # a page number, past MAX_PAGE: the last allowed one, empty
    assert far.status_code == 200 and table_rows(far) == []
    # The page links keep the filters.
    filtered = client.get("/admin/audit?action=case.restored").get_data(as_text=True)
    assert 'href="/admin/audit?page=2&amp;action=case.restored"' in filtered


# --- CSV export --------------------------------------------------------------------------------------------


def test_csv_export_of_the_filtered_list(client, admin, make_case, case_id, log):
    slug = make_case("published")
    target = case_id(slug)
    reasons = ['=HYPERLINK("http://evil.example","x")', 'line one\nline "two", with a comma', "@SUM(A1)", "-2+3",
               "+7 777"]
    log("case.withdrawn", CaseStudy, target, admin.id, reason=reasons[0], at=datetime(2026, 3, 1, 20, 0, tzinfo=UTC))
    for day, reason in enumerate(reasons[1:], start=2):
        log("case.restored", CaseStudy, target, admin.id, reason=reason, at=datetime(2026, 3, day, 6, tzinfo=UTC),
            details={"slug": slug})

    response = client.get(f"/admin/audit.csv?actor={admin.id}")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="audit-\d{4}-\d{2}-\d{2}\.csv"', response.headers["Content-Disposition"])
    header, *rows = rows_of(response)
    assert header == ["Time (Kazakhstan)", "Who", "User id", "Action", "Action code", "Object type", "Object id",
                      "Object", "Link", "Reason", "Details"]
    assert len(rows) == 5  # the publication (by the system) is filtered out
    newest, *_middle, oldest = rows
    assert oldest[0] == "2026-03-02T01:00:00+05:00"
    assert oldest[1:5] == ["Admin Adminov", str(admin.id), "case study withdrawn", "case.withdrawn"]
    assert oldest[5:9] == ["case study", str(target), "Electronic bus card Onay", f"http://localhost/cases/{slug}"]
    assert oldest[9] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert [row[9] for row in rows] == ["'+7 777", "'-2+3", "'@SUM(A1)", 'line one\nline "two", with a comma',
                                        oldest[9]]
    assert newest[10] == f'{{"slug": "{slug}"}}' and oldest[10] == "{}"


def test_csv_has_every_entry_not_one_page(client, admin, make_case, case_id, log):
    target = case_id(make_case("published"))
    for n in range(120):
        log("case.restored", CaseStudy, target, reason=f"entry {n}")

    _header, *rows = rows_of(client.get("/admin/audit.csv?action=case.restored"))
    assert len(rows) == 120
    assert {row[1] for row in rows} == {"system"}


# --- who may see it -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv", "/admin/audit?action=case.withdrawn"])
def test_only_admins(client, make_user, login_as, make_case, case_id, log, in_db, path):
    log("case.withdrawn", CaseStudy, case_id(make_case("published")), reason="A reason only admins may read")
    with in_db() as session:
        entries = session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login?next=")
    for user in [make_user("reader"), make_user("organiser"), make_user("akim", akimat=("KZ-75", None))]:
        login_as(user)
        response = client.get(path)
        assert response.status_code == 403, user.role
        assert b"A reason only admins may read" not in response.data
    with in_db() as session:  # looking wrote nothing
        assert session.scalar(sa.select(sa.func.count(AuditEntry.id))) == entries


def test_status_change_names_both_states(client, admin, make_meeting, log):
    meeting_id = make_meeting()
    log("meeting.state", Meeting, meeting_id, admin.id, details={"from": "registration_open", "to": "cancelled"},
        reason="The venue is closed")
    body = page_text(client.get("/admin/audit"))
    assert "meeting status changed from “Registration open” to “Cancelled”" in body

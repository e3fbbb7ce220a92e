"""Commitments followed up: status updates by the committed akimat (others refused), evidence files (type and
size refused cleanly), the tracker's counts and overdue-first order, reminders on the due date and every four
months (never twice), the one-click adoption of a complete commitment."""

from __future__ import annotations

import io
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.case_studies.models import Adoption
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.meetings.commitments import services
from app.meetings.commitments.reminders import add_months
from app.meetings.commitments.reminders import reminder_date
from app.meetings.commitments.reminders import send_commitment_reminders
from app.meetings.models import Commitment
from app.meetings.models import CommitmentUpdate
from app.meetings.models import Meeting
from app.meetings.programme import services as programme
from app.meetings.timezone import KZ
from app.regions.services import find_akimat
from tests.helpers import flashes
from tests.helpers import page_text
from tests.helpers import text
from tests.helpers import translated
from tests.unit.test_attachments import pdf_bytes

TODAY = datetime.now(UTC).astimezone(KZ).date()


@pytest.fixture
def people(make_user):
    """An organiser, a Kostanay Region akim (the committing akimat), an Almaty akim, a reader."""
    return {
        "organiser": make_user("organiser"),
        "kostanay": make_user("akim", akimat=("KZ-39", None), full_name="Ivan Petrov", language="ru"),
        "almaty": make_user("akim", akimat=("KZ-75", None), full_name="Dana Seitova"),
        "reader": make_user("reader"),
    }


@pytest.fixture
def held(make_meeting):
    """A national meeting held 60 days ago."""
    return make_meeting(state="held")


@pytest.fixture
def case(make_case):
    """Almaty's published case study (what Kostanay Region commits to)."""
    return make_case("published")


def commit(in_db, meeting_id: int, slug: str, due: date | None, akimat=("KZ-39", None), status: str | None = None
           ) -> int:
    """Record a commitment of ``akimat`` to pilot case ``slug`` by ``due`` (optionally with a status)."""
    with in_db() as session:
        meeting = session.get(Meeting, meeting_id)
        case_id = session.scalar(sa.select(CaseStudy.id).where(CaseStudy.slug == slug))
        # Commitments may be recorded late: a due date before the meeting is set on the row directly.
        c = programme.add_commitment(None, meeting, find_akimat(*akimat).id, case_id, "pilot", None, "")
        c.due_date = due
        if status:
            c.status = status
        session.commit()
        return c.id


def update_url(meeting_id: int, commitment_id: int) -> str:
    return f"/meetings/{meeting_id}/commitments/{commitment_id}/updates"


def uploads(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(folder.iterdir()) if folder.exists() else []


def test_the_committed_akimat_posts_updates_and_others_are_refused(app, client, login_as, people, held, case,
                                                                    in_db, db_session):
    cid = commit(in_db, held, case, TODAY + timedelta(days=30))
    url = update_url(held, cid)
    assert client.post(url, data={"status": "limited", "note": "x"}).status_code == 302  # to the login page
    for who in ("almaty", "reader"):
        login_as(people[who])
        assert client.post(url, data={"status": "limited", "note": "Trying"}).status_code == 403
    assert db_session.scalars(sa.select(CommitmentUpdate)).all() == []

    login_as(people["kostanay"])
    response = client.post(url, data={"status": "limited", "note": "Tender **announced**."})
    assert response.status_code == 303
    assert db_session.get(Commitment, cid).status == "limited"
    login_as(people["organiser"])
    assert client.post(url, data={"status": "substantial", "note": "Two districts run it."}).status_code == 303
    commitment = db_session.get(Commitment, cid)
    assert commitment.status == "substantial"
    [newest, first] = db_session.scalars(sa.select(CommitmentUpdate).order_by(CommitmentUpdate.id.desc())).all()
    assert (first.status, first.author_id, newest.author_id) == ("limited", people["kostanay"].id,
                                                                  people["organiser"].id)
    assert first.created_at.tzinfo is not None
    page = client.get(f"/meetings/{held}/commitments/{cid}").get_data(as_text=True)
    assert "<strong>announced</strong>" in page and "Two districts run it." in page
    assert page.index("Two districts run it.") < page.index("announced")  # newest first
    actions = db_session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.action == "meeting.commitment_updated")).all()
    assert len(actions) == 2


def test_bad_updates_get_messages_in_the_users_language(app, client, login_as, people, held, case, in_db,
                                                        db_session):
    cid = commit(in_db, held, case, None)
    login_as(people["kostanay"])  # prefers Russian
    url = update_url(held, cid)
    for data, message in [
        ({"status": "finished", "note": "Done"}, "Choose the status from the list."),
        ({"status": "limited", "note": "   "}, "Say what has been done since the last update."),
        ({"status": "limited", "note": "x" * 5_001}, "At most %(max)d characters."),
    ]:
        response = client.post(url, data=data)
        assert response.status_code == 400
        expected = translated(app, message, "ru", max=5_000) if "%(max)d" in message else translated(app, message, "ru")
        assert expected in page_text(response), message
    assert db_session.scalars(sa.select(CommitmentUpdate)).all() == []
    assert db_session.get(Commitment, cid).status == "not_started"
    assert client.get(f"/meetings/{held}/commitments/{cid + 1000}").status_code == 404
    assert client.post(update_url(held + 1000, cid), data={"status": "limited", "note": "x"}).status_code == 404


def test_evidence_file_is_stored_and_served_safely(app, client, login_as, people, held, case, in_db, db_session):
    cid = commit(in_db, held, case, None)
    login_as(people["kostanay"])
    response = client.post(update_url(held, cid), content_type="multipart/form-data", data={
        "status": "substantial", "note": "Signed protocol attached.",
        "file": (io.BytesIO(pdf_bytes()), "Хаттама.pdf")})
    assert response.status_code == 303
    update = db_session.scalars(sa.select(CommitmentUpdate)).one()
    assert (update.evidence_name, update.evidence_content_type) == ("Хаттама.pdf", "application/pdf")
    assert [p.name for p in uploads(app)] == [update.evidence_stored_name]
    download = app.test_client().get(f"/meetings/{held}/commitments/{cid}/updates/{update.id}/evidence")
    assert download.status_code == 200 and download.data == pdf_bytes()
    assert download.headers["Content-Disposition"].startswith('attachment; filename="Khattama.pdf"')
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    download.close()
    other = commit(in_db, held, case, None, akimat=("KZ-35", None))
    assert app.test_client().get(f"/meetings/{held}/commitments/{other}/updates/{update.id}/evidence"
                                 ).status_code == 404


def test_evidence_of_a_wrong_type_is_refused_and_nothing_kept(app, client, login_as, people, held, case, in_db,
                                                              db_session):
    cid = commit(in_db, held, case, None)
    login_as(people["kostanay"])
    for payload, name in [(b"#!/bin/sh\necho hi\n", "report.pdf"), (b"", "empty.pdf")]:
        response = client.post(update_url(held, cid), content_type="multipart/form-data", data={
            "status": "limited", "note": "See the file.", "file": (io.BytesIO(payload), name)})
        assert response.status_code == 400
        assert "See the file." in response.get_data(as_text=True)  # the note typed is kept
    page = page_text(response)
    assert translated(app, "The file is empty. Choose the file again, or another one.", "ru") in page
    assert db_session.scalars(sa.select(CommitmentUpdate)).all() == []
    assert uploads(app) == []


class TestSizeLimit:
    """A file over ATTACHMENT_MAX_BYTES, and a request over MAX_CONTENT_LENGTH: the page with the reason."""

    @pytest.fixture
    def app_overrides(self):
        return {"ATTACHMENT_MAX_BYTES": 2_000, "MAX_CONTENT_LENGTH": 50_000}

    def test_too_large_files_are_refused_cleanly(self, app, client, login_as, people, held, case, in_db,
                                                 db_session):
        cid = commit(in_db, held, case, None)
        login_as(people["almaty"])  # not the committing akimat: refused before the file matters
        assert client.post(update_url(held, cid), content_type="multipart/form-data", data={
            "status": "limited", "note": "n", "file": (io.BytesIO(pdf_bytes(3_000)), "big.pdf")}).status_code == 403
        login_as(people["kostanay"])
        response = client.post(update_url(held, cid), content_type="multipart/form-data", data={
            "status": "limited", "note": "Big scan.", "file": (io.BytesIO(pdf_bytes(3_000)), "big.pdf")})
        assert response.status_code == 413
        size = translated(app, "%(size)s KB", "ru", size="2")
        refusal = translated(app, "The file is larger than the limit of %(size)s.", "ru", size=size)
        assert refusal in page_text(response)
        response = client.post(update_url(held, cid), content_type="multipart/form-data", data={
            "status": "limited", "note": "Huge.", "file": (io.BytesIO(pdf_bytes(60_000)), "huge.pdf")})
        assert response.status_code == 413
        assert refusal in flashes(response.get_data(as_text=True))
        assert db_session.scalars(sa.select(CommitmentUpdate)).all() == []
        assert uploads(app) == []


def test_tracker_counts_and_overdue_first(app, client, people, held, case, make_case, in_db):
    future = commit(in_db, held, case, TODAY + timedelta(days=90))
    done = commit(in_db, held, case, TODAY - timedelta(days=300), akimat=("KZ-35", None), status="complete")
    late = commit(in_db, held, case, TODAY - timedelta(days=10), akimat=("KZ-31", None), status="limited")
    later = commit(in_db, held, case, TODAY - timedelta(days=40), akimat=("KZ-11", None))
    withdrawn_case = make_case("published", title="Old parking reform")
    hidden = commit(in_db, held, withdrawn_case, TODAY - timedelta(days=5), akimat=("KZ-43", None))
    with in_db() as session:
        from app.case_studies import services as case_services

        case_services.withdraw(None, session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == withdrawn_case)),
                               "Outdated")
        session.commit()

    with app.test_request_context(), in_db():
        overall = services.tracker()
        assert [r.commitment.id for r in overall.rows] == [later, late, future, done]
        assert overall.counts == {"not_started": 2, "limited": 1, "substantial": 0, "complete": 1, "withdrawn": 0}
        assert overall.overdue == 2
        meeting = db.session.get(Meeting, held)
        assert hidden in [r.commitment.id for r in services.tracker(meeting=meeting).rows]  # the meeting's record
        region = find_akimat("KZ-31").region
        assert [r.commitment.id for r in services.tracker(region=region).rows] == [late]

    page = client.get("/commitments").get_data(as_text=True)
    for cid in (later, late, future, done):
        assert f'id="commitment-{cid}"' in page
    assert f'id="commitment-{hidden}"' not in page
    positions = [page.index(f'id="commitment-{cid}"') for cid in (later, late, future, done)]
    assert positions == sorted(positions)
    counts = page.split('class="status-counts"', 1)[1].split("</ul>", 1)[0]
    assert [" ".join(text(item).split()) for item in counts.split("<li>")[1:]] == [
        "Not started 2", "Limited progress 1", "Substantial progress 0", "Complete 1", "Withdrawn 0", "Overdue 2"]
    meeting_page = client.get(f"/meetings/{held}").get_data(as_text=True)
    assert f'id="commitment-{later}"' in meeting_page and "Progress and updates" in meeting_page
    region_page = client.get("/regions/KZ-31").get_data(as_text=True)
    assert f'id="commitment-{late}"' in region_page and f'id="commitment-{later}"' not in region_page


def test_latest_update_shows_in_the_tracker(app, client, login_as, people, held, case, in_db):
    cid = commit(in_db, held, case, TODAY - timedelta(days=1))
    login_as(people["kostanay"])
    client.post(update_url(held, cid), data={"status": "limited", "note": "First step."})
    client.post(update_url(held, cid), data={"status": "limited", "note": "Second step."})
    page = client.get("/commitments").get_data(as_text=True)
    assert "Second step." in page and "First step." not in page


def test_reminder_schedule():
    assert add_months(date(2027, 10, 31), 4) == date(2028, 2, 29)
    due = date(2027, 10, 31)
    assert reminder_date(due, date(2027, 10, 30)) is None
    assert reminder_date(due, due) == due
    assert reminder_date(due, date(2028, 2, 28)) == due
    assert reminder_date(due, date(2028, 2, 29)) == date(2028, 2, 29)
    assert reminder_date(due, date(2028, 6, 29)) == date(2028, 2, 29)
    assert reminder_date(due, date(2028, 6, 30)) == date(2028, 6, 30)


def at(day: date) -> datetime:
    return datetime.combine(day, time(8), tzinfo=KZ)


def test_reminders_on_the_due_date_then_every_four_months_never_twice(app, runner, people, held, case, in_db,
                                                                      outbox, db_session, make_user):
    due = TODAY + timedelta(days=20)
    cid = commit(in_db, held, case, due)
    make_user("akim", akimat=("KZ-39", None), active=False)  # deactivated: told nothing
    with app.app_context():
        assert send_commitment_reminders(at(due - timedelta(days=1))).sent == 0
        run = send_commitment_reminders(at(due))
        assert (run.sent, run.commitments, run.failed) == (1, 1, 0)
        assert send_commitment_reminders(at(due)).sent == 0  # the same day again
        assert send_commitment_reminders(at(due + timedelta(days=40))).sent == 0
    [mail] = outbox()
    assert mail["To"].addresses[0].addr_spec == people["kostanay"].email
    subject = translated(app, "Your commitment is due: %(title)s", "ru", title="Electronic bus card Onay")
    assert mail["Subject"] == subject
    body = mail.get_content()
    assert f"/meetings/{held}/commitments/{cid}#update" in body
    assert translated(app, "Not started", "ru") in body

    four = add_months(due, 4)
    result = runner.invoke(args=["meetings", "commitment-reminders", "--today", (four - timedelta(days=1)).isoformat()])
    assert result.exit_code == 0 and "Commitment reminders sent: 0" in result.output
    result = runner.invoke(args=["meetings", "commitment-reminders", "--today", four.isoformat()])
    assert "Commitment reminders sent: 1" in result.output, result.output
    result = runner.invoke(args=["meetings", "commitment-reminders", "--today", four.isoformat()])
    assert "Commitment reminders sent: 0" in result.output
    assert len(outbox()) == 2
    assert translated(app, "How is your commitment going? %(title)s", "ru",
                      title="Electronic bus card Onay") == outbox()[1]["Subject"]
    # A run that missed several reminder dates sends one reminder, not one per date.
    with app.app_context():
        assert send_commitment_reminders(at(add_months(due, 13))).sent == 1
    with in_db() as session:
        session.get(Commitment, cid).status = "complete"
        session.commit()
    with app.app_context():
        assert send_commitment_reminders(at(add_months(due, 16))).sent == 0
    entries = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "meeting.commitment_reminder")).all()
    assert [e.details["reminder_date"] for e in entries] == [due.isoformat(), four.isoformat(),
                                                             add_months(due, 12).isoformat()]


def test_complete_offers_the_adoption_in_one_click(app, client, login_as, people, held, case, in_db, db_session):
    cid = commit(in_db, held, case, TODAY + timedelta(days=10))
    login_as(people["kostanay"])
    page = client.get(f"/meetings/{held}/commitments/{cid}").get_data(as_text=True)
    assert "Record the adoption" not in page
    response = client.post(update_url(held, cid), data={"status": "complete", "note": "Piloted in two towns."},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    adopt = f'action="/meetings/{held}/commitments/{cid}/adoption"'
    assert adopt in page
    assert translated(app, "Record the adoption", "ru") in page
    assert client.post(f"/meetings/{held}/commitments/{cid}/adoption").status_code == 303
    adoption = db_session.scalars(sa.select(Adoption)).one()
    assert db_session.get(Commitment, cid).adoption_id == adoption.id
    assert adopt not in client.get(f"/meetings/{held}/commitments/{cid}").get_data(as_text=True)
    login_as(people["reader"])
    assert adopt not in client.get("/commitments").get_data(as_text=True)


def test_removing_a_commitment_removes_its_evidence(app, client, login_as, people, held, case, in_db, db_session):
    cid = commit(in_db, held, case, None)
    login_as(people["kostanay"])
    client.post(update_url(held, cid), content_type="multipart/form-data", data={
        "status": "limited", "note": "Scan.", "file": (io.BytesIO(pdf_bytes()), "scan.pdf")})
    assert len(uploads(app)) == 1
    login_as(people["organiser"])
    assert client.post(f"/meetings/{held}/commitments/{cid}/delete").status_code == 303
    assert db_session.scalars(sa.select(CommitmentUpdate)).all() == []
    assert uploads(app) == []


BEFORE_COMMITMENT_PROGRESS = "5e1d3c7a9b20"


def test_migration_upgrade_downgrade(database_url, tmp_path):
    """At head a commitment has a status (CHECK-ed) and updates; the downgrade drops both, keeping the commitment;
    the upgrade gives existing commitments the status "not started"."""
    from flask_migrate import downgrade
    from flask_migrate import upgrade

    from app.case_studies import services as case_services
    from tests.conftest import case_data
    from tests.conftest import make_app
    from tests.functional.test_migrations import MIGRATIONS

    app = make_app(database_url, tmp_path, MIGRATIONS_DIR=MIGRATIONS)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        case = case_services.create_case(None, find_akimat("KZ-75"), case_data())
        case_services.publish(None, case)
        starts = datetime(2025, 6, 1, 5, tzinfo=UTC)
        meeting = Meeting(uid="m@test", scope="national", year=2025, slot=1, edition=1, title="Held",
                          host_region_id=case.region_id, starts_at=starts, ends_at=starts + timedelta(hours=8),
                          capacity=10, state="held")
        db.session.add(meeting)
        db.session.flush()
        commitment = Commitment(meeting=meeting, akimat=find_akimat("KZ-39"), case_study=case, action="pilot",
                                due_date=date(2026, 1, 1), status="limited")
        db.session.add(commitment)
        db.session.flush()
        db.session.add(CommitmentUpdate(commitment_id=commitment.id, status="limited", note="Started."))
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE meeting_commitment SET status = 'finished'"))
            db.session.flush()
        db.session.rollback()

        downgrade(directory=MIGRATIONS, revision=BEFORE_COMMITMENT_PROGRESS)
        inspector = sa.inspect(db.engine)
        assert "meeting_commitment_update" not in inspector.get_table_names()
        assert {"status", "reminded_at"}.isdisjoint(c["name"] for c in inspector.get_columns("meeting_commitment"))
        assert db.session.execute(sa.text("SELECT COUNT(*) FROM meeting_commitment")).scalar_one() == 1
        db.session.rollback()  # end the read before the upgrade alters the table

        upgrade(directory=MIGRATIONS)
        row = db.session.execute(sa.text("SELECT status, reminded_at FROM meeting_commitment")).one()
        assert tuple(row) == ("not_started", None)
        assert db.session.execute(sa.text("SELECT COUNT(*) FROM meeting_commitment_update")).scalar_one() == 0
        db.session.remove()
        db.engine.dispose()

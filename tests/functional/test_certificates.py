"""Certificates of participation: the PDF for a present attendee (in their language, Kazakh letters included),
refusals, the public verification page (valid / unknown / revoked, no e-mail), revocation, the learning record."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.audit.models import AuditEntry
from app.meetings.models import Certificate
from app.meetings.models import Registration

KAZAKH = "Әсемгүл Құрманғазықызы"


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


@pytest.fixture
def held(app, make_meeting, make_user):
    """A held meeting with one attendee present (a Kazakh speaker), one absent; returns (meeting id, present,
    absent)."""
    meeting_id = make_meeting(state="held", title="Көктем кездесуі: Almaty 2026", contact_name="Айгерим Нұрланова")
    present = make_user("reader", full_name=KAZAKH, language="kk")
    absent = make_user("reader", language="ru")
    with app.app_context():
        from app.extensions import db

        db.session.add(Registration(meeting_id=meeting_id, user_id=present.id, state="registered", attended=True))
        db.session.add(Registration(meeting_id=meeting_id, user_id=absent.id, state="registered", attended=False))
        db.session.commit()
    return meeting_id, present, absent


def test_present_attendee_downloads_a_certificate_in_kazakh_and_russian(client, login_as, held, db_session):
    meeting_id, present, _absent = held
    login_as(present)
    assert "my-certificate" in client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    response = client.get(f"/meetings/{meeting_id}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "Көктем кездесуі" in text and "Құрманғазықызы" in text
    assert "Қатысу сертификаты" in text  # the Kazakh heading: the attendee's preferred language
    assert "Айгерим Нұрланова" in text  # signed by the meeting's contact
    code = db_session.scalar(sa.select(Certificate.code))
    assert len(code) == 10 and code in text

    russian = pdf_text(client.get(f"/meetings/{meeting_id}/certificate.pdf?lang=ru").data)
    assert "Сертификат участника" in russian and "Көктем кездесуі" in russian and code in russian
    # Idempotent: one certificate, the same code every time.
    assert db_session.scalar(sa.select(sa.func.count(Certificate.id))) == 1
    assert client.get(f"/meetings/{meeting_id}/certificate.pdf?lang=xx").status_code == 200
    db_session.expire_all()
    assert db_session.scalars(sa.select(Certificate.code)).all() == [code]


def test_no_certificate_for_the_absent_another_user_or_a_meeting_not_held(client, login_as, held, make_meeting,
                                                                          make_user, app, db_session):
    meeting_id, present, absent = held
    login_as(absent)
    assert "my-certificate" not in client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert client.get(f"/meetings/{meeting_id}/certificate.pdf").status_code == 404
    present_registration = db_session.scalar(sa.select(Registration.id).where(Registration.user_id == present.id))
    assert client.get(f"/meetings/{meeting_id}/certificate.pdf?registration={present_registration}").status_code == 403
    assert client.get(f"/meetings/{meeting_id}/certificate.pdf?registration=abc").status_code == 404
    stranger = make_user("reader")
    login_as(stranger)
    assert client.get(f"/meetings/{meeting_id}/certificate.pdf").status_code == 404
    planned = make_meeting()
    with app.app_context():
        from app.extensions import db

        db.session.add(Registration(meeting_id=planned, user_id=present.id, state="registered", attended=True))
        db.session.commit()
    login_as(present)
    assert client.get(f"/meetings/{planned}/certificate.pdf").status_code == 404
    assert db_session.scalar(sa.select(sa.func.count(Certificate.id))) == 0


def test_verification_page_valid_unknown_revoked_and_organiser_revokes(client, login_as, held, make_user,
                                                                       db_session):
    meeting_id, present, _absent = held
    login_as(present)
    client.get(f"/meetings/{meeting_id}/certificate.pdf")
    code = db_session.scalar(sa.select(Certificate.code))
    anonymous = client.application.test_client()
    page = anonymous.get(f"/certificates/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "is valid" in html and KAZAKH in html and "Көктем кездесуі" in html
    assert present.email not in html
    assert anonymous.get(f"/certificates/{code.lower()}").status_code == 200  # typed in lower case
    unknown = anonymous.get("/certificates/ZZZZZZZZZZ")
    assert unknown.status_code == 404 and "No certificate has the code" in unknown.get_data(as_text=True)
    assert anonymous.get(f"/certificates?code={code}").status_code == 303

    # The attendee cannot revoke; the organiser can, from the registrations page, and lift it again.
    assert client.post(f"/certificates/{code}/revoke").status_code == 403
    organiser = make_user("organiser")
    login_as(organiser)
    registrations = client.get(f"/meetings/{meeting_id}/registrations").get_data(as_text=True)
    assert code in registrations and "Revoke" in registrations
    assert client.post(f"/certificates/{code}/revoke").status_code == 303
    revoked = anonymous.get(f"/certificates/{code}").get_data(as_text=True)
    assert "was revoked" in revoked and present.email not in revoked
    login_as(present)
    assert client.get(f"/meetings/{meeting_id}/certificate.pdf").status_code == 403  # no fresh copy once revoked
    profile = client.get("/account").get_data(as_text=True)  # in Kazakh, the attendee's language
    assert "кері қайтарылған" in profile and f"/meetings/{meeting_id}/certificate.pdf" not in profile
    assert "my-certificate" not in client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    login_as(organiser)
    assert db_session.scalar(sa.select(AuditEntry.actor_id).where(AuditEntry.action == "certificate.revoke")) == \
        organiser.id
    assert client.post(f"/certificates/{code}/restore").status_code == 303
    assert "is valid" in anonymous.get(f"/certificates/{code}").get_data(as_text=True)
    assert client.post("/certificates/NOSUCHCODE/revoke").status_code == 404
    # Organisers may download anyone's certificate: the same code.
    registration_id = db_session.scalar(sa.select(Registration.id).where(Registration.user_id == present.id))
    assert client.get(f"/meetings/{meeting_id}/certificate.pdf?registration={registration_id}").status_code == 200
    assert db_session.scalars(sa.select(Certificate.code)).all() == [code]


def test_issue_is_idempotent_and_race_safe(app, held):
    _meeting_id, present, _absent = held
    from app.extensions import db
    from app.meetings.certificates import services

    with app.app_context():
        registration = db.session.scalar(sa.select(Registration).where(Registration.user_id == present.id))
        first = services.issue(registration)
        db.session.commit()
        # Another request inserted meanwhile: a second insert hits the unique constraint and finds that row.
        assert services.issue(registration).code == first.code
        with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
            db.session.add(Certificate(code=services.new_code(), registration_id=registration.id))
            db.session.flush()
        db.session.rollback()
        assert set(first.code) <= set(services.ALPHABET)


def test_learning_record_on_the_profile_and_as_csv_and_pdf(client, login_as, held, db_session):
    meeting_id, present, _absent = held
    login_as(present)
    client.get(f"/meetings/{meeting_id}/certificate.pdf")
    code = db_session.scalar(sa.select(Certificate.code))
    page = client.get("/account").get_data(as_text=True)
    assert "Көктем кездесуі" in page and code in page
    response = client.get("/account/learning-record.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert any("Көктем кездесуі: Almaty 2026" in row and code in row for row in rows[1:])
    body = client.get("/account/learning-record.pdf?lang=kk").data
    assert "Көктем кездесуі" in pdf_text(body)


def test_hours_from_the_agenda_and_presentations_given(client, login_as, held, app, make_case, db_session,
                                                       tmp_path):
    """A timed agenda gives the hours (breaks not counted); the attendee's accepted proposal is on the certificate
    and in the learning record."""
    from datetime import timedelta

    from app.extensions import db
    from app.meetings.models import AgendaItem
    from app.meetings.models import Meeting
    from app.meetings.models import Proposal

    meeting_id, present, _absent = held
    slug = make_case("published")
    with app.app_context():
        from app.case_studies.models import CaseStudy

        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
        meeting = db.session.get(Meeting, meeting_id)
        proposal = Proposal(meeting_id=meeting_id, case_study_id=case.id, proposer_id=present.id, state="accepted")
        db.session.add(proposal)
        db.session.flush()
        start = meeting.starts_at
        db.session.add_all([
            AgendaItem(meeting_id=meeting_id, kind="presentation", title="Onay: бір карта", starts_at=start,
                       ends_at=start + timedelta(hours=2), proposal_id=proposal.id, case_study_id=case.id),
            AgendaItem(meeting_id=meeting_id, kind="break", title="Tea", starts_at=start + timedelta(hours=2),
                       ends_at=start + timedelta(hours=3)),
            AgendaItem(meeting_id=meeting_id, kind="panel", title="Panel", starts_at=start + timedelta(hours=3),
                       ends_at=start + timedelta(hours=4, minutes=30)),
        ])
        db.session.commit()
    login_as(present)
    text = pdf_text(client.get(f"/meetings/{meeting_id}/certificate.pdf?lang=en").data)
    assert "3.5 hours (from the agenda)" in text and "Onay: бір карта" in text
    body = client.get(f"/meetings/{meeting_id}/certificate.pdf").data
    (tmp_path / "certificate.pdf").write_bytes(body)
    assert len(PdfReader(io.BytesIO(body)).pages) == 1
    assert "Onay: бір карта" in client.get("/account").get_data(as_text=True)


def test_without_a_timed_agenda_the_days_give_the_hours(client, login_as, held):
    meeting_id, present, _absent = held
    login_as(present)
    text = pdf_text(client.get(f"/meetings/{meeting_id}/certificate.pdf?lang=en").data)
    assert "8 hours: 8 hours for each day of the meeting" in text

"""A meeting's programme: the call for presentations per role, proposals (draft and other akimats' cases refused),
decisions, the agenda timetable and its print page, outcomes (sanitised minutes) and commitments → adoptions."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.case_studies.models import Adoption
from app.case_studies.models import CaseStudy
from app.meetings.models import AgendaItem
from app.meetings.models import Commitment
from app.meetings.models import Meeting
from app.meetings.models import Proposal
from app.regions.services import find_akimat

NEXT_YEAR = datetime.now(UTC).year + 1
# 14–15 September next year, 09:00–18:00 Kazakhstan time (UTC+5).
STARTS = datetime(NEXT_YEAR, 9, 14, 4, tzinfo=UTC)
ENDS = datetime(NEXT_YEAR, 9, 15, 13, tzinfo=UTC)
DAY1 = f"{NEXT_YEAR}-09-14"
DAY2 = f"{NEXT_YEAR}-09-15"


@pytest.fixture
def meeting(make_meeting):
    """An Almaty-hosted national meeting next September, open for registration."""
    return make_meeting(state="registration_open", host="KZ-75", year=NEXT_YEAR, starts_at=STARTS, ends_at=ENDS,
                        registration_closes_at=STARTS - timedelta(days=3))


@pytest.fixture
def people(make_user):
    """An organiser, an Almaty akim, a Kostanay akim and a reader."""
    return {
        "organiser": make_user("organiser"),
        "almaty": make_user("akim", akimat=("KZ-75", None), full_name="Dana Seitova"),
        "kostanay": make_user("akim", akimat=("KZ-39", None), full_name="Ivan Petrov"),
        "reader": make_user("reader"),
    }


@pytest.fixture
def cases(make_case):
    """Slugs: Almaty's published case, Almaty's draft, Kostanay's published case."""
    return {
        "almaty": make_case("published"),
        "draft": make_case("draft", title="Unfinished parking reform"),
        "kostanay": make_case("published", akimat=("KZ-39", None), region="KZ-39", level="oblast",
                              title="Grain logistics hub"),
    }


def case_id(db_session, slug: str) -> int:
    return db_session.scalar(sa.select(CaseStudy.id).where(CaseStudy.slug == slug))


def actions(db_session, prefix: str) -> list[str]:
    return db_session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.startswith(prefix))
                              .order_by(AuditEntry.id)).all()


def open_call(client, login_as, people, meeting):
    login_as(people["organiser"])
    response = client.post(f"/meetings/{meeting}/call/open", data={"closes_at": ""})
    assert response.status_code == 303


def propose(client, login_as, people, meeting, db_session, slug, who="almaty", pitch="Cash fares fell by 90%."):
    login_as(people[who])
    return client.post(f"/meetings/{meeting}/propose",
                       data={"case_study": str(case_id(db_session, slug)), "pitch": pitch, "presenter_name": ""})


# --- the call -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reader", "almaty"])
def test_only_organisers_open_the_call(client, login_as, people, meeting, db_session, role):
    login_as(people[role])
    assert client.post(f"/meetings/{meeting}/call/open").status_code == 403
    assert client.get(f"/meetings/{meeting}/programme").status_code == 403
    assert db_session.get(Meeting, meeting).call_open is False


def test_organiser_opens_and_closes_the_call(client, login_as, people, meeting, db_session):
    login_as(people["organiser"])
    closes = f"{NEXT_YEAR}-09-01T18:00"
    assert client.post(f"/meetings/{meeting}/call/open", data={"closes_at": closes}).status_code == 303
    stored = db_session.get(Meeting, meeting)
    assert stored.call_open is True
    # Entered in Kazakhstan time (UTC+5), stored in UTC.
    closes_at = stored.call_closes_at.replace(tzinfo=stored.call_closes_at.tzinfo or UTC)
    assert closes_at == datetime(NEXT_YEAR, 9, 1, 13, tzinfo=UTC)
    html = client.get(f"/meetings/{meeting}").get_data(as_text=True)
    assert "The call for presentations is open." in html
    assert client.post(f"/meetings/{meeting}/call/close").status_code == 303
    db_session.expire_all()
    assert db_session.get(Meeting, meeting).call_open is False
    assert actions(db_session, "meeting.call") == ["meeting.call_opened", "meeting.call_closed"]


@pytest.mark.parametrize(("closes_at", "message"), [
    ("2000-01-01T10:00", "Choose a closing time in the future."),
    (f"{NEXT_YEAR}-09-20T10:00", "The call must close before the meeting starts."),
    ("tomorrow", "Enter a date and time"),
])
def test_bad_call_closing_changes_nothing(client, login_as, people, meeting, db_session, closes_at, message):
    login_as(people["organiser"])
    response = client.post(f"/meetings/{meeting}/call/open", data={"closes_at": closes_at})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db_session.get(Meeting, meeting).call_open is False


# --- proposals ----------------------------------------------------------------------------------------------


def test_akim_proposes_own_published_case(client, login_as, people, meeting, cases, db_session):
    open_call(client, login_as, people, meeting)
    login_as(people["almaty"])
    page = client.get(f"/meetings/{meeting}/propose").get_data(as_text=True)
    assert "Electronic bus card Onay" in page and "Unfinished parking reform" not in page
    response = propose(client, login_as, people, meeting, db_session, cases["almaty"])
    assert response.status_code == 303
    [proposal] = db_session.scalars(sa.select(Proposal)).all()
    assert (proposal.state, proposal.proposer_id, proposal.presenter_name) == ("proposed", people["almaty"].id,
                                                                              "Dana Seitova")
    html = client.get(f"/meetings/{meeting}").get_data(as_text=True)
    assert "Your akimat's proposals" in html and "Waiting for a decision" in html


@pytest.mark.parametrize(("slug_key", "who", "pitch", "message"), [
    ("draft", "almaty", "Pitch", "Only a published case study can be presented"),
    ("kostanay", "almaty", "Pitch", "You can only propose a case study of your own akimat."),
    ("almaty", "almaty", "   ", "Say in a few sentences what peers will learn from it."),
    ("almaty", "almaty", "x" * 1001, "At most 1000 characters."),
])
def test_bad_proposals_change_nothing(client, login_as, people, meeting, cases, db_session, slug_key, who, pitch,
                                      message):
    open_call(client, login_as, people, meeting)
    response = propose(client, login_as, people, meeting, db_session, cases[slug_key], who=who, pitch=pitch)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db_session.scalars(sa.select(Proposal)).all() == []


def test_one_proposal_per_case_and_closed_call(client, login_as, people, meeting, cases, db_session):
    # Closed call: refused.
    response = propose(client, login_as, people, meeting, db_session, cases["almaty"])
    assert response.status_code == 400
    assert "The call for presentations of this meeting is closed." in response.get_data(as_text=True)
    open_call(client, login_as, people, meeting)
    assert propose(client, login_as, people, meeting, db_session, cases["almaty"]).status_code == 303
    response = propose(client, login_as, people, meeting, db_session, cases["almaty"])
    assert response.status_code == 400
    assert "already been proposed for this meeting" in response.get_data(as_text=True)
    assert len(db_session.scalars(sa.select(Proposal)).all()) == 1
    # Unknown case id and nonsense: a field error, not a 500.
    login_as(people["almaty"])
    response = client.post(f"/meetings/{meeting}/propose", data={"case_study": "999999", "pitch": "x"})
    assert response.status_code == 400
    response = client.post(f"/meetings/{meeting}/propose", data={"case_study": "abc", "pitch": "x"})
    assert response.status_code == 400


@pytest.mark.parametrize("role", ["reader", "organiser"])
def test_non_akims_cannot_propose(client, login_as, people, meeting, cases, db_session, role):
    open_call(client, login_as, people, meeting)
    response = propose(client, login_as, people, meeting, db_session, cases["almaty"], who=role)
    assert response.status_code == 403
    assert db_session.scalars(sa.select(Proposal)).all() == []


def test_withdraw_a_proposal(client, login_as, people, meeting, cases, db_session):
    open_call(client, login_as, people, meeting)
    propose(client, login_as, people, meeting, db_session, cases["almaty"])
    proposal = db_session.scalars(sa.select(Proposal)).one()
    login_as(people["kostanay"])
    client.post(f"/meetings/{meeting}/proposals/{proposal.id}/withdraw")
    db_session.expire_all()
    assert db_session.get(Proposal, proposal.id).state == "proposed"
    login_as(people["almaty"])
    assert client.post(f"/meetings/{meeting}/proposals/{proposal.id}/withdraw").status_code == 303
    db_session.expire_all()
    assert db_session.get(Proposal, proposal.id).state == "withdrawn"
    # Proposed again after withdrawing: the same row comes back.
    assert propose(client, login_as, people, meeting, db_session, cases["almaty"]).status_code == 303
    db_session.expire_all()
    assert db_session.get(Proposal, proposal.id).state == "proposed"


def test_accept_drops_into_the_agenda(client, login_as, people, meeting, cases, db_session):
    open_call(client, login_as, people, meeting)
    propose(client, login_as, people, meeting, db_session, cases["almaty"])
    proposal = db_session.scalars(sa.select(Proposal)).one()
    login_as(people["almaty"])
    assert client.post(f"/meetings/{meeting}/proposals/{proposal.id}/decision",
                       data={f"p{proposal.id}-decision": "accept"}).status_code == 403
    login_as(people["organiser"])
    response = client.post(f"/meetings/{meeting}/proposals/{proposal.id}/decision",
                           data={f"p{proposal.id}-decision": "accept", f"p{proposal.id}-note": "Welcome!"})
    assert response.status_code == 303
    item = db_session.scalars(sa.select(AgendaItem)).one()
    assert (item.kind, item.title, item.presenter_name, item.proposal_id) == (
        "presentation", "Electronic bus card Onay", "Dana Seitova", proposal.id)
    assert item.case_study_id == case_id(db_session, cases["almaty"])
    starts = item.starts_at.replace(tzinfo=item.starts_at.tzinfo or UTC)
    assert starts == STARTS  # the agenda was empty: the meeting's start
    # The meeting page's timetable links the presentation to its case study; the proposer sees the note.
    login_as(people["almaty"])
    html = client.get(f"/meetings/{meeting}").get_data(as_text=True)
    assert f'href="/cases/{cases["almaty"]}"' in html
    assert "09:00" in html and "Accepted" in html and "Welcome!" in html
    # The case page lists the meeting.
    html = client.get(f"/cases/{cases['almaty']}").get_data(as_text=True)
    assert "At exchange meetings" in html and f"/meetings/{meeting}" in html
    # Deciding twice is refused.
    login_as(people["organiser"])
    response = client.post(f"/meetings/{meeting}/proposals/{proposal.id}/decision",
                           data={f"p{proposal.id}-decision": "decline", f"p{proposal.id}-note": "No"})
    assert response.status_code == 400
    assert "already been decided" in response.get_data(as_text=True)
    assert actions(db_session, "meeting.proposal") == ["meeting.proposal_made", "meeting.proposal_accepted"]


def test_decline_needs_a_note_the_proposer_sees(client, login_as, people, meeting, cases, db_session):
    open_call(client, login_as, people, meeting)
    propose(client, login_as, people, meeting, db_session, cases["almaty"])
    proposal = db_session.scalars(sa.select(Proposal)).one()
    login_as(people["organiser"])
    for data, message in [({f"p{proposal.id}-decision": "decline"}, "Tell the proposer why"),
                          ({f"p{proposal.id}-decision": "maybe"}, "Choose to accept or to decline.")]:
        response = client.post(f"/meetings/{meeting}/proposals/{proposal.id}/decision", data=data)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Proposal, proposal.id).state == "proposed"
    client.post(f"/meetings/{meeting}/proposals/{proposal.id}/decision",
                data={f"p{proposal.id}-decision": "decline", f"p{proposal.id}-note": "Full programme this year."})
    db_session.expire_all()
    assert db_session.get(Proposal, proposal.id).state == "declined"
    assert db_session.scalars(sa.select(AgendaItem)).all() == []
    login_as(people["almaty"])
    html = client.get(f"/meetings/{meeting}").get_data(as_text=True)
    assert "Declined" in html and "Full programme this year." in html
    login_as(people["kostanay"])  # another akimat does not see it
    assert "Full programme this year." not in client.get(f"/meetings/{meeting}").get_data(as_text=True)


# --- agenda -------------------------------------------------------------------------------------------------


def item_data(**overrides):
    data = {"kind": "panel", "title": "Digital services in the regions", "case_study_id": "",
            "presenter_name": "", "starts_at": f"{DAY1}T11:00", "ends_at": f"{DAY1}T12:30", "location": "Hall A",
            "description": "Moderated by the organisers."}
    data.update(overrides)
    return data


def test_organiser_builds_the_timetable(client, login_as, people, meeting, cases, db_session):
    login_as(people["organiser"])
    assert client.get(f"/meetings/{meeting}/agenda/new").status_code == 200
    assert client.post(f"/meetings/{meeting}/agenda/new", data=item_data()).status_code == 303
    assert client.post(f"/meetings/{meeting}/agenda/new", data=item_data(
        kind="break", title="Coffee", starts_at=f"{DAY1}T10:30", ends_at=f"{DAY1}T11:00")).status_code == 303
    almaty = case_id(db_session, cases["almaty"])
    assert client.post(f"/meetings/{meeting}/agenda/new", data=item_data(
        kind="site_visit", title="", case_study_id=str(almaty), starts_at=f"{DAY2}T09:00",
        ends_at=f"{DAY2}T12:00", location="Bus depot")).status_code == 303
    items = db_session.scalars(sa.select(AgendaItem).order_by(AgendaItem.starts_at)).all()
    assert [i.kind for i in items] == ["break", "panel", "site_visit"]
    panel = items[1]
    # 11:00 Kazakhstan time is 06:00 UTC.
    assert panel.starts_at.replace(tzinfo=panel.starts_at.tzinfo or UTC) == datetime(NEXT_YEAR, 9, 14, 6, tzinfo=UTC)
    assert items[2].title == "Electronic bus card Onay"  # a site visit without a title takes the case's
    html = client.get(f"/meetings/{meeting}").get_data(as_text=True)
    assert html.index("Coffee") < html.index("Digital services in the regions") < html.index("Bus depot")
    assert "10:30" in html and "11:00" in html and "12:30" in html
    assert f'<time datetime="{DAY1}">' in html and f'<time datetime="{DAY2}">' in html

    # Edit and remove.
    response = client.post(f"/meetings/{meeting}/agenda/{panel.id}/edit",
                           data=item_data(title="Panel: e-akimat", starts_at=f"{DAY1}T14:00", ends_at=f"{DAY1}T15:00"))
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.get(AgendaItem, panel.id).title == "Panel: e-akimat"
    panel_id = panel.id
    assert client.post(f"/meetings/{meeting}/agenda/{panel_id}/delete").status_code == 303
    db_session.expire_all()
    assert db_session.get(AgendaItem, panel_id) is None
    assert actions(db_session, "meeting.agenda") == ["meeting.agenda_item_added"] * 3 + [
        "meeting.agenda_item_changed", "meeting.agenda_item_removed"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"starts_at": f"{NEXT_YEAR}-09-13T10:00", "ends_at": f"{NEXT_YEAR}-09-13T11:00"}, "within the meeting's days"),
    ({"starts_at": f"{DAY2}T17:00", "ends_at": f"{NEXT_YEAR}-09-16T09:00"}, "within the meeting's days"),
    ({"starts_at": f"{DAY1}T12:00", "ends_at": f"{DAY1}T11:00"}, "The end must be after the start."),
    ({"starts_at": "", "ends_at": f"{DAY1}T11:00"}, "Enter"),
    ({"starts_at": "noon"}, "Enter a date and time"),
    ({"kind": "presentation"}, "A presentation presents a case study: choose one."),
    ({"kind": "party"}, "Choose the kind of item from the list."),
    ({"title": ""}, "Give the item a title."),
    ({"kind": "presentation", "case_study_id": "999999"}, "Choose a published case study from the list."),
])
def test_bad_agenda_items_change_nothing(client, login_as, people, meeting, cases, db_session, overrides, message):
    login_as(people["organiser"])
    response = client.post(f"/meetings/{meeting}/agenda/new", data=item_data(**overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db_session.scalars(sa.select(AgendaItem)).all() == []


def test_agenda_refuses_drafts_and_other_regions_site_visits(client, login_as, people, meeting, cases, db_session):
    login_as(people["organiser"])
    draft = case_id(db_session, cases["draft"])
    response = client.post(f"/meetings/{meeting}/agenda/new", data=item_data(kind="presentation",
                                                                              case_study_id=str(draft)))
    assert response.status_code == 400
    kostanay = case_id(db_session, cases["kostanay"])
    response = client.post(f"/meetings/{meeting}/agenda/new", data=item_data(kind="site_visit",
                                                                              case_study_id=str(kostanay)))
    assert response.status_code == 400
    assert "host region's own case studies" in response.get_data(as_text=True)
    assert db_session.scalars(sa.select(AgendaItem)).all() == []


def test_print_page_is_public(client, login_as, people, meeting, cases, db_session):
    login_as(people["organiser"])
    almaty = case_id(db_session, cases["almaty"])
    client.post(f"/meetings/{meeting}/agenda/new", data=item_data(kind="presentation", case_study_id=str(almaty),
                                                                  presenter_name="Dana Seitova"))
    client.post("/logout")
    response = client.get(f"/meetings/{meeting}/agenda/print")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "agenda-print" in html and "Presenter: Dana Seitova" in html and "11:00" in html
    assert f'href="/cases/{cases["almaty"]}"' in html
    assert client.get("/meetings/999999/agenda/print").status_code == 404


# --- outcomes -----------------------------------------------------------------------------------------------


@pytest.fixture
def held(make_meeting):
    return make_meeting(state="held", host="KZ-39")


def test_outcomes_only_after_the_meeting(client, login_as, people, meeting, db_session):
    login_as(people["organiser"])
    response = client.post(f"/meetings/{meeting}/outcomes", data={"minutes": "Done."})
    assert response.status_code == 400
    assert "once the meeting has taken place" in response.get_data(as_text=True)
    assert db_session.get(Meeting, meeting).minutes == ""


def test_minutes_are_sanitised(client, login_as, people, held, db_session):
    login_as(people["organiser"])
    minutes = ("# Minutes\n\nAkims agreed to **share** data.\n\n<script>alert('x')</script>\n\n"
               "[click](javascript:alert(1)) <img src=x onerror=alert(1)>")
    assert client.post(f"/meetings/{held}/outcomes", data={"minutes": ""}).status_code == 400
    assert client.post(f"/meetings/{held}/outcomes", data={"minutes": minutes}).status_code == 303
    assert db_session.get(Meeting, held).outcomes_published_at is not None
    client.post("/logout")
    html = client.get(f"/meetings/{held}").get_data(as_text=True)
    assert "<strong>share</strong>" in html
    minutes_html = html[html.index('class="minutes"'):]
    minutes_html = minutes_html[:minutes_html.index("</div>")]
    assert "<script" not in minutes_html and 'href="javascript' not in minutes_html and "<img" not in minutes_html
    assert "&lt;script&gt;" in minutes_html  # shown as text, never run
    assert actions(db_session, "meeting.outcomes") == ["meeting.outcomes_published"]


def commit(client, held, db_session, akimat, slug, **extra):
    data = {"akimat_id": str(akimat), "case_study_id": str(case_id(db_session, slug)), "action": "pilot",
            "due_date": f"{NEXT_YEAR + 1}-06-30", "note": "Start with two bus routes."}
    data.update(extra)
    return client.post(f"/meetings/{held}/commitments", data=data)


def test_commitment_shows_on_case_and_region_and_becomes_an_adoption(client, login_as, people, held, cases,
                                                                      db_session, app):
    with app.app_context():
        kostanay = find_akimat("KZ-39").id
    login_as(people["organiser"])
    assert commit(client, held, db_session, kostanay, cases["almaty"]).status_code == 303
    commitment = db_session.scalars(sa.select(Commitment)).one()
    assert (commitment.action, commitment.due_date) == ("pilot", date(NEXT_YEAR + 1, 6, 30))
    case_page = client.get(f"/cases/{cases['almaty']}").get_data(as_text=True)
    assert "Kostanay Region akimat will pilot this practice" in case_page
    profile = client.get("/regions/KZ-39").get_data(as_text=True)
    assert "Commitments made at exchange meetings" in profile and "Electronic bus card Onay" in profile

    # An akim of another akimat may not record it; the committed akimat's akim may.
    login_as(people["almaty"])
    assert client.post(f"/meetings/{held}/commitments/{commitment.id}/adoption").status_code == 403
    login_as(people["kostanay"])
    assert client.post(f"/meetings/{held}/commitments/{commitment.id}/adoption").status_code == 303
    adoption = db_session.scalars(sa.select(Adoption)).one()
    assert (adoption.status, adoption.akimat_id, adoption.recorded_by_id) == ("piloting", kostanay,
                                                                               people["kostanay"].id)
    db_session.expire_all()
    assert db_session.get(Commitment, commitment.id).adoption_id == adoption.id
    # A second click changes nothing.
    client.post(f"/meetings/{held}/commitments/{commitment.id}/adoption")
    assert len(db_session.scalars(sa.select(Adoption)).all()) == 1
    assert actions(db_session, "meeting.commitment") == ["meeting.commitment_added", "meeting.commitment_adopted"]


def test_existing_adoption_is_linked_not_duplicated(client, login_as, people, held, cases, db_session, app):
    with app.app_context():
        from app.extensions import db

        kostanay = find_akimat("KZ-39").id
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == cases["almaty"]))
        db.session.add(Adoption(case_study=case, akimat_id=kostanay, year=2023, status="adopted", note=""))
        db.session.commit()
    login_as(people["organiser"])
    commit(client, held, db_session, kostanay, cases["almaty"])
    commitment = db_session.scalars(sa.select(Commitment)).one()
    assert client.post(f"/meetings/{held}/commitments/{commitment.id}/adoption").status_code == 303
    [adoption] = db_session.scalars(sa.select(Adoption)).all()
    assert (adoption.status, adoption.year) == ("adopted", 2023)  # the akimat's own record wins
    db_session.expire_all()
    assert db_session.get(Commitment, commitment.id).adoption_id == adoption.id


def test_bad_commitments_change_nothing(client, login_as, people, held, cases, db_session, app):
    with app.app_context():
        almaty, kostanay = find_akimat("KZ-75").id, find_akimat("KZ-39").id
    login_as(people["organiser"])
    for response, message in [
        (commit(client, held, db_session, almaty, cases["almaty"]), "cannot commit to take over its own practice"),
        (commit(client, held, db_session, kostanay, cases["draft"]), "Choose a published case study"),
        (commit(client, held, db_session, 0, cases["almaty"]), "Choose the akimat that made the commitment."),
        (commit(client, held, db_session, kostanay, cases["almaty"], action="dream"), "Choose what the akimat"),
        (commit(client, held, db_session, kostanay, cases["almaty"], due_date="2001-01-01"), "Choose a date after"),
        (commit(client, held, db_session, kostanay, cases["almaty"], due_date="soon"), "Enter a date"),
    ]:
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert db_session.scalars(sa.select(Commitment)).all() == []
    login_as(people["almaty"])
    assert commit(client, held, db_session, kostanay, cases["almaty"]).status_code == 403


def test_remove_commitment(client, login_as, people, held, cases, db_session, app):
    with app.app_context():
        kostanay = find_akimat("KZ-39").id
    login_as(people["organiser"])
    commit(client, held, db_session, kostanay, cases["almaty"])
    commitment = db_session.scalars(sa.select(Commitment)).one()
    assert client.post(f"/meetings/{held}/commitments/{commitment.id}/delete").status_code == 303
    assert db_session.scalars(sa.select(Commitment)).all() == []
    assert client.post(f"/meetings/{held}/commitments/{commitment.id}/delete").status_code == 404


def test_parallel_items_share_one_time_slot(client, login_as, people, meeting, db_session):
    login_as(people["organiser"])
    for title in ("Track A: transport", "Track B: schools"):
        assert client.post(f"/meetings/{meeting}/agenda/new", data=item_data(title=title)).status_code == 303
    html = client.get(f"/meetings/{meeting}").get_data(as_text=True)
    section = html[html.index('id="programme"'):]
    assert section.count('class="agenda-slot"') == 1
    assert section.count('class="agenda-item agenda-panel"') == 2


def test_proposer_is_emailed_the_decision(client, login_as, people, meeting, cases, db_session, outbox):
    open_call(client, login_as, people, meeting)
    propose(client, login_as, people, meeting, db_session, cases["almaty"])
    proposal = db_session.scalars(sa.select(Proposal)).one()
    login_as(people["organiser"])
    client.post(f"/meetings/{meeting}/proposals/{proposal.id}/decision",
                data={f"p{proposal.id}-decision": "decline", f"p{proposal.id}-note": "Full programme this year."})
    [message] = [m for m in outbox() if people["almaty"].email in str(m["To"])]
    assert str(message["Subject"]) == "Not accepted this time: Electronic bus card Onay"
    body = message.get_body(("plain",)).get_content()
    assert "Full programme this year." in body and f"/meetings/{meeting}#programme" in body


def test_an_overlapping_item_is_saved_with_a_warning_but_parallel_sessions_are_not(client, login_as, people,
                                                                                    meeting, db_session):
    login_as(people["organiser"])
    client.post(f"/meetings/{meeting}/agenda/new", data=item_data(title="Panel one"))
    page = client.post(f"/meetings/{meeting}/agenda/new", follow_redirects=True,
                       data=item_data(title="Parallel in B", location="Hall B")).get_data(as_text=True)
    assert "Check the times" not in page  # the same slot in another hall: parallel sessions
    page = client.post(f"/meetings/{meeting}/agenda/new", follow_redirects=True, data=item_data(
        title="Late <b>lunch</b>", starts_at=f"{DAY1}T12:00", ends_at=f"{DAY1}T13:00")).get_data(as_text=True)
    assert "Check the times: this item overlaps «Panel one», «Parallel in B»." in page
    assert db_session.scalar(sa.select(sa.func.count(AgendaItem.id))) == 3  # warned, not refused
    page = client.post(f"/meetings/{meeting}/agenda/new", follow_redirects=True, data=item_data(
        title="Same hall, same slot")).get_data(as_text=True)
    warning = page.split("Check the times: this item overlaps ", 1)[1].split("</div>", 1)[0]
    assert "«Panel one»" in warning  # the same hall at the same time is a clash
    assert "«Late &lt;b&gt;lunch&lt;/b&gt;»" in warning and "Parallel in B" not in warning


def test_meeting_descriptions_and_agenda_items_render_markdown_safely(client, login_as, people, meeting,
                                                                      db_session):
    from app.meetings.models import Meeting

    login_as(people["organiser"])
    client.post(f"/meetings/{meeting}/agenda/new", data=item_data(description="**Bring** the *pilot* data."))
    db_session.get(Meeting, meeting).description = "We meet in **Almaty**.\n\n- visits\n- <script>x()</script>"
    db_session.commit()
    html = client.get(f"/meetings/{meeting}").get_data(as_text=True)
    assert "<strong>Almaty</strong>" in html and "<li>visits</li>" in html and "**" not in html
    assert "<strong>Bring</strong> the <em>pilot</em> data." in html
    assert "<script>x()" not in html

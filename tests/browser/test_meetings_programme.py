"""A meeting's programme in a real browser: the demo organiser opens the rotation plan of a district rotation,
creates the next meeting from the plan (the meeting form, prefilled) and opens the call for presentations; the demo
akim proposes one of Almaty's published case studies; the organiser accepts it and it appears in the agenda, linked
to the case study, on the meeting page and on the printable agenda. axe-core checks every page.

Elements are found by form actions, links and field ids, not by their texts: the organiser reads Kazakh, the akim
English.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from datetime import datetime
from urllib.parse import unquote_plus

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.case_studies.models import CaseStudy
from app.cli import DEMO_PASSWORD
from app.extensions import db
from app.meetings.hosts import eligible_hosts
from app.meetings.hosts import host_code_of
from app.meetings.models import Meeting
from app.meetings.models import Proposal
from app.meetings.rotation.services import this_year
from tests.browser.helpers import PHONE
from tests.browser.helpers import assert_no_horizontal_scroll
from tests.browser.helpers import follow
from tests.browser.helpers import log_in
from tests.browser.helpers import path_of
from tests.browser.helpers import visit

pytestmark = pytest.mark.browser

ORGANISER = "organiser@demo.example.kz"
AKIM = "akim@demo.example.kz"  # Almaty city akimat
SCOPE = "KZ-59"  # North Kazakhstan Region's district rotation: no other test uses it
CASE = "almaty-onay-transit-card"


def logged_in(new_context, email: str) -> Page:
    page = new_context().new_page()
    visit(page, "/login")
    log_in(page, email, DEMO_PASSWORD)
    return page


def hold_this_years_meeting(live_app) -> tuple[str, int]:
    """Record this year's meeting of SCOPE as held, so that the plan's next slot lies ahead; return that host's
    code and the next year."""
    year = this_year()
    with live_app.app_context():
        host = eligible_hosts(SCOPE)[0]
        db.session.add(Meeting(
            uid=f"meeting-{uuid.uuid4()}@browser-tests.example.kz", scope=SCOPE, year=year, slot=1,
            title=f"District exchange {year}", host_region_id=host.region.id, host_municipality_id=host.municipality.id,
            starts_at=datetime(year, 1, 10, 4, tzinfo=UTC), ends_at=datetime(year, 1, 10, 12, tzinfo=UTC),
            state="held",
        ))
        db.session.commit()
        db.session.remove()
    return host.code, year + 1


def test_plan_to_meeting_call_proposal_and_agenda(new_context, live_app):
    held_host, year = hold_this_years_meeting(live_app)
    title = f"District exchange {year} {uuid.uuid4().hex[:6]}"

    # 1. The organiser opens the plan and creates the next meeting from it: scope, year, slot and host prefilled.
    organiser = logged_in(new_context, ORGANISER)
    visit(organiser, f"/rotation?scope={SCOPE}")
    expect(organiser.locator("table.rotation-plan tbody tr").first).to_contain_text(str(year - 1))
    create = organiser.locator(f"a.button[href^='/meetings/new?scope={SCOPE}&year={year}&slot=1']")
    expect(create).to_have_count(1)
    host_code = re.search(r"host=([^&]+)", create.get_attribute("href")).group(1)
    follow(organiser, create)
    expect(organiser.locator("#year")).to_have_value(str(year))
    host_value = organiser.locator("#host").input_value()
    assert host_value.startswith(f"{SCOPE}/") and host_value != f"{SCOPE}/{held_host}"
    organiser.locator("#title").fill(title)
    organiser.locator("#starts_at").fill(f"{year}-09-12T09:00")
    organiser.locator("#ends_at").fill(f"{year}-09-12T18:00")
    organiser.locator("#city").fill("Petropavl")
    organiser.locator("#venue").fill("District house of culture")
    organiser.locator("#capacity").fill("80")
    follow(organiser, organiser.locator("#save"))
    match = re.fullmatch(r"/meetings/(\d+)", path_of(organiser))
    assert match, path_of(organiser)
    meeting_id = int(match.group(1))
    with live_app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert (meeting.scope, meeting.year, meeting.slot) == (SCOPE, year, 1)
        assert host_code_of(meeting) == unquote_plus(host_code)
        db.session.remove()

    # 2. It opens the call for presentations from the programme page.
    follow(organiser, organiser.locator(f"a[href='/meetings/{meeting_id}/programme']"))
    follow(organiser, organiser.locator("#call-submit"))
    expect(organiser.locator(f"form[action='/meetings/{meeting_id}/call/close']")).to_have_count(1)

    # 3. The akim finds the call on the meeting page and proposes Almaty's Onay card.
    akim = logged_in(new_context, AKIM)
    visit(akim, f"/meetings/{meeting_id}")
    follow(akim, akim.locator(f"a[href='/meetings/{meeting_id}/propose']"))
    with live_app.app_context():
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == CASE))
        case_id, case_title = case.id, case.title
        db.session.remove()
    akim.locator("#case_study").select_option(str(case_id))
    akim.locator("#pitch").fill("How Almaty moved a million riders to a contactless card, and what went wrong.")
    follow(akim, akim.locator("#submit"))
    assert path_of(akim) == f"/meetings/{meeting_id}"
    expect(akim.locator(".proposal-list")).to_contain_text(case_title)

    # 4. The organiser accepts it with a note; it drops into the agenda.
    with live_app.app_context():
        proposal_id = db.session.scalar(sa.select(Proposal.id).where(Proposal.meeting_id == meeting_id))
        db.session.remove()
    visit(organiser, f"/meetings/{meeting_id}/programme")
    organiser.locator(f"#p{proposal_id}-decision-0").check()  # accept
    organiser.locator(f"#p{proposal_id}-note").fill("Welcome: 30 minutes, questions after.")
    follow(organiser, organiser.locator(f"#p{proposal_id}-submit"))
    expect(organiser.locator(f"#agenda a[href='/cases/{CASE}']")).to_have_count(1)

    # 5. Everyone sees the presentation in the agenda, linked to the case study, and in print.
    visit(akim, f"/meetings/{meeting_id}")
    expect(akim.locator(f"#programme .agenda a[href='/cases/{CASE}']")).to_have_text(case_title)
    expect(akim.locator(".proposal-list")).to_contain_text("Welcome: 30 minutes, questions after.")
    reader = new_context().new_page()
    visit(reader, f"/meetings/{meeting_id}/agenda/print")
    expect(reader.locator(f".agenda a[href='/cases/{CASE}']")).to_have_count(1)
    expect(reader.locator(".agenda-time").first).to_contain_text("09:00")
    visit(reader, f"/cases/{CASE}")
    expect(reader.locator(f"#meetings a[href='/meetings/{meeting_id}']")).to_have_count(1)

    # 6. The plan, the meeting's programme and the printable agenda fit a phone.
    phone = new_context(**PHONE).new_page()
    for path in (f"/rotation?scope={SCOPE}", "/rotation", f"/meetings/{meeting_id}",
                 f"/meetings/{meeting_id}/agenda/print"):
        visit(phone, path)
        assert_no_horizontal_scroll(phone)

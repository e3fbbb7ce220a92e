"""axe-core on every meetings and rotation page, as the role that sees it, in English and (the main pages) in
Kazakh, and no sideways scrolling of the main pages on a phone.

The meetings are made directly in the database, in a district rotation no other browser test uses (Karaganda
Region's): one planned, one open for registration with its call for presentations open, a proposal, an agenda
and a waitlist, one held with published minutes and commitments, one cancelled with its reason; and a pin and an
exclusion in that rotation, so the organisers' lists and their remove/lift buttons are on the page too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.auth.models import User
from app.auth.services import hash_password
from app.case_studies.models import CaseStudy
from app.cli import DEMO_PASSWORD
from app.extensions import db
from app.meetings.hosts import eligible_hosts
from app.meetings.models import AgendaItem
from app.meetings.models import Commitment
from app.meetings.models import Meeting
from app.meetings.models import Proposal
from app.meetings.models import Registration
from app.meetings.models import RotationExclusion
from app.meetings.models import RotationPin
from app.meetings.rotation.services import this_year
from tests.browser.helpers import PHONE
from tests.browser.helpers import assert_no_horizontal_scroll
from tests.browser.helpers import follow
from tests.browser.helpers import html_lang
from tests.browser.helpers import log_in
from tests.browser.helpers import visit
from tests.conftest import find_akimat

pytestmark = pytest.mark.browser

SCOPE = "KZ-35"  # Karaganda Region's district rotation: no other browser test uses it
DEMO_ORGANISER = "organiser@demo.example.kz"  # reads Kazakh
AKIM = "akim@demo.example.kz"  # Almaty city akimat, reads English
CASE = "almaty-onay-transit-card"  # one of Almaty's published demo case studies
REGION = "KZ-35"  # the committed akimat's region profile


@dataclass
class Scene:
    planned: int
    open: int
    held: int
    cancelled: int
    item: int
    held_year: int
    organiser: str  # an English-reading organiser made for this test


def _person(email: str, role: str, language: str) -> User:
    return User(email=email, full_name=f"Test {role} {email[:6]}", password_hash=hash_password(DEMO_PASSWORD),
                role=role, preferred_language=language)


@pytest.fixture(scope="module")
def scene(live_app) -> Scene:
    """The meetings, registrations, proposal, agenda, outcomes, pin and exclusion the pages show."""
    tag = uuid.uuid4().hex[:6]
    now = datetime.now(UTC).replace(microsecond=0)
    with live_app.app_context():
        hosts = eligible_hosts(SCOPE)
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == CASE))
        organiser = _person(f"organiser-{tag}@browser-tests.example.kz", "organiser", "en")
        people = [_person(f"p{n}-{tag}@browser-tests.example.kz", "reader", "en") for n in range(2)]
        akim = db.session.scalar(sa.select(User).where(User.email == AKIM))
        db.session.add_all([organiser, *people])
        db.session.flush()

        def meeting(n: int, state: str, starts: datetime, **values) -> Meeting:
            host = hosts[n]
            row = Meeting(
                uid=f"meeting-{uuid.uuid4()}@browser-tests.example.kz", scope=SCOPE, year=starts.year, slot=1,
                edition=n + 1, title=f"Karaganda district exchange {n + 1} {tag}", host_region_id=host.region.id,
                host_municipality_id=host.municipality.id, city="Karaganda", venue="Akimat assembly hall",
                address="Bukhar-Zhyrau Avenue 39", starts_at=starts, ends_at=starts + timedelta(hours=8),
                capacity=1, contact_name="Aigerim Nurlanova", contact_email="meetings@karaganda.example.kz",
                state=state, description="Districts present their practices to each other.", **values)
            db.session.add(row)
            db.session.flush()
            return row

        future = (now + timedelta(days=90)).replace(hour=4, minute=0, second=0)
        planned = meeting(0, "planned", future + timedelta(days=200), format="hybrid",
                          online_url="https://meet.example.kz/karaganda")
        open_ = meeting(1, "registration_open", future, registration_opens_at=now - timedelta(days=1),
                        registration_closes_at=future - timedelta(days=2), call_open=True,
                        call_closes_at=future - timedelta(days=10))
        past = datetime(now.year - 1, 6, 12, 4, tzinfo=UTC)
        held = meeting(2, "held", past, minutes="## Decisions\n\n- Share the **bus card** data model.\n",
                       outcomes_published_at=past + timedelta(days=3))
        cancelled = meeting(3, "cancelled", future + timedelta(days=30), state_reason="The hall is being repaired.")

        db.session.add_all([
            Registration(meeting_id=open_.id, user_id=people[0].id, state="registered"),
            Registration(meeting_id=open_.id, user_id=people[1].id, state="waitlisted", waitlisted_at=now),
            Registration(meeting_id=held.id, user_id=people[0].id, state="registered", attended=True),
        ])
        open_.registered_count = held.registered_count = 1
        proposal = Proposal(meeting_id=open_.id, case_study_id=case.id, proposer_id=akim.id,
                            presenter_name="Dana Seitova", pitch="A million riders on a contactless card.",
                            state="accepted", decision_note="Welcome: 30 minutes.")
        db.session.add(proposal)
        db.session.flush()
        item = AgendaItem(meeting_id=open_.id, kind="presentation", title=case.title, case_study_id=case.id,
                          proposal_id=proposal.id, presenter_name="Dana Seitova", starts_at=future,
                          ends_at=future + timedelta(minutes=30))
        db.session.add_all([
            item,
            AgendaItem(meeting_id=open_.id, kind="break", title="Coffee", starts_at=future + timedelta(minutes=30),
                       ends_at=future + timedelta(minutes=45)),
            AgendaItem(meeting_id=held.id, kind="presentation", title=case.title, case_study_id=case.id,
                       presenter_name="Dana Seitova", starts_at=past, ends_at=past + timedelta(minutes=30)),
            AgendaItem(meeting_id=held.id, kind="site_visit", title="Bus depot", location="Depot 3",
                       starts_at=past + timedelta(hours=2), ends_at=past + timedelta(hours=3)),
        ])
        committed = find_akimat("KZ-35", None)
        db.session.add(Commitment(meeting_id=held.id, akimat_id=committed.id, case_study_id=case.id,
                                  action="pilot", due_date=date(now.year + 1, 6, 30), note="Two bus lines first."))
        year = this_year()
        db.session.add_all([
            RotationPin(scope=SCOPE, year=year + 3, slot=1, host_code=hosts[4].code, reason="Anniversary of the city"),
            RotationExclusion(scope=SCOPE, host_code=hosts[5].code, until_year=year + 2, reason="Roads being rebuilt"),
        ])
        db.session.commit()
        result = Scene(planned=planned.id, open=open_.id, held=held.id, cancelled=cancelled.id, item=item.id,
                       held_year=past.year, organiser=organiser.email)
        db.session.remove()
    return result


def refused(page: Page, submit) -> None:
    """Send a form that should come back with its errors shown (and checked by axe-core)."""
    follow(page, submit, expect_status=None)
    expect(page.locator("[aria-invalid=true], .form-errors, p.error").first).to_be_visible()


def logged_in(new_context, email: str, **options) -> Page:
    page = new_context(**options).new_page()
    visit(page, "/login")
    log_in(page, email, DEMO_PASSWORD)
    return page


def test_public_meeting_pages(new_context, scene):
    reader = new_context().new_page()
    for path in ("/meetings", f"/meetings?year={scene.held_year}", "/meetings?region=KZ-35",
                 f"/meetings?scope={SCOPE}", f"/meetings?scope={SCOPE}&year={scene.held_year}&region=KZ-35",
                 f"/meetings/{scene.planned}", f"/meetings/{scene.open}", f"/meetings/{scene.held}",
                 f"/meetings/{scene.cancelled}", f"/meetings/{scene.open}/agenda/print",
                 f"/meetings/{scene.held}/agenda/print", "/rotation", f"/rotation?scope={SCOPE}",
                 f"/cases/{CASE}", "/regions/KZ-75", f"/regions/{REGION}"):
        visit(reader, path)
    expect(reader.locator(f"main a[href='/meetings/{scene.held}#outcomes']")).to_have_count(1)  # the commitment
    visit(reader, f"/meetings/{scene.cancelled}")
    expect(reader.locator("main")).to_contain_text("The hall is being repaired.")
    visit(reader, f"/meetings/{scene.held}")
    expect(reader.locator("main")).to_contain_text("Share the")
    visit(reader, f"/cases/{CASE}")
    expect(reader.locator(f"#meetings a[href='/meetings/{scene.held}']")).to_have_count(1)


def test_akim_pages(new_context, scene):
    akim = logged_in(new_context, AKIM)
    visit(akim, f"/meetings/{scene.open}")  # register button, call open, own proposal
    visit(akim, f"/meetings/{scene.open}/propose")
    # A proposal without a case study or a pitch: the form comes back with its errors.
    akim.locator("#case_study").select_option(index=0)
    akim.locator("#pitch").fill("")
    refused(akim, akim.locator("#submit"))
    visit(akim, f"/meetings/{scene.held}")  # commitments with the adoption button where allowed


def organiser_paths(scene) -> tuple[str, ...]:
    return ("/meetings", "/meetings/new", f"/meetings/new?scope={SCOPE}&year={this_year() + 1}&slot=1",
            f"/meetings/{scene.planned}", f"/meetings/{scene.planned}/edit", f"/meetings/{scene.open}",
            f"/meetings/{scene.open}/edit", f"/meetings/{scene.open}/registrations",
            f"/meetings/{scene.open}/programme", f"/meetings/{scene.open}/agenda/new",
            f"/meetings/{scene.open}/agenda/{scene.item}/edit", f"/meetings/{scene.held}",
            f"/meetings/{scene.held}/registrations", f"/meetings/{scene.held}/programme",
            f"/meetings/{scene.cancelled}", f"/meetings/{scene.cancelled}/programme", "/rotation",
            f"/rotation?scope={SCOPE}", f"/rotation?scope={SCOPE}&per_year=2")


@pytest.mark.parametrize("width", [320, 375])
def test_organiser_pages_fit_a_phone(new_context, scene, width):
    # visit() fails when a page is wider than the viewport (the rotation page's long host select once was).
    organiser = logged_in(new_context, scene.organiser, viewport={"width": width, "height": 800}, is_mobile=True,
                          has_touch=True)
    for path in organiser_paths(scene):
        visit(organiser, path)


def test_organiser_pages_in_english(new_context, scene):
    organiser = logged_in(new_context, scene.organiser)
    assert html_lang(organiser) == "en"
    for path in organiser_paths(scene):
        visit(organiser, path)

    # Forms sent back with their errors: the meeting form (ends before it starts), the agenda item form, the
    # commitment form (nothing chosen), a pin and an exclusion without a reason.
    visit(organiser, f"/meetings/{scene.planned}/edit")
    organiser.locator("#ends_at").fill("2020-01-01T09:00")
    refused(organiser, organiser.locator("#save"))
    visit(organiser, f"/meetings/{scene.open}/agenda/new")
    refused(organiser, organiser.locator("form[method=post] [type=submit]").last)
    visit(organiser, f"/meetings/{scene.held}/programme")
    refused(organiser, organiser.locator(f"form[action='/meetings/{scene.held}/commitments'] [type=submit]"))
    visit(organiser, f"/rotation?scope={SCOPE}")
    refused(organiser, organiser.locator("form[aria-labelledby=pin-form-title] [type=submit]"))
    visit(organiser, f"/rotation?scope={SCOPE}")
    refused(organiser, organiser.locator("form[aria-labelledby=exclusion-form-title] [type=submit]"))


def test_main_pages_in_kazakh(new_context, scene):
    reader = new_context(locale="kk-KZ").new_page()
    visit(reader, "/meetings")
    assert html_lang(reader) == "kk"
    for path in (f"/meetings/{scene.open}", f"/meetings/{scene.held}", f"/meetings/{scene.cancelled}",
                 f"/meetings/{scene.open}/agenda/print", f"/rotation?scope={SCOPE}", f"/cases/{CASE}",
                 f"/regions/{REGION}"):
        visit(reader, path)
    organiser = logged_in(new_context, DEMO_ORGANISER)  # reads Kazakh
    for path in ("/meetings/new", f"/meetings/{scene.open}", f"/meetings/{scene.open}/programme",
                 f"/meetings/{scene.held}/programme", f"/meetings/{scene.open}/registrations",
                 f"/rotation?scope={SCOPE}"):
        visit(organiser, path)
        assert html_lang(organiser) == "kk"


def test_main_pages_fit_a_phone(new_context, scene):
    reader = new_context(**PHONE).new_page()
    for path in ("/meetings", f"/meetings/{scene.open}", f"/meetings/{scene.held}", f"/meetings/{scene.cancelled}",
                 f"/meetings/{scene.open}/agenda/print", f"/rotation?scope={SCOPE}", f"/cases/{CASE}",
                 f"/regions/{REGION}"):
        visit(reader, path)
        assert_no_horizontal_scroll(reader)
    organiser = logged_in(new_context, scene.organiser, **PHONE)
    for path in ("/meetings/new", f"/meetings/{scene.open}", f"/meetings/{scene.open}/programme",
                 f"/meetings/{scene.held}/programme", f"/meetings/{scene.open}/registrations",
                 f"/meetings/{scene.open}/agenda/new", f"/rotation?scope={SCOPE}"):
        visit(organiser, path)
        assert_no_horizontal_scroll(organiser)

"""The reader's, the akim's and the organiser's pages walked in Kazakh and in Russian, on a phone (375 px) and on a
desktop (1280 px): every page passes axe (``visit``), fits its width without sideways scrolling, is in the
chosen language, and goes on to the Nu HTML Checker run (tests/browser/test_zz_html_checker.py).

The akim and the organiser are users of their own (made here, one per language), so that the demo accounts'
languages, which other browser tests rely on, stay as they are.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth import services as auth_services
from app.auth.models import ClaimStatus
from app.auth.models import Role
from app.auth.models import User
from app.case_studies.models import CaseStudy
from app.cli import DEMO_PASSWORD
from app.extensions import db
from app.meetings.hosts import eligible_hosts
from app.meetings.models import Meeting
from app.regions.services import find_akimat
from tests.browser.helpers import follow
from tests.browser.helpers import html_lang
from tests.browser.helpers import visit

pytestmark = pytest.mark.browser

WIDTHS = {"phone": {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True},
          "desktop": {"viewport": {"width": 1280, "height": 900}}}
LOCALES = {"kk": "kk-KZ", "ru": "ru-RU"}
SCOPE = "KZ-63"  # East Kazakhstan Region's district rotation: no other browser test uses it


@pytest.fixture(scope="module")
def walkers(live_app) -> dict:
    """{(role, language): e-mail} of an akim of Almaty and an organiser in each language; plus a published case
    and a meeting to open."""
    people = {}
    with live_app.app_context():
        for language in LOCALES:
            for role in (Role.AKIM, Role.ORGANISER):
                email = f"walk.{role}.{language}@browser-tests.example.kz"
                if auth_services.find_user_by_email(email) is None:
                    db.session.add(User(
                        email=email, full_name=f"Walk {role} {language}", preferred_language=language, role=role,
                        password_hash=auth_services.hash_password(DEMO_PASSWORD),
                        akimat=find_akimat("KZ-75") if role == Role.AKIM else None,
                        position="Deputy akim" if role == Role.AKIM else None,
                        claim_status=ClaimStatus.APPROVED if role == Role.AKIM else ClaimStatus.NONE,
                    ))
                people[(str(role), language)] = email
        db.session.commit()
        people["case"] = db.session.scalar(sa.select(CaseStudy.slug).where(CaseStudy.is_published)
                                           .order_by(CaseStudy.id).limit(1))
        host = eligible_hosts(SCOPE)[0]
        starts = (datetime.now(UTC) + timedelta(days=120)).replace(hour=4, minute=0, second=0, microsecond=0)
        meeting = Meeting(
            uid=f"walk-{uuid.uuid4()}@browser-tests.example.kz", scope=SCOPE, year=starts.year, slot=1, edition=1,
            title="Шығыс Қазақстан аудандарының тәжірибе алмасуы", host_region_id=host.region.id,
            host_municipality_id=host.municipality.id, city="Өскемен", venue="Әкімдік мәжіліс залы",
            address="Тәуелсіздік даңғылы 1", starts_at=starts, ends_at=starts + timedelta(hours=8), capacity=40,
            contact_name="Айгерім Нұрланова", contact_email="meetings@vko.example.kz", state="registration_open",
            registration_opens_at=starts - timedelta(days=150), registration_closes_at=starts - timedelta(days=2),
            description="Аудандар бір-біріне **тәжірибесін** көрсетеді.\n\n- қар тазалау\n- ауыз су")
        db.session.add(meeting)
        db.session.commit()
        people["meeting"] = meeting.id
        db.session.remove()
    return people


def _log_in(page, email: str) -> None:
    visit(page, "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    follow(page, page.locator("#submit"))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LOCALES)
def test_reader_akim_and_organiser_walks(new_context, walkers, language, width):
    case, meeting = walkers["case"], walkers["meeting"]
    reader = new_context(locale=LOCALES[language], **WIDTHS[width]).new_page()
    for path in ("/", "/cases/", f"/cases/{case}", "/search?q=%D0%B0%D0%BA%D0%B8%D0%BC%D0%B0%D1%82", "/regions/",
                 "/regions/KZ-75", "/meetings", f"/meetings/{meeting}", "/about", "/login", "/register"):
        visit(reader, path)
        assert html_lang(reader) == language, path

    akim = new_context(locale=LOCALES[language], **WIDTHS[width]).new_page()
    _log_in(akim, walkers[("akim", language)])
    for path in ("/cases/mine", "/cases/new", "/cases/following", "/account", f"/meetings/{meeting}"):
        visit(akim, path)
        assert html_lang(akim) == language, path

    organiser = new_context(locale=LOCALES[language], **WIDTHS[width]).new_page()
    _log_in(organiser, walkers[("organiser", language)])
    for path in ("/meetings", "/meetings/new", f"/meetings/{meeting}/programme", f"/meetings/{meeting}/edit",
                 "/rotation"):
        visit(organiser, path)
        assert html_lang(organiser) == language, path

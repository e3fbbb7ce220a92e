"""Case studies in a real browser: an akim writes, previews, attaches a PDF and publishes; a reader asks and the
akimat answers; another akimat records an adoption that shows on the map; script injection through every text
field; two editors saving the same case (and a save that changes nothing); the print view; a phone's width.

The live server and its demo data are shared by the whole session, so every test works on case studies it
writes itself (unique titles), except the unchanged-save test, which needs an imported demo case study. Tests 2,
3, 6 and 7 reuse the case study test 1 published when it ran (the ``published_case`` fixture), and otherwise
write one of their own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from playwright.sync_api import BrowserContext
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.auth import services as auth_services
from app.auth.models import ClaimStatus
from app.auth.models import Role
from app.auth.models import User
from app.case_studies.models import CaseStudy
from app.cli import DEMO_PASSWORD
from app.extensions import db
from app.regions.models import Region
from tests.browser.helpers import PHONE
from tests.browser.helpers import assert_no_horizontal_scroll
from tests.browser.helpers import follow
from tests.browser.helpers import html_lang
from tests.browser.helpers import log_in
from tests.browser.helpers import path_of
from tests.browser.helpers import read_outbox
from tests.browser.helpers import squash
from tests.browser.helpers import visit
from tests.conftest import find_akimat

pytestmark = pytest.mark.browser

AKIM = "akim@demo.example.kz"  # Dana Seitova, akimat of Almaty (a city of republican significance), English
DISTRICT_AKIM = "akim.district@demo.example.kz"  # Марат Оспанов, akimat of Saryagash District (Turkistan), Russian
READER = "reader@demo.example.kz"  # Alexei Petrov, English
SECOND_AKIM = "akim.second@browser-tests.example.kz"  # made by the ``second_almaty_akim`` fixture
SECOND_AKIM_NAME = "Nurlan Abenov"

SECTION_LABELS = {
    "problem": "Problem",
    "solution": "Solution",
    "challenges": "What went wrong",
    "results": "Results",
    "lessons": "Lessons for peers",
}

# Script injection attempts: HTML, event handlers, a javascript: link (Markdown), breaking out of an attribute.
PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    '"><svg onload=alert(1)>',
)
# And for the Markdown fields: an autolink and a mixed-case scheme.
MARKDOWN_PAYLOADS = (*PAYLOADS, "<javascript:alert(1)>", '[y](JaVaScRiPt:alert(1) "t")')
XSS_FILE_NAME = "<img src=x onerror=alert(1)>.pdf"

# Anything a payload could have turned into live markup: event-handler attributes, javascript: URLs, the
# payloads' elements, scripts that call alert.
INJECTED_MARKUP_JS = """() => {
  const found = [];
  const show = el => el.outerHTML.slice(0, 160);
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\s\\u0000-\\u001f]+/g, '').toLowerCase();
      if (name.startsWith('on')) found.push(`${name} on ${show(el)}`);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'data'].includes(name)
          && value.startsWith('javascript:')) found.push(`${name}=javascript: on ${show(el)}`);
    }
  }
  // The app's own scripts are files under /static/js/ (the CSP allows no other); anything else is injected.
  for (const el of document.querySelectorAll('script:not([src^="/static/js/"]), img[src="x"], iframe, object, embed'))
    found.push(show(el));
  return found;
}"""


@dataclass
class CaseText:
    """What an akim types into the case-study form."""

    title: str
    summary: str
    author_position: str
    contact: str
    sections: dict[str, str]
    author_name: str | None = None  # None: keep the name the form proposes (the akim's)
    topics: tuple[str, ...] = ("Transport", "Digital services")
    started: str = "2021"
    ended: str = "2023"


@dataclass
class Case:
    slug: str
    title: str
    attachment: str | None = None
    extra: dict = field(default_factory=dict)


_PUBLISHED: dict[str, Case] = {}  # what test 1 published, for the tests that work on "that case"


# --- helpers --------------------------------------------------------------------------------------------


def token() -> str:
    return uuid.uuid4().hex[:8]


def minimal_pdf(text: str = "Akims' Experience Exchange") -> bytes:
    """A small but complete PDF 1.4: one page with one line of text, a correct cross-reference table."""
    content = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def logged_in(new_context: Callable[..., BrowserContext], email: str, password: str = DEMO_PASSWORD, **options) -> Page:
    """A page in a new browser context, logged in as ``email`` (on the home page)."""
    page = new_context(**options).new_page()
    visit(page, "/login")
    log_in(page, email, password)
    assert path_of(page) == "/", f"logging in as {email} ended on {page.url}"
    return page


def fill_case_form(page: Page, text: CaseText) -> None:
    """Fill the case-study form (English interface) for a city-level practice of Almaty, implemented."""
    page.get_by_label("Title", exact=True).fill(text.title)
    page.get_by_label("Summary", exact=True).fill(text.summary)
    page.get_by_label("Region", exact=True).select_option(label="Almaty")
    page.get_by_label("District or city", exact=True).select_option(value="0")
    page.get_by_label("Level of the akimat", exact=True).select_option(label="City")
    if text.author_name is not None:
        page.get_by_label("Author", exact=True).fill(text.author_name)
    page.get_by_label("Author's position", exact=True).fill(text.author_position)
    page.get_by_label("Contact person", exact=True).fill(text.contact)
    for topic in text.topics:
        page.get_by_label(topic, exact=True).check()
    page.get_by_label("Language of the text", exact=True).select_option("en")
    page.get_by_label("Status", exact=True).select_option(label="Implemented")
    page.get_by_label("Started (year)", exact=True).fill(text.started)
    page.get_by_label("Ended (year)", exact=True).fill(text.ended)
    for name, value in text.sections.items():
        page.get_by_label(SECTION_LABELS[name], exact=True).fill(value)


def save_new_draft(page: Page, text: CaseText) -> Case:
    """On the new-case form: fill it in, save, and land on the draft's page."""
    fill_case_form(page, text)
    follow(page, page.get_by_role("button", name="Save", exact=True))
    assert re.fullmatch(r"/cases/[a-z0-9-]+", path_of(page)), f"saving the draft ended on {page.url}"
    expect(page.locator(".flash")).to_contain_text("Draft saved. Only your akimat can see it until you publish it.")
    expect(page.locator("h1")).to_have_text(text.title)
    return Case(slug=path_of(page).removeprefix("/cases/"), title=text.title)


def publish(page: Page) -> None:
    """On a draft's page: press Publish."""
    follow(page, page.locator(".case-actions").get_by_role("button", name="Publish", exact=True))
    expect(page.locator(".flash")).to_contain_text("Published. Everyone can now read it.")
    expect(page.locator(".notice-warning")).to_have_count(0)


def plain_case_text(label: str) -> CaseText:
    tag = token()
    return CaseText(
        title=f"{label} {tag}: one-stop digital reception for residents",
        summary="Residents file requests once, online or at a kiosk, and follow them to the answer.",
        author_position="Deputy akim of Almaty",
        contact="Digitalisation department, +7 727 000 00 00",
        sections={
            "problem": "Requests were lost between **seven** departments.",
            "solution": "One queue for every request:\n\n- a web form\n- kiosks in each district",
            "challenges": "Departments kept *paper* registers for a year.",
            "results": "Average answer time fell from 21 to 9 days.",
            "lessons": "Start with the department that gets the most requests.",
        },
    )


def upload(page: Page, path: Path | str) -> None:
    """On the case page of one's own akimat: attach the file at ``path``."""
    page.get_by_label("Add a file", exact=True).set_input_files(str(path))
    follow(page, page.locator("form.attachment-upload").get_by_role("button", name="Upload", exact=True))


def unanswered(page: Page) -> int:
    """The number in the "N unanswered questions" badge of the case page (0 when there is no badge)."""
    badge = page.locator("#questions h2 .count-badge")
    if badge.count() == 0:
        return 0
    return int(re.search(r"\d+", badge.text_content()).group())


def watch_dialogs(page: Page, dialogs: list[str]) -> Page:
    """Record (and dismiss) every alert/confirm/prompt the page opens."""

    def on_dialog(dialog) -> None:
        dialogs.append(f"{dialog.type}({dialog.message!r}) on {page.url}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page


def assert_shows_payloads(locator, payloads: tuple[str, ...] = MARKDOWN_PAYLOADS) -> None:
    """The element (one) shows every payload as visible text."""
    expect(locator).to_be_visible()
    shown = locator.inner_text()
    missing = [payload for payload in payloads if payload not in shown]
    assert not missing, f"not shown as text: {missing} in {shown!r}"


def assert_nothing_injected(page: Page, dialogs: list[str]) -> None:
    """No dialog opened so far, and the page holds no markup a payload could have produced."""
    assert not dialogs, f"a payload ran: {dialogs}"
    injected = page.evaluate(INJECTED_MARKUP_JS)
    assert not injected, f"{path_of(page)} holds injected markup: {injected}"


# --- fixtures -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def second_almaty_akim(live_app) -> str:
    """A second verified akim of the Almaty akimat (the demo data has one), English; returns the e-mail."""
    with live_app.app_context():
        if auth_services.find_user_by_email(SECOND_AKIM) is None:
            db.session.add(
                User(
                    email=SECOND_AKIM,
                    full_name=SECOND_AKIM_NAME,
                    preferred_language="en",
                    role=Role.AKIM,
                    password_hash=auth_services.hash_password(DEMO_PASSWORD),
                    akimat=find_akimat("KZ-75"),
                    position="Head of the digitalisation department",
                    claim_status=ClaimStatus.APPROVED,
                )
            )
            db.session.commit()
        db.session.remove()
    return SECOND_AKIM


@pytest.fixture(scope="module")
def region_name(live_app) -> Callable[[str, str], str]:
    """The name the app gives region ``iso`` in ``language``."""

    def _name(iso: str, language: str) -> str:
        with live_app.test_request_context(), force_locale(language):
            return db.session.scalar(sa.select(Region).where(Region.iso_code == iso)).name(language)

    return _name


@pytest.fixture
def published_case(new_context) -> Case:
    """The case study test 1 published; when that test did not run (or failed), a new one, written and
    published through the form by the Almaty akim."""
    if "main" in _PUBLISHED:
        return _PUBLISHED["main"]
    page = logged_in(new_context, AKIM)
    visit(page, "/cases/new")
    case = save_new_draft(page, plain_case_text("Shared case"))
    publish(page)
    return case


# --- 1. write, preview, save, attach, publish, read and download ---------------------------------------


def test_akim_writes_previews_attaches_and_publishes_and_anyone_downloads(new_context, tmp_path, demo_content):
    assert not demo_content["problems"], f"the demo content did not load cleanly: {demo_content['problems']}"
    text = plain_case_text("Almaty")
    text.sections["lessons"] = (
        "## Before you start\n\nTalk to the **heads of department** first.\n\n"
        "1. Map the requests\n2. Pick [the e-Gov API](https://egov.kz/)\n\n~~Buy kiosks first~~"
    )

    akim = logged_in(new_context, AKIM)
    follow(akim, akim.get_by_role("navigation", name="Main").get_by_role("link", name="My akimat"))
    follow(akim, akim.get_by_role("link", name="Write a new case study"))
    assert path_of(akim) == "/cases/new"
    expect(akim.get_by_label("Author", exact=True)).to_have_value("Dana Seitova")  # proposed from the account

    # Preview: the Markdown rendered under the form, the form still filled in, nothing stored.
    fill_case_form(akim, text)
    follow(akim, akim.get_by_role("button", name="Preview", exact=True))
    assert path_of(akim) == "/cases/new"
    preview = akim.locator("section.preview")
    expect(preview.locator("#preview-title")).to_have_text("Preview")
    expect(preview).to_contain_text("Not saved yet.")
    expect(preview.locator("h1")).to_have_text(text.title)
    expect(preview.locator("strong").filter(has_text="seven")).to_have_count(1)
    expect(preview.locator("li").filter(has_text="kiosks in each district")).to_have_count(1)
    expect(preview.locator("em").filter(has_text="paper")).to_have_count(1)
    expect(preview.locator("h4").filter(has_text="Before you start")).to_have_count(1)  # "##" is demoted
    expect(preview.locator("ol > li")).to_have_count(2)
    expect(preview.locator("s")).to_have_text("Buy kiosks first")  # ~~strikethrough~~
    link = preview.get_by_role("link", name="the e-Gov API")
    expect(link).to_have_attribute("href", "https://egov.kz/")
    expect(link).to_have_attribute("rel", re.compile(r"\bnofollow\b"))
    expect(preview).not_to_contain_text("**")
    expect(akim.get_by_label("Title", exact=True)).to_have_value(text.title)
    expect(akim.get_by_label("Transport", exact=True)).to_be_checked()
    expect(akim.get_by_label("Lessons for peers", exact=True)).to_have_value(text.sections["lessons"])
    other_tab = akim.context.new_page()
    visit(other_tab, "/cases/mine")
    expect(other_tab.locator("main")).not_to_contain_text(text.title)
    other_tab.close()

    # Save the draft: private to the akimat.
    case = save_new_draft(akim, text)
    expect(akim.locator(".notice-warning")).to_contain_text("Draft: only your akimat and administrators can see it.")
    expect(akim.locator("#lessons strong")).to_have_text("heads of department")
    anonymous = new_context().new_page()
    visit(anonymous, f"/cases/{case.slug}", expect_status=404)

    # Attach a real PDF, named in Russian and Kazakh.
    pdf = minimal_pdf()
    file_name = f"Есеп-2023 (отчёт) {token()}.pdf"
    path = tmp_path / file_name
    path.write_bytes(pdf)
    upload(akim, path)
    assert path_of(akim) == f"/cases/{case.slug}"
    expect(akim.locator(".flash")).to_contain_text(f"File “{file_name}” attached.")
    attachments = akim.locator("#attachments .attachment-list li")
    expect(attachments).to_have_count(1)
    expect(attachments.locator("a.attachment-name")).to_have_text(file_name)
    expect(attachments.locator(".attachment-meta")).to_have_text("PDF, 1 KB")

    # Publish; the case is on the list for a visitor who is not logged in.
    publish(akim)
    visit(anonymous, "/cases/")
    card = anonymous.locator("article.case-card").filter(has=anonymous.get_by_role("link", name=text.title))
    expect(card).to_have_count(1)
    expect(card).to_contain_text(text.summary)
    expect(card.locator(".tags li")).to_have_text(["Digital services", "Transport"])
    follow(anonymous, card.get_by_role("link", name=text.title))
    assert path_of(anonymous) == f"/cases/{case.slug}"
    expect(anonymous.locator("h1")).to_have_text(text.title)
    for name in SECTION_LABELS:
        expect(anonymous.locator(f"section#{name}")).to_be_visible()
    expect(anonymous.locator("form.attachment-upload")).to_have_count(0)

    # The visitor downloads the file under its original name, byte for byte.
    link = anonymous.locator("#attachments").get_by_role("link", name=file_name, exact=True)
    with anonymous.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == file_name
    assert Path(download.path()).read_bytes() == pdf
    response = anonymous.request.get(link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;"), disposition
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == file_name, disposition
    assert response.body() == pdf

    _PUBLISHED["main"] = Case(slug=case.slug, title=text.title, attachment=file_name)


# --- 2. questions and answers ---------------------------------------------------------------------------


def test_reader_asks_the_akimat_answers_and_the_unanswered_count_goes_down(
    new_context, published_case, app_text, outbox_dir
):
    case_path = f"/cases/{published_case.slug}"
    tag = token()
    first_question = f"How many kiosks did you buy, and who maintains them? ({tag})"
    second_question = f"Did residents over 60 use the web form? ({tag})"
    answer = f"Forty kiosks; the city's IT centre maintains them under a **three-year** contract. ({tag})"

    def badge_text(page: Page, count: int) -> str:
        return app_text(html_lang(page), "%(num)d unanswered question", "%(num)d unanswered questions", num=count)

    reader = logged_in(new_context, READER)
    visit(reader, case_path)
    before = unanswered(reader)
    for body in (first_question, second_question):
        reader.get_by_label("Your question", exact=True).fill(body)
        follow(reader, reader.get_by_role("button", name="Send the question", exact=True))
        assert path_of(reader) == case_path
        expect(reader.locator(".flash")).to_contain_text("Your question was sent to the akimat.")
    expect(reader.locator("#questions h2 .count-badge")).to_have_text(badge_text(reader, before + 2))
    asked = reader.locator("li.question").filter(has_text=first_question)
    expect(asked.locator(".meta")).to_contain_text("Alexei Petrov")
    expect(asked.locator(".meta .count-badge")).to_have_text("Not answered yet")

    # The akim, in a browser of their own, sees both questions and answers the first.
    akim = logged_in(new_context, AKIM)
    visit(akim, case_path)
    expect(akim.locator("#questions h2 .count-badge")).to_have_text(badge_text(akim, before + 2))
    question = akim.locator("li.question").filter(has_text=first_question)
    expect(question).to_have_count(1)
    expect(akim.locator("li.question.unanswered").filter(has_text=second_question)).to_have_count(1)
    question.get_by_label("Your answer", exact=True).fill(answer)
    follow(akim, question.get_by_role("button", name="Publish the answer", exact=True))
    expect(akim.locator(".flash")).to_contain_text("Your answer is published.")
    expect(question.locator(".answer-body strong")).to_have_text("three-year")
    expect(question.locator(".answer .meta")).to_contain_text("Answer by Dana Seitova")
    expect(akim.locator("#questions h2 .count-badge")).to_have_text(badge_text(akim, before + 1))

    # The reader sees the answer, and one question fewer waiting.
    visit(reader, case_path)
    answered = reader.locator("li.question").filter(has_text=first_question)
    expect(answered.locator(".answer-body")).to_contain_text("Forty kiosks; the city's IT centre maintains them")
    expect(answered.locator(".meta .count-badge")).to_have_count(0)
    expect(reader.locator("#questions h2 .count-badge")).to_have_text(badge_text(reader, before + 1))

    # And both were told by e-mail.
    to_akim = [m for m in read_outbox(outbox_dir, to=AKIM) if tag in m.get_content()]
    assert len(to_akim) == 2, [m["Subject"] for m in to_akim]
    to_reader = [m for m in read_outbox(outbox_dir, to=READER) if tag in m.get_content()]
    assert [m["Subject"] for m in to_reader] == ["Your question was answered"]
    assert published_case.title in squash(to_reader[0].get_content())


# --- 3. adoption by another akimat, on the map ----------------------------------------------------------


def test_another_akimat_records_an_adoption_and_the_map_marks_its_region(
    new_context, published_case, app_text, region_name
):
    case_path = f"/cases/{published_case.slug}"
    note = f"We added a Kazakh-only kiosk menu for the villages. ({token()})"

    district = logged_in(new_context, DISTRICT_AKIM)  # the Saryagash akim reads the site in their language
    visit(district, case_path)
    language = html_lang(district)
    section = district.locator("#adoptions")
    expect(section.locator(".adoption-count")).to_have_count(0)
    section.locator("details.adoption-form > summary").click()
    form = section.locator("details.adoption-form form")
    form.locator("[name='adoption-year']").fill("2024")
    form.locator("[name='adoption-status']").select_option("adopted")
    form.locator("[name='adoption-note']").fill(note)
    follow(district, form.locator("button[type='submit']"))
    assert path_of(district) == case_path
    expect(district.locator(".flash-success")).to_have_text(
        app_text(language, "Thank you: your akimat's adoption is recorded.")
    )

    turkistan = region_name("KZ-61", language)
    count = district.locator("#adoptions .adoption-count")
    expect(count.locator("strong")).to_have_text(
        app_text(language, "Adopted in %(num)d region", "Adopted in %(num)d regions", num=1)
    )
    expect(count.get_by_role("link", name=turkistan, exact=True)).to_have_attribute("href", "/regions/KZ-61")
    record = district.locator("#adoptions li.adoption")
    expect(record).to_have_count(1)
    expect(record).to_contain_text("2024")
    expect(record.locator(".adoption-note")).to_contain_text(note)

    # The case map: Turkistan Region marked as an adopter, Almaty as the author's region.
    adopted_mark = app_text(language, "Adopted the practice")
    turkistan_link = district.locator(".case-map a.map-region[data-iso='KZ-61']")
    expect(turkistan_link).to_have_count(1)
    expect(turkistan_link.locator("path")).to_have_class(re.compile(r"(^|\s)mark-adopted(\s|$)"))
    expect(turkistan_link).to_have_attribute("aria-label", re.compile(re.escape(f" — {adopted_mark}") + "$"))
    expect(district.locator(".case-map a.map-region[data-iso='KZ-75'] path")).to_have_class(
        re.compile(r"(^|\s)mark-author(\s|$)")
    )
    expect(district.locator(".case-map .map-legend")).to_contain_text(adopted_mark)

    # A visitor (English) sees the same, and Turkistan Region's page lists the practice it took over.
    visitor = new_context().new_page()
    visit(visitor, case_path)
    assert html_lang(visitor) == "en"
    expect(visitor.locator("#adoptions .adoption-count strong")).to_have_text(
        app_text("en", "Adopted in %(num)d region", "Adopted in %(num)d regions", num=1)
    )
    expect(visitor.locator(".case-map a.map-region[data-iso='KZ-61'] path")).to_have_class(
        re.compile(r"(^|\s)mark-adopted(\s|$)")
    )
    follow(visitor, visitor.locator("#adoptions .adoption-count").get_by_role("link", name="Turkistan Region"))
    assert path_of(visitor) == "/regions/KZ-61"
    taken = visitor.locator("#adopted-practices li").filter(has_text=published_case.title)
    expect(taken).to_have_count(1)
    expect(taken).to_contain_text(note)


# --- 4. script injection through every text field -------------------------------------------------------


def test_script_payloads_in_every_field_are_shown_as_text_and_never_run(new_context, tmp_path):
    tag = token()
    dialogs: list[str] = []
    one_line = " ".join(PAYLOADS)

    def markdown(name: str) -> str:
        return f"{name} {tag}\n\n" + "\n\n".join(MARKDOWN_PAYLOADS)

    text = CaseText(
        title=f"XSS {tag} {one_line}",
        summary=f"Summary {tag} {one_line}",
        author_name=f"Author {one_line}",
        author_position=f"Position {one_line}",
        contact=f"Contact {one_line}",
        sections={name: markdown(name) for name in SECTION_LABELS},
    )
    question_text = f"Question {tag}\n\n" + "\n\n".join(MARKDOWN_PAYLOADS)
    answer_text = f"Answer {tag}\n\n" + "\n\n".join(MARKDOWN_PAYLOADS)
    note_text = f"Adoption note {tag}\n\n" + "\n\n".join(MARKDOWN_PAYLOADS)

    def check_case_page(page: Page) -> None:
        expect(page.locator("h1")).to_have_text(text.title)
        assert text.title in page.title()
        expect(page.locator(".case-header .lead")).to_have_text(text.summary)
        facts = page.locator(".case-facts dl.facts")
        expect(facts).to_contain_text(f"{text.author_name}, {text.author_position}")
        expect(facts).to_contain_text(text.contact)
        for name in SECTION_LABELS:
            section = page.locator(f"section#{name}")
            assert_shows_payloads(section)
        expect(page.locator("#attachments a.attachment-name")).to_have_text(XSS_FILE_NAME)
        assert_nothing_injected(page, dialogs)

    # The akim writes the case (preview first), attaches the file and publishes.
    akim = watch_dialogs(logged_in(new_context, AKIM), dialogs)
    visit(akim, "/cases/new")
    fill_case_form(akim, text)
    follow(akim, akim.get_by_role("button", name="Preview", exact=True))
    preview = akim.locator("section.preview")
    expect(preview.locator("h1")).to_have_text(text.title)
    assert_shows_payloads(preview.locator(".case-section").first)
    assert_nothing_injected(akim, dialogs)
    case = save_new_draft(akim, text)
    assert_nothing_injected(akim, dialogs)
    path = tmp_path / XSS_FILE_NAME
    path.write_bytes(minimal_pdf())
    upload(akim, path)
    expect(akim.locator(".flash")).to_contain_text(f"File “{XSS_FILE_NAME}” attached.")
    assert_nothing_injected(akim, dialogs)
    publish(akim)
    check_case_page(akim)
    case_path = f"/cases/{case.slug}"

    # A reader asks (and follows the case: its title comes back in a message), the akim answers, and the
    # Saryagash akim records an adoption with a note.
    reader = watch_dialogs(logged_in(new_context, READER), dialogs)
    visit(reader, case_path)
    reader.get_by_label("Your question", exact=True).fill(question_text)
    follow(reader, reader.get_by_role("button", name="Send the question", exact=True))
    assert_shows_payloads(reader.locator("li.question").filter(has_text=f"Question {tag}"))
    assert_nothing_injected(reader, dialogs)
    follow(reader, reader.get_by_role("button", name="Follow this case study"))
    expect(reader.locator(".flash")).to_contain_text(text.title)
    assert_nothing_injected(reader, dialogs)
    visit(reader, "/cases/following")
    expect(reader.locator("main")).to_contain_text(text.title)
    assert_nothing_injected(reader, dialogs)

    visit(akim, case_path)
    question = akim.locator("li.question").filter(has_text=f"Question {tag}")
    question.get_by_label("Your answer", exact=True).fill(answer_text)
    follow(akim, question.get_by_role("button", name="Publish the answer", exact=True))
    assert_shows_payloads(question.locator(".answer-body"))
    assert_nothing_injected(akim, dialogs)

    district = watch_dialogs(logged_in(new_context, DISTRICT_AKIM), dialogs)
    visit(district, case_path)
    district.locator("details.adoption-form > summary").click()
    district.locator("[name='adoption-year']").fill("2024")
    district.locator("[name='adoption-note']").fill(note_text)
    follow(district, district.locator("details.adoption-form button[type='submit']"))
    assert_shows_payloads(district.locator("#adoptions .adoption-note"))
    assert_nothing_injected(district, dialogs)

    # One more save after publication, so the history has two revisions to compare.
    visit(akim, f"{case_path}/edit")
    for field_name in ("title", "author_name", "author_position", "contact"):
        expect(akim.locator(f"input[name='{field_name}']")).to_have_value(getattr(text, field_name))
    expect(akim.locator("textarea[name='summary']")).to_have_value(text.summary)
    assert_nothing_injected(akim, dialogs)
    text.summary += " (edited)"
    akim.get_by_label("Summary", exact=True).fill(text.summary)
    follow(akim, akim.get_by_role("button", name="Save", exact=True))
    expect(akim.locator(".flash")).to_contain_text("Saved.")
    visit(akim, "/cases/mine")
    expect(akim.get_by_role("link", name=text.title, exact=True)).to_have_count(1)
    assert_nothing_injected(akim, dialogs)

    # Everything a visitor can open shows the payloads as text.
    visitor = watch_dialogs(new_context().new_page(), dialogs)
    visit(visitor, case_path)
    check_case_page(visitor)
    download_href = visitor.locator("#attachments a.attachment-name").get_attribute("href")
    assert_shows_payloads(visitor.locator("li.question .question-body"))
    assert_shows_payloads(visitor.locator("li.question .answer-body"))
    assert_shows_payloads(visitor.locator("#adoptions .adoption-note"))

    visit(visitor, "/cases/")
    card = visitor.locator("article.case-card").filter(has_text=f"XSS {tag}")
    expect(card.get_by_role("link", name=text.title, exact=True)).to_have_count(1)
    expect(card).to_contain_text(text.summary)
    assert_nothing_injected(visitor, dialogs)

    visit(visitor, f"{case_path}/history")
    expect(visitor.get_by_role("link", name=f"← {text.title}")).to_have_count(1)
    expect(visitor.locator("tbody tr")).to_have_count(2)
    assert text.title in visitor.title()
    assert_nothing_injected(visitor, dialogs)
    follow(visitor, visitor.get_by_role("button", name="Show differences"))
    expect(visitor.locator("main")).to_contain_text(text.summary)
    assert_nothing_injected(visitor, dialogs)

    visit(visitor, "/")
    latest = visitor.locator("article.case-card").filter(has_text=f"XSS {tag}")
    expect(latest.get_by_role("link", name=text.title, exact=True)).to_have_count(1)
    expect(latest).to_contain_text(text.summary)
    assert_nothing_injected(visitor, dialogs)

    visit(visitor, "/regions/KZ-75")
    expect(visitor.locator("article.case-card").get_by_role("link", name=text.title, exact=True)).to_have_count(1)
    assert_nothing_injected(visitor, dialogs)

    visit(visitor, "/regions/KZ-61")
    adopted = visitor.locator("#adopted-practices li").filter(has_text=f"XSS {tag}")
    expect(adopted.get_by_role("link", name=text.title, exact=True)).to_have_count(1)
    assert_shows_payloads(adopted.locator(".adoption-note"))
    assert_nothing_injected(visitor, dialogs)

    # The file keeps its name in the download header, percent-encoded, with a harmless ASCII fallback.
    response = visitor.request.get(download_href)
    assert response.status == 200
    disposition = response.headers["content-disposition"]
    parts = re.fullmatch(r'attachment; filename="([^"\\]*)"; filename\*=UTF-8\'\'(\S+)', disposition)
    assert parts is not None, disposition
    assert unquote(parts.group(2)) == XSS_FILE_NAME, disposition
    assert not dialogs, f"a payload ran: {dialogs}"


# --- 5. two editors, one save wins, the other keeps their text ------------------------------------------


def test_second_editor_gets_the_conflict_message_and_keeps_their_text(new_context, second_almaty_akim):
    first = logged_in(new_context, AKIM)
    visit(first, "/cases/new")
    case = save_new_draft(first, plain_case_text("Conflict"))
    edit_path = f"/cases/{case.slug}/edit"
    second = logged_in(new_context, second_almaty_akim)

    visit(first, edit_path)
    visit(second, edit_path)
    first_text = "First editor: kiosks were bought through the e-procurement portal."
    second_text = "Second editor: we rented the kiosks for two years before buying them."
    first.get_by_label("Solution", exact=True).fill(first_text)
    follow(first, first.get_by_role("button", name="Save", exact=True))
    expect(first.locator(".flash")).to_contain_text("Saved.")
    expect(first.locator("section#solution")).to_contain_text(first_text)

    second.get_by_label("Solution", exact=True).fill(second_text)
    follow(second, second.get_by_role("button", name="Save", exact=True), expect_status=409)
    assert path_of(second) == edit_path
    alert = second.locator(".notice-warning[role='alert']")
    expect(alert).to_contain_text("Someone else saved this case study while you were editing it.")
    expect(alert).to_contain_text("Last saved by Dana Seitova.")
    expect(alert).to_contain_text("Nothing was lost: your text is still in the form below.")
    expect(alert.get_by_role("link", name="Current version")).to_have_attribute("href", f"/cases/{case.slug}")
    expect(second.get_by_label("Solution", exact=True)).to_have_value(second_text)
    expect(second.get_by_label("Title", exact=True)).to_have_value(case.title)
    differing = squash(alert.locator("p").filter(has_text="Fields that differ:").text_content() or "")

    # Saving again, having seen the warning, keeps the second editor's text.
    follow(second, second.get_by_role("button", name="Save", exact=True))
    assert path_of(second) == f"/cases/{case.slug}"
    expect(second.locator(".flash")).to_contain_text("Saved.")
    expect(second.locator("section#solution")).to_contain_text(second_text)

    # Only the field the two editors changed differently is listed, by its label.
    assert differing == "Fields that differ: Solution", differing


def test_saving_an_imported_case_unchanged_adds_no_revision(new_context, live_app):
    # Imported (demo) texts end their lines with LF; a browser posts every textarea with CRLF line ends.
    with live_app.app_context():
        slug = db.session.scalar(
            sa.select(CaseStudy.slug)
            .where(
                CaseStudy.akimat_id == find_akimat("KZ-75").id,
                CaseStudy.state == "published",
                CaseStudy.created_by_id.is_(None),
                CaseStudy.problem.contains("\n"),
            )
            .order_by(CaseStudy.id)
        )
        db.session.remove()
    assert slug, "no imported, published case study of the Almaty akimat in the demo content"
    akim = logged_in(new_context, AKIM)
    visit(akim, f"/cases/{slug}/history")
    revisions = akim.locator("tbody tr").count()

    visit(akim, f"/cases/{slug}/edit")
    follow(akim, akim.get_by_role("button", name="Save", exact=True))
    expect(akim.locator(".flash")).to_contain_text("Saved.")
    visit(akim, f"/cases/{slug}/history")
    expect(akim.locator("tbody tr")).to_have_count(revisions)


# --- 6. print ------------------------------------------------------------------------------------------


def test_print_shows_the_case_without_navigation_or_forms(new_context, published_case):
    # The owner's view of the page has the most forms (attachments, answers, questions, follow, manage).
    page = logged_in(new_context, AKIM)
    visit(page, f"/cases/{published_case.slug}")
    forms = page.locator("form")
    assert forms.count() >= 4, "expected the header and case-page forms"
    page.emulate_media(media="print")

    hidden = {
        "header navigation": page.get_by_role("navigation", name="Main"),
        "language switch": page.locator("form.lang-switch"),
        "skip link": page.locator("a.skip-link"),
    }
    shown = [name for name, locator in hidden.items() if locator.is_visible()]
    for index in range(forms.count()):
        form = forms.nth(index)
        if form.is_visible():
            shown.append(
                "form "
                + form.evaluate(
                    "f => (f.className ? '.' + f.className.split(' ').join('.') + ' ' : '') + f.getAttribute('action')"
                )
            )
    for selector in (".case-actions", "#follow", ".answer-form", ".question-form"):
        locator = page.locator(selector)
        shown += [selector for i in range(locator.count()) if locator.nth(i).is_visible()][:1]
    assert not shown, f"visible when printing: {shown}"

    expect(page.locator("h1")).to_have_text(published_case.title)
    expect(page.locator("h1")).to_be_visible()
    for name in SECTION_LABELS:
        expect(page.locator(f"section#{name}")).to_be_visible()
        expect(page.locator(f"section#{name} h2")).to_be_visible()
    expect(page.locator(".case-facts dl.facts")).to_be_visible()


# --- 7. phone ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["list", "case"])
def test_phone_width_has_no_horizontal_scrolling_on_case_pages(new_context, published_case, which):
    page = new_context(**PHONE).new_page()
    visit(page, "/cases/" if which == "list" else f"/cases/{published_case.slug}")
    assert_no_horizontal_scroll(page)

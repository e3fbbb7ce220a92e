"""Fuzz: every rule of ``app.url_map``, GET and POST, as each role, with hostile path, query and form values:
no answer is a 5xx (issue #11).

Path variables get integers past every column's range (2^31, 2^63, 10^30), negative and non-ASCII digits,
NUL and control characters; query strings and forms get the same in every parameter and field name the app
reads (the forms' own fields, hidden ones included, found from the form classes). The combinations are
sampled deterministically (a fixed seed) so one database's run stays well under a minute.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from icalendar import Calendar
from werkzeug.datastructures import MultiDict
from wtforms.fields.core import UnboundField

import app as app_package
from tests.helpers import field_error

HUGE = ["2147483648", "9223372036854775808", "1" + "0" * 30, "-9223372036854775809"]
CONTROL = ["a\x0bb\x1bc", "Title\r\nX-Injected: 1"]
NUL = "\x00"
# What a path variable is filled with (already URL-encoded where needed).
PATH_VALUES = [*HUGE[:3], "-1", quote("²"), quote("١٢"), "%00", "%0b%1b%0d%0a", "%ff"]
VALUES = [*HUGE, "-1", "²", "١٢", *CONTROL, "x" * 1000]
# Names the views read straight from request.args / request.form (besides the forms' fields).
QUERY_NAMES = ["page", "per_page", "year", "year_from", "year_to", "from", "years", "a", "b", "region", "topic",
               "level", "language", "status", "state", "scope", "host", "slot", "sort", "q", "next", "action", "lang"]
EXTRA_FORM_NAMES = ["lang", "next", "kind", "key", "digest", "attended", "registration_id", "version"]
ROLES = ["anonymous", "akim", "organiser", "admin"]
BUDGET = 2000  # requests per database, sampled from the full product
SEED = 11
PARAM = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def form_field_names() -> list[str]:
    """Every field name of every form class the app defines (hidden ones included), plus what views read."""
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        if module.name.endswith(("forms", "views")):
            importlib.import_module(module.name)
    names: set[str] = set(EXTRA_FORM_NAMES)
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        names.update(k for k, v in vars(form).items() if isinstance(v, UnboundField) and not k.startswith("_"))
    return sorted(names)


def rotated(names: list[str], shift: int) -> list[tuple[str, str]]:
    """Each name with a different hostile value; ``shift`` rotates which (so every name meets every value)."""
    return [(name, VALUES[(i + shift) % len(VALUES)]) for i, name in enumerate(names)]


def payloads(names: list[str], seed: int) -> tuple[list, list]:
    """Hostile query strings or form bodies over ``names``: (the ones always sent, the ones sampled).

    Always: every name with a different hostile value, rotated so each name meets each value, and a NUL as the
    second value of one parameter (the guard must see every value). Sampled: one name hostile, the others absent
    (so an early refusal of another parameter does not hide it).
    """
    always = [rotated(names, shift) for shift in range(len(VALUES))]
    always.append([(names[seed % len(names)], "1"), (names[seed % len(names)], NUL)])
    sampled = [[(name, value)] for name in names for value in ("9223372036854775808", "2147483648", "²", "-1")]
    return always, sampled


def fill(rule: str, real: dict[str, str], name: str | None = None, value: str | None = None) -> str:
    """``rule`` with its variables replaced: ``name`` by ``value``, the others by a real value."""
    def replace(match):
        var = match.group("name")
        return value if var == name else real.get(var, "1")
    return PARAM.sub(replace, rule)


@pytest.fixture
def app_overrides():
    return {"RATELIMIT_ENABLED": False}


@pytest.fixture
def world(app, make_user, make_case, make_meeting, login_as):
    """A published case, a meeting open for registration, a pending claimant, and a client per role."""
    akim = make_user("akim", akimat=("KZ-75", None))
    claimant = make_user("reader", claim=("KZ-75", None))
    users = {"akim": akim, "organiser": make_user("organiser"), "admin": make_user("admin")}
    slug = make_case("published", title="Onay bus card")
    meeting = make_meeting()
    clients = {"anonymous": app.test_client()}
    for role, user in users.items():
        clients[role] = login_as(user, target_client=app.test_client())
    real = {"slug": slug, "case_id": slug, "meeting_id": str(meeting), "user_id": str(claimant.id),
            "iso_code": "KZ-75", "topic": "transport", "token": "not-a-token", "filename": "css/site.css"}
    return clients, real


def requests_to_send(app, real: dict[str, str]) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """(role, method, path, params) to send, deterministically: every rule and method with every always-sent
    payload (the role taking turns) and every path variable with every hostile value (likewise), topped up to
    BUDGET from the rest of the product (other roles, one-parameter payloads)."""
    form_names = form_field_names()
    must, may = [], []
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    for n, rule in enumerate(rules):
        if rule.endpoint == "static":
            continue
        variables = [m.group("name") for m in PARAM.finditer(rule.rule)]
        for method in sorted(rule.methods & {"GET", "POST"}):
            always, sampled = payloads(QUERY_NAMES if method == "GET" else form_names, n)
            roles = [r for r in ROLES if not (rule.endpoint == "auth.logout" and r != "anonymous")]
            # (the logout of a role's client would leave it logged out for the rest of the run)
            path = fill(rule.rule, real)
            for k, params in enumerate(always + sampled):
                for r, role in enumerate(roles):
                    turn = k < len(always) and r == (n + k) % len(roles)
                    (must if turn else may).append((role, method, path, params))
            for var in variables:
                for k, value in enumerate(PATH_VALUES):
                    for r, role in enumerate(roles):
                        item = (role, method, fill(rule.rule, real, var, value), always[k % len(always)])
                        (must if r == (n + k) % len(roles) else may).append(item)
    rng = random.Random(SEED)
    chosen = set(rng.sample(range(len(may)), max(0, min(len(may), BUDGET - len(must)))))
    # In the product's order: a request that changes state (withdraws the case, cancels the meeting) does so
    # at the same point every run.
    return must + [item for i, item in enumerate(may) if i in chosen]


def test_no_input_gives_a_5xx(app, world, caplog):
    clients, real = world
    failures = []
    for role, method, path, params in requests_to_send(app, real):
        client = clients[role]
        caplog.clear()
        if method == "GET":
            response = client.get(path, query_string=MultiDict(params))
        else:
            response = client.post(path, data=MultiDict(params))
        response.close()  # file responses (the favicon, downloads) hold their file open until closed
        if response.status_code >= 500:
            errors = [r for r in caplog.records if r.exc_info]
            cause = repr(errors[-1].exc_info[1])[:160] if errors else ""
            failures.append(f"{response.status_code} {role} {method} {path} {params[:3]}... {cause}")
    assert not failures, f"{len(failures)} answers were 5xx:\n" + "\n".join(failures[:80])


# --- the fixes the fuzz led to, one by one ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/meetings/2147483648", "/meetings/9223372036854775808.ics",
                                  "/api/v1/meetings/" + "9" * 40, "/admin/users/2147483648", "/meetings/٣",
                                  "/meetings/%D9%A3/programme"])
def test_ids_past_any_column_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.get_json()["error"]["code"] == "not_found"


def test_the_largest_id_a_column_holds_is_an_ordinary_missing_row(client):
    assert client.get("/meetings/2147483647").status_code == 404
    assert client.get("/api/v1/meetings/2147483647").get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", ["region=KZ-75&region=%00", "topic=transport&topic=a%00b", "q=x&%00=1"])
def test_a_nul_in_any_value_of_a_parameter_is_400(client, query):
    assert client.get(f"/cases/?{query}").status_code == 400
    assert client.get(f"/api/v1/search?{query}").status_code == 400


def test_a_nul_in_a_second_form_value_is_400(client, make_user, login_as):
    login_as(make_user("organiser"))
    response = client.post("/rotation/pins", data=MultiDict([("scope", "national"), ("scope", "a\x00")]))
    assert response.status_code == 400


@pytest.mark.parametrize("page", ["9223372036854775808", "²", "-1", "1" + "0" * 30])
def test_hostile_page_numbers_show_the_first_page(client, make_user, login_as, page):
    assert client.get(f"/cases/?page={page}").status_code == 200
    login_as(make_user("admin"))
    assert client.get(f"/admin/users?page={page}").status_code == 200
    assert client.get(f"/admin/audit?page={page}").status_code == 200
    assert client.get(f"/meetings?year={page}").status_code == 200


def test_a_superscript_digit_in_a_hidden_registration_id_is_400(client, make_meeting, make_user, login_as):
    meeting = make_meeting()
    login_as(make_user("reader"))
    for value in ("²", "9223372036854775808"):
        assert client.post(f"/meetings/{meeting}/cancel", data={"registration_id": value}).status_code == 400


def test_a_huge_region_id_is_a_form_error(client, make_user, login_as):
    login_as(make_user("akim", akimat=("KZ-75", None)))
    response = client.post("/cases/new", data={"title": "Bus card", "region_id": "9223372036854775808",
                                               "municipality_id": "²"})
    assert response.status_code == 400  # the form again, with its errors
    assert field_error(response, "region_id") and field_error(response, "municipality_id")


def test_control_characters_are_removed_from_typed_titles(client, make_user, login_as, make_case, in_db):
    from app.case_studies.models import CaseStudy

    slug = make_case("draft")
    login_as(make_user("akim", akimat=("KZ-75", None)))
    with in_db() as session:
        case = session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
        version, region_id = case.version, case.region_id
    form = {"version": str(version), "title": "Bus\x0bcard\r\nOnay\x1b", "summary": "One.\r\nTwo.\x07",
            "region_id": str(region_id), "municipality_id": "0", "level": "city", "language": "en",
            "started": "2015", "status": "scaled", "topics": "transport", "author_name": "Dana\x00",
            "problem": "p", "solution": "s", "save": "Save"}
    del form["author_name"]  # a NUL is refused as a whole (400); the rest is cleaned
    response = client.post(f"/cases/{slug}/edit", data=form)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    with in_db() as session:
        case = session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
        assert (case.title, case.summary) == ("Bus card Onay", "One.\nTwo.")  # (the service makes CR LF LF)


def test_control_characters_in_stored_titles_keep_feeds_well_formed(client, make_case):
    make_case("published", title="Bus\x0bcard \x1b[31mOnay", summary="A\x0cB")
    for path in ("/feeds/cases.atom", "/feeds/regions/KZ-75.atom", "/feeds/topics/transport.atom"):
        response = client.get(path)
        assert response.status_code == 200
        root = ET.fromstring(response.data)  # raises on ill-formed XML
        titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in
                  root.findall("{http://www.w3.org/2005/Atom}entry")]
        assert titles == ["Buscard [31mOnay"]


def test_line_breaks_in_a_meeting_title_break_neither_the_ics_nor_the_confirmation(client, make_meeting, make_user,
                                                                                     login_as, outbox):
    meeting = make_meeting(title="Exchange\r\nmeeting\rBCC: x@example.kz\x0b", contact_name="Aigerim\r\nN")
    ics = client.get(f"/meetings/{meeting}.ics")
    assert ics.status_code == 200
    (event,) = Calendar.from_ical(ics.data).walk("VEVENT")
    assert str(event["summary"]) == "Exchange meeting BCC: x@example.kz "
    assert client.get("/meetings.ics").status_code == 200

    login_as(make_user("reader"))
    response = client.post(f"/meetings/{meeting}/register")
    assert response.status_code == 303
    (message,) = outbox()
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert message["Bcc"] is None

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
from urllib.parse import quote

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms.fields.core import UnboundField

import app as app_package

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
        if response.status_code >= 500:
            errors = [r for r in caplog.records if r.exc_info]
            cause = repr(errors[-1].exc_info[1])[:160] if errors else ""
            failures.append(f"{response.status_code} {role} {method} {path} {params[:3]}... {cause}")
    assert not failures, f"{len(failures)} answers were 5xx:\n" + "\n".join(failures[:80])

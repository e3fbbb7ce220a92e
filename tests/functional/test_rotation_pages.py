"""The rotation pages and API: the plan per scope, pins and exclusions per role, the audit log, every bad input,
and ``GET /api/v1/rotation/plan`` per CONTRACTS.md §2."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.meetings.models import RotationExclusion
from app.meetings.models import RotationPin
from app.meetings.rotation.services import this_year

YEAR = this_year()


def held_at(make_meeting, year: int, host: str, scope: str = "national", slot: int = 1) -> int:
    """A meeting of ``scope`` held in ``year`` by ``host``."""
    return make_meeting(state="held", scope=scope, host=host, year=year, slot=slot,
                        starts_at=datetime(year, 5, 14, 5, tzinfo=UTC))


@pytest.fixture
def organiser(make_user, login_as):
    user = make_user("organiser")
    login_as(user)
    return user


def pins(db_session) -> list[RotationPin]:
    return db_session.scalars(sa.select(RotationPin).order_by(RotationPin.id)).all()


def audit(db_session, prefix: str = "rotation.") -> list[AuditEntry]:
    return db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action.startswith(prefix))
                              .order_by(AuditEntry.id)).all()


# --- the API ------------------------------------------------------------------------------------------------


def test_api_plan_shape_and_defaults(client):
    response = client.get("/api/v1/rotation/plan")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"scope", "plan"}
    assert body["scope"] == "national"
    assert len(body["plan"]) == 10
    assert [entry["year"] for entry in body["plan"]] == list(range(YEAR, YEAR + 10))
    for entry in body["plan"]:
        assert set(entry) == {"year", "slot", "host", "reason"}
        assert entry["slot"] == 1
        assert entry["reason"] == "never hosted"
    # Nobody has hosted: ISO-code order, ten different regions.
    hosts = [entry["host"] for entry in body["plan"]]
    assert hosts == sorted(hosts) and len(set(hosts)) == 10


def test_api_history_appears_as_held_and_counts(client, make_meeting):
    held_at(make_meeting, 2022, "KZ-39")
    held_at(make_meeting, 2023, "KZ-75")
    body = client.get("/api/v1/rotation/plan?scope=national&from=2022&years=20&per_year=1").json
    plan = body["plan"]
    assert len(plan) == 20
    assert plan[0] == {"year": 2022, "slot": 1, "host": "KZ-39", "reason": "held"}
    assert plan[1] == {"year": 2023, "slot": 1, "host": "KZ-75", "reason": "held"}
    later = [entry["host"] for entry in plan[2:]]
    # The 18 regions that never hosted come first, then the oldest host (KZ-39) before KZ-75.
    assert "KZ-39" not in later[:18] and "KZ-75" not in later[:18]
    assert all(entry["reason"] == "never hosted" for entry in plan[2:20])


def test_api_plan_after_a_full_cycle_says_longest_since_last_hosted(client, make_meeting, app):
    with app.app_context():
        from app.meetings.hosts import eligible_hosts

        codes = [host.code for host in eligible_hosts("national")]
    for offset, code in enumerate(codes):
        held_at(make_meeting, 2000 + offset, code)
    plan = client.get("/api/v1/rotation/plan?from=2020&years=3").json["plan"]
    assert plan[0] == {"year": 2020, "slot": 1, "host": codes[0], "reason": "longest since last hosted"}
    assert [entry["host"] for entry in plan] == codes[:3]


def test_api_pins_scheduled_meetings_and_exclusions(client, make_meeting, app):
    with app.app_context():
        from app.extensions import db

        db.session.add(RotationPin(scope="national", year=YEAR + 2, slot=1, host_code="KZ-79", reason="Anniversary"))
        db.session.add(RotationExclusion(scope="national", host_code="KZ-10", until_year=YEAR + 3, reason="Floods"))
        db.session.commit()
    make_meeting(state="planned", host="KZ-75", year=YEAR + 1, starts_at=datetime(YEAR + 1, 6, 1, 5, tzinfo=UTC))
    plan = client.get(f"/api/v1/rotation/plan?from={YEAR}&years=5").json["plan"]
    by_year = {entry["year"]: entry for entry in plan}
    assert by_year[YEAR + 1] == {"year": YEAR + 1, "slot": 1, "host": "KZ-75", "reason": "pinned"}
    assert by_year[YEAR + 2] == {"year": YEAR + 2, "slot": 1, "host": "KZ-79", "reason": "pinned"}
    # KZ-10 would go first (never hosted, lowest code) but is excluded until YEAR+3: deferred, not skipped.
    assert all(entry["host"] != "KZ-10" for entry in plan if entry["year"] < YEAR + 3)
    assert by_year[YEAR + 3]["host"] == "KZ-10"


def test_api_short_plan_is_the_beginning_of_a_long_one(client, app):
    # A pin beyond the short window still holds its host's turn: the 5-year plan must not give that host away.
    with app.app_context():
        from app.extensions import db

        db.session.add(RotationPin(scope="national", year=YEAR + 12, slot=1, host_code="KZ-10", reason="Jubilee"))
        db.session.commit()
    short = client.get(f"/api/v1/rotation/plan?from={YEAR}&years=5").json["plan"]
    long = client.get(f"/api/v1/rotation/plan?from={YEAR}&years=20").json["plan"]
    assert short == long[:5]
    assert "KZ-10" not in [entry["host"] for entry in short]
    assert long[12] == {"year": YEAR + 12, "slot": 1, "host": "KZ-10", "reason": "pinned"}


def test_api_regional_scope_two_meetings_a_year(client, make_meeting):
    held_at(make_meeting, 2024, "Saryagash District", scope="KZ-61")
    body = client.get("/api/v1/rotation/plan?scope=KZ-61&from=2024&years=3&per_year=2").json
    assert body["scope"] == "KZ-61"
    plan = body["plan"]
    assert [(e["year"], e["slot"]) for e in plan] == [(2024, 1), (2024, 2), (2025, 1), (2025, 2), (2026, 1),
                                                      (2026, 2)]
    assert plan[0] == {"year": 2024, "slot": 1, "host": "Saryagash District", "reason": "held"}
    for year in (2024, 2025, 2026):
        first, second = (e["host"] for e in plan if e["year"] == year)
        assert first != second


@pytest.mark.parametrize("query", [
    "scope=nowhere", "scope=KZ-99", "scope=", "years=0", "years=51", "years=abc", "years=2.5", "years=",
    "per_year=3", "per_year=0", "per_year=one", "from=abc", "from=20x7", "from=99999999", "from=1200",
])
def test_api_bad_parameters_are_json_400(client, query):
    response = client.get(f"/api/v1/rotation/plan?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert response.json["error"]["code"] == "bad_request"
    assert response.json["error"]["message"]


def test_api_second_held_meeting_needs_two_a_year(client, make_meeting):
    held_at(make_meeting, 2024, "KZ-39", slot=1)
    held_at(make_meeting, 2024, "KZ-75", slot=2)
    response = client.get("/api/v1/rotation/plan?from=2024&years=2&per_year=1")
    assert response.status_code == 400
    assert "per_year=2" in response.json["error"]["message"]
    plan = client.get("/api/v1/rotation/plan?from=2024&years=2&per_year=2").json["plan"]
    assert plan[1] == {"year": 2024, "slot": 2, "host": "KZ-75", "reason": "held"}


# --- the page -----------------------------------------------------------------------------------------------


def test_page_is_public_and_read_only_for_readers(client, make_user, login_as, make_meeting):
    held_at(make_meeting, 2023, "KZ-39")
    response = client.get("/rotation")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "never hosted" in html  # the reason of each slot, in the UI language
    assert "Kostanay Region" in html  # the history, by name
    assert 'data-iso="KZ-39"' in html  # the regions map
    assert "Pin the host" not in html and "Exclude the host" not in html
    login_as(make_user("akim", akimat=("KZ-75", None)))
    html = client.get("/rotation").get_data(as_text=True)
    assert "Pin the host" not in html


def test_page_in_russian_gives_reasons_in_russian(client):
    html = client.get("/rotation", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert '<html lang="ru">' in html


def test_map_marks_held_next_and_waiting(client, make_meeting):
    held_at(make_meeting, 2024, "KZ-39")
    html = client.get("/rotation").get_data(as_text=True)
    assert 'class="map-marker mark-held"' in html
    assert 'class="map-marker mark-next"' in html
    assert "not yet hosted in this cycle" in html
    assert "hosted in 2024, this cycle" in html


def test_organiser_sees_forms_and_create_link(client, organiser):
    html = client.get("/rotation").get_data(as_text=True)
    assert "Pin the host" in html and "Exclude the host" in html
    assert f"/meetings/new?scope=national&amp;year={YEAR}&amp;slot=1&amp;host=KZ-10" in html


def test_unknown_scope_page_is_404(client):
    assert client.get("/rotation?scope=KZ-00").status_code == 404
    assert client.get("/rotation?scope=../etc").status_code == 404


def test_per_year_choice(client):
    html = client.get("/rotation?scope=KZ-61&per_year=2").get_data(as_text=True)
    assert html.count(f"<th scope=\"row\">{YEAR}</th>") == 2
    html = client.get("/rotation?scope=KZ-61&per_year=7").get_data(as_text=True)  # unknown: one a year
    assert html.count(f"<th scope=\"row\">{YEAR}</th>") == 1


@pytest.mark.parametrize("role", ["anonymous", "reader", "akim"])
def test_only_organisers_change_the_rotation(client, make_user, login_as, db_session, role):
    if role != "anonymous":
        login_as(make_user(role, **({"akimat": ("KZ-75", None)} if role == "akim" else {})))
    data = {"scope": "national", "year": str(YEAR + 1), "slot": "1", "host": "KZ-63", "reason": "Because"}
    for url, payload in [("/rotation/pins", data),
                         ("/rotation/exclusions", {"scope": "national", "host": "KZ-63", "until_year": str(YEAR + 2),
                                                   "reason": "Because"})]:
        response = client.post(url, data=payload)
        if role == "anonymous":
            assert response.status_code == 302 and response.headers["Location"].startswith("/login")
        else:
            assert response.status_code == 403
    assert pins(db_session) == []
    assert db_session.scalars(sa.select(RotationExclusion)).all() == []


def test_organiser_pins_and_removes_with_audit(client, organiser, db_session, make_user, login_as):
    response = client.post("/rotation/pins", data={"scope": "national", "year": str(YEAR + 1), "slot": "1",
                                                   "host": "KZ-63", "reason": "30 years of the region"})
    assert response.status_code == 303
    [pin] = pins(db_session)
    assert (pin.scope, pin.year, pin.slot, pin.host_code, pin.created_by_id) == ("national", YEAR + 1, 1, "KZ-63",
                                                                                 organiser.id)
    [entry] = audit(db_session)
    assert entry.action == "rotation.pin_added" and entry.actor_id == organiser.id
    assert entry.reason == "30 years of the region" and entry.created_at is not None
    assert entry.details == {"scope": "national", "year": YEAR + 1, "slot": 1, "host": "KZ-63"}
    html = client.get("/rotation").get_data(as_text=True)
    assert "pinned by the organisers" in html and "30 years of the region" in html
    login_as(make_user("admin"))
    html = client.get("/admin/audit").get_data(as_text=True)
    assert f"rotation: KZ-63 pinned to {YEAR + 1}" in html and "30 years of the region" in html
    login_as(organiser)

    # Removing needs a reason too.
    response = client.post(f"/rotation/pins/{pin.id}/delete", data={f"pin-{pin.id}-reason": " "})
    assert response.status_code == 303
    assert len(pins(db_session)) == 1
    response = client.post(f"/rotation/pins/{pin.id}/delete", data={f"pin-{pin.id}-reason": "Region declined"})
    assert response.status_code == 303
    assert pins(db_session) == []
    removed = audit(db_session)[-1]
    assert removed.action == "rotation.pin_removed" and removed.reason == "Region declined"
    assert removed.details["host"] == "KZ-63"


def test_regional_pin_uses_district_names(client, organiser, db_session):
    response = client.post("/rotation/pins", data={"scope": "KZ-61", "year": str(YEAR), "slot": "1",
                                                   "host": "Saryagash District", "reason": "New sanatorium"})
    assert response.status_code == 303
    assert pins(db_session)[0].host_code == "Saryagash District"
    plan = client.get("/api/v1/rotation/plan?scope=KZ-61&years=1").json["plan"]
    assert plan == [{"year": YEAR, "slot": 1, "host": "Saryagash District", "reason": "pinned"}]


PIN = {"scope": "national", "year": str(YEAR + 1), "slot": "1", "host": "KZ-63", "reason": "Why not"}


@pytest.mark.parametrize(("change", "message"), [
    ({"year": str(YEAR - 1)}, "pins can only be set inside the plan"),
    ({"year": str(YEAR + 10)}, "pins can only be set inside the plan"),
    ({"year": "soon"}, "pins can only be set inside the plan"),
    ({"slot": "3"}, "Choose the first or the second meeting of the year."),
    ({"host": "KZ-00"}, "this one is not a host of this rotation"),
    ({"host": ""}, "this one is not a host of this rotation"),
    ({"scope": "KZ-61", "host": "KZ-63"}, "this one is not a host of this rotation"),
    ({"reason": "   "}, "Say why this host is pinned"),
    ({"reason": "x" * 2001}, "At most 2000 characters."),
])
def test_bad_pins_change_nothing(client, organiser, db_session, change, message):
    response = client.post("/rotation/pins", data={**PIN, **change})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert pins(db_session) == [] and audit(db_session) == []


def test_two_hosts_in_one_slot_refused(client, organiser, db_session):
    assert client.post("/rotation/pins", data=PIN).status_code == 303
    response = client.post("/rotation/pins", data={**PIN, "host": "KZ-75"})
    assert response.status_code == 400
    assert "is already pinned to this meeting" in response.get_data(as_text=True)
    assert [p.host_code for p in pins(db_session)] == ["KZ-63"]
    assert len(audit(db_session)) == 1


def test_pin_on_scheduled_or_held_slot_refused(client, organiser, db_session, make_meeting):
    make_meeting(state="registration_open", host="KZ-75", year=YEAR + 1,
                 starts_at=datetime(YEAR + 1, 6, 1, 5, tzinfo=UTC))
    held_at(make_meeting, YEAR, "KZ-39")
    response = client.post("/rotation/pins", data=PIN)
    assert response.status_code == 400
    assert "already scheduled for this slot" in response.get_data(as_text=True)
    response = client.post("/rotation/pins", data={**PIN, "year": str(YEAR)})
    assert response.status_code == 400
    assert "has already been held" in response.get_data(as_text=True)
    assert pins(db_session) == []


def test_pin_of_excluded_host_refused(client, organiser, db_session):
    response = client.post("/rotation/exclusions", data={"scope": "national", "host": "KZ-63",
                                                         "until_year": str(YEAR + 3), "reason": "Floods"})
    assert response.status_code == 303
    response = client.post("/rotation/pins", data=PIN)
    assert response.status_code == 400
    assert "is excluded until" in response.get_data(as_text=True)
    assert pins(db_session) == []


def test_exclusion_and_lift_with_audit(client, organiser, db_session):
    response = client.post("/rotation/exclusions", data={"scope": "national", "host": "KZ-10",
                                                         "until_year": str(YEAR + 3), "reason": "Flood recovery"})
    assert response.status_code == 303
    [exclusion] = db_session.scalars(sa.select(RotationExclusion)).all()
    assert (exclusion.host_code, exclusion.until_year, exclusion.created_by_id) == ("KZ-10", YEAR + 3, organiser.id)
    [entry] = audit(db_session)
    assert entry.action == "rotation.exclusion_added" and entry.reason == "Flood recovery"
    plan = client.get("/api/v1/rotation/plan").json["plan"]
    assert plan[0]["host"] != "KZ-10"
    html = client.get("/rotation").get_data(as_text=True)
    assert "Deferred by an exclusion" in html

    key = f"exclusion-{exclusion.id}-reason"
    client.post(f"/rotation/exclusions/{exclusion.id}/lift", data={key: ""})
    db_session.expire_all()
    assert db_session.get(RotationExclusion, exclusion.id).lifted_at is None
    assert client.post(f"/rotation/exclusions/{exclusion.id}/lift", data={key: "Recovered"}).status_code == 303
    db_session.expire_all()
    assert db_session.get(RotationExclusion, exclusion.id).lifted_at is not None
    lifted = audit(db_session)[-1]
    assert lifted.action == "rotation.exclusion_lifted" and lifted.reason == "Recovered"
    assert client.get("/api/v1/rotation/plan").json["plan"][0]["host"] == "KZ-10"
    # Lifting twice is refused and changes nothing.
    client.post(f"/rotation/exclusions/{exclusion.id}/lift", data={key: "Again"})
    assert len(audit(db_session)) == 2


EXCLUSION = {"scope": "national", "host": "KZ-10", "until_year": str(YEAR + 2), "reason": "Elections"}


@pytest.mark.parametrize(("change", "message"), [
    ({"until_year": str(YEAR)}, "Enter a year from"),
    ({"until_year": str(YEAR + 51)}, "Enter a year from"),
    ({"until_year": "next year"}, "Enter a year from"),
    ({"host": "Atlantis"}, "this one is not a host of this rotation"),
    ({"reason": ""}, "Say why this host is excluded"),
])
def test_bad_exclusions_change_nothing(client, organiser, db_session, change, message):
    response = client.post("/rotation/exclusions", data={**EXCLUSION, **change})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db_session.scalars(sa.select(RotationExclusion)).all() == [] and audit(db_session) == []


def test_second_exclusion_of_a_host_refused(client, organiser, db_session):
    assert client.post("/rotation/exclusions", data=EXCLUSION).status_code == 303
    response = client.post("/rotation/exclusions", data={**EXCLUSION, "until_year": str(YEAR + 4)})
    assert response.status_code == 400
    assert "is already excluded until" in response.get_data(as_text=True)
    assert len(db_session.scalars(sa.select(RotationExclusion)).all()) == 1


def test_unknown_pin_or_exclusion_is_404(client, organiser):
    assert client.post("/rotation/pins/999/delete", data={"pin-999-reason": "x"}).status_code == 404
    assert client.post("/rotation/exclusions/999/lift", data={"exclusion-999-reason": "x"}).status_code == 404
    assert client.post("/rotation/pins", data={**PIN, "scope": "KZ-00"}).status_code == 404


def test_city_district_rotation(client):
    html = client.get("/rotation?scope=KZ-75").get_data(as_text=True)
    assert '<option value="KZ-75" selected>' in html
    assert "Medeu District" in html
    assert client.get("/api/v1/rotation/plan?scope=KZ-75&years=1").json["plan"][0]["reason"] == "never hosted"


def test_pins_that_break_a_rule_are_explained(client, organiser):
    for year in (YEAR + 1, YEAR + 2):
        assert client.post("/rotation/pins", data={**PIN, "year": str(year)}).status_code == 303
    html = client.get("/rotation").get_data(as_text=True)
    assert "Rules the plan cannot keep" in html
    assert f"Rule 2: East Kazakhstan Region would host two meetings in a row ({YEAR + 1} and {YEAR + 2})." in html
    plan = client.get("/api/v1/rotation/plan").json["plan"]
    assert [e["host"] for e in plan[1:3]] == ["KZ-63", "KZ-63"]  # pins are honoured

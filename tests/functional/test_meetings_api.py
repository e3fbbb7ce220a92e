"""JSON API v1, meetings (CONTRACTS.md §2): the list with filters and pages, one meeting with its agenda and
registration counts, ISO 8601 times with the Kazakhstan offset, and JSON 4xx errors for bad input."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
import sqlalchemy as sa

from app.case_studies.models import CaseStudy
from app.meetings.hosts import eligible_hosts
from app.meetings.models import AgendaItem
from app.meetings.models import Meeting
from app.meetings.models import Registration

STARTS = datetime(2027, 9, 12, 5, 0, tzinfo=UTC)
ENDS = datetime(2027, 9, 12, 13, 0, tzinfo=UTC)


def test_list_in_the_contract_shape(client, make_meeting, make_user, login_as, db_session):
    meeting_id = make_meeting(capacity=1, starts_at=STARTS, ends_at=ENDS, title="Ninth exchange meeting")
    for _i in range(3):
        login_as(make_user("reader"))
        client.post(f"/meetings/{meeting_id}/register")
    client.get("/logout")

    response = client.get("/api/v1/meetings")
    assert response.status_code == 200 and response.mimetype == "application/json"
    payload = response.json
    assert payload["total"] == 1 and payload["page"] == 1 and payload["per_page"] == 20
    (item,) = payload["results"]
    meeting = db_session.get(Meeting, meeting_id)
    assert item["id"] == meeting_id and item["uid"] == meeting.uid
    assert item["title"] == "Ninth exchange meeting"
    assert item["scope"] == "national" and item["host_region"] == "KZ-75"
    assert item["host"]["code"] == "KZ-75" and item["host"]["name_ru"] == "Алматы"
    assert item["starts_at"] == "2027-09-12T10:00:00+05:00"
    assert item["ends_at"] == "2027-09-12T18:00:00+05:00"
    assert datetime.fromisoformat(item["starts_at"]) == STARTS
    assert item["status"] == "registration_open" and item["status_reason"] is None
    assert item["registration"] == {"registered": 1, "waitlisted": 2, "capacity": 1, "attended": None, "open": True}
    assert item["url"] == f"/meetings/{meeting_id}" and item["ics_url"] == f"/meetings/{meeting_id}.ics"
    assert item["agenda_case_study_ids"] == []


def test_filters_and_pages(client, app, make_meeting):
    with app.app_context():
        district = eligible_hosts("KZ-61")[0].code
    for year in (2025, 2026, 2027):
        make_meeting(starts_at=datetime(year, 9, 12, 5, tzinfo=UTC), ends_at=datetime(year, 9, 12, 13, tzinfo=UTC),
                     state="held" if year < 2027 else "registration_open", year=year)
    make_meeting(scope="KZ-61", host=district, year=2027)

    assert client.get("/api/v1/meetings").json["total"] == 4
    assert client.get("/api/v1/meetings?scope=national").json["total"] == 3
    regional = client.get("/api/v1/meetings?scope=KZ-61").json
    assert regional["total"] == 1 and regional["results"][0]["host"]["code"] == district
    assert regional["results"][0]["host_region"] == "KZ-61"
    assert client.get("/api/v1/meetings?year=2027").json["total"] == 2
    assert [m["year"] for m in client.get("/api/v1/meetings?state=held").json["results"]] == [2025, 2026]
    assert client.get("/api/v1/meetings?scope=national&year=2026&state=held").json["total"] == 1

    first = client.get("/api/v1/meetings?per_page=3&page=1").json
    second = client.get("/api/v1/meetings?per_page=3&page=2").json
    assert first["total"] == second["total"] == 4
    assert len(first["results"]) == 3 and len(second["results"]) == 1
    assert {m["id"] for m in first["results"]}.isdisjoint({m["id"] for m in second["results"]})
    assert client.get("/api/v1/meetings?page=9").json["results"] == []


@pytest.mark.parametrize(
    "query",
    ["scope=mars", "scope=KZ-99", "state=party", "year=abc", "year=1800", "page=0", "page=-1", "per_page=0",
     "per_page=1000", "per_page=x", "page=99999999999999999999", "year=99999999999999999999"],
)
def test_bad_filters_are_json_400(client, query):
    response = client.get(f"/api/v1/meetings?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert set(response.json["error"]) == {"code", "message"}


def test_one_meeting_with_agenda_case_ids_and_reason(client, app, make_meeting, make_case, make_user, login_as):
    published = make_case("published", title="Onay bus card")
    draft = make_case("draft", title="A draft nobody may see")
    meeting_id = make_meeting(starts_at=STARTS, ends_at=ENDS, description="Two days.")
    with app.app_context():
        from app.extensions import db

        case_ids = dict(db.session.execute(sa.select(CaseStudy.slug, CaseStudy.id)).all())
        db.session.add_all([
            AgendaItem(meeting_id=meeting_id, kind="presentation", title="", case_study_id=case_ids[published],
                       presenter_name="Dana Seitova", starts_at=STARTS, ends_at=STARTS.replace(hour=6)),
            AgendaItem(meeting_id=meeting_id, kind="break", title="Lunch", starts_at=STARTS.replace(hour=7),
                       ends_at=STARTS.replace(hour=8)),
            AgendaItem(meeting_id=meeting_id, kind="presentation", title="Secret", case_study_id=case_ids[draft],
                       starts_at=STARTS.replace(hour=8), ends_at=STARTS.replace(hour=9)),
        ])
        db.session.commit()
    login_as(make_user("organiser"))
    client.post(f"/meetings/{meeting_id}/state", data={"state": "postponed", "reason": "Venue under repair"})

    response = client.get(f"/api/v1/meetings/{meeting_id}")
    assert response.status_code == 200
    payload = response.json
    assert payload["status"] == "postponed" and payload["status_reason"] == "Venue under repair"
    assert payload["description"] == "Two days."
    assert payload["contact"] == {"name": "Aigerim Nurlanova", "email": "meetings@almaty.example.kz", "phone": None}
    agenda = payload["agenda"]
    assert [item["kind"] for item in agenda] == ["presentation", "break", "presentation"]
    assert agenda[0] == {"kind": "presentation", "title": "Onay bus card", "starts_at": "2027-09-12T10:00:00+05:00",
                         "ends_at": "2027-09-12T11:00:00+05:00", "presenter": "Dana Seitova", "location": None,
                         "case_study_id": published}
    assert agenda[2]["case_study_id"] is None  # a draft's id never leaks
    assert client.get("/api/v1/meetings").json["results"][0]["agenda_case_study_ids"] == [published]


def test_unknown_meeting_is_json_404(client):
    for path in ("/api/v1/meetings/999999", "/api/v1/meetings/abc"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"


def test_counts_leave_out_cancelled_registrations(client, make_meeting, make_user, login_as, db_session):
    meeting_id = make_meeting(capacity=5)
    user = make_user("reader")
    login_as(user)
    client.post(f"/meetings/{meeting_id}/register")
    client.post(f"/meetings/{meeting_id}/cancel")
    assert db_session.scalar(sa.select(Registration.state)) == "cancelled"
    registration = client.get(f"/api/v1/meetings/{meeting_id}").json["registration"]
    assert registration == {"registered": 0, "waitlisted": 0, "capacity": 5, "attended": None, "open": True}

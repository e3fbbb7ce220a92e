"""``flask seed-demo`` loads the demo meetings: a national rotation with held meetings (agendas, minutes,
commitments), the next meeting open for registration with its call open, and Turkistan Region's district rotation.
Running it twice changes nothing."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import sqlalchemy as sa

from app.meetings.models import AgendaItem
from app.meetings.models import Commitment
from app.meetings.models import Meeting
from app.meetings.models import Proposal


def snapshot(db_session) -> tuple:
    return tuple(db_session.scalar(sa.select(sa.func.count()).select_from(model))
                 for model in (Meeting, AgendaItem, Commitment, Proposal))


def test_seed_demo_meetings_idempotent(app, runner, db_session, client):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Demo meetings:" in result.output
    assert "demo " not in result.output, result.output  # no demo meeting, item or commitment was skipped
    first = snapshot(db_session)
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert "Demo meetings: 0 new." in again.output
    assert snapshot(db_session) == first

    meetings = db_session.scalars(sa.select(Meeting).order_by(Meeting.scope, Meeting.year)).all()
    national = [m for m in meetings if m.scope == "national"]
    regional = [m for m in meetings if m.scope == "KZ-61"]
    held = [m for m in national if m.state == "held"]
    assert len(held) >= 4 and all(m.minutes and m.agenda_items for m in held)
    assert len({m.host_region_id for m in held}) == len(held)  # a different region each year
    assert sum(len(m.commitments) for m in held) >= 4
    assert any(c.adoption_id for m in held for c in m.commitments)
    # Their progress: statuses from dated updates, some overdue, the complete one adopted.
    pledged = [c for m in held for c in m.commitments]
    assert {"limited", "substantial", "complete"} <= {c.status for c in pledged}
    assert all(c.status == c.updates[0].status for c in pledged if c.updates)
    assert any(c.status == "complete" and c.adoption_id for c in pledged)
    tracker = client.get("/commitments").get_data(as_text=True)
    assert tracker.count('class="status progress-overdue"') >= 3  # the count and at least two overdue rows
    [upcoming] = [m for m in national if m.state == "registration_open"]
    assert upcoming.call_open and upcoming.year == datetime.now(UTC).year + 1
    assert [p.state for p in upcoming.proposals] == ["proposed"]
    assert {m.state for m in regional} == {"held", "planned"}
    assert all(m.host_municipality_id for m in regional)

    # The rotation plan agrees: the held meetings appear as held, the next meeting fills its slot.
    plan = client.get(f"/api/v1/rotation/plan?from=2022&years={upcoming.year - 2021}").json["plan"]
    assert [e["reason"] for e in plan[: len(held)]] == ["held"] * len(held)
    assert plan[-1]["reason"] == "pinned" and plan[-1]["year"] == upcoming.year
    assert [e["host"] for e in plan].count(plan[-1]["host"]) == 1
    regional_plan = client.get(f"/api/v1/rotation/plan?scope=KZ-61&from=2025&years={upcoming.year - 2024}")
    assert [e["reason"] for e in regional_plan.json["plan"]][-1] == "pinned"

    # Pages render with the demo content.
    assert client.get("/rotation").status_code == 200
    assert client.get("/rotation?scope=KZ-61").status_code == 200
    for meeting in meetings:
        assert client.get(f"/meetings/{meeting.id}").status_code == 200
        assert client.get(f"/meetings/{meeting.id}/agenda/print").status_code == 200
    case_page = client.get("/cases/pavlodar-peoples-budget").get_data(as_text=True)
    assert "At exchange meetings" in case_page

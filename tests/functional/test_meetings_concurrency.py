"""Capacity holds under concurrency: fifty people register at the same instant for ten seats, through the real
views, on the real database (SQLite and PostgreSQL), each request in a thread of its own."""

from __future__ import annotations

import sqlalchemy as sa

from app.meetings.models import Meeting
from app.meetings.models import Registration
from tests.helpers import simultaneously


def _logged_in_clients(app, make_user, login_as, n: int) -> list:
    clients = []
    for _i in range(n):
        client = app.test_client()
        login_as(make_user("reader"), target_client=client)
        clients.append(client)
    return clients


def _figures(db_session, meeting_id: int) -> dict:
    states = dict(db_session.execute(
        sa.select(Registration.state, sa.func.count(Registration.id))
        .where(Registration.meeting_id == meeting_id).group_by(Registration.state)
    ).all())
    meeting = db_session.get(Meeting, meeting_id)
    db_session.refresh(meeting)
    return {"registered": states.get("registered", 0), "waitlisted": states.get("waitlisted", 0),
            "cancelled": states.get("cancelled", 0), "registered_count": meeting.registered_count}


def test_fifty_simultaneous_registrations_for_ten_seats(app, backend, make_user, make_meeting, login_as,
                                                          db_session):
    meeting_id = make_meeting(capacity=10)
    clients = _logged_in_clients(app, make_user, login_as, 50)

    statuses, errors = simultaneously(clients, lambda c: c.post(f"/meetings/{meeting_id}/register"))

    assert not errors, errors
    figures = _figures(db_session, meeting_id)
    print(f"\n[{backend}] 50 simultaneous registrations for 10 seats: {figures['registered']} registered, "
          f"{figures['waitlisted']} waitlisted (meeting.registered_count = {figures['registered_count']}); "
          f"HTTP statuses: {sorted(set(statuses))}")
    assert statuses == [303] * 50
    assert figures == {"registered": 10, "waitlisted": 40, "cancelled": 0, "registered_count": 10}
    # The waitlist is an order: forty distinct places, no ties without a tie-break.
    places = db_session.scalars(
        sa.select(Registration.id).where(Registration.meeting_id == meeting_id, Registration.state == "waitlisted")
        .order_by(Registration.waitlisted_at, Registration.id)
    ).all()
    assert len(set(places)) == 40


def test_simultaneous_cancellations_promote_each_waiting_person_once(app, backend, make_user, make_meeting,
                                                                      login_as, db_session):
    """Ten seat holders cancel at once while fifteen wait: exactly the first ten in line get the seats."""
    meeting_id = make_meeting(capacity=10)
    clients = _logged_in_clients(app, make_user, login_as, 25)
    for client in clients:  # one after the other: the order of the waitlist is known
        assert client.post(f"/meetings/{meeting_id}/register").status_code == 303
    first_in_line = db_session.scalars(
        sa.select(Registration.user_id).where(Registration.meeting_id == meeting_id,
                                              Registration.state == "waitlisted")
        .order_by(Registration.waitlisted_at, Registration.id).limit(10)
    ).all()

    statuses, errors = simultaneously(clients[:10], lambda c: c.post(f"/meetings/{meeting_id}/cancel"))

    assert not errors, errors
    assert statuses == [303] * 10
    figures = _figures(db_session, meeting_id)
    print(f"\n[{backend}] 10 simultaneous cancellations with 15 waiting: {figures['registered']} registered, "
          f"{figures['waitlisted']} waitlisted, {figures['cancelled']} cancelled")
    assert figures == {"registered": 10, "waitlisted": 5, "cancelled": 10, "registered_count": 10}
    seated = set(db_session.scalars(
        sa.select(Registration.user_id).where(Registration.meeting_id == meeting_id,
                                              Registration.state == "registered")
    ).all())
    assert seated == set(first_in_line)


def test_one_person_registering_again_from_two_tabs_at_once_takes_one_seat(app, backend, make_user,
                                                                             make_meeting, login_as, db_session):
    """Register, cancel, then register again from four tabs at the same instant, ten times over: the one row is
    registered once, and the seat count always equals the registered rows (it once drifted on PostgreSQL)."""
    meeting_id = make_meeting(capacity=10)
    user = make_user("reader")
    tabs = [login_as(user, target_client=app.test_client()) for _ in range(4)]
    for _round in range(10):
        statuses, errors = simultaneously(tabs, lambda c: c.post(f"/meetings/{meeting_id}/register"))
        assert not errors, errors
        assert sorted(statuses)[0] == 303 and all(s in (303, 400) for s in statuses), statuses
        figures = _figures(db_session, meeting_id)
        assert figures["registered"] == 1 and figures["registered_count"] == 1, figures
        statuses, errors = simultaneously(tabs, lambda c: c.post(f"/meetings/{meeting_id}/cancel"))
        assert not errors, errors
        figures = _figures(db_session, meeting_id)
        assert figures == {"registered": 0, "waitlisted": 0, "cancelled": 1, "registered_count": 0}, figures
    print(f"\n[{backend}] 10 rounds of one person re-registering from 4 tabs: counts always equal rows")

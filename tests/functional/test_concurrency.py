"""Concurrent writers: no "database is locked" on SQLite (BEGIN IMMEDIATE + busy timeout), none lost."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from app.auth.models import User


def test_simultaneous_registrations_all_succeed(app, db_session):
    """Twenty people register at the same instant (a read, then a write, in each request)."""
    n = 20
    barrier = threading.Barrier(n)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def register(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            response = client.post(
                "/register",
                data={"full_name": f"Person {i}", "email": f"person{i}@example.kz", "password": "four words of my own",
                      "confirm": "four words of my own", "preferred_language": "ru", "akimat": "0"},
            )
            statuses.append(response.status_code)
        except BaseException as exc:  # collected and reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert statuses == [302] * n
    assert db_session.scalar(sa.select(sa.func.count(User.id))) == n


def test_same_email_twice_at_once_gives_one_account(app, db_session):
    """Two registrations of one address race; exactly one account results and nothing crashes."""
    n = 6
    barrier = threading.Barrier(n)
    statuses: list[int] = []

    def register() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/register",
            data={"full_name": "Twin", "email": "twin@example.kz", "password": "four words of my own",
                  "confirm": "four words of my own", "preferred_language": "en", "akimat": "0"},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=register) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * (n - 1) + [302], statuses
    assert db_session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "twin@example.kz")) == 1


def test_eight_akims_saving_the_same_title_at_once_all_get_a_case_of_their_own(app, backend, db_session,
                                                                                  make_user, login_as):
    """Each save looks for a free slug and inserts; when another save took it meanwhile, the unique constraint
    refuses the insert (on PostgreSQL: a 500 once) and the next free slug is taken."""
    from app.case_studies.models import CaseStudy
    from tests.functional.test_case_studies import form_data
    from tests.helpers import simultaneously

    n = 8
    clients = [login_as(make_user("akim", akimat=("KZ-75", None)), target_client=app.test_client())
               for _ in range(n)]
    data = form_data(db_session, title="Snow clearing by district")
    statuses, errors = simultaneously(clients, lambda client: client.post("/cases/new", data=data))
    assert not errors, errors
    assert statuses == [302] * n, statuses
    slugs = db_session.scalars(sa.select(CaseStudy.slug).where(CaseStudy.title == "Snow clearing by district")).all()
    assert len(set(slugs)) == n
    print(f"\n[{backend}] {n} simultaneous saves of one title: {sorted(slugs)}")

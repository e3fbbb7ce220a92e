"""Command-line commands: seed-demo, users create-admin, regions sync."""

from __future__ import annotations

import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.auth.models import User
from app.cli import DEMO_ACCOUNTS
from app.cli import DEMO_PASSWORD
from app.regions.models import Akimat
from app.regions.models import Region


def _snapshot(db_session):
    users = db_session.execute(sa.select(User.email, User.role, User.password_hash).order_by(User.email)).all()
    return users, db_session.scalar(sa.select(sa.func.count(Akimat.id)))


def test_seed_demo_creates_one_account_per_role_and_is_idempotent(app, runner, db_session):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD in result.output
    for email, *_rest in DEMO_ACCOUNTS:
        assert email in result.output
    roles = set(db_session.scalars(sa.select(User.role)))
    assert roles == {"reader", "akim", "organiser", "admin"}
    before = _snapshot(db_session)
    db_session.remove()

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert "already there" in again.output
    assert _snapshot(db_session) == before


def test_demo_accounts_can_log_in(app, runner, client):
    runner.invoke(args=["seed-demo"])
    response = client.post("/login", data={"email": "akim@demo.example.kz", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200


def test_seed_demo_refuses_in_production(app, runner, db_session):
    app.config["APP_ENV"] = "production"
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "production" in result.output
    assert db_session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_create_admin(app, runner, db_session):
    result = runner.invoke(
        args=["users", "create-admin", "--email", "Chief@Example.kz", "--name", "Chief Admin",
              "--password", "a long and unusual passphrase"]
    )
    assert result.exit_code == 0, result.output
    user = db_session.scalar(sa.select(User).where(User.email == "chief@example.kz"))
    assert user.role == "admin"
    assert db_session.scalar(sa.select(AuditEntry).where(AuditEntry.target_id == user.id)).action == "user.role_changed"


def test_create_admin_refuses_weak_password_and_duplicate(app, runner, db_session):
    weak = runner.invoke(args=["users", "create-admin", "--email", "a@example.kz", "--name", "A", "--password",
                               "password1234"])
    assert weak.exit_code != 0
    assert db_session.scalar(sa.select(sa.func.count(User.id))) == 0
    ok = runner.invoke(args=["users", "create-admin", "--email", "a@example.kz", "--name", "A", "--password",
                             "a long and unusual passphrase"])
    assert ok.exit_code == 0, ok.output
    duplicate = runner.invoke(args=["users", "create-admin", "--email", "A@example.kz", "--name", "A",
                                    "--password", "a long and unusual passphrase"])
    assert duplicate.exit_code != 0
    assert "already exists" in duplicate.output
    assert db_session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_regions_sync_is_idempotent_and_repairs(app, runner, db_session):
    region = db_session.scalar(sa.select(Region).where(Region.iso_code == "KZ-75"))
    region.name_en = "Alma-Ata"
    db_session.commit()
    result = runner.invoke(args=["regions", "sync"])
    assert result.exit_code == 0, result.output
    assert "'region': 0" in result.output
    db_session.expire_all()
    assert db_session.scalar(sa.select(Region.name_en).where(Region.iso_code == "KZ-75")) == "Almaty"
    assert db_session.scalar(sa.select(sa.func.count(Region.id))) == 20
    assert db_session.scalar(sa.select(sa.func.count(Akimat.id))) == 247

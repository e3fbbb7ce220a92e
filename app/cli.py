"""Command-line commands: ``flask seed-demo``, ``flask users create-admin``, ``flask regions sync``."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask.cli import AppGroup
from flask.cli import with_appcontext
from flask_babel import force_locale

from app.auth import services as auth_services
from app.auth.models import ClaimStatus
from app.auth.models import Role
from app.auth.models import User
from app.case_studies.commands import seed_demo_content
from app.errors import ValidationFailed
from app.extensions import db
from app.meetings.demo import seed_demo_meetings
from app.regions.services import find_akimat
from app.regions.services import sync_reference_data

DEMO_PASSWORD = "steppe-exchange-2026"

# (e-mail, name, language, role, region ISO, municipality name_en or None, position, claim pending?)
DEMO_ACCOUNTS = [
    ("admin@demo.example.kz", "Айгерім Сәрсенова", "ru", Role.ADMIN, None, None, None, False),
    ("organiser@demo.example.kz", "Ерлан Жақсыбеков", "kk", Role.ORGANISER, None, None, None, False),
    ("akim@demo.example.kz", "Dana Seitova", "en", Role.AKIM, "KZ-75", None, "Deputy akim of Almaty", False),
    ("akim.district@demo.example.kz", "Марат Оспанов", "ru", Role.AKIM, "KZ-61", "Saryagash District",
     "Аким Сарыагашского района", False),
    ("reader@demo.example.kz", "Alexei Petrov", "en", Role.READER, None, None, None, False),
    ("pending@demo.example.kz", "Гүлнар Әбдірахманова", "kk", Role.READER, "KZ-39", None,
     "Цифрландыру бөлімінің басшысы", True),
]


def seed_demo_accounts() -> list[tuple[str, str, bool]]:
    """Create the demo accounts that do not exist yet. Idempotent.

    :return: (e-mail, role, created) for every demo account.
    """
    result = []
    for email, name, lang, role, iso, municipality, position, pending in DEMO_ACCOUNTS:
        user = auth_services.find_user_by_email(email)
        if user is not None:
            result.append((email, user.role, False))
            continue
        akimat = find_akimat(iso, municipality) if iso else None
        user = User(email=email, full_name=name, preferred_language=lang, role=role,
                    password_hash=auth_services.hash_password(DEMO_PASSWORD))
        if pending:
            user.claimed_akimat, user.claimed_position = akimat, position
            user.claim_status = ClaimStatus.PENDING
            user.claimed_at = auth_services.utcnow()
        elif akimat is not None:
            user.akimat, user.position, user.claim_status = akimat, position, ClaimStatus.APPROVED
        db.session.add(user)
        db.session.flush()
        result.append((email, role, True))
    return result


def _require_schema() -> None:
    """Stop with a clear message when the database has not been migrated yet."""
    if not sa.inspect(db.engine).has_table("region"):
        raise click.ClickException("The database has no tables yet: run `flask --app wsgi db upgrade` first.")


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Load the regions and the demo content (idempotent; refused in production)."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException(
            "seed-demo refuses to run with APP_ENV=production: a production instance has no demo accounts. "
            "Use `flask users create-admin`."
        )
    _require_schema()
    counts = sync_reference_data(db.session.connection())
    accounts = seed_demo_accounts()
    content = seed_demo_content()
    meetings = seed_demo_meetings()
    db.session.commit()
    click.echo(f"Regions: {counts['region']} new, municipalities: {counts['municipality']} new, "
               f"akimats: {counts['akimat']} new.")
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for email, role, created in accounts:
        click.echo(f"  {role:<10} {email}{'' if created else '  (already there)'}")
    report = content["report"]
    if report is not None:
        click.echo(f"Demo case studies: {report.summary()}")
    click.echo(f"Demo questions: {content['questions']} new, answers: {content['answers']} new.")
    click.echo(f"Demo meetings: {meetings['meetings']} new.")
    for problem in meetings["problems"]:
        click.echo(f"  {problem}", err=True)
    for problem in content["problems"]:
        click.echo(f"  {problem}", err=True)


regions_cli = AppGroup("regions", help="Reference data of regions, districts and akimats.")


@regions_cli.command("sync")
def regions_sync():
    """Insert or update the regions and districts from app/regions/data (idempotent)."""
    _require_schema()
    counts = sync_reference_data(db.session.connection())
    db.session.commit()
    click.echo(f"Inserted: {counts}")


users_cli = AppGroup("users", help="Account administration.")


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", "full_name", prompt="Full name")
@click.password_option(help="At least 12 characters; asked for when not given.")
def create_admin(email: str, full_name: str, password: str):
    """Create an administrator account (the way to the first admin in production)."""
    try:
        user = auth_services.create_admin(email, full_name, password)
    except ValidationFailed as error:
        db.session.rollback()
        with force_locale("en"):  # the command's help and output are in English
            message = "; ".join(str(text) for _field, text in error.errors)
        raise click.ClickException(message) from None
    db.session.commit()
    click.echo(f"Administrator {user.email} created.")


def init_app(app: Flask) -> None:
    """Register the commands on ``app.cli``."""
    app.cli.add_command(seed_demo)
    app.cli.add_command(regions_cli)
    app.cli.add_command(users_cli)

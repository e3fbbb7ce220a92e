"""``flask cases import|export|withdraw|publish`` (CONTRACTS.md §4) and the demo content for ``seed-demo``.

Every command commits once, at the end, and rolls back on any failure. Output is plain English.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from app.auth.models import Role
from app.auth.models import User
from app.case_studies import interchange
from app.case_studies import services
from app.case_studies.models import Answer
from app.case_studies.models import CaseStudy
from app.case_studies.models import Question
from app.errors import ValidationFailed
from app.extensions import db

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_CASES = DEMO_DIR / "case_studies.jsonl"
DEMO_QUESTIONS = DEMO_DIR / "questions.json"
DEMO_EMAIL_DOMAIN = "@demo.example.kz"


def _messages(error: ValidationFailed) -> str:
    with force_locale("en"):
        return "; ".join(str(message) for _field, message in error.errors)


def _require_schema() -> None:
    if not sa.inspect(db.engine).has_table("case_study"):
        raise click.ClickException("The database has no tables yet: run `flask --app wsgi db upgrade` first.")


def _get_case(case_id: str) -> CaseStudy:
    case = services.get_by_slug(case_id) if interchange.ID_PATTERN.fullmatch(case_id) else None
    if case is None:
        raise click.ClickException(f"No case study has the id {case_id!r}.")
    return case


def seed_demo_content(cases_path: Path | None = None, questions_path: Path | None = None) -> dict:
    """Import the demo case studies and create their question threads. Idempotent. Adds and flushes,
    never commits (``seed-demo`` commits).

    Run it after the demo accounts exist: questions are asked by demo accounts (by e-mail), and answered
    by a demo akim of the case study's akimat if there is one, else by the first administrator.

    :return: ``{"report": ImportReport, "questions": n, "answers": n, "problems": [str]}``; ``problems``
        lists what could not be loaded (bad lines, unknown case ids or e-mails), nothing is raised.
    """
    cases_path = cases_path or DEMO_CASES
    questions_path = questions_path or DEMO_QUESTIONS
    result: dict = {"report": None, "questions": 0, "answers": 0, "problems": []}
    if cases_path.exists():
        report = interchange.import_file(cases_path)
        result["report"] = report
        result["problems"].extend(report.errors)
    else:
        result["problems"].append(f"{cases_path} not found: no demo case studies loaded.")
    if questions_path.exists():
        _seed_questions(json.loads(questions_path.read_text(encoding="utf-8")), result)
    return result


def _seed_questions(threads: list[dict], result: dict) -> None:
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN).order_by(User.id))
    for number, thread in enumerate(threads, start=1):
        case = services.get_by_slug(thread.get("case_id") or "")
        asker = db.session.scalar(sa.select(User).where(User.email == (thread.get("asked_by") or "").lower()))
        body = (thread.get("question") or "").strip()
        if case is None or asker is None or not body:
            result["problems"].append(
                f"questions.json item {number}: unknown case {thread.get('case_id')!r}, unknown asker "
                f"{thread.get('asked_by')!r} or no question; skipped."
            )
            continue
        question = db.session.scalar(
            sa.select(Question).where(Question.case_study_id == case.id, Question.asker_id == asker.id,
                                      Question.body == body)
        )
        if question is None:
            question = Question(case_study=case, asker=asker, body=body)
            db.session.add(question)
            db.session.flush()
            result["questions"] += 1
        answer = (thread.get("answer") or "").strip()
        if not answer or any(existing.body == answer for existing in question.answers):
            continue
        author = _demo_akim(case) or admin
        if author is None:
            result["problems"].append(f"questions.json item {number}: nobody to answer (no admin yet); skipped.")
            continue
        question.answers.append(Answer(author=author, body=answer))
        db.session.flush()
        result["answers"] += 1


def _demo_akim(case: CaseStudy) -> User | None:
    return db.session.scalar(
        sa.select(User)
        .where(User.role == Role.AKIM, User.akimat_id == case.akimat_id, User.active.is_(True),
               User.email.endswith(DEMO_EMAIL_DOMAIN))
        .order_by(User.id)
    )


cases_cli = AppGroup("cases", help="Import, export, withdraw and publish case studies.")


@cases_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid lines even if some lines are invalid.")
def import_command(file: Path, skip_invalid: bool):
    """Import case studies from a JSON Lines FILE (CONTRACTS.md §1). Idempotent: the same id updates.

    Every line is checked first; a file with any invalid line changes nothing unless --skip-invalid.
    """
    _require_schema()
    try:
        report = interchange.import_file(file, skip_invalid=skip_invalid)
    except Exception:
        db.session.rollback()
        raise
    for error in report.errors:
        click.echo(error, err=True)
    if not report.imported:
        db.session.rollback()
        raise click.ClickException(
            f"{len(report.invalid_lines)} invalid line(s) in {file}: nothing was imported "
            "(fix them, or use --skip-invalid to import the valid lines)."
        )
    db.session.commit()
    click.echo(report.summary())
    # Many documents at once: building a new index generation (in parallel) beats applying the rows one by one.
    rebuilt = current_app.extensions["search"].bulk_rebuild(len(report.created) + len(report.updated))
    if rebuilt is not None:
        click.echo(f"Rebuilt the search index: {rebuilt} published case studies.")
    if report.kept_withdrawn:
        click.echo(f"Still withdrawn (restore with `flask cases publish ID`): {', '.join(report.kept_withdrawn)}")


@cases_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export_command(file: Path):
    """Write every published case study to FILE ("-": standard output), one JSON object per line."""
    _require_schema()
    if str(file) == "-":
        click.echo(interchange.dumps_cases(), nl=False)
        return
    try:
        count = interchange.export_cases(file)
    except OSError as error:
        raise click.ClickException(f"Cannot write {file}: {error.strerror or error}") from None
    click.echo(f"Exported {count} published case studies to {file}.")


@cases_cli.command("withdraw")
@click.argument("case_id", metavar="ID")
@click.option("--reason", required=True, help="Why it is withdrawn (kept in the audit log).")
def withdraw_command(case_id: str, reason: str):
    """Withdraw the published case study ID: from then on it is in no list, feed, API answer or search."""
    _require_schema()
    case = _get_case(case_id)
    try:
        services.withdraw(None, case, reason)
    except ValidationFailed as error:
        db.session.rollback()
        raise click.ClickException(f"{case_id}: {_messages(error)}") from None
    db.session.commit()
    click.echo(f"Withdrawn: {case_id}.")


@cases_cli.command("publish")
@click.argument("case_id", metavar="ID")
def publish_command(case_id: str):
    """Publish the case study ID (a draft, or a withdrawn one: the undo of withdraw)."""
    _require_schema()
    case = _get_case(case_id)
    try:
        services.publish(None, case)
    except ValidationFailed as error:
        db.session.rollback()
        raise click.ClickException(f"{case_id}: {_messages(error)}") from None
    db.session.commit()
    click.echo(f"Published: {case_id}.")


def init_app(app: Flask) -> None:
    """Register the ``cases`` command group."""
    app.cli.add_command(cases_cli)

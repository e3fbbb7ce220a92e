"""``flask digest send``: the e-mail digest of what users follow and search for, meant for a daily cron job.

For every active user with the digest on and at least one follow or saved search: the published case studies
that were published or updated since the user's last digest (or in the last 24 hours, the first time) in a
followed region or topic, or that are themselves followed, plus new answers on followed case studies; then, per
saved search, its new matches that the e-mail does not list already (:mod:`app.search.saved.alerts`: each case
study appears once in an e-mail, under the follows or the first saved search that matches it). Users with
nothing new get no e-mail. Each e-mail is in the user's language, with absolute links built against
``BASE_URL`` (default ``http://127.0.0.1:5000``). Running it twice in a row sends nothing the second time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

import click
import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask import url_for
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app import mail
from app.auth.models import User
from app.case_studies.models import Answer
from app.case_studies.models import CaseStudy
from app.case_studies.models import CaseTopic
from app.case_studies.models import Follow
from app.case_studies.models import Question
from app.clock import utcnow
from app.extensions import db
from app.regions.models import Region
from app.search.index import IndexUnavailable
from app.search.saved import alerts as saved_alerts
from app.urls import link_context

FIRST_WINDOW = timedelta(hours=24)  # what a first digest covers
MAX_WINDOW = timedelta(days=7)  # a digest switched off for months does not come back with months of news
MAX_ITEMS = 50  # per section of one e-mail


@dataclass
class DigestItems:
    """What one user's digest lists."""

    new_cases: list[dict] = field(default_factory=list)
    updated_cases: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    saved_searches: list[saved_alerts.Alert] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new_cases or self.updated_cases or self.answers or self.saved_searches)


@dataclass
class DigestRun:
    """The outcome of one ``send_digests`` run."""

    sent: int = 0
    checked: int = 0
    failed: int = 0


def collect(user: User, follows: list[Follow], since: datetime, until: datetime) -> DigestItems:
    """The news for ``user`` between ``since`` (excluded) and ``until`` (included). Needs a request context
    for the absolute links.

    :raise IndexUnavailable: the search index is missing or unreadable (the user has saved searches).
    """
    regions = [f.key for f in follows if f.kind == "region"]
    topics = [f.key for f in follows if f.kind == "topic"]
    slugs = [f.key for f in follows if f.kind == "case"]
    items = DigestItems()

    matches = []
    if regions:
        matches.append(Region.iso_code.in_(regions))
    if topics:
        matches.append(CaseStudy.id.in_(sa.select(CaseTopic.case_study_id).where(CaseTopic.topic.in_(topics))))
    if slugs:
        matches.append(CaseStudy.slug.in_(slugs))
    if matches:
        cases = db.session.scalars(
            sa.select(CaseStudy)
            .join(Region, CaseStudy.region_id == Region.id)
            .where(
                CaseStudy.is_published,
                sa.or_(*matches),
                sa.or_(
                    sa.and_(CaseStudy.published_at > since, CaseStudy.published_at <= until),
                    sa.and_(CaseStudy.updated_at > since, CaseStudy.updated_at <= until),
                ),
            )
            .options(selectinload(CaseStudy.region))
            .order_by(CaseStudy.published_at.desc(), CaseStudy.id.desc())
            .limit(2 * MAX_ITEMS)
        )
        for case in cases:
            item = {"case": case, "url": url_for("case_studies.detail", slug=case.slug, _external=True)}
            published = case.published_at
            is_new = published is not None and since < published <= until
            target = items.new_cases if is_new else items.updated_cases
            if len(target) < MAX_ITEMS:
                target.append(item)

    if slugs:
        answers = db.session.scalars(
            sa.select(Answer)
            .join(Question, Answer.question_id == Question.id)
            .join(CaseStudy, Question.case_study_id == CaseStudy.id)
            .where(
                CaseStudy.slug.in_(slugs),
                CaseStudy.is_published,
                Answer.created_at > since,
                Answer.created_at <= until,
                Answer.author_id != user.id,
            )
            .options(selectinload(Answer.author), selectinload(Answer.question).selectinload(Question.case_study))
            .order_by(Answer.created_at, Answer.id)
            .limit(MAX_ITEMS)
        )
        for answer in answers:
            case = answer.question.case_study
            items.answers.append({
                "answer": answer, "case": case,
                "url": url_for("case_studies.detail", slug=case.slug, _anchor=f"question-{answer.question_id}",
                               _external=True),
            })
    listed = {item["case"].slug for item in items.new_cases + items.updated_cases}
    items.saved_searches = saved_alerts.collect_alerts(user, since, until, listed)
    return items


def send_digests(now: datetime | None = None) -> DigestRun:
    """Send every due digest and record ``last_digest_at``; commits once, at the end.

    Reading and sending happen in a read-only transaction; the one write (``last_digest_at`` of every user
    checked) comes after, so on SQLite the write lock is held only for that short update. A user whose
    e-mail could not be sent keeps the old ``last_digest_at`` and gets the news next time.
    """
    app = current_app._get_current_object()
    now = now or utcnow()
    run = DigestRun()
    checked: list[int] = []
    alerted: list[int] = []
    with link_context(app):
        has_follow = sa.select(Follow.id).where(Follow.user_id == User.id).exists()
        users = db.session.scalars(
            sa.select(User).where(User.digest_enabled.is_(True), User.active.is_(True),
                                  sa.or_(has_follow, saved_alerts.owner_exists())).order_by(User.id)
        ).all()
        follows: dict[int, list[Follow]] = defaultdict(list)
        if users:
            for row in db.session.scalars(sa.select(Follow).where(Follow.user_id.in_([u.id for u in users]))):
                follows[row.user_id].append(row)
        following_url = url_for("engagement.following", _external=True)
        saved_searches_url = url_for("auth.profile", _anchor="saved-searches", _external=True)
        for user in users:
            since = max(user.last_digest_at or now - FIRST_WINDOW, now - MAX_WINDOW)
            try:
                items = collect(user, follows[user.id], since, now)
            except IndexUnavailable:  # saved searches cannot run: the whole digest waits, nothing is lost
                app.logger.exception("Search index unavailable: the digest of user %s waits", user.id)
                run.failed += 1
                continue
            if items:
                try:
                    mail.send_template(user, "digest", _l("New in what you follow"), new_cases=items.new_cases,
                                       updated_cases=items.updated_cases, answers=items.answers,
                                       saved_searches=items.saved_searches, following_url=following_url,
                                       saved_searches_url=saved_searches_url)
                except Exception:  # one bad address or SMTP hiccup must not stop everyone else's digest
                    app.logger.exception("Could not send the digest to user %s", user.id)
                    run.failed += 1
                    continue
                run.sent += 1
                alerted += [alert.saved.id for alert in items.saved_searches]
            checked.append(user.id)
        db.session.rollback()  # end the read-only transaction; nothing was changed in it
    run.checked = len(checked)
    for start in range(0, len(checked), 500):
        db.session.execute(
            sa.update(User).where(User.id.in_(checked[start:start + 500])).values(last_digest_at=now),
            execution_options={"synchronize_session": False},
        )
    saved_alerts.mark_alerted(alerted, now)
    db.session.commit()
    return run


digest_cli = AppGroup("digest", help="The e-mail digest of followed regions, topics and case studies, and of "
                                     "saved searches.")


@digest_cli.command("send")
def send():
    """Send the digest to every user with something new (run daily, e.g. from cron)."""
    run = send_digests()
    click.echo(f"Digest e-mails sent: {run.sent} (users checked: {run.checked}, failed: {run.failed}).")
    if run.failed:
        raise click.exceptions.Exit(1)


def init_app(app: Flask) -> None:
    """Register the ``digest`` command group."""
    app.cli.add_command(digest_cli)

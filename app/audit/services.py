"""Recording audit entries (flush only; the caller commits), and reading them back: filtered lists and the
objects the entries are about."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from app.audit.labels import action_label
from app.audit.labels import target_type_label
from app.audit.models import AuditEntry
from app.auth.models import User
from app.case_studies.models import Adoption
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.meetings import timezone
from app.meetings.models import AgendaItem
from app.meetings.models import Commitment
from app.meetings.models import Meeting
from app.meetings.models import Proposal
from app.meetings.models import Registration
from app.meetings.models import RotationExclusion
from app.meetings.models import RotationPin

SYSTEM = "system"  # the actor filter's value for entries made by commands (no user)


def record(actor, action: str, target, details: dict | None = None, reason: str | None = None) -> AuditEntry:
    """Add an audit entry for ``action`` by ``actor`` (a User or None for the system) on ``target``.

    :param target: a model instance with an ``id``; its table name is recorded as the target type.
    """
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target.__tablename__,
        target_id=target.id,
        details=details or {},
        reason=reason,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilters:
    """What the audit list is narrowed to; ``None`` means any. ``since`` is inclusive, ``until`` exclusive (UTC)."""

    actor: int | str | None = None  # a user id, or SYSTEM
    action: str | None = None
    target_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def entries_query(filters: AuditFilters) -> sa.Select:
    """A select of the audit entries matching ``filters``, newest first, with their actors loaded."""
    select = sa.select(AuditEntry).options(sa.orm.joinedload(AuditEntry.actor))
    if filters.actor == SYSTEM:
        select = select.where(AuditEntry.actor_id.is_(None))
    elif filters.actor is not None:
        select = select.where(AuditEntry.actor_id == filters.actor)
    if filters.action:
        select = select.where(AuditEntry.action == filters.action)
    if filters.target_type:
        select = select.where(AuditEntry.target_type == filters.target_type)
    if filters.since is not None:
        select = select.where(AuditEntry.created_at >= filters.since)
    if filters.until is not None:
        select = select.where(AuditEntry.created_at < filters.until)
    return select.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def actors() -> list[tuple[int, str]]:
    """``(id, name)`` of every user who appears as an actor in the log, by name."""
    rows = db.session.execute(
        sa.select(User.id, User.full_name).where(User.id.in_(sa.select(AuditEntry.actor_id).distinct()))
    )
    return sorted(((uid, name) for uid, name in rows), key=lambda row: (row[1].casefold(), row[0]))


def recorded_actions() -> list[str]:
    """Every action code present in the log (old codes included, which the labels may no longer know)."""
    return list(db.session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


@dataclass(frozen=True)
class Target:
    """What an entry is about, for people: a name and a link, or only the kind and id once the object is gone."""

    text: str
    url: str | None = None
    exists: bool = True


def _names(model, column, ids) -> dict[int, tuple]:
    return {row[0]: tuple(row[1:]) for row in db.session.execute(sa.select(model.id, *column).where(model.id.in_(ids)))}


def _link(endpoint: str, external: bool, **values) -> str:
    return url_for(endpoint, _external=external, **values)


def _resolve(target_type: str, ids: set[int], external: bool) -> dict[int, Target]:
    """The existing objects of one type among ``ids``, each with a name and the page that shows it."""
    kind = target_type_label(target_type)
    if target_type == "user":
        rows = _names(User, [User.full_name], ids)
        return {i: Target(name, _link("admin.user_detail", external, user_id=i)) for i, (name,) in rows.items()}
    if target_type == "case_study":
        rows = _names(CaseStudy, [CaseStudy.title, CaseStudy.slug], ids)
        return {i: Target(title, _link("case_studies.detail", external, slug=slug))
                for i, (title, slug) in rows.items()}
    if target_type == "adoption":
        rows = db.session.execute(sa.select(Adoption.id, CaseStudy.title, CaseStudy.slug)
                                  .join(CaseStudy, Adoption.case_study_id == CaseStudy.id).where(Adoption.id.in_(ids)))
        return {i: Target(f"{kind}: {title}", _link("case_studies.detail", external, slug=slug, _anchor="adoptions"))
                for i, title, slug in rows}
    if target_type == "meeting":
        rows = _names(Meeting, [Meeting.title], ids)
        return {i: Target(title, _link("meetings.detail", external, meeting_id=i)) for i, (title,) in rows.items()}
    if target_type == "agenda_item":
        rows = _names(AgendaItem, [AgendaItem.title, AgendaItem.meeting_id], ids)
        return {i: Target(f"{kind}: {title}" if title else f"{kind} #{i}",
                          _link("meetings.detail", external, meeting_id=meeting, _anchor="programme"))
                for i, (title, meeting) in rows.items()}
    parents = {
        "meeting_registration": (Registration, "meetings.registrations", None),
        "meeting_proposal": (Proposal, "programme.manage", None),
        "meeting_commitment": (Commitment, "programme.manage", "commitments"),
    }
    if target_type in parents:
        model, endpoint, anchor = parents[target_type]
        rows = _names(model, [model.meeting_id], ids)
        return {i: Target(f"{kind} #{i}", _link(endpoint, external, meeting_id=meeting, _anchor=anchor))
                for i, (meeting,) in rows.items()}
    if target_type in ("rotation_pin", "rotation_exclusion"):
        model = RotationPin if target_type == "rotation_pin" else RotationExclusion
        rows = _names(model, [model.scope, model.host_code], ids)
        return {i: Target(f"{kind}: {host}", _link("rotation.plan", external, scope=scope))
                for i, (scope, host) in rows.items()}
    return {}


def targets(entries: Iterable[AuditEntry], external: bool = False) -> dict[int, Target]:
    """``{entry id: Target}`` for ``entries``: one query per kind of object, whatever the number of entries.

    :param external: absolute links (for the CSV export, read away from the site).
    """
    entries = list(entries)
    wanted: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        if entry.target_id is not None:
            wanted[entry.target_type].add(entry.target_id)
    found = {target_type: _resolve(target_type, ids, external) for target_type, ids in wanted.items()}
    result = {}
    for entry in entries:
        target = found.get(entry.target_type, {}).get(entry.target_id)
        result[entry.id] = target or Target(f"{target_type_label(entry.target_type)} #{entry.target_id}", exists=False)
    return result


EXPORT_CHUNK = 1000  # entries whose objects are looked up together


def export_rows(filters: AuditFilters) -> tuple[list[str], list[list]]:
    """The header and the rows of the CSV export of every entry ``filters`` select, newest first: time in
    Kazakhstan, who, what (words and code), the object (kind, id, name, absolute link), reason and details."""
    header = [_("Time (Kazakhstan)"), _("Who"), _("User id"), _("Action"), _("Action code"), _("Object type"),
              _("Object id"), _("Object"), _("Link"), _("Reason"), _("Details")]
    entries = db.session.scalars(entries_query(filters)).all()
    rows = []
    for start in range(0, len(entries), EXPORT_CHUNK):
        chunk = entries[start:start + EXPORT_CHUNK]
        found = targets(chunk, external=True)
        for entry in chunk:
            target = found[entry.id]
            rows.append([
                timezone.to_local(entry.created_at).isoformat(timespec="seconds"),
                entry.actor.full_name if entry.actor else _("system"), entry.actor_id or "",
                action_label(entry.action), entry.action, target_type_label(entry.target_type),
                "" if entry.target_id is None else entry.target_id, target.text, target.url or "",
                entry.reason or "", json.dumps(entry.details or {}, ensure_ascii=False, sort_keys=True),
            ])
    return header, rows

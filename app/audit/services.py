"""Recording audit entries (flush only; the caller commits)."""

from __future__ import annotations

from app.audit.models import AuditEntry
from app.extensions import db


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

"""User accounts, roles and akimat claims."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.clock import UTCDateTime
from app.clock import utcnow
from app.extensions import db
from app.regions.models import Akimat


class Role(enum.StrEnum):
    """What a user may do. Every registered user is at least a reader."""

    READER = "reader"
    AKIM = "akim"
    ORGANISER = "organiser"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.READER: _l("Reader"),
    Role.AKIM: _l("Akim"),
    Role.ORGANISER: _l("Organiser"),
    Role.ADMIN: _l("Administrator"),
}


class ClaimStatus(enum.StrEnum):
    """State of a user's claim to belong to an akimat."""

    NONE = "none"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class User(UserMixin, db.Model):
    """A registered person. ``session_version`` rises on logout and password change, which
    invalidates every session and remember-me cookie issued before."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    preferred_language: Mapped[str] = mapped_column(sa.String(2), default="ru")
    role: Mapped[str] = mapped_column(sa.String(20), default=Role.READER, index=True)
    active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=1)

    # Membership as verified by an admin (required for the akim role).
    akimat_id: Mapped[int | None] = mapped_column(sa.ForeignKey("akimat.id"), index=True)
    position: Mapped[str | None] = mapped_column(sa.String(200))

    # What the user claimed at registration or later in the profile; an admin decides.
    claimed_akimat_id: Mapped[int | None] = mapped_column(sa.ForeignKey("akimat.id"))
    claimed_position: Mapped[str | None] = mapped_column(sa.String(200))
    claim_status: Mapped[str] = mapped_column(sa.String(20), default=ClaimStatus.NONE, index=True)
    claim_rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # E-mail digest of what the user follows (``flask digest send``); the user can switch it off.
    digest_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    akimat: Mapped[Akimat | None] = relationship(foreign_keys=[akimat_id])
    claimed_akimat: Mapped[Akimat | None] = relationship(foreign_keys=[claimed_akimat_id])

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """Session identifier: id and session version, so old sessions stop matching."""
        return f"{self.id}:{self.session_version}"

    def has_role(self, *roles: str) -> bool:
        """Return whether the user holds one of ``roles`` (admins hold every role)."""
        return self.role == Role.ADMIN or self.role in roles

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

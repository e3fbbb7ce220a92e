"""User accounts, roles and akimat claims."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin
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


class AnonymousUser(AnonymousUserMixin):
    """The visitor who is not logged in: holds no role (so templates may ask ``current_user.is_organiser``)."""

    is_admin = False
    is_organiser = False
    is_verified_akim = False

    def has_role(self, *roles: str) -> bool:
        """No role at all."""
        return False

    def is_verified_akim_of(self, akimat_id: int | None) -> bool:
        """Never."""
        return False


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

    @property
    def is_organiser(self) -> bool:
        """Whether the user runs meetings: an active organiser or administrator."""
        return bool(self.active and self.has_role(Role.ORGANISER))

    @property
    def is_verified_akim(self) -> bool:
        """Whether the user is an active akim whose akimat an administrator verified."""
        return bool(self.active and self.role == Role.AKIM and self.akimat_id is not None)

    def is_verified_akim_of(self, akimat_id: int | None) -> bool:
        """Whether the user is an active verified akim of the akimat ``akimat_id``."""
        return self.is_verified_akim and akimat_id is not None and self.akimat_id == akimat_id

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

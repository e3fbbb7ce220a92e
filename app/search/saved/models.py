"""The saved search: one user's search (words, filters, sort) kept under a name."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.auth.models import User
from app.clock import UTCDateTime
from app.clock import utcnow
from app.extensions import db

NAME_MAX = 120
QUERY_MAX = 1000  # the search reads no more of a query (parsing.MAX_QUERY_CHARS)
TOKEN_CHARS = 32  # secrets.token_urlsafe(24): 192 random bits


class SavedSearch(db.Model):
    """A search kept by ``user``: ``query`` and ``filters``, the search page's own parameters
    (``{"region": [...], "topic": [...], "level": [...], "language": [...], "status": [...], "evidence": [...],
    "year_from": 2015, "year_to": 2020, "sort": "newest"}``, only those set). ``feed_token`` opens its Atom
    feed without a session; a new one replaces it when the owner rotates it. ``last_alerted_at``: when a digest
    last listed matches of it."""

    __tablename__ = "saved_search"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    query: Mapped[str] = mapped_column(sa.String(QUERY_MAX), default="")
    filters: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    feed_token: Mapped[str] = mapped_column(sa.String(TOKEN_CHARS), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<SavedSearch {self.id} of user {self.user_id}>"

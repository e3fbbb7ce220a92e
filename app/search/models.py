"""The search outbox: one row per pending change to the search index, written in the same transaction
as the change itself, so a crash between the database commit and the index update loses nothing."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.clock import UTCDateTime
from app.clock import utcnow
from app.extensions import db


class SearchOutbox(db.Model):
    """A pending (``done_at`` is NULL) or applied index operation on one document.

    ``doc_type`` is "case" (the document key is the case study's slug); ``op`` is "upsert" or "delete".
    Rows are applied in ``id`` order; applying one twice is harmless.
    """

    __tablename__ = "search_outbox"
    __table_args__ = (sa.Index("ix_search_outbox_pending", "done_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(sa.String(20))
    doc_key: Mapped[str] = mapped_column(sa.String(120))
    op: Mapped[str] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<SearchOutbox {self.id} {self.op} {self.doc_type}:{self.doc_key}>"

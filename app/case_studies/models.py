"""Case studies and what hangs off them: topics, revisions, attachments, questions, answers,
adoptions and follows."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.auth.models import User
from app.clock import UTCDateTime
from app.clock import utcnow
from app.extensions import db
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region

TIMESTAMP = UTCDateTime()


class CaseState(enum.StrEnum):
    """Where a case study is in its lifecycle (``CaseStudy.state``)."""

    DRAFT = "draft"  # its akimat is writing it; only they and admins see it
    PUBLISHED = "published"  # public: lists, feeds, the API, search
    WITHDRAWN = "withdrawn"  # unpublished with a reason; its akimat may publish it again


UNPUBLISHED_STATES = frozenset({CaseState.DRAFT, CaseState.WITHDRAWN})
"""States in which a case study is in no list, feed, API answer or search result."""


class CaseStudy(db.Model):
    """A practice an akimat tried. Belongs to the akimat, not to one person, so any verified akim of
    that akimat may edit it. ``version`` is the optimistic lock: a save based on an older version fails."""

    __tablename__ = "case_study"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    state: Mapped[str] = mapped_column(sa.String(12), default=CaseState.DRAFT, index=True)  # draft|published|withdrawn
    version: Mapped[int] = mapped_column(default=1)

    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    municipality_id: Mapped[int | None] = mapped_column(sa.ForeignKey("municipality.id"), index=True)
    level: Mapped[str] = mapped_column(sa.String(10), index=True)
    language: Mapped[str] = mapped_column(sa.String(2), index=True)
    started: Mapped[int] = mapped_column(index=True)
    ended: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(14), index=True)
    problem: Mapped[str] = mapped_column(sa.Text, default="")
    solution: Mapped[str] = mapped_column(sa.Text, default="")
    challenges: Mapped[str] = mapped_column(sa.Text, default="")
    results: Mapped[str] = mapped_column(sa.Text, default="")
    lessons: Mapped[str] = mapped_column(sa.Text, default="")
    budget_kzt: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    # Nesta's Standards of Evidence, 1-5 (constants.EVIDENCE_LEVELS); None: not assessed. Levels 3-5 of a
    # published case study need an attachment or ``evidence_url`` (services.evidence_problem).
    evidence_level: Mapped[int | None] = mapped_column(sa.SmallInteger, index=True)
    evidence_url: Mapped[str | None] = mapped_column(sa.String(500))  # a link to the evaluation

    author_name: Mapped[str] = mapped_column(sa.String(200), default="")
    author_position: Mapped[str] = mapped_column(sa.String(200), default="")
    contact: Mapped[str | None] = mapped_column(sa.String(300))

    akimat_id: Mapped[int] = mapped_column(sa.ForeignKey("akimat.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    withdrawn_reason: Mapped[str | None] = mapped_column(sa.Text)

    region: Mapped[Region] = relationship()
    municipality: Mapped[Municipality | None] = relationship()
    akimat: Mapped[Akimat] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    topic_rows: Mapped[list[CaseTopic]] = relationship(
        back_populates="case_study", cascade="all, delete-orphan", order_by="CaseTopic.topic"
    )
    revisions: Mapped[list[CaseRevision]] = relationship(
        back_populates="case_study", cascade="all, delete-orphan", order_by="CaseRevision.number"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="case_study", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="case_study", cascade="all, delete-orphan", order_by="Question.created_at"
    )
    adoptions: Mapped[list[Adoption]] = relationship(
        back_populates="case_study", cascade="all, delete-orphan", order_by="Adoption.year"
    )

    __table_args__ = (sa.CheckConstraint("evidence_level BETWEEN 1 AND 5", name="evidence_level_range"),)
    __mapper_args__ = {"version_id_col": version}

    @property
    def topics(self) -> list[str]:
        """Topic slugs, sorted (also right after an edit, before the rows are reloaded in order)."""
        return sorted(row.topic for row in self.topic_rows)

    @hybrid_property
    def is_published(self) -> bool:
        """Published (public); on the class, the SQL condition: ``.where(CaseStudy.is_published)``."""
        return self.state == CaseState.PUBLISHED

    def __repr__(self) -> str:
        return f"<CaseStudy {self.slug} {self.state}>"


class CaseTopic(db.Model):
    """One topic slug of a case study (a row per topic, so lists filter by topic with an index)."""

    __tablename__ = "case_topic"

    case_study_id: Mapped[int] = mapped_column(sa.ForeignKey("case_study.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(40), primary_key=True, index=True)

    case_study: Mapped[CaseStudy] = relationship(back_populates="topic_rows")


class CaseRevision(db.Model):
    """A saved state of a published case study, stored as a backward difference.

    ``changes`` holds only the fields whose value at this revision differs from the next revision's -- for the
    newest revision, from the case study's current content -- so a revision equal to what follows it (an
    imported case study's only revision, the newest one after every save) stores ``{}``. A revision's full
    state is therefore the current content with the ``changes`` of every revision from the newest down to it
    laid over it: :func:`app.case_studies.services.revision_snapshots`. Whatever changes the content keeps the
    newest revision's ``changes`` true (:func:`app.case_studies.services.update_case`).
    """

    __tablename__ = "case_revision"
    __table_args__ = (sa.UniqueConstraint("case_study_id", "number", name="uq_case_revision_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_study_id: Mapped[int] = mapped_column(sa.ForeignKey("case_study.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    note: Mapped[str | None] = mapped_column(sa.String(300))
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    case_study: Mapped[CaseStudy] = relationship(back_populates="revisions")
    author: Mapped[User | None] = relationship()


class Attachment(db.Model):
    """A file attached to a case study, stored under a generated name outside ``static/``."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_study_id: Mapped[int] = mapped_column(sa.ForeignKey("case_study.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)

    case_study: Mapped[CaseStudy] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User | None] = relationship()


class Question(db.Model):
    """A question a logged-in user asks about a published case study."""

    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_study_id: Mapped[int] = mapped_column(sa.ForeignKey("case_study.id", ondelete="CASCADE"), index=True)
    asker_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow, index=True)

    case_study: Mapped[CaseStudy] = relationship(back_populates="questions")
    asker: Mapped[User] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="question", cascade="all, delete-orphan", order_by="Answer.created_at"
    )


class Answer(db.Model):
    """An answer by a member of the owning akimat."""

    __tablename__ = "answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow, index=True)

    question: Mapped[Question] = relationship(back_populates="answers")
    author: Mapped[User] = relationship()


class Adoption(db.Model):
    """An akimat's record that it adopted (or is piloting, adapted, abandoned) a peer's practice."""

    __tablename__ = "adoption"
    __table_args__ = (sa.UniqueConstraint("case_study_id", "akimat_id", name="uq_adoption_case_akimat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_study_id: Mapped[int] = mapped_column(sa.ForeignKey("case_study.id", ondelete="CASCADE"), index=True)
    akimat_id: Mapped[int] = mapped_column(sa.ForeignKey("akimat.id"), index=True)
    year: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(12), default="adopted")  # adopted|piloting|adapted|abandoned
    note: Mapped[str] = mapped_column(sa.Text, default="")
    reason: Mapped[str | None] = mapped_column(sa.Text)  # why it was abandoned
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)

    case_study: Mapped[CaseStudy] = relationship(back_populates="adoptions")
    akimat: Mapped[Akimat] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class Follow(db.Model):
    """A user follows a region (ISO code), a topic (slug) or a case study (slug) for the e-mail digest."""

    __tablename__ = "follow"
    __table_args__ = (sa.UniqueConstraint("user_id", "kind", "key", name="uq_follow_user_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # region | topic | case
    key: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)

    user: Mapped[User] = relationship()

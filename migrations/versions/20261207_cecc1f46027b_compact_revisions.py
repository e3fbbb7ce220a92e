"""Compact case revisions: each stores only its differences from the next one (the newest: from the case).

Reviewed: case_revision.snapshot (the full content after each save) becomes case_revision.changes (JSON, not
null): the fields whose value at that revision differs from the next revision's, and for the newest revision
from the case study's current content -- so an imported case study's only revision stores ``{}`` instead of a
second copy of its text. The upgrade computes ``changes`` from the stored snapshots and the current content
(case_study joined with region, municipality and case_topic, as ``services.snapshot`` builds it); the downgrade
rebuilds every full snapshot from the current content and the chain of changes. Both read and write a few
hundred case studies at a time. The field list and the content query are copied here on purpose, so that this
revision keeps meaning what it meant when later code changes.

Revision ID: cecc1f46027b
Revises: 072cee0ee0a9
Create Date: 2026-12-07 23:30:00

"""

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "cecc1f46027b"
down_revision = "072cee0ee0a9"
branch_labels = None
depends_on = None

FIELDS = (
    "title", "summary", "region", "district", "level", "topics", "language", "started", "ended", "status",
    "problem", "solution", "challenges", "results", "lessons", "budget_kzt", "author_name", "author_position",
    "contact",
)
CASE_COLUMNS = (
    "title", "summary", "level", "language", "started", "ended", "status", "problem", "solution", "challenges",
    "results", "lessons", "budget_kzt", "author_name", "author_position", "contact",
)
CHUNK = 200  # case studies per round trip

case_study = sa.table("case_study", sa.column("id"), sa.column("region_id"), sa.column("municipality_id"),
                      *(sa.column(name, sa.Numeric(18, 2) if name == "budget_kzt" else None)
                        for name in CASE_COLUMNS))
region = sa.table("region", sa.column("id"), sa.column("iso_code"))
municipality = sa.table("municipality", sa.column("id"), sa.column("name_en"))
case_topic = sa.table("case_topic", sa.column("case_study_id"), sa.column("topic"))
case_revision = sa.table("case_revision", sa.column("id"), sa.column("case_study_id"), sa.column("number"),
                         sa.column("snapshot", sa.JSON), sa.column("changes", sa.JSON))


def _budget(value):
    if value is None:
        return None
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _current_content(bind, case_ids: list[int]) -> dict[int, dict]:
    """The content of each case study as ``services.snapshot`` gave it at this revision."""
    rows = bind.execute(
        sa.select(case_study, region.c.iso_code, municipality.c.name_en)
        .join(region, region.c.id == case_study.c.region_id)
        .outerjoin(municipality, municipality.c.id == case_study.c.municipality_id)
        .where(case_study.c.id.in_(case_ids))
    ).mappings()
    topics: dict[int, list[str]] = {case_id: [] for case_id in case_ids}
    for case_id, topic in bind.execute(sa.select(case_topic.c.case_study_id, case_topic.c.topic)
                                       .where(case_topic.c.case_study_id.in_(case_ids))):
        topics[case_id].append(topic)
    content = {}
    for row in rows:
        values = {name: row[name] for name in CASE_COLUMNS}
        values.update(region=row["iso_code"], district=row["name_en"], topics=sorted(topics[row["id"]]),
                      budget_kzt=_budget(row["budget_kzt"]))
        content[row["id"]] = {name: values[name] for name in FIELDS}
    return content


def _chunks(bind):
    """Lists of ids of case studies that have revisions, ``CHUNK`` at a time."""
    ids = bind.execute(sa.select(case_revision.c.case_study_id).distinct()
                       .order_by(case_revision.c.case_study_id)).scalars().all()
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _revisions_newest_first(bind, case_ids: list[int], column: str) -> dict[int, list]:
    rows = bind.execute(
        sa.select(case_revision.c.id, case_revision.c.case_study_id, case_revision.c[column])
        .where(case_revision.c.case_study_id.in_(case_ids))
        .order_by(case_revision.c.case_study_id, case_revision.c.number.desc())
    ).all()
    revisions: dict[int, list] = {case_id: [] for case_id in case_ids}
    for revision_id, case_id, value in rows:
        revisions[case_id].append((revision_id, value))
    return revisions


def _write(bind, column: str, values: list[dict]) -> None:
    if values:
        bind.execute(
            sa.update(case_revision).where(case_revision.c.id == sa.bindparam("revision_id"))
            .values({column: sa.bindparam("value", type_=sa.JSON)}),
            values,
        )


def upgrade():
    with op.batch_alter_table("case_revision") as batch_op:
        batch_op.add_column(sa.Column("changes", sa.JSON(), nullable=True))
    bind = op.get_bind()
    for case_ids in _chunks(bind):
        content = _current_content(bind, case_ids)
        values = []
        for case_id, revisions in _revisions_newest_first(bind, case_ids, "snapshot").items():
            following = content[case_id]
            for revision_id, full in revisions:
                changes = {name: full.get(name) for name in FIELDS if full.get(name) != following.get(name)}
                values.append({"revision_id": revision_id, "value": changes})
                following = full
        _write(bind, "changes", values)
    with op.batch_alter_table("case_revision") as batch_op:
        batch_op.alter_column("changes", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("snapshot")


def downgrade():
    with op.batch_alter_table("case_revision") as batch_op:
        batch_op.add_column(sa.Column("snapshot", sa.JSON(), nullable=True))
    bind = op.get_bind()
    for case_ids in _chunks(bind):
        content = _current_content(bind, case_ids)
        values = []
        for case_id, revisions in _revisions_newest_first(bind, case_ids, "changes").items():
            state = content[case_id]
            for revision_id, changes in revisions:
                state = {**state, **changes}
                values.append({"revision_id": revision_id, "value": state})
        _write(bind, "snapshot", values)
    with op.batch_alter_table("case_revision") as batch_op:
        batch_op.alter_column("snapshot", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("changes")

"""Evidence level of a case study (issue 16): case_study.evidence_level and case_study.evidence_url.

Reviewed: two nullable columns, nothing existing changes. evidence_level (SMALLINT, indexed for the list and feed
filters; CHECK 1..5, named ck_case_study_evidence_level_range; NULL = not assessed) holds Nesta's Standards of
Evidence; evidence_url (VARCHAR(500)) a link to the evaluation that levels 3-5 need when no evaluation file is
attached (the rule is the services' job, not the database's). Every existing case study stays not assessed.

SQLite: no batch mode. Recreating case_study (batch mode would, for the CHECK constraint) drops the old table
with foreign keys on, and ON DELETE CASCADE would empty case_topic, case_revision, attachment, question... So
the CHECK is a column constraint of ``ALTER TABLE ... ADD COLUMN`` there, and the downgrade drops the columns
with ``ALTER TABLE ... DROP COLUMN`` (SQLite 3.35 or later), which a CHECK of the column itself allows.
The downgrade drops both columns: the levels recorded since are lost (said here on purpose).

Revision ID: 5e1d3c7a9b20
Revises: 6b2d9e4f1a7c
Create Date: 2026-12-09 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "5e1d3c7a9b20"
down_revision = "6b2d9e4f1a7c"
branch_labels = None
depends_on = None

CHECK_NAME = "ck_case_study_evidence_level_range"
CHECK = "evidence_level BETWEEN 1 AND 5"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    if _sqlite():
        op.execute(f"ALTER TABLE case_study ADD COLUMN evidence_level SMALLINT CONSTRAINT {CHECK_NAME} CHECK ({CHECK})")
    else:
        op.add_column("case_study", sa.Column("evidence_level", sa.SmallInteger(), nullable=True))
        op.create_check_constraint(op.f(CHECK_NAME), "case_study", CHECK)
    op.add_column("case_study", sa.Column("evidence_url", sa.String(length=500), nullable=True))
    op.create_index(op.f("ix_case_study_evidence_level"), "case_study", ["evidence_level"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_case_study_evidence_level"), table_name="case_study")
    if _sqlite():
        op.execute("ALTER TABLE case_study DROP COLUMN evidence_url")
        op.execute("ALTER TABLE case_study DROP COLUMN evidence_level")
    else:
        op.drop_constraint(op.f(CHECK_NAME), "case_study", type_="check")
        op.drop_column("case_study", "evidence_url")
        op.drop_column("case_study", "evidence_level")

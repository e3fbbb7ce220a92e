"""Commitments followed up: status, reminders, dated updates.

Reviewed: meeting_commitment gains ``status`` (String(16), NOT NULL, server default 'not_started', so existing
rows start as not started; CHECK ck_meeting_commitment_status_known) and ``reminded_at`` (nullable, when the
committing akimat was last reminded). One new table, meeting_commitment_update (commitment_id CASCADE on
delete, indexed; status with the same CHECK; note; an optional evidence file: name, stored name (unique),
content type, size, SHA-256; author_id → user; created_at). Downgrade drops the table and the two columns (the
updates and the statuses are lost; their evidence files stay in UPLOAD_DIR as orphans).

Revision ID: 5c3e8a91d2b7
Revises: 5e1d3c7a9b20
Create Date: 2026-12-10 00:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c3e8a91d2b7'
down_revision = '5e1d3c7a9b20'
branch_labels = None
depends_on = None

STATUS_CHECK = "status IN ('not_started', 'limited', 'substantial', 'complete', 'withdrawn')"


def upgrade():
    with op.batch_alter_table('meeting_commitment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='not_started', nullable=False))
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_meeting_commitment_status_known'), STATUS_CHECK)

    op.create_table('meeting_commitment_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('evidence_name', sa.String(length=255), nullable=True),
    sa.Column('evidence_stored_name', sa.String(length=80), nullable=True),
    sa.Column('evidence_content_type', sa.String(length=120), nullable=True),
    sa.Column('evidence_size', sa.BigInteger(), nullable=True),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(STATUS_CHECK, name=op.f('ck_meeting_commitment_update_status_known')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_meeting_commitment_update_author_id_user')),
    sa.ForeignKeyConstraint(['commitment_id'], ['meeting_commitment.id'],
                            name=op.f('fk_meeting_commitment_update_commitment_id_meeting_commitment'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_commitment_update')),
    sa.UniqueConstraint('evidence_stored_name', name=op.f('uq_meeting_commitment_update_evidence_stored_name'))
    )
    with op.batch_alter_table('meeting_commitment_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_commitment_update_commitment_id'), ['commitment_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('meeting_commitment_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_commitment_update_commitment_id'))
    op.drop_table('meeting_commitment_update')
    with op.batch_alter_table('meeting_commitment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_meeting_commitment_status_known'), type_='check')
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('status')

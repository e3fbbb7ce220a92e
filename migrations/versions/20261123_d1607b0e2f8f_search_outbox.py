"""Search outbox: pending index updates, written in the same transaction as the change they describe.

Reviewed: one new table, search_outbox (doc_type, doc_key = case slug, op upsert|delete, created_at,
done_at NULL while pending, attempts), no foreign key (a deleted case's row must outlive it); one composite
index (done_at, id) for the worker's "pending rows in id order" scan. Nothing else changes; downgrade drops
the table.

Revision ID: d1607b0e2f8f
Revises: 9f78101cef28
Create Date: 2026-11-23 07:45:16.364352

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd1607b0e2f8f'
down_revision = '9f78101cef28'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('doc_type', sa.String(length=20), nullable=False),
    sa.Column('doc_key', sa.String(length=120), nullable=False),
    sa.Column('op', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_outbox'))
    )
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_search_outbox_pending', ['done_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_search_outbox_pending')

    op.drop_table('search_outbox')
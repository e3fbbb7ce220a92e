"""Saved searches: saved_search.

Reviewed: one new table, nothing existing changes. saved_search (user_id → user, CASCADE on delete, indexed; name
String(120); query String(1000), the words as typed; filters JSON, the search page's other parameters; feed_token
String(32), unique: the Atom feed's only key; created_at; last_alerted_at nullable, when a digest last listed its
matches). Downgrade drops the table (the saved searches are lost; their feed links stop working).

Revision ID: 8f4a2c6e1b93
Revises: 5c3e8a91d2b7
Create Date: 2026-12-11 00:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8f4a2c6e1b93'
down_revision = '5c3e8a91d2b7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_search',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('query', sa.String(length=1000), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('feed_token', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_alerted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_saved_search_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_search')),
    sa.UniqueConstraint('feed_token', name=op.f('uq_saved_search_feed_token'))
    )
    with op.batch_alter_table('saved_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_search_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('saved_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_search_user_id'))
    op.drop_table('saved_search')

"""Certificates of participation: meeting_certificate.

Reviewed: one new table, meeting_certificate (code, String(16), unique: printed on the PDF and the key of the public
verification page; registration_id, unique, CASCADE on delete: one certificate per registration; issued_at;
revoked_at; revoked_by_id, SET NULL on delete of the user). Downgrade drops the table (issued codes stop verifying;
downloading again issues new ones).

Revision ID: b7c2e9f4a1d6
Revises: 9d4b7e2a6c15
Create Date: 2026-12-12 00:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c2e9f4a1d6'
down_revision = '9d4b7e2a6c15'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('meeting_certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['registration_id'], ['meeting_registration.id'],
                            name=op.f('fk_meeting_certificate_registration_id_meeting_registration'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user.id'], name=op.f('fk_meeting_certificate_revoked_by_id_user'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_certificate')),
    sa.UniqueConstraint('code', name=op.f('uq_meeting_certificate_code')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_meeting_certificate_registration_id'))
    )


def downgrade():
    op.drop_table('meeting_certificate')

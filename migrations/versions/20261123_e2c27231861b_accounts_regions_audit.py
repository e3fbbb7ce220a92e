"""Accounts, regions, akimats and the audit log.

Reviewed: tables for the 20 regions, their municipalities and akimats; users with roles, akimat
claims and a session version; the audit log. Constraint names come from the naming convention.

Revision ID: e2c27231861b
Revises: 
Create Date: 2026-11-23 06:19:38.305355

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2c27231861b'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('region',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('iso_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('name_ru', sa.String(length=120), nullable=False),
    sa.Column('name_kk', sa.String(length=120), nullable=False),
    sa.Column('name_kk_latn', sa.String(length=120), nullable=False),
    sa.Column('admin_center_en', sa.String(length=120), nullable=False),
    sa.Column('admin_center_ru', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_region')),
    sa.UniqueConstraint('iso_code', name=op.f('uq_region_iso_code'))
    )
    op.create_table('municipality',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('name_ru', sa.String(length=120), nullable=False),
    sa.Column('name_kk', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_municipality_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_municipality')),
    sa.UniqueConstraint('region_id', 'name_en', name='uq_municipality_region_name')
    )
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_municipality_region_id'), ['region_id'], unique=False)

    op.create_table('akimat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_akimat_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_akimat_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_akimat')),
    sa.UniqueConstraint('region_id', 'municipality_id', name='uq_akimat_region_municipality')
    )
    with op.batch_alter_table('akimat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_akimat_municipality_id'), ['municipality_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_akimat_region_id'), ['region_id'], unique=False)

    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('preferred_language', sa.String(length=2), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('akimat_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.String(length=200), nullable=True),
    sa.Column('claimed_akimat_id', sa.Integer(), nullable=True),
    sa.Column('claimed_position', sa.String(length=200), nullable=True),
    sa.Column('claim_status', sa.String(length=20), nullable=False),
    sa.Column('claim_rejection_reason', sa.Text(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['akimat_id'], ['akimat.id'], name=op.f('fk_user_akimat_id_akimat')),
    sa.ForeignKeyConstraint(['claimed_akimat_id'], ['akimat.id'], name=op.f('fk_user_claimed_akimat_id_akimat')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email'))
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_akimat_id'), ['akimat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_claim_status'), ['claim_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_role'), ['role'], unique=False)

    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_audit_entry_actor_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_created_at'), ['created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_action'))

    op.drop_table('audit_entry')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_role'))
        batch_op.drop_index(batch_op.f('ix_user_claim_status'))
        batch_op.drop_index(batch_op.f('ix_user_akimat_id'))

    op.drop_table('user')
    with op.batch_alter_table('akimat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_akimat_region_id'))
        batch_op.drop_index(batch_op.f('ix_akimat_municipality_id'))

    op.drop_table('akimat')
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_municipality_region_id'))

    op.drop_table('municipality')
    op.drop_table('region')

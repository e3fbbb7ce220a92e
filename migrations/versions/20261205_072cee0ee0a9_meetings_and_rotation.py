"""Meetings and rotation: meetings, registrations, proposals, agenda items, commitments, rotation pins/exclusions.

Reviewed: seven new tables, nothing existing changes. meeting (uid unique for iCalendar; CHECK capacity > 0 and
registered_count >= 0, the counter kept by a conditional UPDATE so simultaneous registrations cannot overbook;
index on (scope, year, slot) for the rotation history); meeting_registration (unique per meeting and user);
meeting_proposal (unique per meeting and case study); agenda_item (case/proposal links SET NULL on delete);
meeting_commitment (adoption link SET NULL); rotation_pin (unique per scope, year, slot); rotation_exclusion.
Children of a meeting cascade on delete. Downgrade drops the seven tables.

Revision ID: 072cee0ee0a9
Revises: d1607b0e2f8f
Create Date: 2026-12-05 10:56:02.738181

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '072cee0ee0a9'
down_revision = 'd1607b0e2f8f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=120), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('edition', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('host_region_id', sa.Integer(), nullable=False),
    sa.Column('host_municipality_id', sa.Integer(), nullable=True),
    sa.Column('host_akimat_id', sa.Integer(), nullable=True),
    sa.Column('city', sa.String(length=200), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('online_url', sa.String(length=500), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registration_opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registration_closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('registered_count', sa.Integer(), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('state_reason', sa.Text(), nullable=True),
    sa.Column('call_open', sa.Boolean(), nullable=False),
    sa.Column('call_closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('outcomes_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_meeting_capacity_positive')),
    sa.CheckConstraint('registered_count >= 0', name=op.f('ck_meeting_registered_count_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_meeting_created_by_id_user')),
    sa.ForeignKeyConstraint(['host_akimat_id'], ['akimat.id'], name=op.f('fk_meeting_host_akimat_id_akimat')),
    sa.ForeignKeyConstraint(['host_municipality_id'], ['municipality.id'], name=op.f('fk_meeting_host_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['host_region_id'], ['region.id'], name=op.f('fk_meeting_host_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting')),
    sa.UniqueConstraint('uid', name='uq_meeting_uid')
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_host_municipality_id'), ['host_municipality_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_host_region_id'), ['host_region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_scope'), ['scope'], unique=False)
        batch_op.create_index('ix_meeting_scope_year_slot', ['scope', 'year', 'slot'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_year'), ['year'], unique=False)

    op.create_table('rotation_exclusion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('host_code', sa.String(length=120), nullable=False),
    sa.Column('until_year', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_rotation_exclusion_created_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotation_exclusion'))
    )
    with op.batch_alter_table('rotation_exclusion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotation_exclusion_scope'), ['scope'], unique=False)

    op.create_table('rotation_pin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('host_code', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_rotation_pin_created_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotation_pin')),
    sa.UniqueConstraint('scope', 'year', 'slot', name='uq_rotation_pin_slot')
    )
    with op.batch_alter_table('rotation_pin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotation_pin_scope'), ['scope'], unique=False)

    op.create_table('meeting_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('case_study_id', sa.Integer(), nullable=False),
    sa.Column('proposer_id', sa.Integer(), nullable=True),
    sa.Column('presenter_name', sa.String(length=200), nullable=False),
    sa.Column('pitch', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_study_id'], ['case_study.id'], name=op.f('fk_meeting_proposal_case_study_id_case_study'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_meeting_proposal_decided_by_id_user')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_proposal_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposer_id'], ['user.id'], name=op.f('fk_meeting_proposal_proposer_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_proposal')),
    sa.UniqueConstraint('meeting_id', 'case_study_id', name='uq_meeting_proposal_case')
    )
    with op.batch_alter_table('meeting_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_proposal_case_study_id'), ['case_study_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_proposal_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_proposal_state'), ['state'], unique=False)

    op.create_table('meeting_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('waitlisted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attended', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_registration_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_meeting_registration_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_registration')),
    sa.UniqueConstraint('meeting_id', 'user_id', name='uq_meeting_registration_user')
    )
    with op.batch_alter_table('meeting_registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_registration_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_registration_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_registration_user_id'), ['user_id'], unique=False)

    op.create_table('agenda_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('case_study_id', sa.Integer(), nullable=True),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('presenter_name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['case_study_id'], ['case_study.id'], name=op.f('fk_agenda_item_case_study_id_case_study'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_agenda_item_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['meeting_proposal.id'], name=op.f('fk_agenda_item_proposal_id_meeting_proposal'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_item'))
    )
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_item_case_study_id'), ['case_study_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agenda_item_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('meeting_commitment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('akimat_id', sa.Integer(), nullable=False),
    sa.Column('case_study_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('adoption_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['adoption_id'], ['adoption.id'], name=op.f('fk_meeting_commitment_adoption_id_adoption'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['akimat_id'], ['akimat.id'], name=op.f('fk_meeting_commitment_akimat_id_akimat')),
    sa.ForeignKeyConstraint(['case_study_id'], ['case_study.id'], name=op.f('fk_meeting_commitment_case_study_id_case_study'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_meeting_commitment_created_by_id_user')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_commitment_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_commitment'))
    )
    with op.batch_alter_table('meeting_commitment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_commitment_akimat_id'), ['akimat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_commitment_case_study_id'), ['case_study_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_commitment_meeting_id'), ['meeting_id'], unique=False)



def downgrade():
    with op.batch_alter_table('meeting_commitment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_commitment_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_commitment_case_study_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_commitment_akimat_id'))

    op.drop_table('meeting_commitment')
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agenda_item_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_agenda_item_case_study_id'))

    op.drop_table('agenda_item')
    with op.batch_alter_table('meeting_registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_registration_user_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_registration_state'))
        batch_op.drop_index(batch_op.f('ix_meeting_registration_meeting_id'))

    op.drop_table('meeting_registration')
    with op.batch_alter_table('meeting_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_proposal_state'))
        batch_op.drop_index(batch_op.f('ix_meeting_proposal_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_proposal_case_study_id'))

    op.drop_table('meeting_proposal')
    with op.batch_alter_table('rotation_pin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotation_pin_scope'))

    op.drop_table('rotation_pin')
    with op.batch_alter_table('rotation_exclusion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotation_exclusion_scope'))

    op.drop_table('rotation_exclusion')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_year'))
        batch_op.drop_index(batch_op.f('ix_meeting_state'))
        batch_op.drop_index(batch_op.f('ix_meeting_starts_at'))
        batch_op.drop_index('ix_meeting_scope_year_slot')
        batch_op.drop_index(batch_op.f('ix_meeting_scope'))
        batch_op.drop_index(batch_op.f('ix_meeting_host_region_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_host_municipality_id'))

    op.drop_table('meeting')

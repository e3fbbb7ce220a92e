"""Registration details: the organisers' registration questions, each person's answers, the public-listing opt-in.

Reviewed: meeting_registration gains ``show_publicly`` (Boolean, NOT NULL, server default false, so existing
registrations stay off the public attendee list). Two new tables: meeting_registration_question (meeting_id
CASCADE on delete, indexed; kind with CHECK ck_meeting_registration_question_kind_known; label; help_text;
required; options, one per line; position; created_at) and meeting_registration_answer (registration_id and
question_id, both CASCADE on delete and indexed, unique together; value). Downgrade drops both tables and the
column (the questions, the answers and the opt-ins are lost).

Revision ID: 9d4b7e2a6c15
Revises: 8f4a2c6e1b93
Create Date: 2026-12-11 00:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d4b7e2a6c15'
down_revision = '8f4a2c6e1b93'
branch_labels = None
depends_on = None

KIND_CHECK = "kind IN ('text', 'choice', 'yes_no')"


def upgrade():
    with op.batch_alter_table('meeting_registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_publicly', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table('meeting_registration_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('help_text', sa.String(length=500), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(KIND_CHECK, name=op.f('ck_meeting_registration_question_kind_known')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'],
                            name=op.f('fk_meeting_registration_question_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_registration_question'))
    )
    with op.batch_alter_table('meeting_registration_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_registration_question_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('meeting_registration_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['meeting_registration_question.id'],
                            name=op.f('fk_meeting_registration_answer_question_id_meeting_registration_question'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['meeting_registration.id'],
                            name=op.f('fk_meeting_registration_answer_registration_id_meeting_registration'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_registration_answer')),
    sa.UniqueConstraint('registration_id', 'question_id', name='uq_meeting_registration_answer_question')
    )
    with op.batch_alter_table('meeting_registration_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_registration_answer_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_registration_answer_registration_id'), ['registration_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('meeting_registration_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_registration_answer_registration_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_registration_answer_question_id'))
    op.drop_table('meeting_registration_answer')
    with op.batch_alter_table('meeting_registration_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_registration_question_meeting_id'))
    op.drop_table('meeting_registration_question')
    with op.batch_alter_table('meeting_registration', schema=None) as batch_op:
        batch_op.drop_column('show_publicly')

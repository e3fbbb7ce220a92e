"""Case studies, topics, revisions, attachments, questions, answers, adoptions, follows; digest settings.

Reviewed: the case_study table with its optimistic-lock version column and the indexes lists filter
on (state, region, level, language, status, started, published/updated dates); child tables cascade on
delete; user gains digest_enabled (default true, also for existing rows) and last_digest_at.

Revision ID: 9f78101cef28
Revises: 5a1f0c3d9b2e
Create Date: 2026-11-23 06:46:23.393900

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9f78101cef28'
down_revision = '5a1f0c3d9b2e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_study',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('started', sa.Integer(), nullable=False),
    sa.Column('ended', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=14), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('solution', sa.Text(), nullable=False),
    sa.Column('challenges', sa.Text(), nullable=False),
    sa.Column('results', sa.Text(), nullable=False),
    sa.Column('lessons', sa.Text(), nullable=False),
    sa.Column('budget_kzt', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('author_position', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=300), nullable=True),
    sa.Column('akimat_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['akimat_id'], ['akimat.id'], name=op.f('fk_case_study_akimat_id_akimat')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_case_study_created_by_id_user')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_case_study_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_case_study_region_id_region')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_case_study_updated_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_study')),
    sa.UniqueConstraint('slug', name=op.f('uq_case_study_slug'))
    )
    with op.batch_alter_table('case_study', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_study_akimat_id'), ['akimat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_study_language'), ['language'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_study_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_study_municipality_id'), ['municipality_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_study_published_at'), ['published_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_study_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_study_started'), ['started'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_study_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_study_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_study_updated_at'), ['updated_at'], unique=False)

    op.create_table('follow',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_follow_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow')),
    sa.UniqueConstraint('user_id', 'kind', 'key', name='uq_follow_user_kind_key')
    )
    with op.batch_alter_table('follow', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_user_id'), ['user_id'], unique=False)

    op.create_table('adoption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_study_id', sa.Integer(), nullable=False),
    sa.Column('akimat_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['akimat_id'], ['akimat.id'], name=op.f('fk_adoption_akimat_id_akimat')),
    sa.ForeignKeyConstraint(['case_study_id'], ['case_study.id'], name=op.f('fk_adoption_case_study_id_case_study'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_adoption_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adoption')),
    sa.UniqueConstraint('case_study_id', 'akimat_id', name='uq_adoption_case_akimat')
    )
    with op.batch_alter_table('adoption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adoption_akimat_id'), ['akimat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_adoption_case_study_id'), ['case_study_id'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_study_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_study_id'], ['case_study.id'], name=op.f('fk_attachment_case_study_id_case_study'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_attachment_uploaded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_attachment_stored_name'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_case_study_id'), ['case_study_id'], unique=False)

    op.create_table('case_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_study_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_case_revision_author_id_user')),
    sa.ForeignKeyConstraint(['case_study_id'], ['case_study.id'], name=op.f('fk_case_revision_case_study_id_case_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_revision')),
    sa.UniqueConstraint('case_study_id', 'number', name='uq_case_revision_number')
    )
    with op.batch_alter_table('case_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_revision_case_study_id'), ['case_study_id'], unique=False)

    op.create_table('case_topic',
    sa.Column('case_study_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['case_study_id'], ['case_study.id'], name=op.f('fk_case_topic_case_study_id_case_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_study_id', 'topic', name=op.f('pk_case_topic'))
    )
    with op.batch_alter_table('case_topic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_topic_topic'), ['topic'], unique=False)

    op.create_table('question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_study_id', sa.Integer(), nullable=False),
    sa.Column('asker_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asker_id'], ['user.id'], name=op.f('fk_question_asker_id_user')),
    sa.ForeignKeyConstraint(['case_study_id'], ['case_study.id'], name=op.f('fk_question_case_study_id_case_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question'))
    )
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_asker_id'), ['asker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_question_case_study_id'), ['case_study_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_question_created_at'), ['created_at'], unique=False)

    op.create_table('answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_answer_author_id_user')),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_answer_question_id_question'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer'))
    )
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_answer_question_id'), ['question_id'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_enabled', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('last_digest_at', sa.DateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('last_digest_at')
        batch_op.drop_column('digest_enabled')

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_question_id'))
        batch_op.drop_index(batch_op.f('ix_answer_created_at'))

    op.drop_table('answer')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_created_at'))
        batch_op.drop_index(batch_op.f('ix_question_case_study_id'))
        batch_op.drop_index(batch_op.f('ix_question_asker_id'))

    op.drop_table('question')
    with op.batch_alter_table('case_topic', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_topic_topic'))

    op.drop_table('case_topic')
    with op.batch_alter_table('case_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_revision_case_study_id'))

    op.drop_table('case_revision')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_case_study_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('adoption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adoption_case_study_id'))
        batch_op.drop_index(batch_op.f('ix_adoption_akimat_id'))

    op.drop_table('adoption')
    with op.batch_alter_table('follow', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_user_id'))

    op.drop_table('follow')
    with op.batch_alter_table('case_study', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_study_updated_at'))
        batch_op.drop_index(batch_op.f('ix_case_study_status'))
        batch_op.drop_index(batch_op.f('ix_case_study_state'))
        batch_op.drop_index(batch_op.f('ix_case_study_started'))
        batch_op.drop_index(batch_op.f('ix_case_study_region_id'))
        batch_op.drop_index(batch_op.f('ix_case_study_published_at'))
        batch_op.drop_index(batch_op.f('ix_case_study_municipality_id'))
        batch_op.drop_index(batch_op.f('ix_case_study_level'))
        batch_op.drop_index(batch_op.f('ix_case_study_language'))
        batch_op.drop_index(batch_op.f('ix_case_study_akimat_id'))

    op.drop_table('case_study')

"""review_answer, contact_proposal: the review desk's answers and the contacts suppliers propose

Revision ID: 0012_review_desk
Revises: 0011_bounces
Create Date: 2026-12-02 15:45:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.columns


revision = '0012_review_desk'
down_revision = '0011_bounces'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('campaign_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cid', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('spelling_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('answered_at', models.columns.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_key')
    )
    with op.batch_alter_table('review_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_answer_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_answer_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_answer_spelling_key'), ['spelling_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_answer_survey_id'), ['survey_id'], unique=False)

    op.create_table('contact_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('proposed_at', models.columns.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['supplier_id'], ['supplier.id'], ),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contact_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_proposal_supplier_id'), ['supplier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_proposal_survey_id'), ['survey_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contact_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_proposal_survey_id'))
        batch_op.drop_index(batch_op.f('ix_contact_proposal_supplier_id'))
    op.drop_table('contact_proposal')
    with op.batch_alter_table('review_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_answer_survey_id'))
        batch_op.drop_index(batch_op.f('ix_review_answer_spelling_key'))
        batch_op.drop_index(batch_op.f('ix_review_answer_kind'))
        batch_op.drop_index(batch_op.f('ix_review_answer_campaign_id'))
    op.drop_table('review_answer')

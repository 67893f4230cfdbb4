"""Bounces read from the bounce mailbox: the outbox row's return path (VERP token) and what the relay
reported after accepting it; bounce_mail keeps every message read from the bounce mailbox.

Revision ID: 0011_bounces
Revises: 0010_legal_hold
Create Date: 2026-12-02 16:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.columns


revision = '0011_bounces'
down_revision = '0010_legal_hold'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('bounce_kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch_op.add_column(sa.Column('bounce_detail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('bounced_at', models.columns.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('soft_bounces', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('first_soft_bounce_at', models.columns.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('retry_at', models.columns.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_return_token'), ['return_token'], unique=True)
        batch_op.create_index(batch_op.f('ix_outbox_message_retry_at'), ['retry_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_message_id'), ['message_id'], unique=False)
    op.create_table('bounce_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('received_at', models.columns.UTCDateTime(), nullable=False),
    sa.Column('from_addr', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('diagnostic', sa.Text(), nullable=True),
    sa.Column('matched_by', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('survey_told_at', models.columns.UTCDateTime(), nullable=True),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_message.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest')
    )
    op.create_index(op.f('ix_bounce_mail_kind'), 'bounce_mail', ['kind'], unique=False)
    op.create_index(op.f('ix_bounce_mail_outbox_id'), 'bounce_mail', ['outbox_id'], unique=False)
    op.create_index(op.f('ix_bounce_mail_survey_id'), 'bounce_mail', ['survey_id'], unique=False)


def downgrade() -> None:
    op.drop_table('bounce_mail')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_message_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_retry_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_return_token'))
        for name in ('retry_at', 'first_soft_bounce_at', 'soft_bounces', 'bounced_at', 'bounce_detail',
                     'bounce_kind', 'return_token'):
            batch_op.drop_column(name)

"""legal_hold: supplier and campaign records no retention purge may remove

Revision ID: 0010_legal_hold
Revises: 0009_audit_entry
Create Date: 2026-12-02 15:50:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.columns


revision = '0010_legal_hold'
down_revision = '0009_audit_entry'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('legal_hold',
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('release_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('target_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('placed_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('placed_at', models.columns.UTCDateTime(), nullable=False),
    sa.Column('released_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('released_at', models.columns.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_legal_hold_scope'), 'legal_hold', ['scope'], unique=False)
    op.create_index(op.f('ix_legal_hold_target_id'), 'legal_hold', ['target_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_legal_hold_target_id'), table_name='legal_hold')
    op.drop_index(op.f('ix_legal_hold_scope'), table_name='legal_hold')
    op.drop_table('legal_hold')

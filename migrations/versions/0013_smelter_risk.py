"""smelter risk: watch lists, cross-recognition lists and compliance's risk overrides

Revision ID: 0013_smelter_risk
Revises: 0012_review_desk
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.columns


revision = '0013_smelter_risk'
down_revision = '0012_review_desk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('smelter_risk_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('scheme', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('source_name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('imported_at', models.columns.UTCDateTime(), nullable=False),
    sa.Column('imported_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('unmatched', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('smelter_risk_list', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_smelter_risk_list_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_smelter_risk_list_scheme'), ['scheme'], unique=False)
        batch_op.create_index(batch_op.f('ix_smelter_risk_list_sha256'), ['sha256'], unique=False)

    op.create_table('smelter_risk_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('metal', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('declared_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('listed_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('cid', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['smelter_risk_list.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('smelter_risk_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_smelter_risk_entry_cid'), ['cid'], unique=False)
        batch_op.create_index(batch_op.f('ix_smelter_risk_entry_list_id'), ['list_id'], unique=False)

    op.create_table('smelter_risk_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cid', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('set_at', models.columns.UTCDateTime(), nullable=False),
    sa.Column('cleared_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('cleared_at', models.columns.UTCDateTime(), nullable=True),
    sa.Column('clear_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('smelter_risk_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_smelter_risk_override_cid'), ['cid'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('smelter_risk_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_smelter_risk_override_cid'))
    op.drop_table('smelter_risk_override')
    with op.batch_alter_table('smelter_risk_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_smelter_risk_entry_list_id'))
        batch_op.drop_index(batch_op.f('ix_smelter_risk_entry_cid'))
    op.drop_table('smelter_risk_entry')
    with op.batch_alter_table('smelter_risk_list', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_smelter_risk_list_sha256'))
        batch_op.drop_index(batch_op.f('ix_smelter_risk_list_scheme'))
        batch_op.drop_index(batch_op.f('ix_smelter_risk_list_kind'))
    op.drop_table('smelter_risk_list')

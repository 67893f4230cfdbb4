"""finding.params: the values a finding's sentence was written with, so it can be said in the supplier's language

Revision ID: 0015_finding_params
Revises: 0014_supplier_language
Create Date: 2026-12-02 17:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0015_finding_params'
down_revision = '0014_supplier_language'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: rows stored before this have no parameters and keep their English sentence
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_column('params')

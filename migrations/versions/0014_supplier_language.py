"""supplier.portal_language: the language a supplier chose on its portal (remembered for its pages and emails)

Revision ID: 0014_supplier_language
Revises: 0013_smelter_risk
Create Date: 2026-12-02 16:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0014_supplier_language'
down_revision = '0013_smelter_risk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('supplier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('portal_language', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('supplier', schema=None) as batch_op:
        batch_op.drop_column('portal_language')

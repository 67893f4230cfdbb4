"""campaign.kind and campaign.minerals: a campaign asks for a CMRT or an EMRT (and which minerals)

Revision ID: 0016_campaign_kind
Revises: 0015_finding_params
Create Date: 2026-12-02 17:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0016_campaign_kind'
down_revision = '0015_finding_params'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every campaign before this one asked for the CMRT.
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=8), nullable=False, server_default='CMRT'))
        batch_op.add_column(sa.Column('minerals', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('minerals')
        batch_op.drop_column('kind')

"""app_user.deactivated_at: an account can be deactivated (it signs in no more; its row stays)

The roles themselves need no change of data: the accounts so far are analysts or admins, both roles
of outreach/roles.py.

Revision ID: 0008_user_deactivated
Revises: 0007_survey_answer_by
Create Date: 2026-12-12 09:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import models.columns


revision = '0008_user_deactivated'
down_revision = '0007_survey_answer_by'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deactivated_at', models.columns.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('deactivated_at')

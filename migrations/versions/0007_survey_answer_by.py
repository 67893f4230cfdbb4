"""survey.answer_by: by when the supplier must act in the current step

The due date while the first answer is awaited, the end of the correction or product-level window in
those steps (models.facts.deadlines.answer_by, written by the survey workflow with every event). Rows
waiting for a first answer take their due date now; rows in a correction or product-level step get theirs
with the survey's next event (until then no face states a date it cannot vouch for).

Revision ID: 0007_survey_answer_by
Revises: 0006_sessions_lapsed
Create Date: 2026-12-10 09:00:00.000000
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import models.columns


revision = '0007_survey_answer_by'
down_revision = '0006_sessions_lapsed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_by', models.columns.UTCDateTime(), nullable=True))
    utc = models.columns.UTCDateTime()
    survey = sa.table('survey', sa.column('state', sa.String()), sa.column('due_at', utc),
                      sa.column('answer_by', utc))
    op.get_bind().execute(survey.update()
                          .where(survey.c.state.in_(['requested', 'awaiting_response', 'chasing']))
                          .values(answer_by=survey.c.due_at))


def downgrade() -> None:
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_column('answer_by')

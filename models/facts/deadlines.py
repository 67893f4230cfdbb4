"""By when the supplier must act, in whichever step the survey waits (one date for every face).

The workflow schedules its escalation from it, records it in the read model (``Survey.answer_by``) and
states it in its emails; the portal and the dashboard read the recorded date. So the email and the page
cannot disagree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from models.enums import SurveyState
from models.policy import CampaignPolicy

# The states in which the first answer is awaited: the deadline is the survey's due date.
FIRST_ANSWER = (SurveyState.requested, SurveyState.awaiting_response, SurveyState.chasing)


def window_ends(state: SurveyState | str, phase_started_at: Optional[datetime], policy: CampaignPolicy,
                extended_by: timedelta = timedelta(0)) -> Optional[datetime]:
    """The end of a correction round or of the product-level window: its start (shifted by pauses), the
    policy's window, and any extension the compliance team granted. None in other states."""
    if phase_started_at is None:
        return None
    if state == SurveyState.correction_requested:
        return phase_started_at + policy.correction_window + extended_by
    if state == SurveyState.product_level_requested:
        return phase_started_at + policy.product_level_window + extended_by
    return None


def answer_by(state: SurveyState | str, *, due_at: Optional[datetime], phase_started_at: Optional[datetime],
              policy: CampaignPolicy, extended_by: timedelta = timedelta(0)) -> Optional[datetime]:
    """The date the supplier must act by now: the due date while the first answer is awaited (also once it
    has passed), the end of the correction or product-level window, nothing in other states."""
    if state in FIRST_ANSWER:
        return due_at
    return window_ends(state, phase_started_at, policy, extended_by)

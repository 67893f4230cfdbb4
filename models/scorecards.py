"""Supplier scorecards: the event the survey workflow reports, and (below) the scorecard tables."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Optional

from pydantic import BaseModel

ScorecardEventKind = Literal[
    "request_sent", "first_submission", "correction_round", "outcome", "cap_verified", "escalation_decided",
]


class ScorecardEvent(BaseModel):
    """Something that moves a supplier's score. The activity reads the rest from the read model."""

    survey_id: str
    kind: ScorecardEventKind
    at: datetime  # workflow time
    submission_id: Optional[str] = None
    outcome: Optional[str] = None
    decision: Optional[str] = None

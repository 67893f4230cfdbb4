"""Supplier scorecards: the event the survey workflow reports, and (below) the scorecard tables."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Optional

from pydantic import BaseModel
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import UTCDateTime, utcnow

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


# --- Tables ----------------------------------------------------------------------------------


def scorecard_key(supplier_id: str, year: int) -> str:
    """The scorecard's primary key: one per supplier and campaign year."""
    return f"{supplier_id}:{year}"


class Scorecard(SQLModel, table=True):
    """A supplier's conflict-minerals score for one campaign year, recomputed from the read model.

    ``components`` maps a component name to ``{"score": 0..100 or null, "weight", "status", "label",
    "detail"}``; ``reasons`` is a list of ``{"component", "text", "points"}`` (points lost, largest first).
    """

    __tablename__ = "scorecard"
    __table_args__ = (UniqueConstraint("supplier_id", "year"),)

    id: str = Field(primary_key=True, max_length=100, description="supplier_id:year (see scorecard_key)")
    supplier_id: str = Field(foreign_key="supplier.id", index=True, max_length=64)
    year: int = Field(index=True)
    campaign_id: Optional[str] = Field(default=None, max_length=64)
    survey_id: Optional[str] = Field(default=None, max_length=200)
    components: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    total: Optional[float] = Field(default=None, description="0..100, weighted over the scored components")
    grade: Optional[str] = Field(default=None, max_length=4, index=True)
    reasons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # How many distinct score-moving events were applied (replays of the same event count once).
    events_applied: int = Field(default=0)
    events_by_kind: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    last_event_kind: Optional[str] = Field(default=None, max_length=32)
    last_event_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime, nullable=True)
    version: int = Field(default=0, description="Bumped at every recomputation.")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ScorecardEventApplied(SQLModel, table=True):
    """One row per distinct event applied to a scorecard: a retried or replayed activity finds its row."""

    __tablename__ = "scorecard_event_applied"
    __table_args__ = (UniqueConstraint("scorecard_id", "event_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    scorecard_id: str = Field(foreign_key="scorecard.id", index=True, max_length=100)
    event_key: str = Field(max_length=400)
    survey_id: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    applied_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

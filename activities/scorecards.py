"""The ``update_scorecard`` activity: the survey workflow reports each event that moves a score.

A plain (sync) activity: the worker runs it in its thread pool. The work is in
:func:`outreach.scorecards.update_scorecard` (recompute from the read model under a row lock), so a
retry or a replay of the same event converges on the same scorecard and counts the event once.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.scorecards import ScorecardEvent
from outreach import scorecards
from outreach.scoring import ScoringConfig
from outreach.settings import Settings


class ScorecardResult(BaseModel):
    supplier_id: str
    year: int
    total: float | None
    grade: str | None
    events_applied: int
    new_event: bool


class ScorecardActivities:
    def __init__(self, settings: Settings, engine: Engine, config: ScoringConfig | None = None):
        self.settings = settings
        self.engine = engine
        # Weights and grade bands: OUTREACH_SCORECARD_WEIGHTS / _GRADES / _POINTS (see outreach/scoring.py).
        self.config = config or ScoringConfig.from_settings(settings)

    @activity.defn(name="update_scorecard")
    def update_scorecard(self, event: ScorecardEvent) -> ScorecardResult:
        try:
            done = scorecards.update_scorecard(self.engine, event, config=self.config)
        except scorecards.SurveyNotFound as exc:
            # Retryable on purpose: the survey's own read-model write may still be on its way.
            raise ApplicationError(str(exc), type="SurveyNotFound") from exc
        return ScorecardResult(
            supplier_id=done.supplier_id, year=done.year, total=done.total, grade=done.grade,
            events_applied=done.events_applied, new_event=done.new_event,
        )

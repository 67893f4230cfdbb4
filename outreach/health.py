"""Is the product working? Read from the read model, for /healthz, the dashboard's banner and the campaign page.

Two kinds of trouble make the product degraded:

- **mail**: messages in the outbox still undelivered `OUTREACH_HEALTH_MAIL_WAITING_MINUTES` after their first
  attempt and still being retried (an attempt in the last hour; retries are at most ten minutes apart). The
  relay is down or refusing for now: the surveys wait, their clocks start at delivery.
- **activities**: an activity that failed `OUTREACH_HEALTH_ACTIVITY_ATTEMPTS` times in a row and is still
  retried (activities/failures.py writes the rows, and deletes them when the activity succeeds).

A pending message no longer retried (its workflow was terminated) is not an outage: the campaign page still
lists it with the time of its last attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.enums import OutboxStatus
from models.tables import ActivityFailure, OutboxMessage
from outreach.settings import Settings

# A retried message or activity is attempted at least every 10 minutes: past an hour, nothing retries it.
STILL_RETRIED = timedelta(hours=1)


@dataclass
class WaitingMessage:
    to: str
    template: str
    key: str
    campaign_id: Optional[str]
    survey_id: Optional[str]
    since: datetime
    attempts: int
    last_error: Optional[str]
    last_attempt_at: Optional[datetime]

    @property
    def supplier_id(self) -> Optional[str]:
        return self.survey_id.split("/")[2] if self.survey_id else None

    @property
    def still_retried(self) -> bool:
        return self.last_attempt_at is not None and self.last_attempt_at >= datetime.now(timezone.utc) - STILL_RETRIED

    @classmethod
    def of(cls, row: OutboxMessage) -> "WaitingMessage":
        return cls(to=row.to_addr, template=row.template, key=row.idempotency_key, campaign_id=row.campaign_id,
                   survey_id=OutboxMessage.survey_of_key(row.idempotency_key), since=row.created_at,
                   attempts=row.attempts, last_error=row.last_error, last_attempt_at=row.last_attempt_at)


@dataclass
class FailingActivity:
    activity: str
    workflow_id: str
    campaign_id: Optional[str]
    attempts: int
    last_error: Optional[str]
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass
class Health:
    checked_at: datetime
    waiting_minutes: int
    undelivered: int = 0
    oldest: Optional[WaitingMessage] = None
    failing: list[FailingActivity] = field(default_factory=list)

    @property
    def degraded(self) -> bool:
        return bool(self.undelivered or self.failing)

    @property
    def mail_problem(self) -> Optional[str]:
        if not self.undelivered or self.oldest is None:
            return None
        o = self.oldest
        plural = "message" if self.undelivered == 1 else "messages"
        return (f"{self.undelivered} {plural} undelivered, oldest since {_clock(o.since, self.checked_at)} "
                f"({o.template} to {o.to}, {o.attempts} attempts), last error: {_short(o.last_error)}")

    @property
    def activity_problem(self) -> Optional[str]:
        if not self.failing:
            return None
        f = self.failing[0]
        more = f" and {len(self.failing) - 1} more" if len(self.failing) > 1 else ""
        return (f"{f.activity} failing for {f.workflow_id} since {_clock(f.first_seen_at, self.checked_at)} "
                f"({f.attempts} attempts){more}, last error: {_short(f.last_error)}")

    def as_json(self) -> dict:
        body: dict = {"status": "degraded" if self.degraded else "ok"}
        if self.mail_problem:
            body["mail"] = self.mail_problem
            body["undelivered"] = self.undelivered
        if self.activity_problem:
            body["activities"] = self.activity_problem
            body["failing_activities"] = len(self.failing)
        return body


def _clock(at: datetime, now: datetime) -> str:
    at = at.astimezone(timezone.utc)
    same_day = at.date() == now.astimezone(timezone.utc).date()
    return at.strftime("%H:%M UTC" if same_day else "%d %b %Y %H:%M UTC")


def _short(error: Optional[str], limit: int = 200) -> str:
    text = " ".join((error or "none recorded").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check(engine: Engine, settings: Settings, now: Optional[datetime] = None) -> Health:
    """Two small indexed queries: the outbox's pending rows and the failing activities."""
    now = now or datetime.now(timezone.utc)
    minutes = settings.health_mail_waiting_minutes
    health = Health(checked_at=now, waiting_minutes=minutes)
    outage = (OutboxMessage.status == OutboxStatus.pending.value,
              OutboxMessage.created_at <= now - timedelta(minutes=minutes),
              OutboxMessage.last_attempt_at >= now - STILL_RETRIED)
    with Session(engine) as s:
        health.undelivered = s.exec(select(func.count()).select_from(OutboxMessage).where(*outage)).one()
        if health.undelivered:
            oldest = s.exec(select(OutboxMessage).where(*outage).order_by(OutboxMessage.created_at).limit(1)).first()
            health.oldest = WaitingMessage.of(oldest) if oldest else None
        rows = s.exec(select(ActivityFailure).where(ActivityFailure.last_seen_at >= now - STILL_RETRIED)
                      .order_by(ActivityFailure.first_seen_at).limit(50)).all()
    health.failing = [FailingActivity(activity=r.activity, workflow_id=r.workflow_id, campaign_id=r.campaign_id,
                                      attempts=r.attempts, last_error=r.last_error, first_seen_at=r.first_seen_at,
                                      last_seen_at=r.last_seen_at) for r in rows]
    return health


def waiting_messages(engine: Engine, campaign_id: str, limit: int = 200) -> list[WaitingMessage]:
    """A campaign's messages not yet delivered, oldest first (however recent: the page shows what waits)."""
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.campaign_id == campaign_id,
                                                  OutboxMessage.status == OutboxStatus.pending.value)
                      .order_by(OutboxMessage.created_at).limit(limit)).all()
    return [WaitingMessage.of(r) for r in rows]


def failing_activities(engine: Engine, campaign_id: str) -> list[FailingActivity]:
    with Session(engine) as s:
        rows = s.exec(select(ActivityFailure).where(ActivityFailure.campaign_id == campaign_id,
                                                    ActivityFailure.last_seen_at >= datetime.now(timezone.utc) - STILL_RETRIED)
                      .order_by(ActivityFailure.first_seen_at)).all()
    return [FailingActivity(activity=r.activity, workflow_id=r.workflow_id, campaign_id=r.campaign_id,
                            attempts=r.attempts, last_error=r.last_error, first_seen_at=r.first_seen_at,
                            last_seen_at=r.last_seen_at) for r in rows]

"""Activities that keep failing are made visible: a row per failing activity in `activity_failure`.

Temporal retries every activity of the product without end (an outage of the database or of a service must
not lose work); without this, an activity that fails for days is only a line in the worker's log. The
worker's interceptor records each failed attempt from `OUTREACH_HEALTH_ACTIVITY_ATTEMPTS` on (which activity,
which workflow and so which campaign, how many attempts, the last error, since when) and deletes the row when
that activity succeeds. The dashboard's banner and /healthz read the table (outreach/health.py).

It also keeps the worker's log readable during an outage: the first failure of an activity is logged with
its traceback (by the SDK); each retry after it is one warning line (the SDK logs a benign failure at debug
level). Emails are left to the outbox, which records their delivery state itself (activities/email.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory, CancelledError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from models.columns import utcnow
from models.tables import ActivityFailure
from outreach.db import session_scope

log = logging.getLogger("outreach.activities")

# Recorded by the outbox instead (delivery state per message).
NOT_RECORDED = frozenset({"send_email"})
MAX_ERROR = 2000


def failure_key(info: activity.Info) -> str:
    return f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"


def campaign_of_workflow(workflow_id: Optional[str]) -> Optional[str]:
    """Survey, plan and escalation workflow IDs start with `survey/<campaign>/`, the campaign's with
    `campaign/<campaign>`."""
    if not workflow_id:
        return None
    parts = workflow_id.split("/")
    if len(parts) >= 2 and parts[0] in ("survey", "campaign") and parts[1]:
        return parts[1][:64]
    return None


class FailureLog:
    """Writes and clears `activity_failure` rows. Never raises: the database may be what is failing."""

    def __init__(self, engine: Engine, threshold: int = 3):
        self.engine = engine
        self.threshold = threshold

    def record(self, info: activity.Info, error: str) -> None:
        key, now = failure_key(info), utcnow()
        values: dict[str, Any] = dict(attempts=info.attempt, last_error=error[:MAX_ERROR], last_seen_at=now)
        try:
            with session_scope(self.engine) as s:
                done = s.exec(update(ActivityFailure).where(ActivityFailure.key == key).values(**values))
                if done.rowcount:
                    return
            with session_scope(self.engine) as s:
                s.add(ActivityFailure(key=key, activity=info.activity_type, workflow_id=info.workflow_id or "",
                                      campaign_id=campaign_of_workflow(info.workflow_id), first_seen_at=now, **values))
        except IntegrityError:
            pass  # a concurrent attempt wrote it
        except SQLAlchemyError as exc:
            log.warning("could not record the failure of %s: %s", info.activity_type, str(exc).splitlines()[0])

    def clear(self, info: activity.Info) -> None:
        try:
            with session_scope(self.engine) as s:
                s.exec(delete(ActivityFailure).where(ActivityFailure.key == failure_key(info)))
        except SQLAlchemyError as exc:
            log.warning("could not clear the failure of %s: %s", info.activity_type, str(exc).splitlines()[0])


def _describe(err: BaseException) -> str:
    if isinstance(err, ApplicationError):
        return f"{err.type or 'ApplicationError'}: {err.message}"
    return f"{type(err).__name__}: {err}".strip()


def _retried(err: BaseException) -> bool:
    """Will Temporal retry it? (Non-retryable application errors and cancellations end the activity.)"""
    if isinstance(err, (asyncio.CancelledError, CancelledError)):
        return False
    return not (isinstance(err, ApplicationError) and err.non_retryable)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, nxt: ActivityInboundInterceptor, failures: FailureLog):
        super().__init__(nxt)
        self.failures = failures

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        recorded = info.activity_type not in NOT_RECORDED
        try:
            result = await super().execute_activity(input)
        except Exception as err:
            if not _retried(err):
                if recorded and info.attempt >= self.failures.threshold:
                    await asyncio.to_thread(self.failures.clear, info)  # it ended: nothing retries it now
                raise
            error = _describe(err)
            if recorded and info.attempt >= self.failures.threshold:
                await asyncio.to_thread(self.failures.record, info, error)
            if info.attempt <= 1 or (isinstance(err, ApplicationError) and err.category == ApplicationErrorCategory.BENIGN):
                raise  # the first failure keeps its traceback in the log
            log.warning("%s failed again (attempt %d, %s): %s", info.activity_type, info.attempt, info.workflow_id, error)
            raise ApplicationError(error, type=err.type if isinstance(err, ApplicationError) else type(err).__name__,
                                   next_retry_delay=err.next_retry_delay if isinstance(err, ApplicationError) else None,
                                   category=ApplicationErrorCategory.BENIGN) from None
        if recorded and info.attempt >= self.failures.threshold:
            await asyncio.to_thread(self.failures.clear, info)
        return result


class FailureInterceptor(Interceptor):
    """The worker's interceptor (worker.build_worker)."""

    def __init__(self, engine: Engine, threshold: int = 3):
        self.failures = FailureLog(engine, threshold)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self.failures)


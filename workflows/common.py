"""Activity options shared by every workflow (retries are infrastructure, not business waits), and the one
way a workflow sends an email."""

from __future__ import annotations

from datetime import timedelta
from typing import Optional

from temporalio import workflow
from temporalio.common import RetryPolicy

from activities.email import EmailRequest, EmailResult

# The SMTP server may be down for hours: keep trying, backing off to every 10 minutes.
EMAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2.0,
                          maximum_interval=timedelta(minutes=10))
EMAIL_OPTIONS = dict(start_to_close_timeout=timedelta(minutes=2), retry_policy=EMAIL_RETRY)

# Database writes and checks: short, retried with backoff until the database is back.
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                       maximum_interval=timedelta(minutes=5))
DB_OPTIONS = dict(start_to_close_timeout=timedelta(minutes=1), retry_policy=DB_RETRY)
# The survey's read-model and scorecard writes run as local activities: short, idempotent (keyed by the
# event's sequence number), so they need no task queue round trip through the server. Retried the same
# way, without end; past a minute between attempts the SDK waits on a durable timer.
LOCAL_DB_OPTIONS = dict(start_to_close_timeout=timedelta(minutes=1), retry_policy=DB_RETRY)

# Emails run as local activities too (added after the first releases): the outbox makes every attempt
# idempotent, and a survey's request then costs one workflow task instead of an activity task and a second
# workflow task. Every retry waits on a durable timer (threshold 1 s), so an SMTP outage of hours neither
# holds a workflow task open nor stops the clock of a test server that skips time.
LOCAL_EMAIL_OPTIONS = dict(start_to_close_timeout=timedelta(minutes=2), retry_policy=EMAIL_RETRY,
                           local_retry_threshold=timedelta(seconds=1))


# One attempt, no retry: for a message whose content counts from the moment it is delivered (a survey's
# request states its due date), the workflow retries it itself with `email_retry_delay` and a fresh context.
LOCAL_EMAIL_ONCE_OPTIONS = dict(start_to_close_timeout=timedelta(minutes=2),
                                retry_policy=RetryPolicy(maximum_attempts=1))


def email_retry_delay(failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: EMAIL_RETRY's schedule (5 s, doubling, at most 10 minutes)."""
    initial, cap = EMAIL_RETRY.initial_interval, EMAIL_RETRY.maximum_interval
    assert initial is not None and cap is not None
    if failed_attempts >= 12:  # 5 s * 2**11 is far past the cap
        return cap
    return min(cap, initial * (EMAIL_RETRY.backoff_coefficient ** max(0, failed_attempts - 1)))


async def send_email(req: EmailRequest, *, local: Optional[bool] = None, once: bool = False) -> EmailResult:
    """One outbox email from any workflow. Runs recorded before the change replay with the regular activity
    (`local` given: the caller already knows which release its run follows). `once`: a single attempt (a
    local activity) whose failure raises ActivityError for the caller to retry."""
    if once:
        return await workflow.execute_local_activity("send_email", req, result_type=EmailResult,
                                                     **LOCAL_EMAIL_ONCE_OPTIONS)
    if local is None:
        local = workflow.patched("local-email")
    if local:
        return await workflow.execute_local_activity("send_email", req, result_type=EmailResult,
                                                     **LOCAL_EMAIL_OPTIONS)
    return await workflow.execute_activity("send_email", req, result_type=EmailResult, **EMAIL_OPTIONS)

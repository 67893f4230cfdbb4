"""Activity options shared by every workflow (retries are infrastructure, not business waits)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

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

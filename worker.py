"""The worker: runs every workflow and activity against the configured Temporal address.

Run several (on one host or many) to scale out; they share the task queue.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from outreach.settings import Settings

# The project's own pure modules and heavy libraries are imported once, not per workflow run
# (un-passed, sqlmodel/sqlalchemy cost ≈300 ms per run inside the sandbox).
PASSTHROUGH_MODULES = ("models", "cmrt", "activities", "outreach", "pydantic", "sqlmodel", "sqlalchemy", "jinja2",
                       "babel")


def workflow_runner(sandbox: bool = True) -> WorkflowRunner:
    """The sandbox re-imports a workflow's module for every workflow instance and runs every activation
    and every payload conversion through its import guards: it catches non-deterministic code (a clock,
    a random number, I/O) as soon as a test reaches it, at ≈30% of the worker's CPU per survey. The test
    suite runs every workflow inside it; `OUTREACH_WORKFLOW_SANDBOX` decides for a running product."""
    if not sandbox:
        return UnsandboxedWorkflowRunner()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def build_worker(client: Client, settings: Settings, engine: Engine, *, task_queue: str | None = None,
                 **worker_options) -> Worker:
    from activities import build_activities
    from activities.failures import FailureInterceptor
    from workflows import ALL_WORKFLOWS

    # An activity that keeps failing is recorded for the dashboard and /healthz (activities/failures.py).
    interceptors = [FailureInterceptor(engine, settings.health_activity_attempts),
                    *worker_options.pop("interceptors", [])]

    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=ALL_WORKFLOWS,
        activities=build_activities(settings, engine),
        activity_executor=ThreadPoolExecutor(max_workers=settings.worker_max_concurrent_activities),
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_cached_workflows=settings.worker_max_cached_workflows,
        workflow_runner=workflow_runner(settings.workflow_sandbox),
        interceptors=interceptors,
        **worker_options,  # tests: e.g. a short sticky_queue_schedule_to_start_timeout
    )


async def run_worker(settings: Settings) -> None:
    from outreach.db import engine_from_settings
    from outreach.temporal_client import connect

    client = await connect(settings)
    engine = engine_from_settings(settings)
    worker = build_worker(client, settings, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        logging.getLogger("outreach.worker").info(
            "worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
        await start_bounce_watch(client, settings)
        await stop.wait()


async def start_bounce_watch(client: Client, settings: Settings) -> None:
    """The one bounce watch of the deployment (workflows/bounce_watch.py): started by whichever worker comes
    first; every other worker finds it running. A failure to start it is logged, never fatal: the
    worker's other work goes on, and the next worker start tries again."""
    from datetime import timedelta

    from temporalio.common import WorkflowIDConflictPolicy

    from workflows.bounce_watch import WORKFLOW_ID, BounceWatchInput, BounceWatchWorkflow

    if not settings.bounce_watch:
        return
    try:
        await client.start_workflow(
            BounceWatchWorkflow.run, BounceWatchInput(every=timedelta(seconds=settings.bounce_poll_seconds)),
            id=WORKFLOW_ID, task_queue=settings.task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    except Exception as exc:  # noqa: BLE001 - logged; bounces wait until the next start
        logging.getLogger("outreach.worker").warning("the bounce watch did not start: %s", exc)


def main() -> None:
    from outreach.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:  # uvloop where it exists (not on Windows): the same worker on a cheaper event loop
        from uvloop import run
    except ImportError:
        run = asyncio.run
    run(run_worker(get_settings()))


if __name__ == "__main__":
    main()

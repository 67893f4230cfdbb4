"""Running the product: `outreach up`, `outreach worker`, `outreach db upgrade`."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Optional

import typer

db_app = typer.Typer(help="The read-model database (SQLite by default, PostgreSQL in production).",
                     no_args_is_help=True)


def _settings():
    from outreach.settings import ConfigurationError, load_settings

    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _exit_now(code: int) -> None:
    """Exit without interpreter finalization once a Temporal client lived in this process: the SDK's
    runtime can abort the process at finalization (seen: PyGILState_Release, exit 134), which would
    turn a clean stop or a passing health check into a failure."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def up(
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir", help="Folder for the embedded stack's state (overrides OUTREACH_DATA_DIR)."),
    no_web: bool = typer.Option(
        False, "--no-web", help="Start without the web app (Temporal, mail catcher and worker only)."),
    workers: Optional[int] = typer.Option(
        None, "--workers", help="Worker processes to start (overrides OUTREACH_WORKER_PROCESSES; one per core)."),
) -> None:
    """Start everything on this machine: Temporal dev server, mail catcher, workers, web app. Ctrl-C stops it all."""
    from outreach.up import run_up

    _exit_now(run_up(data_dir=data_dir, web=not no_web, workers=workers))


def worker(
    check: bool = typer.Option(
        False, "--check",
        help="Do not run a worker: exit 0 when a worker on this host polls the task queue (container health check)."),
) -> None:
    """Run a worker against OUTREACH_TEMPORAL_ADDRESS (start several to scale out)."""
    settings = _settings()
    if check:
        _exit_now(asyncio.run(_worker_polls_here(settings)))
    import worker as worker_module
    from outreach.temporal_client import TemporalUnavailable

    try:
        worker_module.main()
    except TemporalUnavailable as exc:
        typer.echo(str(exc), err=True)
        _exit_now(1)
    _exit_now(0)


async def _worker_polls_here(settings) -> int:
    """0 when a poller from this host (the SDK's identity is pid@hostname) serves the task queue."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from outreach.temporal_client import TemporalUnavailable, connect

    try:
        client = await connect(settings)
        resp = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace, task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
    except TemporalUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    host = socket.gethostname()
    if any(p.identity.endswith(f"@{host}") for p in resp.pollers):
        return 0
    print(f"no worker on {host} polls task queue {settings.task_queue}", file=sys.stderr)
    return 1


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version (safe to run again)."""
    from sqlalchemy.engine import make_url

    from outreach.db import DatabaseUnavailable, upgrade_database

    settings = _settings()
    try:
        upgrade_database(settings)
    except DatabaseUnavailable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    from outreach.audit import command_line_actor, record_settings
    from outreach.db import engine_from_settings

    engine = engine_from_settings(settings)
    changed = record_settings(engine, settings.recorded_values(), actor=command_line_actor())
    engine.dispose()
    url = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    typer.echo(f"database {url} is at the latest version"
               + ("; the settings in force are recorded in the audit trail (they changed)" if changed else ""))


@db_app.command("revision")
def db_revision(
    message: str = typer.Option(..., "--message", "-m", help="What the change does, e.g. 'supplier tax id'."),
) -> None:
    """For developers: write a new migration from the difference between the models and the migrated schema."""
    import tempfile

    from alembic import command

    from outreach.db import alembic_config, upgrade_database

    # Compare against a scratch database at the latest migration, never against live data.
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/schema.db"
        upgrade_database(url)
        command.revision(alembic_config(url), message=message, autogenerate=True)


mail_app = typer.Typer(help="Outgoing mail.", no_args_is_help=True)


@mail_app.command("check")
def mail_check(
    address: str = typer.Argument(..., help="Where to send the test message."),
    wait_seconds: int = typer.Option(120, "--wait", min=5, help="How long to wait for a worker to send it."),
) -> None:
    """Send one real message through the whole path (Temporal, a worker, the templates, SMTP): run it after changing the mail settings."""
    import getpass
    import uuid
    from datetime import timedelta

    from temporalio.client import WorkflowFailureError
    from temporalio.service import RPCError

    from activities.email import EmailResult
    from outreach.temporal_client import TemporalUnavailable, connect
    from workflows.mail_check import MailCheckInput, MailCheckWorkflow

    if "@" not in address or " " in address:
        typer.echo(f"Error: {address!r} is not an email address", err=True)
        raise typer.Exit(2)
    settings = _settings()

    async def go() -> EmailResult:
        client = await connect(settings)
        return await client.execute_workflow(
            MailCheckWorkflow.run,
            MailCheckInput(to=address, requested_by=getpass.getuser(), smtp_host=f"{settings.smtp_host}:{settings.smtp_port}"),
            id=f"mail-check/{uuid.uuid4().hex[:12]}", task_queue=settings.task_queue, result_type=EmailResult,
            execution_timeout=timedelta(seconds=wait_seconds),
        )

    try:
        result = asyncio.run(go())
    except TemporalUnavailable as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    except (WorkflowFailureError, RPCError) as exc:
        typer.echo(f"Error: the message was not sent within {wait_seconds} s ({exc}); is a worker running "
                   f"(`outreach worker`) and is OUTREACH_SMTP_HOST:OUTREACH_SMTP_PORT reachable from it?", err=True)
        raise typer.Exit(1) from None
    if result.status == "bounced":
        typer.echo(f"Error: the mail server refused {address}: {result.detail}", err=True)
        raise typer.Exit(1)
    typer.echo(f"sent to {address} through {settings.smtp_host}:{settings.smtp_port} (Message-ID {result.message_id})")


def register(app: typer.Typer) -> None:
    """Add these commands to the main `outreach` command."""
    app.command("up")(up)
    app.command("worker")(worker)
    app.add_typer(db_app, name="db")
    app.add_typer(mail_app, name="mail")

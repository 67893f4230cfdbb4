"""`outreach bounces`: what mail relays reported after accepting a message (outreach/bounces/).

    outreach bounces read                 read the bounce mailbox now (the worker also does, every few minutes)
    outreach bounces list [--unmatched]   the reports read, newest first (--json)
"""

from __future__ import annotations

import asyncio
import json

import typer

app = typer.Typer(help="Bounces: the bounce mailbox's reports, tied to the messages they are about.",
                  no_args_is_help=True)


@app.command("read")
def read(wait_seconds: int = typer.Option(300, "--wait", min=5, help="How long to wait for a worker to read it.")) -> None:
    """Read the bounce mailbox now, through a worker (the surveys of hard bounces are told, as on schedule)."""
    import uuid
    from datetime import timedelta

    from temporalio.client import WorkflowFailureError
    from temporalio.service import RPCError

    from activities.bounces import BouncePass
    from outreach.cli_ops import _settings
    from outreach.temporal_client import TemporalUnavailable, connect
    from workflows.bounce_watch import BounceWatchInput, BounceWatchWorkflow

    settings = _settings()

    async def go() -> BouncePass:
        client = await connect(settings)
        return await client.execute_workflow(
            BounceWatchWorkflow.run, BounceWatchInput(once=True), id=f"bounce-read/{uuid.uuid4().hex[:12]}",
            task_queue=settings.task_queue, result_type=BouncePass, execution_timeout=timedelta(seconds=wait_seconds))

    try:
        found = asyncio.run(go())
    except TemporalUnavailable as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    except (WorkflowFailureError, RPCError) as exc:
        typer.echo(f"Error: the bounce mailbox was not read within {wait_seconds} s ({exc}); is a worker running "
                   "(`outreach worker`) and are the OUTREACH_BOUNCE_IMAP_* settings right? The worker's log says "
                   "why.", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"read {found.read} message(s): {found.hard} bounced, {found.soft} temporary failure(s), "
               f"{found.not_bounces} not a bounce, {found.unmatched} tied to no message, {found.already_read} read "
               f"before; {found.retried} message(s) sent again; {len(found.surveys)} survey(s) told")


@app.command("list")
def list_(unmatched: bool = typer.Option(False, "--unmatched", help="Only reports tied to no message the product sent."),
          limit: int = typer.Option(50, "--limit", min=1),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """The reports read from the bounce mailbox, newest first, each with the message it is about."""
    from outreach.bounces.record import recent_bounces
    from outreach.cli_campaign import _engine, _settings

    lines = recent_bounces(_engine(_settings()), unmatched_only=unmatched, limit=limit)
    if as_json:
        typer.echo(json.dumps([{**{k: getattr(b, k) for k in (
            "id", "kind", "from_addr", "subject", "recipients", "diagnostic", "matched_by", "message_to",
            "message_template", "survey_id", "supplier_id")}, "received_at": b.received_at.isoformat(),
            "unmatched": b.unmatched} for b in lines], indent=2))
        return
    if not lines:
        typer.echo("nothing read from the bounce mailbox" + (" tied to no message" if unmatched else ""))
        return
    for b in lines:
        about = (f"{b.message_template} to {b.message_to} ({b.supplier_id or 'no supplier'}, tied by {b.matched_by})"
                 if b.message_to else ("NO MESSAGE THE PRODUCT SENT: " + ", ".join(b.recipients)) if b.unmatched
                 else (b.subject or ""))
        typer.echo(f"{b.received_at:%Y-%m-%d %H:%M}  {b.kind_words:<17}  {about}  {b.diagnostic or ''}")

"""The review desk on the command line (the same calls as the /review page and the API: outreach/review.py).

    outreach review list [--campaign ID] [--kind K] [--page N] [--json]
    outreach review answer ITEM confirm|choose CID|not-a-smelter|accept|send-back|decline [--reason R]
    outreach survey reopen SUPPLIER --reason R [--campaign C]

Exit codes: 0 done; 1 refused or failed (the reason on one line); 2 bad arguments.
"""

from __future__ import annotations

import asyncio
from typing import Optional

import typer

from outreach.cli_campaign import BY_OPTION, CAMPAIGN_OPTION, JSON_OPTION, _by, _engine, _print_json, _settings
from outreach.cli_campaign import _survey_id, fail, survey_app

app = typer.Typer(help="The review desk: what the product is unsure of, for a person to answer.", no_args_is_help=True)


def _connect(settings):
    from outreach.temporal_client import connect

    async def factory():
        return await connect(settings)
    return factory


@app.command("list")
def review_list(
    campaign: Optional[str] = typer.Option(None, "--campaign", help="Only this campaign's items."),
    kind: Optional[str] = typer.Option(None, "--kind", help="smelter_match, unknown_smelter, high_risk_smelter, "
                                                            "company_name_mismatch, accepted_with_warnings, "
                                                            "contact_proposal"),
    page: int = typer.Option(1, "--page", min=1),
    as_json: bool = JSON_OPTION,
) -> None:
    """The open items, riskiest then newest first, each with its evidence and the answers it takes."""
    from outreach.review import ReviewRefused, as_json as item_json, review_queue

    settings = _settings()
    try:
        q = review_queue(_engine(settings), campaign_id=campaign, kind=kind, page=page)
    except ReviewRefused as exc:
        raise fail(exc.message, 2) from None
    if as_json:
        _print_json({"total": q.total, "page": q.page, "pages": q.pages, "items": [item_json(i) for i in q.items]})
        return
    if not q.items:
        typer.echo("Nothing to review." if q.total == 0 else f"Page {q.page} is past the last one ({q.pages}).")
        return
    for i in q.items:
        typer.echo(f"{i.key}\n  {i.supplier_name} ({i.supplier_id}), {i.campaign_id}, since {i.since:%Y-%m-%d}: "
                   f"{i.title}\n  answers: {' | '.join(i.answers)}")
    typer.echo(f"{q.total} open item(s); page {q.page} of {q.pages}.")


@app.command("answer")
def review_answer(
    item: str = typer.Argument(..., help="The item's key (from `outreach review list`)."),
    answer: str = typer.Argument(..., help="confirm | choose | not-a-smelter | accept | send-back | decline"),
    cid: Optional[str] = typer.Argument(None, help="With choose: the smelter's CID."),
    reason: str = typer.Option("", "--reason", help="Why (needed to send back or decline; the supplier reads it)."),
    by: Optional[str] = BY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Answer one item."""
    from outreach.review import ReviewRefused, answer_item
    from outreach.temporal_client import TemporalUnavailable

    settings = _settings()
    try:
        message = asyncio.run(answer_item(_engine(settings), item, answer.strip().lower(), by=_by(by), reason=reason,
                                          cid=cid, client_factory=_connect(settings), task_queue=settings.task_queue))
    except ReviewRefused as exc:
        raise fail(exc.message) from None
    except TemporalUnavailable as exc:
        raise fail(str(exc)) from None
    if as_json:
        _print_json({"item": item, "answer": answer, "message": message})
    else:
        typer.echo(message)


def survey_reopen(
    supplier_id: str,
    reason: str = typer.Option(..., "--reason", help="Why the accepted declaration is rejected (the supplier reads it)."),
    campaign: Optional[str] = CAMPAIGN_OPTION,
    by: Optional[str] = BY_OPTION,
) -> None:
    """Reject a declaration the product accepted: the survey reopens into a correction round."""
    from outreach.review import ReviewRefused, reopen_survey
    from outreach.temporal_client import TemporalUnavailable

    settings = _settings()
    survey_id = _survey_id(settings, supplier_id, campaign)
    try:
        message = asyncio.run(reopen_survey(_engine(settings), survey_id, by=_by(by), reason=reason,
                                            client_factory=_connect(settings), task_queue=settings.task_queue))
    except ReviewRefused as exc:
        raise fail(exc.message) from None
    except TemporalUnavailable as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{survey_id}: {message}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="review")
    survey_app.command("reopen")(survey_reopen)

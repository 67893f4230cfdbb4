"""What a script or a cron job needs: suppliers, campaigns, surveys, decisions, users, the demo.

    outreach suppliers import FILE [--dry-run] [--json]
    outreach suppliers list [--category C] [--json]
    outreach campaign start --year 2026 [--select spend:0.99] [--policy annual|demo] [--ends-at DATE]
    outreach campaign status [CAMPAIGN] [--json]          (no CAMPAIGN: every campaign)
    outreach campaign pause|resume CAMPAIGN [--reason R]
    outreach campaign cancel CAMPAIGN [--keep-surveys] [--reason R]
    outreach campaign add CAMPAIGN SUPPLIER...
    outreach campaign schedule --yearly [--month 1 --day 15 --hour 8] [--select ...] [--replace]
    outreach survey status SUPPLIER [--campaign C] [--json]
    outreach survey submit SUPPLIER FILE [--campaign C] [--product-level] [--json]
    outreach survey extend SUPPLIER --until 2026-06-30|+14d [--campaign C]
    outreach survey withdraw SUPPLIER --reason R [--campaign C]
    outreach decide SUPPLIER|ESCALATION_ID suspend|disengage|corrective_action|waive --reason R
    outreach users create EMAIL [--name N] [--role R] [--token]
    outreach users role EMAIL ROLE | users deactivate EMAIL | users token EMAIL | users list [--json]
    outreach demo

Exit codes: 0 done; 1 refused or failed (the reason on one line); 2 bad arguments.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Coroutine, Optional

import typer
from pydantic import BaseModel, ValidationError

from outreach.wording import humanise, next_step_words, outcome_words, words

suppliers_app = typer.Typer(help="Supplier master data.", no_args_is_help=True)
campaign_app = typer.Typer(help="Annual survey campaigns.", no_args_is_help=True)
survey_app = typer.Typer(help="One supplier's survey in a campaign.", no_args_is_help=True)
users_app = typer.Typer(help="Compliance team accounts.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of text.")
BY_OPTION = typer.Option(None, "--by", help="Who acts (recorded); default: the login name.")


# --- Plumbing -------------------------------------------------------------------------------


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def _settings():
    from outreach.settings import ConfigurationError, load_settings

    try:
        return load_settings()
    except ConfigurationError as exc:
        raise fail(str(exc), 2) from None


def _engine(settings):
    from outreach.db import DatabaseUnavailable, check_connection, engine_from_settings

    engine = engine_from_settings(settings)
    try:
        check_connection(engine)
    except DatabaseUnavailable as exc:
        raise fail(str(exc)) from None
    return engine


def _by(by: Optional[str]) -> str:
    return by or os.environ.get("USER") or getpass.getuser() or "cli"


def _cli_actor() -> str:
    from outreach.audit import command_line_actor

    return command_line_actor()


def _run(make: Callable[[Any], Coroutine[Any, Any, Any]], settings, *, lazy: bool = False) -> Any:
    """Connect to Temporal, run the coroutine, turn known failures into one line. ``lazy``: the coroutine
    gets a function that connects, for a command that may answer without Temporal (a refused file)."""
    from outreach.campaigns import ActionRefused
    from outreach.temporal_client import TemporalUnavailable, connect

    async def go():
        if lazy:
            return await make(lambda: connect(settings))
        client = await connect(settings)
        return await make(client)

    try:
        return asyncio.run(go())
    except (ActionRefused, TemporalUnavailable) as exc:
        raise fail(str(exc)) from None


def _print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        typer.echo(value.model_dump_json(indent=2))
    else:
        typer.echo(json.dumps(value, indent=2, default=str))


def _parse(parse: Callable[[str], Any], text: str, option: str) -> Any:
    try:
        return parse(text)
    except ValidationError as exc:
        raise fail(f"{option}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}", 2) from None
    except ValueError as exc:
        raise fail(f"{option}: {str(exc).splitlines()[0]}", 2) from None


# --- suppliers ------------------------------------------------------------------------------


@suppliers_app.command("import")
def suppliers_import(
    file: Path = typer.Argument(..., help="CSV or XLSX, one supplier per row (see docs for the columns)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file, write nothing."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import (upsert) suppliers. Any wrong row: nothing is imported, every problem is listed."""
    from outreach.suppliers import SupplierFileError, import_supplier_file

    if not file.is_file():
        raise fail(f"no such file: {file}", 2)
    settings = _settings()
    try:
        report = import_supplier_file(_engine(settings), file, dry_run=dry_run, by=_cli_actor())
    except SupplierFileError as exc:
        raise fail(str(exc)) from None
    if as_json:
        _print_json(report.model_dump(mode="json") | {"imported": report.imported and not dry_run})
    elif report.errors:
        for error in report.errors:
            typer.echo(str(error), err=True)
        typer.echo(f"nothing imported: {len(report.errors)} problem(s) in {report.rows} row(s)", err=True)
    elif dry_run:
        typer.echo(f"{file.name}: {report.rows} supplier(s), no problems (dry run, nothing written)")
    else:
        typer.echo(f"imported {report.rows} supplier(s): {report.created} new, {report.updated} updated, "
                   f"{report.contacts} contact(s)")
    if report.errors:
        raise typer.Exit(1)


@suppliers_app.command("list")
def suppliers_list(
    category: Optional[str] = typer.Option(None, "--category", help="Only this category."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The suppliers, biggest annual spend first."""
    from sqlmodel import Session, select

    from models.tables import Supplier, SupplierContact

    settings = _settings()
    engine = _engine(settings)
    with Session(engine) as session:
        query = select(Supplier).order_by(Supplier.annual_spend.desc(), Supplier.id)
        if category:
            query = query.where(Supplier.category == category.lower())
        suppliers = session.exec(query).all()
        contacts: dict[str, list[str]] = {}
        for c in session.exec(select(SupplierContact).order_by(SupplierContact.is_primary.desc(), SupplierContact.id)):
            contacts.setdefault(c.supplier_id, []).append(c.email)
    rows = [{"supplier_id": s.id, "name": s.name, "category": s.category, "annual_spend": s.annual_spend,
             "status": s.status, "commodity_manager": s.commodity_manager_name, "contacts": contacts.get(s.id, [])}
            for s in suppliers]
    if as_json:
        _print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['supplier_id']:<14} {r['name'][:40]:<40} {r['category'] or '-':<12} "
                   f"{r['annual_spend']:>16,.2f}  {', '.join(r['contacts'])}")
    typer.echo(f"{len(rows)} supplier(s)")


# --- campaign -------------------------------------------------------------------------------


@campaign_app.command("start")
def campaign_start(
    year: int = typer.Option(..., "--year", help="The reporting year surveyed, e.g. 2026."),
    campaign_id: Optional[str] = typer.Option(None, "--id", help="Campaign ID (default cmrt-YEAR or emrt-YEAR)."),
    name: str = typer.Option("", "--name", help="Display name (default 'CMRT campaign YEAR')."),
    kind: str = typer.Option("CMRT", "--kind", help="The template asked for: CMRT (3TG) or EMRT (extended minerals)."),
    minerals: Optional[str] = typer.Option(None, "--minerals", help="EMRT: the minerals asked about, e.g. "
                                           "cobalt,mica (default: all six)."),
    select: str = typer.Option("spend:0.99", "--select",
                               help="all | category:NAME[,NAME] | spend:0.99[+CATEGORY,...] (biggest spenders first)."),
    policy: str = typer.Option("annual", "--policy", help="annual (weeks) or demo (minutes)."),
    high_risk: str = typer.Option("corrective_action", "--high-risk-on-product-scope",
                                  help="High-risk smelters on a product-level or user-defined declaration: "
                                       "corrective_action (ask for a plan) or review (the compliance team decides)."),
    ends_at: Optional[str] = typer.Option(None, "--ends-at", help="Close date (2026-06-30, or +150d); default from the policy."),
    page_size: Optional[int] = typer.Option(None, "--page-size", min=1, max=500, help="Surveys started per page."),
    window: Optional[int] = typer.Option(None, "--window", min=1, max=500, help="Survey starts in flight at once."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Start a campaign: select the suppliers and send each a survey request."""
    from models.campaign import SupplierSelection
    from models.policy import CampaignPolicy
    from outreach.campaigns import CampaignExists, EndDateRefused, campaign_input, parse_when, start_campaign

    if policy not in ("annual", "demo"):
        raise fail(f"--policy: {policy!r} is neither annual nor demo", 2)
    if high_risk not in ("corrective_action", "review"):
        raise fail(f"--high-risk-on-product-scope: {high_risk!r} is neither corrective_action nor review", 2)
    if not 1990 <= year <= 2100:
        raise fail(f"--year: {year} is not a reporting year", 2)
    selection = _parse(SupplierSelection.parse, select, "--select")
    end = _parse(parse_when, ends_at, "--ends-at") if ends_at else None
    from models.facts.template_kind import parse_kind, parse_minerals

    kind = _parse(parse_kind, kind, "--kind")
    chosen = _parse(lambda text: parse_minerals(kind, text), minerals, "--minerals") if minerals else []
    settings = _settings()
    kwargs = dict(year=year, campaign_id=campaign_id, name=name, selection=selection,
                  policy=getattr(CampaignPolicy, policy)().model_copy(update={"high_risk_on_product_scope": high_risk}),
                  ends_at=end, page_size=page_size, start_window=window, kind=kind, minerals=chosen)
    try:
        campaign_input(settings, **kwargs)  # checks the ID and the end date before connecting
    except EndDateRefused as exc:
        raise fail(f"--ends-at: {exc}", 2) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise fail(f"--{first['loc'][0]}: {first['msg'].removeprefix('Value error, ')}".replace("--campaign_id", "--id"),
                   2) from None
    async def start(client):
        try:
            return await start_campaign(client, settings, engine=_engine(settings), by=_by(None), **kwargs)
        except CampaignExists as exc:
            raise CampaignExists(f"{exc}; choose another --id") from None

    inp = _run(start, settings)
    if as_json:
        _print_json({"campaign_id": inp.campaign_id, "workflow_id": f"campaign/{inp.campaign_id}", "kind": inp.kind,
                     "minerals": inp.minerals, "selection": selection.describe(), "policy": policy})
    else:
        typer.echo(f"{inp.kind} campaign {inp.campaign_id} started: {selection.describe()} ({policy} policy). "
                   f"Follow it with: outreach campaign status {inp.campaign_id}")


@campaign_app.command("status")
def campaign_status(
    campaign_id: Optional[str] = typer.Argument(None, help="Campaign ID; none: list every campaign."),
    overdue: int = typer.Option(10, "--overdue", min=0, help="How many overdue suppliers to list."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Progress from the database: counts per state and outcome, response rate, overdue, open cases."""
    from outreach.progress import CampaignNotFound, campaign_progress, list_campaigns

    settings = _settings()
    engine = _engine(settings)
    if campaign_id is None:
        campaigns = list_campaigns(engine)
        rows = [{"campaign_id": c.id, "year": c.year, "name": c.name, "state": c.state,
                 "suppliers_selected": c.suppliers_selected, "surveys_started": c.surveys_started,
                 "ends_at": c.ends_at.isoformat() if c.ends_at else None} for c in campaigns]
        if as_json:
            _print_json(rows)
        else:
            for r in rows:
                typer.echo(f"{r['campaign_id']:<20} {r['year']}  {r['state']:<10} {r['surveys_started']:>6} of "
                           f"{r['suppliers_selected']:<6} started  ends {r['ends_at'] or '-'}")
            if not rows:
                typer.echo("no campaign yet: outreach campaign start --year YEAR")
        return
    try:
        p = campaign_progress(engine, campaign_id, overdue_limit=overdue)
    except CampaignNotFound as exc:
        raise fail(str(exc)) from None
    if as_json:
        _print_json(p)
        return
    ends = f"; closes {p.ends_at:%Y-%m-%d %H:%M} UTC" if p.ends_at and not p.closed_at else ""
    typer.echo(f"{p.name} ({p.campaign_id}), reporting year {p.year}: {p.state}{ends}")
    typer.echo(f"  scope: {p.selection}; {p.selected} supplier(s)"
               + (f", {p.spend_share:.1%} of annual spend" if p.total_spend else ""))
    typer.echo(f"  surveys: {p.surveys} started, {p.not_started} not yet; {p.open_surveys} open")
    typer.echo(f"  answered: {p.responded} ({p.response_rate:.1%}); valid: {p.valid}")
    typer.echo("  states: " + (", ".join(f"{humanise(k)} {v}" for k, v in sorted(p.by_state.items())) or "-"))
    typer.echo("  outcomes: " + (", ".join(f"{humanise(k)} {v}" for k, v in sorted(p.by_outcome.items())) or "-"))
    if p.provisional_outcomes:  # set at escalation on a case still open: never mixed with the final ones
        typer.echo("  provisional outcomes (case still open, e.g. awaiting the VP's decision): "
                   + ", ".join(f"{humanise(k)} {v}" for k, v in sorted(p.provisional_outcomes.items())))
    typer.echo(f"  overdue: {p.overdue_count}; open corrective action plans: {p.open_caps_count}; "
               f"open escalations: {p.open_escalations_count}"
               + (f"; lapsed without a decision: {p.lapsed_escalations_count}" if p.lapsed_escalations_count else ""))
    for s in p.overdue:
        typer.echo(f"    {s.supplier_id} {s.supplier_name}: {s.days_overdue} day(s) overdue"
                   + (f", commodity manager {s.commodity_manager_name}" if s.commodity_manager_name else ""))


def _ack(result: BaseModel, as_json: bool, text: str) -> None:
    if as_json:
        _print_json(result)
    else:
        typer.echo(text)


@campaign_app.command("pause")
def campaign_pause(campaign_id: str, reason: str = typer.Option("", "--reason"), by: Optional[str] = BY_OPTION,
                   as_json: bool = JSON_OPTION) -> None:
    """Hold the campaign: no new survey starts (running surveys carry on)."""
    from outreach.campaigns import pause_campaign

    settings = _settings()
    ack = _run(lambda c: pause_campaign(c, campaign_id, by=_by(by), reason=reason, engine=_engine(settings)), settings)
    _ack(ack, as_json, f"{campaign_id} paused: {ack.message}")


@campaign_app.command("resume")
def campaign_resume(campaign_id: str, reason: str = typer.Option("", "--reason"), by: Optional[str] = BY_OPTION,
                    as_json: bool = JSON_OPTION) -> None:
    """Let a paused campaign go on starting surveys."""
    from outreach.campaigns import resume_campaign

    settings = _settings()
    ack = _run(lambda c: resume_campaign(c, campaign_id, by=_by(by), reason=reason, engine=_engine(settings)),
               settings)
    _ack(ack, as_json, f"{campaign_id} resumed: {ack.message}")


@campaign_app.command("cancel")
def campaign_cancel(
    campaign_id: str,
    reason: str = typer.Option("", "--reason"),
    keep_surveys: bool = typer.Option(False, "--keep-surveys", help="Leave running surveys to finish (default: withdraw them)."),
    by: Optional[str] = BY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Cancel: no new surveys, open surveys withdrawn (unless --keep-surveys), summary to the compliance team."""
    from outreach.campaigns import cancel_campaign

    settings = _settings()
    ack = _run(lambda c: cancel_campaign(c, campaign_id, by=_by(by), reason=reason, withdraw_surveys=not keep_surveys,
                                         engine=_engine(settings)), settings)
    _ack(ack, as_json, f"{campaign_id} cancelled: {ack.message}")


@campaign_app.command("add")
def campaign_add(campaign_id: str, supplier_ids: list[str] = typer.Argument(..., help="Supplier IDs."),
                 by: Optional[str] = BY_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Bring suppliers into a running campaign; their surveys start with the next page."""
    from outreach.campaigns import add_suppliers

    settings = _settings()
    result = _run(lambda c: add_suppliers(c, campaign_id, supplier_ids, by=_by(by), engine=_engine(settings)),
                  settings)
    if as_json:
        _print_json(result)
    else:
        typer.echo(f"added {len(result.added)}: {' '.join(result.added) or '-'}")
        if result.already_in_campaign:
            typer.echo(f"already in the campaign: {' '.join(result.already_in_campaign)}")
        if result.without_contact:
            typer.echo(f"no contact on file (not added): {' '.join(result.without_contact)}")
    if result.unknown:
        raise fail(f"unknown supplier(s), not added: {' '.join(result.unknown)}")


@campaign_app.command("schedule")
def campaign_schedule(
    yearly: bool = typer.Option(..., "--yearly", help="Open next year's campaign automatically (required)."),
    month: int = typer.Option(1, "--month", min=1, max=12),
    day: int = typer.Option(15, "--day", min=1, max=28),
    hour: int = typer.Option(8, "--hour", min=0, max=23, help="Hour of the day, UTC."),
    select: str = typer.Option("spend:0.99", "--select", help="As for `campaign start`."),
    policy: str = typer.Option("annual", "--policy", help="annual or demo."),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing schedule."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create the Temporal Schedule that opens each year's campaign (the previous year is surveyed)."""
    from models.campaign import SupplierSelection
    from models.policy import CampaignPolicy
    from outreach.campaigns import schedule_yearly_campaign

    if not yearly:
        raise fail("only --yearly schedules exist", 2)
    if policy not in ("annual", "demo"):
        raise fail(f"--policy: {policy!r} is neither annual nor demo", 2)
    selection = _parse(SupplierSelection.parse, select, "--select")
    settings = _settings()
    schedule_id = _run(lambda c: schedule_yearly_campaign(
        c, settings, month=month, day=day, hour=hour, selection=selection,
        policy=getattr(CampaignPolicy, policy)(), replace=replace, engine=_engine(settings), by=_cli_actor()), settings)
    if as_json:
        _print_json({"schedule_id": schedule_id, "month": month, "day": day, "hour": hour,
                     "selection": selection.describe()})
    else:
        typer.echo(f"schedule {schedule_id}: every year on {month:02d}-{day:02d} at {hour:02d}:00 UTC, "
                   f"a campaign for the previous year ({selection.describe()})")


# --- survey ---------------------------------------------------------------------------------

CAMPAIGN_OPTION = typer.Option(None, "--campaign", help="Campaign ID (default: the supplier's latest survey).")


def _survey_id(settings, supplier_id: str, campaign_id: Optional[str]) -> str:
    from models.survey import survey_workflow_id
    from outreach.campaigns import ActionRefused, find_survey_id

    if campaign_id:
        return survey_workflow_id(campaign_id, supplier_id)
    try:
        return find_survey_id(_engine(settings), supplier_id)
    except ActionRefused as exc:
        raise fail(str(exc)) from None


@survey_app.command("status")
def survey_status_cmd(supplier_id: str, campaign: Optional[str] = CAMPAIGN_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Where the survey stands, what happens next and when, and its timeline."""
    from outreach.campaigns import survey_status

    settings = _settings()
    survey_id = _survey_id(settings, supplier_id, campaign)
    status = _run(lambda c: survey_status(c, survey_id), settings)
    if as_json:
        _print_json(status)
        return
    typer.echo(f"{status.survey_id}: {humanise(status.state.value)}"
               + (f"; outcome: {outcome_words(status.outcome.value, status.state.value)}" if status.outcome else "")
               + (" [reminders paused]" if status.paused else "") + (" [contact bounced]" if status.bounced else ""))
    typer.echo(f"  contact: {status.contact.email} ({status.contact.language})")
    if status.due_at:
        typer.echo(f"  due: {status.due_at:%Y-%m-%d %H:%M} UTC")
    if status.answer_by and status.answer_by != status.due_at:
        typer.echo(f"  answer by: {status.answer_by:%Y-%m-%d %H:%M} UTC ({humanise(status.state.value).lower()})")
    if status.next_step:
        when = f" at {status.next_step_at:%Y-%m-%d %H:%M} UTC" if status.next_step_at else ""
        typer.echo(f"  next: {next_step_words(status.next_step)}{when}")
    for entry in status.timeline:
        typer.echo(f"  {entry.at:%Y-%m-%d %H:%M}  {humanise(entry.kind)}"
                   + (f": {words(entry.reason)}" if entry.reason else ""))


@survey_app.command("submit")
def survey_submit(
    supplier_id: str,
    file: Path = typer.Argument(..., help="The supplier's CMRT workbook (e.g. received by email)."),
    campaign: Optional[str] = CAMPAIGN_OPTION,
    product_level: bool = typer.Option(False, "--product-level", help="The product-level CMRT asked after a high-risk answer."),
    by: Optional[str] = typer.Option(None, "--by", help="Who submitted (the supplier's address, for the record)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Submit a workbook for a supplier, as the portal would: the same gate refuses what is not a workbook
    (a photo, an empty file, a sheet too large to read) before it reaches the survey; prints the verdict
    and each finding."""
    from outreach.campaigns import submit_file
    from outreach.intake import too_large

    if not file.is_file():
        raise fail(f"no such file: {file}", 2)
    settings = _settings()
    survey_id = _survey_id(settings, supplier_id, campaign)
    engine = _engine(settings)
    size = file.stat().st_size
    if size > settings.max_upload_bytes:  # refused as the portal refuses it, without reading it
        outcome = too_large(size, settings.max_upload_bytes)
    else:
        data = file.read_bytes()
        outcome = _run(lambda c: submit_file(c, settings, engine, survey_id, data, file.name, channel="cli",
                                             submitted_by=by or _by(None),
                                             purpose="product_level" if product_level else "declaration"),
                       settings, lazy=True)
    if as_json:
        _print_json(outcome.to_json())
    else:
        typer.echo(f"{file.name}: {humanise(outcome.verdict)}. {outcome.message}"
                   + (f" (next: {next_step_words(outcome.next_step)})" if outcome.next_step else ""))
        for f in outcome.findings:
            where = "!".join(x for x in (f.sheet, f.cell) if x)
            typer.echo(f"  [{f.severity}] {where + ': ' if where else ''}{f.message}")
    if not outcome.accepted:
        raise typer.Exit(1)


@survey_app.command("extend")
def survey_extend(
    supplier_id: str,
    until: str = typer.Option(..., "--until", help="New due date: 2026-06-30 (end of day UTC), ISO date-time, +14d."),
    campaign: Optional[str] = CAMPAIGN_OPTION,
    reason: str = typer.Option("", "--reason"),
    by: Optional[str] = BY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Give the supplier more time."""
    from outreach.campaigns import extend_deadline, parse_when

    new_due = _parse(parse_when, until, "--until")
    settings = _settings()
    survey_id = _survey_id(settings, supplier_id, campaign)
    ack = _run(lambda c: extend_deadline(c, survey_id, new_due, by=_by(by), reason=reason), settings)
    _ack(ack, as_json, f"{survey_id}: due {new_due:%Y-%m-%d %H:%M} UTC; {ack.message}")


@survey_app.command("withdraw")
def survey_withdraw(
    supplier_id: str,
    reason: str = typer.Option(..., "--reason", help="Why the supplier leaves the campaign's scope."),
    campaign: Optional[str] = CAMPAIGN_OPTION,
    by: Optional[str] = BY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove the supplier from the campaign's scope (outcome: withdrawn)."""
    from outreach.campaigns import withdraw_survey

    settings = _settings()
    survey_id = _survey_id(settings, supplier_id, campaign)
    ack = _run(lambda c: withdraw_survey(c, survey_id, by=_by(by), reason=reason), settings)
    _ack(ack, as_json, f"{survey_id} withdrawn: {ack.message}")


# --- decide ---------------------------------------------------------------------------------


def decide(
    target: str = typer.Argument(..., help="Supplier ID (its open escalation) or an escalation workflow ID."),
    decision: str = typer.Argument(..., help="suspend | disengage | corrective_action | waive"),
    reason: str = typer.Option(..., "--reason", help="Why (recorded with the decision)."),
    campaign: Optional[str] = CAMPAIGN_OPTION,
    by: Optional[str] = typer.Option(None, "--by", help="Who decides (default: the configured VP's address)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record the Supply Chain VP's decision on an escalated supplier."""
    from models.enums import Decision
    from outreach.campaigns import decide_escalation, open_escalation_id

    try:
        chosen = Decision(decision.strip().lower().replace("-", "_"))
    except ValueError:
        raise fail(f"decision {decision!r}: choose one of {', '.join(d.value for d in Decision)}", 2) from None
    settings = _settings()
    decided_by = by or settings.vp_email

    async def go(client):
        escalation_id = target if "/escalation/" in target else await open_escalation_id(
            client, _survey_id(settings, target, campaign))
        return escalation_id, await decide_escalation(client, escalation_id, chosen, by=decided_by, reason=reason)

    escalation_id, status = _run(go, settings)
    if as_json:
        _print_json(status)
    else:
        typer.echo(f"{escalation_id}: {chosen.value} recorded for {decided_by}")


# --- users ----------------------------------------------------------------------------------


@users_app.command("create")
def users_create(
    email: str,
    name: Optional[str] = typer.Option(None, "--name"),
    role: str = typer.Option("analyst", "--role", help="admin, analyst, auditor, executive or commodity_manager "
                                                       "(what each may do: outreach/roles.py, the README)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    token: bool = typer.Option(False, "--token", help="Also issue an API token (shown once)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a compliance team account (the password is asked, never given on the command line)."""
    from outreach.users import UserError, create_user, issue_api_token

    from outreach.roles import ROLES

    if role not in ROLES:
        raise fail(f"--role: {role!r} is not a role; the roles are {', '.join(ROLES)}", 2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _settings()
    engine = _engine(settings)
    try:
        user = create_user(engine, email, password, name=name, role=role, by=_cli_actor())
        api_token = issue_api_token(engine, user.email, by=_cli_actor()) if token else None
    except UserError as exc:
        raise fail(str(exc)) from None
    if as_json:
        _print_json({"id": user.id, "email": user.email, "role": user.role, "api_token": api_token})
    else:
        typer.echo(f"user {user.email} created ({user.role})")
        if api_token:
            typer.echo(f"API token (shown once): {api_token}")


@users_app.command("role")
def users_role(email: str, role: str, as_json: bool = JSON_OPTION) -> None:
    """Change what an account may do (from its next request on, sessions and API token included)."""
    from outreach.roles import ROLES
    from outreach.users import UserError, set_role

    if role not in ROLES:
        raise fail(f"ROLE: {role!r} is not a role; the roles are {', '.join(ROLES)}", 2)
    try:
        user = set_role(_engine(_settings()), email, role, by=_cli_actor())
    except UserError as exc:
        raise fail(str(exc)) from None
    if as_json:
        _print_json({"email": user.email, "role": user.role})
    else:
        typer.echo(f"user {user.email} is now {user.role}")


@users_app.command("deactivate")
def users_deactivate(email: str, as_json: bool = JSON_OPTION) -> None:
    """Deactivate an account: it signs in no more, its sessions end, its API token is revoked."""
    from outreach.users import UserError, deactivate_user

    try:
        user = deactivate_user(_engine(_settings()), email, by=_cli_actor())
    except UserError as exc:
        raise fail(str(exc)) from None
    if as_json:
        _print_json({"email": user.email, "role": user.role, "deactivated_at": user.deactivated_at})
    else:
        typer.echo(f"user {user.email} deactivated: sessions ended, API token revoked")


@users_app.command("token")
def users_token(email: str, as_json: bool = JSON_OPTION) -> None:
    """Issue a new API token for an account (replacing its earlier one); it acts with the account's role."""
    from outreach.users import UserError, issue_api_token

    try:
        token = issue_api_token(_engine(_settings()), email, by=_cli_actor())
    except UserError as exc:
        raise fail(str(exc)) from None
    if as_json:
        _print_json({"email": email, "api_token": token})
    else:
        typer.echo(f"API token (shown once): {token}")


@users_app.command("list")
def users_list(as_json: bool = JSON_OPTION) -> None:
    """Every account with its role, and whether it is active."""
    from outreach.users import list_users

    rows = [{"email": u.email, "name": u.name, "role": u.role, "api_token": u.api_token_hash is not None,
             "deactivated_at": u.deactivated_at} for u in list_users(_engine(_settings()))]
    if as_json:
        _print_json(rows)
    else:
        for r in rows:
            state = f"deactivated {r['deactivated_at']:%Y-%m-%d}" if r["deactivated_at"] else "active"
            typer.echo(f"{r['email']:40} {r['role']:18} {state}{', API token' if r['api_token'] else ''}")


# --- demo -----------------------------------------------------------------------------------


def demo(as_json: bool = JSON_OPTION) -> None:
    """Load demo suppliers and run a campaign in minutes on the running stack (`outreach up`)."""
    from outreach.demo import DemoError, start_demo

    settings = _settings()
    try:
        started = asyncio.run(start_demo(settings, by=_cli_actor()))
    except DemoError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - Temporal unreachable and the like: one line
        from outreach.temporal_client import TemporalUnavailable

        if isinstance(exc, TemporalUnavailable):
            raise fail(str(exc)) from None
        raise
    if as_json:
        _print_json(started)
    else:
        typer.echo(started.explain())


def register(app: typer.Typer) -> None:
    app.add_typer(suppliers_app, name="suppliers")
    app.add_typer(campaign_app, name="campaign")
    app.add_typer(survey_app, name="survey")
    app.add_typer(users_app, name="users")
    app.command("decide")(decide)
    app.command("demo")(demo)

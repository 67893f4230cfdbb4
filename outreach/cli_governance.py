"""`outreach retention` and `outreach hold`: how long records are kept, and what nothing may purge.

    outreach retention plan [--json]                 what a purge would remove now, per campaign (changes nothing)
    outreach retention purge [--yes] [--by WHO]      remove it, each removal audited; safe to run again
    outreach hold add (--supplier ID | --campaign ID) --reason R [--by WHO]
    outreach hold release (--supplier ID | --campaign ID) --reason R [--by WHO]
    outreach hold list [--all] [--json]

Holds and purges are an administrator's acts (outreach/roles.py): whoever runs these holds the server's
configuration, which is what the administrator role stands for on the command line.
"""

from __future__ import annotations

from typing import Optional

import typer

from outreach.cli_campaign import JSON_OPTION, _engine, _print_json, _settings, fail

retention_app = typer.Typer(help="Records retention: what goes after the retention period, and purging it.",
                            no_args_is_help=True)
hold_app = typer.Typer(help="Legal holds: a supplier's or a campaign's records that no purge removes.",
                       no_args_is_help=True)

BY = typer.Option(None, "--by", help="Who acts (recorded in the audit trail); default: the login name.")


def _actor(by: Optional[str]) -> str:
    from outreach.audit import command_line_actor

    return f"{by} (command line)" if by else command_line_actor()


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


_WORDS = {"surveys": ("survey", "surveys"), "events": ("timeline event", "timeline events"),
          "submissions": ("submission", "submissions"), "findings": ("finding", "findings"),
          "plans": ("corrective action plan", "corrective action plans"),
          "actions": ("corrective action", "corrective actions"), "escalations": ("escalation", "escalations"),
          "emails": ("e-mail (outbox)", "e-mails (outbox)"), "scorecards": ("scorecard", "scorecards"),
          "files": ("stored file", "stored files")}


def _n(n: int, key: str) -> str:
    return f"{n} {_WORDS[key][n != 1]}"


def _goes(counts: dict[str, int]) -> str:
    parts = [_n(counts[k], k) + (f" ({_size(counts['file_bytes'])})" if k == "files" else "")
             for k in _WORDS if counts.get(k)]
    return ", ".join(parts) or "nothing"


@retention_app.command("plan")
def retention_plan(as_json: bool = JSON_OPTION) -> None:
    """A dry run: per campaign, what a purge would remove now, what stays and why (legal holds included)."""
    from models.facts import retention as rule
    from outreach.retention import plan

    settings = _settings()
    p = plan(_engine(settings), years=settings.retention_years)
    if as_json:
        _print_json(p.as_json())
        return
    typer.echo(f"Retention: records are kept {p.years} years after their campaign closed "
               f"(OUTREACH_RETENTION_YEARS); Temporal keeps closed workflow histories {p.temporal_history_days} days.")
    if p.holds.campaigns or p.holds.suppliers:
        typer.echo("Under legal hold: " + ", ".join([f"campaign {c}" for c in sorted(p.holds.campaigns)]
                                                    + [f"supplier {s}" for s in sorted(p.holds.suppliers)]))
    for c in p.campaigns:
        label = {rule.OPEN: "open", rule.KEPT: "kept", rule.HELD: "HELD", rule.DUE: "past its period"}[c.retention.status]
        typer.echo(f"\n{c.campaign_id} ({c.name}): {label}: {c.retention.why}")
        if c.retention.status == rule.DUE:
            typer.echo(f"  goes: {_goes(c.counts)}" + ("; the campaign itself" if c.whole else ""))
            if c.held_surveys:
                typer.echo(f"  stays under legal hold: {_n(c.held_surveys, 'surveys')} of "
                           f"{', '.join(c.retention.held_suppliers)} (held), and the campaign's own record")
            typer.echo(f"  audit entries about it: {c.counts['audit_entries']} (they go with the trail's oldest "
                       f"entries, below)")
    if not p.campaigns:
        typer.echo("\nNo campaign yet.")
    if p.orphan_files:
        typer.echo(f"\nStored files no record references, older than {p.years} years: {p.orphan_files} "
                   f"({_size(p.orphan_bytes)})")
    if p.audit_prefix:
        typer.echo(f"\nAudit trail: entries {p.audit_through - p.audit_prefix + 1} to {p.audit_through} "
                   f"({p.audit_prefix}) are older than the period and go, behind a checkpoint entry that "
                   f"`outreach audit verify` starts from" + (f"; entry {p.audit_first_kept[0]} and later stay "
                                                             f"({p.audit_first_kept[1]})"
                                                             if p.audit_first_kept else ""))
    else:
        typer.echo("\nAudit trail: no entry is due to go" + (
            f" (the oldest, entry {p.audit_first_kept[0]}, stays: {p.audit_first_kept[1]})" if p.audit_first_kept
            else ""))
    if not p.anything_goes:
        typer.echo("\nNothing to purge.")


@retention_app.command("purge")
def retention_purge(
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    by: Optional[str] = BY,
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove what `retention plan` lists, each removal written to the audit trail. Run it again at will:
    a run that was interrupted is finished, and a second run finds nothing to do."""
    from outreach.retention import plan, purge
    from outreach.storage import FileStore

    settings = _settings()
    engine = _engine(settings)
    p = plan(engine, years=settings.retention_years)
    if not p.anything_goes:
        if as_json:
            _print_json({"campaigns": [], "files": 0, "file_bytes": 0, "audit_entries": 0, "checkpoint": None})
        else:
            typer.echo("Nothing to purge: every record is within its retention period or under legal hold.")
        return
    if not yes and not typer.confirm(f"Remove the records of {len(p.due)} campaigns, {p.audit_prefix} audit "
                                     f"entries and the files no kept record references? This cannot be undone"):
        raise fail("nothing removed", 1)
    result = purge(engine, FileStore(settings.file_store_path, engine), years=settings.retention_years,
                   by=_actor(by))
    if as_json:
        _print_json({"campaigns": [{"campaign_id": c, "removed": n} for c, n in result.campaigns],
                     "files": result.files, "file_bytes": result.file_bytes,
                     "audit_entries": result.audit_entries, "checkpoint": result.checkpoint})
        return
    for campaign_id, counts in result.campaigns:
        typer.echo(f"{campaign_id}: removed {_goes(counts)}")
    typer.echo(f"stored files removed: {result.files} ({_size(result.file_bytes)})")
    if result.audit_entries:
        typer.echo(f"audit trail: {result.audit_entries} oldest entries removed; checkpoint entry "
                   f"{result.checkpoint} records where the kept chain starts (`outreach audit verify` checks it)")


def _target(supplier: Optional[str], campaign: Optional[str]) -> tuple[str, str]:
    if (supplier is None) == (campaign is None):
        raise typer.BadParameter("give either --supplier ID or --campaign ID", param_hint="--supplier / --campaign")
    return ("supplier", supplier) if supplier is not None else ("campaign", campaign)


SUPPLIER = typer.Option(None, "--supplier", help="The supplier's ID: its surveys in every campaign.")
CAMPAIGN = typer.Option(None, "--campaign", help="The campaign's ID: all of its records.")
REASON = typer.Option(..., "--reason", help="Why (the matter, the request); recorded in the audit trail.")


@hold_app.command("add")
def hold_add(supplier: Optional[str] = SUPPLIER, campaign: Optional[str] = CAMPAIGN, reason: str = REASON,
             by: Optional[str] = BY, as_json: bool = JSON_OPTION) -> None:
    """Place a legal hold: nothing of the supplier or campaign is purged until it is released."""
    from outreach.holds import HoldError, place

    scope, target = _target(supplier, campaign)
    try:
        hold = place(_engine(_settings()), scope, target, reason, by=_actor(by))
    except HoldError as exc:
        raise fail(str(exc)) from None
    if as_json:
        _print_json(hold.__dict__)
    else:
        typer.echo(f"{scope} {target} is under legal hold (hold {hold.id}): no purge removes its records")


@hold_app.command("release")
def hold_release(supplier: Optional[str] = SUPPLIER, campaign: Optional[str] = CAMPAIGN, reason: str = REASON,
                 by: Optional[str] = BY, as_json: bool = JSON_OPTION) -> None:
    """Release a legal hold: the records follow the retention policy again."""
    from outreach.holds import HoldError, release

    scope, target = _target(supplier, campaign)
    try:
        hold = release(_engine(_settings()), scope, target, reason, by=_actor(by))
    except HoldError as exc:
        raise fail(str(exc)) from None
    if as_json:
        _print_json(hold.__dict__)
    else:
        typer.echo(f"legal hold {hold.id} on {scope} {target} released: its records follow the retention policy again")


@hold_app.command("list")
def hold_list(include_released: bool = typer.Option(False, "--all", help="Released holds too."),
              as_json: bool = JSON_OPTION) -> None:
    """The legal holds in force (with --all, the released ones too)."""
    from outreach.holds import list_holds

    holds = list_holds(_engine(_settings()), include_released=include_released)
    if as_json:
        _print_json([h.__dict__ for h in holds])
        return
    if not holds:
        typer.echo("No legal hold is in force." if not include_released else "No legal hold was ever placed.")
    for h in holds:
        state = (f"released {h.released_at:%Y-%m-%d} by {h.released_by}: {h.release_reason}" if h.released_at
                 else "in force")
        typer.echo(f"{h.id:>4}  {h.scope} {h.target_id}: placed {h.placed_at:%Y-%m-%d} by {h.placed_by}: "
                   f"{h.reason} ({state})")


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
    app.add_typer(hold_app, name="hold")

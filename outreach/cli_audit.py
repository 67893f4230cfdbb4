"""`outreach audit`: prove the audit trail was not edited, and hand it to an auditor.

    outreach audit verify                                   exit 0 with the count, 1 naming the first broken entry
    outreach audit export --campaign ID | --year N (--csv | --xlsx) OUT
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="The audit trail: verify its chain, export it for an auditor.", no_args_is_help=True)


def _engine():
    from outreach.cli_campaign import _engine as engine, _settings

    return engine(_settings())


@app.command("verify")
def verify() -> None:
    """Recompute the chain of hashes from the first entry: any edited, deleted or inserted entry is named."""
    from outreach.audit import verify as verify_chain

    result = verify_chain(_engine())
    if not result.ok:
        typer.echo(f"the audit trail is broken: {result.problem}. The {result.count} entries before it hold.",
                   err=True)
        raise typer.Exit(1)
    if result.purged_through:
        typer.echo(f"entries 1 to {result.purged_through} were purged under the retention policy (entry "
                   f"{result.checkpoint} records it); the chain is checked from entry {result.purged_through + 1}.")
    typer.echo(f"the audit trail holds: {result.count} entries, each chained to the one before. "
               f"Last entry's hash: {result.last_hash} (note it down elsewhere: the next verify must still "
               f"find it).")


@app.command("export")
def export(
    out: Path = typer.Argument(..., help="The file to write."),
    campaign: Optional[str] = typer.Option(None, "--campaign", help="The entries about this campaign."),
    year: Optional[int] = typer.Option(None, "--year", help="The entries written in this calendar year."),
    as_csv: bool = typer.Option(False, "--csv", help="Write CSV."),
    as_xlsx: bool = typer.Option(False, "--xlsx", help="Write an Excel workbook."),
) -> None:
    """The entries of one campaign or one year, in words, oldest first, each with its hash."""
    from outreach.audit import AuditFilter, export as write

    if (campaign is None) == (year is None):
        raise typer.BadParameter("give either --campaign ID or --year N", param_hint="--campaign / --year")
    if as_csv == as_xlsx:
        as_csv = out.suffix.lower() == ".csv"
        if not as_csv and out.suffix.lower() != ".xlsx":
            raise typer.BadParameter("give --csv or --xlsx (or name the file .csv or .xlsx)", param_hint="--csv")
    n = write(_engine(), AuditFilter(campaign_id=campaign or "", year=year), out, "csv" if as_csv else "xlsx")
    typer.echo(f"{n} entries written to {out}")

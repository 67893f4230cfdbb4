"""`outreach evidence --campaign ID OUT.zip`: the auditor's evidence pack of one campaign, in one file.

Exit codes: 0 written; 1 the database is unreachable or the pack could not be written; 2 usage (no such
campaign, an output that is not a .zip). The pack is written beside OUT and renamed when complete, so a
failure never leaves half a pack under the name asked for.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

import typer

from outreach.cli_campaign import BY_OPTION, _engine, _settings, fail


def evidence(
    out: Path = typer.Argument(..., help="The zip to write, e.g. evidence-cmrt-2026.zip."),
    campaign: str = typer.Option(..., "--campaign", help="The campaign's ID."),
    by: Optional[str] = BY_OPTION,
) -> None:
    """Every file received, its findings and verdicts, every e-mail, every survey's timeline and decisions, the
    scorecards, the report, the reference list and the campaign's audit trail verified, with a manifest."""
    from outreach.audit import command_line_actor
    from outreach.evidence.pack import CampaignNotFound, build_pack
    from outreach.storage import FileStore

    if out.suffix.lower() != ".zip":
        raise fail(f"{out}: name the pack .zip", 2)
    if out.is_dir():
        raise fail(f"{out} is a folder: give the zip's file name", 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = _settings()
    engine = _engine(settings)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".evidence-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as fh:
            summary = build_pack(engine, FileStore(settings.file_store_path, engine), campaign, fh,
                                 by=by or command_line_actor(), company=settings.company_name,
                                 sender=settings.mail_from)
        os.replace(tmp, out)
    except CampaignNotFound as exc:
        raise fail(str(exc), 2) from None
    except OSError as exc:
        raise fail(f"the pack could not be written: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
        engine.dispose()
    typer.echo(f"{out}: evidence pack of campaign {campaign}: {summary.suppliers} suppliers, {summary.files} files "
               f"received, {summary.emails} e-mails, {summary.audit_entries} audit entries; {summary.entries} files, "
               f"{summary.size:,} bytes")
    if summary.files_missing:
        typer.echo(f"  {summary.files_missing} file(s) are no longer in the file store: listed in "
                   f"declarations/declarations.csv, not included", err=True)
    if summary.audit_ok:
        typer.echo(f"  audit trail: the chain holds; head hash {summary.audit_head}")
    else:
        typer.echo("  audit trail: THE CHAIN IS BROKEN (audit/verification.json says where)", err=True)
    typer.echo(f"  SHA-256 of the pack: {summary.sha256}")
    typer.echo(f"  SHA-256 of manifest.csv: {summary.manifest_sha256} (both are in the audit trail)")


def register(app: typer.Typer) -> None:
    app.command("evidence")(evidence)

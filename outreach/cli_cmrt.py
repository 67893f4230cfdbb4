"""`outreach cmrt ...`: check CMRT workbooks without a running server.

    outreach cmrt check FILE|DIR... [--json] [--reference PATH] [--campaign-year N] [--language LANG]

Exit codes: 0 every file valid; 1 some file invalid or unreadable; 2 usage error.
Reference list: `--reference` when given; else the list imported into the database, when there is
one; else the list that ships with the project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from cmrt.types import CheckResult
from outreach.settings import workbook_guard

if TYPE_CHECKING:
    from cmrt.reference import ReferenceList

app = typer.Typer(help="Read and judge CMRT workbooks (no server needed).", no_args_is_help=True)

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb"}


@app.callback()
def _group() -> None:
    """Read and judge CMRT workbooks (no server needed)."""


def _usage_error(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code=2)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for every workbook directly in it (sorted by name)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in WORKBOOK_SUFFIXES))
        elif path.is_file():
            out.append(path)
        else:
            raise _usage_error(f"no such file or directory: {path}")
    return out


def load_reference(path: Path | None) -> ReferenceList | None:
    """The reference list to match smelters against (see module docstring for the order)."""
    from cmrt import reference as ref_module

    if path is not None:
        if not path.is_file():
            raise _usage_error(f"reference list not found: {path}")
        try:
            kind = ref_module.detect_reference_kind(path)
            if kind == "cmrt_lookup":
                return ref_module.ReferenceList.from_cmrt_workbook(path)
            if kind == "rmi_export":
                return ref_module.ReferenceList.from_rmi_facility_export(path)
            return ref_module.ReferenceList.from_csv(path)
        except ValueError as exc:  # ReferenceFormatError is a ValueError with a one-line reason
            raise _usage_error(f"cannot read reference list {path}: {exc}") from exc
    try:
        from outreach.reference_store import load_reference as load_stored
    except ImportError:
        load_stored = None
    if load_stored is not None:
        try:
            stored = load_stored()
        except Exception:  # noqa: BLE001 - no database here is normal for a command that needs no server
            stored = None
        if stored is not None:
            return stored
    return ref_module.default_reference()


def render_text(result: CheckResult) -> str:
    """The human-readable report for one file."""
    t = result.template
    d = result.declaration
    lines = [f"{result.file}: {result.verdict.upper()}"]
    if t.kind != "unknown" or t.version:
        lines.append(f"  template: {t.kind} {t.version or '?'}")
    if d.company_name or d.contact_email:
        lines.append(f"  company: {d.company_name or '-'} | scope: {d.scope or '-'} | contact: {d.contact_email or '-'}")
        lines.append(f"  effective date: {d.effective_date or d.effective_date_text or '-'}")
    if result.verdict != "unreadable" and result.checker_remaining is None:
        # an outdated template or another kind: its answers were not read, so no count and no metals to state
        lines.append("  declaration not judged: the template's Checker was not run on this template")
    elif result.verdict != "unreadable":
        metals = ", ".join(result.metals_in_scope) or "none"
        lines.append(f"  metals in scope: {metals} | Checker: {result.checker_remaining} required field(s) remaining"
                     f" | program: {result.program_strength}")
        if result.smelters:
            by_risk: dict[str, int] = {}
            for s in result.smelters:
                by_risk[s.risk] = by_risk.get(s.risk, 0) + 1
            risks = ", ".join(f"{k} {v}" for k, v in sorted(by_risk.items()))
            lines.append(f"  smelter rows: {len(result.smelters)} (risk: {risks})")
    if result.findings:
        lines.append(f"  findings ({len(result.findings)}):")
        for f in result.findings:
            where = " ".join(x for x in (f.sheet, f.cell) if x)
            lines.append(f"    [{f.severity}] {f.code}{' @ ' + where if where else ''}: {f.message}")
    return "\n".join(lines)


@app.command("check")
def check_command(
    paths: list[Path] = typer.Argument(..., help="CMRT workbooks, or directories of them.", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array, one object per file."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Smelter reference list: CSV, CMRT "
                                             "workbook (its Smelter Look-up sheet) or RMI facility export."),
    campaign_year: Optional[int] = typer.Option(None, "--campaign-year", help="Reporting year the survey asks about."),
    max_mb: float = typer.Option(20.0, "--max-mb", help="Refuse files larger than this (MB)."),
    language: Optional[str] = typer.Option(None, "--language", help="Say the findings in this language: en, "
                                           "zh-CN, zh-TW, ja, ko, fr, pt, de, es, it, tr; 'workbook': in the "
                                           "language each workbook was filled in."),
) -> None:
    """Check CMRT workbooks: the template's Checker, contradictions and smelters. Exit 1 if any is not valid."""
    if not max_mb > 0:
        raise _usage_error(f"--max-mb must be a positive number of megabytes, not {max_mb:g}")
    from cmrt import i18n  # Babel only when a command needs it
    from cmrt.messages import in_language

    if language and language != "workbook" and not i18n.known(language):
        raise _usage_error(f"--language {language!r} is none of en, zh-CN, zh-TW, ja, ko, fr, pt, de, es, it, tr")
    files = expand_paths(paths)
    if not files:
        raise _usage_error("no workbooks found (looked for .xlsx, .xlsm, .xls, .xlsb)")
    ref = load_reference(reference)
    guard = workbook_guard()  # each file in a capped child process: a hostile one is a verdict, not a crash
    results = [
        guard.check(p, filename=str(p), reference=ref, max_bytes=int(max_mb * 1024 * 1024), campaign_year=campaign_year)
        for p in files
    ]
    if language:
        results = [r.model_copy(update={"findings": in_language(
            r.findings, r.template.locale if language == "workbook" else language)}) for r in results]
    if as_json:
        typer.echo(json.dumps([r.to_json_dict() for r in results], ensure_ascii=False, indent=2))
    else:
        typer.echo("\n\n".join(render_text(r) for r in results))
        valid = sum(r.verdict == "valid" for r in results)
        typer.echo(f"\n{len(results)} file(s): {valid} valid, {len(results) - valid} not valid")
    raise typer.Exit(code=0 if all(r.verdict == "valid" for r in results) else 1)

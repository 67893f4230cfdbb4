"""`outreach report ...`: the campaign's figures for the Conflict Minerals Report, and scorecards.

    outreach report rcoi --campaign YEAR|CAMPAIGN_ID [--json] [--xlsx OUT] [--draft OUT.md] [--html OUT]
    outreach report rcoi --files DIR_OR_ZIP [--suppliers CSV] [--year N] [--reference PATH] [same outputs]
    outreach report scorecards --year YEAR [--xlsx OUT] [--json]
    outreach report declaration --campaign ID --template OFFICIAL.xlsx --out OURS.xlsx [--answers JSON]

Exit codes: 0 done; 2 usage error (missing input, unreadable supplier list, unknown campaign).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

app = typer.Typer(help="Figures for the Conflict Minerals Report, and supplier scorecards.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Figures for the Conflict Minerals Report, and supplier scorecards."""


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code=2)


def _engine():
    from outreach.db import DatabaseUnavailable, check_connection, engine_from_settings
    from outreach.settings import load_settings

    engine = engine_from_settings(load_settings())
    try:
        check_connection(engine)
    except DatabaseUnavailable as exc:
        raise _fail(str(exc)) from None
    return engine


def _summary_text(f: dict[str, Any]) -> str:
    from models.facts.figures import percent_cell
    from outreach.reports.render import DENOMINATORS, SHARES, report_title, scope_parts

    def line(label: str, s: dict[str, Any]) -> str:
        return (f"  {label:<48} {s['count']:>5} of {s['of']:<5} {percent_cell(s['count'], s['of']):>5}"
                f"  ({DENOMINATORS[s['denominator']]})")

    sm = f["smelters"]
    lines = [
        f"Due-diligence results: {report_title(f)}",
        f"  {'Suppliers surveyed':<48} {f['suppliers_surveyed']:>5}",
        f"  {'Responses received':<48} {f['responses']:>5}",
        *[line(label, f[key]) for label, key in SHARES],
        "  Responses by scope: " + ", ".join(f"{label} {n}" for label, n in scope_parts(f)),
        f"Smelters and refiners identified: {sm['total']}",
        *[f"  {r['status']:<14} {r['count']:>5}  {percent_cell(r['count'], r['of']):>4}" for r in sm["by_status"]],
        "Conformant by metal: " + ", ".join(f"{m['metal']} {percent_cell(m['conformant'], m['total'])}"
                                            for m in sm["by_metal"]),
        f"Entities that are not known smelters: {len(f['unknown_entities'])}; "
        f"high-risk smelters: {len(f['high_risk_smelters'])}",
    ]
    # An analyst acts on these two lists (ask the suppliers, send the RMI the unknown names): name them.
    for h in f["high_risk_smelters"]:
        lines.append(f"  high risk: {h['metal']} {h['standard_name']} ({h['country'] or 'country unknown'}, {h['cid']}, "
                     f"{h['rmap_status'] or 'no RMAP status'}) reported by {', '.join(h['suppliers'])}")
    for e in f["unknown_entities"]:
        lines.append(f"  not a known smelter: {e['metal']} '{e['name']}' reported by {', '.join(e['suppliers'])}")
    return "\n".join(lines)


@app.command("rcoi")
def rcoi_command(
    campaign: Optional[str] = typer.Option(None, "--campaign", help="Campaign year (e.g. 2026) or campaign ID."),
    files: Optional[Path] = typer.Option(None, "--files", help="Folder or zip of CMRT files collected outside the engine."),
    suppliers: Optional[Path] = typer.Option(None, "--suppliers", help="CSV of the surveyed suppliers (with --files): "
                                             "columns name and optionally supplier_id, category."),
    year: Optional[int] = typer.Option(None, "--year", help="Reporting year (with --files; for the draft's wording "
                                       "and the stale-declaration rule)."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Smelter reference list (with --files)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Write the workbook (Summary, Appendix A, ...)."),
    draft: Optional[Path] = typer.Option(None, "--draft", help="Write the draft 'Due Diligence Results' (Markdown)."),
    html: Optional[Path] = typer.Option(None, "--html", help="Write the HTML fragment shown on the dashboard."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Date of the RMI list the draft cites, e.g. 'May 17, 2021'."),
) -> None:
    """RCOI and due-diligence figures: suppliers, submissions, smelters by RMAP status, per-metal shares."""
    from outreach.reports import figures as fig
    from outreach.reports.render import render_due_diligence_draft, render_rcoi_html
    from outreach.reports.workbook import rcoi_workbook
    from outreach.settings import load_settings

    if (campaign is None) == (files is None):
        raise _fail("give exactly one of --campaign YEAR and --files DIR_OR_ZIP")
    if suppliers is not None and files is None:
        raise _fail("--suppliers goes with --files")
    try:
        if files is not None:
            from outreach.cli_cmrt import load_reference

            if suppliers is not None and not suppliers.is_file():
                raise _fail(f"supplier list not found: {suppliers}")
            figures = fig.files_figures(files, suppliers_csv=suppliers, reference=load_reference(reference),
                                        campaign_year=year)
            if year:
                figures["source"]["year"] = year
        else:
            engine = _engine()
            try:
                figures = fig.campaign_figures(engine, campaign)
            finally:
                engine.dispose()
    except fig.ReportInputError as exc:
        raise _fail(str(exc)) from None

    if xlsx is not None:
        rcoi_workbook(figures, xlsx)
    if draft is not None:
        draft.parent.mkdir(parents=True, exist_ok=True)
        draft.write_text(render_due_diligence_draft(figures, company=load_settings().company_name,
                                                  as_of=as_of), encoding="utf-8")
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_rcoi_html(figures), encoding="utf-8")
    if as_json:  # written as it is encoded: a year's report is too large a text to hold twice
        out = typer.get_text_stream("stdout")
        json.dump(figures, out, indent=2, default=str)
        out.write("\n")
    else:
        typer.echo(_summary_text(figures))
        for label, path in (("workbook", xlsx), ("draft", draft), ("html", html)):
            if path is not None:
                typer.echo(f"{label}: {path}")


@app.command("scorecards")
def scorecards_command(
    year: int = typer.Option(..., "--year", help="Campaign year."),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Write the scorecard workbook here."),
    as_json: bool = typer.Option(False, "--json", help="Print the scorecards as JSON."),
) -> None:
    """Supplier scorecards of a year: one row per supplier, components, grade, trend vs the year before."""
    from outreach.reports.workbook import scorecards_workbook
    from outreach.scorecards import scorecards_for_year

    engine = _engine()
    try:
        cards = scorecards_for_year(engine, year)
    finally:
        engine.dispose()
    if xlsx is not None:
        scorecards_workbook(cards, xlsx, year=year)
    if as_json:
        typer.echo(json.dumps(cards, indent=2, default=str))
        return
    grades: dict[str, int] = {}
    for c in cards:
        grades[c["grade"] or "-"] = grades.get(c["grade"] or "-", 0) + 1
    provisional = sum(1 for c in cards if c.get("provisional"))
    typer.echo(f"{len(cards)} scorecard(s) for {year}: " + ", ".join(f"{g} {n}" for g, n in sorted(grades.items()))
               + (f"; {provisional} provisional (the survey is open or a part cannot be judged yet)" if provisional else ""))
    if xlsx is not None:
        typer.echo(f"workbook: {xlsx}")


@app.command("declaration")
def declaration_command(
    campaign: str = typer.Option(..., "--campaign", help="Campaign ID."),
    template: Path = typer.Option(..., "--template", help="The official blank CMRT (6.x) from the RMI."),
    out: Path = typer.Option(..., "--out", help="Where to write the company's filled CMRT."),
    answers: Optional[Path] = typer.Option(None, "--answers", help="JSON object with the company's own fields and "
                                           "questions A-H (over OUTREACH_OWN_DECLARATION)."),
    by: Optional[str] = typer.Option(None, "--by", help="Who produces it (the audit trail's actor)."),
) -> None:
    """The company's own CMRT for its customers, rolled up from the campaign's valid supplier declarations."""
    from outreach.audit import command_line_actor
    from outreach.reports.figures import ReportInputError
    from outreach.reports.own_declaration import OwnDeclarationRefused, company_answers, produce
    from outreach.settings import load_settings

    if not template.is_file():
        raise _fail(f"template not found: {template}")
    settings = load_settings()
    engine = _engine()
    try:
        company = company_answers(settings.own_declaration, answers, settings.company_name)
        made = produce(engine, campaign, template.read_bytes(), company, by=by or command_line_actor())
    except (OwnDeclarationRefused, ReportInputError) as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(made.data)
    r = made.roll_up
    typer.echo(f"CMRT {made.version} written to {out}: {r.responded} of {r.surveyed} suppliers' declarations "
               f"counted; metals in scope: {', '.join(r.metals_in_scope) or 'none'}; {len(r.facilities)} smelter(s).")
    for f in r.without_country:
        typer.echo(f"  not listed (no country given, ask the supplier): {f.metal} '{f.name}'")

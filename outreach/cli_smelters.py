"""`outreach smelters ...`: the smelter reference list.

    outreach smelters import FILE                 a reference CSV, a CMRT workbook (its Smelter Look-up
                                                  sheet) or an RMI facility-list export (CSV or XLSX)
    outreach smelters match CSV [--json] [--reference FILE]
                                                  CSV columns metal, name, optional country (and cid)
    outreach smelters watchlist import FILE       watch list (CSV/XLSX): name or CID, metal, source, date, note
    outreach smelters recognition import FILE --scheme LBMA|RJC|...
                                                  a cross-recognition list; replaces that scheme's last one
    outreach smelters risk show CID [--json]      the risk and its reasons (cmrt/risk.py)
    outreach smelters risk override CID --level low|medium|high --reason R [--by NAME]
    outreach smelters risk clear-override CID [--reason R]

Exit codes: 0 done; 1 the database is unreachable or not migrated; 2 usage error (missing file, wrong
columns, unknown format).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Import and match against the smelter reference list.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Import and match against the smelter reference list."""


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code=code)


def _settings():
    from outreach.settings import ConfigurationError, load_settings

    try:
        return load_settings()
    except ConfigurationError as exc:
        raise _fail(str(exc).replace("\n", " ")) from None


@app.command("import")
def import_(file: Path = typer.Argument(..., help="Reference CSV, CMRT workbook or RMI facility-list export.")) -> None:
    """Add a reference list to the database: new smelters and aliases, updated statuses, nothing lost."""
    from sqlalchemy.exc import SQLAlchemyError

    from outreach.db import DatabaseUnavailable, check_connection, engine_from_settings
    from outreach.audit import command_line_actor
    from outreach.reference_store import ReferenceFormatError, read_reference_file, save_reference

    if not file.is_file():
        raise _fail(f"no such file: {file}")
    try:
        kind, imported = read_reference_file(file, file.name)  # a bad file fails before any database work
    except ReferenceFormatError as exc:
        raise _fail(f"cannot import {file}: {exc}") from None
    engine = engine_from_settings(_settings())
    try:
        check_connection(engine)
        result = save_reference(engine, imported, source_kind=kind, source_name=file.name,
                                by=command_line_actor())
    except DatabaseUnavailable as exc:
        raise _fail(str(exc), code=1) from None
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise _fail(f"cannot store the reference list ({cause}); run `outreach db upgrade` first", code=1) from None
    finally:
        engine.dispose()
    typer.echo(result.summary())


MATCH_COLUMNS = ("metal", "name")


def _read_match_csv(path: Path) -> list[dict[str, str]]:
    """Rows of the match CSV with lower-case keys; exits 2 naming the missing columns."""
    if not path.is_file():
        raise _fail(f"no such file: {path}")
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04" or b"\x00" in data[:4096]:
        raise _fail(f"{path}: not a CSV file (columns {', '.join(MATCH_COLUMNS)}, optional country)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise _fail(f"{path}: empty file (expected columns {', '.join(MATCH_COLUMNS)}, optional country)")
    keys = [h.strip().lower() for h in header]
    missing = [c for c in MATCH_COLUMNS if c not in keys]
    if missing:
        raise _fail(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(k for k in keys if k) or 'none'})")
    rows = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        rows.append({k: (cells[i] if i < len(cells) else "") for i, k in enumerate(keys) if k})
    return rows


@app.command("match")
def match(
    file: Path = typer.Argument(..., help="CSV with columns metal, name and optionally country (and cid)."),
    as_json: bool = typer.Option(False, "--json", help="A JSON array, one object per row, in input order."),
    reference: Optional[Path] = typer.Option(
        None, "--reference", help="Match against this reference file instead of the stored (or shipped) list."),
) -> None:
    """Match smelter names to the reference list; the CID is left empty when the match is not certain."""
    from outreach.reference_store import ReferenceFormatError, load_reference, read_reference_file

    rows = _read_match_csv(file)
    if reference is not None:
        if not reference.is_file():
            raise _fail(f"no such file: {reference}")
        try:
            _, ref = read_reference_file(reference, reference.name)
        except ReferenceFormatError as exc:
            raise _fail(f"cannot read reference list {reference}: {exc}") from None
    else:
        ref = load_reference()

    results = []
    for number, row in enumerate(rows, start=1):
        m = ref.match(metal=row.get("metal") or None, cid=row.get("cid") or None,
                      lookup_name=row.get("name") or None, country=row.get("country") or None)
        results.append({
            "row": number,
            "metal": row.get("metal", "").strip() or None,
            "name": row.get("name", "").strip() or None,
            "cid": m.cid,
            "standard_name": m.standard_name,
            "match": m.match,
            "score": m.score,
            "country": m.country,
            "rmap_status": m.rmap_status,
            "risk": m.risk,
            "risk_reasons": ref.risk_of(m.cid).reason_texts() if m.cid else [],
            "problems": m.problems,
        })
    if as_json:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
        return
    typer.echo(_table(results))
    review = sum("needs_review" in r["problems"] for r in results)
    unmatched = sum(r["match"] == "unmatched" for r in results)
    typer.echo(f"\n{len(results)} rows: {len(results) - review - unmatched} matched, "
               f"{review} to review (no CID given), {unmatched} not found ({len(ref)} smelters on the list)")


def _table(results: list[dict]) -> str:
    headers = ("row", "metal", "name", "CID", "standard name", "match", "score", "risk", "note")
    lines = []
    for r in results:
        note = ", ".join(p.replace("_", " ") for p in r["problems"])
        lines.append((str(r["row"]), r["metal"] or "", _cut(r["name"] or "", 40), r["cid"] or "-",
                      _cut(r["standard_name"] or "", 40), r["match"], f"{r['score']:.0f}", r["risk"], note))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*headers).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip()]
    out += [fmt.format(*line).rstrip() for line in lines]
    return "\n".join(out)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --- Risk: compliance's watch list, cross-recognition lists and overrides (cmrt/risk.py) ---------------

watchlist_app = typer.Typer(help="The watch list: credible evidence of unethical or conflict sourcing.",
                            no_args_is_help=True)
recognition_app = typer.Typer(help="Cross-recognition lists (peer assessments): LBMA, RJC, ...", no_args_is_help=True)
risk_app = typer.Typer(help="A smelter's risk: show it with its reasons, override it, clear the override.",
                       no_args_is_help=True)
app.add_typer(watchlist_app, name="watchlist")
app.add_typer(recognition_app, name="recognition")
app.add_typer(risk_app, name="risk")


def _engine():
    from outreach.db import DatabaseUnavailable, check_connection, engine_from_settings

    engine = engine_from_settings(_settings())
    try:
        check_connection(engine)
    except DatabaseUnavailable as exc:
        engine.dispose()
        raise _fail(str(exc), code=1) from None
    return engine


def _store_call(call):
    """Run a store call: a refused input exits 2, a database that is not migrated exits 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from outreach.reference_store import ReferenceFormatError
    from outreach.risk_store import RiskInputError

    engine = _engine()
    try:
        return call(engine)
    except (RiskInputError, ReferenceFormatError) as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise _fail(f"cannot store it ({cause}); run `outreach db upgrade` first", code=1) from None
    finally:
        engine.dispose()


def _import_list(file: Path, kind: str, scheme: str | None, by: str | None) -> None:
    from outreach.audit import command_line_actor
    from outreach.reference_store import ReferenceFormatError
    from outreach.risk_store import RiskInputError, import_risk_list
    from cmrt.risk_lists import read_risk_list

    if not file.is_file():
        raise _fail(f"no such file: {file}")
    data = file.read_bytes()
    try:
        if kind == "recognition" and not (scheme or "").strip():
            raise RiskInputError("a cross-recognition list needs its scheme (--scheme LBMA, RJC, ...)")
        read_risk_list(data, kind, scheme=scheme)  # type: ignore[arg-type]  # a bad file fails before the database
    except (ReferenceFormatError, RiskInputError) as exc:
        raise _fail(f"cannot import {file}: {exc}") from None
    result = _store_call(lambda engine: import_risk_list(
        engine, data, kind=kind, scheme=scheme, source_name=file.name,  # type: ignore[arg-type]
        by=by or command_line_actor()))
    typer.echo(result.summary())


@watchlist_app.command("import")
def watchlist_import(
    file: Path = typer.Argument(..., help="CSV or XLSX: smelter name or CID, metal, source, date, note."),
    by: Optional[str] = typer.Option(None, "--by", help="Who imports it (default: the system account)."),
) -> None:
    """Add watch-list entries: each smelter it names is high risk, with the entry's source and date as reason."""
    _import_list(file, "watchlist", None, by)


@recognition_app.command("import")
def recognition_import(
    file: Path = typer.Argument(..., help="CSV or XLSX: refiner name or ID, optionally metal and country."),
    scheme: str = typer.Option(..., "--scheme", help="The scheme the list is from: LBMA, RJC, ..."),
    by: Optional[str] = typer.Option(None, "--by", help="Who imports it (default: the system account)."),
) -> None:
    """Replace the scheme's cross-recognition list (a peer assessment lowers a smelter's risk)."""
    _import_list(file, "recognition", scheme, by)


@risk_app.command("override")
def risk_override(
    cid: str = typer.Argument(..., help="The smelter's CID."),
    level: str = typer.Option(..., "--level", help="low, medium or high."),
    reason: str = typer.Option(..., "--reason", help="Why: shown with the risk wherever it appears."),
    by: Optional[str] = typer.Option(None, "--by", help="Who decides (default: the system account)."),
) -> None:
    """Set compliance's own risk for a smelter; every later check and figure uses it."""
    from outreach.audit import command_line_actor
    from outreach.risk_store import set_override

    row = _store_call(lambda engine: set_override(engine, cid, level=level, reason=reason,
                                                   by=by or command_line_actor()))
    typer.echo(f"{row.cid}: risk set to {row.level} by {row.set_by}: {row.reason}")


@risk_app.command("clear-override")
def risk_clear_override(
    cid: str = typer.Argument(..., help="The smelter's CID."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why the override no longer holds."),
    by: Optional[str] = typer.Option(None, "--by", help="Who decides (default: the system account)."),
) -> None:
    """Back to the five factors for this smelter."""
    from outreach.audit import command_line_actor
    from outreach.risk_store import clear_override

    cleared = _store_call(lambda engine: clear_override(engine, cid, by=by or command_line_actor(), reason=reason))
    typer.echo(f"{cid.strip().upper()}: override cleared" if cleared else f"{cid.strip().upper()}: had no override")


@risk_app.command("show")
def risk_show(
    cid: str = typer.Argument(..., help="The smelter's CID."),
    as_json: bool = typer.Option(False, "--json", help="A JSON object: level, rule level, reasons."),
) -> None:
    """A smelter's risk as every check and report grades it now, with its reasons."""
    from cmrt.reference import normalise_cid
    from outreach.reference_store import load_reference

    ref = load_reference()
    key, _ = normalise_cid(cid)
    smelter = ref.get(key or "")
    if smelter is None:
        raise _fail(f"{cid!r} is not on the smelter reference list")
    a = ref.risk_of(smelter.cid)
    if as_json:
        typer.echo(json.dumps({"cid": smelter.cid, "standard_name": smelter.standard_name, "metal": smelter.metal,
                               "risk": a.level, "rule_risk": a.rule_level, "overridden": a.overridden,
                               "reasons": a.reason_texts()}, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{smelter.cid} {smelter.standard_name} ({smelter.metal}, {smelter.country or 'country unknown'}): "
               f"{a.level} risk")
    for why in a.reason_texts():
        typer.echo(f"  - {why}")

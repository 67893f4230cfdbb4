"""`outreach smelters ...`: the smelter reference list.

    outreach smelters import FILE                 a reference CSV, a CMRT workbook (its Smelter Look-up
                                                  sheet) or an RMI facility-list export (CSV or XLSX)
    outreach smelters match CSV [--json] [--reference FILE]
                                                  CSV columns metal, name, optional country (and cid)

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

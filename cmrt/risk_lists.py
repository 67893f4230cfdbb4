"""Compliance's own smelter lists, read from a CSV or XLSX file: bytes in, rows out (pure library).

- a **watch list** (factor 4 of the seed, credible evidence of unethical or conflict sourcing): one
  row per entry with the smelter's name or CID, its metal, the source that reports it, the date and
  a note;
- a **cross-recognition list** (factor 5, peer assessments), e.g. the LBMA Good Delivery List or the
  RJC Chain-of-Custody certificate holders: the refiner's name or ID, optionally metal and country.

Headers are recognised by name (case, ``_`` and ``-`` forgiven), the header row may sit below a
title. A workbook is sized by :mod:`cmrt.sniff` before it is parsed, exactly as reference lists are,
so a hostile file is refused with a one-line :class:`~cmrt.reference.ReferenceFormatError`. Rows the
file gets wrong are kept in :attr:`RiskListFile.problems` with their row number, never dropped
silently. Matching entries to smelters is :func:`match_entry`, the reference list's own matcher.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from cmrt.reference import (
    ReferenceFormatError,
    ReferenceList,
    SmelterMatch,
    _clean,
    _csv_rows,
    _decode_text,
    _header_key,
    _is_zip,
    _xlsx_sheets,
    normalise_cid,
)

ListKind = Literal["watchlist", "recognition"]

_HEADERS: dict[str, tuple[str, ...]] = {
    "cid": ("cid", "smelter id", "facility id", "smelter identification", "rmi id", "id", "refiner id",
            "member id", "certificate id", "lbma id"),
    "name": ("smelter name", "name", "smelter", "refiner", "refiner name", "standard smelter name", "facility name",
             "smelter or refiner", "smelter/refiner", "smelter or refiner name", "company", "company name", "member",
             "smelter name or cid", "name or cid", "smelter or cid", "smelter name or id", "name or id",
             "smelter name/cid", "name/cid"),
    "metal": ("metal", "mineral", "metals", "commodity"),
    "country": ("country", "country location", "location", "smelter country"),
    "source": ("source", "reported by", "evidence source", "publisher", "by"),
    "date": ("date", "listed on", "date listed", "since", "reported on", "report date"),
    "note": ("note", "notes", "comment", "comments", "reason", "evidence", "details"),
}
_HEADER_KEYS = {k: frozenset(_header_key(n) for n in names) for k, names in _HEADERS.items()}
# The metal a scheme's list is about when its rows do not say (LBMA Good Delivery: gold refiners).
SCHEME_METALS = {"LBMA": "Gold", "RJC": "Gold"}
MAX_ROWS = 100_000


@dataclass(frozen=True)
class RiskListRow:
    row: int
    cid: str | None
    name: str | None
    metal: str | None
    country: str | None = None
    source: str | None = None
    listed_on: date | None = None
    note: str | None = None


@dataclass
class RiskListFile:
    kind: ListKind
    rows: list[RiskListRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "row 7: ...", kept for the import report


def _map(header: list[object]) -> dict[str, int]:
    found: dict[str, int] = {}
    for idx, cell in enumerate(header):
        key = _header_key(cell)
        for name, keys in _HEADER_KEYS.items():
            if name not in found and key in keys:
                found[name] = idx
                break
    return found


_MONTHS = "%d-%b-%Y", "%d %b %Y", "%d %B %Y", "%B %d, %Y", "%b %d, %Y", "%Y/%m/%d", "%d.%m.%Y"


def parse_date(value: object) -> date | None:
    """A cell as a date (a date cell, ISO text, 02-May-2024, 2024/05/02, 02.05.2024); None if it is not one."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _clean(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    for fmt in _MONTHS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _table(data: bytes) -> list[list[object]]:
    if not data.strip():
        raise ReferenceFormatError("the file is empty")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ReferenceFormatError("an old .xls or encrypted workbook: save it as an unprotected .xlsx or .csv first")
    if _is_zip(data):
        try:
            with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
                if "xl/workbook.xml" not in zf.namelist():
                    raise ReferenceFormatError("a zip file that is not an .xlsx workbook")
        except zipfile.BadZipFile:
            raise ReferenceFormatError("a damaged .xlsx file (not a readable zip)") from None
        for rows in _xlsx_sheets(data).values():  # sized by cmrt.sniff before parsing
            if any(_usable(_map(r)) for r in rows[:25]):
                return rows
        raise ReferenceFormatError("no sheet has a smelter name or CID column")
    if b"\x00" in data[:4096]:
        raise ReferenceFormatError("not a CSV or XLSX file (binary content)")
    return _csv_rows(_decode_text(data))


def _usable(mapping: dict[str, int]) -> bool:
    return "name" in mapping or "cid" in mapping


def read_risk_list(data: bytes, kind: ListKind, *, scheme: str | None = None) -> RiskListFile:
    """Read a watch list or a cross-recognition list. Raises ReferenceFormatError for a file it cannot use."""
    rows = _table(data)
    start, mapping = -1, {}
    for i, r in enumerate(rows[:25]):
        mapping = _map(r)
        if _usable(mapping):
            start = i
            break
    if start < 0:
        raise ReferenceFormatError("missing column: smelter name or CID")
    if kind == "watchlist" and "source" not in mapping:
        raise ReferenceFormatError("a watch list needs a source column (who reports the smelter)")
    if len(rows) - start - 1 > MAX_ROWS:
        raise ReferenceFormatError(f"more than {MAX_ROWS:,} rows: split the list")
    out = RiskListFile(kind=kind)
    default_metal = SCHEME_METALS.get((scheme or "").upper())

    def cell(r: list[object], name: str) -> object:
        idx = mapping.get(name)
        return r[idx] if idx is not None and idx < len(r) else None

    for number, r in enumerate(rows[start + 1:], start=start + 2):
        values = {k: cell(r, k) for k in _HEADERS}
        if not any(_clean(v) for v in values.values()):
            continue
        cid, _ = normalise_cid(values["cid"]) if values["cid"] is not None else (None, True)
        name = _clean(values["name"]) or None
        if not cid and name and _CID_LIKE.match(name.upper().replace(" ", "")):
            cid, name = name.upper().replace(" ", ""), None  # "smelter name or CID": a CID in the name column
        if not cid and not name:
            out.problems.append(f"row {number}: no smelter name or CID, skipped")
            continue
        source = _clean(values["source"]) or None
        if kind == "watchlist" and not source:
            out.problems.append(f"row {number}: {name or cid}: no source, skipped (a watch-list entry needs one)")
            continue
        listed_on = parse_date(values["date"])
        if values["date"] not in (None, "") and listed_on is None:
            out.problems.append(f"row {number}: {name or cid}: date {_clean(values['date'])!r} not understood, "
                                f"kept without a date")
        out.rows.append(RiskListRow(
            row=number, cid=cid, name=name, metal=_clean(values["metal"]) or default_metal,
            country=_clean(values["country"]) or None, source=source if kind == "watchlist" else (source or scheme),
            listed_on=listed_on, note=_clean(values["note"]) or None,
        ))
    if not out.rows:
        raise ReferenceFormatError("no usable rows" + (f" ({out.problems[0]})" if out.problems else ""))
    return out


_CID_LIKE = re.compile(r"^(CID\d{6}|\d[A-Z]{3}\d{2,4})$")


def match_entry(reference: ReferenceList, *, cid: str | None, name: str | None, metal: str | None,
                country: str | None) -> SmelterMatch:
    """Match a list entry like a supplier's Smelter List row: a CID first (a scheme's own ID is not a
    CID and is ignored), then the name with the metal and country. Accepted only without doubt: an
    entry that needs review stays unmatched (reported), never attached to the wrong smelter."""
    declared = cid if cid and _CID_LIKE.match(cid) else None
    return reference.match(metal=metal, cid=declared, lookup_name=name, name=name, country=country)

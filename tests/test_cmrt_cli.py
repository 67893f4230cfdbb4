"""`outreach cmrt check`: human report, JSON array, directories, reference lists, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmrt.builder import high_risk_cmrt, invalid_cmrt, valid_builder, valid_cmrt
from outreach.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_stored_reference(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No database here: the command falls back to the shipped reference list, whatever var/ holds."""
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path_factory.mktemp("no-db")))
    monkeypatch.setenv("OUTREACH_DATABASE_URL", "")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "smelters_juniper_2020.csv"


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "a_valid.xlsx").write_bytes(valid_cmrt(company="Alpha Parts"))
    (tmp_path / "b_invalid.xlsx").write_bytes(invalid_cmrt(company="Beta Parts", problem="malformed_email"))
    (tmp_path / "c_photo.xls").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    (tmp_path / "notes.txt").write_text("not a workbook, not picked up from a directory")
    return tmp_path


def test_human_report_for_a_directory(folder: Path) -> None:
    result = runner.invoke(app, ["cmrt", "check", str(folder)])
    assert result.exit_code == 1, result.output
    out = result.output
    assert "a_valid.xlsx: VALID" in out
    assert "b_invalid.xlsx: INVALID" in out and "[error] missing_contact_email @ Declaration D16" in out
    assert "c_photo.xls: UNREADABLE" in out and "JPEG" in out
    assert "notes.txt" not in out
    assert "3 file(s): 1 valid, 2 not valid" in out


def test_json_array_one_object_per_file_in_order(folder: Path) -> None:
    result = runner.invoke(app, ["cmrt", "check", str(folder / "a_valid.xlsx"), str(folder / "c_photo.xls"), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [Path(d["file"]).name for d in data] == ["a_valid.xlsx", "c_photo.xls"]
    assert [d["verdict"] for d in data] == ["valid", "unreadable"]
    first = data[0]
    assert first["template"] == {**first["template"], "kind": "CMRT", "version": "6.5"}
    assert first["declaration"]["company_name"] == "Alpha Parts"
    assert first["checker_remaining"] == 0 and first["program_strength"] == "strong"
    assert first["metals_in_scope"] == ["Tantalum", "Tin", "Gold", "Tungsten"]
    assert {s["match"] for s in first["smelters"]} == {"cid"}
    assert data[1]["findings"][0]["code"] == "not_a_spreadsheet"


def test_all_valid_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "ok.xlsx"
    path.write_bytes(valid_cmrt())
    result = runner.invoke(app, ["cmrt", "check", str(path)])
    assert result.exit_code == 0, result.output


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    result = runner.invoke(app, ["cmrt", "check", str(tmp_path / "missing.xlsx")])
    assert result.exit_code == 2 and "no such file" in result.output
    result = runner.invoke(app, ["cmrt", "check", str(tmp_path)])  # empty directory
    assert result.exit_code == 2 and "no workbooks" in result.output
    ok = tmp_path / "ok.xlsx"
    ok.write_bytes(valid_cmrt())
    result = runner.invoke(app, ["cmrt", "check", str(ok), "--reference", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "reference list not found" in result.output
    assert runner.invoke(app, ["cmrt", "check"]).exit_code == 2


def test_reference_option_changes_the_match(tmp_path: Path) -> None:
    """A reference CSV where the Ugandan refinery is Conformant: the row is no longer high risk."""
    ref = tmp_path / "ref.csv"
    ref.write_text("metal,standard_smelter_name,country,smelter_id,rmap_status\n"
                   "Gold,African Gold Refinery,UGANDA,CID003185,Conformant\n")
    path = tmp_path / "risk.xlsx"
    path.write_bytes(high_risk_cmrt())
    default = json.loads(runner.invoke(app, ["cmrt", "check", str(path), "--json"]).stdout)[0]
    custom = json.loads(runner.invoke(app, ["cmrt", "check", str(path), "--json", "--reference", str(ref)]).stdout)[0]
    assert [s["risk"] for s in default["smelters"] if s["cid"] == "CID003185"] == ["high"]
    assert [s["risk"] for s in custom["smelters"] if s["cid"] == "CID003185"] == ["low"]
    # the other smelters are not on that one-line list
    assert "smelter_high_risk" in [f["code"] for f in default["findings"]]
    assert "smelter_high_risk" not in [f["code"] for f in custom["findings"]]


def test_a_reference_list_without_statuses_does_not_call_smelters_not_enrolled(tmp_path: Path) -> None:
    """The other smelters are found by CID (the workbook's Smelter Look-up) but have no status we know."""
    ref = tmp_path / "ref.csv"
    ref.write_text("metal,standard_smelter_name,country,smelter_id\n"
                   "Gold,Advanced Chemical Company,UNITED STATES OF AMERICA,CID000015\n")
    path = tmp_path / "valid.xlsx"
    path.write_bytes(valid_cmrt())
    result = runner.invoke(app, ["cmrt", "check", str(path), "--reference", str(ref)])
    assert "not enrolled" not in result.stdout.casefold(), result.stdout
    assert "unknown to us" in result.stdout


def test_campaign_year_option(tmp_path: Path) -> None:
    path = tmp_path / "old.xlsx"
    path.write_bytes(valid_builder(effective_date="15-Jan-2023").to_bytes())
    result = runner.invoke(app, ["cmrt", "check", str(path), "--json", "--campaign-year", "2024"])
    assert result.exit_code == 1
    assert "effective_date_stale" in [f["code"] for f in json.loads(result.stdout)[0]["findings"]]


def test_console_script_runs_as_a_process(folder: Path) -> None:
    exe = Path(sys.executable).with_name("outreach")
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    proc = subprocess.run([str(exe), "cmrt", "check", str(folder / "a_valid.xlsx"), "--json"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["verdict"] == "valid"


def test_hostile_workbooks_are_reported_and_the_rest_still_checked(tmp_path: Path) -> None:
    """As a process (a native abort would end it): each hostile file gets its verdict, the others theirs."""
    from tests import hostile_workbooks as hw

    exe = Path(sys.executable).with_name("outreach")
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    (tmp_path / "a_corner.xlsx").write_bytes(hw.corner())
    (tmp_path / "b_zip148.xlsx").write_bytes(hw.zip_version_14_8())
    (tmp_path / "c_valid.xlsx").write_bytes(valid_cmrt())
    env = {**os.environ, "OUTREACH_CHECK_MEMORY_MB": "512"}
    proc = subprocess.run([str(exe), "cmrt", "check", str(tmp_path), "--json"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 1, proc.stderr
    out = {Path(r["file"]).name: r for r in json.loads(proc.stdout)}
    assert [out[n]["verdict"] for n in sorted(out)] == ["unreadable", "unreadable", "valid"]
    assert out["a_corner.xlsx"]["findings"][0]["code"] == "sheet_too_large"
    assert out["b_zip148.xlsx"]["findings"][0]["code"] == "corrupt_workbook"


@pytest.mark.parametrize("value", ["-5", "0", "nan"])
def test_a_size_limit_that_is_not_positive_is_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "a.xlsx"
    path.write_bytes(valid_cmrt())
    result = runner.invoke(app, ["cmrt", "check", str(path), "--max-mb", value])
    assert result.exit_code == 2
    assert "--max-mb must be a positive number" in result.output


def test_language_says_the_findings_in_it_and_json_too(tmp_path: Path) -> None:
    path = tmp_path / "b.xlsx"
    path.write_bytes(invalid_cmrt(company="Beta Parts", problem="malformed_email"))
    english = runner.invoke(app, ["cmrt", "check", "--json", str(path)])
    german = runner.invoke(app, ["cmrt", "check", "--json", "--language", "de-AT", str(path)])
    assert english.exit_code == german.exit_code == 1
    en, de = json.loads(english.output)[0], json.loads(german.output)[0]
    assert [f["code"] for f in en["findings"]] == [f["code"] for f in de["findings"]] == ["missing_contact_email"]
    assert de["findings"][0]["message"].startswith("Die E-Mail-Adresse des Ansprechpartners ist ein Pflichtfeld")
    assert "D16" in de["findings"][0]["message"]
    assert de["template"]["locale"] == en["template"]["locale"] == "en"  # the workbook was filled in English
    text = runner.invoke(app, ["cmrt", "check", "--language", "zh-TW", str(path)])
    assert "聯絡人電子郵件為必填欄位" in text.output and "D16" in text.output


def test_language_workbook_uses_the_language_the_workbook_was_filled_in(tmp_path: Path) -> None:
    b = valid_builder()
    b.language = "日本語 Japanese"
    b.company(contact_email="toru,nishio@acme.example.com")
    path = tmp_path / "ja.xlsx"
    path.write_bytes(b.to_bytes())
    out = json.loads(runner.invoke(app, ["cmrt", "check", "--json", "--language", "workbook", str(path)]).output)[0]
    assert out["template"]["locale"] == "ja"
    assert any("有効な電子メールアドレスではない" in f["message"] for f in out["findings"]), out["findings"]


def test_unknown_language_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    path.write_bytes(valid_cmrt())
    result = runner.invoke(app, ["cmrt", "check", "--language", "klingon", str(path)])
    assert result.exit_code == 2 and "klingon" in result.output

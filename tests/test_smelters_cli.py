"""`outreach smelters import` and `outreach smelters match`, run through the real CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cmrt.builder import CMRTBuilder, LookupRow
from outreach.cli import app
from outreach.db import upgrade_database

runner = CliRunner()

MATCH_CSV = (
    "metal,name,country\n"
    "Gold,Aida Chemical Industries Co Ltd,JAPAN\n"  # normalised name
    "Gold,Asahi Rfeining USA Inc.,\n"  # a typo
    "Tin,Totally Unheard Of Smelting Works,\n"  # not on the list
    "Gold,Sam Precious Metals,\n"  # close to Samduck Precious Metals: review, no CID
    "gold,  ADVANCED CHEMICAL COMPANY\t,USA\n"
    "Gold,Smelter not listed,\n"
)


def run(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env or {}, catch_exceptions=False)


@pytest.fixture
def db_env(tmp_path):
    url = f"sqlite:///{tmp_path / 'outreach.db'}"
    upgrade_database(url)
    return {"OUTREACH_DATABASE_URL": url, "OUTREACH_DATA_DIR": str(tmp_path / "var")}


def test_match_json_in_input_order(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text(MATCH_CSV)
    result = run("smelters", "match", str(path), "--json",
                 env={"OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"})
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["row"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [(r["cid"], r["match"]) for r in rows] == [
        ("CID000019", "name"),
        ("CID000920", "fuzzy"),
        (None, "unmatched"),
        (None, "fuzzy"),
        ("CID000015", "alias"),
        (None, "unmatched"),
    ]
    assert rows[0]["standard_name"] == "Aida Chemical Industries Co., Ltd." and rows[0]["score"] == 100.0
    assert 90 <= rows[1]["score"] < 100
    assert rows[3]["standard_name"] == "Samduck Precious Metals" and "needs_review" in rows[3]["problems"]
    assert rows[5]["problems"] == ["not_listed"]
    assert all({"cid", "standard_name", "match", "score"} <= set(r) for r in rows)


def test_match_human_table(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text(MATCH_CSV)
    result = run("smelters", "match", str(path), env={"OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["row", "metal", "name", "CID"]
    assert "CID000019" in lines[2] and "needs review" in lines[5]
    assert "6 rows: 3 matched, 1 to review (no CID given), 2 not found (333 smelters on the list)" in result.stdout


def test_match_semicolons_and_a_reference_file(tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("Metal;Name\nTin;Example Tin Smelter Ltd\n")
    ref = tmp_path / "ref.csv"
    ref.write_text("metal,standard_smelter_name,country,smelter_id,rmap_status\n"
                   "Tin,Example Tin Smelter Limited,RWANDA,CID009001,Not enrolled\n")
    result = run("smelters", "match", str(names), "--json", "--reference", str(ref))
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert (row["cid"], row["match"], row["risk"]) == ("CID009001", "name", "high")


@pytest.mark.parametrize("content,message", [
    ("metal,nom\nGold,X\n", "missing column(s) name (found: metal, nom)"),
    ("name\nX\n", "missing column(s) metal"),
    ("", "empty file"),
])
def test_match_wrong_columns(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = run("smelters", "match", str(path))
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_match_missing_file_and_not_a_csv(tmp_path):
    result = run("smelters", "match", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "no such file" in result.stderr
    xlsx = tmp_path / "names.xlsx"
    xlsx.write_bytes(CMRTBuilder().to_bytes())
    result = run("smelters", "match", str(xlsx))
    assert result.exit_code == 2 and "not a CSV file" in result.stderr


def test_import_then_match_uses_the_imported_list(tmp_path, db_env):
    data = (CMRTBuilder("6.5").lookup_rows([
        LookupRow("Gold", "Advanced Chemical Company", "Advanced Chemical Company", "UNITED STATES OF AMERICA", "CID000015"),
        LookupRow("Gold", "ACC Warwick", "Advanced Chemical Company", "UNITED STATES OF AMERICA", "CID000015"),
    ]).revision_text("Revision 6.5\nApril 25, 2025").to_bytes())
    workbook = tmp_path / "RMI_CMRT_6.5.xlsx"
    workbook.write_bytes(data)
    result = run("smelters", "import", str(workbook), env=db_env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("cmrt_lookup RMI_CMRT_6.5.xlsx (published 2025-04-25): 1 smelters: 0 added, 0 updated, 1 unchanged;")
    assert "2 aliases added" in result.stdout and "333 smelters of the shipped list" in result.stdout

    again = run("smelters", "import", str(workbook), env=db_env)
    assert again.exit_code == 0 and "already imported, nothing changed" in again.stdout

    names = tmp_path / "names.csv"
    names.write_text("metal,name\nGold,ACC Warwick\n")
    [row] = json.loads(run("smelters", "match", str(names), "--json", env=db_env).stdout)
    assert (row["cid"], row["match"]) == ("CID000015", "alias")


def test_import_rmi_export_and_csv(tmp_path, db_env):
    export = tmp_path / "facilities.csv"
    export.write_text('"Facility ID","Facility Name","Metal","Country Location","Assessment Status"\n'
                      '"CID000015","Advanced Chemical Company","Gold","United States of America","Active"\n')
    result = run("smelters", "import", str(export), env=db_env)
    assert result.exit_code == 0 and result.stdout.startswith("rmi_export facilities.csv: 1 smelters: 0 added, 1 updated")
    ours = tmp_path / "ours.csv"
    ours.write_text("metal,standard_smelter_name,country,smelter_id,rmap_status\nGold,New Refinery,GHANA,CID009876,Active\n")
    result = run("smelters", "import", str(ours), env=db_env)
    assert result.exit_code == 0 and "1 added" in result.stdout and "shipped list" not in result.stdout


def test_import_errors(tmp_path, db_env):
    result = run("smelters", "import", str(tmp_path / "nope.csv"), env=db_env)
    assert (result.exit_code, result.stderr.strip()) == (2, f"Error: no such file: {tmp_path / 'nope.csv'}")

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("metal,standard_smelter_name\nGold,X\n")
    result = run("smelters", "import", str(wrong), env=db_env)
    assert result.exit_code == 2 and "missing column(s) Smelter ID" in result.stderr

    picture = tmp_path / "list.xlsx"
    picture.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64)
    result = run("smelters", "import", str(picture), env=db_env)
    assert result.exit_code == 2 and "not a CSV or XLSX file" in result.stderr
    assert all(len(r.stderr.strip().splitlines()) == 1 for r in (result,))


def test_import_into_a_database_without_the_tables(tmp_path):
    export = tmp_path / "ref.csv"
    export.write_text("metal,standard_smelter_name,country,smelter_id,rmap_status\nGold,X Refinery,GHANA,CID009876,Active\n")
    result = run("smelters", "import", str(export), env={"OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'bare.db'}"})
    assert result.exit_code == 1 and "outreach db upgrade" in result.stderr

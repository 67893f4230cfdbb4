"""Reading reference lists (CSV, a CMRT's Smelter Look-up sheet, an RMI facility-list export) and
merging them over the years: renamed and removed CIDs keep matching, aliases accumulate."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from cmrt.builder import CMRTBuilder, LookupRow
from cmrt.reference import (
    DEFAULT_SMELTERS_CSV,
    ReferenceFormatError,
    ReferenceList,
    ReferenceSmelter,
    default_reference,
    detect_reference_kind,
    template_date,
)

JUNIPER_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "smelters_juniper_2020.csv"

REFERENCE_CSV = """metal,standard_smelter_name,country,smelter_id,rmap_status
Gold,Advanced Chemical Company,UNITED STATES OF AMERICA,CID000015,Conformant
Gold,"Aida Chemical Industries Co., Ltd.",JAPAN,CID000019,Active
Tin,Example Tin Smelter,RWANDA,CID009001,Not enrolled
"""


def xlsx_bytes(rows: list[list[object]], title: str = "Facilities") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_from_text_bytes_and_path(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text("# a comment line\n" + REFERENCE_CSV)
    for source in (REFERENCE_CSV, REFERENCE_CSV.encode("utf-8-sig"), path, str(path)):
        ref = ReferenceList.from_csv(source)
        assert len(ref) == 3
        tin = ref.get("CID009001")
        assert (tin.metal, tin.standard_name, tin.country, tin.rmap_status) == (
            "Tin", "Example Tin Smelter", "RWANDA", "Not Enrolled")
    assert ReferenceList.from_csv(REFERENCE_CSV.replace(",", ";").replace("Co.; Ltd.", "Co., Ltd.")).get(
        "CID000019").standard_name == "Aida Chemical Industries Co., Ltd."


def test_default_list_carries_the_juniper_facts():
    assert DEFAULT_SMELTERS_CSV.read_text().startswith("#")  # says where it comes from
    if not JUNIPER_CSV.exists():
        pytest.skip(f"{JUNIPER_CSV} not available")
    juniper = ReferenceList.from_csv(JUNIPER_CSV)
    shipped = default_reference()
    assert len(juniper) == len(shipped) == 333
    for s in juniper.smelters():
        d = shipped.get(s.cid)
        assert (d.metal, d.standard_name, d.rmap_status) == (s.metal, s.standard_name, s.rmap_status)


def test_csv_without_required_columns_names_them():
    with pytest.raises(ReferenceFormatError, match="Smelter ID"):
        ReferenceList.from_csv("metal,standard_smelter_name\nGold,X\n")


def test_csv_headers_match_whatever_the_case_and_separators():
    # ``standard_name`` (underscore), ``Smelter-ID`` and ``METAL`` name the same columns as the RMI's headers
    text = "Metal,standard_name,COUNTRY,Smelter-ID,rmap status\nTin,Example Tin Smelter,RWANDA,CID009001,Conformant\n"
    tin = ReferenceList.from_csv(text).get("CID009001")
    assert (tin.metal, tin.standard_name, tin.country, tin.rmap_status) == (
        "Tin", "Example Tin Smelter", "RWANDA", "Conformant")
    assert detect_reference_kind(text.encode()) == "rmi_export"


# --- CMRT Smelter Look-up ----------------------------------------------------------------------


def test_lookup_rows_give_aliases_and_skip_not_listed_rows():
    rows = [
        {"metal": "Gold", "lookup_name": "Advanced Chemical Company", "standard_name": "Advanced Chemical Company",
         "country": "UNITED STATES OF AMERICA", "cid": "CID000015", "source": "RMI"},
        {"metal": "Gold", "lookup_name": "ACC Warwick", "standard_name": "Advanced Chemical Company",
         "country": "UNITED STATES OF AMERICA", "cid": "CID000015"},
        {"metal": "Gold", "lookup_name": "Smelter not listed", "standard_name": None, "country": None, "cid": None},
        {"metal": "Gold", "lookup_name": "Smelter not yet identified", "standard_name": "Unknown", "cid": None},
        {"metal": "Gold", "lookup_name": "Broken row", "standard_name": "X", "cid": "0"},
    ]
    ref = ReferenceList.from_lookup_rows(rows)
    assert len(ref) == 1 and ref.get("CID000015").rmap_status is None
    assert {a.lookup_name for a in ref.aliases()} == {"Advanced Chemical Company", "ACC Warwick"}
    m = ref.match(metal="Gold", lookup_name="acc warwick ")
    assert (m.cid, m.match) == ("CID000015", "alias")


def test_cmrt_workbook_lookup_sheet_and_its_date():
    data = CMRTBuilder("6.22").lookup_rows([
        LookupRow("Gold", "Advanced Chemical Company", "Advanced Chemical Company", "UNITED STATES OF AMERICA", "CID000015"),
        LookupRow("Gold", "ACC", "Advanced Chemical Company", "UNITED STATES OF AMERICA", "CID000015"),
        LookupRow("Tin", "Example Tin", "Example Tin Smelter", "RWANDA", "CID009001"),
    ]).revision_text("Revision 6.22\nMay 11, 2022").to_bytes()
    assert detect_reference_kind(data) == "cmrt_lookup"
    ref = ReferenceList.from_cmrt_workbook(data)
    assert len(ref) == 2 and ref.published == date(2022, 5, 11) and ref.complete
    assert ref.match(metal="Gold", lookup_name="ACC").cid == "CID000015"


def test_template_date():
    assert template_date("Revision 6.5\nApril 25, 2025") == date(2025, 4, 25)
    assert template_date("Revision 6.5") is None
    assert template_date(None) is None


# --- RMI facility-list export ------------------------------------------------------------------

RMI_HEADER = ["Facility ID", "Facility Name", "Metal", "Country Location", "Assessment Status", "Other Names"]
RMI_ROWS = [
    ["CID000015", "Advanced Chemical Company", "Gold", "United States of America", "Conformant", "ACC; ACC Warwick"],
    ["CID009001", "Example Tin Smelter", "Tin", "Rwanda", "Active", ""],
    ["CID009002", "Example Tungsten Plant", "Tungsten", "Congo, Democratic Republic of the", "Non-Conformant", None],
    ["", "A row without an ID", "Gold", "Japan", "Conformant", ""],
]


def _check_rmi(ref: ReferenceList) -> None:
    assert len(ref) == 3
    assert ref.get("CID009001").rmap_status == "Active"
    m = ref.match(metal="Tungsten", cid="CID009002")
    assert (m.rmap_status, m.risk) == ("Non-Conformant", "high")
    assert ref.match(metal="Gold", lookup_name="ACC Warwick").cid == "CID000015"


def test_rmi_export_csv():
    text = ",".join(RMI_HEADER) + "\n" + "\n".join(
        ",".join(f'"{c}"' if c else "" for c in row) for row in RMI_ROWS)
    assert detect_reference_kind(text.encode()) == "rmi_export"
    _check_rmi(ReferenceList.from_rmi_facility_export(text.encode()))


def test_rmi_export_xlsx_with_a_title_above_the_header_and_other_synonyms():
    header = ["Smelter ID", "Standard Smelter Name", "METAL", "Country", "RMAP Status", "Alias"]
    data = xlsx_bytes([["RMI Smelter/Refiner List"], ["Exported 2025-06-01"], [], header, *RMI_ROWS])
    assert detect_reference_kind(data, "export.xlsx") == "rmi_export"
    _check_rmi(ReferenceList.from_rmi_facility_export(data))


def test_rmi_export_missing_columns_are_named():
    data = xlsx_bytes([["Facility Name", "Country"], ["X", "Japan"]])
    with pytest.raises(ReferenceFormatError, match="Smelter ID.*Metal|Metal.*Smelter ID"):
        ReferenceList.from_rmi_facility_export(data)
    with pytest.raises(ReferenceFormatError, match="Metal"):
        detect_reference_kind(b"Smelter ID,Standard Smelter Name\nCID000015,X\n")


# --- detection errors --------------------------------------------------------------------------


def test_detect_csv_kind():
    assert detect_reference_kind(REFERENCE_CSV.encode()) == "csv"
    assert detect_reference_kind(DEFAULT_SMELTERS_CSV) == "csv"


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "xls"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "binary"),
    (b"PK\x03\x04 truncated", "damaged"),
])
def test_detect_rejects_what_it_cannot_read(data, reason):
    with pytest.raises(ReferenceFormatError, match=reason):
        detect_reference_kind(data)


def test_detect_rejects_a_zip_that_is_not_a_workbook_and_a_workbook_without_a_list():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ReferenceFormatError, match="not an .xlsx"):
        detect_reference_kind(buf.getvalue())
    with pytest.raises(ReferenceFormatError, match="neither a Smelter Look-up sheet"):
        detect_reference_kind(xlsx_bytes([["a", "b"], [1, 2]]))


# --- merging over the years --------------------------------------------------------------------


def _list(rows, *, aliases=(), complete=False, published=None) -> ReferenceList:
    smelters = [ReferenceSmelter(cid=c, metal=m, standard_name=n, country=k, rmap_status=s) for c, m, n, k, s in rows]
    return ReferenceList(smelters, aliases, complete=complete, published=published)


def _lookup(rows, published) -> ReferenceList:
    return ReferenceList.from_lookup_rows(
        [{"metal": m, "lookup_name": a, "standard_name": n, "country": k, "cid": c} for m, a, n, k, c in rows],
        complete=True, published=published)


def test_newer_template_renames_removes_and_keeps_the_old_cid_matching():
    old = _lookup([
        ("Gold", "Allgemeine Gold-und Silberscheideanstalt A.G.", "Allgemeine Gold-und Silberscheideanstalt A.G.", "GERMANY", "CID000035"),
        ("Tantalum", "Starck Hermsdorf GmbH", "Starck Hermsdorf GmbH", "GERMANY", "CID002547"),
        ("Tantalum", "Closed Smelter Ltd.", "Closed Smelter Ltd.", "JAPAN", "CID000456"),
        ("Tin", "Tin One", "Tin One", "CHINA", "CID000100"),
    ], date(2020, 5, 19))
    new = _lookup([
        ("Gold", "Agosi AG", "Agosi AG", "GERMANY", "CID000035"),  # renamed, same CID
        # CID002547 merged into CID002545, which now carries its old name as an alias
        ("Tantalum", "TANIOBIS GmbH", "TANIOBIS GmbH", "GERMANY", "CID002545"),
        ("Tantalum", "Starck Hermsdorf GmbH", "TANIOBIS GmbH", "GERMANY", "CID002545"),
    ], date(2025, 4, 25))
    merged = old.merged(new)

    assert merged.get("CID000035").standard_name == "Agosi AG"
    m = merged.match(metal="Gold", lookup_name="Allgemeine Gold-und Silberscheideanstalt A.G.")
    assert (m.cid, m.standard_name, m.match) == ("CID000035", "Agosi AG", "alias")

    gone = merged.get("CID002547")
    assert gone.removed and gone.successor_cid == "CID002545"
    m = merged.match(metal="Tantalum", cid="CID002547")  # an old declaration
    assert (m.cid, m.standard_name, m.match) == ("CID002545", "TANIOBIS GmbH", "cid")

    closed = merged.get("CID000456")
    assert closed.removed and closed.successor_cid is None
    assert merged.match(metal="Tantalum", cid="CID000456").cid == "CID000456"  # still known

    assert not merged.get("CID000100").removed  # Tin is not in the new list: it says nothing about tin
    assert {s.cid for s in merged.smelters()} == {"CID000035", "CID002545", "CID000100"}
    assert len(merged) == 5


def test_an_older_template_imported_later_only_fills_gaps():
    new = _lookup([("Gold", "Agosi AG", "Agosi AG", "GERMANY", "CID000035")], date(2025, 4, 25))
    old = _lookup([
        ("Gold", "Allgemeine Gold-und Silberscheideanstalt A.G.", "Allgemeine Gold-und Silberscheideanstalt A.G.", "GERMANY", "CID000035"),
        ("Gold", "Long Gone Refinery", "Long Gone Refinery", "JAPAN", "CID000362"),
    ], date(2020, 5, 19))
    merged = new.merged(old)
    assert merged.get("CID000035").standard_name == "Agosi AG"
    assert merged.match(metal="Gold", lookup_name="Allgemeine Gold-und Silberscheideanstalt A.G.").cid == "CID000035"
    assert merged.get("CID000362").removed  # only the older list has it
    assert merged.published == date(2025, 4, 25)


def test_undated_list_updates_statuses_not_names():
    dated = _lookup([("Gold", "Agosi AG", "Agosi AG", "GERMANY", "CID000035")], date(2025, 4, 25))
    csv_list = _list([("CID000035", "Gold", "Allgemeine Gold-und Silberscheideanstalt A.G.", "GERMANY", "Active")])
    merged = dated.merged(csv_list)
    s = merged.get("CID000035")
    assert (s.standard_name, s.rmap_status) == ("Agosi AG", "Active")
    assert merged.match(metal="Gold", lookup_name="Allgemeine Gold-und Silberscheideanstalt A.G.").match == "alias"
    # A status is never lost to a list without one.
    assert merged.merged(dated).get("CID000035").rmap_status == "Active"


def test_merging_the_same_list_twice_changes_nothing():
    ref = default_reference()
    once = ref.merged(ref)
    assert once.fingerprint() == ReferenceList(ref.smelters(include_removed=True), ref.aliases()).fingerprint()
    twice = once.merged(ref)
    assert twice.fingerprint() == once.fingerprint()


def test_a_cid_back_on_a_newer_complete_list_is_no_longer_removed():
    a = _lookup([("Gold", "X Refinery", "X Refinery", "JAPAN", "CID000001"),
                 ("Gold", "Y Refinery", "Y Refinery", "JAPAN", "CID000002")], date(2021, 1, 1))
    b = _lookup([("Gold", "X Refinery", "X Refinery", "JAPAN", "CID000001")], date(2022, 1, 1))
    c = _lookup([("Gold", "X Refinery", "X Refinery", "JAPAN", "CID000001"),
                 ("Gold", "Y Refinery", "Y Refinery", "JAPAN", "CID000002")], date(2023, 1, 1))
    ab = a.merged(b)
    assert ab.get("CID000002").removed
    assert not ab.merged(c).get("CID000002").removed


TEMPLATES = Path(__file__).resolve().parents[2] / "shared" / "cmrt" / "templates"
VERSIONS = ["6.01", "6.1", "6.22", "6.31", "6.4", "6.5"]


def test_official_templates_in_any_order_end_at_the_newest_list():
    """Importing every official template over the shipped list, oldest first or newest first, leaves
    exactly the 6.5 smelters current, under their 6.5 names, and keeps every older CID matchable."""
    paths = [TEMPLATES / f"RMI_CMRT_{v}.xlsx" for v in VERSIONS]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"RMI templates not available in {TEMPLATES}: {', '.join(missing)}")
    lists = [ReferenceList.from_cmrt_workbook(p) for p in paths]
    assert [lst.published for lst in lists] == sorted(lst.published for lst in lists)
    newest = lists[-1]
    assert len(newest) == 349 and len(newest.aliases()) > 600

    def current(order):
        ref = default_reference()
        for lst in order:
            ref = ref.merged(lst)
        return ref

    forward, backward = current(lists), current(lists[::-1])
    expected = {(s.cid, s.standard_name) for s in newest.smelters()}
    assert {(s.cid, s.standard_name) for s in forward.smelters()} == expected
    assert {(s.cid, s.standard_name) for s in backward.smelters()} == expected
    every_cid = {s.cid for lst in [default_reference(), *lists] for s in lst.smelters()}
    assert {s.cid for s in forward.smelters(include_removed=True)} == every_cid
    gone = next(iter(every_cid - {s.cid for s in newest.smelters()}))
    assert forward.match(metal=forward.get(gone).metal, cid=gone).match == "cid"

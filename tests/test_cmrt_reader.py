"""Reading CMRTs as real files hold them, and a clear verdict for everything that is not one."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

import cmrt
from cmrt.builder import NOT_LISTED, CMRTBuilder, LookupRow, SAMPLE_SMELTERS, valid_builder, valid_cmrt

TODAY = date(2025, 6, 1)


def check(data: bytes, **kw) -> cmrt.CheckResult:
    return cmrt.check(data, filename="t.xlsx", today=TODAY, **kw)


# -- values as real files hold them ---------------------------------------------------------------

def test_declaration_fields_questions_and_comments_are_read() -> None:
    b = valid_builder(company="Acme\t")
    b.company(address="1 Main St", unique_id="DUNS 123", unique_id_authority="D&B", authorizer_title="CFO")
    b.comment("Q3", "Gold", "Checked every refiner").company_answer("H", "Yes, with the SEC", "Form SD filed")
    r = check(b.to_bytes())
    d = r.declaration
    assert (d.company_name, d.address, d.company_unique_id, d.company_unique_id_authority) == (
        "Acme", "1 Main St", "DUNS 123", "D&B")
    assert d.contact_email == "jane.doe@acme.example.com" and d.authorizer_title == "CFO"
    assert d.effective_date == date(2025, 1, 15)
    assert r.questions["Q3"]["Gold"].comment == "Checked every refiner"
    assert r.questions["Q1"]["Tin"].answer == "Yes"
    assert r.company_questions["H"].answer == "Yes, with the SEC"
    assert r.company_questions["H"].comment == "Form SD filed"
    assert r.template.kind == "CMRT" and r.template.version == "6.5"
    assert r.template.revision_text == "Revision 6.5\nApril 25, 2025"


@pytest.mark.parametrize("value", [date(2024, 5, 2), "02-May-2024", "2024-05-02", "May 2, 2024", 45414])
def test_effective_date_as_datetime_text_or_serial(value) -> None:
    r = check(valid_builder(effective_date=value).to_bytes())
    assert r.declaration.effective_date == date(2024, 5, 2)
    assert "effective_date_invalid" not in r.codes()


def test_effective_date_text_style_from_builder() -> None:
    r = check(valid_builder(effective_date=datetime(2024, 5, 2), date_style="text").to_bytes())
    assert r.declaration.effective_date == date(2024, 5, 2)
    assert r.declaration.effective_date_text == "02-May-2024"


@pytest.mark.parametrize("q6_style", ["number", "text"])
def test_q6_hundred_percent_as_number_or_text(q6_style: str) -> None:
    r = check(valid_builder(q6_style=q6_style).to_bytes())
    assert all(r.questions["Q6"][m].answer == "100%" for m in ("Tantalum", "Tin", "Gold", "Tungsten"))
    assert r.verdict == "valid", r.codes()


def test_stray_tabs_and_mixed_case() -> None:
    b = valid_builder(smelters=[
        {"metal": "Tantalum", "lookup_name": "Asaka Riken Co., Ltd.\t"},
        {"metal": "tin ", "lookup_name": "Dowa"},
        {"metal": "Gold", "lookup_name": "Advanced Chemical Company"},
        {"metal": "Tungsten", "lookup_name": "A.L.M.T. Corp."},
        {"metal": "Tin", "lookup_name": "SMELTER NOT LISTED", "name": "Foo Tin Works\t", "country": "PERU"},
    ])
    b.answer("Q1", "Gold", "yes\t")
    r = check(b.to_bytes())
    assert r.smelters[0].lookup_name == "Asaka Riken Co., Ltd."
    assert r.smelters[0].match in ("alias", "cid") and r.smelters[0].cid == "CID000092"
    assert r.smelters[4].name == "Foo Tin Works"
    assert r.questions["Q1"]["Gold"].answer == "Yes"
    assert "unlisted_smelter_incomplete" not in r.codes()


def test_formula_cells_cached_zero_are_blank() -> None:
    b = valid_builder()
    b.smelter(metal="Tin", lookup_name=NOT_LISTED, name="Foo Tin Works", country="PERU", cache_zero=True)
    r = check(b.to_bytes())
    row = r.smelters[-1]
    assert row.cid is None and row.standard_name is None


def test_no_cached_values_derives_from_the_files_lookup_sheet() -> None:
    """A tool other than Excel: F/R/E hold formulas without values; an alias known only to this
    file's Smelter Look-up sheet still resolves."""
    lookup = list(SAMPLE_SMELTERS) + [LookupRow("Tin", "Luna Tin Rwanda", "Luna Smelter, Ltd.", "RWANDA", "CID003387")]
    b = valid_builder(cached_values=False)
    b.lookup_rows(lookup)
    b.smelter(metal="Tin", lookup_name="Luna Tin Rwanda")
    b.smelter(cid_input="CID000004")  # metal and look-up name come from column A via the Look-up sheet
    r = check(b.to_bytes())
    luna = r.smelters[-2]
    assert (luna.cid, luna.standard_name, luna.country, luna.derived) == ("CID003387", "Luna Smelter, Ltd.", "RWANDA", True)
    assert luna.rmap_status == "Conformant"
    by_a = r.smelters[-1]
    assert (by_a.metal, by_a.lookup_name, by_a.cid) == ("Tungsten", "A.L.M.T. Corp.", "CID000004")
    assert r.smelters[0].country == "JAPAN"  # E was a formula too
    assert r.verdict == "valid", r.codes()


def test_no_cached_values_file_aliases_count_beyond_the_exact_lookup() -> None:
    """A typed name on a 'Smelter not listed' row, and a look-up name with different punctuation, that
    only this file's Look-up sheet knows: derived from the file, then matched by CID."""
    lookup = list(SAMPLE_SMELTERS) + [LookupRow("Tin", "Luna Tin Rwanda", "Luna Smelter, Ltd.", "RWANDA", "CID003387")]
    b = valid_builder(cached_values=False).lookup_rows(lookup)
    b.smelter(metal="Tin", lookup_name="Luna  Tin  Rwanda ")
    b.smelter(metal="Tin", lookup_name=NOT_LISTED, name="LUNA TIN RWANDA", country="RWANDA")
    r = check(b.to_bytes())
    assert [(s.cid, s.derived, s.match) for s in r.smelters[-2:]] == [("CID003387", True, "cid")] * 2
    assert "smelter_not_in_reference" not in r.codes()


def test_files_own_lookup_joins_the_reference_for_this_check() -> None:
    """Excel saved it (cached CIDs), but the reference list lacks this template's newer smelter: the
    file's Smelter Look-up makes it known (matched by CID, no RMAP status invented), for this check
    only, and files of the same template version share one merged list."""
    from cmrt.reference import default_reference
    from cmrt.reader import Sheet, read_lookup

    newer = LookupRow("Gold", "Nova Gold Refinery", "Nova Gold Refinery Ltd.", "GHANA", "CID009901")
    lookup = list(SAMPLE_SMELTERS) + [newer]
    b = valid_builder().lookup_rows(lookup)
    b.smelter(metal="Gold", lookup_name="Nova Gold Refinery", mine_name="Mine A")
    ref = default_reference()
    assert ref.get("CID009901") is None
    r = check(b.to_bytes(), reference=ref)
    nova = r.smelters[-1]
    assert (nova.cid, nova.match, nova.standard_name, nova.rmap_status) == (
        "CID009901", "cid", "Nova Gold Refinery Ltd.", None)
    assert "cid_unknown" not in r.codes() and "smelter_not_in_reference" not in r.codes()
    assert "smelter_status_unknown" in r.codes()  # known smelter, no RMAP status on record
    assert "smelter_not_conformant" not in r.codes()  # which is not the same as not enrolled
    assert ref.get("CID009901") is None  # the caller's list is not changed
    # a second file of the same template version (other answers) reuses the merged list
    other = valid_builder(company="Other Co").lookup_rows(lookup)
    other.smelter(metal="Gold", lookup_name="Nova Gold Refinery")
    assert check(other.to_bytes(), reference=ref).smelters[-1].cid == "CID009901"
    rows = [["header"]] * 4 + [[x.metal, x.lookup_name, x.standard_name, x.country, x.cid, "RMI"] for x in lookup]
    first = read_lookup(lambda: Sheet("Smelter Look-up", rows))
    second = read_lookup(lambda: Sheet("Smelter Look-up", list(rows)))
    assert first is second
    merged = ref.with_lookup_rows(first.rows, fingerprint=first.fingerprint)
    assert merged is ref.with_lookup_rows(second.rows, fingerprint=second.fingerprint)
    assert merged.get("CID009901") is not None and merged is not ref
    assert ref.with_lookup_rows(first.rows) is ref.with_lookup_rows(list(first.rows))  # content fingerprint


def test_no_cached_values_and_no_lookup_sheet_uses_the_reference() -> None:
    b = valid_builder(cached_values=False).drop_sheet("Smelter Look-up")
    r = check(b.to_bytes())
    assert [s.cid for s in r.smelters] == ["CID000092", "CID000402", "CID000015", "CID000004"]
    assert r.smelters[2].standard_name == "Advanced Chemical Company"
    assert r.verdict == "valid", r.codes()


@pytest.mark.parametrize("version", ["6.01", "6.1", "6.22", "6.31", "6.4", "6.5"])
def test_every_6x_version_reads_the_same(version: str) -> None:
    b = valid_builder(version=version, products=["P-1"])
    r = check(b.to_bytes())
    assert r.template.version == version
    assert r.checker_remaining == 0
    assert r.declaration.company_name == "Acme Components Ltd."
    assert [p.number for p in r.products] == ["P-1"]  # the copyright row is not a product
    assert len(r.smelters) == 4
    assert r.verdict == "valid", r.codes()
    old = "template_old_6x" in r.codes()
    assert old == (version != "6.5")


def test_smelter_row_numbers_and_all_columns_kept() -> None:
    b = valid_builder()
    b.smelter(row=40, metal="Tin", lookup_name="Dowa", street="1 St", city="Tokyo", state="Tokyo-to", contact_name="Ken",
              contact_email="ken@dowa.example", next_steps="audit", mine_name="Mine X", mine_country="BOLIVIA",
              recycled_scrap="No", comments="ok")
    row = check(b.to_bytes()).smelters[-1]
    assert row.row == 40
    assert (row.street, row.city, row.state, row.contact_name, row.contact_email, row.next_steps, row.mine_name,
            row.mine_country, row.recycled_scrap, row.comments) == (
        "1 St", "Tokyo", "Tokyo-to", "Ken", "ken@dowa.example", "audit", "Mine X", "BOLIVIA", "No", "ok")
    assert row.id_source == "RMI"


# -- not a CMRT, or not readable ------------------------------------------------------------------

def test_emrt_instead_of_cmrt() -> None:
    r = check(CMRTBuilder(kind="EMRT", version="2.1").to_bytes())
    assert r.verdict == "invalid" and r.codes() == ["wrong_template_kind"]
    assert r.template.kind == "EMRT"
    assert "EMRT" in r.findings[0].message


@pytest.mark.parametrize(("version", "named"), [("5.12", "5.12"), ("4.10", "4.10"), ("3.02", "3.02")])
def test_older_cfsi_templates_are_named(version: str, named: str) -> None:
    r = check(CMRTBuilder(version=version).to_bytes())
    assert r.verdict == "invalid" and r.codes() == ["template_outdated"]
    assert named in r.findings[0].message and "6.5" in r.findings[0].message


def _filled_old(version: str) -> CMRTBuilder:
    """An old template filled in as if it were 6.x (what a naive reader would judge cell by cell)."""
    return valid_builder(version=version).company(contact_email="x", authorizer="Same")


@pytest.mark.parametrize("version", ["1.00", "2.03a", "3.02", "4.10", "4.01b", "5.12", "5.1"])
def test_an_ancient_template_gets_one_verdict_naming_its_version(version: str) -> None:
    r = check(_filled_old(version).to_bytes())
    assert r.verdict == "invalid" and r.codes() == ["template_outdated"]
    [f] = r.findings
    assert f.severity == "error" and f.cell is None
    assert f"version {version}," in f.message and "6.5" in f.message
    assert r.template.version == version
    assert r.checker_remaining is None and r.to_json_dict()["checker_remaining"] is None


@pytest.mark.parametrize(("version", "where"), [
    ("1.00", ("Declaration", "E7")),  # the title block of a CFSI 1.x, not J3
    ("2.03a", ("Smelter List", "Q3")),  # only the Smelter List names it
])
def test_an_ancient_template_is_dated_where_its_revision_is_written(version: str, where: tuple[str, str]) -> None:
    b = _filled_old(version).revision_text("Conflict Minerals Reporting Template")
    if where[0] == "Declaration":
        b.cell(*where, f"Revision {version}")
    r = check(b.to_bytes())
    assert r.codes() == ["template_outdated"] and r.template.version == version
    assert f"version {version}," in r.findings[0].message


def test_an_ancient_template_is_not_summarised_as_checked() -> None:
    from outreach.cli_cmrt import render_text

    text = render_text(check(_filled_old("1.00").to_bytes()))
    assert "t.xlsx: INVALID" in text and "template_outdated" in text
    assert "required field(s) remaining" not in text and "metals in scope" not in text
    assert "Checker was not run" in text
    current = render_text(check(valid_builder().to_bytes()))
    assert "Checker: 0 required field(s) remaining" in current


def test_old_template_without_revision_text_is_dated_by_its_sheets() -> None:
    r = check(CMRTBuilder(version="3.02").revision_text("").cell("Smelter List", "Q3", None).to_bytes())
    assert r.codes() == ["template_outdated"] and r.template.version == "3.x"


@pytest.mark.parametrize(("data", "detected"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 100, "JPEG"),
    (b"%PDF-1.7\n" + b"x" * 100, "PDF"),
    (b"metal,name\nTin,Dowa\n", "CSV"),
    (b"<html><body>hi</body></html>", "HTML"),
    (bytes(range(256)) * 4, "binary"),
])
def test_content_that_is_not_a_spreadsheet(data: bytes, detected: str) -> None:
    r = cmrt.check(data, filename="looks.xlsx")
    assert r.verdict == "unreadable" and r.codes() == ["not_a_spreadsheet"]
    assert detected in r.findings[0].message


def test_empty_file() -> None:
    assert cmrt.check(b"").codes() == ["file_empty"]


def test_over_the_size_limit(tmp_path: Path) -> None:
    data = valid_cmrt()
    assert cmrt.check(data, max_bytes=1000).codes() == ["file_too_large"]
    path = tmp_path / "big.xlsx"
    path.write_bytes(data)
    r = cmrt.check(path, max_bytes=1000)
    assert r.codes() == ["file_too_large"] and r.file == "big.xlsx"


def test_path_and_str_sources(tmp_path: Path) -> None:
    path = tmp_path / "acme.xlsx"
    path.write_bytes(valid_cmrt())
    assert cmrt.check(path).verdict == "valid"
    assert cmrt.check(str(path)).file == "acme.xlsx"
    assert cmrt.check(tmp_path / "missing.xlsx").verdict == "unreadable"


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_zip(keep: float) -> None:
    data = valid_cmrt()
    r = cmrt.check(data[: int(len(data) * keep)])
    assert r.verdict == "unreadable" and r.codes() == ["corrupt_workbook"]


def test_zip_without_a_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    assert "Word" in cmrt.check(buf.getvalue()).findings[0].message


def test_zip_bomb_refused_from_the_directory() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (40 * 1024 * 1024))
    data = buf.getvalue()
    assert len(data) < 1024 * 1024
    r = cmrt.check(data)
    assert r.verdict == "unreadable" and r.codes() == ["zip_bomb"]


def _encrypt(data: bytes, password: str) -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


def test_encrypted_with_excels_default_password_is_opened() -> None:
    r = check(_encrypt(valid_cmrt(), "VelvetSweatshop"))
    assert r.verdict == "valid"
    assert r.codes() == ["encrypted_default_password"]
    assert r.declaration.company_name == "Acme Components Ltd."


def test_encrypted_with_another_password_asks_for_an_unprotected_file() -> None:
    r = check(_encrypt(valid_cmrt(), "s3cret"))
    assert r.verdict == "unreadable" and r.codes() == ["encrypted_workbook"]
    assert "password" in r.findings[0].message


def test_ole_container_that_is_not_a_workbook() -> None:
    r = check(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert r.verdict == "unreadable"
    assert r.codes()[0] in ("corrupt_workbook", "not_a_spreadsheet")


def test_renamed_and_missing_sheets() -> None:
    r = check(valid_builder().rename_sheet("Smelter List", "Smelters").to_bytes())
    assert "sheet_missing" in r.codes() and r.verdict == "invalid"
    assert "Smelter List" in next(f.message for f in r.findings if f.code == "sheet_missing")
    r = check(valid_builder().drop_sheet("Declaration").to_bytes())
    assert r.verdict == "invalid" and "sheet_missing" in r.codes()
    r = check(valid_builder().rename_sheet("Declaration", "Sheet1").to_bytes())
    assert "sheet_renamed" in r.codes() and r.declaration.company_name == "Acme Components Ltd."
    r = check(valid_builder().extra_sheet("My notes").to_bytes())
    assert r.verdict == "valid"


# -- the result as data ---------------------------------------------------------------------

def test_json_shape_and_round_trip() -> None:
    r = check(valid_cmrt())
    d = r.to_json_dict()
    for key in ("file", "verdict", "template", "declaration", "metals_in_scope", "checker_remaining",
                "program_strength", "findings", "smelters"):
        assert key in d
    assert set(d["template"]) >= {"kind", "version"}
    assert set(d["declaration"]) >= {"company_name", "scope", "effective_date", "contact_email"}
    assert set(d["smelters"][0]) >= {"row", "metal", "cid", "name", "standard_name", "country", "match", "score",
                                     "rmap_status", "risk"}
    assert d["declaration"]["effective_date"] == "2025-01-15"
    assert cmrt.CheckResult.model_validate_json(r.model_dump_json()) == r

    bad = check(valid_builder().company(contact_email="x").to_bytes()).to_json_dict()
    assert set(bad["findings"][0]) == {"code", "severity", "sheet", "cell", "message"}


def test_legacy_xls_is_read_and_flagged() -> None:
    """Excel 97-2003 (.xls, BIFF): a 6.x CMRT saved that way is read (with a warning); a CFSI 5.x is named."""
    xlwt = pytest.importorskip("xlwt", reason="xlwt writes the .xls fixtures (test extra)")

    def xls(version_text: str, company: str | None = None) -> bytes:
        wb = xlwt.Workbook()
        sheets = {name: wb.add_sheet(name) for name in ("Declaration", "Smelter List", "Product List")}
        sheets["Declaration"].write(2, 9, version_text)
        if company:
            sheets["Declaration"].write(7, 3, company)
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()

    r = check(xls("Revision 6.5\nApril 25, 2025", company="Acme"))
    assert r.template.file_format == "xls" and r.template.version == "6.5"
    assert r.declaration.company_name == "Acme"
    assert r.checker_remaining == 51 and "xls_format" in r.codes()
    r = check(xls("Revision 5.12"))
    assert r.codes() == ["template_outdated"] and "5.12" in r.findings[0].message  # one verdict, nothing else


def test_zip_directory_that_lies_about_sizes() -> None:
    """A part whose real content is far larger than the directory declares is refused before the
    spreadsheet reader expands it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<a/>" * (2 * 1024 * 1024))
    data = bytearray(buf.getvalue())
    # declare 100 bytes uncompressed for sheet1.xml in both the local header and the central directory
    name = b"xl/worksheets/sheet1.xml"
    # (signature, offset of the uncompressed-size field, offset of the file name) in each record
    for sig, size_offset, name_offset in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        pos = 0
        while (pos := data.find(sig, pos)) != -1:
            if data[pos + name_offset: pos + name_offset + len(name)] == name:
                data[pos + size_offset: pos + size_offset + 4] = (100).to_bytes(4, "little")
            pos += 4
    r = cmrt.check(bytes(data))
    assert r.verdict == "unreadable" and r.codes() == ["corrupt_workbook"]
    assert "larger than the zip directory says" in r.findings[0].message


def _replace_part(data: bytes, part: str, content: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            zf.writestr(info.filename, content if info.filename == part else src.read(info.filename))
    return buf.getvalue()


def _lie_about(data: bytes, part: str, content: bytes) -> bytes:
    """The workbook with `part` replaced by `content` while its zip entries declare 100 bytes."""
    out = bytearray(_replace_part(data, part, content))
    name = part.encode()
    for sig, size_offset, name_offset in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        pos = 0
        while (pos := out.find(sig, pos)) != -1:
            if out[pos + name_offset: pos + name_offset + len(name)] == name:
                out[pos + size_offset: pos + size_offset + 4] = (100).to_bytes(4, "little")
            pos += 4
    return bytes(out)


def _sheet_part(data: bytes, sheet: str) -> str:
    from cmrt.sniff import _sheet_parts

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return _sheet_parts(zf, set(zf.namelist()))[sheet]


def test_lying_part_of_a_sheet_read_later_is_refused_when_read() -> None:
    """The zip check defers sheets the check may not read; the Look-up sheet is streamed (and a lie
    caught) when the file's missing formula values send the reader to it."""
    data = valid_builder(cached_values=False).to_bytes()
    bad = _lie_about(data, _sheet_part(data, "Smelter Look-up"), b"<a/>" * (2 * 1024 * 1024))
    r = check(bad)
    assert r.verdict == "unreadable" and r.codes() == ["corrupt_workbook"]
    assert "larger than the zip directory says" in r.findings[0].message


@pytest.mark.parametrize("sheet", ["Declaration", "Smelter List", "Product List"])
def test_lying_part_of_a_sheet_every_check_reads_is_refused_up_front(sheet: str) -> None:
    data = valid_cmrt()
    r = check(_lie_about(data, _sheet_part(data, sheet), b"<a/>" * (2 * 1024 * 1024)))
    assert r.verdict == "unreadable" and r.codes() == ["corrupt_workbook"]
    assert "larger than the zip directory says" in r.findings[0].message


def test_sheet_never_read_is_never_expanded() -> None:
    """A hidden sheet the check never reads (like the template's L, C and SorP) is not decompressed:
    the check's cost follows what it reads. Every other part is still streamed up front."""
    data = valid_builder().extra_sheet("L").to_bytes()
    part = _sheet_part(data, "L")
    r = check(_lie_about(data, part, b"<a/>" * (2 * 1024 * 1024)))
    assert r.verdict == "valid", r.codes()
    damaged_styles = _lie_about(data, "xl/styles.xml", b"<a/>" * (2 * 1024 * 1024))
    assert check(damaged_styles).codes() == ["corrupt_workbook"]


def test_lookup_sheet_content_key_follows_its_values() -> None:
    """Files of one template version written by a tool that keeps text inline share the key that lets
    the check reuse the parsed Look-up sheet; other values, or text in the shared-string table (whose
    order differs per file), do not."""
    from cmrt.sniff import sniff

    def key(data: bytes) -> str | None:
        return sniff(data, max_bytes=cmrt.DEFAULT_MAX_BYTES).content_key("Smelter Look-up")

    first = valid_builder(cached_values=False).to_bytes()
    other_answers = valid_builder(cached_values=False, company="Other Co").smelter(metal="Tin", lookup_name="Dowa")
    assert key(first) and key(first) == key(other_answers.to_bytes())
    assert key(valid_builder(cached_values=False).lookup_rows(SAMPLE_SMELTERS[:-1]).to_bytes()) != key(first)
    shared = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              '<row r="5"><c r="A5" t="s"><v>0</v></c></row></sheetData></worksheet>').encode()
    assert key(_replace_part(first, _sheet_part(first, "Smelter Look-up"), shared)) is None


def test_a_declaration_never_read_has_no_program_strength() -> None:
    """An unreadable file, another template or an outdated one says nothing about the supplier's program:
    it is not called "weak" (which would send guidance and count in the report's weak programs)."""
    from cmrt.builder import valid_builder

    assert check(b"not a workbook").program_strength is None
    assert check(valid_builder(version="4.10").to_bytes()).program_strength is None
    assert check(valid_cmrt()).program_strength == "strong"

"""Importing supplier master data: CSV and XLSX, per-row errors with row numbers, all-or-nothing."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlmodel import Session, select

from models.tables import Supplier, SupplierContact
from outreach.suppliers import SupplierFileError, import_suppliers

HEADER = ("Supplier ID,Name,Category,Annual Spend,Commodity Manager Name,Commodity Manager Email,"
          "Contact Email,Contact Name,Contact Language,Contact2 Email,Contact2 Name,Contact2 Language\n")
GOOD_CSV = (HEADER
            + "S-1,Acme Metals,Strategic,\"1,250,000.50\",Ann Lee,ann@corp.example,jo@acme.example,Jo,de,"
              "li@acme.example,Li,zh_cn\n"
            + "S-2,Bolt Co,preferred,300000,,,sales@bolt.example,,,,,\n").encode()


def _suppliers(engine) -> dict[str, Supplier]:
    with Session(engine) as s:
        return {x.id: x for x in s.exec(select(Supplier))}


def _contacts(engine, supplier_id: str) -> list[SupplierContact]:
    with Session(engine) as s:
        return list(s.exec(select(SupplierContact).where(SupplierContact.supplier_id == supplier_id)
                           .order_by(SupplierContact.id)))


def test_csv_import_creates_suppliers_with_several_contacts(engine):
    report = import_suppliers(engine, GOOD_CSV, "suppliers.csv")
    assert report.imported and report.created == 2 and report.updated == 0 and report.contacts == 3
    suppliers = _suppliers(engine)
    acme = suppliers["S-1"]
    assert (acme.name, acme.category, acme.annual_spend) == ("Acme Metals", "strategic", 1250000.50)
    assert (acme.commodity_manager_name, acme.commodity_manager_email) == ("Ann Lee", "ann@corp.example")
    contacts = _contacts(engine, "S-1")
    assert [(c.email, c.language, c.is_primary) for c in contacts] == [
        ("jo@acme.example", "de", True), ("li@acme.example", "zh-CN", False)]
    assert [c.language for c in _contacts(engine, "S-2")] == [""]  # not given: the last CMRT decides, else English


def test_reimport_upserts_and_replaces_contacts(engine):
    import_suppliers(engine, GOOD_CSV, "suppliers.csv")
    changed = (HEADER + "S-1,Acme Metals GmbH,strategic,2000000,Ann Lee,ann@corp.example,new@acme.example,New,fr,,,\n"
               + "S-3,Cobalt Ltd,,10,,,c@cobalt.example,,,,,\n").encode()
    report = import_suppliers(engine, changed, "suppliers.csv")
    assert (report.created, report.updated) == (1, 1)
    suppliers = _suppliers(engine)
    assert set(suppliers) == {"S-1", "S-2", "S-3"}  # S-2 is kept: an import never deletes a supplier
    assert suppliers["S-1"].name == "Acme Metals GmbH" and suppliers["S-1"].annual_spend == 2000000
    assert [(c.email, c.language) for c in _contacts(engine, "S-1")] == [("new@acme.example", "fr")]


def test_xlsx_import_reads_numeric_ids_and_amounts(engine):
    wb = Workbook()
    ws = wb.active
    ws.title = "Suppliers"
    ws.append(["supplier_id", "name", "category", "annual_spend", "contact_email", "contact_language"])
    ws.append([10023, "Delta Plating", "Strategic", 98765.4, "QA@Delta.example", "ja"])
    ws.append([None, None, None, None, None, None])  # a blank row is skipped
    ws.append(["10024", "Echo Cables", None, 12, "x@echo.example", None])
    buf = io.BytesIO()
    wb.save(buf)
    report = import_suppliers(engine, buf.getvalue(), "master.xlsx")
    assert report.imported and report.rows == 2
    suppliers = _suppliers(engine)
    assert set(suppliers) == {"10023", "10024"}  # not "10023.0"
    assert suppliers["10023"].annual_spend == pytest.approx(98765.4)
    assert [(c.email, c.language) for c in _contacts(engine, "10023")] == [("qa@delta.example", "ja")]


def test_malformed_rows_are_reported_with_row_numbers_and_nothing_is_written(engine):
    import_suppliers(engine, GOOD_CSV, "suppliers.csv")
    before = {k: (v.name, v.annual_spend) for k, v in _suppliers(engine).items()}
    bad = (HEADER
           + "S-1,Acme renamed,strategic,5,,,ok@acme.example,,,,,\n"        # row 2: fine on its own
           + ",Nameless,,1,,,a@b.example,,,,,\n"                           # row 3: no ID
           + "S-4,Foxtrot,,lots,,,not-an-email,,,,,\n"                     # row 4: spend and email
           + "S-5,Golf,,1,,cm-at-nowhere,g@golf.example,,english!,,,\n"   # row 5: CM email, language
           + "S-6,Hotel,,1,,,,,,,,\n").encode()                             # row 6: no contact
    report = import_suppliers(engine, bad, "suppliers.csv")
    assert not report.imported
    found = {(e.row, e.column) for e in report.errors}
    assert found == {(3, "supplier_id"), (4, "annual_spend"), (4, "contact_email"),
                     (5, "commodity_manager_email"), (5, "contact_language"), (6, "contact_email")}
    assert "row 4, column annual_spend: 'lots' is not an amount" in str(next(e for e in report.errors if e.row == 4))
    # All or nothing: the valid row 2 was not applied either.
    assert {k: (v.name, v.annual_spend) for k, v in _suppliers(engine).items()} == before


def test_duplicates_within_the_file_are_reported(engine):
    dup = (HEADER + "S-1,One,,1,,,a@one.example,,,A@one.example,,\n"
           + "S-2,Two,,1,,,b@two.example,,,,,\n"
           + "s-1,One again,,1,,,c@one.example,,,,,\n").encode()
    report = import_suppliers(engine, dup, "suppliers.csv")
    messages = [str(e) for e in report.errors]
    assert "row 2, column contact2_email: a@one.example is listed twice for this supplier" in messages
    assert "row 4, column supplier_id: supplier ID s-1 appears again (first at row 2)" not in messages  # row 2 was bad
    assert _suppliers(engine) == {}
    dup2 = (HEADER + "S-1,One,,1,,,a@one.example,,,,,\n" + "S-1,One again,,1,,,c@one.example,,,,,\n").encode()
    report = import_suppliers(engine, dup2, "suppliers.csv")
    assert [str(e) for e in report.errors] == ["row 3, column supplier_id: supplier ID S-1 appears again (first at row 2)"]
    assert _suppliers(engine) == {}


@pytest.mark.parametrize("data,filename,message", [
    (b"", "s.csv", "is empty"),
    (b"name,contact_email\nAcme,a@b.example\n", "s.csv", "lacks the column(s) supplier_id"),
    (b"supplier_id,name,contact_email\n", "s.csv", "no supplier rows"),
    (b"\x00\xff\xfe\x00garbage", "s.csv", "neither an .xlsx workbook nor a UTF-8 CSV"),
    (b"PK\x03\x04not really a zip", "s.xlsx", "cannot open the workbook"),
])
def test_unusable_files_fail_as_a_whole(engine, data, filename, message):
    with pytest.raises(SupplierFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_suppliers(engine, data, filename)


def test_semicolon_csv_from_a_european_excel(engine):
    data = "supplier_id;name;annual_spend;contact_email\nS-9;Ünal Metal;1000;u@unal.example\n".encode("utf-8-sig")
    report = import_suppliers(engine, data, "s.csv")
    assert report.imported, report.errors
    assert _suppliers(engine)["S-9"].name == "Ünal Metal"

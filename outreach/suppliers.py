"""Importing the supplier master data (CSV or XLSX): checked as a whole, written as a whole.

One row per supplier. Columns (header names are matched without regard to case, spaces or
underscores; the aliases below are accepted too):

    supplier_id, name, category, annual_spend, commodity_manager_name, commodity_manager_email,
    country, contact_email, contact_name, contact_language,
    contact2_email, contact2_name, contact2_language, contact3_... (as many contacts as needed)

Each supplier row is an upsert: the supplier's fields are replaced by the file's, and its contacts
become exactly the contacts in the file (the first one is the primary contact).

Every row is checked before anything is written. One wrong row means nothing is imported: the report
lists every problem with its spreadsheet row number (the header is row 1), so the compliance team
fixes the file and imports it again, instead of hunting down which half got in.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from pydantic import BaseModel, Field
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import select

from models.tables import Supplier, SupplierContact
from outreach import i18n
from outreach.db import session_scope

# Canonical column -> accepted header spellings (compared after normalising, see _norm).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "supplier_id": ("supplierid", "id", "vendorid", "suppliernumber", "vendornumber"),
    "name": ("name", "suppliername", "vendorname", "company", "companyname"),
    "category": ("category", "suppliercategory", "segment", "tier"),
    "annual_spend": ("annualspend", "spend", "annualdirectspend", "directspend"),
    "commodity_manager_name": ("commoditymanagername", "commoditymanager"),
    "commodity_manager_email": ("commoditymanageremail", "commoditymanageremailaddress"),
    "country": ("country",),
}
_CONTACT_FIELDS = ("email", "name", "language")
_CONTACT_HEADER = re.compile(r"^contact(\d*)(email|emailaddress|name|language|lang)$")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z]{2,4})?$")


def _language_code(language: str) -> str:
    """As given, in one spelling ("EN" -> "en", "pt_br" -> "pt-BR"); a CMRT selector name ("日本語") -> its code."""
    if not language:
        return ""
    if not _LANGUAGE.match(language):
        return (i18n.normalise(language) or "").replace("_", "-")
    base, _, region = language.replace("_", "-").partition("-")
    return base.lower() + (f"-{region.upper()}" if region else "")
_MAX_ID = 64
_MAX_NAME = 300


class RowError(BaseModel):
    row: int = Field(description="Spreadsheet row number; the header is row 1.")
    column: str | None = None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class ImportReport(BaseModel):
    """What an import did (``imported``) or why it did nothing (``errors``)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    contacts: int = 0
    errors: list[RowError] = Field(default_factory=list)

    @property
    def imported(self) -> bool:
        return not self.errors


class SupplierFileError(ValueError):
    """The file as a whole cannot be read (wrong type, no header, missing columns)."""


@dataclass
class ContactRow:
    email: str
    name: str | None = None
    language: str = "en"


@dataclass
class SupplierRow:
    row: int
    supplier_id: str
    name: str
    category: str | None
    annual_spend: float
    commodity_manager_name: str | None
    commodity_manager_email: str | None
    country: str | None
    contacts: list[ContactRow] = field(default_factory=list)


# --- Reading --------------------------------------------------------------------------------


def _norm(header: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(header or "").lower())


def _cell_text(value: Any) -> str:
    """A cell as text: Excel turns IDs like 10023 into 10023.0, which must read back as '10023'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _read_csv(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = data.decode("utf-8-sig") if not data.startswith(b"\xff\xfe") else data.decode("utf-16")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    for index, record in enumerate(reader, start=1):
        yield index, [c.strip() for c in record]


def _read_xlsx(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    from cmrt.sniff import Unreadable, sniff_every_sheet

    try:  # sized first: a sheet reaching XFD1048576 would have openpyxl build 17 billion cells
        data = sniff_every_sheet(data).data
    except Unreadable as exc:
        raise SupplierFileError(f"cannot open the workbook: {exc.finding.message}") from None
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise SupplierFileError(f"cannot open the workbook: {exc}") from None
    try:
        sheet = next((ws for ws in wb.worksheets if _norm(ws.title) == "suppliers"), wb.worksheets[0])
        sheet.reset_dimensions()  # rows as they are, not padded to a <dimension> the file may inflate
        for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield index, [_cell_text(v) for v in values]
    finally:
        wb.close()


def read_rows(data: bytes, filename: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every row of the file, header included."""
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise SupplierFileError(f"{filename} is not an Excel workbook (.xlsx)")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SupplierFileError(f"{filename} is neither an .xlsx workbook nor a UTF-8 CSV file") from None
    return _read_csv(data)


def _header_map(header: list[str]) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
    """Column index of each known field, and of each contact's fields (contact number -> field -> index)."""
    columns: dict[str, int] = {}
    contacts: dict[int, dict[str, int]] = {}
    lookup = {alias: canonical for canonical, aliases in COLUMN_ALIASES.items() for alias in (*aliases, _norm(canonical))}
    for index, raw in enumerate(header):
        key = _norm(raw)
        if not key:
            continue
        if (m := _CONTACT_HEADER.match(key)) is not None:
            number = int(m.group(1) or 1)
            kind = {"emailaddress": "email", "lang": "language"}.get(m.group(2), m.group(2))
            contacts.setdefault(number, {}).setdefault(kind, index)
        elif key in lookup:
            columns.setdefault(lookup[key], index)
    return columns, contacts


def parse_supplier_file(data: bytes, filename: str) -> tuple[list[SupplierRow], list[RowError], int]:
    """Every supplier row of the file, every problem found, and the number of data rows."""
    rows = [(n, cells) for n, cells in read_rows(data, filename)]
    # The header is the first row that is not empty.
    while rows and not any(rows[0][1]):
        rows.pop(0)
    if not rows:
        raise SupplierFileError(f"{filename} is empty")
    header_row, header = rows[0]
    columns, contacts = _header_map(header)
    missing = [c for c in ("supplier_id", "name") if c not in columns]
    if "email" not in contacts.get(1, {}):
        missing.append("contact_email")
    if missing:
        raise SupplierFileError(
            f"the header (row {header_row}) lacks the column(s) {', '.join(missing)}; "
            f"found: {', '.join(h for h in header if h) or 'nothing'}"
        )

    parsed: list[SupplierRow] = []
    errors: list[RowError] = []
    first_seen: dict[str, int] = {}
    data_rows = 0
    for number, cells in rows[1:]:
        if not any(cells):
            continue  # blank lines between blocks are common in hand-made sheets
        data_rows += 1
        row, row_errors = _parse_row(number, cells, columns, contacts)
        errors.extend(row_errors)
        if row is None:
            continue
        key = row.supplier_id.casefold()
        if key in first_seen:
            errors.append(RowError(row=number, column="supplier_id",
                                   message=f"supplier ID {row.supplier_id} appears again (first at row {first_seen[key]})"))
            continue
        first_seen[key] = number
        parsed.append(row)
    if data_rows == 0:
        raise SupplierFileError(f"{filename} has a header but no supplier rows")
    return parsed, errors, data_rows


def _get(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def _parse_spend(text: str) -> float | None:
    cleaned = re.sub(r"[\s$€£¥,]|USD|EUR", "", text)
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


def _parse_row(number: int, cells: list[str], columns: dict[str, int],
               contacts: dict[int, dict[str, int]]) -> tuple[SupplierRow | None, list[RowError]]:
    errors: list[RowError] = []

    def err(column: str, message: str) -> None:
        errors.append(RowError(row=number, column=column, message=message))

    supplier_id = _get(cells, columns.get("supplier_id"))
    name = _get(cells, columns.get("name"))
    if not supplier_id:
        err("supplier_id", "the supplier ID is empty")
    elif len(supplier_id) > _MAX_ID:
        err("supplier_id", f"the supplier ID is longer than {_MAX_ID} characters")
    elif "/" in supplier_id or any(ch.isspace() for ch in supplier_id):
        # The ID is part of the survey's workflow ID and of links: no slashes or blanks.
        err("supplier_id", f"the supplier ID {supplier_id!r} contains a slash or a blank")
    if not name:
        err("name", "the supplier name is empty")
    elif len(name) > _MAX_NAME:
        err("name", f"the supplier name is longer than {_MAX_NAME} characters")

    spend_text = _get(cells, columns.get("annual_spend"))
    spend = 0.0
    if spend_text:
        parsed_spend = _parse_spend(spend_text)
        if parsed_spend is None:
            err("annual_spend", f"{spend_text!r} is not an amount (a number of 0 or more, e.g. 125000.50)")
        else:
            spend = parsed_spend

    cm_email = _get(cells, columns.get("commodity_manager_email")).lower() or None
    if cm_email and not _EMAIL.match(cm_email):
        err("commodity_manager_email", f"{cm_email!r} is not an email address")

    row_contacts: list[ContactRow] = []
    seen_emails: set[str] = set()
    for n in sorted(contacts):
        fields = contacts[n]
        label = "contact" if n == 1 else f"contact{n}"
        email = _get(cells, fields.get("email")).lower()
        contact_name = _get(cells, fields.get("name")) or None
        # Blank: not known, so the supplier's last CMRT decides, else English (outreach.i18n.supplier_locale).
        language = _get(cells, fields.get("language"))
        if not email:
            if n == 1:
                err("contact_email", "the contact email is empty (every supplier needs someone to ask)")
            elif contact_name:
                err(f"{label}_email", f"{label} has a name but no email")
            continue
        if not _EMAIL.match(email):
            err(f"{label}_email", f"{email!r} is not an email address")
            continue
        if email in seen_emails:
            err(f"{label}_email", f"{email} is listed twice for this supplier")
            continue
        if language and not _LANGUAGE.match(language) and not i18n.normalise(language):
            err(f"{label}_language", f"{language!r} is not a language code (e.g. en, de, zh-CN, pt-BR)")
            continue
        seen_emails.add(email)
        row_contacts.append(ContactRow(email=email, name=contact_name, language=_language_code(language)))

    if errors:
        return None, errors
    category = _get(cells, columns.get("category")).lower() or None
    return SupplierRow(
        row=number, supplier_id=supplier_id, name=name, category=category, annual_spend=spend,
        commodity_manager_name=_get(cells, columns.get("commodity_manager_name")) or None,
        commodity_manager_email=cm_email, country=_get(cells, columns.get("country")) or None,
        contacts=row_contacts,
    ), []


# --- Writing --------------------------------------------------------------------------------


def import_suppliers(engine: Engine, data: bytes, filename: str, *, dry_run: bool = False,
                     by: str | None = None) -> ImportReport:
    """Check the whole file, then upsert every supplier in one transaction (or nothing at all).

    Raises :class:`SupplierFileError` when the file itself cannot be used; row problems come back in
    ``report.errors`` and then nothing has been written.
    """
    rows, errors, data_rows = parse_supplier_file(data, filename)
    report = ImportReport(rows=data_rows, errors=sorted(errors, key=lambda e: e.row))
    if errors or dry_run:
        return report
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        ids = [r.supplier_id for r in rows]
        existing: dict[str, Supplier] = {}
        for chunk in _chunks(ids):
            existing.update((s.id, s) for s in session.exec(select(Supplier).where(Supplier.id.in_(chunk))))
        for row in rows:
            supplier = existing.get(row.supplier_id)
            if supplier is None:
                supplier = Supplier(id=row.supplier_id, name=row.name, created_at=now)
                report.created += 1
            else:
                report.updated += 1
            supplier.name = row.name
            supplier.category = row.category
            supplier.annual_spend = row.annual_spend
            supplier.commodity_manager_name = row.commodity_manager_name
            supplier.commodity_manager_email = row.commodity_manager_email
            supplier.country = row.country
            supplier.updated_at = now
            session.add(supplier)
        session.flush()
        # The file is the truth about each supplier's contacts: replace them.
        for chunk in _chunks(ids):
            session.exec(delete(SupplierContact).where(SupplierContact.supplier_id.in_(chunk)))
        for row in rows:
            for position, contact in enumerate(row.contacts):
                session.add(SupplierContact(supplier_id=row.supplier_id, email=contact.email, name=contact.name,
                                            language=contact.language, is_primary=position == 0))
                report.contacts += 1
        # One entry for the file: which file (its SHA-256 finds the very bytes) and what it changed.
        from outreach import audit

        audit.record(session, actor=by, action="suppliers.imported", object_type="supplier file", object_id=filename,
                     after={"sha256": hashlib.sha256(data).hexdigest(), "rows": report.rows,
                            "created": report.created, "updated": report.updated, "contacts": report.contacts,
                            "suppliers": ids[:1000]})
    return report


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    # Databases cap the number of bound parameters in one statement.
    for start in range(0, len(items), size):
        yield items[start:start + size]


def import_supplier_file(engine: Engine, path: Path, *, dry_run: bool = False, by: str | None = None) -> ImportReport:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SupplierFileError(f"cannot read {path}: {exc.strerror}") from None
    return import_suppliers(engine, data, path.name, dry_run=dry_run, by=by)


def write_supplier_csv(rows: Iterable[dict[str, Any]]) -> bytes:
    """A supplier file in the import format (demo data, benchmarks, tests)."""
    rows = list(rows)
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")

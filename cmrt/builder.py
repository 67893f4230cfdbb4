"""The project's own CMRT fixture builder: CMRT-shaped `.xlsx` bytes from a declarative spec.

It writes the real template's sheets at the cells of the version's map (`cmrt/data/cmrt-<version>.json`,
the same maps the reader uses), so everything that reads a CMRT can be tested without the RMI's
copyrighted workbooks. A version without a map (pre-6 versions, a future 6.7) is written at the nearest map's cells.

    from cmrt.builder import CMRTBuilder, valid_cmrt, invalid_cmrt, high_risk_cmrt, SAMPLE_SMELTERS

    data: bytes = (
        CMRTBuilder(version="6.5")
        .company(name="Acme Metals", scope="A. Company", contact_email="jane@acme.example")
        .answers_all("Yes")                       # Q1-Q8 for all metals and company questions A-H
        .answer("Q6", "Gold", "Greater than 90%")  # one per-metal answer (and .comment(...))
        .company_answer("B", "Yes", comment="https://acme.example/policy")
        .smelter(metal="Tin", lookup_name="Luna Smelter, Ltd.")   # CID/name/country filled like Excel
        .smelter(metal="Gold", lookup_name="Smelter not listed", name="Foo", country="GHANA")
        .product("P-100", name="Widget")
        .to_bytes()
    )

Options that make the workbook look like real files from the field:
- `cached_values=False`: written like a tool other than Excel (openpyxl, LibreOffice scripts): the
  formula columns (Smelter List F, G, R; Checker D2) hold formulas with no cached value, and a listed
  smelter's country (E) is left to the formula too. A row given only `cid_input` (column A) gets the
  template's B and C formulas on it (with cached values: the Look-up's metal and standard name, or
  #N/A for a CID the Look-up does not have).
- `q6_style="number"|"text"`: "100%" as the number 1 (templates up to 6.22) or the text "100%" (6.31+);
  default follows the version.
- `date_style="datetime"|"text"|"serial"`: the effective date as a datetime, as text ("02-May-2024"), or a
  raw number. `.cell(sheet, ref, value)` writes anything anywhere (stray tabs, wrong types...).
- `version="6.01"...`: older 6.x layouts (Q6 number, Product List copyright row at B1001/B2006,
  "Manufacturer's" header); `version="6.6"`: the requester's product number and name in the Product
  List (`.product(..., requester_number=..., requester_name=...)`); `.template_lookup_rows()` adds the
  Look-up's "Smelter not yet identified" rows (tungsten's without a country); pre-6 versions ("5.12", "4.10", "3.02") get the sheet names of their era;
  `kind="EMRT"` (or CRT/AMRT) writes that template's title and its Mine List sheet.
- `.rename_sheet(old, new)`, `.drop_sheet(name)`, `.extra_sheet(name)`: renamed, missing or stray sheets.
- `.lookup_rows([...])` / `.synthetic_lookup(n)`: the Smelter Look-up sheet contents (default: a few
  public facts about real smelters, `SAMPLE_SMELTERS`).

Factories: `valid_cmrt(company=..., smelters=[...], **company_fields)`, `invalid_cmrt(problem=...)`,
`high_risk_cmrt(...)` return bytes; `valid_builder(...)` returns the builder to tweak further.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

from openpyxl import Workbook

from cmrt import maps
from cmrt.types import COMPANY_QUESTIONS, METALS

# The builder's field names -> the map's (cmrt/data/cmrt-<version>.json "declaration").
_FIELD_NAMES = {"name": "company_name", "unique_id": "company_unique_id",
                "unique_id_authority": "company_unique_id_authority"}
DECLARATION_CELLS = {builder_name: maps.template_map("CMRT", "6.5")["declaration"][map_name] for builder_name, map_name in (
    ("name", "company_name"), ("scope", "scope"), ("scope_description", "scope_description"),
    ("unique_id", "company_unique_id"), ("unique_id_authority", "company_unique_id_authority"), ("address", "address"),
    ("contact_name", "contact_name"), ("contact_email", "contact_email"), ("contact_phone", "contact_phone"),
    ("authorizer", "authorizer"), ("authorizer_title", "authorizer_title"), ("authorizer_email", "authorizer_email"),
    ("authorizer_phone", "authorizer_phone"), ("effective_date", "effective_date"))}

SCOPE_COMPANY = "A. Company"
SCOPE_PRODUCT = "B. Product (or List of Products)"
SCOPE_USER = "C. User defined [Specify in 'Description of scope']"


@dataclass(frozen=True)
class LookupRow:
    """One row of a Smelter Look-up sheet: an alias (look-up name) of a smelter."""

    metal: str
    lookup_name: str
    standard_name: str
    country: str
    cid: str
    source: str = "RMI"
    street: str = ""
    city: str = ""
    state: str = ""


# Public facts (metal, name, country, CID) as published in a 2020 Conflict Minerals Report; the
# status is what the project's default reference list says, used by high_risk_cmrt().
SAMPLE_SMELTERS: list[LookupRow] = [
    LookupRow("Tantalum", "Asaka Riken Co., Ltd.", "Asaka Riken Co., Ltd.", "JAPAN", "CID000092"),
    LookupRow("Tin", "Luna Smelter, Ltd.", "Luna Smelter, Ltd.", "RWANDA", "CID003387"),
    LookupRow("Tin", "Luna Smelter", "Luna Smelter, Ltd.", "RWANDA", "CID003387"),
    LookupRow("Tin", "Dowa", "Dowa", "JAPAN", "CID000402"),
    LookupRow("Gold", "Advanced Chemical Company", "Advanced Chemical Company", "UNITED STATES OF AMERICA", "CID000015"),
    LookupRow("Gold", "African Gold Refinery", "African Gold Refinery", "UGANDA", "CID003185"),
    LookupRow("Tungsten", "A.L.M.T. Corp.", "A.L.M.T. Corp.", "JAPAN", "CID000004"),
    LookupRow("Tungsten", "Kennametal Huntsville", "Kennametal Huntsville", "UNITED STATES OF AMERICA", "CID000105"),
]
# One conformant smelter per metal: what valid_cmrt() lists by default.
DEFAULT_SMELTERS: list[dict[str, str]] = [
    {"metal": "Tantalum", "lookup_name": "Asaka Riken Co., Ltd."},
    {"metal": "Tin", "lookup_name": "Dowa"},
    {"metal": "Gold", "lookup_name": "Advanced Chemical Company"},
    {"metal": "Tungsten", "lookup_name": "A.L.M.T. Corp."},
]
NOT_LISTED = "Smelter not listed"
NOT_IDENTIFIED = "Smelter not yet identified"

_COMPANY_YES = {
    "E": "Yes, in conformance with IPC1755 (e.g., CMRT)",
    "H": "Yes, with the SEC",
}


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


class CMRTBuilder:
    """Declarative builder of CMRT-shaped workbooks; every method returns the builder."""

    def __init__(
        self,
        version: str = "6.5",
        *,
        kind: str = "CMRT",
        cached_values: bool = True,
        q6_style: str | None = None,
        date_style: str = "datetime",
        language: str = "English",
        revision_sheet: bool = True,
    ) -> None:
        self.version = version
        self.kind = kind
        self.cached_values = cached_values
        self.map = maps.map_for("CMRT", version).map
        self.q6_style = q6_style or ("number" if self.map["q6_hundred_as_number"] else "text")
        self.date_style = date_style
        self.language = language
        self.revision_sheet = revision_sheet
        self._company: dict[str, Any] = {}
        self._answers: dict[tuple[str, str], Any] = {}
        self._comments: dict[tuple[str, str], Any] = {}
        self._company_answers: dict[str, Any] = {}
        self._company_comments: dict[str, Any] = {}
        self._smelters: list[dict[str, Any]] = []
        self._products: list[dict[str, Any]] = []
        self._lookup: list[LookupRow] = list(SAMPLE_SMELTERS)
        self._cells: list[tuple[str, str, Any]] = []
        self._renames: dict[str, str] = {}
        self._dropped: set[str] = set()
        self._extra: list[str] = []
        self._revision_text: str | None = None

    # -- Declaration -------------------------------------------------------------------------
    def company(self, **fields: Any) -> CMRTBuilder:
        """Declaration fields by name: name, scope, scope_description, unique_id, unique_id_authority,
        address, contact_name, contact_email, contact_phone, authorizer, authorizer_title,
        authorizer_email, authorizer_phone, effective_date (date, datetime or text)."""
        unknown = set(fields) - set(DECLARATION_CELLS)
        if unknown:
            raise ValueError(f"unknown Declaration fields: {sorted(unknown)}")
        self._company.update(fields)
        return self

    def revision_text(self, text: str) -> CMRTBuilder:
        """Override Declaration!J3 (e.g. a garbled or missing version)."""
        self._revision_text = text
        return self

    def answer(self, question: str, metal: str, value: Any, comment: Any = None) -> CMRTBuilder:
        self._answers[(question, metal)] = value
        if comment is not None:
            self._comments[(question, metal)] = comment
        return self

    def metal_answers(self, metal: str, **answers: Any) -> CMRTBuilder:
        """e.g. .metal_answers("Gold", q1="No", q2="No")"""
        for key, value in answers.items():
            self.answer(key.upper(), metal, value)
        return self

    def comment(self, question: str, metal: str, text: Any) -> CMRTBuilder:
        self._comments[(question, metal)] = text
        return self

    def company_answer(self, letter: str, value: Any, comment: Any = None) -> CMRTBuilder:
        self._company_answers[letter] = value
        if comment is not None:
            self._company_comments[letter] = comment
        return self

    def answers_all(self, value: str = "Yes", *, metals: Iterable[str] = METALS) -> CMRTBuilder:
        """Answer Q1-Q8 for the metals and company questions A-H the way a clean declaration does.
        "Yes": Q1-Q2 Yes; Q3, Q4, Q5 No (no covered-country or CAHRA sourcing, not 100% recycled);
        Q6 100%; Q7-Q8 Yes; A-H Yes (E: IPC1755, H: SEC, B with a policy URL in G77).
        "No": Q1 and Q2 No (nothing in scope), company questions left blank."""
        for metal in metals:
            if value == "No":
                self.answer("Q1", metal, "No").answer("Q2", metal, "No")
                continue
            self.answer("Q1", metal, "Yes").answer("Q2", metal, "Yes")
            self.answer("Q3", metal, "No").answer("Q4", metal, "No").answer("Q5", metal, "No")
            self.answer("Q6", metal, "100%").answer("Q7", metal, "Yes").answer("Q8", metal, "Yes")
        if value != "No":
            for letter in COMPANY_QUESTIONS:
                self._company_answers[letter] = _COMPANY_YES.get(letter, "Yes")
            self._company_comments["B"] = "https://example.com/conflict-minerals-policy"
        return self

    # -- Smelter List / Product List / Look-up -------------------------------------------------
    def smelter(self, **fields: Any) -> CMRTBuilder:
        """A Smelter List row. Fields: metal, lookup_name, name, country, cid_input (column A), cid,
        standard_name, id_source, street, city, state, contact_name, contact_email, next_steps,
        mine_name, mine_country, recycled_scrap, comments, row (default: next free row from 5).
        With cached_values, cid/standard_name/country/id_source default to the Look-up values, and
        cache_zero=True stores "0" in F and R where the look-up finds nothing (as Excel caches it)."""
        self._smelters.append(dict(fields))
        return self

    def smelters(self, rows: Iterable[dict[str, Any]]) -> CMRTBuilder:
        for row in rows:
            self.smelter(**row)
        return self

    def product(self, number: Any, name: Any = None, comments: Any = None, **requester: Any) -> CMRTBuilder:
        """A Product List row; requester_number / requester_name where the version has those columns (6.6)."""
        columns = set(self.map["product_list"]["columns"].values())
        unknown = set(requester) - columns
        if unknown:
            raise ValueError(f"CMRT {self.map['version']} has no Product List column for {sorted(unknown)}")
        self._products.append({"number": number, "name": name, "comments": comments, **requester})
        return self

    def template_lookup_rows(self) -> CMRTBuilder:
        """Add the template's own "Smelter not yet identified" Look-up rows (the map's not_identified_rows:
        standard name "Unknown", a country per metal; tungsten's has none)."""
        for metal, country in self.map["smelter_list"]["not_identified_rows"].items():
            self._lookup.append(LookupRow(metal, NOT_IDENTIFIED, "Unknown", country, "", source=""))
        return self

    def lookup_rows(self, rows: Iterable[LookupRow]) -> CMRTBuilder:
        self._lookup = list(rows)
        return self

    def synthetic_lookup(self, n: int = 640) -> CMRTBuilder:
        """Pad the Smelter Look-up sheet to `n` rows (a full-size template has ~640)."""
        rows = list(self._lookup)
        i = 0
        while len(rows) < n:
            metal = METALS[(i // 2) % 4]
            cid = f"CID{900000 + i // 2:06d}"
            standard = f"Synthetic {metal} Refinery {i // 2}"
            alias = standard if i % 2 == 0 else f"{standard} (alias)"
            rows.append(LookupRow(metal, alias, standard, "CHINA", cid, city="Somewhere"))
            i += 1
        self._lookup = rows
        return self

    # -- raw edits -------------------------------------------------------------------------
    def cell(self, sheet: str, ref: str, value: Any) -> CMRTBuilder:
        """Write any value to any cell after everything else (sheet by its template name)."""
        self._cells.append((sheet, ref, value))
        return self

    def rename_sheet(self, old: str, new: str) -> CMRTBuilder:
        self._renames[old] = new
        return self

    def drop_sheet(self, name: str) -> CMRTBuilder:
        self._dropped.add(name)
        return self

    def extra_sheet(self, name: str) -> CMRTBuilder:
        self._extra.append(name)
        return self

    # -- output ----------------------------------------------------------------------------
    def _sheet_names(self) -> list[str]:
        vk = _version_key(self.version)
        if self.kind != "CMRT":
            names = ["Revision", "Instructions", "Definitions", "Declaration", "Smelter List", "Checker",
                     "Mine List", "Product List", "Smelter Look-up"]
        elif vk < (4,):
            names = ["Instructions", "Definitions", "Declaration", "Smelter List", "Standard Smelter Names"]
        elif vk < (5,):
            names = ["Instructions", "Definitions", "Declaration", "Smelter List", "Smelter Reference List"]
        else:
            names = ["Revision", "Instructions", "Definitions", "Declaration", "Smelter List", "Checker",
                     "Product List", "Smelter Look-up"]
        if not self.revision_sheet and "Revision" in names:
            names.remove("Revision")
        return names

    def _lookup_index(self) -> dict[tuple[str, str], LookupRow]:
        return {(r.metal.lower(), r.lookup_name.lower()): r for r in self._lookup}

    def _format_q6(self, value: Any) -> Any:
        if value == "100%" and self.q6_style == "number":
            return 1
        return value

    def _format_date(self, value: Any) -> Any:
        if isinstance(value, (date, datetime)):
            as_dt = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
            if self.date_style == "text":
                return as_dt.strftime("%d-%b-%Y")
            if self.date_style == "serial":
                return (as_dt - datetime(1899, 12, 30)).days
            return as_dt
        return value

    def build(self) -> Workbook:
        wb = Workbook()
        wb.remove(wb.active)
        sheets = {}
        for name in self._sheet_names():
            if name in self._dropped:
                continue
            sheets[name] = wb.create_sheet(self._renames.get(name, name))
        for name in self._extra:
            wb.create_sheet(name)

        if "Revision" in sheets:
            sheets["Revision"]["B2"] = f"Revision {self.version}"
        if "Instructions" in sheets:
            sheets["Instructions"]["B2"] = "Instructions"
        decl = sheets.get("Declaration")
        if decl is not None:
            title = {
                "CMRT": "Conflict Minerals Reporting Template (CMRT)",
                "EMRT": "Extended Minerals Reporting Template (EMRT)",
                "CRT": "Cobalt Reporting Template (CRT)",
                "AMRT": "Additional Minerals Reporting Template (AMRT)",
            }.get(self.kind, self.kind)
            decl["D2"] = title
            decl["B3"] = "Select Language Preference Here:"
            decl["D3"] = self.language
            revision = self._revision_text
            if revision is None:
                known = self.map["version"] == self.version
                revision = f"Revision {self.version}\n{self.map['revision_date'] if known else 'January 1, 2019'}"
            decl[self.map["revision_cell"]] = revision
            decl["P9"], decl["Q9"], decl["R9"] = SCOPE_COMPANY, SCOPE_PRODUCT, SCOPE_USER
            decl["B8"] = "Company Name (*):"
            cells = self.map["declaration"]
            col, comment_col = self.map["answer_column"], self.map["comment_column"]
            for key, value in self._company.items():
                if value is not None:
                    decl[cells[_FIELD_NAMES.get(key, key)]] = self._format_date(value) if key == "effective_date" else value
            if isinstance(decl[cells["effective_date"]].value, datetime):
                decl[cells["effective_date"]].number_format = "DD-MMM-YYYY"
            for q, spec in self.map["questions"].items():
                first = spec["first_row"]
                for i, metal in enumerate(METALS):
                    decl[f"B{first + i}"] = f"{metal}  (*)"
                    if (q, metal) in self._answers and self._answers[(q, metal)] is not None:
                        value = self._answers[(q, metal)]
                        decl[f"{col}{first + i}"] = self._format_q6(value) if q == "Q6" else value
                        if q == "Q6" and decl[f"{col}{first + i}"].value == 1:
                            decl[f"{col}{first + i}"].number_format = "0%"
                    if (q, metal) in self._comments:
                        decl[f"{comment_col}{first + i}"] = self._comments[(q, metal)]
            for letter, spec in self.map["company_questions"].items():
                if self._company_answers.get(letter) is not None:
                    decl[f"{col}{spec['row']}"] = self._company_answers[letter]
                if letter in self._company_comments:
                    decl[f"{comment_col}{spec['row']}"] = self._company_comments[letter]

        smelter_sheet = sheets.get("Smelter List")
        if smelter_sheet is not None:
            self._write_smelters(smelter_sheet)
            smelter_sheet["Q3"] = f"Revision {self.version}"

        products = sheets.get("Product List")
        if products is not None:
            spec = self.map["product_list"]
            column_of = {name: c for c, name in spec["columns"].items()}
            header = spec["header_row"]
            for name, c in column_of.items():
                products[f"{c}{header}"] = spec.get(f"{name}_header", name.capitalize())
            for i, product in enumerate(self._products):
                for name, value in product.items():
                    if value is not None:
                        products[f"{column_of[name]}{spec['first_row'] + i}"] = value
            products[f"B{spec['copyright_row']}"] = "© 2025 Responsible Minerals Initiative. All rights reserved."

        lookup_name = next((n for n in ("Smelter Look-up", "Smelter Reference List", "Standard Smelter Names") if n in sheets), None)
        if lookup_name is not None:
            ws = sheets[lookup_name]
            for col, head in zip("ABCDEFGHIJ", ["Metal", "Smelter Look-up (*)", "Standard Smelter Names",
                                                  "Smelter Facility Location: Country", "Smelter ID",
                                                  "Source of Smelter Identification Number", "Smelter Street",
                                                  "Smelter City", "Smelter Facility Location: State / Province",
                                                  "METAL+Alias"]):
                ws[f"{col}4"] = head
            for i, r in enumerate(self._lookup):
                row = 5 + i
                values = [r.metal, r.lookup_name, r.standard_name, r.country, r.cid, r.source, r.street, r.city, r.state]
                for c, v in enumerate(values, start=1):
                    ws.cell(row=row, column=c, value=v)
                ws.cell(row=row, column=10, value=(r.metal + r.lookup_name) if self.cached_values else f"=A{row}&B{row}")

        checker = sheets.get("Checker")
        if checker is not None:
            checker["A2"] = "Click here to return to Declaration tab"
            checker["F3"], checker["G3"] = "necessary?", "complete?"
            checker["D2"] = '=IF(H70=0,"0",H70)'
            checker["H70"] = "=SUM(H4:H69)"

        for sheet_name, ref, value in self._cells:
            target = self._renames.get(sheet_name, sheet_name)
            if target not in wb.sheetnames:
                wb.create_sheet(target)
            wb[target][ref] = value
        return wb

    def _write_smelters(self, ws: Any) -> None:
        headers = ["Smelter Identification Number Input Column", "Metal (*)", "Smelter Look-up (*)",
                   "Smelter Name (1)", "Smelter Country (*)", "Smelter Identification",
                   "Source of Smelter Identification Number", "Smelter Street", "Smelter City",
                   "Smelter Facility Location: State / Province", "Smelter Contact Name",
                   "Smelter Contact Email", "Proposed next steps", "Name of Mine(s)", "Location (Country) of Mine(s)",
                   "Does 100% of the smelter's feedstock originate from recycled or scrap sources?", "Comments",
                   "Standard Smelter Name", "Country Code", "State / Province Code"]
        for c, h in enumerate(headers, start=1):
            ws.cell(row=4, column=c, value=h)
        index = self._lookup_index()
        by_cid = {r.cid: r for r in self._lookup}
        next_row = 5
        for spec in self._smelters:
            row = spec.get("row") or next_row
            next_row = max(next_row, row + 1)
            metal, lookup = spec.get("metal"), spec.get("lookup_name")
            ref = None
            if isinstance(metal, str) and isinstance(lookup, str):
                key_name = spec.get("name") if lookup.strip().lower() in (NOT_LISTED.lower(), NOT_IDENTIFIED.lower()) else lookup
                if isinstance(key_name, str):
                    ref = index.get((metal.lower(), key_name.lower()))
            if ref is None and isinstance(spec.get("cid_input"), str):
                ref = by_cid.get(spec["cid_input"])
            values: dict[str, Any] = {
                "A": spec.get("cid_input"), "B": metal, "C": lookup, "D": spec.get("name"),
                "E": spec.get("country"), "F": spec.get("cid"), "G": spec.get("id_source"),
                "H": spec.get("street"), "I": spec.get("city"), "J": spec.get("state"),
                "K": spec.get("contact_name"), "L": spec.get("contact_email"), "M": spec.get("next_steps"),
                "N": spec.get("mine_name"), "O": spec.get("mine_country"), "P": spec.get("recycled_scrap"),
                "Q": spec.get("comments"), "R": spec.get("standard_name"),
            }
            if isinstance(spec.get("cid_input"), str) and metal is None and lookup is None:
                # B and C are the template's formulas on the CID typed in A: its metal and standard name
                # (cached: those values, or Excel's #N/A where the Look-up has no such CID).
                a = f"$A{row}"
                if self.cached_values:
                    values["B"] = ref.metal if ref is not None else "#N/A"
                    values["C"] = ref.standard_name if ref is not None else "#N/A"
                else:
                    values["B"] = f"=IF(LEN({a})=0,\"\",INDEX('Smelter Look-up'!$A:$A,MATCH({a},'Smelter Look-up'!$E:$E,0)))"
                    values["C"] = f"=IF(LEN({a})=0,\"\",INDEX('Smelter Look-up'!$C:$C,MATCH({a},'Smelter Look-up'!$E:$E,0)))"
            if self.cached_values:
                # What Excel stores after recalculation: the look-up results as plain values.
                if ref is not None:
                    values["E"] = values["E"] if values["E"] is not None else ref.country
                    values["F"] = values["F"] if values["F"] is not None else ref.cid
                    values["G"] = values["G"] if values["G"] is not None else ref.source
                    values["R"] = values["R"] if values["R"] is not None else ref.standard_name
                elif isinstance(lookup, str) and lookup.strip().lower() == NOT_LISTED.lower():
                    values["G"] = values["G"] if values["G"] is not None else "Enter smelter details"
                # Formula cells cache "0" where the look-up comes back empty (a trap real files hold).
                for col in ("F", "R"):
                    if values[col] is None and metal is not None:
                        values[col] = "0" if spec.get("cache_zero") else None
            else:
                v = f"$V{row}"
                if values["F"] is None:
                    values["F"] = f"=IF(ISERROR({v}),\"\",OFFSET('Smelter Look-up'!$E$4,{v}-4,0))"
                if values["R"] is None:
                    values["R"] = f"=IF(ISERROR({v}),\"\",OFFSET('Smelter Look-up'!$C$4,{v}-4,0)&\"\")"
                if values["G"] is None:
                    values["G"] = f"=IF(ISERROR({v}),\"\",OFFSET('Smelter Look-up'!$F$4,{v}-4,0))"
                if values["E"] is None:
                    values["E"] = f"=IF(ISERROR({v}),\"\",OFFSET('Smelter Look-up'!$D$4,{v}-4,0)&\"\")"
            for col, value in values.items():
                if value is not None:
                    ws[f"{col}{row}"] = value

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.build().save(buffer)
        return buffer.getvalue()


# -- ready-made declarations -----------------------------------------------------------------

def valid_builder(
    company: str = "Acme Components Ltd.",
    smelters: list[dict[str, Any]] | None = None,
    *,
    version: str = "6.5",
    scope: str = SCOPE_COMPANY,
    products: list[str] | None = None,
    effective_date: date | datetime | str = date(2025, 1, 15),
    **builder_options: Any,
) -> CMRTBuilder:
    """A complete, consistent declaration: all metals in scope, every answer given, one conformant
    smelter per metal (or `smelters`), contact and authorizer with valid emails."""
    b = CMRTBuilder(version=version, **builder_options)
    b.company(
        name=company,
        scope=scope,
        scope_description="Selected products" if scope == SCOPE_USER else None,
        contact_name="Jane Doe",
        contact_email="jane.doe@acme.example.com",
        contact_phone="+1 555 0100",
        authorizer="John Roe",
        authorizer_title="Compliance Director",
        authorizer_email="john.roe@acme.example.com",
        authorizer_phone="+1 555 0101",
        effective_date=effective_date,
    )
    b.answers_all("Yes")
    b.smelters(smelters if smelters is not None else DEFAULT_SMELTERS)
    for number in products or (["P-100"] if scope == SCOPE_PRODUCT else []):
        b.product(number, name=f"Product {number}")
    return b


def valid_cmrt(company: str = "Acme Components Ltd.", smelters: list[dict[str, Any]] | None = None, **kw: Any) -> bytes:
    return valid_builder(company, smelters, **kw).to_bytes()


def invalid_cmrt(company: str = "Acme Components Ltd.", problem: str = "missing_contact_email", **kw: Any) -> bytes:
    """A declaration with one classic mistake that makes it invalid: `missing_contact_email`,
    `malformed_email` (an address without "@", "toru.nishio(at)...", which the template's Checker counts
    as missing; a mistyped address that has an "@", "toru,nishio@...", is only a warning),
    `missing_q1` (Tin's Q1 blank), `missing_smelters` (no Gold smelter)."""
    b = valid_builder(company, **kw)
    if problem == "missing_contact_email":
        b._company["contact_email"] = None
    elif problem == "malformed_email":
        b.company(contact_email="toru.nishio(at)acme.example.com")
    elif problem == "missing_q1":
        b._answers.pop(("Q1", "Tin"), None)
    elif problem == "missing_smelters":
        b._smelters = [s for s in b._smelters if s.get("metal") != "Gold"]
    else:
        raise ValueError(f"unknown problem {problem!r}")
    return b.to_bytes()


def high_risk_cmrt(company: str = "Acme Components Ltd.", **kw: Any) -> bytes:
    """A company-level declaration listing a Gold refinery in Uganda that is not enrolled in RMAP
    (African Gold Refinery, CID003185), with Q3 = Yes / Q4 = Yes as such a list implies."""
    smelters = list(DEFAULT_SMELTERS) + [{"metal": "Gold", "lookup_name": "African Gold Refinery"}]
    b = valid_builder(company, smelters, **kw)
    b.answer("Q3", "Gold", "Yes").answer("Q4", "Gold", "Yes")
    return b.to_bytes()


__all__ = [
    "CMRTBuilder", "LookupRow", "SAMPLE_SMELTERS", "DEFAULT_SMELTERS", "NOT_LISTED", "NOT_IDENTIFIED",
    "SCOPE_COMPANY", "SCOPE_PRODUCT", "SCOPE_USER", "valid_builder", "valid_cmrt", "invalid_cmrt",
    "high_risk_cmrt",
]


# -- the EMRT -------------------------------------------------------------------------------------
# Made-up look-up rows (no RMI data): one smelter or processor per mineral, CIDs in an unused range.
EMRT_SAMPLE_LOOKUP: list[LookupRow] = [
    LookupRow(m, f"Example {m} Refinery", f"Example {m} Refinery", "FINLAND", f"CID99{i:04d}")
    for i, m in enumerate(("Cobalt", "Copper", "Graphite", "Lithium", "Mica", "Nickel"), start=1)
]


class EMRTBuilder:
    """EMRT-shaped workbooks at the cells of the version's cell map (cmrt/data/emrt-<version>.json), written
    like a tool other than Excel (no cached formula values). Every method returns the builder.

        EMRTBuilder().company(name="Acme", ...).minerals("Cobalt", "Mica").answers_all()
            .smelter(metal="Cobalt", lookup_name="Example Cobalt Refinery")
            .mine(metal="Cobalt", smelter_name="Example Cobalt Refinery", mine_name="Example Mine").to_bytes()
    """

    def __init__(self, version: str = "2.1") -> None:
        self.version = version
        self.map = maps.template_map("EMRT", version)
        self._company: dict[str, Any] = {}
        self._minerals: list[str] = list(self.map["minerals"].values())  # the blank template selects all
        self._answers: dict[tuple[str, str], Any] = {}
        self._company_answers: dict[str, tuple[Any, Any]] = {}
        self._smelters: list[dict[str, Any]] = []
        self._mines: list[dict[str, Any]] = []
        self._products: list[dict[str, Any]] = []
        self._cells: list[tuple[str, str, Any]] = []

    def company(self, **fields: Any) -> EMRTBuilder:
        """Declaration fields by the cell map's names (company_name, scope, contact_email, effective_date...)."""
        unknown = set(fields) - set(self.map["declaration"])
        if unknown:
            raise ValueError(f"unknown Declaration fields: {sorted(unknown)}")
        self._company.update(fields)
        return self

    def minerals(self, *names: str) -> EMRTBuilder:
        """The minerals in scope; the others' selectors are set to "(Delete <mineral>)"."""
        self._minerals = list(names)
        return self

    def answer(self, question: str, mineral: str, value: Any) -> EMRTBuilder:
        self._answers[(question, mineral)] = value
        return self

    def company_answer(self, letter: str, value: Any, comment: Any = None) -> EMRTBuilder:
        self._company_answers[letter] = (value, comment)
        return self

    def answers_all(self) -> EMRTBuilder:
        """A clean declaration for the selected minerals: Q1, Q2 Yes; Q3, Q4 No; Q5 100%; Q6, Q7 Yes;
        C Yes; company questions Yes (E: IPC1755, B with a policy URL)."""
        clean = {"Q1": "Yes", "Q2": "Yes", "Q3": "No", "Q4": "No", "Q5": "100%", "Q6": "Yes", "Q7": "Yes", "C": "Yes"}
        for mineral in self._minerals:
            for q, value in clean.items():
                self._answers[(q, mineral)] = value
        for letter, spec in self.map["company_questions"].items():
            self._company_answers[letter] = (spec["answers"][0], "https://example.com/minerals-policy" if letter == "B" else None)
        return self

    def smelter(self, **fields: Any) -> EMRTBuilder:
        """A Smelter List row: metal, lookup_name, name, country, cid_input, mine_name, ... (CMRT columns)."""
        self._smelters.append(fields)
        return self

    def mine(self, **fields: Any) -> EMRTBuilder:
        """A Mine List row by the cell map's names: metal, smelter_name, mine_name, mine_id, country..."""
        self._mines.append(fields)
        return self

    def product(self, number: Any, name: Any = None, **more: Any) -> EMRTBuilder:
        """A Product List row; more: the map's other columns (requester_number, requester_name, comments)."""
        self._products.append({"number": number, "name": name, **more})
        return self

    def cell(self, sheet: str, ref: str, value: Any) -> EMRTBuilder:
        self._cells.append((sheet, ref, value))
        return self

    def build(self) -> Workbook:
        tm = self.map
        wb = Workbook()
        wb.remove(wb.active)
        sheets = {name: wb.create_sheet(name) for name in tm["sheets"]}
        decl = sheets["Declaration"]
        decl["D2"] = "Extended Minerals Reporting Template (EMRT)"
        decl["D3"] = "English"
        decl[tm["revision_cell"]] = f"Revision {self.version}\n{tm['revision_date']}"
        for name, value in self._company.items():
            if value is not None:
                decl[tm["declaration"][name]] = value
        for ref, mineral in tm["minerals"].items():
            decl[ref] = mineral if mineral in self._minerals else f"(Delete {mineral})"
        order = sorted(self._minerals, key=str.casefold)
        col = tm["answer_column"]
        for (q, mineral), value in self._answers.items():
            if mineral in order and value is not None:
                decl[f"{col}{tm['questions'][q]['first_row'] + order.index(mineral)}"] = value
        for letter, (value, comment) in self._company_answers.items():
            row = tm["company_questions"][letter]["row"]
            if value is not None:
                decl[f"{col}{row}"] = value
            if comment is not None:
                decl[f"{tm['comment_column']}{row}"] = comment
        smelter_list = sheets["Smelter List"]
        columns = dict(zip(("cid_input", "metal", "lookup_name", "name", "country", "cid", "id_source", "street",
                            "city", "state", "contact_name", "contact_email", "next_steps", "mine_name",
                            "mine_country", "recycled_scrap", "comments"), "ABCDEFGHIJKLMNOPQ"))
        first = tm["smelter_list"]["first_row"]
        for i, spec in enumerate(self._smelters):
            for name, value in spec.items():
                smelter_list[f"{columns[name]}{first + i}"] = value
        mine_columns = {name: c for c, name in tm["mine_list"]["columns"].items()}
        for i, spec in enumerate(self._mines):
            for name, value in spec.items():
                sheets["Mine List"][f"{mine_columns[name]}{tm['mine_list']['first_row'] + i}"] = value
        product_columns = {name: c for c, name in tm["product_list"]["columns"].items()}
        for i, product in enumerate(self._products):
            row = tm["product_list"]["first_row"] + i
            for name, value in product.items():
                if value is not None:
                    sheets["Product List"][f"{product_columns[name]}{row}"] = value
        lookup = sheets["Smelter Look-up"]
        for i, r in enumerate(EMRT_SAMPLE_LOOKUP, start=5):
            for c, v in enumerate((r.metal, r.lookup_name, r.standard_name, r.country, r.cid, r.source), start=1):
                lookup.cell(row=i, column=c, value=v)
        sheets["Checker"]["D2"] = "=IF(H125=0,\"0\",H125)"
        for sheet_name, ref, value in self._cells:
            wb[sheet_name][ref] = value
        return wb

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.build().save(buffer)
        return buffer.getvalue()


def valid_emrt_builder(company: str = "Acme Components Ltd.", minerals: Iterable[str] = ("Cobalt", "Mica"),
                       version: str = "2.1") -> EMRTBuilder:
    """A complete EMRT: the minerals answered in scope, one smelter or processor and one mine each."""
    minerals = list(minerals)
    b = EMRTBuilder(version).minerals(*minerals).company(
        company_name=company, scope=SCOPE_COMPANY, contact_name="Jane Doe",
        contact_email="jane.doe@acme.example.com", contact_phone="+1 555 0100", authorizer="John Roe",
        authorizer_email="john.roe@acme.example.com", effective_date=datetime(2025, 11, 3)).answers_all()
    for mineral in minerals:
        refinery = f"Example {mineral} Refinery"
        b.smelter(metal=mineral, lookup_name=refinery)
        b.mine(metal=mineral, smelter_name=refinery, mine_name=f"Example {mineral} Mine", country="FINLAND")
    return b


__all__ += ["EMRTBuilder", "EMRT_SAMPLE_LOOKUP", "valid_emrt_builder"]

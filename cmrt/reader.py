"""Read a CMRT workbook's values into typed fields, by cell (never by label: labels are formulas in the
filler's language). Values come from python-calamine: the cached values Excel stored, or blanks where a
tool other than Excel wrote formulas without caching them (then `derive_from_lookup` fills the gaps the
way the template's own formulas would).

The raw cell values are kept (`Sheet.raw`) because the template's Checker compares them with Excel's
semantics, which differ from the normalised text the rest of the product uses.
"""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Callable

from pydantic import TypeAdapter

from cmrt.maps import template_map, version_tuple
from cmrt.types import (
    COMPANY_QUESTIONS,
    METALS,
    Answer,
    Declaration,
    ProductRow,
    SmelterRow,
)

# The version suppliers are asked for: the newest whose map was read from the official blank (6.6's
# map is derived from its revision notes, cmrt/data/README.md), so a 6.5 workbook is not "old".
CURRENT_VERSION = "6.5"
SHEETS = ("Declaration", "Smelter List", "Checker", "Product List", "Smelter Look-up")

# The current version's cells (cmrt/data/cmrt-6.5.json), for callers that read one 6.x layout; every
# function below takes the map of the workbook's own version (`tm`).
CURRENT_MAP: dict[str, Any] = template_map("CMRT", CURRENT_VERSION)
DECLARATION_CELLS: dict[str, str] = dict(CURRENT_MAP["declaration"])
QUESTION_FIRST_ROW = {q: spec["first_row"] for q, spec in CURRENT_MAP["questions"].items()}
COMPANY_ROW = {letter: spec["row"] for letter, spec in CURRENT_MAP["company_questions"].items()}
SMELTER_COLUMNS = "ABCDEFGHIJKLMNOPQR"
SMELTER_FIELDS = ("cid_input", "metal", "lookup_name", "name", "country", "cid", "id_source", "street", "city",
                  "state", "contact_name", "contact_email", "next_steps", "mine_name", "mine_country",
                  "recycled_scrap", "comments", "standard_name")
SMELTER_FIRST_ROW, SMELTER_LAST_ROW = CURRENT_MAP["smelter_list"]["first_row"], CURRENT_MAP["smelter_list"]["last_row"]
# Rows read at most: four times the template's 2,500 smelter rows and ten times its 2,000 product rows.
# Beyond that no real CMRT goes, and each row read costs findings to store and show.
MAX_SMELTER_ROWS, MAX_PRODUCT_ROWS = 10_000, 20_000
_FORMULA_COLUMNS = frozenset(SMELTER_COLUMNS.index(c) for c in "EFGR")
NOT_LISTED = "smelter not listed"
NOT_IDENTIFIED = "smelter not yet identified"



def allowed_answers(tm: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Question (Q1..Q8, A..H) -> the answers the template's lists offer, from a version's map."""
    out = {q: tuple(spec["answers"]) for q, spec in tm["questions"].items()}
    out.update({letter: tuple(spec["answers"]) for letter, spec in tm["company_questions"].items()})
    return out


ALLOWED_ANSWERS: dict[str, tuple[str, ...]] = allowed_answers(CURRENT_MAP)

_CELL_RE = re.compile(r"^([A-Z]+)(\d+)$")
_WS_RE = re.compile(r"\s+")


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


class Sheet:
    """Values of one sheet as calamine returns them, addressed by A1 references (blank = '')."""

    def __init__(self, name: str, rows: list[list[Any]]) -> None:
        self.name = name
        self.rows = rows

    def raw(self, ref: str) -> Any:
        m = _CELL_RE.match(ref)
        if not m:
            return ""
        return self.at(int(m.group(2)), col_index(m.group(1)))

    def at(self, row: int, col: int) -> Any:
        """1-based row, 0-based column."""
        if row - 1 < len(self.rows):
            r = self.rows[row - 1]
            if col < len(r):
                v = r[col]
                return "" if v is None else v
        return ""

    def text(self, ref: str) -> str | None:
        return to_text(self.raw(ref))


def to_text(value: Any) -> str | None:
    """Normalised text: stripped (tabs included), numbers without a spurious '.0', blanks as None."""
    if type(value) is str:  # the common case first
        text = value.replace("\u00a0", " ").strip() if value else ""
        return text or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    text = str(value).replace("\u00a0", " ").strip()
    return text or None


def formula_text(value: Any) -> str | None:
    """A formula column's cached value: "0"/0 means the look-up came back empty."""
    text = to_text(value)
    return None if text in (None, "0") else text


def canonical_answer(question: str, value: Any, allowed: dict[str, tuple[str, ...]] = ALLOWED_ANSWERS) -> str | None:
    """Map an answer to the template's spelling (case, spaces, Q6 stored as 1) or keep it as written."""
    text = to_text(value)
    if text is None:
        return None
    if question == "Q6" and isinstance(value, (int, float)) and not isinstance(value, bool):
        if value == 1:
            return "100%"
    key = _WS_RE.sub(" ", text).casefold()
    for answer in allowed.get(question, ()):
        if answer.casefold() == key:
            return answer
    if question == "Q6" and key in ("1", "100", "100 %"):
        return "100%"
    return _WS_RE.sub(" ", text)


_DATE_FORMATS = ("%d-%b-%Y", "%d-%B-%Y", "%d-%b-%y", "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
                 "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y.%m.%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S",
                 "%Y年%m月%d日")


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # Excel serial day numbers up to 9999-12-31
            return (datetime(1899, 12, 30) + timedelta(days=int(value))).date()
        return None
    text = to_text(value)
    if not text:
        return None
    text = _WS_RE.sub(" ", text)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _norm_sheet_name(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


class DamagedSheet(Exception):
    """A sheet's XML could not be read (damaged or missing part)."""

    def __init__(self, sheet: str, cause: BaseException) -> None:
        detail = str(cause).strip().splitlines()[0][:120] if str(cause).strip() else type(cause).__name__
        super().__init__(f"sheet '{sheet}' is damaged: {detail}")
        self.sheet = sheet


@dataclass
class Workbook:
    """An opened workbook: sheet names and lazily read sheets."""

    book: Any
    sheet_names: list[str]
    file_format: str
    _cache: dict[str, Sheet] = field(default_factory=dict)
    # Called with a sheet's name before it is first read (cmrt.sniff.Sniffed.verify_sheet: the zip
    # check of parts it deferred); raises to refuse the sheet.
    verify_sheet: Callable[[str], None] | None = None

    @classmethod
    def open(cls, data: bytes, file_format: str, verify_sheet: Callable[[str], None] | None = None) -> Workbook:
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return cls(book=book, sheet_names=list(book.sheet_names), file_format=file_format,
                   verify_sheet=verify_sheet)

    def find(self, template_name: str) -> str | None:
        """The actual name of a template sheet, tolerating case, spaces and dashes."""
        if template_name in self.sheet_names:
            return template_name
        want = _norm_sheet_name(template_name)
        for name in self.sheet_names:
            if _norm_sheet_name(name) == want:
                return name
        return None

    def sheet(self, actual_name: str) -> Sheet:
        if actual_name not in self._cache:
            if self.verify_sheet is not None:
                self.verify_sheet(actual_name)
            try:
                rows = self.book.get_sheet_by_name(actual_name).to_python(skip_empty_area=False)
            except Exception as exc:  # noqa: BLE001 - calamine's XmlError, ZipError, WorksheetNotFound...
                raise DamagedSheet(actual_name, exc) from exc
            self._cache[actual_name] = Sheet(actual_name, rows)
        return self._cache[actual_name]


_KIND_RE = re.compile(r"\((CMRT|EMRT|CRT|AMRT|PRT|RRT)\)", re.I)
# The version as written, letter suffix kept: "Revision 6.5", "Revision 2.03a", "Rev. 4.01b", "Version 1.00".
_REVISION_RE = re.compile(r"(?:revision|version|rev\.?|ver\.?)\s*[:#]?\s*(\d+(?:\.\d+)*[a-z]?)(?!\w|\.\d)", re.I)


def detect_template(wb: Workbook, declaration: Sheet | None) -> tuple[str, str | None, str | None, str | None]:
    """(kind, version, revision text, language) from Declaration D2/J3/D3 and the sheet names."""
    kind = "unknown"
    version = revision = language = None
    if declaration is not None:
        revision = to_text(declaration.raw("J3"))
        language = to_text(declaration.raw("D3"))
        m = _REVISION_RE.search(revision or "")
        if m:
            version = m.group(1)
        else:  # older templates kept the revision elsewhere near the top
            version, found = _find_revision(declaration, rows=10, cols=30)
            revision = found or revision
        for ref in ("D2", "B2", "C2", "B1", "D1"):
            m = _KIND_RE.search(to_text(declaration.raw(ref)) or "")
            if m:
                kind = m.group(1).upper()
                break
    names = {_norm_sheet_name(n) for n in wb.sheet_names}
    if version is None:  # the Smelter List's own revision cell (Q3), then the Revision sheet's first rows
        for sheet_name, rows, cols in (("Smelter List", 4, 20), ("Revision", 12, 8)):
            actual = wb.find(sheet_name)
            if actual is None:
                continue
            try:
                version, found = _find_revision(wb.sheet(actual), rows=rows, cols=cols)
            except Exception:  # noqa: BLE001 - a damaged sheet tells no version; the check goes on without it
                continue
            if version:
                revision = revision or found
                break
    if kind == "unknown":
        if "minelist" in names:
            kind = "EMRT"
        elif declaration is not None:
            kind = "CMRT"
    if version is None and kind == "CMRT":
        if "standardsmelternames" in names:
            version = "3.x"
        elif "smelterreferencelist" in names:
            version = "4.x"
    return kind, version, revision, language


def _find_revision(sheet: Sheet, *, rows: int, cols: int) -> tuple[str | None, str | None]:
    """(version, the text it was read from) from the first cell near the top that names a revision."""
    for r in range(1, rows + 1):
        for c in range(cols):
            text = to_text(sheet.at(r, c))
            if text and (m := _REVISION_RE.search(text)):
                return m.group(1), text
    return None, None


def read_declaration(decl: Sheet, tm: dict[str, Any] = CURRENT_MAP) -> tuple[
        Declaration, dict[str, dict[str, Answer]], dict[str, Answer]]:
    """(declaration fields, per-metal answers Q1..Q8, company answers A..H) at the cells of map tm."""
    fields: dict[str, Any] = {}
    for name, ref in tm["declaration"].items():
        if name == "effective_date":
            raw = decl.raw(ref)
            fields["effective_date"] = parse_date(raw)
            if not isinstance(raw, (date, datetime)):
                fields["effective_date_text"] = to_text(raw)
        elif name == "scope":
            fields[name] = _canonical_scope(decl.raw(ref))
        else:
            fields[name] = to_text(decl.raw(ref))
    allowed = ALLOWED_ANSWERS if tm is CURRENT_MAP else allowed_answers(tm)
    col, comment_col = tm["answer_column"], tm["comment_column"]
    questions: dict[str, dict[str, Answer]] = {}
    for q, spec in tm["questions"].items():
        first = spec["first_row"]
        questions[q] = {
            metal: Answer(answer=canonical_answer(q, decl.raw(f"{col}{first + i}"), allowed),
                          comment=to_text(decl.raw(f"{comment_col}{first + i}")))
            for i, metal in enumerate(METALS)
        }
    company = {
        letter: Answer(answer=canonical_answer(letter, decl.raw(f"{col}{spec['row']}"), allowed),
                       comment=to_text(decl.raw(f"{comment_col}{spec['row']}")))
        for letter, spec in tm["company_questions"].items()
    }
    assert tuple(company) == COMPANY_QUESTIONS
    return Declaration(**fields), questions, company


SCOPES = ("A. Company", "B. Product (or List of Products)", "C. User defined [Specify in 'Description of scope']")


def _canonical_scope(value: Any) -> str | None:
    text = to_text(value)
    if text is None:
        return None
    key = _WS_RE.sub(" ", text).casefold()
    for scope in SCOPES:
        if scope.casefold() == key:
            return scope
    return _WS_RE.sub(" ", text)


def scope_level(scope: str | None) -> str | None:
    if scope is None:
        return None
    key = scope.casefold().lstrip()
    if key.startswith("a.") or key.startswith("company"):
        return "company"
    if key.startswith("b.") or key.startswith("product"):
        return "product"
    if key.startswith("c.") or key.startswith("user"):
        return "user_defined"
    return None


def read_smelters(sheet: Sheet, limit: int = MAX_SMELTER_ROWS, tm: dict[str, Any] = CURRENT_MAP) -> list[SmelterRow]:
    """Every Smelter List row from the map's first row (5) that holds anything in columns A-Q, row
    number kept; at most limit + 1 of them (the caller refuses a list longer than limit)."""
    found: list[dict[str, Any]] = []
    width = len(SMELTER_COLUMNS)
    first_row = tm["smelter_list"]["first_row"]
    for r, raw in enumerate(sheet.rows[first_row - 1:], start=first_row):
        # The common case, one of ~2,500 empty template rows, tested at C speed ("" and None are
        # falsy; a row of 0 / False cells goes on to the exact test).
        if not any(raw[:17]) and all(v == "" or v is None for v in raw[:17]):
            continue
        # to_text with its common case (a str) inlined: this runs for every cell of every filled row
        texts: list[str | None] = [
            None if v == "" or v is None else (v.replace("\u00a0", " ").strip() or None) if type(v) is str
            else to_text(v)
            for v in raw[:width]
        ]
        texts += [None] * (width - len(texts))
        for i in _FORMULA_COLUMNS:
            # columns E, F, G and R are formulas in the template: a cached "0" means the look-up was empty
            if texts[i] == "0":
                texts[i] = None
        if not any(texts[:17]):
            continue
        # A row whose only content is formula output (cached "RMI" etc.) with no input is not a row.
        if not any(texts[:4]) and not any(texts[7:17]):
            continue
        row = dict(zip(SMELTER_FIELDS, texts))
        row["row"] = r
        found.append(row)
        if len(found) > limit:
            break
    return _SMELTER_ROWS.validate_python(found)  # one call for all rows: cheaper than one per row


_SMELTER_ROWS = TypeAdapter(list[SmelterRow])


def read_products(sheet: Sheet, limit: int = MAX_PRODUCT_ROWS, tm: dict[str, Any] = CURRENT_MAP) -> list[ProductRow]:
    """Product List rows from the map's first row (6), in its columns (6.6 adds the requester's number
    and name); at most limit + 1 of them (the caller refuses a longer list)."""
    spec = tm["product_list"]
    fields = [(name, col_index(col)) for col, name in spec["columns"].items()]
    lo, hi = min(c for _, c in fields), max(c for _, c in fields) + 1
    out: list[ProductRow] = []
    for r, raw in enumerate(sheet.rows[spec["first_row"] - 1:], start=spec["first_row"]):
        if not any(raw[lo:hi]) and all(v == "" or v is None for v in raw[lo:hi]):
            continue  # an empty template row, tested at C speed first
        values = {name: to_text(sheet.at(r, c)) for name, c in fields}
        if not any(values.values()):
            continue
        number = values.get("number")
        if number and (number.startswith("©") or "Responsible Minerals Initiative" in number) and r in (1001, 2006, spec["copyright_row"]):
            continue  # the template's copyright footer, not a product
        out.append(ProductRow(row=r, **values))
        if len(out) > limit:
            break
    return out


_LOOKUP_KEYS = ("metal", "lookup_name", "standard_name", "country", "cid", "source")


def read_lookup_rows(sheet: Sheet) -> list[dict[str, str | None]]:
    """Smelter Look-up rows (header row 4): metal, lookup_name, standard_name, country, cid, source
    (the columns derivation and matching use; the address columns are not read)."""
    out = []
    width = len(_LOOKUP_KEYS)
    for raw in sheet.rows[4:]:
        if len(raw) < width:
            raw = list(raw) + [None] * (width - len(raw))
        row = dict(zip(_LOOKUP_KEYS, map(to_text, raw[:width])))
        if row["metal"] and (row["lookup_name"] or row["cid"]):
            out.append(row)
    return out


@dataclass
class LookupIndex:
    """The template's own look-up formulas: Metal&Look-up name -> row; CID -> row."""

    by_alias: dict[tuple[str, str], dict[str, str | None]]
    by_cid: dict[str, dict[str, str | None]]

    @classmethod
    def build(cls, rows: list[dict[str, str | None]]) -> LookupIndex:
        by_alias: dict[tuple[str, str], dict[str, str | None]] = {}
        by_cid: dict[str, dict[str, str | None]] = {}
        for row in rows:
            if row["lookup_name"]:
                by_alias.setdefault((row["metal"].casefold(), row["lookup_name"].casefold()), row)  # type: ignore[union-attr]
            if row["cid"]:
                by_cid.setdefault(row["cid"].upper(), row)
        return cls(by_alias, by_cid)


@dataclass(frozen=True)
class FileLookup:
    """A workbook's Smelter Look-up sheet, read: its rows, the template's look-up index, and a key
    equal for every file whose sheet holds the same values (the same template version)."""

    fingerprint: str
    rows: list[dict[str, str | None]]
    index: LookupIndex


_FILE_LOOKUPS: OrderedDict[str, FileLookup] = OrderedDict()
_FILE_LOOKUPS_CACHED = 32  # template versions seen lately, by values and by XML
_FILE_LOOKUPS_LOCK = threading.Lock()  # checks may run in threads (activities)


def read_lookup(load: Callable[[], Sheet], content_key: str | None = None) -> FileLookup:
    """The Smelter Look-up sheet read once per template version: files of the same version share the
    parsed rows and index (callers must not change them).

    load: reads the sheet. content_key: a digest of the sheet's XML and what decides its values
    (cmrt.sniff.Sniffed.content_key), when the caller has one: a sheet seen before is not even parsed.
    """
    xml_key = f"xml:{content_key}" if content_key else None
    if xml_key is not None and (hit := _cached_lookup(xml_key)) is not None:
        return hit
    sheet = load()
    data = sheet.rows[4:]
    try:
        # Python's tuple hash runs in C over calamine's values (str, float, datetime...): far cheaper
        # than parsing the rows, and with the row count as good a key as a digest for a small cache.
        fingerprint = f"{len(data)}:{hash(tuple(map(tuple, data))):x}"
    except TypeError:  # an unhashable cell value: read without the cache
        rows = read_lookup_rows(sheet)
        return FileLookup("", rows, LookupIndex.build(rows))
    lookup = _cached_lookup(fingerprint)
    if lookup is None:
        rows = read_lookup_rows(sheet)
        lookup = FileLookup(fingerprint, rows, LookupIndex.build(rows))
    with _FILE_LOOKUPS_LOCK:
        for key in (fingerprint, xml_key):
            if key is not None:
                _FILE_LOOKUPS[key] = lookup
        while len(_FILE_LOOKUPS) > _FILE_LOOKUPS_CACHED:
            _FILE_LOOKUPS.popitem(last=False)
    return lookup


def _cached_lookup(key: str) -> FileLookup | None:
    with _FILE_LOOKUPS_LOCK:
        hit = _FILE_LOOKUPS.get(key)
        if hit is not None:
            _FILE_LOOKUPS.move_to_end(key)
        return hit


def needs_derivation(rows: list[SmelterRow]) -> bool:
    """True when formula columns hold no cached values (a tool other than Excel wrote the file): a listed
    smelter without its CID (F), a CID typed in A without the metal and name (B, C) it fills, or a
    'Smelter not listed' row with a name but no country (E, which the template fills when the name is
    one of its look-up names). Excel caches an error (#N/A) where a look-up fails, which reads as blank
    too: deriving then finds nothing, as Excel did."""
    return any(
        (s.metal and s.lookup_name and s.lookup_name.casefold() not in (NOT_LISTED, NOT_IDENTIFIED) and not s.cid)
        or (s.cid_input and not (s.metal and s.lookup_name))
        or (s.metal and s.lookup_name and s.lookup_name.casefold() == NOT_LISTED and s.name and not s.country)
        for s in rows
    )


def derive_from_lookup(rows: list[SmelterRow], index: LookupIndex) -> None:
    """Fill metal / look-up name (from column A) and CID / standard name / country / source as the
    template's formulas would have, for rows where the file holds no cached value.

    Column A: B5 =INDEX('Smelter Look-up'!A, MATCH(A5, 'Smelter Look-up'!E, 0)) (the metal) and C5 the
    same on column C (the standard smelter name), so a CID typed in A fills B and C when B or C is blank."""
    for s in rows:
        if s.cid_input and not (s.metal and s.lookup_name):
            hit = index.by_cid.get(s.cid_input.strip().upper())
            if hit:
                _set(s, metal=s.metal or hit["metal"],
                     lookup_name=s.lookup_name or hit["standard_name"] or hit["lookup_name"], derived=True)
        if not (s.metal and s.lookup_name) or s.cid:
            continue
        key_name = s.name if s.lookup_name.casefold() in (NOT_LISTED, NOT_IDENTIFIED) else s.lookup_name
        hit = index.by_alias.get((s.metal.casefold(), (key_name or "").casefold())) if key_name else None
        if hit:
            _set(s, cid=hit["cid"], standard_name=s.standard_name or hit["standard_name"],
                 country=s.country or hit["country"], id_source=s.id_source or hit["source"], derived=True)


FormulaValues = dict[int, tuple[str | None, str | None, str | None]]


def formula_values(rows: list[SmelterRow]) -> FormulaValues:
    """Row number -> (metal B, look-up name C, country E) of the rows derivation filled: what the
    template's formulas show in those cells once Excel recalculates. The Checker reads it where the file
    holds no cached value (cmrt.rules.checker)."""
    return {s.row: (s.metal, s.lookup_name, s.country) for s in rows if s.derived}


def _set(row: SmelterRow, **fields: Any) -> None:
    """Set already-typed fields in one go: pydantic's per-attribute __setattr__ is measurable over
    thousands of rows, and these values need no validation."""
    row.__dict__.update(fields)

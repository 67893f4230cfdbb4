"""The smelter reference list and matching a declared smelter against it.

Pure library: no database, no network. A :class:`ReferenceList` holds smelters keyed by CID (metal,
standard name, country, RMAP status, removed / renamed-to) and an alias table (metal + look-up name ->
CID). It is built from

- a reference CSV like the shipped default (``metal, standard_smelter_name, country, smelter_id,
  rmap_status``) -> :meth:`ReferenceList.from_csv`,
- a CMRT's ``Smelter Look-up`` sheet (aliases, no statuses) -> :meth:`ReferenceList.from_lookup_rows`
  / :meth:`ReferenceList.from_cmrt_workbook`,
- an RMI facility-list export (CSV or XLSX, headers recognised by name) ->
  :meth:`ReferenceList.from_rmi_facility_export`,

and lists combine with :meth:`ReferenceList.merged` (the later list adds aliases and updates statuses,
never loses what the earlier one knew).

Matching (:meth:`ReferenceList.match`), first hit wins:

1. **CID** (``CID`` + 6 digits, or a legacy ID like ``1JPN072``; case and blanks are forgiven).
   A CID that is malformed, unknown, or belongs to another metal is reported in ``problems`` and
   matching goes on by name. A CID that was renamed resolves to its successor.
2. **alias**: Metal + Look-up name (case and blanks forgiven) against the alias table, which holds
   every standard name and every look-up name ever imported.
3. **name**: the look-up name or typed name, normalised (case, accents, punctuation, ``&``, legal
   suffixes such as Co., Ltd., Inc., S.A., GmbH, Corporation, PT) against the normalised names.
4. **fuzzy**: rapidfuzz similarity (plain and word-order-insensitive, never substring) of the names
   within the metal, with and without legal forms. Accepted when the score is at least
   :data:`FUZZY_ACCEPT`, the names differ only by typos (every word has a close counterpart, numbers
   and legal forms agree: ``Sam Precious Metals`` is not ``Samduck Precious Metals``, ``TANIOBIS
   GmbH`` is not ``TANIOBIS Co., Ltd.``, ``Unit 1`` is not ``Unit 2``) and no other such smelter
   comes within :data:`FUZZY_MARGIN`. Otherwise, from :data:`FUZZY_REVIEW` up, the row is
   ``needs_review`` with ``cid=None`` (a wrong CID is worse than none) and the candidate's standard
   name as a suggestion.

A country that contradicts the candidate's country blocks acceptance at the name and fuzzy steps
(it goes to review), and a matching country breaks ties between smelters of the same name.
``Smelter not listed`` / ``Smelter not yet identified`` add the ``not_listed`` problem; a typed name
on such a row is still matched.

Risk (see :mod:`cmrt.risk`, the five factors of the seed): a list carries a :class:`~cmrt.risk.RiskRegister`
(watch-list hits, peer recognitions and overrides by CID, :meth:`ReferenceList.with_risk_register`), and
:meth:`ReferenceList.risk_of` grades a CID with it and with what the supplier declared; a match's
``risk`` is that grade without the supplier's declaration; unmatched -> unknown.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
import unicodedata
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterable, Literal

from pydantic import BaseModel
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from cmrt.risk import (
    COVERED_COUNTRIES,
    EMPTY_REGISTER,
    RiskAssessment,
    RiskRegister,
    assess_smelter,
    cache_text,
    canonical_status,
    country_key,
)

__all__ = [
    "COVERED_COUNTRIES",
    "FUZZY_ACCEPT",
    "FUZZY_REVIEW",
    "ReferenceFormatError",
    "ReferenceList",
    "ReferenceSmelter",
    "ReferenceAlias",
    "SmelterMatch",
    "default_reference",
    "detect_reference_kind",
    "lookup_rows_from_sheet",
    "lookup_rows_from_workbook",
    "alias_key",
    "normalise_cid",
    "normalise_metal",
    "normalise_name",
]

MatchKind = Literal["cid", "alias", "name", "fuzzy", "unmatched"]
Risk = Literal["low", "medium", "high", "unknown"]
ReferenceKind = Literal["csv", "cmrt_lookup", "rmi_export"]

# Scores are rapidfuzz 0..100 on normalised names. Chosen on the Juniper list with generated
# variants (tests/test_smelters_matching.py): at 90 no accepted match had a wrong CID.
FUZZY_ACCEPT = 90.0
FUZZY_REVIEW = 75.0
# The best smelter must lead the next different smelter by this much to be accepted.
FUZZY_MARGIN = 4.0

NOT_LISTED = ("smelter not listed", "smelter not yet identified")
METALS = ("Gold", "Tantalum", "Tin", "Tungsten")
_METAL_SYNONYMS = {"au": "Gold", "ta": "Tantalum", "sn": "Tin", "w": "Tungsten", "wolfram": "Tungsten"}

CID_RE = re.compile(r"CID\d{6}")
# Pre-2014 IDs: a metal digit, an ISO3 country code, a number (e.g. 1JPN072).
LEGACY_CID_RE = re.compile(r"\d[A-Z]{3}\d{2,4}")


class ReferenceFormatError(ValueError):
    """A reference file could not be read; the message says why, in one line."""


class SmelterMatch(BaseModel):
    """How one declared smelter row matched the reference list."""

    cid: str | None
    standard_name: str | None
    country: str | None
    metal: str | None
    match: MatchKind
    score: float  # 0..100
    rmap_status: str | None
    risk: Risk
    # subset of: cid_malformed, cid_unknown, cid_other_metal, needs_review, not_listed
    problems: list[str]
    # The CID as declared (normalised), and the metal it belongs to when that is another metal.
    declared_cid: str | None = None
    declared_cid_metal: str | None = None
    # In the review band: the smelter suggested to a person (never the row's CID until someone confirms it).
    candidate_cid: str | None = None


class ReferenceSmelter(BaseModel):
    """One smelter or refiner of the reference list."""

    cid: str
    metal: str
    standard_name: str
    country: str | None = None
    rmap_status: str | None = None
    removed: bool = False
    successor_cid: str | None = None  # set when the CID was renamed/merged into another


class ReferenceAlias(BaseModel):
    metal: str
    lookup_name: str
    cid: str


# --------------------------------------------------------------------------------------------
# Normalisation


def _clean(text: object) -> str:
    """Trim and collapse whitespace (stray tabs, non-breaking spaces, line breaks)."""
    if text is None:
        return ""
    return " ".join(str(text).replace("\u00a0", " ").split())


@cache_text
def normalise_metal(metal: object) -> str | None:
    text = _clean(metal)
    if not text:
        return None
    low = text.casefold()
    if low in _METAL_SYNONYMS:
        return _METAL_SYNONYMS[low]
    for m in METALS:
        if low == m.casefold():
            return m
    return text.title()


@cache_text
def normalise_cid(cid: object) -> tuple[str | None, bool]:
    """Return (CID, well_formed). Case and blanks are forgiven; anything else is malformed.

    Excel may hand over a cached ``0`` for an empty formula: that counts as no CID.
    """
    text = "".join(_clean(cid).split()).upper()
    if text in ("", "0", "N/A", "NA", "-"):
        return None, True
    if CID_RE.fullmatch(text) or LEGACY_CID_RE.fullmatch(text):
        return text, True
    return text, False


@cache_text
def alias_key(name: object) -> str:
    """How the alias table compares look-up names: case-folded, blanks collapsed."""
    return _clean(name).casefold()


# Legal forms and filler words dropped from names before comparing: suppliers add, drop and
# abbreviate them at will. Legal forms map to one spelling each, because they do tell apart
# companies that share a name (``TANIOBIS GmbH`` and ``TANIOBIS Co., Ltd.`` are two smelters).
_LEGAL_FORMS: dict[str, str] = {
    **dict.fromkeys(("co", "company", "companies"), "co"),
    **dict.fromkeys(("corp", "corporation"), "corp"),
    **dict.fromkeys(("inc", "incorporated"), "inc"),
    **dict.fromkeys(("ltd", "limited"), "ltd"),
    **dict.fromkeys(("gmbh", "mbh"), "gmbh"),
    **dict.fromkeys(("kk", "kabushiki", "kaisha"), "kk"),
    **dict.fromkeys(("sdn", "bhd"), "sdn bhd"),
    **{t: t for t in """
        llc lp plc pvt pte pty sa sas sarl srl spa sl slu bv nv ag kg kgaa ab as asa oy oyj aps ltda
        eireli me jsc ojsc pjsc cjsc oao zao ooo tbk pt cv dmcc fze fzc fzco fzllc
        """.split()},
}
_FILLER_WORDS = frozenset(("the", "of", "and"))
_LEGAL_TOKENS = frozenset(_LEGAL_FORMS) | _FILLER_WORDS
_PUNCT_RE = re.compile(r"[^\w]+", re.UNICODE)


@lru_cache(maxsize=65536)
def _name_tokens(name: object) -> tuple[str, ...]:
    """Words of a name without accents, case or punctuation.

    Dots inside abbreviations are joined first (``S.A.`` -> ``sa``, ``H.C.`` -> ``hc``) so that
    ``S.A.`` and ``SA`` agree; ``&`` reads as ``and``.
    """
    text = _clean(name)
    if not text:
        return ()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("&", " and ").replace(".", "").replace("'", "").replace("\u2019", "")
    return tuple(t for t in _PUNCT_RE.split(text) if t and t != "_")


def normalise_name(name: object) -> str:
    """Name key: no accents, case, punctuation, legal forms (Co., Ltd., GmbH, PT, ...) or filler words.

    Keeps every word if dropping them would leave nothing (a smelter called ``Company`` stays so).
    """
    tokens = _name_tokens(name)
    kept = [t for t in tokens if t not in _LEGAL_TOKENS]
    return " ".join(kept or tokens)


def _full_name(name: object) -> str:
    """Like normalise_name but keeping legal forms: ``H.C. Starck Inc.`` vs ``H.C. Starck Ltd.``."""
    return " ".join(_name_tokens(name))


# --------------------------------------------------------------------------------------------
# Header recognition for tabular reference files

_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "cid": ("smelter id", "facility id", "smelter_id", "facility_id", "cid", "smelter identification",
            "smelter identification number", "rmi id", "id"),
    "standard_name": ("standard smelter name", "standard_smelter_name", "facility name", "smelter name",
                      "standard facility name", "standard name", "name", "smelter/refiner name",
                      "smelter or refiner name"),
    "metal": ("metal", "mineral", "metals", "metal type", "commodity"),
    "country": ("country", "country location", "smelter country", "facility country", "country/region",
                "country location of facility", "location", "smelter facility location: country",
                "country or region"),
    "rmap_status": ("rmap status", "rmap_status", "assessment status", "status", "conformance status",
                    "rmap conformance status", "audit status", "rmi status"),
    "alias": ("alias", "aliases", "other names", "other name", "also known as", "known as",
              "smelter look-up", "lookup name", "look-up name"),
}
_REQUIRED_COLUMNS = ("cid", "standard_name", "metal")


def _header_key(value: object) -> str:
    """Case-insensitive, with ``_``, ``-`` and spaces alike: ``standard_name`` = ``Standard Name``."""
    text = _clean(value).casefold()
    for mark in "*()_-":
        text = text.replace(mark, " ")
    return " ".join(text.split())


# The synonyms under the same key as the headers they are compared with.
_HEADER_KEYS: dict[str, frozenset[str]] = {
    field_name: frozenset(_header_key(name) for name in names) for field_name, names in _HEADER_SYNONYMS.items()
}


def _map_headers(header: Iterable[object]) -> dict[str, int]:
    found: dict[str, int] = {}
    for idx, cell in enumerate(header):
        key = _header_key(cell)
        if not key:
            continue
        for field_name, names in _HEADER_KEYS.items():
            if field_name not in found and key in names:
                found[field_name] = idx
                break
    return found


def _find_header(rows: list[list[object]], limit: int = 25) -> tuple[int, dict[str, int]]:
    """Find the header row (RMI exports may carry a title and a date above it)."""
    best: tuple[int, dict[str, int]] = (-1, {})
    for i, row in enumerate(rows[:limit]):
        mapping = _map_headers(row)
        if all(k in mapping for k in _REQUIRED_COLUMNS):
            return i, mapping
        if len(mapping) > len(best[1]):
            best = (i, mapping)
    missing = [k for k in _REQUIRED_COLUMNS if k not in best[1]]
    names = {"cid": "Smelter ID", "standard_name": "Standard Smelter Name", "metal": "Metal"}
    raise ReferenceFormatError(
        "not a smelter reference list: missing column(s) " + ", ".join(names[m] for m in missing)
    )


def _split_aliases(value: object) -> list[str]:
    text = "" if value is None else str(value)
    parts = re.split(r"[;|\n\r]+", text)
    return [_clean(p) for p in parts if _clean(p)]


# --------------------------------------------------------------------------------------------
# Reading bytes


def _read_bytes(path_or_bytes: str | Path | bytes | bytearray) -> bytes:
    if isinstance(path_or_bytes, (bytes, bytearray)):
        return bytes(path_or_bytes)
    return Path(path_or_bytes).read_bytes()


def _is_existing_path(text: str) -> bool:
    """A str that names a file (rather than holding CSV text)."""
    if "\n" in text or "," in text and not Path(text).suffix:
        return False
    try:
        return Path(text).is_file()
    except OSError:  # e.g. a long line of CSV text: "file name too long"
        return False


def _is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def _decode_text(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _csv_rows(text: str) -> list[list[str]]:
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)]


def _sized(data: bytes) -> bytes:
    """The workbook's bytes once cmrt.sniff has sized every sheet it will read (a reader handed one
    cell at XFD1048576 aborts the process); the refusal as a ReferenceFormatError."""
    from cmrt.sniff import Unreadable, sniff_every_sheet

    try:
        return sniff_every_sheet(data).data
    except Unreadable as exc:
        raise ReferenceFormatError(f"cannot read the workbook: {exc.finding.message}") from None


def _xlsx_sheets(data: bytes) -> dict[str, list[list[object]]]:
    """All sheets of a workbook as rows of values (python-calamine: several times faster than openpyxl)."""
    from python_calamine import CalamineWorkbook

    data = _sized(data)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for broken zips/xml
        raise ReferenceFormatError(f"cannot read the workbook: {exc}") from None
    return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}


def _sheet_rows(data: bytes, sheet: str) -> list[list[object]]:
    from python_calamine import CalamineWorkbook

    data = _sized(data)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except Exception as exc:
        raise ReferenceFormatError(f"cannot read sheet {sheet!r}: {exc}") from None


_LOOKUP_SHEETS = ("smelter look-up", "smelter lookup", "smelter reference list", "standard smelter names")


def _workbook_sheet_names(data: bytes) -> list[str]:
    from python_calamine import CalamineWorkbook

    try:
        return list(CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names)
    except Exception as exc:
        raise ReferenceFormatError(f"cannot read the workbook: {exc}") from None


def _lookup_sheet_name(names: list[str]) -> str | None:
    for name in names:
        if name.strip().casefold() in _LOOKUP_SHEETS:
            return name
    return None


def detect_reference_kind(path_or_bytes: str | Path | bytes, filename: str | None = None) -> ReferenceKind:
    """Tell what kind of reference file this is, from its content alone (extensions lie; ``filename``
    is accepted for callers that have one and does not change the answer).

    ``cmrt_lookup``: a workbook with a Smelter Look-up sheet; ``rmi_export``: a workbook, or a CSV
    with RMI-style headers; ``csv``: the snake_case reference CSV. Raises ReferenceFormatError with
    a one-line reason (empty, .xls, not a spreadsheet, damaged, which columns are missing).
    """
    data = _read_bytes(path_or_bytes)
    if not data.strip():
        raise ReferenceFormatError("the file is empty")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ReferenceFormatError(
            "an old .xls or encrypted workbook: save it as an unprotected .xlsx or .csv first"
        )
    if _is_zip(data):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if "xl/workbook.xml" not in zf.namelist():
                    raise ReferenceFormatError("a zip file that is not an .xlsx workbook")
        except zipfile.BadZipFile:
            raise ReferenceFormatError("a damaged .xlsx file (not a readable zip)") from None
        names = _workbook_sheet_names(data)
        if _lookup_sheet_name(names):
            return "cmrt_lookup"
        sheets = _xlsx_sheets(data)
        for rows in sheets.values():
            try:
                _find_header(rows)
                return "rmi_export"
            except ReferenceFormatError:
                continue
        raise ReferenceFormatError(
            "a workbook with neither a Smelter Look-up sheet nor a sheet with Smelter ID, "
            "Standard Smelter Name and Metal columns"
        )
    if b"\x00" in data[:4096]:
        raise ReferenceFormatError("not a CSV or XLSX file (binary content)")
    rows = _csv_rows(_decode_text(data))
    if not rows:
        raise ReferenceFormatError("the file is empty")
    start, _ = _find_header(rows)  # raises naming the missing columns
    if {"smelter_id", "standard_smelter_name"} <= {_clean(c).casefold() for c in rows[start]}:
        return "csv"
    return "rmi_export"


# --------------------------------------------------------------------------------------------
# The list

# ReferenceList.with_lookup_rows keeps the merged lists of this many look-up sheets (template
# versions) per list; checks may run in threads (activities), hence the lock.
_WITH_LOOKUP_CACHED = 8
_WITH_LOOKUP_LOCK = threading.Lock()
_LOOKUP_FIELDS = ("metal", "lookup_name", "standard_name", "country", "cid")


def _lookup_fingerprint(rows: list[dict]) -> str:
    """What from_lookup_rows reads of the rows, hashed: equal for two files of one template version."""
    text = "\x1e".join("\x1f".join(str(row.get(k) or "") for k in _LOOKUP_FIELDS) for row in rows)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class ReferenceList:
    """Smelters keyed by CID plus an alias table; immutable once built (merging makes a new one)."""

    def __init__(
        self,
        smelters: Iterable[ReferenceSmelter] = (),
        aliases: Iterable[ReferenceAlias] = (),
        *,
        complete: bool = False,
        published: date | None = None,
    ) -> None:
        # complete: the list is a whole published list (a template's Look-up sheet), so a CID
        # missing from it has been removed; partial lists (a company's CSV) say nothing about that.
        self.complete = complete
        self.published = published
        self.risk_register: RiskRegister = EMPTY_REGISTER
        self._smelters: dict[str, ReferenceSmelter] = {}
        for s in smelters:
            self._smelters[s.cid] = s
        self._aliases: dict[tuple[str, str], ReferenceAlias] = {}
        for a in aliases:
            self._add_alias(a)

    def _add_alias(self, alias: ReferenceAlias) -> None:
        key = (alias.metal, alias_key(alias.lookup_name))
        if key[1]:
            self._aliases[key] = alias

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_lookup_rows(
        cls, rows: list[dict], *, complete: bool = False, published: date | None = None
    ) -> "ReferenceList":
        """Rows of a CMRT's Smelter Look-up sheet: keys metal, lookup_name, standard_name, country, cid.

        Rows without a well-formed CID (``Smelter not listed``, ``Smelter not yet identified``,
        blanks) are skipped. The look-up sheet carries no RMAP status.
        """
        smelters: dict[str, ReferenceSmelter] = {}
        aliases: list[ReferenceAlias] = []
        for row in rows:
            cid, ok = normalise_cid(row.get("cid"))
            metal = normalise_metal(row.get("metal"))
            if not cid or not ok or not metal:
                continue
            standard = _clean(row.get("standard_name")) or _clean(row.get("lookup_name"))
            if not standard:
                continue
            if cid not in smelters:
                country = _clean(row.get("country")) or None
                smelters[cid] = ReferenceSmelter(cid=cid, metal=metal, standard_name=standard, country=country)
            lookup = _clean(row.get("lookup_name"))
            if lookup:
                aliases.append(ReferenceAlias(metal=metal, lookup_name=lookup, cid=cid))
        return cls(smelters.values(), aliases, complete=complete, published=published)

    @classmethod
    def from_cmrt_workbook(cls, path_or_bytes: str | Path | bytes, *, complete: bool = True) -> "ReferenceList":
        """The Smelter Look-up sheet of a CMRT workbook (any 6.x; header row 4, data from row 5).

        The template's publication date (``Declaration!J3``, e.g. ``Revision 6.5\\nApril 25, 2025``)
        becomes ``published``, so that an older template imported later does not mark newer CIDs
        removed.
        """
        data = _read_bytes(path_or_bytes)
        rows = lookup_rows_from_workbook(data)
        published = None
        if "Declaration" in _workbook_sheet_names(data):
            decl = _sheet_rows(data, "Declaration")
            if len(decl) >= 3 and len(decl[2]) >= 10:
                published = template_date(decl[2][9])
        return cls.from_lookup_rows(rows, complete=complete, published=published)

    @classmethod
    def from_csv(cls, path_or_text: str | Path | bytes) -> "ReferenceList":
        """The reference CSV (``metal, standard_smelter_name, country, smelter_id, rmap_status``).

        Accepts a path, the CSV text, or bytes. Lines starting with ``#`` are comments.
        """
        if isinstance(path_or_text, (bytes, bytearray)):
            text = _decode_text(bytes(path_or_text))
        elif isinstance(path_or_text, Path) or _is_existing_path(path_or_text):
            text = _decode_text(Path(path_or_text).read_bytes())
        else:
            text = path_or_text
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        return cls._from_table(_csv_rows(text))

    @classmethod
    def from_rmi_facility_export(cls, path_or_bytes: str | Path | bytes) -> "ReferenceList":
        """An RMI facility-list export, CSV or XLSX; columns found by header name (see module doc)."""
        data = _read_bytes(path_or_bytes)
        if _is_zip(data):
            errors: list[str] = []
            for rows in _xlsx_sheets(data).values():
                try:
                    return cls._from_table(rows)
                except ReferenceFormatError as exc:
                    errors.append(str(exc))
            raise ReferenceFormatError(errors[0] if errors else "the workbook has no sheets")
        return cls._from_table(_csv_rows(_decode_text(data)))

    @classmethod
    def _from_table(cls, rows: list[list[object]]) -> "ReferenceList":
        start, cols = _find_header(rows)

        def get(row: list[object], name: str) -> object:
            idx = cols.get(name)
            return row[idx] if idx is not None and idx < len(row) else None

        smelters: dict[str, ReferenceSmelter] = {}
        aliases: list[ReferenceAlias] = []
        for row in rows[start + 1:]:
            cid, ok = normalise_cid(get(row, "cid"))
            metal = normalise_metal(get(row, "metal"))
            name = _clean(get(row, "standard_name"))
            if not cid or not ok or not metal or not name:
                continue
            status = canonical_status(get(row, "rmap_status"))
            country = _clean(get(row, "country")) or None
            smelters[cid] = ReferenceSmelter(
                cid=cid, metal=metal, standard_name=name, country=country, rmap_status=status
            )
            for alias in _split_aliases(get(row, "alias")):
                aliases.append(ReferenceAlias(metal=metal, lookup_name=alias, cid=cid))
        if not smelters:
            raise ReferenceFormatError("no smelter rows with a Smelter ID, a name and a metal")
        return cls(smelters.values(), aliases)

    # -- combining ---------------------------------------------------------------------------

    def merged(self, other: "ReferenceList", *, mark_removed: bool | None = None) -> "ReferenceList":
        """This list updated by one imported after it. Nothing is ever dropped: old CIDs still match.

        - New smelters are added; aliases accumulate (on a clash, the newer list's CID wins: names
          move with mergers).
        - A list dated the same or later (a CMRT template's revision date) also renames: known
          smelters take its name, country and status where it has them, and the old standard name
          stays as an alias. An undated list (a company's CSV) updates statuses only, and its names
          become aliases. An older list (a 6.01 template imported after 6.5) only fills gaps.
        - When ``other`` is a complete list not older than this one (or ``mark_removed`` is True),
          CIDs of its metals missing from it are marked removed, with a successor when one of their
          names now belongs to another CID of the same metal; a CID it lists is no longer removed.
          CIDs that only an older complete list has are added as removed.
        """
        older = bool(other.published and self.published and other.published < self.published)
        renames = bool(other.published) and not older
        smelters = dict(self._smelters)
        aliases = dict(self._aliases)

        def add_alias(metal: str, name: str, cid: str) -> None:
            aliases.setdefault((metal, alias_key(name)), ReferenceAlias(metal=metal, lookup_name=name, cid=cid))

        for cid, new in other._smelters.items():
            old = smelters.get(cid)
            if old is None:
                gone = older and self.complete and other.complete
                smelters[cid] = new.model_copy(update={"removed": True}) if gone else new
                continue
            update: dict = {
                "country": old.country or new.country,
                "rmap_status": (old.rmap_status or new.rmap_status) if older else (new.rmap_status or old.rmap_status),
            }
            if renames:
                update.update(standard_name=new.standard_name, country=new.country or old.country)
                if other.complete:
                    update.update(removed=False, successor_cid=None)
            # a copy only where something changes: re-merging a list it already holds is then cheap
            changed = any(getattr(old, k) != v for k, v in update.items())
            updated = old.model_copy(update=update) if changed else old
            if updated.standard_name != old.standard_name:
                add_alias(old.metal, old.standard_name, cid)
            if new.standard_name != updated.standard_name:
                add_alias(new.metal, new.standard_name, cid)
            smelters[cid] = updated
        for key, alias in other._aliases.items():
            if older:
                aliases.setdefault(key, alias)
            else:
                aliases[key] = alias

        if mark_removed is None:
            mark_removed = bool(other.complete and other.published and not older)
        result = ReferenceList(complete=self.complete or other.complete)
        result.risk_register = self.risk_register  # compliance's lists belong to the list in use
        result._smelters = smelters
        result._aliases = aliases
        dates = [d for d in (self.published, other.published) if d]
        result.published = max(dates) if dates else None
        if mark_removed:
            # Only within the metals the later list covers: an EMRT's look-up (cobalt, mica) says
            # nothing about gold.
            covered = {s.metal for s in other._smelters.values()}
            for cid, s in list(smelters.items()):
                if cid in other._smelters or s.removed or s.metal not in covered:
                    continue
                successor = other._successor_for(s, self)
                smelters[cid] = s.model_copy(update={"removed": True, "successor_cid": successor})
        return result

    def with_lookup_rows(self, rows: list[dict], *, fingerprint: str | None = None) -> "ReferenceList":
        """This list with a workbook's own Smelter Look-up rows merged in (:meth:`merged` with
        :meth:`from_lookup_rows`), for checking that workbook: the aliases of the supplier's own
        template version count, and CIDs this list lacks become known (without an RMAP status).

        Cached per look-up content (``fingerprint``, when the caller has one for these rows: see
        ``cmrt.reader.read_lookup``), so every file from the same template version reuses one merged
        list and its matching indexes. Returns ``self`` when the rows hold no smelter.
        """
        key = fingerprint or _lookup_fingerprint(rows)
        with _WITH_LOOKUP_LOCK:
            cache = self.__dict__.setdefault("_with_lookup", OrderedDict())
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
                return hit
        file_list = ReferenceList.from_lookup_rows(rows)
        combined = self.merged(file_list) if len(file_list) else self
        if combined is not self and self._matches_alike(combined):
            combined = self  # the list already knew it all (an imported template): keep its warm indexes
        with _WITH_LOOKUP_LOCK:
            cache[key] = combined
            while len(cache) > _WITH_LOOKUP_CACHED:
                cache.popitem(last=False)
        return combined

    def _matches_alike(self, other: "ReferenceList") -> bool:
        """``other`` (this list merged with another) holds the same smelters and alias CIDs."""
        mine, theirs = self._smelters, other._smelters
        if len(mine) != len(theirs) or len(self._aliases) != len(other._aliases):
            return False
        if any(mine.get(cid) is not s for cid, s in theirs.items()):
            return False
        return all((a := self._aliases.get(key)) is not None and a.cid == alias.cid
                   for key, alias in other._aliases.items())

    def _successor_for(self, gone: ReferenceSmelter, before: "ReferenceList") -> str | None:
        """A CID in this list that now carries one of the removed smelter's names (same metal)."""
        names = {normalise_name(gone.standard_name)}
        names.update(normalise_name(a.lookup_name) for a in before._aliases.values() if a.cid == gone.cid)
        names.discard("")
        hits: set[str] = set()
        for s in self._smelters.values():
            if s.metal == gone.metal and normalise_name(s.standard_name) in names:
                hits.add(s.cid)
        for a in self._aliases.values():
            if a.metal == gone.metal and normalise_name(a.lookup_name) in names:
                hits.add(a.cid)
        hits.discard(gone.cid)
        return hits.pop() if len(hits) == 1 else None

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._smelters)

    def __contains__(self, cid: object) -> bool:
        return cid in self._smelters

    def get(self, cid: str) -> ReferenceSmelter | None:
        return self._smelters.get(cid)

    def smelters(self, *, include_removed: bool = False) -> list[ReferenceSmelter]:
        """Smelters for reports (cid, metal, standard_name, country, rmap_status), sorted by metal, name."""
        items = [s for s in self._smelters.values() if include_removed or not s.removed]
        return sorted(items, key=lambda s: (s.metal, s.standard_name.casefold(), s.cid))

    def fingerprint(self) -> str:
        """SHA-256 of the content (smelters, aliases, date): equal for the same list saved twice."""
        payload = json.dumps(
            {
                "smelters": [s.model_dump() for s in self.smelters(include_removed=True)],
                "aliases": [[a.metal, alias_key(a.lookup_name), a.cid] for a in self.aliases()],
                "published": self.published.isoformat() if self.published else None,
                "complete": self.complete,
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    # -- risk --------------------------------------------------------------------------------

    def with_risk_register(self, register: RiskRegister) -> "ReferenceList":
        """This list with compliance's watch-list hits, peer recognitions and overrides (a shallow copy:
        smelters and aliases are shared)."""
        copy = ReferenceList(complete=self.complete, published=self.published)
        copy._smelters, copy._aliases = self._smelters, self._aliases
        copy.risk_register = register
        return copy

    def risk_of(self, cid: str | None, *, declared_countries=(), source_countries=()) -> RiskAssessment:
        """The risk of a smelter of this list and why (:func:`cmrt.risk.assess_smelter`), with what a
        supplier declared for it when given; ``unknown`` for a CID the list does not have."""
        if not cid or cid not in self._smelters:
            return RiskAssessment(level="unknown")
        key = (cid, tuple(declared_countries), tuple(source_countries))
        cache = self.__dict__.setdefault("_risk_cache", {})  # the list is immutable: a grade never changes
        hit = cache.get(key)
        if hit is None:
            if len(cache) > 65536:
                cache.clear()
            hit = cache[key] = self._assess(cid, key[1], key[2])
        return hit

    def _assess(self, cid: str, declared_countries: tuple, source_countries: tuple) -> RiskAssessment:
        smelter = self._resolve(cid)
        facts = self.risk_register.facts(smelter.cid)
        if facts.override is None and smelter.cid != cid:
            facts = self.risk_register.facts(cid)  # an override set on the old CID still holds
        return assess_smelter(rmap_status=smelter.rmap_status, country=smelter.country,
                              declared_countries=declared_countries, source_countries=source_countries,
                              watch=facts.watch, peers=facts.peers, override=facts.override)

    def aliases(self) -> list[ReferenceAlias]:
        return sorted(self._aliases.values(), key=lambda a: (a.metal, a.lookup_name.casefold(), a.cid))

    # -- matching ----------------------------------------------------------------------------

    @cached_property
    def _metals(self) -> list[str]:
        return sorted({s.metal for s in self._smelters.values()})

    @cached_property
    def _standard_names(self) -> dict[tuple[str, str], list[str]]:
        index: dict[tuple[str, str], list[str]] = {}
        for s in self._smelters.values():
            index.setdefault((s.metal, alias_key(s.standard_name)), []).append(s.cid)
        return index

    @cached_property
    def _name_index(self) -> dict[tuple[str, str], dict[str, set[str]]]:
        """(metal, normalised name) -> {CID: its names with legal forms kept}, standard names and aliases."""
        return self._index(normalise_name)

    @cached_property
    def _full_index(self) -> dict[tuple[str, str], dict[str, set[str]]]:
        """(metal, name with legal forms kept) -> CIDs: tells apart same-name companies."""
        return self._index(_full_name)

    def _index(self, key_of) -> dict[tuple[str, str], dict[str, set[str]]]:
        index: dict[tuple[str, str], dict[str, set[str]]] = {}
        names = [(s.metal, s.standard_name, s.cid) for s in self._smelters.values()]
        names += [(a.metal, a.lookup_name, a.cid) for a in self._aliases.values() if a.cid in self._smelters]
        for metal, name, cid in names:
            key = key_of(name)
            if key:
                index.setdefault((metal, key), {}).setdefault(cid, set()).add(_full_name(name))
        return index

    @cached_property
    def _fuzzy_choices(self) -> dict[str, _FuzzyChoices]:
        per_metal: dict[str, _FuzzyChoices] = {}
        names = [(s.metal, s.standard_name, s.cid) for s in self._smelters.values()]
        names += [(a.metal, a.lookup_name, a.cid) for a in self._aliases.values() if a.cid in self._smelters]
        seen: set[tuple[str, str, str]] = set()
        for metal, name, cid in names:
            full = _full_name(name)
            if not full or (metal, full, cid) in seen:
                continue
            seen.add((metal, full, cid))
            choices = per_metal.setdefault(metal, _FuzzyChoices())
            norm = normalise_name(name)
            choices.norm.append(norm)
            choices.full.append(full)
            choices.cids.append(cid)
            choices.norm_sorted.append(_sorted_words(norm))
            choices.full_sorted.append(_sorted_words(full))
        return per_metal

    def _resolve(self, cid: str) -> ReferenceSmelter:
        """Follow renames to the current smelter (bounded, in case of a cycle in imported data)."""
        smelter = self._smelters[cid]
        for _ in range(10):
            nxt = smelter.successor_cid
            if not nxt or nxt not in self._smelters or nxt == smelter.cid:
                break
            smelter = self._smelters[nxt]
        return smelter

    def _result(self, smelter: ReferenceSmelter, kind: MatchKind, score: float, problems: list[str],
                declared_cid: str | None, declared_cid_metal: str | None) -> SmelterMatch:
        smelter = self._resolve(smelter.cid)
        return SmelterMatch(
            cid=smelter.cid,
            standard_name=smelter.standard_name,
            country=smelter.country,
            metal=smelter.metal,
            match=kind,
            score=round(score, 1),
            rmap_status=smelter.rmap_status,
            risk=self.risk_of(smelter.cid).level,
            problems=problems,
            declared_cid=declared_cid,
            declared_cid_metal=declared_cid_metal,
        )

    def _pick(self, cids: set[str], country: str) -> str | None:
        """One CID from a set of same-name smelters: the only one, or the only one in the country."""
        current = {self._resolve(c).cid for c in cids}
        if len(current) == 1:
            return next(iter(current))
        if country:
            in_country = {c for c in current if country_key(self._smelters[c].country) == country}
            if len(in_country) == 1:
                return next(iter(in_country))
        return None

    def _country_conflict(self, cid: str, country: str) -> bool:
        theirs = country_key(self._smelters[cid].country)
        return bool(country and theirs and theirs != country)

    def match(
        self,
        *,
        metal: str | None,
        cid: str | None = None,
        lookup_name: str | None = None,
        name: str | None = None,
        country: str | None = None,
        fuzzy: bool = True,
    ) -> SmelterMatch:
        """Match one declared smelter row (Smelter List columns A, B, C, D, E).

        fuzzy=False stops after the exact steps (CID, alias, normalised name): for callers that would
        discard a fuzzy answer anyway."""
        metal_n = normalise_metal(metal)
        country_n = country_key(country)
        problems: list[str] = []
        declared_cid, well_formed = normalise_cid(cid)
        declared_cid_metal: str | None = None

        def done(smelter: ReferenceSmelter, kind: MatchKind, score: float) -> SmelterMatch:
            return self._result(smelter, kind, score, problems, declared_cid, declared_cid_metal)

        # 1. CID
        if declared_cid:
            if not well_formed:
                problems.append("cid_malformed")
            elif declared_cid not in self._smelters:
                problems.append("cid_unknown")
            else:
                smelter = self._smelters[declared_cid]
                if metal_n is None or smelter.metal == metal_n:
                    return done(smelter, "cid", 100.0)
                problems.append("cid_other_metal")
                declared_cid_metal = smelter.metal

        lookup = _clean(lookup_name)
        typed = _clean(name)
        if lookup.casefold() in NOT_LISTED:
            problems.append("not_listed")
            lookup = ""
        if typed.casefold() in NOT_LISTED:
            if "not_listed" not in problems:
                problems.append("not_listed")
            typed = ""
        metals = [metal_n] if metal_n else self._metals

        # 2. alias: Metal + Look-up name, exactly as the dropdown offers it (aliases and standard names)
        if lookup:
            for m in metals:
                alias = self._aliases.get((m, alias_key(lookup)))
                if alias and alias.cid in self._smelters:
                    return done(self._smelters[alias.cid], "alias", 100.0)
                cids = self._standard_names.get((m, alias_key(lookup)), ())
                if len(cids) == 1:
                    return done(self._smelters[cids[0]], "alias", 100.0)

        # 3. normalised name: first with legal forms kept, then without
        names = [n for n in dict.fromkeys((lookup, typed)) if n]
        review: tuple[str, float, MatchKind] | None = None
        for index, key_of in ((self._full_index, _full_name), (self._name_index, normalise_name)):
            for text in names:
                key, q_full = key_of(text), _full_name(text)
                for m in metals:
                    entry = index.get((m, key))
                    if not entry:
                        continue
                    # "TANIOBIS GmbH" is not "TANIOBIS Co., Ltd.": legal forms, when both give one, agree.
                    q_forms = _legal_forms(q_full)
                    cids = {c for c, fulls in entry.items()
                            if any(_legal_forms_agree(q_forms, _legal_forms(f)) for f in fulls)}
                    picked = self._pick(cids, country_n) if cids else None
                    if picked and not self._country_conflict(picked, country_n):
                        return done(self._smelters[picked], "name", 100.0)
                    review = review or (picked or sorted(entry)[0], 100.0, "name")
        if review is not None:
            names = []  # same name, several smelters or another country: a person decides

        # 4. fuzzy
        best: _FuzzyHit | None = None
        for text in names if fuzzy else ():
            hit = self._fuzzy(text, metals, country_n)
            if hit and (best is None or hit.score > best.score):
                best = hit
        if best is not None:
            if (best.score >= FUZZY_ACCEPT and best.lead >= FUZZY_MARGIN and best.words_agree
                    and not self._country_conflict(best.cid, country_n)):
                return done(self._smelters[best.cid], "fuzzy", best.score)
            if best.score >= FUZZY_REVIEW:
                review = (best.cid, best.score, "fuzzy")

        if review is not None:
            smelter = self._resolve(review[0])
            return SmelterMatch(
                cid=None,
                standard_name=smelter.standard_name,
                country=smelter.country,
                metal=smelter.metal,
                match=review[2],
                score=round(review[1], 1),
                rmap_status=None,
                risk="unknown",
                problems=problems + ["needs_review"],
                declared_cid=declared_cid,
                declared_cid_metal=declared_cid_metal,
                candidate_cid=smelter.cid,
            )
        return SmelterMatch(
            cid=None,
            standard_name=None,
            country=None,
            metal=metal_n,
            match="unmatched",
            score=round(best.score, 1) if best else 0.0,
            rmap_status=None,
            risk="unknown",
            problems=problems,
            declared_cid=declared_cid,
            declared_cid_metal=declared_cid_metal,
        )

    def _fuzzy(self, text: str, metals: list[str], country: str) -> "_FuzzyHit | None":
        """The most similar smelter for a name, with its lead over the next different smelter."""
        q_norm, q_full = normalise_name(text), _full_name(text)
        if not q_full:
            return None
        # token_sort_ratio is ratio on the words sorted: sort the query once here and the candidates
        # once per list (_fuzzy_choices), instead of rapidfuzz re-sorting every candidate per call.
        queries = (q_norm, _sorted_words(q_norm), q_full, _sorted_words(q_full))
        # cid -> (score, full-form score, the candidate's norm and full names)
        scored: dict[str, tuple[float, float, str, str]] = {}
        for m in metals:
            choices = self._fuzzy_choices.get(m)
            if not choices:
                continue
            # C-speed shortlist on both forms, plain and word-order-insensitive, then the exact score
            # on the few candidates. Most names unknown to the list stop here with an empty shortlist.
            shortlist: set[int] = set()
            for query, pool in zip(queries, choices.pools):
                for _, _, idx in process.extract(query, pool, scorer=fuzz.ratio, limit=6,
                                                 score_cutoff=FUZZY_REVIEW - FUZZY_MARGIN):
                    shortlist.add(idx)
            for idx in shortlist:
                # Similarity that forgives reordered words, never substring containment (partial_ratio
                # would score "xiamen tungsten" 100 against "xiamen tungsten hc").
                s_norm = max(fuzz.ratio(q_norm, choices.norm[idx]), fuzz.ratio(queries[1], choices.norm_sorted[idx]))
                s_full = max(fuzz.ratio(q_full, choices.full[idx]), fuzz.ratio(queries[3], choices.full_sorted[idx]))
                cid = self._resolve(choices.cids[idx]).cid
                entry = (max(s_norm, s_full), s_full, choices.norm[idx], choices.full[idx])
                if entry[:2] > scored.get(cid, (-1.0, -1.0, "", ""))[:2]:
                    scored[cid] = entry
        if not scored:
            return None
        ranked = sorted(scored.items(), key=lambda kv: kv[1][:2], reverse=True)
        if country:
            # Same name in two countries: the declared country goes first among near-equals.
            top = ranked[0][1][0]
            ranked.sort(key=lambda kv: (top - kv[1][0] < FUZZY_MARGIN
                                        and country_key(self._smelters[kv[0]].country) == country),
                        reverse=True)
        best_cid, (score, full_score, norm, full) = ranked[0]
        agree = _words_agree(q_norm, q_full, norm, full)
        # The runner-up that counts is one the name could also be a typo of; a near-equal name that
        # differs in a word or number ("... (Unit 2)") is no competitor.
        # Only the first such rival counts, so stop at it (_words_agree is the costly part).
        rival = next(((c, v) for c, v in ranked[1:] if _words_agree(q_norm, q_full, v[2], v[3])), None)
        lead = 100.0
        if rival is not None:
            rival_cid, (second, second_full, _, _) = rival
            # Either form may tell them apart: "hc starck" ties, "hc starck inc" does not.
            lead = max(score - second, full_score - second_full)
            if country and country_key(self._smelters[best_cid].country) == country != country_key(
                    self._smelters[rival_cid].country):
                lead = max(lead, FUZZY_MARGIN)
        return _FuzzyHit(best_cid, score, lead, agree)


@dataclass
class _FuzzyChoices:
    norm: list[str] = field(default_factory=list)
    full: list[str] = field(default_factory=list)
    cids: list[str] = field(default_factory=list)
    norm_sorted: list[str] = field(default_factory=list)  # words sorted: token_sort_ratio as plain ratio
    full_sorted: list[str] = field(default_factory=list)

    @property
    def pools(self) -> tuple[list[str], list[str], list[str], list[str]]:
        """In the order of the queries in ReferenceList._fuzzy: norm, norm sorted, full, full sorted."""
        return self.norm, self.norm_sorted, self.full, self.full_sorted


def _sorted_words(text: str) -> str:
    """The form rapidfuzz's token_sort_ratio compares: the words in alphabetical order."""
    return " ".join(sorted(text.split()))


@dataclass
class _FuzzyHit:
    cid: str
    score: float
    lead: float
    words_agree: bool


_WORD_SIMILARITY = 80.0  # one typo in a 5-letter word; "east" vs "west" (75) is another word
_LEGAL_LIKE = 60.0  # "Lmd", "Ldt", "Corporatoin": a mistyped legal form at the end of a name


def _words_agree(query: str, query_full: str, candidate: str, candidate_full: str) -> bool:
    """The names differ by typos, not by words.

    Numbers must be equal (``Unit 1`` is not ``Unit 2``), and so must the legal forms when both
    names give one. Every word of each name needs a close counterpart in the other: the same word
    with a typo, or two words run together (``GoldCorporation``, ``AltEtihad``); short words
    (``hc``) must be there exactly, and a mistyped legal form among the last two words (``Lmd.``)
    is excused. ``Sam Precious Metals`` does not agree with ``Samduck Precious Metals``, however
    similar the whole strings are.
    """
    q, c = query.split(), candidate.split()
    if {w for w in q if w.isdigit()} != {w for w in c if w.isdigit()}:
        return False
    q_full, c_full = query_full.split(), candidate_full.split()

    def close(word: str, pool: Iterable[str], threshold: float = _WORD_SIMILARITY) -> bool:
        return any(_word_typo(word, other, threshold) for other in pool)

    def one_edit(joined: str, pool: Iterable[str]) -> bool:
        # Two words run together may carry one typo, no more: "tungstenhc" is not "tungsvten".
        return len(joined) >= 5 and any(OSA.distance(joined, other, score_cutoff=1) <= 1 for other in pool)

    def in_joined_pair(word: str, words: list[str], pool: list[str]) -> bool:
        """The word and its neighbour, written as one, match a word of the other name."""
        return any(word in pair and one_edit("".join(pair), pool) for pair in zip(words, words[1:]))

    c_pairs = ["".join(pair) for pair in zip(c_full, c_full[1:])]
    q_pairs = ["".join(pair) for pair in zip(q_full, q_full[1:])]
    mistyped_legal = False
    for w in q:
        if (w in c_full or (len(w) >= 3 and (close(w, c_full) or one_edit(w, c_pairs)))
                or in_joined_pair(w, q_full, c_full)):
            continue
        if w in q_full[-2:] and close(w, _LEGAL_TOKENS, _LEGAL_LIKE):
            mistyped_legal = True
            continue
        return False
    for w in c:
        if (w in q or (len(w) >= 3 and (close(w, q) or one_edit(w, q_pairs)))
                or in_joined_pair(w, c_full, q_full)):
            continue
        return False
    c_forms = _legal_forms(candidate_full)
    q_forms = _legal_forms(query_full)
    # A mistyped legal form at the end ("Ltsd.") stands for the candidate's form it resembles.
    q_forms |= {_LEGAL_FORMS[o] for w in q_full[-2:] if w not in _LEGAL_FORMS
                for o in c_full if o in _LEGAL_FORMS and _word_typo(w, o, _LEGAL_LIKE)}
    return mistyped_legal or _legal_forms_agree(q_forms, c_forms)


def _word_typo(word: str, other: str, threshold: float = _WORD_SIMILARITY) -> bool:
    """One word is a typo of the other: similar enough, or one edit apart with the start right
    (``golw``/``glod`` for ``gold``, ``ewst`` for ``west``, but not ``west`` for ``east``).
    A word two letters longer is another word unless nearly equal (``starckho`` is not ``starck``)."""
    if not word or not other:
        return False
    similarity = fuzz.ratio(word, other)
    if abs(len(word) - len(other)) > 1 and similarity < 90:
        return False
    if similarity >= threshold:
        return True
    start_right = word[0] == other[0] or (len(word) >= 2 and word[:2] == other[1::-1])
    if not start_right or OSA.distance(word, other, score_cutoff=1) > 1:
        return False
    return len(word) >= 4 or sorted(word) == sorted(other)  # short words: only swapped letters


def _legal_forms(full_name: str) -> set[str]:
    """Legal forms of a name, one spelling each (``Co., Ltd.`` and ``Company Limited`` agree)."""
    return {_LEGAL_FORMS[w] for w in full_name.split() if w in _LEGAL_FORMS}


def _legal_forms_agree(a: set[str], b: set[str]) -> bool:
    """Equal legal forms, or one of the names gives none (``Co., Ltd.`` = ``Company Limited``)."""
    return not a or not b or a == b


# --------------------------------------------------------------------------------------------
# Helpers shared with the CMRT reader


def lookup_rows_from_workbook(path_or_bytes: str | Path | bytes) -> list[dict]:
    """The Smelter Look-up rows of a CMRT (or EMRT) workbook, as :func:`lookup_rows_from_sheet` gives them."""
    data = _read_bytes(path_or_bytes)
    if not _is_zip(data):
        raise ReferenceFormatError("not an .xlsx workbook")
    sheet = _lookup_sheet_name(_workbook_sheet_names(data))
    if sheet is None:
        raise ReferenceFormatError("the workbook has no Smelter Look-up sheet")
    return lookup_rows_from_sheet(_sheet_rows(data, sheet))


def lookup_rows_from_sheet(rows: list[list[object]]) -> list[dict]:
    """Smelter Look-up sheet rows (header row 4, data from row 5, columns A..F) as dicts."""
    out: list[dict] = []
    for row in rows[4:]:
        cells = list(row) + [None] * (6 - len(row))
        if not any(c not in (None, "") for c in cells[:6]):
            continue
        out.append({
            "metal": cells[0], "lookup_name": cells[1], "standard_name": cells[2],
            "country": cells[3], "cid": cells[4], "source": cells[5],
        })
    return out


_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}


def template_date(value: object) -> date | None:
    """The date in a template's revision cell (``Revision 6.5\\nApril 25, 2025``), or None."""
    match = re.search(r"([A-Za-z]+)\s+(\d{1,2}),\s*(\d{4})", str(value or ""))
    if not match or match.group(1).casefold() not in _MONTHS:
        return None
    try:
        return date(int(match.group(3)), _MONTHS[match.group(1).casefold()], int(match.group(2)))
    except ValueError:
        return None


DEFAULT_SMELTERS_CSV = Path(__file__).with_name("data") / "default_smelters.csv"


@lru_cache(maxsize=1)
def default_reference() -> ReferenceList:
    """The shipped default list (cmrt/data/default_smelters.csv; see cmrt/data/README.md)."""
    return ReferenceList.from_csv(DEFAULT_SMELTERS_CSV)

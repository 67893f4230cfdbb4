"""What is this file, really? Magic bytes, size, zip directory sanity, encryption.

Runs before any spreadsheet library sees the bytes: the extension is ignored, a zip bomb is refused from
its central directory alone, and an encrypted workbook is opened with Excel's default password when
that is the one it was saved with.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
from dataclasses import dataclass, field

from cmrt.messages import finding
from cmrt.types import Finding

EXCEL_DEFAULT_PASSWORD = "VelvetSweatshop"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

# A full CMRT 6.5 expands to about 15 MB; these limits leave wide margins and still stop a bomb.
MAX_UNCOMPRESSED_TOTAL = 300 * 1024 * 1024
MAX_ENTRY_RATIO = 250  # uncompressed / compressed for one sizeable entry (XML compresses ~10-30x)
MAX_ENTRIES = 5000
# A sheet is read into a grid from A1 to its farthest cell with content, so its cost is rows x columns,
# whatever the file's size: one value at XFD1048576 asks for 17 billion cells. The largest sheet of a
# real CMRT or EMRT (the Smelter List, 2,508 rows to column AI) spans about 88,000 cells; this allows
# twenty times that and still stops a grid before it costs more than a few hundred MB.
MAX_SHEET_CELLS = 2_000_000
MAX_TAG_BYTES = 64 * 1024  # one XML start tag; a real one is under 200 bytes

_OTHER_FORMATS: list[tuple[bytes, str]] = [
    (b"%PDF", "a PDF document"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
]


class Unreadable(Exception):
    """The bytes cannot be read as a workbook; carries the finding that says why."""

    def __init__(self, f: Finding) -> None:
        super().__init__(f.message)
        self.finding = f


@dataclass
class Sniffed:
    data: bytes
    file_format: str  # "xlsx" | "xls"
    findings: list[Finding] = field(default_factory=list)
    # Worksheet parts not streamed yet, by sheet name: sheets the check may never read (the hidden
    # L, C, SorP, the Checker...). verify_sheet() streams one before the reader opens it.
    deferred: dict[str, str] = field(default_factory=dict)
    parts: dict[str, str] = field(default_factory=dict)  # every sheet the zip check placed -> its part

    def verify_sheet(self, sheet_name: str) -> None:
        """Stream the sheet's part if the zip check deferred it; raise Unreadable when it lies.
        A sheet the zip check could not place (the reader names it otherwise) streams every deferred part."""
        if not self.deferred:
            return
        if sheet_name in self.deferred:
            parts = [self.deferred.pop(sheet_name)]
        elif sheet_name in self.parts:
            return
        else:
            parts = list(self.deferred.values())
            self.deferred.clear()
        with zipfile.ZipFile(io.BytesIO(self.data)) as zf:
            for part in dict.fromkeys(parts):
                _stream_part(zf, zf.getinfo(part))

    def content_key(self, sheet_name: str) -> str | None:
        """A digest of everything that decides a sheet's cell values, when its XML holds them all
        inline (no shared-string references: tools other than Excel write it so), else None. Two files
        with equal keys read the same values, so a parsed sheet can be reused without parsing again.
        Verifies the part as verify_sheet does."""
        part = self.parts.get(sheet_name)
        if part is None:
            return None
        with zipfile.ZipFile(io.BytesIO(self.data)) as zf:
            info = zf.getinfo(part)
            if info.file_size > _MAX_KEYED_PART:
                return None
            xml = _read_part(zf, info)
            self.deferred.pop(sheet_name, None)  # verified now
            # (the quoted "s" first: a plain byte search, where the pattern alone would crawl the sheet)
            if (b'"s"' in xml or b"'s'" in xml) and _SHARED_STRING_RE.search(xml):
                return None  # its text lives in the shared-string table, which every file orders its own way
            digest = hashlib.blake2b(xml, digest_size=20)
            # number formats (dates) and the 1904 date system decide how numeric cells read
            for aux in ("xl/styles.xml", "xl/workbook.xml"):
                if aux in zf.NameToInfo:
                    digest.update(b"\0" + zf.read(aux))  # already streamed by the zip check
        return digest.hexdigest()


_MAX_KEYED_PART = 16 * 1024 * 1024  # a real Smelter Look-up sheet is under 1 MB
_SHARED_STRING_RE = re.compile(rb"""\bt\s*=\s*["']s["']""")


# Sheets every check reads (names as _sheet_key gives them): their parts are streamed up front.
_ALWAYS_READ = frozenset(("declaration", "smelterlist", "productlist"))
_SHEET_RE = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTR_RE = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_REL_RE = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")


def _sheet_key(name: str) -> str:
    """As cmrt.reader finds template sheets: case, blanks, dashes and underscores ignored."""
    return re.sub(r"[\s_\-]+", "", name).casefold()


_PLAIN_TARGET_RE = re.compile(r"(?:/xl/|xl/)?worksheets/[\w.-]+\.xml")


def _sheet_parts(zf: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    """Sheet name -> worksheet part, from xl/workbook.xml and its relationships; {} when anything is
    unusual (then every part is streamed up front, as before)."""
    try:
        if any(zf.getinfo(n).file_size > 1 << 20 for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")):
            return {}
        workbook = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except (KeyError, zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError):
        return {}  # streamed with everything else, where a real fault is reported
    except Exception:  # noqa: BLE001 - zlib.error: the same
        return {}
    targets: dict[str, str] = {}
    for tag in _REL_RE.findall(rels):
        attrs = dict(_ATTR_RE.findall(tag))
        rid, target = attrs.get(b"Id"), attrs.get(b"Target")
        if rid and target:
            path = target.decode("utf-8", "replace")
            if _PLAIN_TARGET_RE.fullmatch(path):  # a plain path every reader resolves alike
                targets[rid.decode("utf-8", "replace")] = path.lstrip("/") if path.startswith(("/", "xl/")) else "xl/" + path
    parts: dict[str, str] = {}
    for tag in _SHEET_RE.findall(workbook):
        attrs = dict(_ATTR_RE.findall(tag))
        name, rid = attrs.get(b"name"), attrs.get(b"r:id")
        part = targets.get(rid.decode("utf-8", "replace")) if rid else None
        if name is None or part not in names:
            return {}
        text = html.unescape(name.decode("utf-8", "replace"))
        if text in parts or part in parts.values():
            return {}  # two sheets of one name or on one part: stream everything
        parts[text] = part
    return parts


def _stream_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Decompress one part, discarding it: Python's zipfile never returns more than the declared size
    and checks the CRC, so a directory that lies about sizes is caught here."""
    _read_part(zf, info, keep=False)


def _read_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, keep: bool = True) -> bytes:
    """Decompress one part (kept or discarded), refusing it as _stream_part says, and measure the extent
    of a worksheet on the way (SheetExtent), refusing a grid no CMRT has before any reader builds it."""
    chunks: list[bytes] = []
    extent: SheetExtent | None = None
    try:
        with zf.open(info) as part:
            first = True
            while chunk := part.read(1 << 20):
                if first:
                    first = False
                    if _WORKSHEET_ROOT_RE.search(chunk, 0, 4096):
                        extent = SheetExtent(info.filename)
                if extent is not None:
                    extent.feed(chunk)
                if keep:
                    chunks.append(chunk)
        if extent is not None:
            extent.close()
        return b"".join(chunks)
    except Unreadable:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        detail = "a part is larger than the zip directory says" if "CRC" in str(exc) else str(exc)
        raise Unreadable(finding("corrupt_workbook", detail=f"{info.filename}: {detail}")) from exc
    except Exception as exc:  # noqa: BLE001 - zlib.error and friends: a damaged part
        raise Unreadable(finding("corrupt_workbook", detail=f"{info.filename}: {type(exc).__name__}")) from exc


_WORKSHEET_ROOT_RE = re.compile(rb"<(?:\w+:)?worksheet\b")
# A row or cell start tag (any namespace prefix); a cell is <c ...> or <c/>, never <col>, <cfRule>...
_GRID_TAG_RE = re.compile(rb"<(?:\w+:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR_RE = re.compile(rb"""\br\s*=\s*["']([^"']*)["']""")
_CELL_REF_RE = re.compile(rb"\$?([A-Za-z]{1,7})\$?(\d{1,10})")
# The fast path's two questions: is any row or cell not placed by a leading r="..."? and where are the
# placed cells that hold something (not self-closing)?
_UNPLACED_RE = re.compile(rb'<(?:\w+:)?(?:row|c)(?=[\s/>])(?!\s+r=")')
_PLACED_VALUE_RE = re.compile(rb'<(?:\w+:)?c r="([A-Za-z]{1,7})(\d{1,10})"[^>]*(?<!/)>')
_DIGITS_RE = re.compile(rb"\d{1,10}")


class SheetExtent:
    """The grid a worksheet asks a reader to build, measured from its XML as it streams by (regular
    expressions over the bytes: no XML parser, so no entity expansion, and memory stays flat).

    Readers place a cell by its r="B7" reference, or after the previous one when it has none, and
    build every row and column up to the farthest cell that holds something (an empty styled <c/>
    holds nothing). feed() raises Unreadable(sheet_too_large) as soon as that grid passes
    MAX_SHEET_CELLS."""

    def __init__(self, part: str, limit: int = MAX_SHEET_CELLS) -> None:
        self.part, self.limit = part, limit
        self.rows = self.columns = 0  # the farthest row and column (1-based) holding something
        self._row = 0  # the current row, and the column of the last cell seen in it
        self._col = 0
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk if self._tail else chunk
        # a start tag cut by the chunk boundary waits for the next chunk
        cut = data.rfind(b"<")
        if cut >= 0 and data.find(b">", cut) < 0:
            self._tail, data = data[cut:], data[:cut]
            if len(self._tail) > MAX_TAG_BYTES:
                raise Unreadable(finding("corrupt_workbook", detail=f"{self.part}: an XML tag is {len(self._tail)} bytes long"))
        else:
            self._tail = b""
        if _UNPLACED_RE.search(data):
            self._walk(data)
        else:
            self._placed(data)

    def _placed(self, data: bytes) -> None:
        """Every row and cell of this chunk names its place first (as Excel and most tools write):
        the extent is a maximum over the cells with content, computed without a Python loop."""
        cells = _PLACED_VALUE_RE.findall(data)
        if cells:
            columns, rows = zip(*cells)
            self._grow(max(map(int, rows)), max(map(_column_number, set(columns))))
        at = data.rfind(b'<row r="')  # where a following chunk's unplaced cell would go
        if at >= 0 and (m := _DIGITS_RE.match(data, at + 8)):
            self._row, self._col = int(m.group()), 0
        at = data.rfind(b'c r="')
        if at >= 0 and (m := _CELL_REF_RE.match(data, at + 5)):
            self._col = _column_number(m.group(1))

    def _walk(self, data: bytes) -> None:
        """Rows or cells without a reference: place each one after the previous, as readers do."""
        for m in _GRID_TAG_RE.finditer(data):
            name, attrs = m.group(1), m.group(2)
            ref = _R_ATTR_RE.search(attrs)
            if name == b"row":
                self._row = int(ref.group(1)) if ref and ref.group(1).isdigit() else self._row + 1
                self._col = 0
                continue
            cell = _CELL_REF_RE.fullmatch(ref.group(1)) if ref else None
            if cell:
                self._col = _column_number(cell.group(1))
                row = int(cell.group(2))
            else:
                self._col += 1
                row = self._row
            if not attrs.rstrip().endswith(b"/"):  # <c r="Z9" s="3"/> is formatting only, no value
                self._grow(row, self._col)

    def _grow(self, row: int, column: int) -> None:
        if row > self.rows or column > self.columns:
            self.rows, self.columns = max(self.rows, row), max(self.columns, column)
            if self.rows * self.columns > self.limit:
                raise Unreadable(finding("sheet_too_large", part=self.part, cells=f"{self.rows * self.columns:,}",
                                         extent=f"{column_letters(self.columns)}{self.rows}"))

    def close(self) -> None:
        if self._tail:
            self.feed(b">")  # a truncated last tag is judged as it stands


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def column_letters(n: int) -> str:
    """1 -> A, 27 -> AA: a column's letters, however far (Excel stops at XFD, a hostile file does not)."""
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out or "A"


def _describe_unknown(data: bytes) -> str:
    for magic, what in _OTHER_FORMATS:
        if data.startswith(magic):
            return what
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML)"
    if head.startswith(b"<?xml"):
        return "an XML file (perhaps 'XML Spreadsheet 2003')"
    try:
        head.decode("utf-8")
        if b"," in head or b";" in head or b"\t" in head:
            return "a text or CSV file"
        return "a text file"
    except UnicodeDecodeError:
        return "an unknown binary format"


def _check_zip(data: bytes) -> tuple[str, dict[str, str], dict[str, str]]:
    """Validate the zip directory and stream its parts; return ("xlsx", deferred sheet parts, the sheet
    names placed) or raise Unreadable. Worksheets the check may never read are deferred to
    Sniffed.verify_sheet."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except NotImplementedError as exc:  # "zip file version 14.8": a packaging no spreadsheet program writes
        raise Unreadable(finding("corrupt_workbook", detail=f"it is packed with a zip feature Excel does not use ({exc})")) from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise Unreadable(finding("corrupt_workbook", detail=f"the zip structure is broken or truncated: {exc}")) from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise Unreadable(finding("zip_bomb", detail=f"{len(infos)} parts"))
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > 10 * 1024 * 1024 and info.file_size > MAX_ENTRY_RATIO * max(info.compress_size, 1):
                raise Unreadable(finding(
                    "zip_bomb", detail=f"{info.filename} expands {info.file_size // max(info.compress_size, 1)} times"))
        if total > MAX_UNCOMPRESSED_TOTAL:
            raise Unreadable(finding("zip_bomb", detail=f"{total // (1024 * 1024)} MB uncompressed"))
        names = {info.filename for info in infos}
        # The directory can lie about sizes. Streaming a part (_stream_part) bounds the work by the
        # sizes checked above before the spreadsheet reader trusts them. Every part is streamed now
        # except the worksheets of sheets the check may never read (in a real CMRT the hidden L, C
        # and SorP sheets are a third of the bytes): those wait until a reader asks for them.
        parts = _sheet_parts(zf, names)
        deferred = {name: part for name, part in parts.items() if _sheet_key(name) not in _ALWAYS_READ}
        skipped = set(deferred.values())
        for info in infos:
            if (info.is_dir() or info.filename.startswith(("xl/media/", "docProps/thumbnail"))
                    or info.filename in skipped):
                continue
            _stream_part(zf, info)
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx", deferred, parts
    if "word/document.xml" in names:
        raise Unreadable(finding("not_a_spreadsheet", detected="a Word document"))
    if "ppt/presentation.xml" in names:
        raise Unreadable(finding("not_a_spreadsheet", detected="a PowerPoint presentation"))
    if "content.xml" in names and "mimetype" in names:
        raise Unreadable(finding("not_a_spreadsheet", detected="an OpenDocument file (save it as .xlsx)"))
    raise Unreadable(finding("not_a_spreadsheet", detected="a zip archive"))


def _decrypt(data: bytes) -> tuple[bytes, list[Finding]]:
    """An OLE container: an encrypted OOXML workbook, or a BIFF .xls (maybe RC4-encrypted)."""
    import msoffcrypto  # imported lazily: most files are plain .xlsx
    from msoffcrypto.exceptions import FileFormatError

    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
    except FileFormatError as exc:
        text = str(exc).lower()
        if "word" in text or "powerpoint" in text or "ppt" in text or "doc" in text:
            raise Unreadable(finding("not_a_spreadsheet", detected="a Word or PowerPoint document")) from exc
        raise Unreadable(finding("corrupt_workbook", detail="an Office container without a workbook")) from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure means the container is damaged
        raise Unreadable(finding("corrupt_workbook", detail=f"damaged Office container: {type(exc).__name__}")) from exc
    format_name = getattr(office, "format", "")
    if format_name not in ("ooxml", "xls97"):
        raise Unreadable(finding("not_a_spreadsheet", detected=f"an Office '{format_name}' document"))
    try:
        encrypted = office.is_encrypted()
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(finding("corrupt_workbook", detail=f"damaged Office container: {type(exc).__name__}")) from exc
    if not encrypted:
        return data, []
    try:
        office.load_key(password=EXCEL_DEFAULT_PASSWORD)
        out = io.BytesIO()
        office.decrypt(out)
        decrypted = out.getvalue()
    except Exception as exc:  # noqa: BLE001 - wrong password or unsupported cipher: ask for a plain file
        raise Unreadable(finding("encrypted_workbook")) from exc
    if not decrypted:
        raise Unreadable(finding("encrypted_workbook"))
    return decrypted, [finding("encrypted_default_password")]


def sniff(data: bytes, *, max_bytes: int) -> Sniffed:
    """Classify and unwrap the bytes; raise Unreadable with a supplier-facing finding otherwise."""
    if not data:
        raise Unreadable(finding("file_empty"))
    if len(data) > max_bytes:
        raise Unreadable(finding("file_too_large", size_mb=f"{len(data) / 1048576:.1f}",
                                 limit_mb=f"{max_bytes / 1048576:.0f}"))
    notes: list[Finding] = []
    if data.startswith(OLE_MAGIC):
        data, notes = _decrypt(data)
        if len(data) > max_bytes:
            raise Unreadable(finding("file_too_large", size_mb=f"{len(data) / 1048576:.1f}",
                                     limit_mb=f"{max_bytes / 1048576:.0f}"))
        if data.startswith(OLE_MAGIC):
            return Sniffed(data, "xls", notes)
    if data.startswith(ZIP_MAGICS):
        file_format, deferred, parts = _check_zip(data)
        return Sniffed(data, file_format, notes, deferred, parts)
    if notes:  # decrypted to something that is neither zip nor BIFF
        raise Unreadable(finding("corrupt_workbook", detail="the decrypted content is not a workbook"))
    raise Unreadable(finding("not_a_spreadsheet", detected=_describe_unknown(data)))


def sniff_every_sheet(data: bytes) -> Sniffed:
    """sniff(), with every worksheet sized up front: for readers that may read any sheet (reference
    lists, supplier lists), not only the CMRT sheets a check reads."""
    sniffed = sniff(data, max_bytes=max(len(data), 1))
    for sheet in list(sniffed.deferred):
        sniffed.verify_sheet(sheet)
    return sniffed

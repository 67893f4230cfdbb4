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
    """Decompress one part (kept or discarded), refusing it as _stream_part says."""
    chunks: list[bytes] = []
    try:
        with zf.open(info) as part:
            while chunk := part.read(1 << 20):
                if keep:
                    chunks.append(chunk)
        return b"".join(chunks)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        detail = "a part is larger than the zip directory says" if "CRC" in str(exc) else str(exc)
        raise Unreadable(finding("corrupt_workbook", detail=f"{info.filename}: {detail}")) from exc
    except Exception as exc:  # noqa: BLE001 - zlib.error and friends: a damaged part
        raise Unreadable(finding("corrupt_workbook", detail=f"{info.filename}: {type(exc).__name__}")) from exc


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

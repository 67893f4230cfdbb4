"""What is this file, really? Magic bytes, size, zip directory sanity, encryption.

Runs before any spreadsheet library sees the bytes: the extension is ignored, a zip bomb is refused from
its central directory alone, and an encrypted workbook is opened with Excel's default password when
that is the one it was saved with.
"""

from __future__ import annotations

import io
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


def _check_zip(data: bytes) -> str:
    """Validate the zip directory; return "xlsx" or raise Unreadable."""
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
        # The directory can lie about sizes. Python's zipfile never returns more than the declared size
        # and checks the CRC, so streaming the parts once bounds the work by the sizes checked above
        # (about 20 ms for a real 1.6 MB CMRT) before the spreadsheet reader trusts them.
        for info in infos:
            if info.is_dir() or info.filename.startswith(("xl/media/", "docProps/thumbnail")):
                continue
            try:
                with zf.open(info) as part:
                    while part.read(1 << 20):
                        pass
            except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
                detail = "a part is larger than the zip directory says" if "CRC" in str(exc) else str(exc)
                raise Unreadable(finding("corrupt_workbook", detail=f"{info.filename}: {detail}")) from exc
            except Exception as exc:  # noqa: BLE001 - zlib.error and friends: a damaged part
                raise Unreadable(finding("corrupt_workbook", detail=f"{info.filename}: {type(exc).__name__}")) from exc
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
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
        return Sniffed(data, _check_zip(data), notes)
    if notes:  # decrypted to something that is neither zip nor BIFF
        raise Unreadable(finding("corrupt_workbook", detail="the decrypted content is not a workbook"))
    raise Unreadable(finding("not_a_spreadsheet", detected=_describe_unknown(data)))

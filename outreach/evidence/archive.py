"""A zip written strictly in order, every entry hashed as it is written (the pack's manifest).

The output is never sought back: :class:`Archive` hands :mod:`zipfile` a stream that can only be told its
position, so the zip goes out as it is made (to a file, or a pipe the web app reads) and its own SHA-256
is known when it is closed. Entries carry one fixed timestamp, so the same content makes the same entry.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tempfile
import unicodedata
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, BinaryIO, Iterator

CHUNK = 1024 * 1024
# Already compressed: stored as they are (deflating them again costs time and saves nothing).
_STORED = (".xlsx", ".xlsm", ".xlsb", ".zip", ".png", ".jpg", ".pdf")


class _Counted:
    """The output as zipfile sees it: written in order, position known, never sought."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.size = 0
        self.sha256 = hashlib.sha256()

    def write(self, data) -> int:
        self.out.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.out.flush()


@dataclass(frozen=True)
class Entry:
    path: str
    sha256: str
    size: int


class _HashingWriter(io.RawIOBase):
    def __init__(self, inner: IO[bytes]):
        self.inner = inner
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self.inner.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)


class Archive:
    """Entries in the order written; :attr:`entries` spooled to a temporary file, not kept in memory."""

    def __init__(self, out: BinaryIO, *, stamp: datetime):
        self._out = _Counted(out)
        self._zip = zipfile.ZipFile(self._out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self._stamp = max(stamp.timetuple()[:6], (1980, 1, 1, 0, 0, 0))
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")
        self.count = 0

    # -- writing -------------------------------------------------------------------------------------

    @contextmanager
    def open(self, path: str) -> Iterator[IO[bytes]]:
        """A binary stream for one entry; its hash and size go to the manifest when it closes."""
        if path in self._zip.NameToInfo:  # zipfile keeps every entry's record for the central directory
            raise ValueError(f"the pack already holds {path}")
        info = zipfile.ZipInfo(path, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_STORED if path.lower().endswith(_STORED) else zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with self._zip.open(info, "w", force_zip64=True) as raw:
            writer = _HashingWriter(raw)
            yield writer
        self._log.write(f"{path}\t{writer.digest.hexdigest()}\t{writer.size}\n")
        self.count += 1

    @contextmanager
    def open_text(self, path: str) -> Iterator[IO[str]]:
        with self.open(path) as raw:
            text = io.TextIOWrapper(io.BufferedWriter(raw, CHUNK), encoding="utf-8", newline="")
            yield text
            text.flush()
            text.detach().flush()

    def add_bytes(self, path: str, data: bytes) -> None:
        with self.open(path) as fh:
            fh.write(data)

    def add_text(self, path: str, text: str) -> None:
        self.add_bytes(path, text.encode("utf-8"))

    def add_stream(self, path: str, src: IO[bytes]) -> Entry:
        with self.open(path) as fh:
            while chunk := src.read(CHUNK):
                fh.write(chunk)
        return Entry(path, fh.digest.hexdigest(), fh.size)

    def has(self, path: str) -> bool:
        return path in self._zip.NameToInfo

    # -- reading back what was written ---------------------------------------------------------------

    def entries(self) -> Iterator[Entry]:
        """Every entry written so far, in order (read back from the spool)."""
        self._log.flush()
        pos = self._log.tell()
        self._log.seek(0)
        try:
            for line in self._log:
                path, sha, size = line.rstrip("\n").split("\t")
                yield Entry(path, sha, int(size))
        finally:
            self._log.seek(pos)

    def close(self) -> tuple[str, int]:
        """Finish the zip: (its SHA-256, its size in bytes)."""
        self._zip.close()
        self._out.flush()
        self._log.close()
        return self._out.sha256.hexdigest(), self._out.size


class Spool:
    """A CSV table written while other entries are being written, added to the pack later (a zip is written
    one entry at a time; a table of every supplier cannot wait in memory)."""

    def __init__(self, header: tuple[str, ...]):
        self.file = tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow(header)
        self.rows = 0

    def add(self, row: list) -> None:
        from outreach.spreadsheet import neutralise

        self.writer.writerow(["" if v is None else neutralise(v) for v in row])
        self.rows += 1

    def read_rows(self) -> Iterator[list[str]]:
        """The rows written so far (header first), read back from the spool."""
        self.file.flush()
        self.file.seek(0)
        yield from csv.reader(self.file)

    def copy_into(self, archive: Archive, path: str) -> None:
        self.file.flush()
        self.file.seek(0)
        with archive.open_text(path) as out:
            while chunk := self.file.read(CHUNK):
                out.write(chunk)
        self.file.close()


def safe_part(text: str | None, *, limit: int = 60, fallback: str = "unnamed") -> str:
    """A name a person can read and every unzip tool accepts: letters, digits and a few signs, no path."""
    text = unicodedata.normalize("NFKC", str(text or ""))
    text = re.sub(r"[^\w.\- ()&,+]+", "_", text).strip(" ._")
    text = re.sub(r"_{2,}", "_", text)
    return text[:limit].rstrip(" ._") or fallback


def stable_xlsx(data: bytes, stamp: datetime) -> bytes:
    """The same workbook gives the same bytes: openpyxl stamps the save time into the file and its zip."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + when.encode()
                              + rb"\g<3>", body)
            clean = zipfile.ZipInfo(info.filename, date_time=max(stamp.timetuple()[:6], (1980, 1, 1, 0, 0, 0)))
            clean.compress_type = zipfile.ZIP_DEFLATED
            clean.external_attr = 0o644 << 16
            dst.writestr(clean, body)
    return out.getvalue()


__all__ = ["Archive", "Entry", "Spool", "safe_part", "stable_xlsx"]

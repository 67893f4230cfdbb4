"""Hostile workbooks, family by family, made from the builder's valid CMRT: what an attacker (or a broken
tool) can upload to the portal. Seeded and deterministic, so a failing case can be made again.

    for family, case in cases(seed=1, n=100): cmrt.check(case.data)

Families: dimension (a declared or real extent far beyond the template), dense (many rows), wide (far
columns), entities (XML entity expansion), truncation (cut XML, cut zip), zip (directory and version
bytes, duplicate parts, lying sizes), nested (zips inside), encryption (OLE containers).
Used by tests/test_cmrt_hostile.py (a bounded run) and bench/bench_fuzz.py (10,000 cases).
"""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator

from cmrt.builder import valid_cmrt
from cmrt.sniff import column_letters

DECLARATION = "xl/worksheets/sheet4.xml"
SMELTERS = "xl/worksheets/sheet5.xml"
LOOKUP = "xl/worksheets/sheet8.xml"


@dataclass
class Case:
    family: str
    name: str
    data: bytes


@lru_cache(maxsize=1)
def base() -> bytes:
    return valid_cmrt()


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def pack(files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return out.getvalue()


def with_part(name: str, fn: Callable[[bytes], bytes], data: bytes | None = None) -> bytes:
    files = parts(data or base())
    files[name] = fn(files[name])
    return pack(files)


def sheet_data(inner: bytes, dimension: bytes | None = None) -> Callable[[bytes], bytes]:
    """Replace a worksheet's cells (and optionally its declared dimension)."""
    def fn(xml: bytes) -> bytes:
        xml = re.sub(rb"<sheetData>.*</sheetData>|<sheetData\s*/>", lambda _: b"<sheetData>" + inner + b"</sheetData>",
                     xml, flags=re.S)
        if dimension is not None:
            xml = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + dimension + b'"', xml)
        return xml
    return fn


def _value(ref: str, i: int) -> bytes:
    return f'<c r="{ref}"><v>{i}</v></c>'.encode()


# --- the families ------------------------------------------------------------------------------


def dimension(rng: random.Random) -> Case:
    """One or two cells far away, or a declared extent that lies."""
    far_row = rng.choice([1048576, 500000, 100000, 65536])
    far_col = rng.choice([16384, 4000, 702, 53])
    sheet = rng.choice([DECLARATION, SMELTERS, LOOKUP])
    style = rng.choice(["corner", "declared", "empty_styled", "far_row_only"])
    a1 = b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
    far = f"{column_letters(far_col)}{far_row}"
    if style == "corner":
        inner = a1 + f'<row r="{far_row}">'.encode() + _value(far, 1) + b"</row>"
        fn = sheet_data(inner)
    elif style == "declared":
        fn = sheet_data(a1, dimension=f"A1:{far}".encode())
    elif style == "empty_styled":
        fn = sheet_data(a1 + f'<row r="{far_row}"><c r="{far}" s="0"/></row>'.encode())
    else:
        fn = sheet_data(a1 + f'<row r="{far_row}">'.encode() + _value(f"A{far_row}", 1) + b"</row>")
    return Case("dimension", f"{style} {far} in {sheet}", with_part(sheet, fn))


def dense(rng: random.Random, max_rows: int = 400_000) -> Case:
    """Many small rows: cheap to compress, costly to build."""
    rows = rng.choice([10_000, 100_000, max_rows])
    cols = rng.choice([1, 2, 8])
    placed = rng.random() < 0.7  # Excel places every cell; some tools write neither r= nor row numbers
    sheet = rng.choice([DECLARATION, SMELTERS])
    return Case("dense", f"{rows} rows x {cols} {'placed' if placed else 'unplaced'} in {sheet}",
                _dense(rows, cols, placed, sheet))


@lru_cache(maxsize=64)  # a few dozen shapes, each costly to write: made once per process
def _dense(rows: int, cols: int, placed: bool, sheet: str) -> bytes:
    body = io.BytesIO()
    for r in range(1, rows + 1):
        if placed:
            body.write(f'<row r="{r}">'.encode() + b"".join(_value(f"{column_letters(c)}{r}", r) for c in range(1, cols + 1))
                       + b"</row>")
        else:
            body.write(b"<row>" + b"<c><v>1</v></c>" * cols + b"</row>")
    return with_part(sheet, sheet_data(body.getvalue()))


def wide(rng: random.Random) -> Case:
    """Cells in far columns (ZZZZ is beyond Excel's XFD), on several rows."""
    col = rng.choice(["ZZZZ", "XFD", "AAAAA", "ZZ"])
    rows = rng.choice([1, 10, 100, 1000])
    inner = b"".join(f'<row r="{r}">'.encode() + _value(f"A{r}", r) + _value(f"{col}{r}", r) + b"</row>"
                     for r in range(1, rows + 1))
    return Case("wide", f"column {col} on {rows} rows", with_part(DECLARATION, sheet_data(inner)))


_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
                      for i in range(1, 10)) + b"]>")


def entities(rng: random.Random) -> Case:
    """Billion laughs and external entities in the parts every reader parses."""
    target = rng.choice(["xl/workbook.xml", DECLARATION, "xl/styles.xml", "[Content_Types].xml",
                         "xl/_rels/workbook.xml.rels"])
    kind = rng.choice(["laughs", "external"])

    def fn(xml: bytes) -> bytes:
        body = re.sub(rb"^<\?xml[^>]*\?>", b"", xml)
        if kind == "laughs":
            return _LAUGHS + body.replace(b"</", b"&lol9;</", 1)
        return (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
                + body.replace(b"</", b"&ext;</", 1))
    return Case("entities", f"{kind} in {target}", with_part(target, fn))


def truncation(rng: random.Random) -> Case:
    """A part cut mid-tag, or the file cut short."""
    if rng.random() < 0.5:
        target = rng.choice([DECLARATION, SMELTERS, "xl/workbook.xml", "xl/styles.xml"])
        files = parts(base())
        files[target] = files[target][: rng.randint(1, len(files[target]) - 1)]
        return Case("truncation", f"{target} cut", pack(files))
    data = base()
    keep = rng.randint(30, len(data) - 1)
    return Case("truncation", f"file cut at {keep} of {len(data)}", data[:keep])


def _patch_headers(data: bytes, signature: bytes, offset: int, value: bytes) -> bytes:
    out = bytearray(data)
    i = 0
    while (i := out.find(signature, i)) >= 0:
        out[i + offset: i + offset + len(value)] = value
        i += 4
    return bytes(out)


def zip_structure(rng: random.Random) -> Case:
    """The zip's own fields: version needed, flags, method, sizes, duplicates, many parts, stored XML."""
    data = base()
    kind = rng.choice(["version", "flags", "method", "sizes", "duplicate", "many_parts", "stored", "comment"])
    if kind == "version":  # "version needed to extract": 14.8 makes Python's zipfile raise NotImplementedError
        v = bytes([rng.choice([148, 63, 99, 255]), 0])
        data = _patch_headers(_patch_headers(data, b"PK\x03\x04", 4, v), b"PK\x01\x02", 6, v)
    elif kind == "flags":  # "encrypted" and other general-purpose bits set on plain parts
        flag = struct.pack("<H", rng.choice([1, 8, 64, 0x2000]))
        data = _patch_headers(_patch_headers(data, b"PK\x03\x04", 6, flag), b"PK\x01\x02", 8, flag)
    elif kind == "method":  # a compression method nobody implements
        method = struct.pack("<H", rng.choice([1, 6, 12, 14, 98, 99]))
        data = _patch_headers(_patch_headers(data, b"PK\x03\x04", 8, method), b"PK\x01\x02", 10, method)
    elif kind == "sizes":  # the directory claims other sizes
        size = struct.pack("<I", rng.choice([0, 1, 0xFFFFFFFF, 10 << 20]))
        data = _patch_headers(data, b"PK\x01\x02", 24, size)
    elif kind == "duplicate":  # two parts of one name, the second hostile
        files = parts(data)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, body in files.items():
                zf.writestr(name, body)
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                zf.writestr(DECLARATION, sheet_data(b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')(
                    files[DECLARATION]))
        data = out.getvalue()
    elif kind == "many_parts":
        files = parts(data)
        files.update({f"xl/media/junk{i}.bin": b"" for i in range(rng.choice([100, 6000]))})
        data = pack(files)
    elif kind == "stored":  # no compression at all: large but honest
        data = pack(parts(data), compression=zipfile.ZIP_STORED)
    else:  # a zip comment that claims to be the end of the directory
        data = data + b"PK\x05\x06" + bytes(rng.randrange(256) for _ in range(40))
    return Case("zip", kind, data)


def nested(rng: random.Random) -> Case:
    """Zips inside: a CMRT embedded in a CMRT, a zip of CMRTs, a bomb as an embedded object."""
    kind = rng.choice(["embedded", "zip_of_files", "embedded_bomb"])
    if kind == "zip_of_files":
        return Case("nested", kind, pack({"a.xlsx": base(), "b.xlsx": base()}))
    files = parts(base())
    if kind == "embedded":
        files["xl/embeddings/inner.xlsx"] = dense(rng, max_rows=100_000).data
    else:
        files["xl/embeddings/inner.bin"] = pack({"zeros": b"\0" * (rng.choice([20, 200]) << 20)})
    return Case("nested", kind, pack(files))


def encryption(rng: random.Random) -> Case:
    """OLE containers: encrypted with an unknown password, damaged, or holding another document."""
    from msoffcrypto.format.ooxml import OOXMLFile

    kind = rng.choice(["unknown_password", "cut", "flipped", "ole_junk"])
    if kind == "ole_junk":
        return Case("encryption", kind, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(rng.randrange(256) for _ in range(4096)))
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(base())).encrypt(rng.choice(["s3cret", "VelvetSweatshop"]), out)
    data = out.getvalue()
    if kind == "cut":
        data = data[: rng.randint(600, len(data) - 1)]
    elif kind == "flipped":
        b = bytearray(data)
        for _ in range(rng.randint(1, 40)):
            b[rng.randrange(512, len(b))] ^= 1 << rng.randrange(8)
        data = bytes(b)
    return Case("encryption", kind, data)


def corner() -> bytes:
    """The one that took the product down: 9.5 KB, one cell at A1 and one at XFD1048576 (a reader
    handed it unsized asks for 512 GiB and aborts its process)."""
    return with_part(DECLARATION, sheet_data(b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
                                             b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))


def zip_version_14_8() -> bytes:
    """Every "version needed to extract" set to 14.8: Python's zipfile raises NotImplementedError."""
    return _patch_headers(_patch_headers(base(), b"PK\x03\x04", 4, b"\x94\x00"), b"PK\x01\x02", 6, b"\x94\x00")


def rows_of_two_cells(n: int) -> bytes:
    """n rows of two numbers in the Declaration: under the sizing limit, costly to read (1.8 M cells
    for n = 900,000 need ≈250 MB)."""
    return with_part(DECLARATION, sheet_data(
        b"".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>1</v></c></row>'.encode()
                 for r in range(1, n + 1))))


FAMILIES: dict[str, Callable[[random.Random], Case]] = {
    "dimension": dimension, "dense": dense, "wide": wide, "entities": entities, "truncation": truncation,
    "zip": zip_structure, "nested": nested, "encryption": encryption,
}


def cases(seed: int, n: int, families: list[str] | None = None) -> Iterator[Case]:
    """n cases, families in turn, each drawn from its own seeded generator."""
    names = families or list(FAMILIES)
    rng = random.Random(seed)
    for i in range(n):
        family = names[i % len(names)]
        yield FAMILIES[family](random.Random(rng.getrandbits(64)))

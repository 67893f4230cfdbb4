"""Hostile workbooks: reading is bounded before it starts (cmrt.sniff.SheetExtent), and whatever slips
through is read in a capped child process (cmrt.isolation), so no upload can take a process down."""

from __future__ import annotations

import functools
import os
import random
import signal
import threading
import time
import zipfile
from pathlib import Path

import pytest

import cmrt
from cmrt.builder import valid_builder, valid_cmrt
from cmrt.isolation import ReaderFailed, WorkbookGuard
from cmrt.reader import MAX_PRODUCT_ROWS, MAX_SMELTER_ROWS
from cmrt.reference import ReferenceFormatError, lookup_rows_from_workbook
from cmrt.sniff import MAX_SHEET_CELLS, SheetExtent, Unreadable
from tests import hostile_workbooks as hw

CORNER = hw.corner()


@pytest.fixture(scope="module")
def guard():
    g = WorkbookGuard(memory_mb=768, timeout_s=60)
    yield g
    g.close()


# --- sizing a sheet from its XML ---------------------------------------------------------------


def extent(xml: bytes, chunk: int = 7) -> tuple[int, int]:
    """Feed in small chunks, so tags cut across chunk boundaries are exercised too."""
    e = SheetExtent("sheet.xml", limit=10**12)
    for i in range(0, len(xml), chunk):
        e.feed(xml[i:i + chunk])
    e.close()
    return e.rows, e.columns


@pytest.mark.parametrize("chunk", [3, 7, 64, 1 << 20])
def test_extent_counts_cells_that_hold_something(chunk: int) -> None:
    xml = (b'<worksheet><sheetData><row r="2"><c r="B2"><v>1</v></c><c r="AA2" s="1"/></row>'
           b'<row r="9"><x:c r="C9" t="s"><v>0</v></x:c></row></sheetData></worksheet>')
    assert extent(xml, chunk) == (9, 3)  # AA2 is formatting only


@pytest.mark.parametrize("chunk", [5, 1 << 20])
def test_extent_places_cells_without_references_as_readers_do(chunk: int) -> None:
    xml = (b"<worksheet><sheetData><row><c><v>1</v></c><c><v>2</v></c></row>"
           b'<row r="5"><c r="D5"><v>1</v></c><c t="n"><v>3</v></c></row><row><c/><c><v>4</v></c></row>'
           b"</sheetData></worksheet>")
    assert extent(xml, chunk) == (6, 5)  # E5 after D5; B6 in the row after 5


def test_extent_stops_at_the_first_cell_past_the_limit() -> None:
    e = SheetExtent("xl/worksheets/sheet4.xml", limit=100)
    e.feed(b'<row r="1"><c r="J1"><v>1</v></c></row><row r="10"><c r="A10"><v>1</v></c></row>')
    with pytest.raises(Unreadable) as caught:
        e.feed(b'<row r="11"><c r="A11"><v>1</v></c></row>')
    assert caught.value.finding.code == "sheet_too_large"
    assert "J11" in caught.value.finding.message and "110" in caught.value.finding.message


def test_a_tag_that_never_ends_is_refused() -> None:
    e = SheetExtent("sheet.xml")
    e.feed(b'<row r="1"><c r="A1" ')
    with pytest.raises(Unreadable):
        for _ in range(100):
            e.feed(b'x="' + b"x" * 1024)


def test_every_real_template_is_within_the_limit() -> None:
    templates = sorted(Path(__file__).resolve().parents[2].glob("shared/cmrt/templates/*.xlsx"))
    if not templates:
        pytest.skip("the RMI templates are not in ../shared/cmrt/templates")
    for path in templates:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    rows, cols = extent(zf.read(name), chunk=1 << 20)
                    assert rows * cols < MAX_SHEET_CELLS / 10, (path.name, name, rows, cols)


# --- each hostile family, by example -------------------------------------------------------------


def test_one_cell_at_xfd1048576_is_a_finding_not_an_abort() -> None:
    r = cmrt.check(CORNER)
    assert r.verdict == "unreadable" and r.codes() == ["sheet_too_large"]
    assert "XFD1048576" in r.findings[0].message


def test_declared_dimension_and_empty_styled_cells_alone_are_harmless() -> None:
    for data in (hw.with_part(hw.DECLARATION, hw.sheet_data(b"", dimension=b"A1:XFD1048576")),
                 hw.with_part(hw.DECLARATION, hw.sheet_data(b'<row r="1048576"><c r="XFD1048576" s="0"/></row>'))):
        r = cmrt.check(data)
        assert r.verdict == "invalid" and "sheet_too_large" not in r.codes()


def test_zip_version_needed_byte_is_a_damaged_workbook() -> None:
    r = cmrt.check(hw.zip_version_14_8())
    assert r.verdict == "unreadable" and r.codes() == ["corrupt_workbook"]
    assert "zip feature Excel does not use" in r.findings[0].message


def _smelter_rows_xml(n: int) -> bytes:
    return b"".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>CID{r:06d}</t></is></c>'
                    f'<c r="B{r}" t="inlineStr"><is><t>Tin</t></is></c></row>'.encode() for r in range(5, n + 5))


def test_a_smelter_list_longer_than_any_cmrt_is_judged_on_its_first_rows() -> None:
    data = hw.with_part(hw.SMELTERS, hw.sheet_data(_smelter_rows_xml(MAX_SMELTER_ROWS + 50)))
    r = cmrt.check(data)
    assert r.verdict == "invalid" and "too_many_rows" in r.codes()
    assert len(r.smelters) == MAX_SMELTER_ROWS
    f = next(f for f in r.findings if f.code == "too_many_rows")
    assert f.sheet == "Smelter List" and f.cell == f"A{MAX_SMELTER_ROWS + 5}"


def test_a_smelter_list_at_the_limit_is_read_whole() -> None:
    r = cmrt.check(hw.with_part(hw.SMELTERS, hw.sheet_data(_smelter_rows_xml(MAX_SMELTER_ROWS))))
    assert "too_many_rows" not in r.codes() and len(r.smelters) == MAX_SMELTER_ROWS
    assert MAX_PRODUCT_ROWS > MAX_SMELTER_ROWS


def test_reference_and_supplier_imports_size_their_sheets_first() -> None:
    from outreach.suppliers import SupplierFileError, read_rows

    with pytest.raises(ReferenceFormatError, match="XFD1048576"):
        lookup_rows_from_workbook(CORNER)
    with pytest.raises(SupplierFileError, match="XFD1048576"):
        list(read_rows(CORNER, "suppliers.xlsx"))


# --- the child process ---------------------------------------------------------------------------


def test_guard_gives_the_same_verdict_as_the_library(guard: WorkbookGuard) -> None:
    from cmrt.reference import default_reference

    ref = default_reference()
    for data in (valid_cmrt(), valid_builder(cached_values=False).to_bytes(), CORNER, b"not a workbook"):
        inside, outside = guard.check(data, filename="a.xlsx", reference=ref), cmrt.check(data, filename="a.xlsx", reference=ref)
        assert inside.to_json_dict() == outside.to_json_dict()


def test_guard_reads_a_path_too(guard: WorkbookGuard, tmp_path: Path) -> None:
    path = tmp_path / "acme.xlsx"
    path.write_bytes(valid_cmrt())
    r = guard.check(path)
    assert r.verdict == "valid" and r.file == "acme.xlsx"


def test_a_reader_that_runs_out_of_memory_is_a_verdict_and_the_next_file_is_read() -> None:
    """1.8 million cells pass the sizing (under MAX_SHEET_CELLS) but not a 200 MB cap: the native reader's
    allocation fails and aborts its process (no exception can catch that), and only the child dies."""
    data = hw.rows_of_two_cells(900_000)
    g = WorkbookGuard(memory_mb=200, timeout_s=60)
    try:
        with pytest.raises(ReaderFailed) as caught:
            g.run("check", data)
        assert caught.value.reason == "memory"
        r = g.check(data, filename="big.xlsx")
        assert r.verdict == "unreadable" and r.codes() == ["reader_failed"], r.findings
        assert "200 MB of memory" in r.findings[0].message
        assert g.failures["memory"] == 2
        assert g.check(valid_cmrt()).verdict == "valid"  # a fresh child took over
    finally:
        g.close()
    assert cmrt.check(data).verdict == "invalid"  # with memory to spare, the same file is read and judged


def test_a_read_over_its_time_is_stopped() -> None:
    data = hw.with_part(hw.DECLARATION, hw.sheet_data(
        b"".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>'.encode() for r in range(1, 600_001))))
    g = WorkbookGuard(memory_mb=768, timeout_s=0.2)
    try:
        r = g.check(data)
        assert r.verdict == "unreadable" and "longer than 0.2 seconds" in r.findings[0].message
        assert g.failures["timeout"] == 1
    finally:
        g.close()


def test_a_child_killed_from_outside_is_replaced() -> None:
    g = WorkbookGuard(memory_mb=768, timeout_s=60)
    try:
        assert g.check(valid_cmrt()).verdict == "valid"
        (child,) = g._idle
        os.kill(child.proc.pid, signal.SIGKILL)
        child.proc.wait()
        assert g.check(valid_cmrt()).verdict == "valid"
    finally:
        g.close()


def test_concurrent_checks_share_the_children() -> None:
    g = WorkbookGuard(memory_mb=768, timeout_s=60, processes=2)
    verdicts: list[str] = []
    files = [valid_cmrt(), CORNER] * 3

    def one(data: bytes) -> None:
        verdicts.append(g.check(data).verdict)

    try:
        threads = [threading.Thread(target=one, args=(d,)) for d in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(verdicts) == sorted(["valid", "unreadable"] * 3)
        assert len(g._idle) <= 2
    finally:
        g.close()


def test_guard_refuses_nonsense_sizes() -> None:
    for kw in ({"memory_mb": 0}, {"timeout_s": -1}, {"processes": 0}):
        with pytest.raises(ValueError):
            WorkbookGuard(**kw)


# --- the seeded fuzz: every family, a verdict, no exception, a memory ceiling --------------------

FUZZ_CASES = 24 if os.environ.get("CI") else 16  # per family; bench/bench_fuzz.py runs 10,000


@pytest.mark.parametrize("family", list(hw.FAMILIES))
def test_fuzz_family(family: str, guard: WorkbookGuard) -> None:
    started = time.monotonic()
    rng = random.Random(f"hostile-{family}")
    for i in range(FUZZ_CASES):
        make = functools.partial(hw.dense, max_rows=150_000) if family == "dense" else hw.FAMILIES[family]
        case = make(random.Random(rng.getrandbits(64)))
        r = guard.check(case.data, filename="upload.xlsx")
        codes = r.codes()
        assert r.verdict in ("valid", "invalid", "unreadable"), case.name
        # neither the library's last-resort catch nor the child's cap may be what answered
        assert "internal_error" not in codes and "reader_failed" not in codes, (case.name, r.findings)
        assert (r.verdict == "valid") == (not any(f.severity == "error" for f in r.findings)), case.name
        assert guard.last_peak_mb < 400, (case.name, guard.last_peak_mb)
        assert all(f.message and "{" not in f.message for f in r.findings), case.name
        if time.monotonic() - started > 20:  # bounded: a slow machine runs fewer cases, never a longer test
            break
    assert i >= 3

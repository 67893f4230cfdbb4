"""Fuzz: deterministic, seeded mutations of workbooks. No exception escapes cmrt.check; every input gets
a verdict, and the verdict agrees with the findings."""

from __future__ import annotations

import io
import json
import random
import zipfile
from datetime import date, datetime, time

import pytest

import cmrt
from cmrt.builder import CMRTBuilder, valid_builder, valid_cmrt
from cmrt.rules import CHECKER_CODES

VALUES = [None, "", " ", 0, 1, -1.5, 1e308, "0", "Yes", "yes\t", "No", "NO ", "Unknown", "100%", 1.0, True, False,
          datetime(2024, 5, 2), date(1900, 1, 1), time(12, 0), "=1/0", "=A1", "@", "a@b", "x" * 3000,
          "Smelter not listed", "smelter NOT listed", "Smelter not yet identified", "CID000402", "CID", "cid000015",
          "1JPN072", "Tin", "Gold", "Cobalt", "同上", "€ñ✓", "02-May-2024", "31/02/2024", "99999999", 45414,
          "A. Company", "B. Product (or List of Products)", "C. User defined [Specify in 'Description of scope']"]
DECL_CELLS = [f"{c}{r}" for c in "DG" for r in range(1, 92)] + ["J3", "D2", "D3"]
SMELTER_CELLS = [f"{c}{r}" for c in "ABCDEFGHIJKLMNOPQR" for r in (4, 5, 6, 7, 8, 2504, 2505)]
PRODUCT_CELLS = ["B5", "B6", "C6", "D6", "B7", "B1001", "B2006"]
SHEETS = ["Revision", "Instructions", "Definitions", "Declaration", "Smelter List", "Checker", "Product List",
          "Smelter Look-up"]


def assert_verdict(result: cmrt.CheckResult) -> None:
    assert result.verdict in ("valid", "invalid", "unreadable")
    # the catch-all in check() is a last resort: a fuzz input reaching it is a bug to fix
    assert "internal_error" not in result.codes(), result.findings
    has_error = any(f.severity == "error" for f in result.findings)
    if result.verdict == "unreadable":
        assert has_error
    else:
        assert (result.verdict == "invalid") == has_error
    for f in result.findings:
        assert f.message and "{" not in f.message.replace("{}", ""), f
    # the Checker's count is None when it did not run (unreadable, another template, before 6.0)
    if result.verdict == "unreadable" or "template_outdated" in result.codes():
        assert result.checker_remaining is None
    assert sum(f.code in CHECKER_CODES for f in result.findings) == (result.checker_remaining or 0)
    json.dumps(result.to_json_dict())


def cell_mutation(rng: random.Random) -> CMRTBuilder:
    b = valid_builder(cached_values=rng.random() < 0.5, q6_style=rng.choice(["number", "text"]),
                      version=rng.choice(["6.01", "6.22", "6.4", "6.5"]))
    for _ in range(rng.randint(1, 12)):
        sheet, cells = rng.choice([("Declaration", DECL_CELLS), ("Smelter List", SMELTER_CELLS),
                                   ("Product List", PRODUCT_CELLS), ("Smelter Look-up", ["A5", "B5", "E5", "E6"])])
        b.cell(sheet, rng.choice(cells), rng.choice(VALUES))
    if rng.random() < 0.2:
        b.drop_sheet(rng.choice(SHEETS))
    if rng.random() < 0.2:
        b.rename_sheet(rng.choice(SHEETS), f"Sheet{rng.randint(1, 9)}")
    return b


@pytest.mark.parametrize("seed", range(60))
def test_cell_and_sheet_mutations(seed: int) -> None:
    rng = random.Random(seed)
    b = cell_mutation(rng)
    try:
        data = b.to_bytes()
    except (ValueError, TypeError) as exc:  # openpyxl refuses some values: not our input to judge
        pytest.skip(f"openpyxl cannot write this mutation: {exc}")
    assert_verdict(cmrt.check(data))


@pytest.fixture(scope="module")
def base_bytes() -> bytes:
    b = valid_builder()
    for i in range(30):
        b.smelter(metal="Tin", lookup_name="Dowa", mine_name=f"Mine {i}")
    return b.to_bytes()


@pytest.mark.parametrize("seed", range(40))
def test_byte_mutations(seed: int, base_bytes: bytes) -> None:
    rng = random.Random(1000 + seed)
    data = bytearray(base_bytes)
    kind = seed % 4
    if kind == 0:  # truncate
        data = data[: rng.randint(0, len(data) - 1)]
    elif kind == 1:  # flip bytes anywhere
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 2:  # random bytes, sometimes behind a zip or OLE signature
        data = bytearray(rng.randbytes(rng.randint(0, 4096)))
        if rng.random() < 0.5:
            data[:4] = rng.choice([b"PK\x03\x04", b"\xd0\xcf\x11\xe0"])
    else:  # splice: keep head and tail, drop a middle section
        a, z = sorted(rng.sample(range(len(data)), 2))
        data = data[:a] + data[z:]
    assert_verdict(cmrt.check(bytes(data)))


@pytest.mark.parametrize("seed", range(30))
def test_xml_part_mutations(seed: int, base_bytes: bytes) -> None:
    """A valid zip whose parts are damaged: calamine's own errors must become findings."""
    rng = random.Random(5000 + seed)
    source = zipfile.ZipFile(io.BytesIO(base_bytes))
    names = source.namelist()
    victim = rng.choice([n for n in names if n.endswith(".xml") or n.endswith(".rels")])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            content = source.read(name)
            if name == victim:
                mode = rng.randrange(4)
                if mode == 0:
                    content = content[: rng.randrange(max(len(content), 1))]
                elif mode == 1:
                    content = rng.randbytes(200)
                elif mode == 2:
                    content = content.replace(b"<c ", b"<c t=\"zz\" ", 5)
                else:
                    continue  # part missing altogether
            zf.writestr(name, content)
    assert_verdict(cmrt.check(out.getvalue()))


def test_every_fuzz_family_reaches_all_verdicts() -> None:
    """The fuzzers above are not trivially all-unreadable or all-valid."""
    verdicts = set()
    for seed in range(60):
        try:
            verdicts.add(cmrt.check(cell_mutation(random.Random(seed)).to_bytes()).verdict)
        except (ValueError, TypeError):
            continue
    verdicts.add(cmrt.check(valid_cmrt()[:500]).verdict)
    assert verdicts == {"valid", "invalid", "unreadable"}

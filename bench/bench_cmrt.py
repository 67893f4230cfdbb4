"""Benchmark: cmrt.check on a full-size CMRT 6.5 against the floor, a raw python-calamine read of every
sheet of the same file. Target: the check within 2x of the floor.

    .venv/bin/python bench/bench_cmrt.py [--runs 21] [--smelters 300] [--clock wall|cpu]

Workbooks measured:
- builder, Excel-like: the project's builder, 640-row Smelter Look-up, N smelter rows with cached values;
- builder, no cached values: the same written like a non-Excel tool (CIDs derived from the Look-up);
- RMI 6.5 filled: the official template (hidden sheets L, C, SorP included) filled with openpyxl, when
  ../shared/cmrt/templates is present.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cmrt  # noqa: E402
from cmrt.builder import SAMPLE_SMELTERS, valid_builder  # noqa: E402
from cmrt.reference import ReferenceList, default_reference  # noqa: E402

TEMPLATES = Path(__file__).resolve().parents[2] / "shared" / "cmrt" / "templates"


def raw_calamine_read(data: bytes) -> int:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    cells = 0
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        cells += sum(len(r) for r in rows)
    return cells


def paired_medians(floor: Callable[[], object], check: Callable[[], object], runs: int,
                   clock: Callable[[], float] = time.perf_counter) -> tuple[float, float]:
    """Median ms of each, measured alternately so that a noisy shared machine slows both alike."""
    floor()
    check()  # warm-up (imports, reference indexes)
    floors, checks = [], []
    for _ in range(runs):
        for fn, out in ((floor, floors), (check, checks)):
            t = clock()
            fn()
            out.append((clock() - t) * 1000)
    return statistics.median(floors), statistics.median(checks)


def builder_workbook(n_smelters: int, cached: bool) -> bytes:
    b = valid_builder(cached_values=cached).synthetic_lookup(640)
    lookup = b._lookup
    for i in range(n_smelters):
        row = lookup[i % len(lookup)] if i % 3 else SAMPLE_SMELTERS[i % len(SAMPLE_SMELTERS)]
        b.smelter(metal=row.metal, lookup_name=row.lookup_name, mine_name=f"Mine {i}", mine_country="BOLIVIA")
    for i in range(50):
        b.product(f"P-{i:04d}", name=f"Product {i}")
    return b.to_bytes()


def typed_names_workbook(n_smelters: int) -> bytes:
    """Rows a supplier typed by hand ('Smelter not listed' + a name): half are smelters of the shipped
    list with one typo, half are names no list knows. Every row goes through fuzzy matching."""
    import random

    from tests.test_smelters_matching import typo

    rnd = random.Random(5)
    known = default_reference().smelters()
    b = valid_builder(cached_values=False).synthetic_lookup(640)
    for i in range(n_smelters):
        s = known[(i * 7) % len(known)]
        name = typo(s.standard_name, rnd, 1) if i % 2 else f"{s.standard_name.split()[0]} Qz{i} Metals Works"
        b.smelter(metal=s.metal, lookup_name="Smelter not listed", name=name, country=s.country or "CHINA",
                  mine_name=f"Mine {i}", mine_country="BOLIVIA")
    return b.to_bytes()


def forget_template_versions(ref: ReferenceList) -> None:
    """Drop what the check keeps per template version (the parsed Smelter Look-up sheet, the reference
    merged with it), so the next check is the first one of its template version."""
    import cmrt.reader

    getattr(cmrt.reader, "_FILE_LOOKUPS", {}).clear()
    ref.__dict__.pop("_with_lookup", None)


def rmi_filled(n_smelters: int) -> bytes | None:
    path = TEMPLATES / "RMI_CMRT_6.5.xlsx"
    if not path.is_file():
        return None
    import openpyxl

    wb = openpyxl.load_workbook(path)
    d = wb["Declaration"]
    for ref, value in {"D8": "Acme", "D9": "A. Company", "D15": "Jane", "D16": "jane@acme.example.com",
                       "D17": "1", "D18": "John", "D20": "john@acme.example.com", "D22": "15-Jan-2025"}.items():
        d[ref] = value
    for first in (26, 32, 38, 44, 50, 56, 62, 68):
        for i in range(4):
            d[f"D{first + i}"] = "100%" if first == 56 else ("No" if first in (38, 44, 50) else "Yes")
    for row in (75, 77, 79, 81, 85, 87):
        d[f"D{row}"] = "Yes"
    d["D83"], d["D89"] = "Yes, in conformance with IPC1755 (e.g., CMRT)", "Yes, with the SEC"
    d["G77"] = "https://acme.example.com/policy"
    lookup = [r for r in wb["Smelter Look-up"].iter_rows(min_row=5, max_col=2, values_only=True)
              if r[0] and r[1] and not str(r[1]).startswith("Smelter not")]
    sl = wb["Smelter List"]
    for i in range(n_smelters):
        metal, alias = lookup[(i * 7) % len(lookup)]
        sl[f"B{5 + i}"], sl[f"C{5 + i}"] = metal, alias
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--smelters", type=int, default=300)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: this process's CPU time, steadier than wall time when other jobs load the machine")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    cases = [
        ("builder 6.5, Excel-like (cached values)", builder_workbook(args.smelters, True)),
        ("builder 6.5, no cached values", builder_workbook(args.smelters, False)),
        ("builder 6.5, typed names (all fuzzy)", typed_names_workbook(args.smelters)),
    ]
    rmi = rmi_filled(args.smelters)
    if rmi is not None:
        cases.append(("RMI 6.5 template filled (openpyxl, no cache)", rmi))
    print(f"{'workbook':44} {'reference':9} {'size':>6} {'floor':>6} {'check':>6} {'ratio':>5} "
          f"{'first':>6} {'ratio':>5}  verdict   [ms, {args.clock} clock; first = first file of its template version]")
    for label, data in cases:
        # "imported": a list that knows every smelter of the workbook (as after `outreach smelters import`
        # of the current template); "default": the small list that ships with the project, which the
        # check completes with the workbook's own Smelter Look-up sheet.
        imported = default_reference().merged(ReferenceList.from_cmrt_workbook(data))
        for ref_label, ref in (("imported", imported), ("default", default_reference())):
            result = cmrt.check(data, reference=ref)
            floor, checked = paired_medians(lambda: raw_calamine_read(data), lambda: cmrt.check(data, reference=ref),
                                            args.runs, clock)

            def first_of_version() -> None:
                forget_template_versions(ref)
                cmrt.check(data, reference=ref)

            _, first = paired_medians(lambda: None, first_of_version, max(args.runs // 3, 5), clock)
            print(f"{label:44} {ref_label:9} {len(data) / 1024:5.0f}K {floor:6.1f} {checked:6.1f} "
                  f"{checked / floor:5.2f} {first:6.1f} {first / floor:5.2f}  {result.verdict} "
                  f"({len(result.smelters)} rows, {len(result.findings)} findings)")


if __name__ == "__main__":
    main()

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
    ]
    rmi = rmi_filled(args.smelters)
    if rmi is not None:
        cases.append(("RMI 6.5 template filled (openpyxl, no cache)", rmi))
    print(f"{'workbook':48} {'reference':9} {'size':>7} {'floor ms':>9} {'check ms':>9} {'ratio':>6}  verdict"
          f"  [{args.clock} clock]")
    for label, data in cases:
        # "imported": a list that knows every smelter of the workbook (as after `outreach smelters import`
        # of the current template); "default": the small list that ships with the project, so unknown
        # smelters go through fuzzy matching.
        imported = default_reference().merged(ReferenceList.from_cmrt_workbook(data))
        for ref_label, ref in (("imported", imported), ("default", default_reference())):
            result = cmrt.check(data, reference=ref)
            floor, checked = paired_medians(lambda: raw_calamine_read(data), lambda: cmrt.check(data, reference=ref),
                                            args.runs, clock)
            print(f"{label:48} {ref_label:9} {len(data) / 1024:6.0f}K {floor:9.1f} {checked:9.1f} "
                  f"{checked / floor:6.2f}  {result.verdict} ({len(result.smelters)} smelter rows, "
                  f"{len(result.findings)} findings)")


if __name__ == "__main__":
    main()

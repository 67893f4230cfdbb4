"""Benchmark: does reading a CMRT through its version's data map (cmrt/data/cmrt-<version>.json) cost
anything? Median CPU ms of cmrt.check() on a blank official 6.5 (when ../shared/cmrt/templates is
present) and on a filled 6.5 (the project's builder, 300 smelter rows, cached values).

    .venv/bin/python bench/bench_cmrt_maps.py [--runs 31] [--code DIR]

--code DIR imports `cmrt` from DIR instead (e.g. an export of an earlier commit:
`git archive main cmrt | tar -x -C /tmp/before` then `--code /tmp/before`), so the same script measures
before and after; run them alternately, a few times each, on a shared machine. The workbooks are
always built with this checkout's builder, so both sides read the same bytes.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT.parent / "shared" / "cmrt" / "templates"


def workbooks() -> dict[str, bytes]:
    sys.path.insert(0, str(ROOT))
    from cmrt.builder import SAMPLE_SMELTERS, valid_builder

    smelters = [{"metal": r.metal, "lookup_name": r.lookup_name} for r in SAMPLE_SMELTERS] * 38  # 304 rows
    out = {"filled 6.5 (builder, 304 rows)": valid_builder(smelters=smelters).synthetic_lookup(640).to_bytes()}
    blank = TEMPLATES / "RMI_CMRT_6.5.xlsx"
    if blank.is_file():
        out["blank 6.5 (official template)"] = blank.read_bytes()
    for name in [m for m in sys.modules if m == "cmrt" or m.startswith("cmrt.")]:
        del sys.modules[name]  # measure the cmrt of --code, not the builder's
    sys.path.remove(str(ROOT))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--code", type=Path, default=ROOT)
    args = parser.parse_args()
    data = workbooks()
    sys.path.insert(0, str(args.code))
    cmrt = importlib.import_module("cmrt")
    assert Path(cmrt.__file__).resolve().is_relative_to(args.code.resolve()), cmrt.__file__
    for name, content in data.items():
        cmrt.check(content)  # warm-up: imports, reference indexes, the file's Look-up cache
        times = []
        for _ in range(args.runs):
            start = time.process_time()
            result = cmrt.check(content)
            times.append((time.process_time() - start) * 1000)
        print(f"{name:34} {statistics.median(times):7.1f} ms  (checker {result.checker_remaining}, "
              f"{len(result.findings)} findings)  cmrt from {args.code}")


if __name__ == "__main__":
    main()

"""Long-run fuzz of hostile workbooks: every family of tests/hostile_workbooks.py through the same
guard the product uses (a child process with a memory cap), counting verdicts, crashes, the slowest
and hungriest case and the peak memory per family.

    .venv/bin/python bench/bench_fuzz.py [--cases 10000] [--seed 1] [--memory-mb 1024]

A "crash" is a case the library's own bounds did not answer: an internal_error, or a reader_failed
(the child ran out of memory, overran its time or died). Each would have taken a process down
without the guard. Figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cmrt.isolation import WorkbookGuard  # noqa: E402
from tests.hostile_workbooks import FAMILIES, cases  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--memory-mb", type=int, default=1024)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    guard = WorkbookGuard(memory_mb=args.memory_mb, timeout_s=args.timeout, processes=1)
    per: dict[str, dict] = {f: {"cases": 0, "verdicts": collections.Counter(), "crashes": 0, "slowest_s": 0.0,
                                "slowest": "", "peak_mb": 0.0, "hungriest": "", "seconds": 0.0, "bytes_max": 0}
                            for f in FAMILIES}
    crashes: list[str] = []
    started = time.perf_counter()
    for i, case in enumerate(cases(seed=args.seed, n=args.cases)):
        t = time.perf_counter()
        result = guard.check(case.data, filename="upload.xlsx")
        dt = time.perf_counter() - t
        s = per[case.family]
        s["cases"] += 1
        s["seconds"] += dt
        s["verdicts"][result.verdict] += 1
        s["bytes_max"] = max(s["bytes_max"], len(case.data))
        codes = result.codes()
        if "internal_error" in codes or "reader_failed" in codes:
            s["crashes"] += 1
            crashes.append(f"{case.family}: {case.name}: {result.findings[0].message}")
        if dt > s["slowest_s"]:
            s["slowest_s"], s["slowest"] = dt, case.name
        if guard.last_peak_mb > s["peak_mb"]:
            s["peak_mb"], s["hungriest"] = guard.last_peak_mb, case.name
        if (i + 1) % 500 == 0:
            print(f"{i + 1} cases, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    guard.close()
    total = time.perf_counter() - started

    print(f"{args.cases} cases, seed {args.seed}, child memory cap {args.memory_mb} MB: {total:.0f} s, "
          f"{sum(s['crashes'] for s in per.values())} crashes")
    print("| family | cases | valid / invalid / unreadable | crashes | mean | slowest | peak memory | largest file |")
    print("|---|---|---|---|---|---|---|---|")
    for family, s in per.items():
        v = s["verdicts"]
        print(f"| {family} | {s['cases']} | {v['valid']} / {v['invalid']} / {v['unreadable']} | {s['crashes']} | "
              f"{1000 * s['seconds'] / max(s['cases'], 1):.0f} ms | {s['slowest_s']:.2f} s ({s['slowest']}) | "
              f"{s['peak_mb']:.0f} MB ({s['hungriest']}) | {s['bytes_max'] / 1e6:.1f} MB |")
    for line in crashes[:20]:
        print("crash:", line)
    if args.json:
        args.json.write_text(json.dumps({"cases": args.cases, "seconds": total, "families": per}, default=dict, indent=2))


if __name__ == "__main__":
    main()

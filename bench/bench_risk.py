"""Smelter risk with compliance's lists: what grading with a watch list and cross-recognition lists costs.

    .venv/bin/python bench/bench_risk.py [--entries 100,1000,5000] [--runs 5]

- grade: ``assess_smelter`` per call (the pure rule, reasons included);
- check: ``cmrt.check`` of a CMRT listing every smelter of the shipped list (333 rows), with no register
  and with a register naming a third of them on the watch list and a third as LBMA-recognised;
- register: building the register from N stored entries on SQLite (``load_reference`` after an import:
  every entry is matched to a smelter, as the worker does once after each change), N = --entries.

Prints medians over --runs (wall clock; CPU time of this process alongside, the steadier figure on a
shared machine) and the ratios that matter: check with/without a register, register time per entry.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn, runs: int) -> tuple[float, float]:
    wall, cpu = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", default="100,1000,5000")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    import cmrt
    from cmrt.builder import valid_builder
    from cmrt.reference import default_reference
    from cmrt.risk import PeerAssessment, RiskRegister, SmelterRiskFacts, WatchHit, assess_smelter

    ref = default_reference()
    smelters = ref.smelters()

    n = 20_000
    w, c = _timed(lambda: [assess_smelter(rmap_status="Not Enrolled", country="RWANDA",
                                          source_countries=["DRC"], watch=[WatchHit("NGO", None, "x")],
                                          peers=[PeerAssessment("LBMA")]) for _ in range(n)], 3)
    print(f"grade: {w / n * 1e6:.1f} µs per smelter (cpu {c / n * 1e6:.1f} µs)")

    data = valid_builder("Bench Metals", [{"metal": s.metal, "cid": s.cid, "lookup_name": s.standard_name}
                                          for s in smelters]).to_bytes()
    register = RiskRegister({s.cid: SmelterRiskFacts(
        watch=(WatchHit("NGO report", None, "note"),) if i % 3 == 0 else (),
        peers=(PeerAssessment("LBMA", s.standard_name),) if i % 3 == 1 else ()) for i, s in enumerate(smelters)})
    with_register = ref.with_risk_register(register)
    cmrt.check(data, reference=ref)
    cmrt.check(data, reference=with_register)  # warm both lists' indexes
    base_w, base_c = _timed(lambda: cmrt.check(data, reference=ref), args.runs)
    reg_w, reg_c = _timed(lambda: cmrt.check(data, reference=with_register), args.runs)
    print(f"check, {len(smelters)} smelter rows: no register {base_w * 1000:.0f} ms (cpu {base_c * 1000:.0f}), "
          f"with register {reg_w * 1000:.0f} ms (cpu {reg_c * 1000:.0f}): ratio {reg_c / base_c:.2f}")

    from outreach.db import make_engine, upgrade_database
    from outreach.reference_store import _LOADED, load_reference
    from outreach.risk_store import import_risk_list

    for size in (int(x) for x in args.entries.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade_database(url)
            engine = make_engine(url)
            lines = ["Smelter,Metal,Source,Date"]
            for i in range(size):
                s = smelters[i % len(smelters)]
                name = s.standard_name if i % 4 else f"Unlisted Refinery {i}"  # a quarter match nothing
                lines.append(f'"{name}",{s.metal},Source {i},2025-01-01')
            import_risk_list(engine, "\n".join(lines).encode(), kind="watchlist", by="bench")

            def load():
                _LOADED.clear()
                load_reference(engine)

            w, c = _timed(load, args.runs)
            print(f"register from {size:,} entries: {w * 1000:.0f} ms (cpu {c * 1000:.0f}), "
                  f"{c / size * 1e6:.0f} µs cpu per entry")
            engine.dispose()


if __name__ == "__main__":
    main()

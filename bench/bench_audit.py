"""Audit trail: appends per second with concurrent writers (each its own transaction), and verification speed.

    .venv/bin/python bench/bench_audit.py [--appends 2000] [--threads 4] [--verify 100000] [--postgres URL]

Prints appends/s (and checks the chain holds with every entry), then entries verified per second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from outreach import audit  # noqa: E402
from outreach.db import make_engine, session_scope, upgrade_database  # noqa: E402


def entry(i: int) -> dict:
    return dict(actor="ana.analyst@company.test", action="survey.deadline_extended", object_type="survey",
                object_id=f"survey/cmrt-2025/S-{i}", campaign_id="cmrt-2025", reason="supplier asked for two weeks",
                before={"due_at": datetime(2025, 6, 30, tzinfo=timezone.utc), "answer_by": None},
                after={"due_at": datetime(2025, 7, 14, tzinfo=timezone.utc), "details": {"by": "ana"}})


def run(url: str, appends: int, threads: int, verify_n: int) -> None:
    upgrade_database(url)
    engine = make_engine(url)
    start_count = audit.verify(engine).count
    per = appends // threads

    def write(w: int) -> None:
        for i in range(per):
            audit.record_now(engine, **entry(w * per + i))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, range(threads)))
    dt = time.perf_counter() - t0
    result = audit.verify(engine)
    assert result.ok and result.count == start_count + per * threads, result
    print(f"{engine.dialect.name}: {per * threads} appends from {threads} writers in {dt:.2f}s "
          f"= {per * threads / dt:.0f} appends/s; chain holds ({result.count} entries)")

    # Verification: fill in bulk (one transaction), then time verify over everything.
    missing = verify_n - result.count
    if missing > 0:
        with session_scope(engine) as session:
            for i in range(missing):
                audit.record(session, **entry(i))
    t0 = time.perf_counter()
    result = audit.verify(engine)
    dt = time.perf_counter() - t0
    print(f"{engine.dialect.name}: verified {result.count} entries in {dt:.2f}s = {result.count / dt:.0f} entries/s")
    engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--appends", type=int, default=2000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--verify", type=int, default=100_000)
    p.add_argument("--postgres")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        run(f"sqlite:///{d}/bench.db", a.appends, a.threads, a.verify)
    if a.postgres:
        run(a.postgres, a.appends, a.threads, a.verify)


if __name__ == "__main__":
    main()

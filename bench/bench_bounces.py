"""Bounces: reading one report per relay style, and recording one as the outbox grows.

    .venv/bin/python bench/bench_bounces.py [--runs 200] [--sizes 1000,10000,50000]

Parsing: the median time of outreach.bounces.parse.read_bounce per relay style, against the floor of
parsing the same bytes with email.message_from_bytes alone (ratio = read / floor). Recording: the median
time of record_bounce (tie, write, audit entry, one transaction) on SQLite with N messages in the outbox,
tied by return path and by Message-ID: flat with N when both lookups use their index.
"""

from __future__ import annotations

import argparse
import email
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.tables import OutboxMessage  # noqa: E402
from outreach.bounces.parse import read_bounce  # noqa: E402
from outreach.bounces.record import record_bounce  # noqa: E402
from outreach.db import make_engine, session_scope, upgrade_database  # noqa: E402
from outreach.settings import load_settings  # noqa: E402
from tests import bounce_samples as samples  # noqa: E402

BOX = "bounces@company.test"


def median_us(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def bench_parse(runs: int) -> None:
    print("| relay style | floor (email parse) | read_bounce | ratio |\n|---|---:|---:|---:|")
    styles = {**samples.HARD_STYLES, "soft (postfix 4.2.2)": samples.postfix_mailbox_full,
              "auto-reply": samples.out_of_office}
    for name, build in styles.items():
        raw = build("bounces+0123456789abcdef0123@company.test", "jane@acme.test", "<abc@company.test>")
        floor = median_us(lambda: email.message_from_bytes(raw), runs)
        read = median_us(lambda: read_bounce(raw, BOX), runs)
        print(f"| {name} | {floor:.0f} µs | {read:.0f} µs | {read / floor:.1f} |")


def bench_record(sizes: list[int], runs: int) -> None:
    print("\n| messages in the outbox | tied by return path | tied by Message-ID |\n|---:|---:|---:|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/b.db"
            upgrade_database(url)
            engine = make_engine(url)
            settings = load_settings(data_dir=Path(tmp), database_url=url)
            with session_scope(engine) as s:
                s.bulk_insert_mappings(OutboxMessage, [dict(
                    idempotency_key=f"survey/c/S-{i}/request/r0/n0", template="request", to_addr=f"p{i}@acme.test",
                    cc_addrs=[], subject="s", body_text="b", message_id=f"<m{i}@company.test>", status="sent",
                    return_token=f"{i:020x}", attempts=1, soft_bounces=0, created_at=datetime.now(timezone.utc))
                    for i in range(n)])
            results = []
            for tie in ("return path", "message id"):
                counter = iter(range(10**9))

                def one() -> None:
                    i = next(counter) * 7 % n
                    to = f"bounces+{i:020x}@company.test" if tie == "return path" else BOX
                    raw = samples.postfix_dsn(to, f"p{i}@acme.test", f"<m{i}@company.test>") + f"{tie}{i}".encode()
                    reading = read_bounce(raw, BOX)
                    t = time.perf_counter()
                    assert record_bounce(engine, settings, raw, reading, datetime.now(timezone.utc)) is not None
                    times.append(time.perf_counter() - t)

                times: list[float] = []
                for _ in range(min(runs, n // 2)):
                    one()
                results.append(statistics.median(times) * 1e3)
            engine.dispose()
        print(f"| {n:,} | {results[0]:.2f} ms | {results[1]:.2f} ms |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--sizes", default="1000,10000,50000")
    args = ap.parse_args()
    bench_parse(args.runs)
    bench_record([int(x) for x in args.sizes.split(",")], args.runs)


if __name__ == "__main__":
    main()

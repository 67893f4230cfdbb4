"""Scorecard updates per second with concurrent writers on one scorecard (SQLite, and PostgreSQL if reachable).

    .venv/bin/python bench/bench_scorecards.py [--events 400] [--threads 4] [--postgres URL]

Prints events/s and checks nothing was lost (events_applied == events).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.scorecards import Scorecard, ScorecardEvent  # noqa: E402
from outreach.db import make_engine, session_scope, upgrade_database  # noqa: E402
from outreach.scorecards import update_scorecard  # noqa: E402
from sqlmodel import select  # noqa: E402
from tests.scorecard_data import T0, add_submission, add_supplier_survey, check_result  # noqa: E402

def run(url: str, events: int, threads: int) -> None:
    upgrade_database(url)
    engine = make_engine(url)
    sid = add_supplier_survey(engine, f"BENCH-{int(time.time() * 1000)}")
    add_submission(engine, sid, check_result(smelters=[("Gold", "CID000015", "Conformant")] * 50), at=T0)
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda n: update_scorecard(engine, ScorecardEvent(
            survey_id=sid, kind="correction_round", at=T0 + timedelta(seconds=n))), range(events)))
    elapsed = time.perf_counter() - start
    with session_scope(engine) as s:
        card = s.exec(select(Scorecard).where(Scorecard.survey_id == sid)).one()
    engine.dispose()
    print(f"{url.split(':')[0]:<20} {events} events, {threads} threads: {events / elapsed:7.1f} events/s, "
          f"lost {events - card.events_applied}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=400)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--postgres", help="also a PostgreSQL URL (a scratch database: the schema is migrated and rows added)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", args.events, args.threads)
    if args.postgres:
        run(args.postgres, args.events, args.threads)


if __name__ == "__main__":
    main()

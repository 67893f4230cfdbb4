"""Retention: `plan` and `purge` of a closed campaign past its period, at growing sizes.

    .venv/bin/python bench/bench_retention.py [--sizes 1000,4000,16000] [--postgres URL]

Each size is a fresh database with one campaign closed six years ago: per survey 5 timeline events, one
submission with 3 findings and its stored file (10 KB on disk), 2 e-mails, 5 audit entries; one supplier
in 50 under legal hold (the last ones). Prints seconds and peak Python memory (tracemalloc) for the plan and the purge,
then checks what is left: the held suppliers' surveys, their files, a chain that verifies.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session, func, select  # noqa: E402

from models.tables import (AuditEntry, Campaign, Finding, OutboxMessage, StoredFile, Submission, Supplier, Survey,  # noqa: E402
                           SurveyEvent)
from outreach import audit, holds  # noqa: E402
from outreach.db import make_engine, session_scope, upgrade_database  # noqa: E402
from outreach.retention import plan, purge  # noqa: E402
from outreach.storage import FileStore  # noqa: E402

NOW = datetime.now(timezone.utc)
CLOSED = NOW - timedelta(days=6 * 366)
HELD_EVERY = 50


def seed(engine, store: FileStore, n: int) -> None:
    with session_scope(engine) as s:
        s.add(Campaign(id="cmrt-2019", year=2019, name="CMRT 2019", state="closed", closed_at=CLOSED))
        for i in range(n):
            s.add(Supplier(id=f"S-{i}", name=f"Supplier {i}"))
        s.flush()
        for i in range(n):
            sid = f"survey/cmrt-2019/S-{i}"
            s.add(Survey(id=sid, campaign_id="cmrt-2019", supplier_id=f"S-{i}", state="closed", outcome="valid"))
        s.flush()
        for i in range(n):
            sid = f"survey/cmrt-2019/S-{i}"
            data = f"workbook {i}".encode() * 1000
            sha = hashlib.sha256(data).hexdigest()
            path = store.path_for(sha)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            s.add(StoredFile(sha256=sha, size=len(data), stored_at=CLOSED - timedelta(days=60)))
            for k in range(5):
                s.add(SurveyEvent(survey_id=sid, seq=k + 1, at=CLOSED, kind="reminder_sent"))
            for k in range(2):
                s.add(OutboxMessage(idempotency_key=f"{sid}/m{k}", survey_id=sid, campaign_id="cmrt-2019",
                                    template="reminder", to_addr="a@b.test", subject="s", body_text="b" * 500,
                                    message_id=f"<{i}.{k}>"))
        s.flush()
        for i in range(n):
            sid = f"survey/cmrt-2019/S-{i}"
            sha = hashlib.sha256(f"workbook {i}".encode() * 1000).hexdigest()
            s.add(Submission(id=f"{sid}/submission/1", survey_id=sid, file_sha256=sha, received_at=CLOSED))
        s.flush()
        for i in range(n):
            for k in range(3):
                s.add(Finding(submission_id=f"survey/cmrt-2019/S-{i}/submission/1", code="q1_missing",
                              severity="error", message="Question 1 is not answered."))
        # The chain built here in bulk (the product appends through audit.record, one at a time).
        prev = audit.GENESIS
        for i in range(n):
            for k in range(5):
                e = AuditEntry(seq=i * 5 + k + 1, at=CLOSED, actor="the product", action="survey.reminder_sent",
                               object_type="survey", object_id=f"survey/cmrt-2019/S-{i}", campaign_id="cmrt-2019",
                               before={"reminders": k}, after={"reminders": k + 1}, prev_hash=prev, hash="")
                e.hash = prev = audit.entry_hash(e)
                s.add(e)
    for i in held_suppliers(n):
        holds.place(engine, "supplier", f"S-{i}", "bench hold", by="bench")


def held_suppliers(n: int) -> range:
    """The last suppliers seeded: their entries come last in the chain, so the older ones can go before them
    (a held supplier's entry stops the prefix wherever it stands)."""
    return range(n - n // HELD_EVERY, n)


def timed(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, dt, peak / 1e6


def run(url: str, n: int, files: Path) -> None:
    upgrade_database(url)
    engine = make_engine(url)
    store = FileStore(files, engine)
    t0 = time.perf_counter()
    seed(engine, store, n)
    seeded = time.perf_counter() - t0
    p, dt_plan, mem_plan = timed(lambda: plan(engine, years=5))
    [due] = p.due
    r, dt_purge, mem_purge = timed(lambda: purge(engine, store, years=5, by="bench"))
    held = len(held_suppliers(n))
    with Session(engine) as s:
        left = s.exec(select(func.count()).select_from(Survey)).one()
    v = audit.verify(engine)
    assert left == held and v.ok and r.files == n - held, (left, held, v, r.files)
    assert sum(1 for _ in files.rglob("*") if _.is_file()) == held
    print(f"{engine.dialect.name} {n:>6} surveys (seeded in {seeded:.0f}s): plan {dt_plan:.2f}s peak {mem_plan:.0f} MB "
          f"({due.counts['surveys']} surveys, {due.counts['files']} files, {p.audit_prefix} audit entries); "
          f"purge {dt_purge:.2f}s peak {mem_purge:.0f} MB; {r.audit_entries} audit entries behind checkpoint "
          f"{r.checkpoint}; {left} held surveys left, chain verifies")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,4000,16000")
    ap.add_argument("--postgres", default="")
    args = ap.parse_args()
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            if args.postgres:
                import psycopg
                from sqlalchemy.engine import make_url

                conninfo = make_url(args.postgres).set(drivername="postgresql").render_as_string(hide_password=False)
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
                    conn.execute("CREATE SCHEMA public")
                url = args.postgres
            else:
                url = f"sqlite:///{tmp}/bench.db"
            run(url, n, Path(tmp) / "files")


if __name__ == "__main__":
    main()

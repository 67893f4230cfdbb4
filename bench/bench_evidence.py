"""The evidence pack at a large company's size: size, build time and peak memory of `outreach evidence`.

    .venv/bin/python bench/bench_evidence.py [--sizes 1000,5000] [--runs 3] [--file-kb 10]

The read model is bench/bench_reports.py's (N surveys, one or two submissions each, findings, the check
results), filled reproducibly with bulk inserts, plus what the pack reads beyond the report: every
submission's file in the file store (the fixture builder's CMRT, padded to ``--file-kb``, each made unique),
a timeline of 4 events per survey, 3 e-mails per survey in the outbox, a scorecard per supplier, and the
audit trail (one chained entry per event). Each build runs in a fresh process writing the zip to disk;
it prints the median wall-clock and CPU time, the pack's size and entries, and the process's peak
resident memory against its memory before the build.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_reports import CAMPAIGN, T0, fill  # noqa: E402 - the report bench's read model, reused


def fill_pack(url: str, store_dir: Path, n: int, *, file_kb: int, seed: int = 2026) -> None:
    """The report bench's N surveys, then the files, timelines, e-mails, scorecards and audit trail."""
    from sqlalchemy import insert, select, update

    from cmrt.builder import valid_cmrt
    from models.scorecards import Scorecard
    from models.tables import OutboxMessage, StoredFile, Submission, Survey, SurveyEvent
    from outreach import audit
    from outreach.db import make_engine, session_scope
    from outreach.storage import FileStore

    fill(url, n, seed)
    engine = make_engine(url)
    store = FileStore(store_dir)
    rng = random.Random(seed)
    base = valid_cmrt()
    base += b"\0" * max(0, file_kb * 1024 - len(base))
    with engine.connect() as conn:
        subs = conn.execute(select(Submission.id, Submission.survey_id, Submission.received_at)
                            .order_by(Submission.id)).all()
        all_surveys = conn.execute(select(Survey.id, Survey.supplier_id).order_by(Survey.id)).all()
    for start in range(0, len(subs), 1000):
        files, moves = [], []
        for sub_id, _, at in subs[start:start + 1000]:
            data = base + sub_id.encode()  # unique content, so a unique hash, as real files have
            sha = store.put(data)
            files.append({"sha256": sha, "size": len(data), "stored_at": at, "original_filename": "cmrt.xlsx",
                          "content_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
            moves.append((sub_id, sha))
        with engine.begin() as conn:
            conn.execute(insert(StoredFile), files)
            for sub_id, sha in moves:
                conn.execute(update(Submission).where(Submission.id == sub_id).values(file_sha256=sha))
    kinds = ("survey_started", "request_sent", "reminder_sent", "submission_checked")
    for start in range(0, len(all_surveys), 500):
        events, mail, cards = [], [], []
        with session_scope(engine) as session:
            for survey_id, supplier_id in all_surveys[start:start + 500]:
                for seq, kind in enumerate(kinds, 1):
                    at = T0 + timedelta(days=seq, seconds=rng.randrange(3600))
                    events.append({"survey_id": survey_id, "seq": seq, "at": at, "kind": kind, "state": "awaiting_response",
                                   "reason": f"{kind.replace('_', ' ')}", "data": {"n": seq}})
                    audit.record(session, actor=None, action=f"survey.{kind}", object_type="survey",
                                 object_id=survey_id, campaign_id=CAMPAIGN, after={"state": "awaiting_response"}, at=at)
                for k, template in enumerate(("request", "reminder", "accepted")):
                    at = T0 + timedelta(days=1 + 10 * k)
                    mail.append({"idempotency_key": f"survey/{CAMPAIGN}/{supplier_id}/{template}", "survey_id": survey_id,
                                 "template": template, "to_addr": f"contact@{supplier_id.lower()}.example.com",
                                 "cc_addrs": [], "subject": f"Conflict minerals survey 2026: {template}",
                                 "body_text": "Dear supplier,\n\n" + "Please send your CMRT. " * 40,
                                 "body_html": "<p>Dear supplier,</p>" + "<p>Please send your CMRT.</p>" * 40,
                                 "message_id": f"<{supplier_id}.{template}@bench>", "campaign_id": CAMPAIGN,
                                 "status": "sent", "attempts": 1, "created_at": at, "sent_at": at})
                cards.append({"id": f"{supplier_id}:2026", "supplier_id": supplier_id, "year": 2026,
                              "campaign_id": CAMPAIGN, "survey_id": survey_id, "components": {}, "reasons": [],
                              "events_by_kind": {}, "updated_at": T0})
            session.execute(insert(SurveyEvent), events)
            session.execute(insert(OutboxMessage), mail)
            session.execute(insert(Scorecard), cards)
    engine.dispose()


def measure(url: str, store_dir: str) -> dict:
    """One build in this (fresh) process."""
    import resource

    from outreach.db import make_engine
    from outreach.evidence.pack import build_pack
    from outreach.reports.smelters import current_reference
    from outreach.storage import FileStore

    from outreach.evidence import pack

    def rss() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The peak so far at the start of each phase: every case written (the pack's own streaming part), then
    # the report and scorecards (the report code's, which holds a campaign's figures in memory).
    phases: dict[str, float] = {}
    for name, label in (("_write_report", "after_cases_mb"), ("_write_reference", "after_report_mb")):
        def wrapped(*a, _f=getattr(pack, name), _label=label, **kw):
            phases[_label] = rss()
            phases[_label.replace("_mb", "_s")] = time.perf_counter() - start
            return _f(*a, **kw)
        setattr(pack, name, wrapped)
    engine = make_engine(url)
    current_reference(engine)
    base = rss()
    with tempfile.TemporaryDirectory(dir=Path(store_dir).parent) as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        with open(Path(tmp) / "pack.zip", "wb") as out:
            summary = build_pack(engine, FileStore(Path(store_dir), engine), CAMPAIGN, out, by="bench",
                                 company="Acme", sender="bench@example.com")
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {**phases, "seconds": elapsed, "cpu": cpu, "peak_mb": peak, "base_mb": base, "bytes": summary.size,
            "entries": summary.entries, "files": summary.files, "missing": summary.files_missing,
            "emails": summary.emails, "audit": summary.audit_entries, "manifest": summary.manifest_sha256[:12]}


def run(sizes: list[int], runs: int, file_kb: int, workdir: Path, reuse: bool = False) -> None:
    for n in sizes:
        db, store = workdir / f"evidence-{n}.db", workdir / f"store-{n}"
        url = f"sqlite:///{db}"
        if not (reuse and db.exists()):
            start = time.perf_counter()
            fill_pack(url, store, n, file_kb=file_kb)
            print(f"N={n}: filled in {time.perf_counter() - start:.1f} s", flush=True)
        samples = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, __file__, "--measure", "--url", url, "--store", str(store)],
                                 check=True, capture_output=True, text=True, cwd=ROOT)
            samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
        secs, cpu = [s["seconds"] for s in samples], [s["cpu"] for s in samples]
        s0 = samples[0]
        print(f"N={n:>5} build median {statistics.median(secs):7.1f} s (min {min(secs):.1f})  cpu median "
              f"{statistics.median(cpu):7.1f} s  pack {s0['bytes'] / 1e6:7.1f} MB, {s0['entries']} entries "
              f"({s0['files']} files, {s0['emails']} e-mails, {s0['audit']} audit entries, {s0['missing']} missing)  "
              f"peak {max(s['peak_mb'] for s in samples):5.0f} MB (before: {s0['base_mb']:.0f} MB; every case "
              f"written at {s0['after_cases_s']:.0f} s with {s0['after_cases_mb']:.0f} MB, report at "
              f"{s0['after_report_s']:.0f} s with {s0['after_report_mb']:.0f} MB)  "
              f"manifest {', '.join(sorted({s['manifest'] for s in samples}))}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--file-kb", type=int, default=10, help="size of each stored CMRT (the builder's is ~10 KB; "
                                                             "real ones 300 KB-1.6 MB)")
    ap.add_argument("--workdir", help="where the databases, stores and packs go (default: a temporary folder)")
    ap.add_argument("--reuse", action="store_true", help="measure the fills already in --workdir")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.url, args.store)))
        return
    sizes = [int(x) for x in args.sizes.split(",") if x]
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        run(sizes, args.runs, args.file_kb, Path(args.workdir), args.reuse)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp:
            run(sizes, args.runs, args.file_kb, Path(tmp))


if __name__ == "__main__":
    main()

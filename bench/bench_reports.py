"""The campaign report at a large company's size: a read model of N surveys, filled reproducibly with bulk
inserts (not through the workflows), and the report's faces measured on it.

    .venv/bin/python bench/bench_reports.py [--sizes 1000,5000] [--runs 5] [--postgres URL]

Each survey: a supplier, one submission or two (about a third corrected an invalid first round, so
superseded rounds are in the table as in a real campaign), the CheckResult JSON with about 20 smelter rows
from the shipped reference list, a few findings; 1 survey in 10 never answered. Each measurement runs in
a fresh process (its peak memory is that process's maximum resident set), ``--runs`` times; prints the
median and p95 wall-clock time, the median CPU time of the process (SQLite runs inside it; on a shared
machine the steadier figure) and the largest peak memory:

- figures: ``campaign_figures`` (what every face below starts with)
- page: the report page's work (figures, the HTML fragment and the draft)
- json: ``outreach report rcoi --campaign ID --json`` (figures and the JSON text)
- xlsx: ``outreach report rcoi --campaign ID --xlsx`` (figures and the workbook)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CAMPAIGN = "cmrt-2026"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
SMELTERS_CSV = ROOT.parent / "shared" / "data" / "smelters_juniper_2020.csv"
OPERATIONS = ("figures", "page", "json", "xlsx")


def _smelters() -> list[dict[str, str]]:
    if SMELTERS_CSV.exists():
        with SMELTERS_CSV.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        return [{"cid": r["smelter_id"], "metal": r["metal"], "name": r["standard_smelter_name"] if "standard_smelter_name" in r
                 else r.get("name", ""), "country": r.get("country"), "status": r.get("rmap_status") or "Conformant"}
                for r in rows]
    from cmrt.reference import default_reference
    ref = default_reference()
    return [{"cid": s.cid, "metal": s.metal, "name": s.standard_name, "country": s.country, "status": s.rmap_status}
            for s in ref]


def _result(rng: random.Random, smelters: list[dict[str, str]], *, verdict: str, company: str) -> dict:
    from tests.scorecard_data import check_result

    picked = rng.sample(smelters, 18)
    rows = [(s["metal"], s["cid"], s["status"]) for s in picked]
    unknown = [(rng.choice(["Tin", "Gold"]), f"Trading House {rng.randrange(400)}")] if rng.random() < 0.3 else []
    q6 = {"Gold": "Greater than 50%"} if rng.random() < 0.2 else None
    program = {"A": "No"} if rng.random() < 0.15 else None
    scope = rng.choice(["company"] * 8 + ["product", "user_defined"])
    result = check_result(verdict=verdict, smelters=rows, unknown=unknown, q6=q6, program=program, scope=scope,
                          company=company)
    if verdict != "valid":
        result["findings"] = [{"code": "missing_answer", "severity": "error", "sheet": "Declaration", "cell": f"D{12 + i}",
                               "message": "This question needs an answer."} for i in range(3)]
    return result


def fill(url: str, n: int, seed: int = 2026) -> None:
    """N surveys in one campaign, with bulk inserts in batches."""
    from sqlalchemy import insert

    from models.tables import Campaign, Finding, StoredFile, Submission, Supplier, Survey
    from outreach.db import make_engine, upgrade_database

    upgrade_database(url)
    engine = make_engine(url)
    rng = random.Random(seed)
    smelters = _smelters()
    # A handful of result shapes reused with new company names keeps the fill fast and the data varied enough.
    with engine.begin() as conn:
        conn.execute(insert(Campaign), [{"id": CAMPAIGN, "year": 2026, "name": "CMRT 2026", "state": "running",
                                         "policy": {}, "selection": {}, "created_at": T0, "updated_at": T0}])
    batch = 1000
    for start in range(0, n, batch):
        suppliers, surveys, files, subs, findings = [], [], [], [], []
        for i in range(start, min(n, start + batch)):
            sid = f"S-{i:06d}"
            name = f"Supplier {i:06d} {rng.choice(['GmbH', 'Ltd.', 'Inc.', 'Co., Ltd.', 'S.A.'])}"
            suppliers.append({"id": sid, "name": name, "status": "active", "created_at": T0, "updated_at": T0,
                              "category": rng.choice(["electronics", "metals", "cables", None])})
            survey_id = f"{CAMPAIGN}/{sid}"
            answered = rng.random() >= 0.1
            rounds = ([] if not answered else ["invalid", "valid"] if rng.random() < 0.33
                      else [rng.choice(["valid"] * 9 + ["invalid"])])
            outcome = ("valid" if rounds and rounds[-1] == "valid" else None) if rng.random() < 0.7 else None
            surveys.append({"id": survey_id, "campaign_id": CAMPAIGN, "supplier_id": sid, "state": "closed" if outcome else "awaiting_response",
                            "outcome": outcome, "language": "en", "paused": False, "contact_bounced": False,
                            "correction_round": max(0, len(rounds) - 1), "reminders_sent": 0, "seq": 0,
                            "due_at": T0 + timedelta(days=30), "requested_at": T0,
                            "created_at": T0, "updated_at": T0})
            for r, verdict in enumerate(rounds):
                sub_id = f"{survey_id}/sub-{r}"
                sha = hashlib.sha256(sub_id.encode()).hexdigest()
                files.append({"sha256": sha, "size": 1, "stored_at": T0})
                result = _result(rng, smelters, verdict=verdict, company=name)
                subs.append({"id": sub_id, "survey_id": survey_id, "file_sha256": sha, "filename": f"{sid}-r{r}.xlsx",
                             "channel": "portal", "received_at": T0 + timedelta(days=3 + 5 * r, seconds=i), "round": r,
                             "purpose": "declaration", "verdict": verdict, "result": result,
                             "template_version": "6.5", "program_strength": result.get("program_strength"),
                             "declaration_scope": (result.get("summary") or {}).get("scope_level")})
                findings += [{"submission_id": sub_id, "code": f["code"], "severity": f["severity"], "sheet": f["sheet"],
                              "cell": f["cell"], "message": f["message"]} for f in result.get("findings") or []]
        with engine.begin() as conn:
            conn.execute(insert(Supplier), suppliers)
            conn.execute(insert(Survey), _complete(Survey, surveys))
            conn.execute(insert(StoredFile), _complete(StoredFile, files))
            conn.execute(insert(Submission), _complete(Submission, subs))
            if findings:
                conn.execute(insert(Finding), findings)
    engine.dispose()


def _complete(table, rows: list[dict]) -> list[dict]:
    """Every row with every column the model defaults (executemany needs the same keys in every row)."""
    defaults = {}
    for name, f in table.model_fields.items():
        if f.default is not None and not callable(f.default) and "PydanticUndefined" not in repr(f.default):
            defaults[name] = f.default
    return [{**defaults, **r} for r in rows]


def measure(url: str, op: str) -> dict:
    """One operation in this (fresh) process: seconds and peak resident memory in MB."""
    import resource

    from outreach.db import make_engine
    from outreach.reports.figures import campaign_figures
    from outreach.reports.smelters import current_reference

    engine = make_engine(url)
    current_reference(engine)  # the reference list is loaded once per process and cached in a real one too
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu = time.perf_counter(), time.process_time()
    figures = campaign_figures(engine, CAMPAIGN)
    if op == "page":
        from outreach.reports.render import render_due_diligence_draft, render_rcoi_html
        render_rcoi_html(figures)
        render_due_diligence_draft(figures, company="Acme", year=2026)
    elif op == "json":
        with open(os.devnull, "w") as out:  # as the CLI writes it: encoded straight to its output
            json.dump(figures, out, indent=2, default=str)
    elif op == "xlsx":
        from outreach.reports.workbook import rcoi_workbook
        with tempfile.TemporaryDirectory() as tmp:
            rcoi_workbook(figures, Path(tmp) / "rcoi.xlsx")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": elapsed, "cpu": cpu, "peak_mb": peak, "base_mb": base, "surveyed": figures["suppliers_surveyed"],
            "digest": hashlib.sha256(json.dumps(figures, sort_keys=True, default=str).encode()).hexdigest()[:12]}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(url: str, sizes: list[int], runs: int, label: str) -> None:
    for n in sizes:
        start = time.perf_counter()
        target = url if not url.startswith("sqlite") else url.replace("{n}", str(n))
        fill(target, n)
        print(f"{label} N={n}: filled in {time.perf_counter() - start:.1f} s", flush=True)
        for op in OPERATIONS:
            samples = []
            for _ in range(runs):
                out = subprocess.run([sys.executable, __file__, "--measure", op, "--url", target], check=True,
                                     capture_output=True, text=True, cwd=ROOT)
                samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
            secs, cpu = [s["seconds"] for s in samples], [s["cpu"] for s in samples]
            print(f"{label} N={n:>6} {op:<8} median {statistics.median(secs):7.2f} s  p95 {p95(secs):7.2f} s  "
                  f"cpu median {statistics.median(cpu):7.2f} s  "
                  f"peak {max(s['peak_mb'] for s in samples):6.0f} MB (process before: {samples[0]['base_mb']:.0f} MB)  "
                  f"figures {samples[0]['digest']}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--postgres", help="also a PostgreSQL URL of an empty scratch database (one size only: the first)")
    ap.add_argument("--measure", choices=OPERATIONS, help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.url, args.measure)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench-{{n}}.db", sizes, args.runs, "sqlite")
    if args.postgres:
        run(args.postgres, sizes[:1], args.runs, "postgresql")


if __name__ == "__main__":
    main()

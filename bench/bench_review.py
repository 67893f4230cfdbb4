"""The review desk at a large company's size, and what a reopen costs.

    .venv/bin/python bench/bench_review.py queue [--sizes 1000,5000] [--runs 3]
    .venv/bin/python bench/bench_review.py reopen [--surveys 20]

queue: the read model of bench_reports.py (N surveys, ~20 smelter rows each, 3 in 10 declarations with one
unknown entity among 400 names), then in a fresh process per run: the queue's first page (``review_queue``), the
count the report states (``unreviewed_count``) and the whole ``campaign_figures`` (which includes that count).
Prints medians of wall-clock and CPU time and the peak memory of the process.

reopen: on the time-skipping server with the real worker, N surveys each closed valid, then each reopened with
``reopen_survey`` (describe, the ``carried_input`` query that replays the closed run on the worker, a new run);
prints the median time per reopen and the closed run's history length, which the query replays.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def measure(url: str) -> dict:
    import resource

    from outreach.db import make_engine
    from outreach.reports.figures import campaign_figures
    from outreach.reports.smelters import current_reference
    from outreach.review import review_queue, unreviewed_count
    from bench_reports import CAMPAIGN

    engine = make_engine(url)
    ref = current_reference(engine)
    out = {}
    for name, call in (("queue", lambda: review_queue(engine, campaign_id=CAMPAIGN).total),
                       ("count", lambda: unreviewed_count(engine, [CAMPAIGN], reference=ref)),
                       ("figures", lambda: campaign_figures(engine, CAMPAIGN, reference=ref)["review"]["unreviewed"])):
        start, cpu = time.perf_counter(), time.process_time()
        value = call()
        out[name] = {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "value": value}
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def queue_bench(sizes: list[int], runs: int) -> None:
    from bench_reports import fill

    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/review-{n}.db"
            fill(url, n)
            samples = []
            for _ in range(runs):
                res = subprocess.run([sys.executable, __file__, "measure", "--url", url], check=True,
                                     capture_output=True, text=True, cwd=ROOT)
                samples.append(json.loads(res.stdout.strip().splitlines()[-1]))
            for op in ("queue", "count", "figures"):
                secs = [s[op]["seconds"] for s in samples]
                cpu = [s[op]["cpu"] for s in samples]
                print(f"N={n:>6} {op:<8} median {statistics.median(secs):6.2f} s  cpu {statistics.median(cpu):6.2f} s  "
                      f"items {samples[0][op]['value']}  peak {max(s['peak_mb'] for s in samples):.0f} MB", flush=True)


async def reopen_bench(surveys: int) -> None:
    import uuid

    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from cmrt.builder import valid_cmrt
    from models.survey import SubmitCmrt
    from models.tables import Campaign, Supplier
    from outreach.binaries import find_binary
    from outreach.db import make_engine, session_scope, upgrade_database
    from outreach.review import reopen_survey
    from outreach.settings import load_settings
    from outreach.storage import FileStore
    from tests.conftest import SmtpSink
    from tests.survey_harness import survey_input
    from worker import build_worker
    from workflows.survey import SupplierSurveyWorkflow

    smtp = SmtpSink()
    smtp.start()
    tmp = tempfile.mkdtemp()
    url = f"sqlite:///{tmp}/reopen.db"
    upgrade_database(url)
    engine = make_engine(url)
    settings = load_settings(data_dir=Path(tmp) / "var", database_url=url, smtp_port=smtp.port,
                             task_queue=f"tq-{uuid.uuid4().hex[:8]}", secret_key="bench-secret-key-for-links",
                             public_base_url="http://portal.test")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("temporal-test-server")), data_converter=pydantic_data_converter)
    campaign = "cmrt-bench"
    with session_scope(engine) as s:
        s.add(Campaign(id=campaign, year=2025, name="bench", state="running"))
        for i in range(surveys):
            s.add(Supplier(id=f"S-{i}", name="Acme Components Ltd."))
    files = FileStore(settings.file_store_path, engine)
    sha = files.put(valid_cmrt(), filename="acme.xlsx")

    async def connect():
        return env.client

    timings, lengths = [], []
    try:
        async with build_worker(env.client, settings, engine):
            for i in range(surveys):
                inp = survey_input(campaign, supplier_id=f"S-{i}")
                h = await env.client.start_workflow(SupplierSurveyWorkflow.run, inp, id=inp.survey_id,
                                                    task_queue=settings.task_queue)
                await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=sha, filename="a.xlsx"))
                await h.result()
                lengths.append(len((await h.fetch_history()).events))
                start = time.perf_counter()
                await reopen_survey(engine, h.id, by="bench", reason="bench", client_factory=connect,
                                    task_queue=settings.task_queue)
                timings.append(time.perf_counter() - start)
                await env.client.get_workflow_handle(h.id).terminate("bench done")
    finally:
        await env.shutdown()
        smtp.stop()
    print(f"reopen x{surveys}: median {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms; "
          f"closed run's history {statistics.median(lengths):.0f} events (replayed by the query)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["queue", "reopen", "measure"])
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--surveys", type=int, default=20)
    ap.add_argument("--url")
    args = ap.parse_args()
    if args.what == "measure":
        print(json.dumps(measure(args.url)))
    elif args.what == "queue":
        queue_bench([int(x) for x in args.sizes.split(",")], args.runs)
    else:
        asyncio.run(reopen_bench(args.surveys))


if __name__ == "__main__":
    main()

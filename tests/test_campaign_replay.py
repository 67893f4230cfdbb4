"""Replay of the campaign workflow: committed histories (tests/histories/campaign/) and a fresh run.

A change to workflows/campaign.py that alters the commands an existing campaign run expects fails here:
put it behind `workflow.patched(...)`. Re-record (after an intended, patched change) with

    .venv/bin/python -m tests.test_campaign_replay

The scenario: five suppliers in pages of two (so three fan-out runs, each continued as new), a pause,
a late addition, a resume, and a cancel that withdraws every survey.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory, WorkflowQueryFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker

from activities.campaign import CampaignActivities
from activities.email import EmailActivities
from models.campaign import AddSuppliers, CampaignAction, CampaignInput, CancelCampaign, SupplierSelection, campaign_workflow_id
from tests.test_campaign import StandInSurvey, seed_suppliers
from worker import workflow_runner
from workflows.campaign import CampaignWorkflow, YearlyCampaignWorkflow

HISTORIES = Path(__file__).parent / "histories" / "campaign"


def replayer() -> Replayer:
    return Replayer(workflows=[CampaignWorkflow, YearlyCampaignWorkflow, StandInSurvey],
                    workflow_runner=workflow_runner(), data_converter=pydantic_data_converter)


async def run_scenario(client: Client, engine, settings) -> list[WorkflowHistory]:
    """Run the scenario; return the history of every run of the campaign's continue-as-new chain."""
    seed_suppliers(engine, [50.0, 40.0, 30.0, 20.0, 10.0])
    late = seed_suppliers(engine, [1.0], prefix="L")[0]
    campaign_id = f"replay-{uuid.uuid4().hex[:6]}"
    inp = CampaignInput(campaign_id=campaign_id, year=2025, vp_email="vp@corp.example",
                        compliance_email="compliance@corp.example",
                        selection=SupplierSelection(kind="spend_share", share=0.99),  # the five S suppliers
                        ends_at=datetime.now(timezone.utc) + timedelta(hours=1), page_size=2, start_window=1)
    worker = Worker(client, task_queue=settings.task_queue, workflows=[CampaignWorkflow, StandInSurvey],
                    activities=[EmailActivities(settings, engine).send_email, *CampaignActivities(settings, engine).all()],
                    workflow_runner=workflow_runner(), activity_executor=ThreadPoolExecutor(max_workers=4))
    async with worker:
        handle = await client.start_workflow(CampaignWorkflow.run, inp, id=campaign_workflow_id(campaign_id),
                                             task_queue=settings.task_queue)
        first_run = handle.result_run_id
        for _ in range(300):  # the fan-out has reached its waiting run
            status = await _status(handle)
            if status and status.cursor >= status.selected and status.runs >= 3:
                break
            await asyncio.sleep(0.1)
        await handle.execute_update(CampaignWorkflow.pause, CampaignAction(by="ana"))
        await handle.execute_update(CampaignWorkflow.add_suppliers, AddSuppliers(supplier_ids=[late], by="ana"))
        await handle.execute_update(CampaignWorkflow.resume, CampaignAction(by="ana"))
        for _ in range(300):
            now = await _status(handle)
            if now and now.started >= status.selected + 1:
                break
            await asyncio.sleep(0.1)
        await handle.execute_update(CampaignWorkflow.cancel, CancelCampaign(by="ana", reason="replay scenario"))
        await handle.result()
    histories, run_id = [], first_run
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        histories.append(history)
        run_id = next((e.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                       for e in history.events
                       if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW), None)
    return histories


async def _status(handle):
    try:
        return await handle.query(CampaignWorkflow.status)
    except WorkflowQueryFailedError:  # still opening, or between two runs
        return None


def committed() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def test_campaign_histories_are_committed():
    assert len(committed()) >= 4, "record with: .venv/bin/python -m tests.test_campaign_replay"


async def test_committed_campaign_histories_replay():
    for path in committed():
        doc = json.loads(path.read_text())
        history = WorkflowHistory.from_json(doc["workflow_id"], doc["history"])
        result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, (path.name, result.replay_failure)


async def test_fresh_campaign_runs_replay(dev_env, engine, settings_for, smtp):
    histories = await run_scenario(dev_env.client, engine, settings_for(smtp_port=smtp.port))
    assert len(histories) >= 4  # three fan-out runs and the one that waited, then cancelled
    for history in histories:
        result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None


async def _record() -> None:
    import tempfile

    from models.search_attributes import ALL_KEYS
    from outreach.binaries import find_binary
    from outreach.db import make_engine, upgrade_database
    from outreach.settings import load_settings
    from temporalio.testing import WorkflowEnvironment
    from tests.conftest import SmtpSink

    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(find_binary("temporal")),
                                                data_converter=pydantic_data_converter, search_attributes=ALL_KEYS)
    smtp = SmtpSink()
    smtp.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'outreach.db'}"
            upgrade_database(url)
            engine = make_engine(url)
            settings = load_settings(data_dir=Path(tmp) / "var", database_url=url, smtp_port=smtp.port,
                                     secret_key="record", public_base_url="http://portal.test",
                                     task_queue="record-campaign", workflow_sandbox=True)
            histories = await run_scenario(env.client, engine, settings)
            engine.dispose()
        HISTORIES.mkdir(parents=True, exist_ok=True)
        for old in committed():
            old.unlink()
        for n, history in enumerate(histories, 1):
            doc = {"workflow_id": history.workflow_id, "history": json.loads(history.to_json())}
            (HISTORIES / f"campaign__{n}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        print(f"{len(histories)} campaign histories written to {HISTORIES}")
    finally:
        smtp.stop()
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(_record())

"""A supplier survey on the time-skipping server with the real worker, a real SMTP sink and SQLite.

Used by tests/test_survey_*.py and tests/record_histories.py.
"""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlmodel import select

from models.policy import CampaignPolicy
from models.survey import Contact, SurveyInput, survey_workflow_id
from models.tables import Campaign, Supplier, SurveyEvent
from outreach.db import session_scope
from outreach.storage import FileStore

SUPPLIER = "supplier@acme.test"
CM = "buyer.cm@company.test"
VP = "vp@company.test"
COMPLIANCE = "compliance@company.test"
HISTORIES = Path(__file__).parent / "histories"


def survey_input(campaign_id: str, supplier_id: str = "S-100", policy: CampaignPolicy | None = None,
                 **overrides: Any) -> SurveyInput:
    values: dict[str, Any] = dict(
        campaign_id=campaign_id, campaign_year=2025, supplier_id=supplier_id, supplier_name="Acme Components Ltd.",
        contact=Contact(name="Jane Doe", email=SUPPLIER), commodity_manager_name="Carl Buyer",
        commodity_manager_email=CM, vp_email=VP, compliance_email=COMPLIANCE, spend=125000.0,
        policy=policy or CampaignPolicy.annual(), search_attributes=False,
    )
    values.update(overrides)
    return SurveyInput(**values)


@dataclass
class SurveyRig:
    env: Any
    smtp: Any
    engine: Any
    settings: Any
    campaign_id: str = field(default_factory=lambda: f"cmrt-{uuid.uuid4().hex[:8]}")
    started: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.files = FileStore(self.settings.file_store_path, self.engine)
        with session_scope(self.engine) as s:
            s.add(Campaign(id=self.campaign_id, year=2025, name="CMRT 2025", state="running"))
            if s.get(Supplier, "S-100") is None:
                s.add(Supplier(id="S-100", name="Acme Components Ltd.", annual_spend=125000.0, category="strategic",
                               commodity_manager_name="Carl Buyer", commodity_manager_email=CM, country="Japan"))

    @property
    def client(self):
        return self.env.client

    def worker(self, *, sticky_seconds: float | None = None):
        """The product's worker. `sticky_seconds`: how long a task waits on this worker's sticky queue
        once the worker is gone (10 s by default; a test that kills workers shortens it)."""
        from worker import build_worker

        options = {} if sticky_seconds is None else {
            "sticky_queue_schedule_to_start_timeout": timedelta(seconds=sticky_seconds)}
        return build_worker(self.client, self.settings, self.engine, **options)

    async def start(self, policy: CampaignPolicy | None = None, **overrides: Any):
        from workflows.survey import SupplierSurveyWorkflow

        inp = survey_input(self.campaign_id, policy=policy, **overrides)
        self.started.append(inp.survey_id)
        return await self.client.start_workflow(
            SupplierSurveyWorkflow.run, inp, id=survey_workflow_id(inp.campaign_id, inp.supplier_id),
            task_queue=self.settings.task_queue)

    def store(self, data: bytes, filename: str = "cmrt.xlsx") -> str:
        return self.files.put(data, filename=filename)

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def skip(self, **kw: float) -> None:
        await self.env.sleep(timedelta(**kw))

    def events(self, survey_id: str) -> list[SurveyEvent]:
        with session_scope(self.engine) as s:
            return list(s.exec(select(SurveyEvent).where(SurveyEvent.survey_id == survey_id).order_by(SurveyEvent.seq)))

    def templates(self, address: str) -> list[str]:
        return self.smtp.templates_to(address)


    async def terminate_leftovers(self) -> None:
        """A failed test must not leave timers behind: on the shared time-skipping server, a workflow
        task with no worker to take it holds the clock for every later test."""
        from temporalio.client import WorkflowExecutionStatus

        for survey_id in self.started:
            ids = [survey_id] + [f"{survey_id}/{kind}/{n}" for kind in ("cap", "escalation") for n in (1, 2, 3)]
            for wf_id in ids:
                try:
                    desc = await self.client.get_workflow_handle(wf_id).describe()
                    if desc.status == WorkflowExecutionStatus.RUNNING:
                        await self.client.get_workflow_handle(wf_id).terminate("test finished")
                except Exception:  # noqa: BLE001 - not started
                    pass


@asynccontextmanager
async def running(rig: SurveyRig):
    try:
        async with rig.worker():
            yield rig
    finally:
        await rig.terminate_leftovers()


@pytest_asyncio.fixture
async def rig(ts_env, smtp, engine, db_url, settings_for):
    """A rig on the session's time-skipping server; whatever the test leaves running is terminated."""
    r = SurveyRig(ts_env, smtp, engine, settings_for(smtp_port=smtp.port, db_url=db_url))
    yield r
    await r.terminate_leftovers()


@pytest_asyncio.fixture
async def dev_rig(dev_env, smtp, engine, db_url, settings_for):
    """The same on the dev server (real time, registered search attributes, sticky queues that time out)."""
    r = SurveyRig(dev_env, smtp, engine, settings_for(smtp_port=smtp.port, db_url=db_url))
    yield r
    await r.terminate_leftovers()

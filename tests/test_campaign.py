"""The campaign workflow: selection, pages, the window of starts, continue-as-new, pause, cancel,
late additions, the end date and the summary.

The surveys here are a stand-in workflow registered under the survey's name, so these tests pin the
fan-out alone; tests/test_campaign_surveys.py runs a campaign with the real survey workflow.
"""

from __future__ import annotations

import asyncio
import uuid
from email.header import decode_header, make_header
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import pytest_asyncio
from sqlmodel import Session
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Worker

from activities.campaign import CampaignActivities, resolve_selection
from activities.email import EmailActivities
from models.campaign import (
    AddSuppliers,
    CampaignAction,
    CampaignInput,
    CampaignResult,
    CancelCampaign,
    SupplierSelection,
    campaign_workflow_id,
)
from models.enums import CampaignState
from models.survey import ActionAck, SurveyInput, Withdraw, survey_workflow_id
from models.tables import Campaign
from outreach.suppliers import import_suppliers, write_supplier_csv
from worker import workflow_runner
from workflows.campaign import SURVEY_WORKFLOW, CampaignWorkflow


@workflow.defn(name=SURVEY_WORKFLOW)
class StandInSurvey:
    """Waits until withdrawn; its input is queryable so the test sees what the campaign passed."""

    def __init__(self) -> None:
        self.inp: SurveyInput | None = None
        self.withdrawn: Withdraw | None = None

    @workflow.run
    async def run(self, inp: SurveyInput) -> str:
        self.inp = inp
        await workflow.wait_condition(lambda: self.withdrawn is not None)
        return "withdrawn"

    @workflow.query(name="input")
    def input(self) -> SurveyInput:
        return self.inp

    @workflow.update(name="withdraw")
    async def withdraw(self, w: Withdraw) -> ActionAck:
        self.withdrawn = w
        return ActionAck(state="closed", message="withdrawn")


def seed_suppliers(engine, spends: list[float], *, prefix: str = "S", categories: dict[int, str] | None = None) -> list[str]:
    rows = [{
        "supplier_id": f"{prefix}{i:04d}", "name": f"Supplier {i}", "annual_spend": spend,
        "category": (categories or {}).get(i, ""), "contact_email": f"buyer{i}@supplier{i}.example",
        "contact_language": "de" if i % 3 == 0 else "en", "commodity_manager_name": "Ann Lee",
        "commodity_manager_email": "ann@corp.example",
    } for i, spend in enumerate(spends)]
    report = import_suppliers(engine, write_supplier_csv(rows), "suppliers.csv")
    assert report.imported, report.errors
    return [r["supplier_id"] for r in rows]


def test_the_stand_in_has_the_real_survey_workflow_name():
    from workflows.survey import SupplierSurveyWorkflow

    assert workflow._Definition.must_from_class(SupplierSurveyWorkflow).name == SURVEY_WORKFLOW


# --- Selection -------------------------------------------------------------------------------


def test_spend_share_selects_the_smallest_set_covering_it_biggest_first(engine):
    # 1,000 + 500 + 300 + 100 + 50 + 30 + 20 = 2,000. 90% = 1,800 -> the first three (1,800).
    seed_suppliers(engine, [20, 1000, 300, 50, 500, 30, 100], categories={0: "strategic"})
    with Session(engine) as s:
        r90 = resolve_selection(s, SupplierSelection(kind="spend_share", share=0.90))
        r99 = resolve_selection(s, SupplierSelection.parse("spend:99%"))
        with_cat = resolve_selection(s, SupplierSelection.parse("spend:0.90+strategic"))
        cat = resolve_selection(s, SupplierSelection.parse("category:strategic"))
        everyone = resolve_selection(s, SupplierSelection.parse("all"))
    assert r90.supplier_ids == ["S0001", "S0004", "S0002"] and r90.spend_covered == 1800 and r90.total_spend == 2000
    # 99% = 1,980, exactly the six biggest: the smallest supplier (20) is not needed.
    assert r99.supplier_ids == ["S0001", "S0004", "S0002", "S0006", "S0003", "S0005"]
    assert r99.spend_covered == 1980
    assert with_cat.supplier_ids == ["S0001", "S0004", "S0002", "S0000"]  # the strategic one always included
    assert cat.supplier_ids == ["S0000"]
    assert len(everyone.supplier_ids) == 7 and everyone.supplier_ids[0] == "S0001"


def test_demo_suppliers_never_join_a_real_campaign(engine):
    seed_suppliers(engine, [10.0, 20.0])
    seed_suppliers(engine, [1000.0], prefix="D", categories={0: "demo"})
    with Session(engine) as s:
        everyone = resolve_selection(s, SupplierSelection(kind="all"))
        by_spend = resolve_selection(s, SupplierSelection(kind="spend_share", share=0.5))
        demo = resolve_selection(s, SupplierSelection(kind="category", categories=["demo"]))
    assert everyone.supplier_ids == ["S0001", "S0000"] and everyone.total_spend == 30.0
    assert by_spend.supplier_ids == ["S0001"]
    assert demo.supplier_ids == ["D0000"]


def test_the_99_percent_rule_on_a_long_tail(engine):
    # A typical spend curve: a few big suppliers and a long tail of small ones.
    spends = [100_000.0 / (i + 1) ** 1.5 for i in range(400)]
    seed_suppliers(engine, spends)
    with Session(engine) as s:
        r = resolve_selection(s, SupplierSelection(kind="spend_share", share=0.99))
    covered = sorted(spends, reverse=True)
    n = len(r.supplier_ids)
    assert sum(covered[:n]) >= 0.99 * sum(spends) > sum(covered[:n - 1])  # smallest such set
    assert 0 < n < 400


@pytest.mark.parametrize("text,error", [
    ("spend:lots", "not a share of spend"), ("category:", "not a selection"), ("some", "not a selection"),
    ("spend:1.5", "less than or equal to 1"),
])
def test_bad_selection_text_is_refused(text, error):
    with pytest.raises(ValueError, match=error):
        SupplierSelection.parse(text)


# --- The workflow on the dev server --------------------------------------------------------


def _worker(client, settings, engine, *survey_workflows) -> Worker:
    return Worker(
        client, task_queue=settings.task_queue,
        workflows=[CampaignWorkflow, *(survey_workflows or (StandInSurvey,))],
        activities=[EmailActivities(settings, engine).send_email, *CampaignActivities(settings, engine).all()],
        workflow_runner=workflow_runner(), max_cached_workflows=100,
        activity_executor=ThreadPoolExecutor(max_workers=10),
    )


def _input(**kw) -> CampaignInput:
    base = dict(campaign_id=f"c-{uuid.uuid4().hex[:8]}", year=2026, vp_email="vp@corp.example",
                compliance_email="compliance@corp.example", selection=SupplierSelection(kind="all"),
                ends_at=datetime.now(timezone.utc) + timedelta(hours=1))
    base.update(kw)
    return CampaignInput(**base)


def _subject(mail) -> str:
    return str(make_header(decode_header(mail.subject)))


async def _history_events(client, workflow_id: str, run_id: str | None = None):
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    return [e async for e in handle.fetch_history_events()]


async def _wait(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _survey_exists(client, campaign_id: str, supplier_id: str) -> bool:
    from temporalio.service import RPCError

    try:
        await client.get_workflow_handle(survey_workflow_id(campaign_id, supplier_id)).describe()
        return True
    except RPCError:
        return False


async def _status(client, campaign_id: str):
    return await client.get_workflow_handle(campaign_workflow_id(campaign_id)).query(CampaignWorkflow.status)


async def test_pages_window_and_continue_as_new_start_every_supplier_once(dev_env, engine, settings_for, smtp):
    client = dev_env.client
    settings = settings_for(smtp_port=smtp.port)
    ids = seed_suppliers(engine, [float(1000 - i) for i in range(23)])
    inp = _input(page_size=5, start_window=2)
    async with _worker(client, settings, engine):
        handle = await client.start_workflow(CampaignWorkflow.run, inp, id=campaign_workflow_id(inp.campaign_id),
                                             task_queue=settings.task_queue)
        first_run = handle.result_run_id
        status = await _wait(lambda: _selected_all_started(client, inp.campaign_id, 23, runs=6),
                             what="all surveys started")
        # 23 suppliers in pages of 5: five runs start surveys, a sixth waits for the end date.
        assert (status.started, status.already_running, status.cursor, status.runs) == (23, 0, 23, 6)
        for sid in ids:
            assert await _survey_exists(client, inp.campaign_id, sid), sid
        # What the campaign passed to a survey comes from the master data and the campaign.
        sample = await client.get_workflow_handle(survey_workflow_id(inp.campaign_id, "S0003")).query("input", result_type=SurveyInput)
        assert (sample.supplier_name, sample.contact.email, sample.contact.language) == (
            "Supplier 3", "buyer3@supplier3.example", "de")
        assert (sample.vp_email, sample.campaign_year, sample.spend) == ("vp@corp.example", 2026, 997.0)

        # The first run: one page of children, never more than the window in flight.
        events = await _history_events(client, handle.id, first_run)
        initiated = [e for e in events if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED]
        assert len(initiated) == 5
        in_flight = peak = 0
        for e in events:
            if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                in_flight += 1
                peak = max(peak, in_flight)
            elif e.event_type in (EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
                                  EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED):
                in_flight -= 1
        assert peak <= 2 and events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        # The biggest spenders are asked first.
        first_ids = [e.start_child_workflow_execution_initiated_event_attributes.workflow_id for e in initiated]
        assert sorted(first_ids) == sorted(survey_workflow_id(inp.campaign_id, f"S{i:04d}") for i in range(5))

        with Session(engine) as s:
            row = s.get(Campaign, inp.campaign_id)
            assert (row.state, row.suppliers_selected, row.surveys_started) == ("running", 23, 23)
        await handle.execute_update(CampaignWorkflow.cancel, CancelCampaign(by="test", withdraw_surveys=False))
        result = await handle.result()
        assert result.state == CampaignState.cancelled and result.withdrawn == 0
        # Left running on purpose: the surveys are not withdrawn.
        desc = await client.get_workflow_handle(survey_workflow_id(inp.campaign_id, "S0000")).describe()
        assert desc.status.name == "RUNNING"


async def _selected_all_started(client, campaign_id: str, n: int, runs: int = 1):
    try:
        status = await _status(client, campaign_id)
    except Exception:  # noqa: BLE001 - between runs, or still opening
        return None
    return status if status.started >= n and status.cursor >= n and status.runs >= runs else None


async def test_pause_holds_the_fan_out_and_late_additions_start_after_resume(dev_env, engine, settings_for, smtp):
    client = dev_env.client
    settings = settings_for(smtp_port=smtp.port)
    seed_suppliers(engine, [100.0, 90.0, 80.0, 70.0])
    late = seed_suppliers(engine, [1.0, 2.0], prefix="L")
    # Only the four S suppliers are in scope: categories select them.
    inp = _input(selection=SupplierSelection(kind="spend_share", share=0.99), page_size=2, start_window=1)
    async with _worker(client, settings, engine):
        handle = await client.start_workflow(CampaignWorkflow.run, inp, id=campaign_workflow_id(inp.campaign_id),
                                             task_queue=settings.task_queue)
        status = await _wait(lambda: _selected_all_started(client, inp.campaign_id, 4), what="first surveys")
        selected_before = status.selected
        assert not await _survey_exists(client, inp.campaign_id, "L0000")

        ack = await handle.execute_update(CampaignWorkflow.pause, CampaignAction(by="ana", reason="new template"))
        assert ack.state == CampaignState.paused
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(CampaignWorkflow.pause, CampaignAction(by="ana"))
        assert "already paused" in str(refused.value.cause)

        added = await handle.execute_update(CampaignWorkflow.add_suppliers,
                                            AddSuppliers(supplier_ids=[late[0], "S0000", "NOPE"], by="ana"))
        assert (added.added, added.already_in_campaign, added.unknown) == ([late[0]], ["S0000"], ["NOPE"])
        assert added.selected == selected_before + 1
        await asyncio.sleep(1.0)
        # Paused: the late addition waits.
        assert not await _survey_exists(client, inp.campaign_id, late[0])
        with Session(engine) as s:
            assert s.get(Campaign, inp.campaign_id).state == "paused"

        await handle.execute_update(CampaignWorkflow.resume, CampaignAction(by="ana"))
        await _wait(lambda: _survey_exists(client, inp.campaign_id, late[0]), what="late addition started")
        status = await _status(client, inp.campaign_id)
        assert status.started == selected_before + 1 and status.state == CampaignState.running
        assert not await _survey_exists(client, inp.campaign_id, late[1])

        # Cancel withdraws every open survey and tells the compliance team.
        await handle.execute_update(CampaignWorkflow.cancel, CancelCampaign(by="ana", reason="wrong year"))
        result: CampaignResult = await handle.result()
        assert result.state == CampaignState.cancelled and result.withdrawn == selected_before + 1
        for sid in ["S0000", late[0]]:
            survey = client.get_workflow_handle(survey_workflow_id(inp.campaign_id, sid))
            assert await survey.result() == "withdrawn"
        with pytest.raises(Exception):
            await handle.execute_update(CampaignWorkflow.resume, CampaignAction(by="ana"))
        summary = await smtp.wait_for(1)
        assert summary[0].rcpt_tos == ["compliance@corp.example"]
        assert _subject(summary[0]).startswith("Campaign cancelled: CMRT campaign 2026")
        with Session(engine) as s:
            row = s.get(Campaign, inp.campaign_id)
            assert row.state == "cancelled" and row.closed_at is not None
            assert row.selection["late_added"] == [late[0]]


async def test_campaign_closes_at_its_end_date_and_sends_the_summary(dev_env, engine, settings_for, smtp):
    client = dev_env.client
    settings = settings_for(smtp_port=smtp.port)
    seed_suppliers(engine, [10.0, 20.0])
    inp = _input(ends_at=datetime.now(timezone.utc) + timedelta(seconds=3), name="CMRT 2026 test")
    async with _worker(client, settings, engine):
        result = await client.execute_workflow(CampaignWorkflow.run, inp, id=campaign_workflow_id(inp.campaign_id),
                                               task_queue=settings.task_queue)
        assert result.state == CampaignState.closed and result.started == 2
        # The surveys outlive the campaign (abandoned children).
        desc = await client.get_workflow_handle(survey_workflow_id(inp.campaign_id, "S0000")).describe()
        assert desc.status.name == "RUNNING"
    mail = (await smtp.wait_for(1))[0]
    assert _subject(mail).startswith("Campaign closed: CMRT 2026 test")
    assert "Suppliers in scope: 2" in mail.text and "http://portal.test/campaigns/" in mail.text
    with Session(engine) as s:
        assert s.get(Campaign, inp.campaign_id).state == "closed"


# --- The yearly schedule ------------------------------------------------------------------


async def test_yearly_schedule_opens_the_previous_years_campaign(dev_env, engine, settings_for, smtp):
    from temporalio.client import ScheduleCalendarSpec

    from outreach.campaigns import ActionRefused, schedule_yearly_campaign
    from workflows.campaign import YearlyCampaignWorkflow

    client = dev_env.client
    settings = settings_for(smtp_port=smtp.port)
    seed_suppliers(engine, [5.0, 3.0])
    schedule_id = f"yearly-{uuid.uuid4().hex[:6]}"
    await schedule_yearly_campaign(client, settings, month=2, day=1, hour=6, schedule_id=schedule_id,
                                   selection=SupplierSelection(kind="all"))
    with pytest.raises(ActionRefused, match="already exists"):
        await schedule_yearly_campaign(client, settings, schedule_id=schedule_id)
    await schedule_yearly_campaign(client, settings, month=3, day=2, hour=7, schedule_id=schedule_id, replace=True,
                                   engine=engine, by="ana@company.test")
    # Changing the schedule is a compliance action: one entry, by whom, with what it now says.
    from sqlmodel import select

    from models.tables import AuditEntry

    with Session(engine) as s:
        [entry] = s.exec(select(AuditEntry).where(AuditEntry.object_id == schedule_id)).all()
    assert (entry.action, entry.actor, entry.object_type) == ("campaign.schedule_replaced", "ana@company.test", "schedule")
    assert (entry.after["month"], entry.after["day"], entry.after["hour"]) == (3, 2, 7)
    schedule = client.get_schedule_handle(schedule_id)
    desc = await schedule.describe()
    calendar: ScheduleCalendarSpec = desc.schedule.spec.calendars[0]
    assert (calendar.month[0].start, calendar.day_of_month[0].start, calendar.hour[0].start) == (3, 2, 7)
    assert desc.info.next_action_times and desc.info.next_action_times[0].month == 3

    year = datetime.now(timezone.utc).year - 1
    campaign_id = f"cmrt-{year}"
    worker = Worker(client, task_queue=settings.task_queue,
                    workflows=[CampaignWorkflow, YearlyCampaignWorkflow, StandInSurvey],
                    activities=[EmailActivities(settings, engine).send_email, *CampaignActivities(settings, engine).all()],
                    workflow_runner=workflow_runner(), activity_executor=ThreadPoolExecutor(max_workers=4))
    async with worker:
        await schedule.trigger()  # what the calendar does once a year
        status = await _wait(lambda: _selected_all_started(client, campaign_id, 2), what="the scheduled campaign")
        assert status.selected == 2
        with Session(engine) as s:
            row = s.get(Campaign, campaign_id)
            assert (row.year, row.name) == (year, f"CMRT campaign {year}")
        await client.get_workflow_handle(campaign_workflow_id(campaign_id)).execute_update(
            CampaignWorkflow.cancel, CancelCampaign(by="test"))
        await client.get_workflow_handle(campaign_workflow_id(campaign_id)).result()
    await schedule.delete()


# --- Continue-as-new when Temporal suggests it (a second dev server with a low threshold) ----


@pytest_asyncio.fixture(scope="module")
async def low_threshold_env():
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from models.search_attributes import ALL_KEYS
    from outreach.binaries import BinaryNotFound, find_binary

    try:
        path = find_binary("temporal")
    except BinaryNotFound as exc:
        pytest.skip(str(exc))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(path), data_converter=pydantic_data_converter, search_attributes=ALL_KEYS,
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40"])
    yield env
    await env.shutdown()


async def test_a_waiting_campaign_continues_as_new_when_its_history_grows(low_threshold_env, engine, settings_for, smtp):
    client = low_threshold_env.client
    settings = settings_for(smtp_port=smtp.port)
    seed_suppliers(engine, [5.0, 4.0, 3.0])
    inp = _input(page_size=10)
    async with _worker(client, settings, engine):
        handle = await client.start_workflow(CampaignWorkflow.run, inp, id=campaign_workflow_id(inp.campaign_id),
                                             task_queue=settings.task_queue)
        await _wait(lambda: _selected_all_started(client, inp.campaign_id, 3, runs=2), what="the fan-out")
        # Only pause/resume Updates now: each adds events to a run that otherwise just waits.
        for _ in range(6):
            await handle.execute_update(CampaignWorkflow.pause, CampaignAction(by="ana"))
            await handle.execute_update(CampaignWorkflow.resume, CampaignAction(by="ana"))
        await handle.execute_update(CampaignWorkflow.pause, CampaignAction(by="ana"))
        status = await _status(client, inp.campaign_id)
        assert status.runs >= 3  # continued as new while waiting for the end date
        assert (status.state, status.cursor, status.started, status.already_running) == (CampaignState.paused, 3, 3, 0)
        desc = await handle.describe()
        assert desc.raw_description.workflow_execution_info.history_length < 60
        await handle.execute_update(CampaignWorkflow.cancel, CancelCampaign(by="ana", withdraw_surveys=False))
        assert (await handle.result()).state == CampaignState.cancelled

"""The annual campaign: fan out one survey per selected supplier, then wait for the end date.

Each run starts at most one page of surveys (``page_size``, with ``start_window`` starts in flight at
once) and then continues as new, carrying only the cursor: a run never holds more than one page of
pending children (Temporal allows 2,000) and its history stays a few thousand events however many
suppliers there are. Surveys are abandoned children: they outlive the run that started them.

Pause holds the fan-out (surveys already running carry on); resume lets it go on. Cancel stops the
fan-out and, unless asked not to, withdraws every open survey, because a cancelled campaign must not
go on reminding suppliers. Late additions are appended to the frozen selection and started with the
next page. At the end date the campaign is recorded closed and the compliance team gets a summary
built from the read model; surveys still open (a corrective action plan can run for months) go on.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailRequest
    from models.campaign import (
        AddSuppliers,
        AddSuppliersRequest,
        AddSuppliersResult,
        CampaignAck,
        CampaignAction,
        CampaignCarry,
        CampaignInput,
        CampaignOpened,
        CampaignPage,
        CampaignPageRequest,
        CampaignRecord,
        CampaignResult,
        CampaignStatus,
        CancelCampaign,
        OpenCampaign,
        SummaryRequest,
        SurveyTarget,
        WithdrawResult,
        WithdrawSurveys,
        YearlyCampaign,
        campaign_length,
        campaign_workflow_id,
    )
    from models.enums import CampaignState, SurveyState
    from models.search_attributes import CAMPAIGN, STATE, SUPPLIER
    from models.survey import SurveyInput, survey_workflow_id
    from workflows.common import DB_OPTIONS, send_email

# The name SupplierSurveyWorkflow is registered under (workflows/survey.py); tests pin the two together.
SURVEY_WORKFLOW = "SupplierSurvey"
# Withdrawing thousands of surveys takes minutes; the activity heartbeats its position.
WITHDRAW_OPTIONS = dict(start_to_close_timeout=timedelta(hours=2), heartbeat_timeout=timedelta(minutes=2),
                        retry_policy=DB_OPTIONS["retry_policy"])


@workflow.defn
class CampaignWorkflow:
    @workflow.init
    def __init__(self, inp: CampaignInput) -> None:
        # Set here, not in run(): an Update delivered with a new run's first task is validated before
        # run() starts, and must see the carried state.
        self.inp = inp
        self.c: CampaignCarry | None = (
            inp.carried.model_copy(update={"runs": inp.carried.runs + 1}) if inp.carried else None)
        self.finished: CampaignState | None = None

    # --- Run ------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: CampaignInput) -> CampaignResult:
        if self.c is None:
            ends_at = inp.ends_at or workflow.now() + campaign_length(inp.policy)
            opened: CampaignOpened = await workflow.execute_activity(
                "open_campaign",
                OpenCampaign(campaign_id=inp.campaign_id, year=inp.year, name=inp.display_name,
                             workflow_id=workflow.info().workflow_id, selection=inp.selection, policy=inp.policy,
                             starts_at=workflow.now(), ends_at=ends_at, kind=inp.kind, minerals=inp.minerals),
                result_type=CampaignOpened, **DB_OPTIONS,
            )
            self.c = CampaignCarry(selected=opened.selected, ends_at=ends_at)
            if inp.search_attributes:
                workflow.upsert_search_attributes([CAMPAIGN.value_set(inp.campaign_id)])
        c = self.c

        while True:
            if c.cancel is not None:
                return await self._cancel(c.cancel)
            if not c.paused and c.cursor < c.selected:
                await self._start_page()
                if c.cancel is not None:
                    continue
                await self._record(CampaignState.running)
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.inp.model_copy(update={"carried": c}))
            if workflow.info().is_continue_as_new_suggested():
                # Long waits collect Update events (pauses, late additions): start clean.
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.inp.model_copy(update={"carried": c}))
            remaining = c.ends_at - workflow.now()
            if remaining <= timedelta(0):
                return await self._close()
            try:
                await workflow.wait_condition(
                    lambda: c.cancel is not None or (not c.paused and c.cursor < c.selected)
                    or workflow.info().is_continue_as_new_suggested(), timeout=remaining)
            except asyncio.TimeoutError:
                return await self._close()

    async def _start_page(self) -> None:
        c, inp = self.c, self.inp
        page: CampaignPage = await workflow.execute_activity(
            "campaign_page", CampaignPageRequest(campaign_id=inp.campaign_id, cursor=c.cursor, limit=inp.page_size),
            result_type=CampaignPage, **DB_OPTIONS,
        )
        window = asyncio.Semaphore(inp.start_window)

        async def start(target: SurveyTarget) -> None:
            async with window:
                # A pause or cancel arriving mid-page holds (or drops) the starts not yet made.
                await workflow.wait_condition(lambda: not c.paused or c.cancel is not None)
                if c.cancel is not None:
                    return
                await self._start_survey(target)

        await asyncio.gather(*(start(t) for t in page.targets))
        if c.cancel is None:
            c.cursor = page.next_cursor

    async def _start_survey(self, target: SurveyTarget) -> None:
        c, inp = self.c, self.inp
        survey = SurveyInput(
            campaign_id=inp.campaign_id, campaign_year=inp.year, supplier_id=target.supplier_id,
            supplier_name=target.supplier_name, contact=target.contact,
            commodity_manager_name=target.commodity_manager_name,
            commodity_manager_email=target.commodity_manager_email, vp_email=inp.vp_email,
            compliance_email=inp.compliance_email, spend=target.spend, policy=inp.policy,
            company_name=inp.company_name, search_attributes=inp.search_attributes,
            template_kind=inp.kind, minerals=inp.minerals,
        )
        # The survey's own first values: it then has nothing to upsert until its state changes.
        attrs = TypedSearchAttributes([
            SearchAttributePair(CAMPAIGN, inp.campaign_id), SearchAttributePair(SUPPLIER, target.supplier_id),
            SearchAttributePair(STATE, SurveyState.requested.value)]) if inp.search_attributes else None
        try:
            await workflow.start_child_workflow(
                SURVEY_WORKFLOW, survey, id=survey_workflow_id(inp.campaign_id, target.supplier_id),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                # A survey that ran (even one withdrawn) is never started again by the same campaign.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=attrs, static_summary=f"{target.supplier_name} ({target.supplier_id})",
            )
            c.started += 1
        except WorkflowAlreadyStartedError:
            c.already_running += 1

    async def _record(self, state: CampaignState, **extra) -> None:
        await workflow.execute_activity(
            "record_campaign",
            CampaignRecord(campaign_id=self.inp.campaign_id, state=state, surveys_started=self.c.started, **extra),
            **DB_OPTIONS,
        )

    async def _close(self) -> CampaignResult:
        self.finished = CampaignState.closed
        await self._record(CampaignState.closed, closed_at=workflow.now())
        await self._send_summary(CampaignState.closed)
        return self._result(CampaignState.closed)

    async def _cancel(self, cancel: CancelCampaign) -> CampaignResult:
        self.finished = CampaignState.cancelled
        withdrawn = WithdrawResult()
        if cancel.withdraw_surveys:
            withdrawn = await workflow.execute_activity(
                "withdraw_campaign_surveys",
                WithdrawSurveys(campaign_id=self.inp.campaign_id, by=cancel.by,
                                reason=cancel.reason or "the campaign was cancelled"),
                result_type=WithdrawResult, **WITHDRAW_OPTIONS,
            )
        await self._record(CampaignState.cancelled, closed_at=workflow.now())
        await self._send_summary(CampaignState.cancelled)
        return self._result(CampaignState.cancelled, withdrawn=withdrawn.withdrawn)

    async def _send_summary(self, state: CampaignState) -> None:
        context: dict = await workflow.execute_activity(
            "campaign_summary", SummaryRequest(campaign_id=self.inp.campaign_id, state=state),
            result_type=dict, **DB_OPTIONS,
        )
        await send_email(EmailRequest(idempotency_key=f"campaign/{self.inp.campaign_id}/summary/{state.value}",
                                      template="campaign_summary", to=self.inp.compliance_email, context=context))

    def _result(self, state: CampaignState, withdrawn: int = 0) -> CampaignResult:
        return CampaignResult(campaign_id=self.inp.campaign_id, state=state, selected=self.c.selected,
                              started=self.c.started, withdrawn=withdrawn, ended_at=workflow.now())

    def _state(self) -> CampaignState:
        if self.finished is not None:
            return self.finished
        if self.c is None:
            return CampaignState.draft
        if self.c.cancel is not None:
            return CampaignState.cancelled
        return CampaignState.paused if self.c.paused else CampaignState.running

    # --- Query -----------------------------------------------------------------------------------

    @workflow.query
    def status(self) -> CampaignStatus:
        c = self.c
        if c is None:
            raise ApplicationError("the campaign is still opening; ask again in a moment")
        return CampaignStatus(campaign_id=self.inp.campaign_id, state=self._state(), selected=c.selected,
                              cursor=c.cursor, started=c.started, already_running=c.already_running,
                              ends_at=c.ends_at, runs=c.runs)

    # --- Updates ---------------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self.c is None:
            raise ApplicationError("the campaign is still opening; try again in a moment")
        if self.finished is not None or self.c.cancel is not None:
            raise ApplicationError(f"the campaign is {self._state().value}")

    @workflow.update
    async def pause(self, action: CampaignAction) -> CampaignAck:
        self.c.paused = True
        await self._record(CampaignState.paused)
        return CampaignAck(state=CampaignState.paused,
                           message="no new surveys start until resumed; running surveys carry on")

    @pause.validator
    def _validate_pause(self, action: CampaignAction) -> None:
        self._require_open()
        if self.c.paused:
            raise ApplicationError("the campaign is already paused")

    @workflow.update
    async def resume(self, action: CampaignAction) -> CampaignAck:
        self.c.paused = False
        await self._record(CampaignState.running)
        left = self.c.selected - self.c.cursor
        return CampaignAck(state=CampaignState.running, message=f"{left} surveys left to start")

    @resume.validator
    def _validate_resume(self, action: CampaignAction) -> None:
        self._require_open()
        if not self.c.paused:
            raise ApplicationError("the campaign is not paused")

    @workflow.update
    async def cancel(self, cancel: CancelCampaign) -> CampaignAck:
        self.c.cancel = cancel
        what = "open surveys will be withdrawn" if cancel.withdraw_surveys else "running surveys are left to finish"
        return CampaignAck(state=CampaignState.cancelled, message=f"no new surveys will start; {what}")

    @cancel.validator
    def _validate_cancel(self, cancel: CancelCampaign) -> None:
        self._require_open()

    @workflow.update
    async def add_suppliers(self, req: AddSuppliers) -> AddSuppliersResult:
        result: AddSuppliersResult = await workflow.execute_activity(
            "add_campaign_suppliers", AddSuppliersRequest(campaign_id=self.inp.campaign_id, supplier_ids=req.supplier_ids),
            result_type=AddSuppliersResult, **DB_OPTIONS,
        )
        # Wakes the main loop, which starts the new surveys with its next page.
        self.c.selected = max(self.c.selected, result.selected)
        return result

    @add_suppliers.validator
    def _validate_add(self, req: AddSuppliers) -> None:
        self._require_open()
        if not any(s.strip() for s in req.supplier_ids):
            raise ApplicationError("no supplier ID given")


@workflow.defn
class YearlyCampaignWorkflow:
    """Started by the yearly Schedule: opens the campaign for the year it runs in, then ends.

    A Schedule's action has a fixed input, so this small workflow turns "today" into the reporting
    year and starts that campaign under its usual ID (the CLI and the dashboard find it as if started
    by hand). A campaign for that year that already exists is left alone.
    """

    @workflow.run
    async def run(self, yearly: YearlyCampaign) -> str:
        inp = yearly.for_year(workflow.now().year + yearly.year_offset)
        try:
            await workflow.start_child_workflow(
                CampaignWorkflow.run, inp, id=campaign_workflow_id(inp.campaign_id),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            return f"{inp.campaign_id} already exists"
        return f"{inp.campaign_id} started"

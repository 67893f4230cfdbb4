"""One supplier in one campaign, from the request to an outcome (DESIGN.md, the lifecycle).

Shape: the run loop walks the survey's states; each waiting state computes its next scheduled step from
the carried state and the policy (`_next_step`) and sleeps until then or until an Update changes
something (`_changed`). Updates only change state and queue messages; the loop sends them, so an Update
never waits on SMTP. The whole state is one pydantic object (`SurveyCarry`) so continue-as-new carries it
as is, with the IDs of the Updates already applied.

Email idempotency keys are `survey/<campaign>/<supplier>/<step>/r<round>/n<n>` with every part taken from
the carried state: a replay, a retry or a new run computes the same key and the outbox sends nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Optional

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailRequest, EmailResult
    from activities.survey import CheckOutcome, CheckRequest, ManualReviewRecord, SurveyColumns, SurveyRecord
    from models.enums import Decision, SurveyOutcome, SurveyState
    from models.scorecards import ScorecardEvent
    from models.search_attributes import CAMPAIGN, OUTCOME, STATE, SUPPLIER
    from models.survey import (
        ActionAck,
        AddNote,
        CapInput,
        CapResult,
        ComplianceAction,
        Contact,
        EscalationInput,
        EscalationResult,
        ExtendDeadline,
        ManualReview,
        ReplaceContact,
        SubmissionFinding,
        SubmissionSummary,
        SubmissionVerdict,
        SubmitCmrt,
        SurveyCarry,
        SurveyInput,
        SurveyResult,
        SurveyStatus,
        TimelineEntry,
        VerifyAction,
        VpDecision,
        Withdraw,
        cap_workflow_id,
        escalation_workflow_id,
    )
    from models.facts.survey import has_valid_declaration, outcome_if_lapsed, outcome_when_plan_closes
    from workflows.common import DB_OPTIONS, LOCAL_DB_OPTIONS, email_retry_delay, send_email

# A workbook check reads a whole file (≈0.5 s, more for big ones): give it room before retrying.
CHECK_OPTIONS = dict(DB_OPTIONS, start_to_close_timeout=timedelta(minutes=5))

OPEN_FOR_DECLARATION = {SurveyState.requested, SurveyState.awaiting_response, SurveyState.chasing,
                        SurveyState.correction_requested}
# A late answer is still welcome while the VP has not decided on a non-response.
LATE_ANSWER_REASONS = {"non_responsive"}
WAITING_STATES = {SurveyState.awaiting_response, SurveyState.chasing, SurveyState.correction_requested,
                  SurveyState.product_level_requested}
# The outcome a case keeps when the VP lets its escalation lapse (see models/survey.py).
PROVISIONAL_OUTCOME = {
    "non_responsive": SurveyOutcome.non_responsive,
    "invalid_uncorrected": SurveyOutcome.invalid_uncorrected,
    "cap_overdue": SurveyOutcome.non_responsive,
    "cap_refused": SurveyOutcome.non_responsive,
}
DECISION_OUTCOME = {Decision.suspend: SurveyOutcome.suspended, Decision.disengage: SurveyOutcome.disengaged,
                    Decision.waive: SurveyOutcome.waived}
MAX_KEPT_UPDATE_IDS = 500
# Releases of this workflow that change its commands, newest last. A run records one marker, its release's,
# which implies every change before it (see _release); runs recorded before a release replay as they were.
LEAN_SURVEY = "lean-survey"
DELIVERY_CLOCK = "delivery-clock"
TRUE_OUTCOME = "true-outcome"
# How long an Update that opened a plan or an escalation waits for the run loop to start the child.
CHILD_START_WAIT = timedelta(seconds=30)


@dataclass
class Step:
    name: str
    at: datetime
    run: Callable[[], Awaitable[None]]


def _day(dt: Optional[datetime]) -> str:
    return dt.strftime("%d %B %Y") if dt else ""


@workflow.defn(name="SupplierSurvey")
class SupplierSurveyWorkflow:
    @workflow.init
    def __init__(self, inp: SurveyInput) -> None:
        self.inp = inp
        self.p = inp.policy
        self.s: SurveyCarry = inp.carried or SurveyCarry(contact=inp.contact)
        self.survey_id = inp.survey_id
        self._lock = asyncio.Lock()
        self._changed = 0  # bumped by every Update that changes what the loop should do next
        self._child: Any = None
        self._release_no: Optional[int] = None

    # --- the run loop ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: SurveyInput) -> SurveyResult:
        self._publish_search_attributes()
        if inp.carried is None:
            await self._record("survey_started")
        while self.s.state != SurveyState.closed:
            await self._send_queued()
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.inp.model_copy(update={"carried": self.s}))
            state = self.s.state
            if state == SurveyState.requested:
                await self._send_request()
            elif state in WAITING_STATES:
                await self._wait_for_next_step()
            elif state == SurveyState.corrective_action:
                await self._run_corrective_action()
            elif state == SurveyState.escalated:
                await self._run_escalation()
            else:  # validating / risk_review: an Update is deciding
                seen = self._changed
                await workflow.wait_condition(lambda: self._changed != seen or self.s.state not in
                                              (SurveyState.validating, SurveyState.risk_review))
        await self._send_queued()
        await self._close_entry()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return SurveyResult(survey_id=self.survey_id, outcome=self.s.outcome, closed_at=workflow.now(),
                            submissions=len(self.s.submissions), correction_rounds=self.s.correction_round)

    def _should_continue_as_new(self) -> bool:
        # `requested`: only while the request is undelivered (release "delivery-clock"; before it, the run
        # never came back here in that state).
        if self.s.state not in WAITING_STATES and self.s.state != SurveyState.requested:
            return False
        return self._history_full()

    def _history_full(self) -> bool:
        if self._child is not None:
            return False  # never with a child open: closing the run would cancel it
        info = workflow.info()
        limit = self.inp.continue_as_new_at_events
        return info.is_continue_as_new_suggested() or (limit is not None and info.get_current_history_length() >= limit)

    async def _send_request(self) -> None:
        """The request, unless a submission (by the CLI or the API) already answered it."""
        now = workflow.now()
        self.s.requested_at = now
        self.s.phase_started_at = now
        self.s.due_at = now + self.p.response_due
        if self.s.state != SurveyState.requested:
            return
        if self._delivery_clock():
            if not await self._send_until_delivered("request", "request", self._request_clock, round_=0):
                return  # still undelivered, and the history is long: the loop continues as new first
        else:
            await self._email_supplier("request", "request", n=0, round_=0)
        # A submission may already have arrived (by the CLI or the API, before any email): it decides.
        card = self._score("request_sent")
        if self.s.state == SurveyState.requested:
            await self._set_state(SurveyState.awaiting_response, "request_sent", data={"to": self.s.contact.email},
                                  scorecard=card)
        else:
            await self._record("request_sent", data={"to": self.s.contact.email}, scorecard=card)

    async def _wait_for_next_step(self) -> None:
        """Sleep until the next scheduled step of this state, or until an Update changes the picture."""
        state = self.s.state
        if not self.s.phase_entry_done:
            await self._phase_entry()
            return
        if self._frozen():
            seen = self._changed
            await workflow.wait_condition(lambda: self._changed != seen)
            return
        step = self._next_step()
        if step is None:
            seen = self._changed
            await workflow.wait_condition(lambda: self._changed != seen)
            return
        wait = (step.at - workflow.now()).total_seconds()
        if wait > 0:
            seen = self._changed
            try:
                await workflow.wait_condition(lambda: self._changed != seen or bool(self.s.pending), timeout=wait)
                return  # something changed: compute again
            except asyncio.TimeoutError:
                pass
        if self.s.state == state and not self._frozen():
            await step.run()

    def _frozen(self) -> bool:
        return self.s.paused or self.s.bounced

    def _next_step(self) -> Optional[Step]:
        s, p = self.s, self.p
        start = s.phase_started_at
        steps: list[Step] = []
        if s.state in (SurveyState.awaiting_response, SurveyState.chasing):
            if s.reminders_sent < len(p.reminder_offsets):
                at = start + p.reminder_offsets[s.reminders_sent]
                if at < s.due_at:
                    steps.append(Step(f"reminder {s.reminders_sent + 1}", at, self._remind))
            if s.state == SurveyState.awaiting_response:
                steps.append(Step("due date: the commodity manager chases", s.due_at, self._chase))
            else:
                escalate_at = s.due_at + p.grace_period
                nxt = s.due_at + p.chase_reminder_every * (s.chase_reminders_sent + 1)
                if nxt < escalate_at:
                    steps.append(Step(f"overdue reminder {s.chase_reminders_sent + 1}", nxt, self._overdue_reminder))
                steps.append(Step("escalation to the Supply Chain VP", escalate_at,
                                  lambda: self._escalate("non_responsive")))
        elif s.state == SurveyState.correction_requested:
            if s.reminders_sent < len(p.correction_reminder_offsets):
                steps.append(Step(f"correction reminder {s.reminders_sent + 1}",
                                  start + p.correction_reminder_offsets[s.reminders_sent], self._correction_reminder))
            steps.append(Step("correction window ends: escalation", start + p.correction_window,
                              lambda: self._escalate("invalid_uncorrected")))
        elif s.state == SurveyState.product_level_requested:
            steps.append(Step("no product-level CMRT: corrective action plan", start + p.product_level_window,
                              lambda: self._open_cap("no_product_level")))
        return min(steps, key=lambda st: st.at) if steps else None

    async def _phase_entry(self) -> None:
        """The message that opens a waiting state (once per state entry, also across continue-as-new)."""
        s = self.s
        self.s.phase_entry_done = True
        if self._delivery_clock() and s.state in (SurveyState.correction_requested, SurveyState.product_level_requested):
            step = s.state.value.replace("_requested", "_request")  # correction_request, product_level_request
            if not await self._send_until_delivered(step, step, self._phase_clock):
                s.phase_entry_done = False  # the next run sends it (the loop continues as new first)
            return
        if s.state == SurveyState.correction_requested:
            await self._email_supplier("correction_request", "correction_request", n=0, extra={
                "findings": [f.model_dump() for f in s.last_findings],
                "round": s.correction_round, "max_rounds": self.p.max_correction_rounds,
                "window_ends": _day(s.phase_started_at + self.p.correction_window)})
        elif s.state == SurveyState.product_level_requested:
            high = s.submissions[-1].high_risk_smelters if s.submissions else 0
            await self._email_supplier("product_level_request", "product_level_request", n=0, extra={
                "high_risk_smelters": high, "window_ends": _day(s.phase_started_at + self.p.product_level_window)})

    # --- the clock starts at delivery (release "delivery-clock") ------------------------------------

    async def _send_until_delivered(self, step: str, template: str, start_clock: Callable[[datetime], dict],
                                    round_: Optional[int] = None) -> bool:
        """A message that starts the supplier's clock (the request; a correction or product-level request),
        tried until the relay takes it. Each attempt starts the clock at its own time and states the dates
        counted from it (`start_clock`); the outbox renders a message no server has taken again with that
        attempt's context. So after an outage of hours the supplier reads the due date the survey keeps, and the
        reminders follow at the policy's offsets from delivery, not all at once. Retries wait on durable
        timers (email_retry_delay), like the SDK's own retries of every other email. An outage of days makes a
        long history (≈6 events an attempt, 144 attempts a day): False when the run should continue as new
        before the next attempt (the new run tries the same key again)."""
        r = self.s.correction_round if round_ is None else round_
        phase = (self.s.state, r)
        extra: dict = {}
        failed = 0
        while True:
            # An Update may have moved the survey on meanwhile (an answer by the API): the message still goes
            # out as it was, under its key, but no longer sets the clock of a phase that has ended.
            if (self.s.state, self.s.correction_round) == phase:
                extra = start_clock(workflow.now())
            try:
                await self._email_supplier(step, template, n=0, round_=r, extra=extra, once=True)
                return True
            except FailureError as err:
                # Not delivered (server down, 4xx), the outbox unreachable or the attempt timed out. A local
                # activity's own failure arrives as it was raised (ApplicationError) or wrapped (ActivityError).
                if isinstance(err, CancelledError):
                    raise
                failed += 1
                if failed == 1 or failed % 10 == 0:
                    cause = err.cause if isinstance(err, ActivityError) and err.cause else err
                    workflow.logger.info("%s not delivered after %d attempts: %s", step, failed, cause)
                if self._history_full():
                    return False
                await workflow.sleep(email_retry_delay(failed))

    def _request_clock(self, start: datetime) -> dict:
        """The request's clock starts now: reminders at the policy's offsets and the due date after it (a
        deadline the compliance team extended meanwhile is kept when later)."""
        s = self.s
        s.requested_at = start
        s.phase_started_at = start
        s.due_at = max(s.due_at or start, start + self.p.response_due)
        return {}

    def _phase_clock(self, start: datetime) -> dict:
        """A correction round or a product-level request: its window and reminders count from now."""
        s = self.s
        s.phase_started_at = start
        if s.state == SurveyState.correction_requested:
            return {"findings": [f.model_dump() for f in s.last_findings], "round": s.correction_round,
                    "max_rounds": self.p.max_correction_rounds,
                    "window_ends": _day(start + self.p.correction_window)}
        high = s.submissions[-1].high_risk_smelters if s.submissions else 0
        return {"high_risk_smelters": high, "window_ends": _day(start + self.p.product_level_window)}

    # --- scheduled steps -------------------------------------------------------------------------

    async def _remind(self) -> None:
        n = self.s.reminders_sent + 1
        self.s.reminders_sent = n
        self.s.total_reminders += 1
        await self._email_supplier("reminder", "reminder", n=n, extra={
            "firmness": n, "final": n == len(self.p.reminder_offsets)})
        await self._record("reminder_sent", data={"n": n})

    def _chase_step(self, step: str) -> str:
        """A deadline extended past a chase starts a new chase: its messages need keys of their own."""
        return step if self.s.chases <= 1 else f"{step}-{self.s.chases}"

    async def _chase(self) -> None:
        to = self.inp.commodity_manager_email or self.inp.compliance_email
        self.s.chases += 1
        await self._email(self._chase_step("due_date_chase"), "due_date_chase", to, n=0, cc=[self.inp.compliance_email]
                          if self.inp.commodity_manager_email else [], extra={
                              "commodity_manager_name": self.inp.commodity_manager_name or "colleague",
                              "grace_ends": _day(self.s.due_at + self.p.grace_period)})
        await self._set_state(SurveyState.chasing, "due_date_passed", data={"chased_by": to})

    async def _overdue_reminder(self) -> None:
        n = self.s.chase_reminders_sent + 1
        self.s.chase_reminders_sent = n
        self.s.total_reminders += 1
        await self._email_supplier(self._chase_step("overdue_reminder"), "overdue_reminder", n=n, extra={
            "grace_ends": _day(self.s.due_at + self.p.grace_period)})
        await self._record("overdue_reminder_sent", data={"n": n})

    async def _correction_reminder(self) -> None:
        n = self.s.reminders_sent + 1
        self.s.reminders_sent = n
        self.s.total_reminders += 1
        await self._email_supplier("correction_reminder", "correction_reminder", n=n, extra={
            "findings": [f.model_dump() for f in self.s.last_findings],
            "window_ends": _day(self.s.phase_started_at + self.p.correction_window)})
        await self._record("correction_reminder_sent", data={"n": n})

    # --- escalation and corrective action (children) ----------------------------------------------

    async def _escalate(self, reason: str) -> None:
        self.s.escalations += 1
        self.s.escalation_reason = reason
        self.s.open_escalation_id = escalation_workflow_id(self.survey_id, self.s.escalations)
        self.s.outcome = (outcome_if_lapsed(reason, valid_declaration=self._has_valid_declaration())
                          if self._true_outcome() else PROVISIONAL_OUTCOME[reason])
        await self._set_state(SurveyState.escalated, "escalated", reason=reason,
                              data={"escalation_id": self.s.open_escalation_id})
        # Added after the first release: the commodity manager and the compliance team hear of the escalation
        # (without the VP's decision link). Surveys escalated before it replay without the extra email.
        if self._patched("escalation-notice"):
            to = self.inp.commodity_manager_email or self.inp.compliance_email
            await self._email("escalation_notice", "escalation_notice", to, n=self.s.escalations,
                              cc=[self.inp.compliance_email] if self.inp.commodity_manager_email else [],
                              extra={"reason": reason, "escalation_id": self.s.open_escalation_id,
                                     "commodity_manager_name": self.inp.commodity_manager_name or "colleague"})

    async def _open_cap(self, reason: str) -> None:
        self.s.caps += 1
        self.s.cap_reason = reason
        self.s.open_cap_id = cap_workflow_id(self.survey_id, self.s.caps)
        await self._set_state(SurveyState.corrective_action, "corrective_action_opened", reason=reason,
                              data={"cap_id": self.s.open_cap_id})

    async def _await_child(self, handle: Any) -> Any:
        """The child's result; None when the survey moved on meanwhile (withdrawn, or a late submission
        answered a non-response escalation): the child is cancelled."""
        state = self.s.state
        while True:
            await workflow.wait_condition(lambda: handle.done() or bool(self.s.pending) or bool(self.s.forward)
                                          or self.s.state != state)
            if self.s.state != state:
                if handle.done():
                    return await handle
                handle.cancel()
                if self._lean():
                    # Wait until the child has ended: its record says cancelled before the survey closes, and
                    # the run never completes in the same workflow task that asks for the cancellation.
                    try:
                        await handle
                    except ChildWorkflowError:
                        pass
                return None
            # This order (queued mail, forwards, then the result) is what recorded histories expect.
            await self._send_queued()
            await self._forward_to_child(handle)
            if handle.done():
                return await handle

    async def _forward_to_child(self, handle: Any) -> None:
        while self.s.forward and not handle.done():  # a finished child takes no signal
            item = self.s.forward.pop(0)
            await handle.signal(item["signal"], item["payload"])

    async def _run_escalation(self) -> None:
        esc_id = self.s.open_escalation_id
        handle = await workflow.start_child_workflow(
            "Escalation",
            EscalationInput(
                escalation_id=esc_id, survey_id=self.survey_id, campaign_id=self.inp.campaign_id,
                supplier_id=self.inp.supplier_id, supplier_name=self.inp.supplier_name,
                reason=self.s.escalation_reason, vp_email=self.inp.vp_email, compliance_email=self.inp.compliance_email,
                supplier_contact=None if self.s.bounced else self.s.contact, policy=self.p,
                company_name=self.inp.company_name),
            id=esc_id, result_type=EscalationResult,
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
        )
        self._child = handle
        try:
            result: Optional[EscalationResult] = await self._await_child(handle)
        except ChildWorkflowError as err:  # terminated or failed by hand: as if the VP had not decided
            workflow.logger.warning("escalation %s ended without a result: %s", esc_id, err.cause)
            result = EscalationResult(escalation_id=esc_id)
        finally:
            self._child = None
            self.s.forward.clear()  # nothing meant for this child may reach the next one
        self.s.open_escalation_id = None
        if self.s.state != SurveyState.escalated:  # withdrawn, or answered late
            if result is not None and result.decision is not None:
                # The VP decided in the same instant: the decision is on record (and on the supplier's
                # status); the survey follows the answer. The compliance team sees both in the timeline.
                await self._record("vp_decided_after_late_answer", actor=result.decided_by, reason=result.reason,
                                   data={"decision": result.decision.value, "escalation_id": esc_id})
            elif self.s.state != SurveyState.closed or self.s.outcome != SurveyOutcome.withdrawn:
                await self._record("escalation_withdrawn", reason="the supplier answered", data={"escalation_id": esc_id})
            return
        if result.decision is None:
            await self._close(self.s.outcome, "escalation_lapsed", reason="no decision from the Supply Chain VP")
        elif result.decision == Decision.corrective_action:
            if self._true_outcome():
                self.s.outcome = None  # the plan decides now: what the escalation held no longer stands
            await self._record("vp_decided", actor=result.decided_by, reason=result.reason,
                               data={"decision": result.decision.value})
            await self._open_cap("vp_decision")
        else:
            await self._close(DECISION_OUTCOME[result.decision], "vp_decided", actor=result.decided_by,
                              reason=result.reason, data={"decision": result.decision.value})

    async def _run_corrective_action(self) -> None:
        cap_id = self.s.open_cap_id
        handle = await workflow.start_child_workflow(
            "CorrectiveActionPlan",
            CapInput(cap_id=cap_id, survey_id=self.survey_id, campaign_id=self.inp.campaign_id,
                     supplier_id=self.inp.supplier_id, supplier_name=self.inp.supplier_name, contact=self.s.contact,
                     compliance_email=self.inp.compliance_email, reason=self.s.cap_reason, policy=self.p,
                     company_name=self.inp.company_name,
                     continue_as_new_at_events=self.inp.continue_as_new_at_events),
            id=cap_id, result_type=CapResult,
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
        )
        self._child = handle
        try:
            result: Optional[CapResult] = await self._await_child(handle)
        except ChildWorkflowError as err:  # terminated or failed by hand: the plan did not close
            workflow.logger.warning("corrective action plan %s ended without a result: %s", cap_id, err.cause)
            result = CapResult(cap_id=cap_id, status="cancelled", reason="the plan ended without closing")
        finally:
            self._child = None
            self.s.forward.clear()
        self.s.open_cap_id = None
        if self.s.state != SurveyState.corrective_action:
            return
        if result.status == "closed":
            if self._true_outcome():
                outcome = outcome_when_plan_closes(valid_declaration=self._has_valid_declaration(),
                                                   escalation_reason=self.s.escalation_reason)
            else:
                outcome = (SurveyOutcome.valid_with_cap if self._has_valid_declaration() else self.s.outcome) \
                    or SurveyOutcome.valid_with_cap
            await self._close(outcome, "corrective_action_closed", data={"cap_id": cap_id})
        else:
            await self._record("corrective_action_" + result.status, data={"cap_id": cap_id}, reason=result.reason)
            await self._escalate("cap_refused" if result.status == "refused" else "cap_overdue")

    async def _until_child_runs(self) -> None:
        """An Update that opened a plan or an escalation answers once the run loop has started the child, so
        its caller finds the child's ID in the status and can send it Updates. (With the read-model writes
        as local activities the Update would otherwise finish in the same workflow task that asks for the
        child; before, the activity's round trip let the child start first.) Bounded: a run loop still busy
        sending an email (SMTP down) must not hold the supplier's upload for hours."""
        if not self._patched("local-read-model-writes"):
            return
        if self._child is not None or self.s.state not in (SurveyState.corrective_action, SurveyState.escalated):
            return
        try:
            await workflow.wait_condition(lambda: self._child is not None or self.s.state not in (
                SurveyState.corrective_action, SurveyState.escalated), timeout=CHILD_START_WAIT)
        except asyncio.TimeoutError:
            pass

    def _has_valid_declaration(self) -> bool:
        return has_valid_declaration(self.s.submissions, purpose="declaration")

    # --- closing --------------------------------------------------------------------------------

    async def _close(self, outcome: Optional[SurveyOutcome], kind: str, *, actor: Optional[str] = None,
                     reason: Optional[str] = None, data: Optional[dict] = None) -> None:
        self.s.outcome = outcome
        self.s.phase_entry_done = False
        await self._set_state(SurveyState.closed, kind, actor=actor, reason=reason,
                              data=dict(data or {}, outcome=outcome.value if outcome else None))

    async def _close_entry(self) -> None:
        if self.s.phase_entry_done:
            return
        self.s.phase_entry_done = True
        outcome = self.s.outcome
        if outcome in (SurveyOutcome.valid, SurveyOutcome.valid_with_cap):
            await self._email_supplier("accepted", "accepted", n=0, extra={"with_cap": outcome == SurveyOutcome.valid_with_cap})
        elif outcome == SurveyOutcome.withdrawn:
            await self._email_supplier("withdrawn", "withdrawn", n=0)
        elif self.s.timeline and self.s.timeline[-1].kind == "corrective_action_closed" and \
                self._patched("closing-notice-by-survey"):
            # A plan the VP required closed, without a valid declaration: the supplier hears the plan is done.
            await self._email_supplier("cap_closed", "accepted", n=0, extra={"with_cap": True, "cap_closed": True})
        await self._scorecard("outcome", outcome=outcome.value if outcome else None)

    # --- Updates: the supplier's submission -----------------------------------------------------

    @workflow.update
    async def submit(self, sub: SubmitCmrt) -> SubmissionVerdict:
        async with self._lock:
            uid = self._update_id()
            if uid in self.s.processed_update_ids or self._same_as_latest(sub):
                return self._verdict_of(self._latest_for(uid, sub))
            self._check_submission_allowed(sub)
            self._remember(uid)
            n = len(self.s.submissions) + 1
            submission_id = f"{self.survey_id}/submission/{n}"
            received = workflow.now()
            prior_state = self.s.state
            if prior_state == SurveyState.escalated:
                self.s.outcome = None  # the provisional non-response no longer holds
            await self._set_state(SurveyState.validating, "submission_received", actor=sub.submitted_by,
                                  data={"submission_id": submission_id, "filename": sub.filename,
                                        "channel": sub.channel, "purpose": sub.purpose, "update_id": uid})
            result: CheckOutcome = await workflow.execute_activity(
                "check_submission",
                CheckRequest(survey_id=self.survey_id, submission_id=submission_id, file_sha256=sub.file_sha256,
                             filename=sub.filename, channel=sub.channel, submitted_by=sub.submitted_by,
                             received_at=received, round=self.s.correction_round, purpose=sub.purpose,
                             campaign_year=self.inp.campaign_year),
                result_type=CheckOutcome, **CHECK_OPTIONS)
            summary = SubmissionSummary(
                submission_id=submission_id, file_sha256=sub.file_sha256, filename=sub.filename, purpose=sub.purpose,
                round=self.s.correction_round, received_at=received, verdict=result.verdict,
                error_count=result.error_count, high_risk_smelters=result.high_risk_smelters,
                declaration_scope=result.declaration_scope, program_strength=result.program_strength, update_id=uid)
            self.s.submissions.append(summary)
            self.s.last_findings = list(result.findings)
            first = not self.s.first_submission_reported
            self.s.first_submission_reported = True
            await self._record("submission_checked", data={"submission_id": submission_id, "verdict": result.verdict,
                                                           "errors": result.error_count,
                                                           "high_risk_smelters": result.high_risk_smelters},
                               scorecard=self._score("first_submission", submission_id=submission_id) if first else None)
            await self._decide_after(summary, prior_state)
            verdict = self._verdict_of(summary)
        await self._until_child_runs()
        return verdict

    @submit.validator
    def _validate_submit(self, sub: SubmitCmrt) -> None:
        if self._update_id() in self.s.processed_update_ids or self._same_as_latest(sub):
            return  # a duplicate delivery: answered with the first verdict
        self._check_submission_allowed(sub)

    def _check_submission_allowed(self, sub: SubmitCmrt) -> None:
        state = self.s.state
        if sub.purpose == "product_level":
            if state != SurveyState.product_level_requested:
                raise ApplicationError(f"no product-level CMRT is requested (the survey is {state.value})",
                                       type="SubmissionNotAllowed", non_retryable=True)
        elif state not in OPEN_FOR_DECLARATION and not (
                state == SurveyState.escalated and self.s.escalation_reason in LATE_ANSWER_REASONS):
            raise ApplicationError(f"the survey does not take a declaration now (it is {state.value})",
                                   type="SubmissionNotAllowed", non_retryable=True)

    def _same_as_latest(self, sub: SubmitCmrt) -> bool:
        """The same file sent again for the same purpose before anything moved on is the same submission."""
        if not self.s.submissions:
            return False
        last = self.s.submissions[-1]
        # The identical file cannot get another verdict: answering it again would only burn a round.
        return last.file_sha256 == sub.file_sha256 and last.purpose == sub.purpose

    def _latest_for(self, uid: str, sub: SubmitCmrt) -> SubmissionSummary:
        for summary in reversed(self.s.submissions):
            if summary.update_id == uid:
                return summary
        return self.s.submissions[-1]

    async def _decide_after(self, sub: SubmissionSummary, prior: SurveyState) -> None:
        """Where a checked (or hand-reviewed) submission takes the survey: the rules in one place."""
        s, p = self.s, self.p
        good = sub.verdict in ("valid", "accepted")
        if sub.purpose == "product_level":
            if not good:
                await self._set_state(SurveyState.product_level_requested, "product_level_invalid")
            elif sub.high_risk_smelters > 0:
                await self._open_cap("high_risk_confirmed")
            else:
                await self._close(SurveyOutcome.valid, "risk_cleared")
            return
        if not good:
            if s.correction_round >= p.max_correction_rounds:
                await self._escalate("invalid_uncorrected")
                return
            s.correction_round += 1
            await self._enter_phase(SurveyState.correction_requested, "correction_requested",
                                    data={"round": s.correction_round, "findings": len(s.last_findings)},
                                    scorecard=self._score("correction_round", submission_id=sub.submission_id))
            return
        # Risk review of a valid declaration.
        await self._set_state(SurveyState.risk_review, "risk_review",
                              data={"high_risk_smelters": sub.high_risk_smelters, "scope": sub.declaration_scope,
                                    "program_strength": sub.program_strength})
        if sub.program_strength == "weak" and not s.guidance_sent:
            s.guidance_sent = True
            s.pending.append({"step": "weak_program_guidance", "template": "weak_program_guidance", "n": 0})
        if sub.high_risk_smelters > 0 and (sub.declaration_scope or "company") == "company":
            await self._enter_phase(SurveyState.product_level_requested, "product_level_requested",
                                    data={"high_risk_smelters": sub.high_risk_smelters})
        else:
            await self._close(SurveyOutcome.valid, "declaration_valid")

    def _verdict_of(self, sub: SubmissionSummary) -> SubmissionVerdict:
        s = self.s
        state = s.state
        accepted = sub.verdict in ("valid", "accepted")
        messages = {
            SurveyState.closed: "Thank you: your declaration is complete and valid.",
            SurveyState.correction_requested: "Your file needs corrections: each finding below names the sheet and cell.",
            SurveyState.product_level_requested: "Thank you. Your declaration lists high-risk smelters: please send a "
                                                 "product-level CMRT for the products you supply to us.",
            SurveyState.corrective_action: "A corrective action plan is needed; you will receive a request by email.",
            SurveyState.escalated: "Your file still has errors after the last correction round; our compliance team "
                                   "will contact you.",
        }
        if state == SurveyState.product_level_requested and sub.purpose == "product_level" and not accepted:
            message = "Your product-level file needs corrections: each finding below names the sheet and cell."
        else:
            message = messages.get(state, "Thank you: your file was received.")
        findings = s.last_findings if s.submissions and s.submissions[-1].submission_id == sub.submission_id else []
        return SubmissionVerdict(submission_id=sub.submission_id, verdict=sub.verdict, findings=findings,
                                 accepted=accepted, next_step=state.value, message=message, state=state,
                                 correction_round=s.correction_round)

    # --- Updates: compliance actions ----------------------------------------------------------------

    @workflow.update
    async def extend_deadline(self, req: ExtendDeadline) -> ActionAck:
        if self._seen():
            return self._ack("already applied")
        old = self.s.due_at
        self.s.due_at = req.new_due_at
        if self.s.state == SurveyState.chasing and req.new_due_at > workflow.now():
            self.s.chase_reminders_sent = 0
            await self._set_state(SurveyState.awaiting_response, "deadline_extended", actor=req.by, reason=req.reason,
                                  data={"from": old.isoformat() if old else None, "to": req.new_due_at.isoformat()})
        else:
            await self._record("deadline_extended", actor=req.by, reason=req.reason,
                               data={"from": old.isoformat() if old else None, "to": req.new_due_at.isoformat()})
        self._bump()
        return self._ack(f"due date moved to {_day(req.new_due_at)}")

    @extend_deadline.validator
    def _validate_extend(self, req: ExtendDeadline) -> None:
        if self._seen():
            return
        if self.s.state not in (SurveyState.requested, SurveyState.awaiting_response, SurveyState.chasing):
            self._refuse(f"the deadline applies while waiting for the first answer (the survey is {self.s.state.value})")
        if req.new_due_at.tzinfo is None:
            self._refuse("new_due_at must carry a time zone")
        if self.s.due_at and req.new_due_at <= self.s.due_at:
            self._refuse(f"the new due date must be later than the current one ({_day(self.s.due_at)})")
        if req.new_due_at <= workflow.now():
            self._refuse("the new due date is in the past")

    @workflow.update
    async def pause_reminders(self, req: ComplianceAction) -> ActionAck:
        if self._seen():
            return self._ack("already paused")
        was_frozen = self._frozen()
        self.s.paused = True
        if not was_frozen:
            self.s.frozen_since = workflow.now()
        await self._record("reminders_paused", actor=req.by, reason=req.reason)
        self._bump()
        return self._ack("reminders paused")

    @pause_reminders.validator
    def _validate_pause(self, req: ComplianceAction) -> None:
        if self._seen():
            return
        self._require_open()
        if self.s.paused:
            self._refuse("reminders are already paused")

    @workflow.update
    async def resume_reminders(self, req: ComplianceAction) -> ActionAck:
        if self._seen():
            return self._ack("already resumed")
        self.s.paused = False
        shifted = self._unfreeze_if_clear()
        await self._record("reminders_resumed", actor=req.by, reason=req.reason,
                           data={"schedule_shifted_by_seconds": shifted})
        self._bump()
        return self._ack("reminders resumed")

    @resume_reminders.validator
    def _validate_resume(self, req: ComplianceAction) -> None:
        if self._seen():
            return
        self._require_open()
        if not self.s.paused:
            self._refuse("reminders are not paused")

    @workflow.update
    async def remind_now(self, req: ComplianceAction) -> ActionAck:
        if self._seen():
            return self._ack("already queued")
        self.s.manual_reminders += 1
        self.s.total_reminders += 1
        template = "correction_reminder" if self.s.state == SurveyState.correction_requested else "reminder"
        extra: dict[str, Any] = {"firmness": max(1, self.s.reminders_sent), "final": False}
        if template == "correction_reminder":
            extra = {"findings": [f.model_dump() for f in self.s.last_findings],
                     "window_ends": _day(self.s.phase_started_at + self.p.correction_window)}
        self.s.pending.append({"step": "manual_reminder", "template": template, "n": self.s.manual_reminders,
                               "extra": extra})
        await self._record("manual_reminder", actor=req.by, reason=req.reason)
        self._bump()
        return self._ack("a reminder is on its way")

    @remind_now.validator
    def _validate_remind_now(self, req: ComplianceAction) -> None:
        if self._seen():
            return
        if self.s.state not in WAITING_STATES or self.s.state == SurveyState.product_level_requested:
            self._refuse(f"nothing to remind the supplier of (the survey is {self.s.state.value})")
        if self.s.bounced:
            self._refuse("the contact's address bounced: replace the contact first")

    @workflow.update
    async def replace_contact(self, req: ReplaceContact) -> ActionAck:
        if self._seen():
            return self._ack("already replaced")
        old = self.s.contact.email
        self.s.contact = Contact(name=req.name, email=req.email, language=req.language)
        self.s.contacts_used += 1
        was_bounced = self.s.bounced
        self.s.bounced = False
        shifted = self._unfreeze_if_clear()
        if was_bounced and self.s.last_supplier_message and self.s.state != SurveyState.closed:
            msg = self.s.last_supplier_message
            self.s.pending.append({"step": msg["step"].split("-to-new-contact")[0] + "-to-new-contact", "template": msg["template"],
                                   "n": self.s.contacts_used, "extra": msg.get("extra", {})})
        if self._child is not None:
            self.s.forward.append({"signal": "contact_changed", "payload": self.s.contact.model_dump()})
        await self._record("contact_replaced", actor=req.by, reason=req.reason,
                           data={"from": old, "to": req.email, "schedule_shifted_by_seconds": shifted})
        self._bump()
        return self._ack(f"contact is now {req.email}")

    @replace_contact.validator
    def _validate_replace_contact(self, req: ReplaceContact) -> None:
        if self._seen():
            return
        self._require_open()
        local, at, domain = req.email.rpartition("@")
        if not at or not local or "." not in domain or " " in req.email or "," in req.email:
            self._refuse(f"not one email address: {req.email!r}")
        if req.email.lower() == self.s.contact.email.lower() and not self.s.bounced:
            self._refuse("that is already the contact")

    @workflow.update
    async def add_note(self, req: AddNote) -> ActionAck:
        if self._seen():
            return self._ack("already noted")
        await self._record("note", actor=req.by, reason=req.text)
        return self._ack("noted")

    @add_note.validator
    def _validate_note(self, req: AddNote) -> None:
        if not req.text.strip():
            self._refuse("a note needs text")

    @workflow.update
    async def accept_submission(self, req: ManualReview) -> ActionAck:
        return await self._review(req, "accepted")

    @accept_submission.validator
    def _validate_accept(self, req: ManualReview) -> None:
        self._validate_review(req, "accepted")

    @workflow.update
    async def reject_submission(self, req: ManualReview) -> ActionAck:
        return await self._review(req, "rejected")

    @reject_submission.validator
    def _validate_reject(self, req: ManualReview) -> None:
        self._validate_review(req, "rejected")

    def _validate_review(self, req: ManualReview, decision: str) -> None:
        if self._seen():
            return
        if not self.s.submissions or self.s.submissions[-1].submission_id != req.submission_id:
            self._refuse("only the latest submission can be reviewed by hand")
        last = self.s.submissions[-1]
        if last.manual_decision:
            self._refuse(f"that submission was already {last.manual_decision} by hand")
        if self.s.state not in (SurveyState.correction_requested, SurveyState.product_level_requested):
            self._refuse(f"the survey is {self.s.state.value}: nothing is waiting on this submission")
        if decision == "rejected" and self.s.state == SurveyState.correction_requested:
            self._refuse("that submission is already rejected: a correction is requested")

    async def _review(self, req: ManualReview, decision: str) -> ActionAck:
        async with self._lock:
            if self._seen():
                return self._ack(f"already {decision}")
            self._validate_review(req, decision)  # the state may have moved while waiting for the lock
            self._remember(self._update_id())
            last = self.s.submissions[-1]
            last.manual_decision = decision
            prior = self.s.state
            await workflow.execute_activity("record_manual_review", ManualReviewRecord(
                submission_id=last.submission_id, decision=decision, by=req.by, reason=req.reason), **DB_OPTIONS)
            await self._record(f"submission_{decision}_by_hand", actor=req.by, reason=req.reason,
                               data={"submission_id": last.submission_id})
            if decision == "accepted":
                last.verdict = "accepted"
                if last.purpose == "declaration" and prior == SurveyState.product_level_requested:
                    last.high_risk_smelters = 0  # the team accepted the risk picture as it is
                if prior == SurveyState.product_level_requested:
                    await self._close(SurveyOutcome.valid, "risk_cleared", actor=req.by, reason=req.reason)
                else:
                    await self._decide_after(last, prior)
            else:
                last.verdict = "rejected"
                self.s.last_findings = [SubmissionFinding(code="rejected_by_reviewer", severity="error",
                                                          message=req.reason)]
                if last.purpose == "product_level":
                    await self._open_cap("product_level_rejected")
                else:
                    await self._decide_after(last, prior)
            self._bump()
            ack = self._ack(f"submission {decision}")
        await self._until_child_runs()
        return ack

    @workflow.update
    async def withdraw(self, req: Withdraw) -> ActionAck:
        if self._seen():
            return self._ack("already withdrawn")
        self._remember(self._update_id())
        self.s.pending.clear()
        await self._close(SurveyOutcome.withdrawn, "withdrawn", actor=req.by, reason=req.reason)
        self._bump()
        return self._ack("supplier withdrawn from the campaign")

    @withdraw.validator
    def _validate_withdraw(self, req: Withdraw) -> None:
        if self._seen():
            return
        self._require_open()

    @workflow.update
    async def verify_action(self, req: VerifyAction) -> ActionAck:
        if self._seen():
            return self._ack("already forwarded")
        self._remember(self._update_id())
        self.s.forward.append({"signal": "verify_action_signal", "payload": req.model_dump(mode="json")})
        self._bump()
        return self._ack(f"forwarded to {self.s.open_cap_id}")

    @verify_action.validator
    def _validate_verify(self, req: VerifyAction) -> None:
        if self._seen():
            return
        if self.s.state != SurveyState.corrective_action or not self.s.open_cap_id:
            self._refuse("no corrective action plan is open")

    @workflow.update
    async def decide(self, req: VpDecision) -> ActionAck:
        if self._seen():
            return self._ack("already forwarded")
        self._remember(self._update_id())
        self.s.forward.append({"signal": "decide_signal", "payload": req.model_dump(mode="json")})
        self._bump()
        return self._ack(f"forwarded to {self.s.open_escalation_id}")

    @decide.validator
    def _validate_decide(self, req: VpDecision) -> None:
        if self._seen():
            return
        if self.s.state != SurveyState.escalated or not self.s.open_escalation_id:
            self._refuse("no escalation is waiting for a decision")

    # --- the query ------------------------------------------------------------------------------

    @workflow.query
    def status(self) -> SurveyStatus:
        s = self.s
        next_step, next_at = self._describe_next()
        return SurveyStatus(
            survey_id=self.survey_id, campaign_id=self.inp.campaign_id, supplier_id=self.inp.supplier_id,
            state=s.state, outcome=s.outcome, contact=s.contact, paused=s.paused, bounced=s.bounced,
            correction_round=s.correction_round, reminders_sent=s.total_reminders, requested_at=s.requested_at,
            due_at=s.due_at, next_step=next_step, next_step_at=next_at,
            # A child's ID is shown once the child runs: callers send it Updates right away.
            open_cap_id=s.open_cap_id if self._child is not None else None,
            open_escalation_id=s.open_escalation_id if self._child is not None else None,
            submissions=s.submissions, last_findings=s.last_findings,
            timeline=s.timeline)

    # --- helpers ----------------------------------------------------------------------------------

    def _describe_next(self) -> tuple[Optional[str], Optional[datetime]]:
        """The next scheduled step and its time, as the query and the read model show it."""
        s = self.s
        if s.state == SurveyState.closed:
            return None, None
        if s.state == SurveyState.corrective_action:
            return f"corrective action plan {s.open_cap_id}", None
        if s.state == SurveyState.escalated:
            return f"decision of the Supply Chain VP ({s.open_escalation_id})", None
        if self._frozen():
            return ("waiting for a new contact" if s.bounced else "reminders paused"), None
        nxt = self._next_step() if s.state in WAITING_STATES else None
        return (nxt.name, nxt.at) if nxt else (None, None)

    def _update_id(self) -> str:
        info = workflow.current_update_info()
        return info.id if info else ""

    def _seen(self) -> bool:
        return self._update_id() in self.s.processed_update_ids

    def _remember(self, uid: str) -> None:
        if uid and uid not in self.s.processed_update_ids:
            self.s.processed_update_ids.append(uid)
            del self.s.processed_update_ids[:-MAX_KEPT_UPDATE_IDS]

    def _refuse(self, message: str) -> None:
        raise ApplicationError(message, type="ActionRefused", non_retryable=True)

    def _require_open(self) -> None:
        if self.s.state == SurveyState.closed:
            self._refuse(f"the survey is closed ({self.s.outcome.value if self.s.outcome else 'no outcome'})")

    def _ack(self, message: str) -> ActionAck:
        self._remember(self._update_id())
        return ActionAck(state=self.s.state, message=message)

    def _bump(self) -> None:
        self._changed += 1

    def _unfreeze_if_clear(self) -> float:
        """Resume the clock when nothing holds it: every pending step moves by the time it was frozen."""
        if self._frozen() or self.s.frozen_since is None:
            return 0.0
        delta = workflow.now() - self.s.frozen_since
        self.s.frozen_since = None
        if self.s.phase_started_at:
            self.s.phase_started_at += delta
        if self.s.due_at and self.s.state in (SurveyState.awaiting_response, SurveyState.chasing):
            self.s.due_at += delta
        return delta.total_seconds()

    async def _enter_phase(self, state: SurveyState, kind: str, **kw: Any) -> None:
        self.s.phase_started_at = workflow.now()
        self.s.phase_entry_done = False
        self.s.reminders_sent = 0
        await self._set_state(state, kind, **kw)

    async def _set_state(self, state: SurveyState, kind: str, *, actor: Optional[str] = None,
                         reason: Optional[str] = None, data: Optional[dict] = None,
                         scorecard: Optional[ScorecardEvent] = None) -> None:
        self.s.state = state
        self._publish_search_attributes()
        lean = self._lean()
        await self._record(kind, actor=actor, reason=reason, data=data, scorecard=scorecard if lean else None)
        self._bump()
        if scorecard is not None and not lean:  # the order runs recorded before lean-writes expect
            await self._write("update_scorecard", scorecard)

    def _release(self) -> int:
        """The release this run follows: 3 "true-outcome", 2 "delivery-clock", 1 "lean-survey", 0 before them. One patch marker
        per run, the newest release's, which implies every change before it: each marker also upserts
        Temporal's TemporalChangeVersion attribute, a visibility write on the server. Runs recorded before a
        release replay as they were (a marker absent from the history answers False)."""
        if self._release_no is None:
            if workflow.patched(TRUE_OUTCOME):
                self._release_no = 3
            elif workflow.patched(DELIVERY_CLOCK):
                self._release_no = 2
            elif workflow.patched(LEAN_SURVEY):
                self._release_no = 1
            else:
                self._release_no = 0
        return self._release_no

    def _lean(self) -> bool:
        """Since "lean-survey": emails as local activities, a search-attribute upsert only when a value changes
        (a campaign sets them as it starts the survey), a transition's scorecard event with its read-model
        write, and every earlier change on."""
        return self._release() >= 1

    def _delivery_clock(self) -> bool:
        """Since "delivery-clock": the request (and a correction or product-level request) is retried by the
        workflow until delivered, and the supplier's clock starts at delivery (_send_until_delivered)."""
        return self._release() >= 2

    def _true_outcome(self) -> bool:
        """Since "true-outcome": the outcome an escalation holds is what the supplier did
        (models.facts.survey.outcome_if_lapsed: a valid declaration whose plan was not completed is
        cap_not_completed, not non_responsive), and it no longer holds once the VP requires a plan."""
        return self._release() >= 3

    def _patched(self, patch_id: str) -> bool:
        """An earlier change: always on in lean runs (no marker of its own), as recorded in older ones."""
        return self._lean() or workflow.patched(patch_id)

    def _publish_search_attributes(self) -> None:
        if not self.inp.search_attributes:
            return
        wanted = {CAMPAIGN: self.inp.campaign_id, SUPPLIER: self.inp.supplier_id, STATE: self.s.state.value,
                  OUTCOME: self.s.outcome.value if self.s.outcome else None}
        if self._lean():
            current = workflow.info().typed_search_attributes
            if all(current.get(key) == value for key, value in wanted.items()):
                return
        workflow.upsert_search_attributes([key.value_set(value) if value is not None else key.value_unset()
                                           for key, value in wanted.items()])

    async def _record(self, kind: str, *, actor: Optional[str] = None, reason: Optional[str] = None,
                      data: Optional[dict] = None, scorecard: Optional[ScorecardEvent] = None) -> None:
        """A timeline event and the survey row, with the scorecard event it moves (if any)."""
        s = self.s
        s.seq += 1
        entry = TimelineEntry(seq=s.seq, at=workflow.now(), kind=kind, state=s.state.value, actor=actor,
                              reason=reason, data=data or {})
        s.timeline.append(entry)
        next_step, next_at = self._describe_next()
        survey_row = SurveyColumns(
            next_step=next_step, next_step_at=next_at,
            outcome=s.outcome.value if s.outcome else None, contact_name=s.contact.name, contact_email=s.contact.email,
            language=s.contact.language, paused=s.paused, contact_bounced=s.bounced,
            correction_round=s.correction_round, reminders_sent=s.total_reminders,
            requested_at=s.requested_at, due_at=s.due_at,
            first_submission_at=s.submissions[0].received_at if s.submissions else None,
            last_submission_id=s.submissions[-1].submission_id if s.submissions else None,
            program_strength=s.submissions[-1].program_strength if s.submissions else None,
            declaration_scope=s.submissions[-1].declaration_scope if s.submissions else None,
            closed_at=workflow.now() if s.state == SurveyState.closed else None,
        )
        await self._write("record_survey_event", SurveyRecord(
            survey_id=self.survey_id, campaign_id=self.inp.campaign_id, campaign_year=self.inp.campaign_year,
            supplier_id=self.inp.supplier_id, supplier_name=self.inp.supplier_name, seq=entry.seq, at=entry.at,
            kind=kind, state=s.state.value, actor=actor, reason=reason, data=entry.data, survey=survey_row,
            scorecard=scorecard if self._lean() else None,
        ))
        if scorecard is not None and not self._lean():
            await self._write("update_scorecard", scorecard)

    def _score(self, kind: str, **fields: Any) -> ScorecardEvent:
        return ScorecardEvent(survey_id=self.survey_id, kind=kind, at=workflow.now(), **fields)

    async def _scorecard(self, kind: str, **fields: Any) -> None:
        await self._write("update_scorecard", self._score(kind, **fields))

    async def _write(self, activity: str, arg: Any) -> None:
        """A read-model or scorecard write. Added after the first releases: they run as local activities
        (a marker in the history instead of an activity task and a workflow task on the server, about half
        of a campaign's server work per survey). Runs recorded before it replay with regular activities."""
        if self._patched("local-read-model-writes"):
            await workflow.execute_local_activity(activity, arg, **LOCAL_DB_OPTIONS)
        else:
            await workflow.execute_activity(activity, arg, **DB_OPTIONS)

    def _context(self, extra: Optional[dict] = None) -> dict[str, Any]:
        s, inp = self.s, self.inp
        ctx = {
            "company_name": inp.company_name, "program_name": f"{inp.company_name} Responsible Minerals Program",
            "supplier_name": inp.supplier_name, "supplier_id": inp.supplier_id, "campaign_id": inp.campaign_id,
            "campaign_year": inp.campaign_year, "contact_name": s.contact.name or "", "contact_email": s.contact.email,
            "language": s.contact.language, "due_date": _day(s.due_at), "compliance_email": inp.compliance_email,
            "correction_round": s.correction_round, "max_rounds": self.p.max_correction_rounds,
        }
        ctx.update(extra or {})
        return ctx

    async def _email(self, step: str, template: str, to: str, *, n: int, round_: Optional[int] = None,
                     cc: Optional[list[str]] = None, extra: Optional[dict] = None,
                     supplier_link: bool = False, once: bool = False) -> EmailResult:
        """One email, once per key. Only the supplier's messages carry its portal link. `once`: one attempt,
        its failure raised for the caller to retry (_send_until_delivered)."""
        r = self.s.correction_round if round_ is None else round_
        key = f"{self.survey_id}/{step}/r{r}/n{n}"
        return await send_email(EmailRequest(
            idempotency_key=key, template=template, to=to, cc=cc or [],
            survey_id=self.survey_id if supplier_link else None, context=self._context(extra)), local=self._lean(),
            once=once)

    async def _email_supplier(self, step: str, template: str, *, n: int, round_: Optional[int] = None,
                              extra: Optional[dict] = None, once: bool = False) -> None:
        self.s.last_supplier_message = {"step": step, "template": template, "extra": extra or {}}
        if self.s.bounced:
            return  # waits for a new contact; replace_contact re-sends the latest message
        result = await self._email(step, template, self.s.contact.email, n=n, round_=round_, extra=extra,
                                   supplier_link=True, once=once)
        if result.status == "bounced":
            await self._on_bounce(result)

    async def _on_bounce(self, result: EmailResult) -> None:
        s = self.s
        s.bounces += 1
        was_frozen = self._frozen()
        s.bounced = True
        if not was_frozen:
            s.frozen_since = workflow.now()
        await self._record("contact_bounced", reason=result.detail, data={"email": s.contact.email})
        await self._email("bounce_notice", "bounce_notice", self.inp.compliance_email, n=s.bounces, extra={
            "bounced_email": s.contact.email, "detail": result.detail or "", "state": s.state.value})
        self._bump()

    async def _send_queued(self) -> None:
        while self.s.pending:
            item = self.s.pending[0]
            await self._email_supplier(item["step"], item["template"], n=item["n"], extra=item.get("extra"))
            self.s.pending.pop(0)

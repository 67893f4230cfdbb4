"""One supplier in one campaign, from the request to an outcome (DESIGN.md, the lifecycle).

Shape: the run loop walks the survey's states; each waiting state asks for its next scheduled step
(`models.facts.lifecycle.next_step`, over the carried state and the policy) and sleeps until then or until
an Update changes something (`_changed`). Every decision (what happens next, where a submission takes the
survey, which action is refused and why, what the supplier is told) is models/facts/lifecycle.py's; this
module carries them out: timers, emails, activities, children, Updates and continue-as-new. Updates only change state and queue messages; the loop sends them, so an Update
never waits on SMTP. The whole state is one pydantic object (`SurveyCarry`) so continue-as-new carries it
as is, with the IDs of the Updates already applied.

Email idempotency keys are `survey/<campaign>/<supplier>/<step>/r<round>/n<n>` with every part taken from
the carried state: a replay, a retry or a new run computes the same key and the outbox sends nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailRequest, EmailResult
    from activities.survey import CheckOutcome, CheckRequest, ManualReviewRecord, SurveyColumns, SurveyRecord
    from models.enums import SurveyOutcome, SurveyState
    from models.facts import lifecycle as life
    from models.facts.bounces import why_not_bounce
    from models.facts.correction import day
    from models.facts.lifecycle import (
        WAITING_STATES,
        AfterSubmission,
        Message,
    )
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
        MailBounced,
        ManualReview,
        ReplaceContact,
        Reopen,
        RiskDecision,
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
    from workflows.common import DB_OPTIONS, LOCAL_DB_OPTIONS, email_retry_delay, send_email

# A workbook check reads a whole file (≈0.5 s, more for big ones): give it room before retrying.
CHECK_OPTIONS = dict(DB_OPTIONS, start_to_close_timeout=timedelta(minutes=5))

MAX_KEPT_UPDATE_IDS = 500
# Releases of this workflow that change its commands, newest last. A run records one marker, its release's,
# which implies every change before it (see _release); runs recorded before a release replay as they were.
LEAN_SURVEY = "lean-survey"
DELIVERY_CLOCK = "delivery-clock"
# High risk on any scope leads to the plan (or the compliance team's risk review, by policy); a deadline can
# be extended in every waiting state; a new contact receives the current step's message; the correction and
# product-level requests are recorded once delivered, with the date they state.
ONE_TRUTH = "one-truth"
# An escalation holds the outcome the supplier's record supports; none once the VP requires a plan.
TRUE_OUTCOME = "true-outcome"
# A closed survey reopened by compliance (a new run with the closed run's state, `SurveyInput.reopen`).
# Only reopened runs take this path and record this marker; no earlier history has the input.
REOPENED = "reopened"
# How long an Update that opened a plan or an escalation waits for the run loop to start the child.
CHILD_START_WAIT = timedelta(seconds=30)


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
        elif inp.reopen is not None and self.s.state == SurveyState.closed:
            await self._reopen(inp.reopen)
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
        return life.may_continue_as_new(self.s.state) and self._history_full()

    def _history_full(self) -> bool:
        if self._child is not None:
            return False  # never with a child open: closing the run would cancel it
        info = workflow.info()
        limit = self.inp.continue_as_new_at_events
        return info.is_continue_as_new_suggested() or (limit is not None and info.get_current_history_length() >= limit)

    async def _send_request(self) -> None:
        """The request, unless a submission (by the CLI or the API) already answered it."""
        self._start_request_clock(life.request_clock(workflow.now(), self.p))
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
        step = life.next_step(self.s, self.p)
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
            await self._take(step)

    async def _take(self, step: life.NextStep) -> None:
        """A scheduled step (models.facts.lifecycle.next_step), carried out."""
        actions = {life.REMIND: self._remind, life.CHASE: self._chase, life.OVERDUE_REMINDER: self._overdue_reminder,
                   life.CORRECTION_REMINDER: self._correction_reminder}
        if step.action in actions:
            await actions[step.action]()
        elif step.action == life.ESCALATE:
            await self._escalate(step.reason)
        else:
            await self._open_cap(step.reason)

    def _frozen(self) -> bool:
        return life.frozen(self.s)

    async def _phase_entry(self) -> None:
        """The message that opens a waiting state (once per state entry, also across continue-as-new)."""
        s = self.s
        self.s.phase_entry_done = True
        step = life.phase_request_step(s.state)  # correction_request, product_level_request
        if self._delivery_clock() and step is not None:
            if not await self._send_until_delivered(step, step, self._phase_clock):
                s.phase_entry_done = False  # the next run sends it (the loop continues as new first)
                return
            if self._one_truth():
                # The clock started at delivery: the read model states the date the message states.
                await self._record(f"{step}_sent", data={"to": s.contact.email, "answer_by": self._iso(self._answer_by())})
            return
        if step is not None:
            await self._email_supplier(step, step, n=0, extra=life.phase_extra(s, self.p))

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
        """The request's clock starts now (models.facts.lifecycle.request_clock)."""
        self._start_request_clock(life.request_clock(start, self.p, self.s.due_at))
        return {}

    def _start_request_clock(self, clock: life.RequestClock) -> None:
        self.s.requested_at, self.s.phase_started_at, self.s.due_at = \
            clock.requested_at, clock.phase_started_at, clock.due_at

    def _phase_clock(self, start: datetime) -> dict:
        """A correction round or a product-level request: its window and reminders count from now."""
        self.s.phase_started_at = start
        return life.phase_extra(self.s, self.p)

    # --- what the supplier is told: the pure core's facts (models/facts) ---------------------------

    def _window_ends(self) -> Optional[datetime]:
        return life.survey_window_ends(self.s, self.p)

    def _answer_by(self) -> Optional[datetime]:
        return life.survey_answer_by(self.s, self.p)

    @staticmethod
    def _iso(dt: Optional[datetime]) -> Optional[str]:
        return dt.isoformat() if dt else None

    # --- scheduled steps -------------------------------------------------------------------------

    async def _remind(self) -> None:
        n = self.s.reminders_sent + 1
        self.s.reminders_sent = n
        self.s.total_reminders += 1
        await self._email_supplier("reminder", "reminder", n=n, extra=life.reminder_extra(n, self.p))
        await self._record("reminder_sent", data={"n": n})

    def _chase_step(self, step: str) -> str:
        return life.chase_step(step, self.s.chases)

    async def _chase(self) -> None:
        to = self.inp.commodity_manager_email or self.inp.compliance_email
        self.s.chases += 1
        await self._email(self._chase_step("due_date_chase"), "due_date_chase", to, n=0, cc=[self.inp.compliance_email]
                          if self.inp.commodity_manager_email else [], extra={
                              "commodity_manager_name": self.inp.commodity_manager_name or "colleague",
                              **life.overdue_extra(self.s, self.p)})
        await self._set_state(SurveyState.chasing, "due_date_passed", data={"chased_by": to})

    async def _overdue_reminder(self) -> None:
        n = self.s.chase_reminders_sent + 1
        self.s.chase_reminders_sent = n
        self.s.total_reminders += 1
        await self._email_supplier(self._chase_step("overdue_reminder"), "overdue_reminder", n=n,
                                   extra=life.overdue_extra(self.s, self.p))
        await self._record("overdue_reminder_sent", data={"n": n})

    async def _correction_reminder(self) -> None:
        n = self.s.reminders_sent + 1
        self.s.reminders_sent = n
        self.s.total_reminders += 1
        await self._email_supplier("correction_reminder", "correction_reminder", n=n, extra=life.correction_extra(self.s, self.p))
        await self._record("correction_reminder_sent", data={"n": n})

    # --- escalation and corrective action (children) ----------------------------------------------

    async def _escalate(self, reason: str) -> None:
        self.s.escalations += 1
        self.s.escalation_reason = reason
        self.s.open_escalation_id = escalation_workflow_id(self.survey_id, self.s.escalations)
        self.s.outcome = life.escalation_outcome(reason, self.s, true_outcome=self._true_outcome())
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
        then = life.after_escalation(self.s, result.decision if result is not None else None)
        vp = dict(actor=result.decided_by, reason=result.reason) if result is not None else {}
        if then.action == life.LATE_DECISION:
            # The VP decided in the same instant: the decision is on record (and on the supplier's status);
            # the survey follows the answer. The compliance team sees both in the timeline.
            await self._record("vp_decided_after_late_answer", **vp,
                               data={"decision": result.decision.value, "escalation_id": esc_id})
        elif then.action == life.ESCALATION_WITHDRAWN:
            await self._record("escalation_withdrawn", reason="the supplier answered", data={"escalation_id": esc_id})
        elif then.action == life.LAPSED:
            await self._close(then.outcome, "escalation_lapsed", reason="no decision from the Supply Chain VP")
        elif then.action == life.PLAN_REQUIRED:
            if self._true_outcome():
                self.s.outcome = None  # the plan decides now: what the escalation held no longer stands
            await self._record("vp_decided", **vp, data={"decision": result.decision.value})
            await self._open_cap("vp_decision")
        elif then.action == life.DECIDED:
            await self._close(then.outcome, "vp_decided", **vp, data={"decision": result.decision.value})

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
            await self._close(life.plan_closed_outcome(self.s, true_outcome=self._true_outcome()),
                              "corrective_action_closed", data={"cap_id": cap_id})
        else:
            await self._record("corrective_action_" + result.status, data={"cap_id": cap_id}, reason=result.reason)
            await self._escalate(life.plan_failed_reason(result.status))

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
        msg = life.closing_message(outcome, self.s.timeline[-1].kind if self.s.timeline else None)
        # The plan's closing notice came after the first release: runs recorded before it replay without it.
        if msg is not None and (msg.step != "cap_closed" or self._patched("closing-notice-by-survey")):
            await self._email_supplier(msg.step, msg.template, n=0, extra=msg.extra)
        await self._scorecard("outcome", outcome=outcome.value if outcome else None)

    async def _reopen(self, r: Reopen) -> None:
        """The declaration the closed run accepted is rejected by a person with a reason: the survey enters a
        correction round (the supplier is told the reason) and then runs its normal lifecycle."""
        workflow.patched(REOPENED)
        s = self.s
        self.inp = self.inp.model_copy(update={"reopen": None})  # a continue-as-new must not reopen again
        sub = next((x for x in s.submissions if x.submission_id == r.submission_id),
                   s.submissions[-1] if s.submissions else None)
        s.outcome = None
        s.pending.clear()
        s.forward.clear()
        if sub is not None:
            sub.manual_decision, sub.verdict = "rejected", "rejected"
            await workflow.execute_activity("record_manual_review", ManualReviewRecord(
                submission_id=sub.submission_id, decision="rejected", by=r.by, reason=r.reason), **DB_OPTIONS)
        s.last_findings = [SubmissionFinding(code="rejected_by_reviewer", severity="error", message=r.reason)]
        s.correction_round += 1
        await self._enter_phase(SurveyState.correction_requested, "reopened", actor=r.by, reason=r.reason,
                                data={"submission_id": sub.submission_id if sub else None,
                                      "round": s.correction_round},
                                scorecard=self._score("correction_round",
                                                      submission_id=sub.submission_id if sub else None))

    # --- Updates: the supplier's submission -----------------------------------------------------

    @workflow.update
    async def submit(self, sub: SubmitCmrt) -> SubmissionVerdict:
        async with self._lock:
            uid = self._update_id()
            if uid in self.s.processed_update_ids or self._same_as_latest(sub):
                return life.verdict_of(self.s, life.submission_for_update(self.s, uid))
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
                             campaign_year=self.inp.campaign_year, supplier_name=self.inp.supplier_name,
                             expected_kind=self.inp.template_kind),
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
            await self._carry_out(self._after(summary), summary)
            verdict = life.verdict_of(self.s, summary)
        await self._until_child_runs()
        return verdict

    @submit.validator
    def _validate_submit(self, sub: SubmitCmrt) -> None:
        if self._update_id() in self.s.processed_update_ids or self._same_as_latest(sub):
            return  # a duplicate delivery: answered with the first verdict
        self._check_submission_allowed(sub)

    def _check_submission_allowed(self, sub: SubmitCmrt) -> None:
        refusal = life.why_not_submit(self.s, sub.purpose)
        if refusal:
            raise ApplicationError(refusal, type="SubmissionNotAllowed", non_retryable=True)

    def _same_as_latest(self, sub: SubmitCmrt) -> bool:
        return life.same_as_latest(self.s, sub.file_sha256, sub.purpose)

    def _after(self, sub: SubmissionSummary, review: Optional[str] = None,
               prior: Optional[SurveyState] = None) -> AfterSubmission:
        """Where a checked (or hand-reviewed) submission takes the survey (models.facts.lifecycle)."""
        rules = dict(correction_round=self.s.correction_round, max_rounds=self.p.max_correction_rounds,
                     guidance_sent=self.s.guidance_sent,
                     high_risk_on_product_scope=self.p.high_risk_on_product_scope,
                     # Known by now: the submission's (or the review's) first event asked for the release.
                     one_truth=self._one_truth())
        if review is not None:
            return life.after_review(sub, review, prior, **rules)
        return life.after_submission(sub, **rules)

    async def _carry_out(self, then: AfterSubmission, sub: Optional[SubmissionSummary], *, actor: Optional[str] = None,
                         reason: Optional[str] = None) -> None:
        """The decision, carried out: state, events, queued messages, a plan or an escalation."""
        s = self.s
        by = dict(actor=actor, reason=reason) if then.by_reviewer else {}
        if then.through_risk_review:
            await self._set_state(SurveyState.risk_review, "risk_review",
                                  data={"high_risk_smelters": sub.high_risk_smelters, "scope": sub.declaration_scope,
                                        "program_strength": sub.program_strength})
        if then.send_guidance:
            s.guidance_sent = True
            s.pending.append({"step": "weak_program_guidance", "template": "weak_program_guidance", "n": 0})
        if then.action == life.CLOSE:
            await self._close(then.outcome, then.reason, **by)
        elif then.action == life.OPEN_CAP:
            await self._open_cap(then.reason)
        elif then.action == life.ESCALATE:
            await self._escalate(then.reason)
        elif then.action == life.PRODUCT_LEVEL_AGAIN:
            await self._set_state(SurveyState.product_level_requested, then.reason)
        elif then.action == life.CORRECT:
            s.correction_round += 1
            await self._enter_phase(SurveyState.correction_requested, then.reason,
                                    data={"round": s.correction_round, "findings": len(s.last_findings)},
                                    scorecard=self._score("correction_round", submission_id=sub.submission_id))
        elif then.action == life.REQUEST_PRODUCT_LEVEL:
            await self._enter_phase(SurveyState.product_level_requested, then.reason,
                                    data={"high_risk_smelters": sub.high_risk_smelters})
        elif then.action == life.HOLD_FOR_REVIEW:
            s.risk_reviews += 1
            s.risk_review_open = True
            s.pending.append({"step": "risk_review_request", "template": "risk_review_request", "to": "compliance",
                              "n": s.risk_reviews, "extra": {
                                  "high_risk_smelters": sub.high_risk_smelters,
                                  "scope": sub.declaration_scope or "", "submission_id": sub.submission_id}})
            await self._record(then.reason, data={"high_risk_smelters": sub.high_risk_smelters,
                                                  "scope": sub.declaration_scope})

    # --- Updates: compliance actions ----------------------------------------------------------------

    @workflow.update
    async def extend_deadline(self, req: ExtendDeadline) -> ActionAck:
        if self._seen():
            return self._ack("already applied")
        kind = life.extension_kind(self.s.state)
        if kind != life.DUE_DATE:
            self._refuse_if(life.why_not_extend_in_this_run(kind, one_truth=self._one_truth()))
        if kind == life.WINDOW:
            return await self._extend_window(req)
        if kind == life.PLAN:
            return await self._extend_plan(req)
        old = self.s.due_at
        self.s.due_at = req.new_due_at
        if life.extension_reopens(self.s, req.new_due_at, workflow.now()):
            self.s.chase_reminders_sent = 0
            await self._set_state(SurveyState.awaiting_response, "deadline_extended", actor=req.by, reason=req.reason,
                                  data={"from": old.isoformat() if old else None, "to": req.new_due_at.isoformat()})
        else:
            await self._record("deadline_extended", actor=req.by, reason=req.reason,
                               data={"from": old.isoformat() if old else None, "to": req.new_due_at.isoformat()})
        self._bump()
        return self._ack(f"due date moved to {day(req.new_due_at)}")

    @extend_deadline.validator
    def _validate_extend(self, req: ExtendDeadline) -> None:
        if self._seen():
            return
        # A validator cannot ask for a release marker: a run whose release is not known yet is a new one.
        windows = self._release_no is None or self._release_no >= 3
        self._refuse_if(life.why_not_extend(self.s, req.new_due_at, now=workflow.now(), policy=self.p,
                                            windows=windows))

    async def _extend_plan(self, req: ExtendDeadline) -> ActionAck:
        """The plan's deadline lives in the plan (its own workflow): forwarded like verify_action. The plan
        applies it while its actions are awaited and is the one to ask for its own refusal
        (CorrectiveActionWorkflow.extend_plan_deadline)."""
        self._remember(self._update_id())
        self.s.forward.append({"signal": "extend_plan_deadline_signal", "payload": req.model_dump(mode="json")})
        await self._record("plan_deadline_extension_forwarded", actor=req.by, reason=req.reason,
                           data={"to": req.new_due_at.isoformat(), "cap_id": self.s.open_cap_id})
        self._bump()
        return self._ack(f"forwarded to {self.s.open_cap_id}: the plan's actions are due {day(req.new_due_at)} "
                         "if the plan is still awaited")

    async def _extend_window(self, req: ExtendDeadline) -> ActionAck:
        """A correction round or the product-level window ends later: the escalation (or the plan) moves with
        it, and the read model, the portal and the next reminder state the new date."""
        self._remember(self._update_id())
        old = self._window_ends()
        self.s.window_extended_by += req.new_due_at - old
        await self._record("deadline_extended", actor=req.by, reason=req.reason,
                           data={"from": self._iso(old), "to": req.new_due_at.isoformat(), "step": self.s.state.value})
        self._bump()
        return self._ack(f"deadline moved to {day(req.new_due_at)}")

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
        if not self._seen():
            self._refuse_if(life.why_not_pause(self.s))

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
        if not self._seen():
            self._refuse_if(life.why_not_resume(self.s))

    @workflow.update
    async def remind_now(self, req: ComplianceAction) -> ActionAck:
        if self._seen():
            return self._ack("already queued")
        self.s.manual_reminders += 1
        self.s.total_reminders += 1
        self._queue(life.manual_reminder(self.s, self.p), self.s.manual_reminders)
        await self._record("manual_reminder", actor=req.by, reason=req.reason)
        self._bump()
        return self._ack("a reminder is on its way")

    @remind_now.validator
    def _validate_remind_now(self, req: ComplianceAction) -> None:
        if not self._seen():
            self._refuse_if(life.why_not_remind(self.s))

    @workflow.update
    async def replace_contact(self, req: ReplaceContact) -> ActionAck:
        if self._seen():
            return self._ack("already replaced")
        await self._change_contact(Contact(name=req.name, email=req.email, language=req.language),
                                   kind="contact_replaced", actor=req.by, reason=req.reason)
        return self._ack(f"contact is now {req.email}")

    async def _change_contact(self, contact: Contact, *, kind: str, actor: Optional[str], reason: str) -> None:
        """The one path to a new contact (by hand, or the fallback after a bounce): it clears a bounce,
        receives the current step's message and becomes the supplier's primary contact in the read model."""
        old = self.s.contact.email
        self.s.contact = contact
        self.s.contacts_used += 1
        was_bounced = self.s.bounced
        self.s.bounced = False
        shifted = self._unfreeze_if_clear()
        msg = life.message_for_new_contact(self.s, self.p, was_bounced=was_bounced, one_truth=self._one_truth())
        if msg is not None:
            self._queue(msg, self.s.contacts_used)
        if self._child is not None:
            self.s.forward.append({"signal": "contact_changed", "payload": self.s.contact.model_dump()})
        # The read model makes the new contact the supplier's primary one (record_survey_event).
        await self._record(kind, actor=actor, reason=reason,
                           data={"from": old, "to": contact.email, "name": contact.name, "language": contact.language,
                                 "schedule_shifted_by_seconds": shifted})
        self._bump()

    # A bounce read from the bounce mailbox (workflows/bounce_watch.py), minutes after the relay took the
    # message. A new handler: runs recorded before it never received this signal and replay unchanged.
    @workflow.signal
    async def mail_bounced(self, b: MailBounced) -> None:
        async with self._lock:
            if why_not_bounce(self.s, b.email):
                return  # not the current contact any more, already bounced, or closed
            fallback = b.fallback if b.fallback and not life.why_not_replace_contact(self.s, b.fallback.email) else None
            await self._on_bounce(EmailResult(status="bounced", message_id=b.message_id or "", detail=b.detail),
                                  fallback=fallback)
            if fallback is not None:
                await self._change_contact(fallback, kind="contact_fallback", actor=None,
                                           reason=f"{b.email} bounced; the supplier's next contact")
            elif self._child is not None and self.s.open_cap_id:  # the open plan stops writing to it too
                self.s.forward.append({"signal": "contact_bounced", "payload": b.model_dump(mode="json")})

    @replace_contact.validator
    def _validate_replace_contact(self, req: ReplaceContact) -> None:
        if not self._seen():
            self._refuse_if(life.why_not_replace_contact(self.s, req.email))

    @workflow.update
    async def add_note(self, req: AddNote) -> ActionAck:
        if self._seen():
            return self._ack("already noted")
        await self._record("note", actor=req.by, reason=req.text)
        return self._ack("noted")

    @add_note.validator
    def _validate_note(self, req: AddNote) -> None:
        self._refuse_if(life.why_not_note(req.text))

    @workflow.update
    async def decide_risk(self, req: RiskDecision) -> ActionAck:
        async with self._lock:
            if self._seen():
                return self._ack("already decided")
            self._validate_risk(req)  # the state may have moved while waiting for the lock
            self._remember(self._update_id())
            self.s.risk_review_open = False
            then = life.after_risk_decision(req.decision)
            if then.action == life.OPEN_CAP:
                await self._record("risk_not_accepted", actor=req.by, reason=req.reason)
            await self._carry_out(then, None, actor=req.by, reason=req.reason)
            self._bump()
            ack = self._ack("risk accepted: the survey is closed" if req.decision == "accept"
                            else "a corrective action plan is requested")
        await self._until_child_runs()
        return ack

    @decide_risk.validator
    def _validate_decide_risk(self, req: RiskDecision) -> None:
        if self._seen():
            return
        self._validate_risk(req)

    def _validate_risk(self, req: RiskDecision) -> None:
        self._refuse_if(life.why_not_decide_risk(self.s, req.reason))

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
        if not self._seen():
            self._refuse_if(life.why_not_review(self.s, req.submission_id, decision))

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
            else:
                last.verdict = "rejected"
                self.s.last_findings = [SubmissionFinding(code="rejected_by_reviewer", severity="error",
                                                          message=req.reason)]
            await self._carry_out(self._after(last, decision, prior), last, actor=req.by, reason=req.reason)
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
        if not self._seen():
            self._refuse_if(life.why_not_withdraw(self.s))

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
        if not self._seen():
            self._refuse_if(life.why_not_verify(self.s))

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
        if not self._seen():
            self._refuse_if(life.why_not_decide(self.s))

    # --- the query ------------------------------------------------------------------------------

    @workflow.query
    def status(self) -> SurveyStatus:
        return life.survey_status(self.inp, self.s, self.p, child_running=self._child is not None)

    @workflow.query
    def carried_input(self) -> SurveyInput:
        """What a new run of this survey starts from when compliance reopens it: this run's input, carrying
        its whole state (a query adds no command: recorded histories replay unchanged)."""
        return self.inp.model_copy(update={"carried": self.s, "reopen": None})

    # --- helpers ----------------------------------------------------------------------------------

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

    def _refuse_if(self, refusal: Optional[str]) -> None:
        """A refusal from models.facts.lifecycle (the sentence, or None when the action is allowed)."""
        if refusal:
            self._refuse(refusal)

    def _ack(self, message: str) -> ActionAck:
        self._remember(self._update_id())
        return ActionAck(state=self.s.state, message=message)

    def _bump(self) -> None:
        self._changed += 1

    def _unfreeze_if_clear(self) -> float:
        """Resume the clock when nothing holds it: every pending step moves by the time it was frozen."""
        t = life.thaw(self.s, workflow.now())
        if t is None:
            return 0.0
        self.s.frozen_since, self.s.phase_started_at, self.s.due_at = None, t.phase_started_at, t.due_at
        return t.shift.total_seconds()

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
        """The release this run follows: 4 "true-outcome", 3 "one-truth", 2 "delivery-clock", 1 "lean-survey",
        0 before them. One patch marker per run, the newest release's, which implies every change before it: each marker also upserts
        Temporal's TemporalChangeVersion attribute, a visibility write on the server. Runs recorded before a
        release replay as they were (a marker absent from the history answers False)."""
        if self._release_no is None:
            if workflow.patched(TRUE_OUTCOME):
                self._release_no = 4
            elif workflow.patched(ONE_TRUTH):
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

    def _one_truth(self) -> bool:
        """Since "one-truth": high-risk smelters on a product-level or user-defined declaration lead to the plan
        (or the compliance team's risk review, `high_risk_on_product_scope`); a deadline can be extended in
        every waiting state; replacing a contact sends the current step's message to the new address; a
        correction or product-level request is recorded once delivered."""
        return self._release() >= 3

    def _true_outcome(self) -> bool:
        """Since "true-outcome": the outcome an escalation holds is what the supplier did
        (models.facts.survey.outcome_if_lapsed: a valid declaration whose plan was not completed is
        cap_not_completed, not non_responsive), and it no longer holds once the VP requires a plan."""
        return self._release() >= 4

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
        survey_row = SurveyColumns(**life.survey_row(s, self.p, workflow.now()))
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

    async def _email(self, step: str, template: str, to: str, *, n: int, round_: Optional[int] = None,
                     cc: Optional[list[str]] = None, extra: Optional[dict] = None,
                     supplier_link: bool = False, once: bool = False) -> EmailResult:
        """One email, once per key. Only the supplier's messages carry its portal link. `once`: one attempt,
        its failure raised for the caller to retry (_send_until_delivered)."""
        r = self.s.correction_round if round_ is None else round_
        key = f"{self.survey_id}/{step}/r{r}/n{n}"
        return await send_email(EmailRequest(
            idempotency_key=key, template=template, to=to, cc=cc or [],
            survey_id=self.survey_id if supplier_link else None, context=life.email_context(self.inp, self.s, self.p, extra)), local=self._lean(),
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

    async def _on_bounce(self, result: EmailResult, fallback: Optional[Contact] = None) -> None:
        """The contact's address bounced: the survey waits for a new contact, the compliance team is told
        (and, for a bounce read from the bounce mailbox, which contact the survey falls back to)."""
        s = self.s
        s.bounces += 1
        was_frozen = self._frozen()
        s.bounced = True
        if not was_frozen:
            s.frozen_since = workflow.now()
        await self._record("contact_bounced", reason=result.detail, data={"email": s.contact.email})
        extra = {"bounced_email": s.contact.email, "detail": result.detail or "", "state": s.state.value}
        if fallback is not None:
            extra.update(next_email=fallback.email, next_name=fallback.name or "")
        await self._email("bounce_notice", "bounce_notice", self.inp.compliance_email, n=s.bounces, extra=extra)
        self._bump()

    def _queue(self, msg: Message, n: int) -> None:
        """A message to the supplier for the run loop to send (an Update never waits on SMTP)."""
        self.s.pending.append({"step": msg.step, "template": msg.template, "n": n, "extra": msg.extra})

    async def _send_queued(self) -> None:
        while self.s.pending:
            item = self.s.pending[0]
            if item.get("to") == "compliance":  # since "one-truth": the risk review request
                await self._email(item["step"], item["template"], self.inp.compliance_email, n=item["n"],
                                  extra=item.get("extra"))
            else:
                await self._email_supplier(item["step"], item["template"], n=item["n"], extra=item.get("extra"))
            self.s.pending.pop(0)

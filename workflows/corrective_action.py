"""A corrective action plan: the supplier's actions with owners and target dates, verified one by one.

Shape: the run loop asks for the plan's next scheduled step (`models.facts.plan.next_step`, over the carried
state and the policy) and sleeps until then or until an Update changes something (`_changed`). Every
decision (the schedule: plan due, action reminders, overdue, review cadence; which Update is refused and
why; where an Update takes the plan; the result; what the emails say) is models/facts/plan.py's; this
module carries them out: timers, emails, the read model, Updates and continue-as-new.
"""

from __future__ import annotations

import asyncio
from typing import Optional

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailRequest, EmailResult
    from activities.survey import CapRecord
    from models.enums import CorrectiveActionStatus as Status
    from models.facts import plan as facts
    from models.facts.plan import COMPLIANCE, PlanMessage, PlanStep
    from models.scorecards import ScorecardEvent
    from models.survey import (
        ActionStatusReport,
        CapCarry,
        CapInput,
        CapResult,
        CapStatus,
        Contact,
        CorrectiveActionState,
        ExtendDeadline,
        MailBounced,
        SubmitPlan,
        VerifyAction,
    )
    from workflows.common import DB_OPTIONS, send_email


@workflow.defn(name="CorrectiveActionPlan")
class CorrectiveActionWorkflow:
    @workflow.init
    def __init__(self, inp: CapInput) -> None:
        self.inp = inp
        self.p = inp.policy
        self.c: CapCarry = inp.carried or CapCarry(contact=inp.contact)
        self._changed = 0
        self._next: Optional[PlanStep] = None

    @workflow.run
    async def run(self, inp: CapInput) -> CapResult:
        c = self.c
        try:
            if not c.opened:
                c.opened_at = workflow.now()
                await self._save()
                await self._send(facts.request_message(c, self.p))
                c.opened = True
            while facts.is_open(c):
                if self._should_continue_as_new():
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    workflow.continue_as_new(inp.model_copy(update={"carried": c}))
                step = facts.next_step(c, self.p)
                self._next = step
                seen = self._changed
                if step is None:
                    await workflow.wait_condition(lambda: self._changed != seen)
                    continue
                wait = (step.at - workflow.now()).total_seconds()
                if wait > 0:
                    try:
                        await workflow.wait_condition(lambda: self._changed != seen, timeout=wait)
                        continue
                    except asyncio.TimeoutError:
                        pass
                await self._take(step)
        except asyncio.CancelledError:
            c.state = "cancelled"
            await workflow.execute_activity("record_cap", self._record(closed=True), **DB_OPTIONS)
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._save(closed=True)
        if c.state == "closed":
            await workflow.execute_activity("update_scorecard", ScorecardEvent(
                survey_id=inp.survey_id, kind="cap_verified", at=workflow.now()), **DB_OPTIONS)
            # The survey now thanks the supplier as it closes: one message, not two in a row.
            if not workflow.patched("closing-notice-by-survey"):
                await self._send(facts.closed_message())
        return facts.plan_result(inp.cap_id, c)

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        limit = self.inp.continue_as_new_at_events
        return info.is_continue_as_new_suggested() or (limit is not None and info.get_current_history_length() >= limit)

    # --- the schedule (models.facts.plan.next_step), carried out -----------------------------------

    async def _take(self, step: PlanStep) -> None:
        c = self.c
        if step.action == facts.OVERDUE:
            c.state = "overdue"
            return
        if step.action == facts.PLAN_REMINDER:
            c.plan_reminders_sent += 1
            await self._send(facts.plan_reminder_message(c, self.p))
            return
        a = self._action(step.number)
        if step.action == facts.BEFORE_TARGET:
            a.reminder_before_sent = True
            await self._send(facts.before_target_message(a))
        elif step.action == facts.AFTER_TARGET:
            a.reminders_after_sent += 1
            await self._send(facts.after_target_message(a, self.p))
        else:
            a.review_reminders_sent += 1
            await self._send(facts.review_reminder_message(a))

    # --- Updates --------------------------------------------------------------------------------

    @workflow.update
    async def submit_plan(self, plan: SubmitPlan) -> CapStatus:
        if self._seen():
            return self.status()
        self._remember()
        c = self.c
        c.actions = facts.planned_actions(plan.actions)
        c.state = "in_progress"
        # Reminder lead times count from the plan, not from the request (changed after the first release:
        # plans submitted before it keep their schedule).
        if workflow.patched("cap-lead-from-plan"):
            c.plan_submitted_at = workflow.now()
        await self._save()
        self._changed += 1
        return self.status()

    @submit_plan.validator
    def _validate_plan(self, plan: SubmitPlan) -> None:
        if not self._seen():
            self._refuse_if(facts.why_not_submit_plan(self.c, plan.actions, now=workflow.now()))

    @workflow.update
    async def report_action_status(self, rep: ActionStatusReport) -> CapStatus:
        if self._seen():
            return self.status()
        self._remember()
        a = self._action(rep.number)
        a.status = Status(rep.status)
        a.status_note = rep.note or None
        if a.status == Status.reported_done:
            a.reported_at = workflow.now()
        self.c.state = facts.state_after_report(self.c, a.status)
        await self._save()
        self._changed += 1
        return self.status()

    @report_action_status.validator
    def _validate_report(self, rep: ActionStatusReport) -> None:
        if not self._seen():
            self._refuse_if(facts.why_not_report(self.c, rep.number))

    @workflow.update
    async def verify_action(self, req: VerifyAction) -> CapStatus:
        if self._seen():
            return self.status()
        self._remember()
        await self._verify(req)
        return self.status()

    @verify_action.validator
    def _validate_verify(self, req: VerifyAction) -> None:
        if not self._seen():
            self._refuse_if(facts.why_not_verify(self.c, req.number))

    @workflow.signal(name="verify_action_signal")
    async def verify_action_signal(self, req: VerifyAction) -> None:
        """Forwarded by the survey; an unknown or settled action is ignored (the child's Update says why)."""
        if facts.why_not_verify(self.c, req.number) is None:
            await self._verify(req)

    @workflow.update
    async def extend_plan_deadline(self, req: ExtendDeadline) -> CapStatus:
        if not self._seen():
            self._remember()
            self._extend(req)
        return self.status()

    @extend_plan_deadline.validator
    def _validate_extend(self, req: ExtendDeadline) -> None:
        if not self._seen():
            self._refuse_if(facts.why_not_extend(self.c, req.new_due_at, self.p))

    @workflow.signal(name="extend_plan_deadline_signal")
    def extend_plan_deadline_signal(self, req: ExtendDeadline) -> None:
        """Forwarded by the survey's extend_deadline; a date that does not apply is ignored (the child's
        Update says why)."""
        if facts.why_not_extend(self.c, req.new_due_at, self.p) is None:
            self._extend(req)

    def _extend(self, req: ExtendDeadline) -> None:
        self.c.plan_due_at = req.new_due_at
        self._changed += 1

    @workflow.signal(name="contact_changed")
    def contact_changed(self, contact: Contact) -> None:
        self.c.contact = contact
        self.c.contact_bounced = False
        self._changed += 1

    @workflow.signal(name="contact_bounced")
    def contact_bounced(self, b: MailBounced) -> None:
        """Forwarded by the survey: a relay reported the contact's address dead after accepting a message (the
        survey told the compliance team). No more mail to it until contact_changed brings a new contact."""
        if b.email.strip().lower() == self.c.contact.email.strip().lower() and not self.c.contact_bounced:
            self.c.contact_bounced = True
            self.c.bounces += 1
            self._changed += 1

    async def _verify(self, req: VerifyAction) -> None:
        a = self._action(req.number)
        a.status = Status.verified
        a.verified_at = workflow.now()
        a.verified_by = req.verified_by
        if req.note:
            a.status_note = req.note
        self.c.state = facts.state_after_verify(self.c)
        await self._save()
        self._changed += 1

    @workflow.query
    def status(self) -> CapStatus:
        return facts.plan_status(self.inp.cap_id, self.inp.survey_id, self.c, self._next)

    # --- helpers ----------------------------------------------------------------------------------

    def _refuse_if(self, refusal: Optional[str]) -> None:
        """A refusal from models.facts.plan (the sentence, or None when the Update is allowed)."""
        if refusal:
            raise ApplicationError(refusal, type="ActionRefused", non_retryable=True)

    def _action(self, number: Optional[int]) -> CorrectiveActionState:
        a = facts.find_action(self.c, number) if number is not None else None
        if a is None:
            raise ApplicationError(f"the plan has no action {number}", type="ActionRefused", non_retryable=True)
        return a

    def _update_id(self) -> str:
        info = workflow.current_update_info()
        return info.id if info else ""

    def _seen(self) -> bool:
        return self._update_id() in self.c.processed_update_ids

    def _remember(self) -> None:
        uid = self._update_id()
        if uid and uid not in self.c.processed_update_ids:
            self.c.processed_update_ids.append(uid)
            del self.c.processed_update_ids[:-500]

    def _record(self, closed: bool = False) -> CapRecord:
        c = self.c
        return CapRecord(cap_id=self.inp.cap_id, survey_id=self.inp.survey_id, reason=self.inp.reason, state=c.state,
                         opened_at=c.opened_at, closed_at=workflow.now() if closed else None, actions=c.actions)

    async def _save(self, closed: bool = False) -> None:
        await workflow.execute_activity("record_cap", self._record(closed), **DB_OPTIONS)

    async def _email(self, msg: PlanMessage, to: str, survey_link: bool = False) -> EmailResult:
        return await send_email(EmailRequest(
            idempotency_key=f"{self.inp.cap_id}/{msg.step}/n{msg.n}", template=msg.template, to=to,
            survey_id=self.inp.survey_id if survey_link else None,
            context=facts.email_context(self.inp, self.c, msg.extra)))

    async def _send(self, msg: PlanMessage) -> None:
        """A message of the plan: to the compliance team, or to the supplier's contact unless its address
        bounced (a bounce tells the compliance team)."""
        if msg.to == COMPLIANCE:
            await self._email(msg, self.inp.compliance_email)
            return
        c = self.c
        if c.contact_bounced:
            return
        result = await self._email(msg, c.contact.email, survey_link=True)
        if result.status == "bounced":
            c.contact_bounced = True
            c.bounces += 1
            await self._email(facts.bounce_notice(c, result.detail), self.inp.compliance_email)

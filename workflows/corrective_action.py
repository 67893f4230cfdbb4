"""A corrective action plan: the supplier's actions with owners and target dates, verified one by one.

Steps: the request (the supplier has `cap_plan_window` to submit its actions, reminded once halfway);
for each action a reminder `cap_reminder_before_target` before its target date and, past it, every
`cap_reminder_after_target_every` until `cap_overdue_escalation` past the target, when the plan is
overdue (the survey escalates); an action reported done reminds the compliance team to verify it every
`cap_review_every`. The plan closes when every action is verified; a refused action refuses the plan.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable, Optional

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailRequest, EmailResult
    from activities.survey import CapRecord
    from models.enums import CorrectiveActionStatus as Status
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
        SubmitPlan,
        VerifyAction,
    )
    from workflows.common import DB_OPTIONS, send_email

DONE = (Status.verified,)


@dataclass
class _Step:
    name: str
    at: datetime
    run: Callable[[], Awaitable[None]]


def _day(dt: Optional[datetime]) -> str:
    return dt.strftime("%d %B %Y") if dt else ""


@workflow.defn(name="CorrectiveActionPlan")
class CorrectiveActionWorkflow:
    @workflow.init
    def __init__(self, inp: CapInput) -> None:
        self.inp = inp
        self.p = inp.policy
        self.c: CapCarry = inp.carried or CapCarry(contact=inp.contact)
        self._changed = 0
        self._next: Optional[_Step] = None

    @workflow.run
    async def run(self, inp: CapInput) -> CapResult:
        c = self.c
        try:
            if not c.opened:
                c.opened_at = workflow.now()
                await self._save()
                await self._email_supplier("cap_request", "cap_request", 0, {"plan_due": _day(self._plan_due())})
                c.opened = True
            while c.state in ("requested", "in_progress"):
                if self._should_continue_as_new():
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    workflow.continue_as_new(inp.model_copy(update={"carried": c}))
                step = self._next_step()
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
                await step.run()
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
                await self._email_supplier("cap_closed", "accepted", 0, {"with_cap": True, "cap_closed": True})
        reason = None
        if c.state == "overdue":
            late = [a for a in c.actions if a.status not in DONE]
            reason = "plan not submitted in time" if not c.actions else \
                "overdue actions: " + ", ".join(str(a.number) for a in late)
        elif c.state == "refused":
            reason = "; ".join(f"action {a.number}: {a.status_note or 'refused'}" for a in c.actions
                               if a.status == Status.refused)
        return CapResult(cap_id=inp.cap_id, status=c.state, reason=reason, actions=c.actions)

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        limit = self.inp.continue_as_new_at_events
        return info.is_continue_as_new_suggested() or (limit is not None and info.get_current_history_length() >= limit)

    # --- the schedule ---------------------------------------------------------------------------

    def _next_step(self) -> Optional[_Step]:
        c, p = self.c, self.p
        steps: list[_Step] = []
        if c.state == "requested":
            deadline = self._plan_due()
            if c.plan_reminders_sent == 0:
                steps.append(_Step("plan reminder", c.opened_at + p.cap_plan_window / 2, self._plan_reminder))
            steps.append(_Step("plan overdue", deadline, self._overdue))
        for a in c.actions:
            if a.status in (Status.verified, Status.refused):
                continue
            if a.status == Status.reported_done:
                at = a.reported_at + p.cap_review_every * (a.review_reminders_sent + 1)
                steps.append(_Step(f"review reminder for action {a.number}", at, self._review_reminder(a)))
                continue
            # No "due soon" reminder for a target set closer than the reminder's lead time.
            if not a.reminder_before_sent and a.target_date - p.cap_reminder_before_target > (c.plan_submitted_at or c.opened_at):
                steps.append(_Step(f"reminder before target of action {a.number}",
                                   a.target_date - p.cap_reminder_before_target, self._before_target(a)))
            overdue_at = a.target_date + p.cap_overdue_escalation
            nxt = a.target_date + p.cap_reminder_after_target_every * (a.reminders_after_sent + 1)
            if nxt < overdue_at:
                steps.append(_Step(f"overdue reminder for action {a.number}", nxt, self._after_target(a)))
            steps.append(_Step(f"action {a.number} overdue: escalation", overdue_at, self._overdue))
        return min(steps, key=lambda s: s.at) if steps else None

    async def _plan_reminder(self) -> None:
        self.c.plan_reminders_sent += 1
        await self._email_supplier("cap_plan_reminder", "cap_reminder", 1, {
            "plan_reminder": True, "plan_due": _day(self._plan_due())})

    def _plan_due(self) -> datetime:
        """By when the plan's actions are due: the policy's window from the request, or a later date the
        compliance team set (extend_plan_deadline)."""
        return self.c.plan_due_at or self.c.opened_at + self.p.cap_plan_window

    def _before_target(self, a: CorrectiveActionState) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            a.reminder_before_sent = True
            await self._email_supplier(f"cap_reminder_a{a.number}", "cap_reminder", 0, {
                "plan_reminder": False, "action": a.model_dump(mode="json"), "target": _day(a.target_date)})
        return run

    def _after_target(self, a: CorrectiveActionState) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            a.reminders_after_sent += 1
            await self._email_supplier(f"cap_overdue_a{a.number}", "cap_overdue", a.reminders_after_sent, {
                "action": a.model_dump(mode="json"), "target": _day(a.target_date),
                "escalation_on": _day(a.target_date + self.p.cap_overdue_escalation)})
        return run

    def _review_reminder(self, a: CorrectiveActionState) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            a.review_reminders_sent += 1
            await self._email(f"cap_review_a{a.number}", "cap_review", self.inp.compliance_email,
                              a.review_reminders_sent, {"action": a.model_dump(mode="json")})
        return run

    async def _overdue(self) -> None:
        self.c.state = "overdue"

    # --- Updates --------------------------------------------------------------------------------

    @workflow.update
    async def submit_plan(self, plan: SubmitPlan) -> CapStatus:
        if self._seen():
            return self.status()
        self._remember()
        c = self.c
        c.actions = [CorrectiveActionState(number=i + 1, description=a.description, owner=a.owner,
                                           target_date=a.target_date) for i, a in enumerate(plan.actions)]
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
        if self._seen():
            return
        if self.c.state != "requested":
            raise ApplicationError(f"the plan is already {self.c.state}", type="ActionRefused", non_retryable=True)
        for i, a in enumerate(plan.actions, 1):
            if a.target_date.tzinfo is None:
                raise ApplicationError(f"action {i}: the target date needs a time zone", type="ActionRefused",
                                       non_retryable=True)
            if a.target_date <= workflow.now():
                raise ApplicationError(f"action {i}: the target date is in the past", type="ActionRefused",
                                       non_retryable=True)

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
        if a.status == Status.refused:
            self.c.state = "refused"
        await self._save()
        self._changed += 1
        return self.status()

    @report_action_status.validator
    def _validate_report(self, rep: ActionStatusReport) -> None:
        if self._seen():
            return
        self._require_in_progress()
        a = self._action(rep.number)
        if a.status in (Status.verified, Status.refused):
            raise ApplicationError(f"action {a.number} is already {a.status.value}", type="ActionRefused",
                                   non_retryable=True)

    @workflow.update
    async def verify_action(self, req: VerifyAction) -> CapStatus:
        if self._seen():
            return self.status()
        self._remember()
        await self._verify(req)
        return self.status()

    @verify_action.validator
    def _validate_verify(self, req: VerifyAction) -> None:
        if self._seen():
            return
        self._require_in_progress()
        a = self._action(req.number)
        if a.status in (Status.verified, Status.refused):
            raise ApplicationError(f"action {a.number} is already {a.status.value}", type="ActionRefused",
                                   non_retryable=True)

    @workflow.signal(name="verify_action_signal")
    async def verify_action_signal(self, req: VerifyAction) -> None:
        """Forwarded by the survey; an unknown or settled action is ignored (the child's Update says why)."""
        if self.c.state != "in_progress":
            return
        a = next((x for x in self.c.actions if x.number == req.number), None)
        if a is None or a.status in (Status.verified, Status.refused):
            return
        await self._verify(req)

    @workflow.update
    async def extend_plan_deadline(self, req: ExtendDeadline) -> CapStatus:
        if not self._seen():
            self._remember()
            self._extend(req)
        return self.status()

    @extend_plan_deadline.validator
    def _validate_extend(self, req: ExtendDeadline) -> None:
        if self._seen():
            return
        refusal = self._extension_refused(req)
        if refusal:
            raise ApplicationError(refusal, type="ActionRefused", non_retryable=True)

    @workflow.signal(name="extend_plan_deadline_signal")
    def extend_plan_deadline_signal(self, req: ExtendDeadline) -> None:
        """Forwarded by the survey's extend_deadline; a date that does not apply is ignored (the child's
        Update says why)."""
        if self._extension_refused(req) is None:
            self._extend(req)

    def _extension_refused(self, req: ExtendDeadline) -> Optional[str]:
        if self.c.state != "requested" or not self.c.opened:
            return f"the plan's deadline applies while the plan is awaited (the plan is {self.c.state.replace('_', ' ')})"
        if req.new_due_at.tzinfo is None:
            return "new_due_at must carry a time zone"
        if req.new_due_at <= self._plan_due():
            return f"the new date must be later than the current one ({_day(self._plan_due())})"
        return None

    def _extend(self, req: ExtendDeadline) -> None:
        self.c.plan_due_at = req.new_due_at
        self._changed += 1

    @workflow.signal(name="contact_changed")
    def contact_changed(self, contact: Contact) -> None:
        self.c.contact = contact
        self.c.contact_bounced = False
        self._changed += 1

    async def _verify(self, req: VerifyAction) -> None:
        a = self._action(req.number)
        a.status = Status.verified
        a.verified_at = workflow.now()
        a.verified_by = req.verified_by
        if req.note:
            a.status_note = req.note
        if all(x.status == Status.verified for x in self.c.actions):
            self.c.state = "closed"
        await self._save()
        self._changed += 1

    @workflow.query
    def status(self) -> CapStatus:
        nxt = self._next if self.c.state in ("requested", "in_progress") else None
        return CapStatus(cap_id=self.inp.cap_id, survey_id=self.inp.survey_id, state=self.c.state,
                         actions=self.c.actions, next_step=nxt.name if nxt else None, next_step_at=nxt.at if nxt else None)

    # --- helpers ----------------------------------------------------------------------------------

    def _action(self, number: int) -> CorrectiveActionState:
        for a in self.c.actions:
            if a.number == number:
                return a
        raise ApplicationError(f"the plan has no action {number}", type="ActionRefused", non_retryable=True)

    def _require_in_progress(self) -> None:
        if self.c.state != "in_progress":
            raise ApplicationError(f"the plan is {self.c.state}", type="ActionRefused", non_retryable=True)

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

    def _context(self, extra: dict) -> dict:
        inp, c = self.inp, self.c
        return dict({
            "company_name": inp.company_name, "program_name": f"{inp.company_name} Responsible Minerals Program",
            "supplier_name": inp.supplier_name, "supplier_id": inp.supplier_id, "campaign_id": inp.campaign_id,
            "contact_name": c.contact.name or "", "language": c.contact.language, "cap_id": inp.cap_id,
            "reason": inp.reason, "actions": [a.model_dump(mode="json") for a in c.actions],
        }, **extra)

    async def _email(self, step: str, template: str, to: str, n: int, extra: dict,
                     survey_link: bool = False) -> EmailResult:
        return await send_email(EmailRequest(
            idempotency_key=f"{self.inp.cap_id}/{step}/n{n}", template=template, to=to,
            survey_id=self.inp.survey_id if survey_link else None, context=self._context(extra)))

    async def _email_supplier(self, step: str, template: str, n: int, extra: dict) -> None:
        if self.c.contact_bounced:
            return
        result = await self._email(step, template, self.c.contact.email, n, extra, survey_link=True)
        if result.status == "bounced":
            self.c.contact_bounced = True
            self.c.bounces += 1
            await self._email("bounce_notice", "bounce_notice", self.inp.compliance_email, self.c.bounces, {
                "bounced_email": self.c.contact.email, "detail": result.detail or "", "state": "corrective_action"})

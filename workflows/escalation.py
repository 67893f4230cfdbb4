"""Escalation to the Supply Chain VP: a case summary with a signed decision link, reminders until a decision.

The VP decides through the Update `decide` (validated: one decision per escalation) on this workflow, or
through the survey, which forwards the same payload here by the signal `decide_signal`. The decision is
recorded with who, when and why; the supplier's status follows (suspended, disengaged); the compliance
team and the supplier are told. After `vp_max_reminders` reminders and one more interval without a
decision the escalation lapses and the survey keeps its provisional outcome (models/survey.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Optional

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailRequest, EmailResult
    from activities.survey import CaseSummary, EscalationOpen, EscalationRecord
    from models.enums import Decision
    from models.scorecards import ScorecardEvent
    from models.survey import EscalationInput, EscalationResult, EscalationStatus, VpDecision
    from workflows.common import DB_OPTIONS, send_email

# Released after the first version: the `decide` Update answers once the decision is in the read model, so
# the page the VP (or the CLI) reads next shows it. Runs decided before keep recording it after the answer.
DECISION_RECORDED = "decision-recorded-before-answer"

REASON_TEXT = {
    "non_responsive": "The supplier has not answered the survey, past its due date and grace period.",
    "invalid_uncorrected": "The supplier's declaration is still invalid after the last correction round.",
    "cap_overdue": "The supplier's corrective action plan is overdue.",
    "cap_refused": "The supplier refused its corrective action plan.",
}


@workflow.defn(name="Escalation")
class EscalationWorkflow:
    @workflow.init
    def __init__(self, inp: EscalationInput) -> None:
        self.inp = inp
        self.opened_at: Optional[datetime] = None
        self.reminders_sent = 0
        self.decision: Optional[VpDecision] = None
        self.decided_at: Optional[datetime] = None
        self.processed = list(inp.processed_update_ids)
        self.next_at: Optional[datetime] = None
        self._recording = False  # the decide Update is writing the decision to the read model
        self._recorded = False

    @workflow.run
    async def run(self, inp: EscalationInput) -> EscalationResult:
        p = inp.policy
        self.opened_at = workflow.now()
        summary: CaseSummary = await workflow.execute_activity(
            "open_escalation", EscalationOpen(escalation_id=inp.escalation_id, survey_id=inp.survey_id,
                                              reason=inp.reason, opened_at=self.opened_at),
            result_type=CaseSummary, **DB_OPTIONS)
        context = {
            "company_name": inp.company_name, "program_name": f"{inp.company_name} Responsible Minerals Program",
            "supplier_name": inp.supplier_name, "supplier_id": inp.supplier_id, "campaign_id": inp.campaign_id,
            "reason": inp.reason, "reason_text": REASON_TEXT.get(inp.reason, inp.reason),
            "case": summary.model_dump(mode="json"),
        }
        # The decision link is the VP's alone: nobody is copied (the survey tells the others).
        await self._email("escalation_to_vp", "escalation_to_vp", inp.vp_email, 0, context)
        while self.decision is None:
            self.next_at = workflow.now() + p.vp_reminder_every
            try:
                await workflow.wait_condition(lambda: self.decision is not None,
                                              timeout=p.vp_reminder_every.total_seconds())
            except asyncio.TimeoutError:
                if self.reminders_sent >= p.vp_max_reminders:
                    break
                self.reminders_sent += 1
                await self._email("vp_reminder", "vp_reminder", inp.vp_email, self.reminders_sent,
                                  dict(context, reminder=self.reminders_sent))
                await workflow.execute_activity("record_escalation", EscalationRecord(
                    escalation_id=inp.escalation_id, reminders_sent=self.reminders_sent), **DB_OPTIONS)
        self.next_at = None
        d = self.decision
        if d is None:
            await self._email("decision_notice", "decision_notice", inp.compliance_email, 0,
                              dict(context, decision=None, audience="compliance"))
            await workflow.wait_condition(workflow.all_handlers_finished)
            return EscalationResult(escalation_id=inp.escalation_id)
        if self._recording or self._recorded:
            await workflow.wait_condition(lambda: self._recorded)
        else:
            await workflow.execute_activity("record_escalation", self._decision_record(), **DB_OPTIONS)
        await workflow.execute_activity("update_scorecard", ScorecardEvent(
            survey_id=inp.survey_id, kind="escalation_decided", at=self.decided_at, decision=d.decision.value),
            **DB_OPTIONS)
        notice = dict(context, decision=d.decision.value, decided_by=d.decided_by, decision_reason=d.reason,
                      decided_at=self.decided_at.strftime("%d %B %Y %H:%M UTC"))
        await self._email("decision_notice", "decision_notice", inp.compliance_email, 0,
                          dict(notice, audience="compliance"))
        # The supplier hears of a suspension, a disengagement or a waiver here; a required plan comes with
        # its own request from the corrective action workflow.
        if inp.supplier_contact and d.decision != Decision.corrective_action:
            await self._email("decision_notice_supplier", "decision_notice", inp.supplier_contact.email, 0,
                              dict(notice, audience="supplier", contact_name=inp.supplier_contact.name or "",
                                   language=inp.supplier_contact.language), survey=True)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return EscalationResult(escalation_id=inp.escalation_id, decision=d.decision, decided_by=d.decided_by,
                                decided_at=self.decided_at, reason=d.reason)

    async def _email(self, step: str, template: str, to: str, n: int, context: dict, *, cc: Optional[list[str]] = None,
                     survey: bool = False) -> EmailResult:
        return await send_email(EmailRequest(
            idempotency_key=f"{self.inp.escalation_id}/{step}/n{n}", template=template, to=to, cc=cc or [],
            survey_id=self.inp.survey_id if survey else None,
            escalation_id=None if survey else self.inp.escalation_id, context=context))

    def _apply(self, d: VpDecision) -> None:
        if self.decision is None:
            self.decision = d
            self.decided_at = workflow.now()

    def _decision_record(self) -> EscalationRecord:
        d = self.decision
        return EscalationRecord(
            escalation_id=self.inp.escalation_id, reminders_sent=self.reminders_sent, decision=d.decision.value,
            decided_by=d.decided_by, decided_at=self.decided_at, decision_reason=d.reason,
            supplier_id=self.inp.supplier_id)

    @workflow.update
    async def decide(self, d: VpDecision) -> EscalationStatus:
        self._apply(d)
        if workflow.patched(DECISION_RECORDED) and not (self._recording or self._recorded):
            # Answer once the read model holds the decision: read-after-write for every face.
            self._recording = True
            await workflow.execute_activity("record_escalation", self._decision_record(), **DB_OPTIONS)
            self._recorded = True
        return self.status()

    @decide.validator
    def _validate_decide(self, d: VpDecision) -> None:
        if self.decision is not None:
            raise ApplicationError(
                f"already decided: {self.decision.decision.value} by {self.decision.decided_by}",
                type="AlreadyDecided", non_retryable=True)

    @workflow.signal(name="decide_signal")
    def decide_signal(self, d: VpDecision) -> None:
        """The survey forwards a decision sent to it; a second decision is ignored (the first stands)."""
        self._apply(d)

    @workflow.query
    def status(self) -> EscalationStatus:
        d = self.decision
        return EscalationStatus(
            escalation_id=self.inp.escalation_id, survey_id=self.inp.survey_id, reason=self.inp.reason,
            opened_at=self.opened_at, reminders_sent=self.reminders_sent, decision=d.decision if d else None,
            decided_by=d.decided_by if d else None, decided_at=self.decided_at,
            next_step=None if d else "VP reminder", next_step_at=None if d else self.next_at)

"""Acting on running surveys: the lifecycle's Updates, called the same way by the pages and the API.

Each compliance action has a request body (what a person fills in) that becomes the workflow's own
Update input once we add who did it. A refusal from the workflow's validator comes back as
:class:`ActionRejected` carrying the workflow's sentence, which the pages show and the API returns as 409.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Any, Callable, Literal, Optional

from pydantic import BaseModel, Field, field_validator
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models import survey as contract
from outreach.intake import SendSubmission
from outreach.temporal_client import TemporalUnavailable

log = logging.getLogger("outreach.web")


class ActionRejected(Exception):
    """The survey refused (409), does not run any more (404/410), or Temporal is unreachable (503)."""

    def __init__(self, message: str, status_code: int = 409):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


# --- What a person fills in -----------------------------------------------------------------


class ReasonBody(BaseModel):
    reason: str = Field("", max_length=2000, description="Why; kept in the survey's timeline.")


class ExtendDeadlineBody(BaseModel):
    new_due_at: datetime = Field(description="The new due date (a date alone means the end of that day, UTC).")
    reason: str = Field("", max_length=2000)

    @field_validator("new_due_at", mode="before")
    @classmethod
    def _end_of_day(cls, v: Any) -> Any:
        if isinstance(v, str) and len(v) == 10:  # YYYY-MM-DD from a date field
            v = datetime.combine(datetime.strptime(v, "%Y-%m-%d").date(), time(23, 59), tzinfo=timezone.utc)
        return v

    @field_validator("new_due_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)


class ReplaceContactBody(BaseModel):
    email: str = Field(pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$", max_length=320,
                       description="The new contact's email address.")
    name: Optional[str] = Field(None, max_length=200)
    language: str = Field("en", pattern=r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")
    reason: str = Field("", max_length=2000)


class AddNoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=5000)


class ManualReviewBody(BaseModel):
    submission_id: str = Field(min_length=1, description="The submission to accept or reject (the latest one).")
    reason: str = Field(min_length=1, max_length=2000, description="Why the check is overruled.")


class RiskDecisionBody(BaseModel):
    decision: Literal["accept", "corrective_action"] = Field(
        description="accept: the declared risk is acceptable, the survey closes valid; corrective_action: the "
                    "supplier must send a corrective action plan.")
    reason: str = Field(min_length=1, max_length=2000, description="Why; kept in the survey's timeline.")


class VerifyActionBody(BaseModel):
    number: int = Field(ge=1, description="The corrective action's number in the open plan.")
    note: str = Field("", max_length=2000)


@dataclass(frozen=True)
class SurveyAction:
    name: str  # the Update's name on the survey workflow
    title: str  # shown on buttons and in the API summary
    body: type[BaseModel]
    to_update: Callable[[BaseModel, str], BaseModel]


SURVEY_ACTIONS: dict[str, SurveyAction] = {a.name: a for a in (
    SurveyAction("extend_deadline", "Extend the deadline", ExtendDeadlineBody,
                 lambda b, by: contract.ExtendDeadline(new_due_at=b.new_due_at, by=by, reason=b.reason)),
    SurveyAction("pause_reminders", "Pause reminders", ReasonBody,
                 lambda b, by: contract.ComplianceAction(by=by, reason=b.reason)),
    SurveyAction("resume_reminders", "Resume reminders", ReasonBody,
                 lambda b, by: contract.ComplianceAction(by=by, reason=b.reason)),
    SurveyAction("remind_now", "Send a reminder now", ReasonBody,
                 lambda b, by: contract.ComplianceAction(by=by, reason=b.reason)),
    SurveyAction("replace_contact", "Replace the contact", ReplaceContactBody,
                 lambda b, by: contract.ReplaceContact(email=b.email, name=b.name or None,
                                                       language=b.language, by=by, reason=b.reason)),
    SurveyAction("add_note", "Add a note", AddNoteBody, lambda b, by: contract.AddNote(text=b.text, by=by)),
    SurveyAction("accept_submission", "Accept the submission", ManualReviewBody,
                 lambda b, by: contract.ManualReview(submission_id=b.submission_id, by=by, reason=b.reason)),
    SurveyAction("reject_submission", "Reject the submission", ManualReviewBody,
                 lambda b, by: contract.ManualReview(submission_id=b.submission_id, by=by, reason=b.reason)),
    SurveyAction("decide_risk", "Decide the risk review", RiskDecisionBody,
                 lambda b, by: contract.RiskDecision(decision=b.decision, by=by, reason=b.reason)),
    SurveyAction("verify_action", "Verify a corrective action", VerifyActionBody,
                 lambda b, by: contract.VerifyAction(number=b.number, verified_by=by, note=b.note)),
    SurveyAction("withdraw", "Withdraw the supplier", ReasonBody,
                 lambda b, by: contract.Withdraw(by=by, reason=b.reason)),
)}


# --- Calling Temporal ---------------------------------------------------------------------------


def _cause_message(exc: BaseException) -> str:
    cause = exc.cause if isinstance(exc, WorkflowUpdateFailedError) else exc
    while cause is not None:
        if isinstance(cause, ApplicationError):
            return cause.message
        cause = getattr(cause, "cause", None) or cause.__cause__
    return str(exc)


async def execute(client_factory: Callable, workflow_id: str, update: str, arg: BaseModel,
                  result_type: type | None, *, update_id: str | None = None) -> Any:
    """Run one Update and translate Temporal's failures into :class:`ActionRejected`."""
    try:
        client: Client = await client_factory()
    except TemporalUnavailable as exc:
        raise ActionRejected(f"The workflow engine is not reachable right now; try again in a minute. ({exc})", 503)
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(update, arg, id=update_id, result_type=result_type)
    except WorkflowUpdateFailedError as exc:
        raise ActionRejected(_cause_message(exc), 409) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ActionRejected("This case is no longer open, so it cannot be changed any more.", 410) from None
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise ActionRejected("The workflow engine did not answer in time; try again in a minute.", 503) from None
        log.warning("update %s on %s failed: %s", update, workflow_id, exc)
        raise ActionRejected(f"The action could not be delivered: {exc.message}", 409) from None


async def survey_action(client_factory: Callable, survey_id: str, action: str, body: BaseModel, by: str,
                        *, cap_id: str | None = None) -> contract.ActionAck | Any:
    spec = SURVEY_ACTIONS[action]
    arg = spec.to_update(body, by)
    if action == "verify_action" and cap_id:
        # Straight to the plan so its own validator answers (an unknown number, already verified...).
        return await execute(client_factory, cap_id, "verify_action", arg, None)
    return await execute(client_factory, survey_id, spec.name, arg, contract.ActionAck)


async def survey_status(client_factory: Callable, survey_id: str) -> contract.SurveyStatus:
    try:
        client: Client = await client_factory()
    except TemporalUnavailable as exc:
        raise ActionRejected(str(exc), 503)
    try:
        return await client.get_workflow_handle(survey_id).query("status", result_type=contract.SurveyStatus)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ActionRejected("No running workflow has this survey ID.", 404) from None
        raise ActionRejected(f"The survey did not answer: {exc.message}", 503) from None


async def read_model_reaches(check: Callable[[], bool], *, timeout: float = 5.0, every: float = 0.05) -> bool:
    """Wait (bounded) until the read model shows what an Update's consequences write after it answered.

    An Update answers once its own rows are written; what follows from it in another workflow (the survey
    closing after its plan's last action is verified, or after the VP's decision) is written a moment
    later. The page shown next waits for it, so it never shows the state before the action; False when
    it did not arrive in time (the page then says it follows).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if await asyncio.to_thread(check):
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(every)


def send_submission(client_factory: Callable, survey_id: str) -> SendSubmission:
    """How the web app runs a submission's Update (outreach.intake.submit_workbook's ``send``)."""
    async def send(arg: contract.SubmitCmrt, update_id: str) -> contract.SubmissionVerdict:
        return await execute(client_factory, survey_id, "submit", arg, contract.SubmissionVerdict, update_id=update_id)
    return send


async def submit_plan(client_factory: Callable, cap_id: str, actions: list[contract.PlannedAction],
                      submitted_by: str | None) -> Any:
    return await execute(client_factory, cap_id, "submit_plan",
                         contract.SubmitPlan(actions=actions, submitted_by=submitted_by), None)


async def report_action_status(client_factory: Callable, cap_id: str, report: contract.ActionStatusReport) -> Any:
    return await execute(client_factory, cap_id, "report_action_status", report, None)


async def decide(client_factory: Callable, escalation_id: str, decision: contract.VpDecision) -> Any:
    return await execute(client_factory, escalation_id, "decide", decision, None)

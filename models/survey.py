"""The contract of the supplier survey lifecycle: workflow IDs, inputs, results, Updates, the query.

Three workflows (workflows/survey.py, corrective_action.py, escalation.py):

- ``SupplierSurveyWorkflow`` — one per supplier per campaign, ID ``survey_workflow_id(campaign, supplier)``,
  input :class:`SurveyInput`, result :class:`SurveyResult`.
- ``CorrectiveActionWorkflow`` — child of a survey, ID ``cap_workflow_id(survey_id, n)``.
- ``EscalationWorkflow`` — child of a survey, ID ``escalation_workflow_id(survey_id, n)``.

Calling them (the client must use ``temporalio.contrib.pydantic.pydantic_data_converter``)::

    from workflows.survey import SupplierSurveyWorkflow
    from workflows.corrective_action import CorrectiveActionWorkflow
    from workflows.escalation import EscalationWorkflow

    handle = client.get_workflow_handle(survey_workflow_id("cmrt-2026", "S-1"))
    # A submission: the file is already stored (outreach.storage.FileStore.put) and passed by hash.
    # Returns at once with the verdict (the check runs inside the update).
    verdict = await handle.execute_update(
        SupplierSurveyWorkflow.submit,
        SubmitCmrt(file_sha256=sha, filename="acme.xlsx", channel="portal", submitted_by="jane@acme.example"),
        id=f"submit-{sha}",          # optional: the same id twice is one submission (de-duplicated)
    )                                # -> SubmissionVerdict
    status = await handle.query(SupplierSurveyWorkflow.status)   # -> SurveyStatus

    # Compliance actions on the survey (each returns an ActionAck, or raises
    # WorkflowUpdateFailedError whose cause is an ApplicationError saying why it was refused):
    await handle.execute_update(SupplierSurveyWorkflow.extend_deadline, ExtendDeadline(new_due_at=..., by="ana"))
    await handle.execute_update(SupplierSurveyWorkflow.decide_risk, RiskDecision(decision="accept", by="ana", reason=...))
    await handle.execute_update(SupplierSurveyWorkflow.pause_reminders, ComplianceAction(by="ana", reason="holiday"))
    await handle.execute_update(SupplierSurveyWorkflow.resume_reminders, ComplianceAction(by="ana"))
    await handle.execute_update(SupplierSurveyWorkflow.remind_now, ComplianceAction(by="ana"))
    await handle.execute_update(SupplierSurveyWorkflow.replace_contact, ReplaceContact(email=..., by="ana"))
    await handle.execute_update(SupplierSurveyWorkflow.add_note, AddNote(text="called them", by="ana"))
    await handle.execute_update(SupplierSurveyWorkflow.accept_submission, ManualReview(submission_id=..., by="ana", reason=...))
    await handle.execute_update(SupplierSurveyWorkflow.reject_submission, ManualReview(submission_id=..., by="ana", reason=...))
    await handle.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana", reason="no longer in scope"))

    # The corrective action plan (child): the supplier's plan and status reports, the team's verification.
    cap = client.get_workflow_handle(status.open_cap_id)
    await cap.execute_update(CorrectiveActionWorkflow.submit_plan, SubmitPlan(actions=[PlannedAction(...)], submitted_by=...))
    await cap.execute_update(CorrectiveActionWorkflow.report_action_status, ActionStatusReport(number=1, status="reported_done"))
    await cap.execute_update(CorrectiveActionWorkflow.verify_action, VerifyAction(number=1, verified_by="ana"))
    await cap.execute_update(CorrectiveActionWorkflow.extend_plan_deadline, ExtendDeadline(new_due_at=..., by="ana"))
    await cap.query(CorrectiveActionWorkflow.status)   # -> CapStatus

    # The VP's decision (child): validated synchronously, recorded with who, when and why.
    esc = client.get_workflow_handle(status.open_escalation_id)
    await esc.execute_update(EscalationWorkflow.decide, VpDecision(decision=Decision.suspend, decided_by="vp@...", reason="..."))
    await esc.query(EscalationWorkflow.status)         # -> EscalationStatus

Routing: the survey workflow also accepts ``verify_action`` and ``decide``. It checks that a plan (or an
escalation) is open and forwards the payload to the child by a signal (a workflow cannot send an
Update). The survey-level call therefore acknowledges the forwarding only; callers that want the child's
own validation (an unknown action number, a decision already taken) call the child, whose ID is in
``SurveyStatus.open_cap_id`` / ``open_escalation_id`` — the VP page does that.

Rules callers can rely on:

- ``submit`` is accepted while the survey waits for a declaration (requested, awaiting_response, chasing,
  correction_requested) and, as a late answer, while a non-response escalation waits for the VP (the
  escalation is then cancelled); ``purpose="product_level"`` only in product_level_requested. Otherwise
  the validator refuses it (``ApplicationError`` type ``SubmissionNotAllowed``) and nothing is recorded.
- Duplicates change nothing: the same Update ID (also after continue-as-new: the IDs are carried), or the
  same file (hash) and purpose as the latest submission, returns the first verdict.
- An unreadable or missing file is a verdict (``unreadable``) with a finding, and counts as a round.
- Refused compliance actions raise ``ApplicationError`` type ``ActionRefused`` with the reason.
- ``pause_reminders`` (and a bounce) freeze the survey's clock; ``resume_reminders`` (and
  ``replace_contact`` after a bounce) shift every pending step by the time it was frozen. After a bounce,
  ``replace_contact`` re-sends the last message to the new contact.
- ``SurveyInput.search_attributes=True`` needs the attributes of models/search_attributes.py registered
  (dev server: ``outreach up``; the time-skipping test server has none: pass False there).

Outcomes: ``valid`` (a valid declaration, no risk left), ``valid_with_cap`` (a corrective action plan closed
with every action verified on a valid declaration), ``invalid_uncorrected`` and ``non_responsive`` (set
when the case escalates for that reason; they stay the outcome when the VP lets the escalation lapse or
when a plan the VP required is closed without a valid declaration), ``cap_not_completed`` (a valid
declaration whose corrective action plan went overdue or was refused, and the VP let the escalation lapse:
the supplier answered, so it is not non-responsive), ``suspended``, ``disengaged``, ``waived`` (the VP's
decision), ``withdrawn`` (the compliance team removed the supplier from scope). While a case is escalated its
outcome is what it becomes unless the VP decides otherwise; in any other open state none is stated
(``models.facts.survey.outcome_standing``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

from models.enums import CorrectiveActionStatus, Decision, SurveyOutcome, SurveyState
from models.policy import CampaignPolicy

# --- Workflow IDs (stable: the portal, the CLI and the campaign derive them) --------------------


def survey_workflow_id(campaign_id: str, supplier_id: str) -> str:
    return f"survey/{campaign_id}/{supplier_id}"


def cap_workflow_id(survey_id: str, n: int = 1) -> str:
    """The n-th corrective action plan of a survey (a plan can be required again by the VP)."""
    return f"{survey_id}/cap/{n}"


def escalation_workflow_id(survey_id: str, n: int = 1) -> str:
    return f"{survey_id}/escalation/{n}"


# --- Shared pieces -------------------------------------------------------------------------------


class Contact(BaseModel):
    name: Optional[str] = None
    email: str
    language: str = "en"


class SubmissionFinding(BaseModel):
    """One finding as the supplier sees it: the English sentence and the parameters it was written with,
    so it can be said in the supplier's language (histories from before carry none: English)."""

    code: str
    severity: str
    sheet: Optional[str] = None
    cell: Optional[str] = None
    message: str
    params: Optional[dict[str, str]] = None


class TimelineEntry(BaseModel):
    seq: int
    at: datetime
    kind: str  # requested, reminder_sent, submission_received, correction_requested, escalated, note, ...
    state: Optional[str] = None
    actor: Optional[str] = None
    reason: Optional[str] = None
    data: dict[str, Any] = Field(default_factory=dict)


class SubmissionSummary(BaseModel):
    """What the workflow keeps about each submission (the full result lives in the database)."""

    submission_id: str
    file_sha256: str
    filename: Optional[str] = None
    purpose: Literal["declaration", "product_level"] = "declaration"
    round: int = 0
    received_at: datetime
    verdict: str  # valid / invalid / unreadable (cmrt), or accepted / rejected by hand
    error_count: int = 0
    high_risk_smelters: int = 0
    declaration_scope: Optional[str] = None  # company / product / user_defined
    program_strength: Optional[str] = None
    manual_decision: Optional[Literal["accepted", "rejected"]] = None
    update_id: Optional[str] = None  # the Update that delivered it (a duplicate delivery gets this verdict)


class ActionAck(BaseModel):
    """What a compliance action Update returns."""

    state: SurveyState | str
    message: str


# --- Survey workflow -----------------------------------------------------------------------------


class Reopen(BaseModel):
    """Compliance rejects the declaration a closed survey accepted: a new run of the survey starts from the
    closed run's state and opens a correction round for this reason (outreach.review.reopen_survey)."""

    submission_id: str
    by: str
    reason: str


class SurveyInput(BaseModel):
    campaign_id: str
    campaign_year: int
    supplier_id: str
    supplier_name: str
    contact: Contact
    commodity_manager_name: Optional[str] = None
    commodity_manager_email: Optional[str] = None
    vp_email: str
    compliance_email: str
    spend: float = 0.0
    policy: CampaignPolicy = Field(default_factory=CampaignPolicy.annual)
    company_name: str = "Example Manufacturing Inc."
    # The template the campaign asks for (models.facts.template_kind), carried into the check and the emails.
    template_kind: str = "CMRT"
    minerals: list[str] = Field(default_factory=list)
    # Upsert the custom search attributes (campaign, supplier, state, outcome). They must be registered
    # on the namespace (`outreach up` and the compose file do); tests on the time-skipping server, which
    # has none registered, pass False.
    search_attributes: bool = True
    # Continue-as-new also past this many history events (tests; production follows Temporal's suggestion).
    continue_as_new_at_events: Optional[int] = None
    # Set only by continue-as-new: the whole state of the previous run (never set it by hand).
    carried: Optional["SurveyCarry"] = None
    # Set only by a reopen (with `carried`, the closed run's state); cleared once the run has applied it.
    reopen: Optional[Reopen] = None

    @property
    def survey_id(self) -> str:
        return survey_workflow_id(self.campaign_id, self.supplier_id)


class SurveyCarry(BaseModel):
    """The survey's state, carried across continue-as-new (and the source of the `status` query)."""

    state: SurveyState = SurveyState.requested
    outcome: Optional[SurveyOutcome] = None
    contact: Contact
    contacts_used: int = 1  # how many contacts this survey has had (keys the re-sends)
    seq: int = 0  # the read model's event counter (every recorded transition takes the next number)
    requested_at: Optional[datetime] = None
    due_at: Optional[datetime] = None
    # Pausing (by hand, or by a bounce) freezes the clock; resuming shifts every pending step by the pause.
    paused: bool = False
    bounced: bool = False
    frozen_since: Optional[datetime] = None
    phase_started_at: Optional[datetime] = None  # when the current waiting phase began (shifted by pauses)
    phase_entry_done: bool = False  # the message that opens the current phase was sent
    # Added to the correction or product-level window by the compliance team (release "one-truth").
    window_extended_by: timedelta = timedelta(0)
    # A product-level or user-defined declaration with high-risk smelters held for the compliance team's
    # risk review (policy high_risk_on_product_scope = "review"): the survey waits in risk_review.
    risk_review_open: bool = False
    risk_reviews: int = 0
    reminders_sent: int = 0  # in the current waiting phase
    chase_reminders_sent: int = 0
    chases: int = 0  # times the due date passed (an extension can start a second chase)
    manual_reminders: int = 0
    total_reminders: int = 0  # every reminder of the survey (phases, overdue, by hand): the read model's count
    bounces: int = 0
    correction_round: int = 0
    submissions: list[SubmissionSummary] = Field(default_factory=list)
    last_findings: list[SubmissionFinding] = Field(default_factory=list)
    guidance_sent: bool = False
    escalations: int = 0
    escalation_reason: Optional[str] = None
    open_escalation_id: Optional[str] = None
    caps: int = 0
    open_cap_id: Optional[str] = None
    cap_reason: Optional[str] = None
    first_submission_reported: bool = False
    timeline: list[TimelineEntry] = Field(default_factory=list)
    processed_update_ids: list[str] = Field(default_factory=list)
    last_supplier_message: Optional[dict[str, Any]] = None  # template + context, re-sent to a new contact
    # Messages queued by Updates for the run loop to send ({step, template, n, extra}), and payloads to
    # forward to the open child ({signal, payload}).
    pending: list[dict[str, Any]] = Field(default_factory=list)
    forward: list[dict[str, Any]] = Field(default_factory=list)


SurveyInput.model_rebuild()


class SurveyResult(BaseModel):
    survey_id: str
    outcome: SurveyOutcome
    closed_at: datetime
    submissions: int
    correction_rounds: int


class SurveyStatus(BaseModel):
    """The `status` query: where the survey is, what happens next and when, and the whole timeline."""

    survey_id: str
    campaign_id: str
    supplier_id: str
    state: SurveyState
    outcome: Optional[SurveyOutcome] = None
    contact: Contact
    paused: bool
    bounced: bool
    correction_round: int
    reminders_sent: int
    requested_at: Optional[datetime] = None
    due_at: Optional[datetime] = None
    # By when the supplier must act in the current step (models.facts.deadlines.answer_by).
    answer_by: Optional[datetime] = None
    next_step: Optional[str] = None
    next_step_at: Optional[datetime] = None
    # Set once the child runs (an Update sent to it right away finds it); None while it starts.
    open_cap_id: Optional[str] = None
    open_escalation_id: Optional[str] = None
    submissions: list[SubmissionSummary] = Field(default_factory=list)
    last_findings: list[SubmissionFinding] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)


# --- Survey Updates --------------------------------------------------------------------------------


class SubmitCmrt(BaseModel):
    """Update `submit`: a stored workbook (by hash) answers the survey."""

    file_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    filename: Optional[str] = None
    channel: Literal["portal", "cli", "email", "api"] = "portal"
    submitted_by: Optional[str] = None
    purpose: Literal["declaration", "product_level"] = "declaration"


class SubmissionVerdict(BaseModel):
    submission_id: str
    verdict: str  # valid / invalid / unreadable
    findings: list[SubmissionFinding] = Field(default_factory=list)
    accepted: bool  # True when the submission moved the survey forward (valid, risk review passed)
    next_step: str  # closed, correction_requested, product_level_requested, corrective_action, escalated...
    message: str  # one sentence for the supplier
    state: SurveyState
    correction_round: int = 0


class ComplianceAction(BaseModel):
    """Updates `pause_reminders`, `resume_reminders`, `remind_now`: who did it and why."""

    by: str
    reason: str = ""


class ExtendDeadline(BaseModel):
    """Update `extend_deadline`: a new date by which the supplier must answer, later than the current one and
    in the future: the due date while the first answer is awaited, the end of the correction or product-level
    window in those states (surveys started since release "one-truth")."""

    new_due_at: datetime
    by: str
    reason: str = ""


class ReplaceContact(BaseModel):
    """Update `replace_contact`: the supplier's new contact; clears a bounce, becomes the supplier's primary
    contact in the read model, and receives the current step's message (surveys since "one-truth"; before,
    only after a bounce, and the last message sent)."""

    email: str
    name: Optional[str] = None
    language: str = "en"
    by: str
    reason: str = ""


class MailBounced(BaseModel):
    """Signal `mail_bounced`: a relay reported, after accepting it, that a message to ``email`` cannot be
    delivered (a hard bounce read from the bounce mailbox, outreach/bounces/). When it is the survey's
    contact, the survey pauses as bounced and tells the compliance team; ``fallback`` (the supplier's next
    contact that has not bounced) then receives the current step's message."""

    email: str
    detail: str = ""
    message_id: Optional[str] = None
    bounce_id: int = 0
    fallback: Optional[Contact] = None


class RiskDecision(BaseModel):
    """Update `decide_risk`: the compliance team's risk review of a product-level or user-defined declaration
    that lists high-risk smelters (policy ``high_risk_on_product_scope = "review"``). ``accept``: the risk is
    acceptable as declared, the survey closes valid; ``corrective_action``: the supplier must send a plan."""

    decision: Literal["accept", "corrective_action"]
    by: str
    reason: str = Field(min_length=1)


class AddNote(BaseModel):
    text: str = Field(min_length=1)
    by: str


class ManualReview(BaseModel):
    """Updates `accept_submission` / `reject_submission`: overrule the check on the latest submission."""

    submission_id: str
    by: str
    reason: str = Field(min_length=1)


class Withdraw(BaseModel):
    by: str
    reason: str = ""


# --- Corrective action plan (child workflow) -------------------------------------------------------


class CapInput(BaseModel):
    cap_id: str
    survey_id: str
    campaign_id: str
    supplier_id: str
    supplier_name: str
    contact: Contact
    compliance_email: str
    reason: str  # high_risk_confirmed, no_product_level, vp_decision, ...
    policy: CampaignPolicy
    company_name: str = "Example Manufacturing Inc."
    continue_as_new_at_events: Optional[int] = None  # as SurveyInput's (tests)
    carried: Optional["CapCarry"] = None


class PlannedAction(BaseModel):
    description: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    target_date: datetime


class CorrectiveActionState(BaseModel):
    number: int
    description: str
    owner: str
    target_date: datetime
    status: CorrectiveActionStatus = CorrectiveActionStatus.open
    status_note: Optional[str] = None
    reported_at: Optional[datetime] = None
    verified_at: Optional[datetime] = None
    verified_by: Optional[str] = None
    reminder_before_sent: bool = False
    reminders_after_sent: int = 0
    review_reminders_sent: int = 0


class CapCarry(BaseModel):
    state: Literal["requested", "in_progress", "closed", "overdue", "refused", "cancelled"] = "requested"
    opened_at: Optional[datetime] = None
    plan_submitted_at: Optional[datetime] = None
    plan_reminders_sent: int = 0
    plan_due_at: Optional[datetime] = None  # set when the compliance team extended the plan's deadline
    actions: list[CorrectiveActionState] = Field(default_factory=list)
    contact: Optional[Contact] = None
    contact_bounced: bool = False
    bounces: int = 0
    processed_update_ids: list[str] = Field(default_factory=list)
    opened: bool = False


CapInput.model_rebuild()


class SubmitPlan(BaseModel):
    """CAP Update `submit_plan`: the supplier's actions, each with an owner and a target date."""

    actions: list[PlannedAction] = Field(min_length=1)
    submitted_by: Optional[str] = None


class ActionStatusReport(BaseModel):
    """CAP Update `report_action_status`: the supplier says where an action stands."""

    number: int
    status: Literal["in_progress", "reported_done", "refused"]
    note: str = ""
    reported_by: Optional[str] = None


class VerifyAction(BaseModel):
    """CAP Update `verify_action` (also accepted by the survey and forwarded): the team checked closure."""

    number: int
    verified_by: str
    note: str = ""


class CapResult(BaseModel):
    cap_id: str
    status: Literal["closed", "overdue", "refused", "cancelled"]
    reason: Optional[str] = None
    actions: list[CorrectiveActionState] = Field(default_factory=list)


class CapStatus(BaseModel):
    cap_id: str
    survey_id: str
    state: str
    actions: list[CorrectiveActionState]
    next_step: Optional[str] = None
    next_step_at: Optional[datetime] = None


# --- Escalation to the Supply Chain VP (child workflow) -------------------------------------------

EscalationReason = Literal["non_responsive", "invalid_uncorrected", "cap_overdue", "cap_refused"]


class EscalationInput(BaseModel):
    escalation_id: str
    survey_id: str
    campaign_id: str
    supplier_id: str
    supplier_name: str
    reason: EscalationReason
    vp_email: str
    compliance_email: str
    supplier_contact: Optional[Contact] = None  # None when the contact bounced: no supplier notice
    policy: CampaignPolicy
    company_name: str = "Example Manufacturing Inc."
    processed_update_ids: list[str] = Field(default_factory=list)


class VpDecision(BaseModel):
    """Escalation Update `decide` (also accepted by the survey and forwarded)."""

    decision: Decision
    decided_by: str = Field(min_length=1)
    reason: str = ""


class EscalationResult(BaseModel):
    escalation_id: str
    decision: Optional[Decision] = None  # None: the VP did not decide before the reminders ran out
    decided_by: Optional[str] = None
    decided_at: Optional[datetime] = None
    reason: Optional[str] = None


class EscalationStatus(BaseModel):
    escalation_id: str
    survey_id: str
    reason: str
    opened_at: Optional[datetime] = None
    reminders_sent: int
    decision: Optional[Decision] = None
    decided_by: Optional[str] = None
    decided_at: Optional[datetime] = None
    next_step: Optional[str] = None
    next_step_at: Optional[datetime] = None

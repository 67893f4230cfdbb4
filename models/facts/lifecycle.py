"""The survey lifecycle's decisions: what happens next and when, where a submission takes the survey, which
actions the survey takes in which state (and the sentence that says why not), what the supplier is told.

Pure: the workflow's carried state (``models.survey.SurveyCarry``: any object with its attributes), the
campaign's policy and plain values in, values out. No Temporal, no I/O, no clock: the time is an argument.
The survey workflow (workflows/survey.py) carries the decisions out (timers, emails, children, the read
model); a release of the workflow that changed a decision is an argument here (``one_truth``,
``true_outcome``), so a run recorded before it takes its old path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Optional

from models.enums import Decision, SurveyOutcome, SurveyState
from models.facts.correction import correction_request, day
from models.facts.deadlines import answer_by, window_ends
from models.facts.survey import effective_verdict, has_valid_declaration, outcome_if_lapsed, outcome_when_plan_closes
from models.facts.template_kind import template_context
from models.policy import CampaignPolicy
from models.survey import SubmissionVerdict, SurveyStatus

# --- the states ---------------------------------------------------------------------------------------

# The states in which the survey takes a declaration (models/survey.py, "Rules callers can rely on").
OPEN_FOR_DECLARATION = frozenset({SurveyState.requested, SurveyState.awaiting_response, SurveyState.chasing,
                                  SurveyState.correction_requested})
# A late answer is still welcome while the VP has not decided on a non-response.
LATE_ANSWER_REASONS = frozenset({"non_responsive"})
# The states in which the survey waits for the supplier on a schedule (reminders, a deadline).
WAITING_STATES = frozenset({SurveyState.awaiting_response, SurveyState.chasing, SurveyState.correction_requested,
                            SurveyState.product_level_requested})
# The waiting states whose deadline is the end of a window (models.facts.deadlines.window_ends).
WINDOW_STATES = (SurveyState.correction_requested, SurveyState.product_level_requested)
# The states whose due date moves with a pause (the first answer's).
FIRST_ANSWER_WAITING = (SurveyState.awaiting_response, SurveyState.chasing)
# The states in which the compliance team may extend the first answer's due date (every release).
DUE_DATE_STATES = (SurveyState.requested, SurveyState.awaiting_response, SurveyState.chasing)
# The outcome a case kept when the VP let its escalation lapse, before release "true-outcome" (since then:
# models.facts.survey.outcome_if_lapsed).
PROVISIONAL_OUTCOME = {
    "non_responsive": SurveyOutcome.non_responsive,
    "invalid_uncorrected": SurveyOutcome.invalid_uncorrected,
    "cap_overdue": SurveyOutcome.non_responsive,
    "cap_refused": SurveyOutcome.non_responsive,
}
# The outcome of a VP's decision that closes the survey.
DECISION_OUTCOME = {Decision.suspend: SurveyOutcome.suspended, Decision.disengage: SurveyOutcome.disengaged,
                    Decision.waive: SurveyOutcome.waived}
# Where a replaced contact is sent the current step's message again: the step and template that state what
# the supplier must do now (a reminder is not enough for someone who never saw the request).
CURRENT_STEP_MESSAGE = {
    SurveyState.awaiting_response: ("request", "request"),
    SurveyState.chasing: ("overdue_reminder", "overdue_reminder"),
    SurveyState.correction_requested: ("correction_request", "correction_request"),
    SurveyState.product_level_requested: ("product_level_request", "product_level_request"),
}
NEW_CONTACT = "-to-new-contact"


def frozen(s: Any) -> bool:
    """The survey's clock stands still: reminders paused by hand, or the contact's address bounced."""
    return bool(s.paused or s.bounced)


def may_continue_as_new(state: SurveyState) -> bool:
    """The states in which the run loop may hand over to a new run (a waiting state; `requested` while the
    request is undelivered)."""
    return state in WAITING_STATES or state == SurveyState.requested


def phase_request_step(state: SurveyState) -> Optional[str]:
    """The message (step and template) that opens a window state: correction_request, product_level_request."""
    if state in WINDOW_STATES:
        return state.value.replace("_requested", "_request")
    return None


# --- the clock ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestClock:
    """The request's clock: it starts when the request is sent (since "delivery-clock": delivered)."""

    requested_at: datetime
    phase_started_at: datetime
    due_at: datetime


def request_clock(start: datetime, policy: CampaignPolicy, due_at: Optional[datetime] = None) -> RequestClock:
    """Reminders at the policy's offsets and the due date after ``start``; a due date already set later (the
    compliance team extended it meanwhile) is kept."""
    return RequestClock(requested_at=start, phase_started_at=start,
                        due_at=max(due_at or start, start + policy.response_due))


@dataclass(frozen=True)
class Thaw:
    """The clock resumes: every pending step moves by the time it stood still."""

    shift: timedelta
    phase_started_at: Optional[datetime]
    due_at: Optional[datetime]


def thaw(s: Any, now: datetime) -> Optional[Thaw]:
    """The survey's clock after a pause or a bounce ends, or None when something still holds it."""
    if frozen(s) or s.frozen_since is None:
        return None
    delta = now - s.frozen_since
    phase = s.phase_started_at + delta if s.phase_started_at else s.phase_started_at
    due = s.due_at + delta if s.due_at and s.state in FIRST_ANSWER_WAITING else s.due_at
    return Thaw(shift=delta, phase_started_at=phase, due_at=due)


def grace_ends(s: Any, policy: CampaignPolicy) -> Optional[datetime]:
    """Past the due date, when the case goes to the Supply Chain VP."""
    return s.due_at + policy.grace_period if s.due_at else None


def survey_answer_by(s: Any, policy: CampaignPolicy) -> Optional[datetime]:
    """The date the supplier must act by now (models.facts.deadlines.answer_by over the carried state)."""
    return answer_by(s.state, due_at=s.due_at, phase_started_at=s.phase_started_at, policy=policy,
                     extended_by=s.window_extended_by)


def survey_window_ends(s: Any, policy: CampaignPolicy) -> Optional[datetime]:
    return window_ends(s.state, s.phase_started_at, policy, s.window_extended_by)


# --- what happens next and when -------------------------------------------------------------------------

# What a scheduled step does (the workflow carries it out).
REMIND, CHASE, OVERDUE_REMINDER, CORRECTION_REMINDER = "remind", "chase", "overdue_reminder", "correction_reminder"
ESCALATE, OPEN_CAP = "escalate", "open_cap"


@dataclass(frozen=True)
class NextStep:
    name: str  # as the status query and the read model show it
    at: datetime
    action: str  # REMIND, CHASE, OVERDUE_REMINDER, CORRECTION_REMINDER, ESCALATE, OPEN_CAP
    reason: Optional[str] = None  # the escalation's or the plan's reason


def next_step(s: Any, policy: CampaignPolicy) -> Optional[NextStep]:
    """The next scheduled step of a waiting state (the earliest; the first listed on a tie), or None."""
    p = policy
    start = s.phase_started_at
    steps: list[NextStep] = []
    if s.state in FIRST_ANSWER_WAITING:
        if s.reminders_sent < len(p.reminder_offsets):
            at = start + p.reminder_offsets[s.reminders_sent]
            if at < s.due_at:
                steps.append(NextStep(f"reminder {s.reminders_sent + 1}", at, REMIND))
        if s.state == SurveyState.awaiting_response:
            steps.append(NextStep("due date: the commodity manager chases", s.due_at, CHASE))
        else:
            escalate_at = s.due_at + p.grace_period
            nxt = s.due_at + p.chase_reminder_every * (s.chase_reminders_sent + 1)
            if nxt < escalate_at:
                steps.append(NextStep(f"overdue reminder {s.chase_reminders_sent + 1}", nxt, OVERDUE_REMINDER))
            steps.append(NextStep("escalation to the Supply Chain VP", escalate_at, ESCALATE, "non_responsive"))
    elif s.state == SurveyState.correction_requested:
        if s.reminders_sent < len(p.correction_reminder_offsets):
            steps.append(NextStep(f"correction reminder {s.reminders_sent + 1}",
                                  start + p.correction_reminder_offsets[s.reminders_sent], CORRECTION_REMINDER))
        steps.append(NextStep("correction window ends: escalation", survey_window_ends(s, p), ESCALATE,
                              "invalid_uncorrected"))
    elif s.state == SurveyState.product_level_requested:
        steps.append(NextStep("no product-level CMRT: corrective action plan", survey_window_ends(s, p), OPEN_CAP,
                              "no_product_level"))
    return min(steps, key=lambda st: st.at) if steps else None


def describe_next(s: Any, policy: CampaignPolicy) -> tuple[Optional[str], Optional[datetime]]:
    """The next step and its time, as the status query and the read model show it."""
    if s.state == SurveyState.closed:
        return None, None
    if s.state == SurveyState.corrective_action:
        return f"corrective action plan {s.open_cap_id}", None
    if s.state == SurveyState.escalated:
        return f"decision of the Supply Chain VP ({s.open_escalation_id})", None
    if s.state == SurveyState.risk_review and s.risk_review_open:
        return "risk review by the compliance team", None
    if frozen(s):
        return ("waiting for a new contact" if s.bounced else "reminders paused"), None
    nxt = next_step(s, policy) if s.state in WAITING_STATES else None
    return (nxt.name, nxt.at) if nxt else (None, None)


def chase_step(step: str, chases: int) -> str:
    """A deadline extended past a chase starts a new chase: its messages need keys of their own."""
    return step if chases <= 1 else f"{step}-{chases}"


# What extending a deadline moves (extension_kind).
DUE_DATE, WINDOW, PLAN = "due_date", "window", "plan"


def extension_kind(state: SurveyState) -> str:
    """A deadline extension moves the first answer's due date, the end of a correction or product-level
    window, or (forwarded to the plan's own workflow) an open plan's deadline."""
    if state in WINDOW_STATES:
        return WINDOW
    if state == SurveyState.corrective_action:
        return PLAN
    return DUE_DATE


def why_not_extend_in_this_run(kind: str, *, one_truth: bool) -> Optional[str]:
    """A window or a plan's deadline can be extended since release "one-truth": older runs refuse it."""
    if kind == DUE_DATE or one_truth:
        return None
    if kind == PLAN:
        return "this survey started before a plan's deadline could be extended through it"
    return "this survey started before deadlines could be extended in this step"


def extension_reopens(s: Any, new_due_at: datetime, now: datetime) -> bool:
    """A due date moved into the future while the commodity manager chases: the survey waits again."""
    return s.state == SurveyState.chasing and new_due_at > now


# --- what the supplier is told --------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A message to send: its step (the idempotency key's part), its template and what it states."""

    step: str
    template: str
    extra: dict = field(default_factory=dict)


def correction_extra(s: Any, policy: CampaignPolicy) -> dict:
    """What a correction request (or its reminder) says: models.facts.correction, the deadline from the
    survey's state (the correction window's end, with any extension)."""
    last = s.submissions[-1] if s.submissions else None
    # A rejection by hand asks for the reviewer's point, not for the file's findings.
    count = last.error_count if last is not None and last.verdict != "rejected" else None
    req = correction_request(s.last_findings, deadline=window_ends(
        SurveyState.correction_requested, s.phase_started_at, policy, s.window_extended_by),
        round=s.correction_round, max_rounds=policy.max_correction_rounds, error_count=count)
    ctx = req.context()
    return {"correction": ctx, "round": req.round, "max_rounds": req.max_rounds, "window_ends": ctx["deadline"]}


def product_level_extra(s: Any, policy: CampaignPolicy) -> dict:
    """What a product-level request says: the high-risk smelters found and the window's end."""
    high = s.submissions[-1].high_risk_smelters if s.submissions else 0
    return {"high_risk_smelters": high, "window_ends": day(window_ends(
        SurveyState.product_level_requested, s.phase_started_at, policy, s.window_extended_by))}


def phase_extra(s: Any, policy: CampaignPolicy) -> dict:
    """What the message that opens a window state says."""
    if s.state == SurveyState.correction_requested:
        return correction_extra(s, policy)
    return product_level_extra(s, policy)


def reminder_extra(n: int, policy: CampaignPolicy) -> dict:
    """The n-th reminder to answer: firmer each time, the last one says so."""
    return {"firmness": n, "final": n == len(policy.reminder_offsets)}


def overdue_extra(s: Any, policy: CampaignPolicy) -> dict:
    return {"grace_ends": day(grace_ends(s, policy))}


def manual_reminder(s: Any, policy: CampaignPolicy) -> Message:
    """A reminder the compliance team sends by hand: to correct while a correction is requested, else to
    answer."""
    if s.state == SurveyState.correction_requested:
        return Message("manual_reminder", "correction_reminder", correction_extra(s, policy))
    return Message("manual_reminder", "reminder", {"firmness": max(1, s.reminders_sent), "final": False})


def current_step_message(s: Any, policy: CampaignPolicy) -> Optional[Message]:
    """The message that states what the supplier must do now, with today's facts (None when the survey
    waits on no one at the supplier: a review, a plan (its own workflow tells the new contact), the VP)."""
    if s.state not in CURRENT_STEP_MESSAGE or (s.state == SurveyState.awaiting_response and s.requested_at is None):
        return None
    step, template = CURRENT_STEP_MESSAGE[s.state]
    if s.state in WINDOW_STATES:
        extra = phase_extra(s, policy)
    elif s.state == SurveyState.chasing:
        extra = overdue_extra(s, policy)
    else:
        extra = {}
    return Message(step, template, extra)


def message_for_new_contact(s: Any, policy: CampaignPolicy, *, was_bounced: bool, one_truth: bool) -> Optional[Message]:
    """What a replaced contact is sent (step suffixed ``-to-new-contact``). Since "one-truth": the current
    step's message; before: the last message, again, when the old address bounced."""
    if one_truth:
        current = current_step_message(s, policy)
        if current is None:
            return None
        return Message(current.step + NEW_CONTACT, current.template, current.extra)
    if was_bounced and s.last_supplier_message and s.state != SurveyState.closed:
        msg = s.last_supplier_message
        return Message(msg["step"].split(NEW_CONTACT)[0] + NEW_CONTACT, msg["template"], msg.get("extra", {}))
    return None


def closing_message(outcome: Optional[SurveyOutcome], last_event: Optional[str]) -> Optional[Message]:
    """What the supplier hears as the survey closes: accepted, withdrawn, or (a plan the VP required closed
    without a valid declaration) that the plan is done (step ``cap_closed``, since "closing-notice-by-survey")."""
    if outcome in (SurveyOutcome.valid, SurveyOutcome.valid_with_cap):
        return Message("accepted", "accepted", {"with_cap": outcome == SurveyOutcome.valid_with_cap})
    if outcome == SurveyOutcome.withdrawn:
        return Message("withdrawn", "withdrawn")
    if last_event == "corrective_action_closed":
        return Message("cap_closed", "accepted", {"with_cap": True, "cap_closed": True})
    return None


def email_context(inp: Any, s: Any, policy: CampaignPolicy, extra: Optional[dict] = None) -> dict[str, Any]:
    """What every email of the survey may state (its template picks): the company, the supplier, the
    contact, the due date, the round."""
    ctx = {
        "company_name": inp.company_name, "program_name": f"{inp.company_name} Responsible Minerals Program",
        "supplier_name": inp.supplier_name, "supplier_id": inp.supplier_id, "campaign_id": inp.campaign_id,
        "campaign_year": inp.campaign_year, "contact_name": s.contact.name or "", "contact_email": s.contact.email,
        "language": s.contact.language, "due_date": day(s.due_at), "compliance_email": inp.compliance_email,
        "correction_round": s.correction_round, "max_rounds": policy.max_correction_rounds,
        **template_context(getattr(inp, "template_kind", "CMRT"), getattr(inp, "minerals", None)),
    }
    ctx.update(extra or {})
    return ctx


def supplier_text(text: str) -> str:
    """Marks a sentence the supplier reads: the catalogue (outreach.i18n) translates it where it is shown."""
    return text


VERDICT_MESSAGES = {
    SurveyState.closed: supplier_text("Thank you: your declaration is complete and valid."),
    SurveyState.correction_requested: supplier_text("Your file needs corrections: each finding below names the sheet and cell."),
    SurveyState.product_level_requested: supplier_text("Thank you. Your declaration lists high-risk smelters: please "
                                                       "send a product-level CMRT for the products you supply to us."),
    SurveyState.corrective_action: supplier_text("A corrective action plan is needed; you will receive a request by email."),
    SurveyState.risk_review: supplier_text("Thank you. Your declaration lists smelters we must look at more closely; our "
                                           "compliance team is reviewing it and will contact you."),
    SurveyState.escalated: supplier_text("Your file still has errors after the last correction round; our compliance "
                                         "team will contact you."),
}
PRODUCT_LEVEL_NEEDS_CORRECTION = supplier_text("Your product-level file needs corrections: each finding below names the "
                                               "sheet and cell.")
RECEIVED = supplier_text("Thank you: your file was received.")


def verdict_message(state: SurveyState, *, purpose: str, accepted: bool) -> str:
    """What the supplier reads after a submission, from the state it led to."""
    if state == SurveyState.product_level_requested and purpose == "product_level" and not accepted:
        return PRODUCT_LEVEL_NEEDS_CORRECTION
    return VERDICT_MESSAGES.get(state, RECEIVED)


def verdict_of(s: Any, sub: Any) -> SubmissionVerdict:
    """The answer to a submission (also to a duplicate delivery of it): its verdict, the findings when it is
    the latest, where the survey now stands and what the supplier reads."""
    accepted = effective_verdict(sub) == "valid"
    findings = s.last_findings if s.submissions and s.submissions[-1].submission_id == sub.submission_id else []
    return SubmissionVerdict(submission_id=sub.submission_id, verdict=sub.verdict, findings=findings,
                             accepted=accepted, next_step=s.state.value,
                             message=verdict_message(s.state, purpose=sub.purpose, accepted=accepted),
                             state=s.state, correction_round=s.correction_round)


# --- a submission: which one it is, and where it takes the survey ---------------------------------------


def same_as_latest(s: Any, file_sha256: str, purpose: str) -> bool:
    """The same file sent again for the same purpose before anything moved on is the same submission (the
    identical file cannot get another verdict: answering it again would only burn a round)."""
    if not s.submissions:
        return False
    last = s.submissions[-1]
    return last.file_sha256 == file_sha256 and last.purpose == purpose


def submission_for_update(s: Any, update_id: str) -> Any:
    """The submission an Update delivered (the latest when none is recorded under its ID)."""
    for summary in reversed(s.submissions):
        if summary.update_id == update_id:
            return summary
    return s.submissions[-1]


# Where a submission takes the survey (AfterSubmission.action).
CLOSE = "close"  # closed, outcome valid
CORRECT = "correct"  # the next correction round
REQUEST_PRODUCT_LEVEL = "request_product_level"  # a product-level CMRT is requested
PRODUCT_LEVEL_AGAIN = "product_level_again"  # the product-level file was invalid: still requested
HOLD_FOR_REVIEW = "hold_for_review"  # the compliance team's risk review (since "one-truth", by policy)
# and OPEN_CAP, ESCALATE (above)


@dataclass(frozen=True)
class AfterSubmission:
    """Where a checked (or hand-reviewed) submission takes the survey."""

    action: str  # CLOSE, CORRECT, REQUEST_PRODUCT_LEVEL, PRODUCT_LEVEL_AGAIN, HOLD_FOR_REVIEW, OPEN_CAP, ESCALATE
    reason: Optional[str] = None  # the plan's or the escalation's reason; the closing event's kind
    through_risk_review: bool = False  # a valid declaration: the survey passes risk_review (recorded) first
    send_guidance: bool = False  # a weak program, told once per survey what a program needs
    by_reviewer: bool = False  # the hand review itself decided (its reviewer and reason go on record)

    @property
    def outcome(self) -> Optional[SurveyOutcome]:
        return SurveyOutcome.valid if self.action == CLOSE else None


def after_submission(sub: Any, *, correction_round: int, max_rounds: int, guidance_sent: bool,
                     high_risk_on_product_scope: str, one_truth: bool) -> AfterSubmission:
    """The rules in one place. A product-level CMRT: invalid, still requested; valid with high-risk smelters,
    a plan; valid without, closed valid. A declaration: invalid, the next correction round (escalated once
    the rounds are used up); valid, through the risk review: high-risk smelters on a company-level
    declaration ask for a product-level CMRT; on a product-level or user-defined one (since "one-truth")
    a plan, or the compliance team's review by policy; otherwise closed valid."""
    good = effective_verdict(sub) == "valid"
    high = sub.high_risk_smelters > 0
    if sub.purpose == "product_level":
        if not good:
            return AfterSubmission(PRODUCT_LEVEL_AGAIN, "product_level_invalid")
        if high:
            return AfterSubmission(OPEN_CAP, "high_risk_confirmed")
        return AfterSubmission(CLOSE, "risk_cleared")
    if not good:
        if correction_round >= max_rounds:
            return AfterSubmission(ESCALATE, "invalid_uncorrected")
        return AfterSubmission(CORRECT, "correction_requested")
    review = dict(through_risk_review=True, send_guidance=sub.program_strength == "weak" and not guidance_sent)
    if high and (sub.declaration_scope or "company") == "company":
        return AfterSubmission(REQUEST_PRODUCT_LEVEL, "product_level_requested", **review)
    if high and one_truth:
        # A product-level or user-defined declaration already covers what we buy: the risk stands. The
        # seeds' rule asks for a plan; a campaign may hold it for the compliance team's review instead.
        if high_risk_on_product_scope == "review":
            return AfterSubmission(HOLD_FOR_REVIEW, "risk_review_requested", **review)
        return AfterSubmission(OPEN_CAP, "high_risk_declared", **review)
    return AfterSubmission(CLOSE, "declaration_valid", **review)


def after_risk_decision(decision: str) -> AfterSubmission:
    """The compliance team's risk review: accepted, the survey closes valid; not accepted, a plan."""
    if decision == "accept":
        return AfterSubmission(CLOSE, "risk_accepted", by_reviewer=True)
    return AfterSubmission(OPEN_CAP, "high_risk_declared", by_reviewer=True)


def after_review(sub: Any, decision: str, prior: SurveyState, **rules: Any) -> AfterSubmission:
    """A submission accepted or rejected by hand (``rules``: after_submission's). Accepting one while a
    product-level CMRT is requested clears the risk; rejecting a product-level CMRT asks for a plan;
    otherwise the submission, with its new verdict, goes where any submission goes."""
    if decision == "accepted" and prior == SurveyState.product_level_requested:
        return AfterSubmission(CLOSE, "risk_cleared", by_reviewer=True)
    if decision == "rejected" and sub.purpose == "product_level":
        return AfterSubmission(OPEN_CAP, "product_level_rejected", by_reviewer=True)
    return after_submission(sub, **rules)


# --- escalations and plans: the outcome they hold --------------------------------------------------------


def escalation_outcome(reason: str, s: Any, *, true_outcome: bool) -> SurveyOutcome:
    """The outcome an escalation holds (what the case becomes if the VP does not decide). Since
    "true-outcome": what the supplier did (models.facts.survey.outcome_if_lapsed); before, by reason."""
    if true_outcome:
        return outcome_if_lapsed(reason, valid_declaration=has_valid_declaration(s.submissions, purpose="declaration"))
    return PROVISIONAL_OUTCOME[reason]


def plan_closed_outcome(s: Any, *, true_outcome: bool) -> SurveyOutcome:
    """A corrective action plan closed with every action verified (since "true-outcome":
    models.facts.survey.outcome_when_plan_closes)."""
    valid = has_valid_declaration(s.submissions, purpose="declaration")
    if true_outcome:
        return outcome_when_plan_closes(valid_declaration=valid, escalation_reason=s.escalation_reason)
    return (SurveyOutcome.valid_with_cap if valid else s.outcome) or SurveyOutcome.valid_with_cap


# What the VP's answer (or its absence) leads to (AfterEscalation.action).
LATE_DECISION = "late_decision"  # the survey moved on (a late answer) as the VP decided: on record only
ESCALATION_WITHDRAWN = "escalation_withdrawn"  # the supplier answered before the VP decided
NOTHING = "nothing"  # the survey was withdrawn: its own event says so
LAPSED = "lapsed"  # no decision: closed with the outcome the escalation held
PLAN_REQUIRED = "plan_required"  # the VP requires a corrective action plan
DECIDED = "decided"  # suspend, disengage, waive: closed with the decision's outcome


@dataclass(frozen=True)
class AfterEscalation:
    action: str
    outcome: Optional[SurveyOutcome] = None  # the closing outcome (LAPSED, DECIDED)


def after_escalation(s: Any, decision: Optional[Decision]) -> AfterEscalation:
    """Where the survey goes once its escalation ended (``decision``: the VP's, or None when the VP did not
    decide or the escalation was cancelled because the survey moved on)."""
    if s.state != SurveyState.escalated:  # withdrawn, or answered late
        if decision is not None:
            return AfterEscalation(LATE_DECISION)
        if s.state != SurveyState.closed or s.outcome != SurveyOutcome.withdrawn:
            return AfterEscalation(ESCALATION_WITHDRAWN)
        return AfterEscalation(NOTHING)
    if decision is None:
        return AfterEscalation(LAPSED, s.outcome)
    if decision == Decision.corrective_action:
        return AfterEscalation(PLAN_REQUIRED)
    return AfterEscalation(DECIDED, DECISION_OUTCOME[decision])


def plan_failed_reason(status: str) -> str:
    """Why a plan that did not close escalates: refused, or overdue (also a plan that ended without closing)."""
    return "cap_refused" if status == "refused" else "cap_overdue"


# --- the read model and the status query ---------------------------------------------------------------------------------------


def survey_row(s: Any, policy: CampaignPolicy, now: datetime) -> dict[str, Any]:
    """The survey's row in the read model as the carried state says it (activities.survey.SurveyColumns),
    written with every event: the dashboard, the portal, the CLI and the reports read it."""
    first, last = (s.submissions[0], s.submissions[-1]) if s.submissions else (None, None)
    next_name, next_at = describe_next(s, policy)
    return dict(
        next_step=next_name, next_step_at=next_at,
        outcome=s.outcome.value if s.outcome else None, contact_name=s.contact.name, contact_email=s.contact.email,
        language=s.contact.language, paused=s.paused, contact_bounced=s.bounced,
        correction_round=s.correction_round, reminders_sent=s.total_reminders,
        requested_at=s.requested_at, due_at=s.due_at, answer_by=survey_answer_by(s, policy),
        first_submission_at=first.received_at if first else None,
        last_submission_id=last.submission_id if last else None,
        program_strength=last.program_strength if last else None,
        declaration_scope=last.declaration_scope if last else None,
        closed_at=now if s.state == SurveyState.closed else None,
    )


def survey_status(inp: Any, s: Any, policy: CampaignPolicy, *, child_running: bool) -> SurveyStatus:
    """The status query's answer. A child's ID is shown once the child runs (callers send it Updates
    right away)."""
    next_name, next_at = describe_next(s, policy)
    return SurveyStatus(
        survey_id=inp.survey_id, campaign_id=inp.campaign_id, supplier_id=inp.supplier_id,
        state=s.state, outcome=s.outcome, contact=s.contact, paused=s.paused, bounced=s.bounced,
        correction_round=s.correction_round, reminders_sent=s.total_reminders, requested_at=s.requested_at,
        due_at=s.due_at, answer_by=survey_answer_by(s, policy), next_step=next_name, next_step_at=next_at,
        open_cap_id=s.open_cap_id if child_running else None,
        open_escalation_id=s.open_escalation_id if child_running else None,
        submissions=s.submissions, last_findings=s.last_findings, timeline=s.timeline)


# --- which actions the survey takes now, and why not ------------------------------------------------------


def _words(state: SurveyState) -> str:
    return state.value.replace("_", " ")


def why_not_open(s: Any) -> Optional[str]:
    if s.state == SurveyState.closed:
        return f"the survey is closed ({s.outcome.value.replace('_', ' ') if s.outcome else 'no outcome'})"
    return None


def why_not_submit(s: Any, purpose: str) -> Optional[str]:
    """A submission is taken while the survey waits for a declaration and, as a late answer, while a
    non-response escalation waits for the VP; a product-level CMRT only while one is requested."""
    state = s.state
    if purpose == "product_level":
        if state != SurveyState.product_level_requested:
            return f"no product-level CMRT is requested (the survey is {_words(state)})"
        return None
    if state in OPEN_FOR_DECLARATION or (state == SurveyState.escalated and s.escalation_reason in LATE_ANSWER_REASONS):
        return None
    return f"the survey does not take a declaration now (it is {_words(state)})"


def why_not_extend(s: Any, new_due_at: datetime, *, now: datetime, policy: CampaignPolicy,
                   windows: bool) -> Optional[str]:
    """A deadline can be extended while the survey waits for the supplier's first answer and (``windows``:
    since "one-truth") for a correction, a product-level CMRT or an open plan's actions; to a later date,
    in the future, with a time zone."""
    state = s.state
    in_window = windows and (state in WINDOW_STATES or (state == SurveyState.corrective_action and bool(s.open_cap_id)))
    if state not in DUE_DATE_STATES and not in_window:
        return ("a deadline can be extended while the survey waits for the supplier's answer, a correction "
                f"or a product-level CMRT (the survey is {_words(state)})")
    if new_due_at.tzinfo is None:
        return "new_due_at must carry a time zone"
    current = survey_answer_by(s, policy)
    if current and new_due_at <= current and state != SurveyState.corrective_action:
        return f"the new date must be later than the current one ({day(current)})"
    if new_due_at <= now:
        return "the new due date is in the past"
    return None


def why_not_pause(s: Any) -> Optional[str]:
    return why_not_open(s) or ("reminders are already paused" if s.paused else None)


def why_not_resume(s: Any) -> Optional[str]:
    return why_not_open(s) or (None if s.paused else "reminders are not paused")


def why_not_remind(s: Any) -> Optional[str]:
    if s.state not in WAITING_STATES or s.state == SurveyState.product_level_requested:
        return f"nothing to remind the supplier of (the survey is {_words(s.state)})"
    if s.bounced:
        return "the contact's address bounced: replace the contact first"
    return None


def why_not_replace_contact(s: Any, email: str) -> Optional[str]:
    closed = why_not_open(s)
    if closed:
        return closed
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or " " in email or "," in email:
        return f"not one email address: {email!r}"
    if email.lower() == s.contact.email.lower() and not s.bounced:
        return "that is already the contact"
    return None


def why_not_note(text: str) -> Optional[str]:
    return None if text.strip() else "a note needs text"


def why_not_decide_risk(s: Any, reason: str) -> Optional[str]:
    if s.state != SurveyState.risk_review or not s.risk_review_open:
        return f"no risk review is waiting (the survey is {_words(s.state)})"
    if not reason.strip():
        return "a risk decision needs a reason"
    return None


def why_not_review(s: Any, submission_id: str, decision: str) -> Optional[str]:
    """Only the latest submission, once, while a correction or a product-level CMRT is awaited (a rejection
    not while a correction is already requested)."""
    if not s.submissions or s.submissions[-1].submission_id != submission_id:
        return "only the latest submission can be reviewed by hand"
    last = s.submissions[-1]
    if last.manual_decision:
        return f"that submission was already {last.manual_decision} by hand"
    if s.state not in WINDOW_STATES:
        return f"the survey is {_words(s.state)}: nothing is waiting on this submission"
    if decision == "rejected" and s.state == SurveyState.correction_requested:
        return "that submission is already rejected: a correction is requested"
    return None


def why_not_withdraw(s: Any) -> Optional[str]:
    return why_not_open(s)


def why_not_verify(s: Any) -> Optional[str]:
    if s.state != SurveyState.corrective_action or not s.open_cap_id:
        return "no corrective action plan is open"
    return None


def why_not_decide(s: Any) -> Optional[str]:
    if s.state != SurveyState.escalated or not s.open_escalation_id:
        return "no escalation is waiting for a decision"
    return None

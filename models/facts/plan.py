"""A corrective action plan's decisions: what happens next and when, which Updates are refused and why,
where an Update takes the plan, what the plan's result is when it ends and what its emails say.

Pure: the plan workflow's carried state (``models.survey.CapCarry``: any object with its attributes), the
campaign's policy and plain values (the time, the Update's payload) in, values out. No Temporal, no I/O,
no clock. The plan workflow (workflows/corrective_action.py) carries the decisions out: timers, emails,
the read model, Updates and continue-as-new; a release of the workflow that changed a decision stays a
check in the workflow, its answer an argument here.

The schedule: the request (the supplier has ``cap_plan_window`` to submit its actions, reminded once
halfway); for each action a reminder ``cap_reminder_before_target`` before its target date and, past it,
every ``cap_reminder_after_target_every`` until ``cap_overdue_escalation`` past the target, when the plan
is overdue (the survey escalates); an action reported done reminds the compliance team to verify it every
``cap_review_every``. The plan closes when every action is verified; a refused action refuses the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Optional

from models.enums import CorrectiveActionStatus as Status
from models.facts.correction import day
from models.policy import CampaignPolicy
from models.survey import CapResult, CapStatus, CorrectiveActionState

# --- the states ---------------------------------------------------------------------------------------

# The plan waits (for the supplier's actions, their target dates, the team's verification) in these.
OPEN_STATES = ("requested", "in_progress")
# An action in one of these needs nothing more: no reminder, no report, no verification.
SETTLED = (Status.verified, Status.refused)
# An action in one of these is done.
DONE = (Status.verified,)


def is_open(c: Any) -> bool:
    return c.state in OPEN_STATES


def find_action(c: Any, number: int) -> Optional[Any]:
    """The plan's action with that number, or None."""
    return next((a for a in c.actions if a.number == number), None)


def plan_due(c: Any, policy: CampaignPolicy) -> datetime:
    """By when the plan's actions are due: the policy's window from the request, or a later date the
    compliance team set (extend_plan_deadline)."""
    return c.plan_due_at or c.opened_at + policy.cap_plan_window


# --- what happens next and when -------------------------------------------------------------------------

# What a scheduled step does (the workflow carries it out).
PLAN_REMINDER = "plan_reminder"  # the supplier is reminded, once, to submit its plan
BEFORE_TARGET = "before_target"  # an action's target date is near
AFTER_TARGET = "after_target"  # an action is past its target date
REVIEW_REMINDER = "review_reminder"  # the compliance team is reminded to verify an action reported done
OVERDUE = "overdue"  # the plan is overdue: it ends and the survey escalates


@dataclass(frozen=True)
class PlanStep:
    name: str  # as the status query shows it
    at: datetime
    action: str  # PLAN_REMINDER, BEFORE_TARGET, AFTER_TARGET, REVIEW_REMINDER, OVERDUE
    number: Optional[int] = None  # the action it is about


def steps(c: Any, policy: CampaignPolicy) -> list[PlanStep]:
    """Every step the plan has scheduled now, in the order they are listed (next_step takes the earliest)."""
    p = policy
    out: list[PlanStep] = []
    if c.state == "requested":
        if c.plan_reminders_sent == 0:
            out.append(PlanStep("plan reminder", c.opened_at + p.cap_plan_window / 2, PLAN_REMINDER))
        out.append(PlanStep("plan overdue", plan_due(c, p), OVERDUE))
    for a in c.actions:
        n = a.number
        if a.status in SETTLED:
            continue
        if a.status == Status.reported_done:
            at = a.reported_at + p.cap_review_every * (a.review_reminders_sent + 1)
            out.append(PlanStep(f"review reminder for action {n}", at, REVIEW_REMINDER, n))
            continue
        # No "due soon" reminder for a target set closer than the reminder's lead time.
        before = a.target_date - p.cap_reminder_before_target
        if not a.reminder_before_sent and before > (c.plan_submitted_at or c.opened_at):
            out.append(PlanStep(f"reminder before target of action {n}", before, BEFORE_TARGET, n))
        overdue_at = a.target_date + p.cap_overdue_escalation
        nxt = a.target_date + p.cap_reminder_after_target_every * (a.reminders_after_sent + 1)
        if nxt < overdue_at:
            out.append(PlanStep(f"overdue reminder for action {n}", nxt, AFTER_TARGET, n))
        out.append(PlanStep(f"action {n} overdue: escalation", overdue_at, OVERDUE, n))
    return out


def next_step(c: Any, policy: CampaignPolicy) -> Optional[PlanStep]:
    """The plan's next scheduled step (the earliest; the first listed on a tie), or None."""
    listed = steps(c, policy)
    return min(listed, key=lambda s: s.at) if listed else None


# --- where an Update takes the plan ---------------------------------------------------------------------


def planned_actions(planned: Iterable[Any]) -> list[CorrectiveActionState]:
    """The supplier's planned actions, numbered from 1, each open."""
    return [CorrectiveActionState(number=i + 1, description=a.description, owner=a.owner, target_date=a.target_date)
            for i, a in enumerate(planned)]


def state_after_report(c: Any, status: Status) -> str:
    """A refused action refuses the plan; any other report leaves it where it is."""
    return "refused" if status == Status.refused else c.state


def state_after_verify(c: Any) -> str:
    """The plan closes when every action is verified (``c``: with the action just verified)."""
    if c.actions and all(a.status == Status.verified for a in c.actions):
        return "closed"
    return c.state


# --- which Updates are refused, and why ----------------------------------------------------------------


def _words(state: str) -> str:
    return state.replace("_", " ")


def why_not_submit_plan(c: Any, planned: Iterable[Any], *, now: datetime) -> Optional[str]:
    """A plan is taken once, while it is requested; every target date with a time zone, in the future."""
    if c.state != "requested":
        return f"the plan is already {_words(c.state)}"
    for i, a in enumerate(planned, 1):
        if a.target_date.tzinfo is None:
            return f"action {i}: the target date needs a time zone"
        if a.target_date <= now:
            return f"action {i}: the target date is in the past"
    return None


def why_not_settle(c: Any, number: int) -> Optional[str]:
    """An action's status is reported, or the action verified, while the plan is in progress, for one of its
    actions that is neither verified nor refused."""
    if c.state != "in_progress":
        return f"the plan is {_words(c.state)}"
    a = find_action(c, number)
    if a is None:
        return f"the plan has no action {number}"
    if a.status in SETTLED:
        return f"action {a.number} is already {_words(a.status.value)}"
    return None


def why_not_report(c: Any, number: int) -> Optional[str]:
    return why_not_settle(c, number)


def why_not_verify(c: Any, number: int) -> Optional[str]:
    return why_not_settle(c, number)


def why_not_extend(c: Any, new_due_at: datetime, policy: CampaignPolicy) -> Optional[str]:
    """The plan's deadline is extended while the plan is awaited, to a later date with a time zone."""
    if c.state != "requested" or not c.opened:
        return f"the plan's deadline applies while the plan is awaited (the plan is {_words(c.state)})"
    if new_due_at.tzinfo is None:
        return "new_due_at must carry a time zone"
    current = plan_due(c, policy)
    if new_due_at <= current:
        return f"the new date must be later than the current one ({day(current)})"
    return None


# --- what the plan's result is when it ends ---------------------------------------------------------------


def result_reason(c: Any) -> Optional[str]:
    """Why a plan did not close: overdue (no plan in time, or the actions not done in time) or refused."""
    if c.state == "overdue":
        if not c.actions:
            return "plan not submitted in time"
        return "overdue actions: " + ", ".join(str(a.number) for a in c.actions if a.status not in DONE)
    if c.state == "refused":
        return "; ".join(f"action {a.number}: {a.status_note or 'refused'}" for a in c.actions
                         if a.status == Status.refused)
    return None


def plan_result(cap_id: str, c: Any) -> CapResult:
    """The plan's result as it ends: closed, overdue, refused or cancelled, with why not closed."""
    return CapResult(cap_id=cap_id, status=c.state, reason=result_reason(c), actions=c.actions)


def plan_status(cap_id: str, survey_id: str, c: Any, nxt: Optional[PlanStep]) -> CapStatus:
    """The status query's answer (``nxt``: the step the plan waits for; none once it has ended)."""
    nxt = nxt if is_open(c) else None
    return CapStatus(cap_id=cap_id, survey_id=survey_id, state=c.state, actions=c.actions,
                     next_step=nxt.name if nxt else None, next_step_at=nxt.at if nxt else None)


# --- what the plan's emails say ---------------------------------------------------------------------------

SUPPLIER, COMPLIANCE = "supplier", "compliance"


@dataclass(frozen=True)
class PlanMessage:
    """A message to send: its step and number (the idempotency key's parts), its template, to whom
    (SUPPLIER: the plan's contact, unless the address bounced; COMPLIANCE: the compliance team) and what
    it states beyond the plan's context."""

    step: str
    template: str
    n: int
    to: str = SUPPLIER
    extra: dict = field(default_factory=dict)


def _action(a: Any) -> dict:
    return a.model_dump(mode="json")


def request_message(c: Any, policy: CampaignPolicy) -> PlanMessage:
    return PlanMessage("cap_request", "cap_request", 0, extra={"plan_due": day(plan_due(c, policy))})


def plan_reminder_message(c: Any, policy: CampaignPolicy) -> PlanMessage:
    return PlanMessage("cap_plan_reminder", "cap_reminder", 1,
                       extra={"plan_reminder": True, "plan_due": day(plan_due(c, policy))})


def before_target_message(a: Any) -> PlanMessage:
    return PlanMessage(f"cap_reminder_a{a.number}", "cap_reminder", 0,
                       extra={"plan_reminder": False, "action": _action(a), "target": day(a.target_date)})


def after_target_message(a: Any, policy: CampaignPolicy) -> PlanMessage:
    """The n-th reminder past an action's target date (``a.reminders_after_sent``: n, this one counted)."""
    return PlanMessage(f"cap_overdue_a{a.number}", "cap_overdue", a.reminders_after_sent, extra={
        "action": _action(a), "target": day(a.target_date),
        "escalation_on": day(a.target_date + policy.cap_overdue_escalation)})


def review_reminder_message(a: Any) -> PlanMessage:
    """The n-th reminder to verify an action (``a.review_reminders_sent``: n, this one counted)."""
    return PlanMessage(f"cap_review_a{a.number}", "cap_review", a.review_reminders_sent, to=COMPLIANCE,
                       extra={"action": _action(a)})


def closed_message() -> PlanMessage:
    """Before release "closing-notice-by-survey" the plan thanked the supplier itself as it closed."""
    return PlanMessage("cap_closed", "accepted", 0, extra={"with_cap": True, "cap_closed": True})


def bounce_notice(c: Any, detail: Optional[str]) -> PlanMessage:
    """The compliance team hears that the contact's address bounced (``c.bounces``: this bounce counted)."""
    return PlanMessage("bounce_notice", "bounce_notice", c.bounces, to=COMPLIANCE, extra={
        "bounced_email": c.contact.email, "detail": detail or "", "state": "corrective_action"})


def email_context(inp: Any, c: Any, extra: Optional[dict] = None) -> dict[str, Any]:
    """What every email of the plan may state (its template picks): the company, the supplier, the contact,
    the plan's reason and its actions."""
    ctx = {
        "company_name": inp.company_name, "program_name": f"{inp.company_name} Responsible Minerals Program",
        "supplier_name": inp.supplier_name, "supplier_id": inp.supplier_id, "campaign_id": inp.campaign_id,
        "contact_name": c.contact.name or "", "language": c.contact.language, "cap_id": inp.cap_id,
        "reason": inp.reason, "actions": [_action(a) for a in c.actions],
    }
    ctx.update(extra or {})
    return ctx

"""The facts a supplier's scorecard is built from: plain records of one survey in, :class:`ScoreInputs` out.

Pure: no database, no Temporal, no clock (``as_of`` is given). ``outreach.scorecards`` reads the read
model into these records (with each submission's verdict after a person's decision, from
``models.facts.survey.effective_verdict``, and its smelters counted against the reference list) and
calls :func:`score_inputs`; ``outreach.scoring.score`` grades the result.

What counts:

* A submission's verdict is the check's, overruled by a person's accept or reject.
* A declaration whose only problem is a warning that needs a person (:data:`HAND_REVIEW_WARNINGS`, e.g.
  ``company_name_mismatch``: the file names another company) is not judged valid until a person accepts
  it; until then it is not the supplier's declaration either (its answers and smelters are not used).
* Data quality judges the declarations (product-level CMRTs are judged by the risk review): valid the
  first time, valid after n correction rounds, or no valid declaration (nothing readable, invalid and
  awaiting correction, uncorrected, awaiting a person's review).
* Program, smelters and scope come from the declaration that counts: a valid product-level CMRT, else the
  latest valid declaration, else the latest readable one (an invalid CMRT still says something).
* Corrective actions: a plan cancelled with the survey is not the supplier's doing; a plan past its
  window with no actions, or an action past its target date, is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Optional

from models.facts.survey import declaration_that_counts
from outreach.scoring import ScoreInputs

# Warnings a person must clear before a declaration counts as valid (cmrt.check's finding codes).
HAND_REVIEW_WARNINGS: frozenset[str] = frozenset({"company_name_mismatch"})
# Corrective action plan states (workflows/corrective_action.py).
OPEN_PLAN_STATES = frozenset({"requested", "in_progress"})


@dataclass(frozen=True)
class SmelterCounts:
    """A declaration's smelters, unique by CID, by RMAP status group (outreach.reports.smelters)."""

    conformant: int = 0
    active: int = 0
    not_enrolled: int = 0
    unknown_entities: int = 0
    high_risk: int = 0


@dataclass(frozen=True)
class SubmissionRecord:
    received_at: datetime
    verdict: Optional[str]  # after a person's decision: valid, invalid, unreadable (None: not checked yet)
    purpose: str = "declaration"  # or product_level
    round: int = 0
    accepted_by_hand: bool = False
    warnings: frozenset[str] = frozenset()  # codes of the check's warning findings
    readable: bool = True  # the check read it as a CMRT (it has a result)
    company_answers: Optional[dict[str, Optional[str]]] = None
    metals_in_scope: Optional[list[str]] = None
    smelters: SmelterCounts = field(default_factory=SmelterCounts)
    scope_level: Optional[str] = None  # product, user_defined, company (None: not stated)


@dataclass(frozen=True)
class ActionRecord:
    status: str  # open, in_progress, reported_done, verified, refused
    target_date: datetime


@dataclass(frozen=True)
class PlanRecord:
    state: str  # requested, in_progress, overdue, refused, closed, cancelled
    opened_at: datetime
    actions_due: Optional[datetime] = None  # when the supplier's actions are due (opened + plan window)
    actions: tuple[ActionRecord, ...] = ()


@dataclass(frozen=True)
class EscalationRecord:
    opened_at: datetime
    decision: Optional[str] = None


@dataclass(frozen=True)
class SurveyRecord:
    outcome: Optional[str] = None
    closed: bool = False
    due_at: Optional[datetime] = None
    first_submission_at: Optional[datetime] = None
    correction_round: int = 0
    scope_level: Optional[str] = None  # the survey's own reading of the declaration's scope


def awaiting_review(sub: SubmissionRecord) -> bool:
    """Valid by the check, but carrying a warning only a person can clear, and not accepted by one."""
    return sub.verdict == "valid" and not sub.accepted_by_hand and bool(sub.warnings & HAND_REVIEW_WARNINGS)


def counts_as_valid(sub: SubmissionRecord) -> bool:
    return sub.verdict == "valid" and not awaiting_review(sub)


def declaration_for_score(subs: Iterable[SubmissionRecord]) -> Optional[SubmissionRecord]:
    """The submission whose answers and smelters count (models.facts.survey.declaration_that_counts), a
    file waiting for a person's review set aside."""
    counted = declaration_that_counts(list(subs), has_result=lambda s: s.readable, held_for_review=awaiting_review)
    return counted.submission if counted else None


@dataclass(frozen=True)
class PlanStanding:
    status: str  # on_track, overdue, closed, refused
    actions_open: int
    actions_overdue: int
    actions_closed: int
    plans_awaiting: int  # plans still waiting for the supplier's actions


def plan_standing(plans: Iterable[PlanRecord], *, as_of: datetime) -> Optional[PlanStanding]:
    """The survey's corrective action plans as the score sees them; None when none counts."""
    counted = [p for p in plans if p.state != "cancelled"]
    if not counted:
        return None
    actions = [a for p in counted for a in p.actions]
    done = [a for a in actions if a.status == "verified"]
    pending = [a for a in actions if a.status not in ("verified", "refused")]
    overdue = [a for a in pending if a.target_date < as_of]
    awaiting = [p for p in counted if p.state in OPEN_PLAN_STATES and not p.actions]
    late_plan = any(p.actions_due is not None and p.actions_due < as_of for p in awaiting)
    if any(p.state == "refused" for p in counted) or any(a.status == "refused" for a in actions):
        status = "refused"
    elif overdue or late_plan or any(p.state == "overdue" for p in counted):
        status = "overdue"
    elif all(p.state == "closed" for p in counted):
        status = "closed"
    else:
        status = "on_track"
    return PlanStanding(status, len(pending), len(overdue), len(done), len(awaiting))


def _data_quality(survey: SurveyRecord, declarations: list[SubmissionRecord]) -> tuple[Optional[str], int]:
    if not declarations:
        return None, 0
    valid_at = next((n for n, s in enumerate(declarations) if counts_as_valid(s)), None)
    if valid_at == 0:
        return "valid_first_time", 0
    if valid_at is not None:
        return "corrected", max(declarations[valid_at].round, valid_at)
    if any(awaiting_review(s) for s in declarations):
        return "awaiting_review", len(declarations) - 1
    if all(not s.readable or s.verdict == "unreadable" for s in declarations):
        return "unreadable", len(declarations) - 1
    if survey.closed or (survey.outcome is not None and survey.outcome != "withdrawn"):
        return "uncorrected", len(declarations) - 1
    return "awaiting_correction", max(survey.correction_round, len(declarations))


def score_inputs(survey: SurveyRecord, submissions: list[SubmissionRecord], *, as_of: datetime,
                 escalations: Iterable[EscalationRecord] = (), plans: Iterable[PlanRecord] = ()) -> ScoreInputs:
    """The scorecard's inputs for one survey as of ``as_of`` (submissions in the order received)."""
    subs = sorted(submissions, key=lambda s: s.received_at)
    escalations = sorted(escalations, key=lambda e: e.opened_at)
    inputs = ScoreInputs(as_of=as_of, due_at=survey.due_at, final=survey.closed, outcome=survey.outcome,
                         escalated_at=escalations[0].opened_at if escalations else None)
    decided = [e for e in escalations if e.decision]
    if decided:
        inputs.decision = decided[-1].decision

    # Responsiveness: any file counts as an answer (what it is worth is data quality's business).
    first_at = survey.first_submission_at or (subs[0].received_at if subs else None)
    if first_at is not None:
        if any(e.opened_at < first_at for e in escalations):
            inputs.responsiveness = "after_escalation"
        elif survey.due_at is not None and first_at > survey.due_at:
            inputs.responsiveness = "late"
            inputs.days_late = max((first_at - survey.due_at).days, 1)
        else:
            inputs.responsiveness = "on_time"
    elif survey.closed and survey.outcome != "withdrawn":
        inputs.responsiveness = "never"

    declarations = [s for s in subs if s.purpose != "product_level"]
    inputs.data_quality, inputs.correction_rounds = _data_quality(survey, declarations)

    used = declaration_for_score(subs)
    if used is not None:
        inputs.company_answers = dict(used.company_answers or {})
        inputs.metals_in_scope = list(used.metals_in_scope) if used.metals_in_scope is not None else None
        c = used.smelters
        inputs.conformant, inputs.active, inputs.not_enrolled = c.conformant, c.active, c.not_enrolled
        inputs.unknown_entities, inputs.high_risk = c.unknown_entities, c.high_risk
        inputs.scope_level = "product" if used.purpose == "product_level" else (used.scope_level or survey.scope_level)

    standing = plan_standing(plans, as_of=as_of)
    if standing is not None:
        inputs.corrective_actions = standing.status
        inputs.actions_open, inputs.actions_overdue = standing.actions_open, standing.actions_overdue
        inputs.actions_closed, inputs.plans_awaiting = standing.actions_closed, standing.plans_awaiting
    elif used is not None and counts_as_valid(used):
        inputs.corrective_actions = "none_needed"
    return inputs

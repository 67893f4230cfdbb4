"""The facts of one survey: verdicts after a person's review, the declaration that counts and why, and
what its outcome is (final, or what it becomes unless someone decides otherwise).

The inputs are duck-typed: a submission is anything with ``verdict``, ``manual_decision``, ``purpose``
and ``received_at`` (the read model's ``Submission`` row and the workflow's ``SubmissionSummary`` both
are), so the workflow and every face judge with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Protocol, Sequence

from models.enums import SurveyOutcome, SurveyState


class SubmissionLike(Protocol):
    verdict: Optional[str]
    manual_decision: Optional[str]
    purpose: str


def effective_verdict(sub: SubmissionLike) -> Optional[str]:
    """The verdict that counts: a person's decision over the check's (accepted is valid, rejected invalid)."""
    manual = (getattr(sub, "manual_decision", None) or "").casefold()
    if manual.startswith("accept") or sub.verdict == "accepted":  # the workflow marks its own copy so too
        return "valid"
    if manual.startswith("reject") or sub.verdict == "rejected":
        return "invalid"
    return sub.verdict


def verdict_words(sub: SubmissionLike, *, reviewer_note: Optional[str] = None) -> str:
    """A submission's verdict as a person reads it, saying when a person overruled the check:
    "Invalid, accepted by hand (ana@acme: smelter list checked by phone)"."""
    checked = (sub.verdict or "").capitalize() or "Not checked"
    manual = (getattr(sub, "manual_decision", None) or "").casefold()
    if manual.startswith(("accept", "reject")):
        how = "accepted by hand" if manual.startswith("accept") else "rejected by hand"
        if (sub.verdict == "valid") == manual.startswith("accept"):
            text = f"{checked}, confirmed by hand"
        else:
            text = f"{checked}, {how}"
        return f"{text} ({reviewer_note})" if reviewer_note else text
    return checked


@dataclass(frozen=True)
class CountedDeclaration:
    """The submission whose answers and smelters count for the survey, and why that one."""

    submission: Any
    why: str


def declaration_that_counts(subs: Sequence[Any], *, has_result=lambda s: bool(getattr(s, "result", True)),
                            held_for_review=lambda s: False) -> Optional[CountedDeclaration]:
    """A valid product-level CMRT, else the latest valid declaration, else the latest readable file (an
    invalid CMRT still says something, but it is named as such). ``subs`` in the order received.
    ``held_for_review``: a file a person must look at first (the scorecard's company-name rule) does not
    count until a person has accepted it."""
    readable = [s for s in subs
                if effective_verdict(s) not in ("unreadable", None) and has_result(s) and not held_for_review(s)]
    for purpose, why in (("product_level", "the valid product-level CMRT"),
                         ("declaration", "the latest valid CMRT")):
        valid = [s for s in readable if s.purpose == purpose and effective_verdict(s) == "valid"]
        if valid:
            return CountedDeclaration(valid[-1], why)
    if readable:
        return CountedDeclaration(readable[-1], "the latest file received; no valid CMRT yet")
    return None


def has_valid_declaration(subs: Sequence[Any], *, purpose: Optional[str] = None) -> bool:
    """Whether any submission (of this purpose, when given) is valid after a person's review."""
    return any(effective_verdict(s) == "valid" for s in subs if purpose is None or s.purpose == purpose)


# Outcomes that say the supplier gave a valid declaration (whatever happened after it).
OUTCOMES_WITH_VALID_DECLARATION = frozenset({SurveyOutcome.valid, SurveyOutcome.valid_with_cap,
                                             SurveyOutcome.cap_not_completed})

# Why a survey is escalated to the Supply Chain VP (EscalationInput.reason).
ESCALATION_REASONS = ("non_responsive", "invalid_uncorrected", "cap_overdue", "cap_refused")


def outcome_if_lapsed(reason: str, *, valid_declaration: bool) -> SurveyOutcome:
    """What an escalated case becomes when the VP lets the escalation lapse: what the supplier did.
    A supplier with a valid declaration whose corrective action plan went overdue or was refused did
    answer the survey: it has not completed its corrective action, it is not non-responsive."""
    if reason == "invalid_uncorrected":
        return SurveyOutcome.invalid_uncorrected
    if reason in ("cap_overdue", "cap_refused"):
        return SurveyOutcome.cap_not_completed if valid_declaration else SurveyOutcome.non_responsive
    return SurveyOutcome.non_responsive


def outcome_when_plan_closes(*, valid_declaration: bool, escalation_reason: Optional[str]) -> SurveyOutcome:
    """A corrective action plan closed with every action verified: valid with corrective action when the
    supplier's declaration is valid; otherwise (a plan the VP required after a non-response or an
    uncorrected CMRT) what the escalation was about still stands."""
    if valid_declaration:
        return SurveyOutcome.valid_with_cap
    return outcome_if_lapsed(escalation_reason or "non_responsive", valid_declaration=False)


@dataclass(frozen=True)
class Standing:
    """Where a survey's outcome stands: final (the survey is closed), pending the VP (what the case
    becomes unless the Supply Chain VP decides otherwise), or none yet."""

    outcome: Optional[str]
    final: bool
    pending_vp: bool


def outcome_standing(outcome: Optional[str], state: Optional[str]) -> Standing:
    """An outcome is final once the survey is closed. While the VP has an escalation in hand, the
    outcome it holds is what the case becomes if the VP does not decide. In any other open state an
    outcome left from an earlier step no longer holds (the VP required a corrective action plan, a late
    answer came in): the survey has moved on, and no outcome is stated."""
    if not outcome:
        return Standing(None, False, False)
    if state is None or state == SurveyState.closed.value:
        return Standing(outcome, True, False)
    if state == SurveyState.escalated.value:
        return Standing(outcome, False, True)
    return Standing(None, False, False)

"""Codes as people read them, for every face of the product (web pages, the CLI's human output).

``humanise("non_responsive")`` -> "Non-responsive"; ``words`` leaves sentences alone; ``outcome_words``
marks an outcome that is not final yet; ``next_step_words`` replaces workflow IDs in a survey's next step;
``verdict_words`` says a checker's verdict and, when a person overruled it, who did and why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from models.facts.survey import outcome_standing

# Codes whose plain reading needs more than replacing underscores.
GLOSSARY = {
    "cap_overdue": "Corrective action plan overdue",
    "cap_refused": "Corrective action plan refused",
    "cap_request": "Corrective action plan requested",
    "non_responsive": "Non-responsive",
    "valid_with_cap": "Valid with corrective action",
    "cap_not_completed": "Corrective action not completed",
    "high_risk_confirmed": "High risk confirmed",
    "no_product_level": "No product-level CMRT",
    "vp_decision": "VP decision",
    "vp_decided": "VP decided",
    "vp_reminder_sent": "VP reminder sent",
    "product_level": "Product level",
    "high_risk_declared": "High-risk smelters declared",
    "risk_accepted": "Risk accepted by the compliance team",
    "risk_not_accepted": "Risk not accepted: corrective action plan required",
    "risk_review_requested": "Risk review by the compliance team",
    "user_defined": "User-defined",
    # where a supplier stands in the report (models.facts.figures.STANDINGS) and its declaration's scope
    "invalid_uncorrected": "Invalid, never corrected",
    "awaiting_correction": "Still correcting",
    "not_submitted": "No CMRT submitted",
    "not_stated": "Scope not stated",
    "unreadable": "Could not be read",
    "company": "Company level",
    "product": "Product level",
    "non_response": "Non-responsive",
}

# Where a corrective action plan stands (CorrectiveActionPlan.state), as the next step of its survey.
PLAN_STATE_WORDS = {
    "requested": "waiting for the supplier's plan",
    "in_progress": "waiting for the supplier's actions",
    "overdue": "overdue, escalated to the Supply Chain VP",
    "escalated": "escalated to the Supply Chain VP",
    "refused": "refused by the supplier",
    "closed": "closed",
    "cancelled": "cancelled",
}

_CODE = re.compile(r"[a-z0-9_]+")
# The survey workflow names the open plan or escalation by its workflow ID (models/survey.py).
_PLAN_STEP = re.compile(r"corrective action plan (?P<id>\S+/cap/(?P<n>\d+))")
_ESCALATION_STEP = re.compile(r"decision of the Supply Chain VP \((?P<id>\S+/escalation/(?P<n>\d+))\)")


def humanise(value: str | None) -> str:
    """A code in words, capitalised (``awaiting_response`` -> "Awaiting response"); "—" for nothing."""
    if not value:
        return "—"
    if value in GLOSSARY:
        return GLOSSARY[value]
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def words(value: str | None) -> str:
    """A reason as people read it: codes such as ``non_responsive`` become words, sentences stay."""
    if value and _CODE.fullmatch(value):
        return humanise(value)
    return value or ""


def outcome_words(outcome: str | None, state: str | None) -> str:
    """An outcome as it stands (models.facts.survey.outcome_standing): final once closed; while escalated,
    what the case becomes unless the VP decides otherwise; in any other open state, none yet."""
    standing = outcome_standing(outcome, state)
    if standing.outcome is None:
        return "—"
    if standing.pending_vp:
        return f"{humanise(standing.outcome)} (pending VP decision)"
    return humanise(standing.outcome)


def next_step_words(step: str | None, plan_states: Mapping[str, str] | None = None) -> str:
    """A survey's next step without workflow IDs: "Corrective action plan 1: waiting for the supplier's actions".

    ``plan_states``: plan workflow ID -> CorrectiveActionPlan.state, to say what the plan waits for.
    """
    if not step:
        return "—"
    plan = _PLAN_STEP.fullmatch(step)
    if plan:
        state = (plan_states or {}).get(plan["id"])
        where = PLAN_STATE_WORDS.get(state or "")
        return f"Corrective action plan {plan['n']}" + (f": {where}" if where else "")
    escalation = _ESCALATION_STEP.fullmatch(step)
    if escalation:
        return f"Decision of the Supply Chain VP (escalation {escalation['n']})"
    return humanise(step)


def verdict_words(verdict: str | None, review: Mapping[str, str | None] | None = None) -> str:
    """The checker's verdict, and the hand review that overruled (or confirmed) it when there is one, with
    who and why: "Invalid, accepted by hand by ana@example.com: the smelter list was sent separately".
    Whether a person overruled the check is models.facts.survey's to say; this adds the reviewer's words."""
    from types import SimpleNamespace

    from models.facts.survey import verdict_words as survey_verdict_words

    decision = (review or {}).get("decision")
    text = survey_verdict_words(SimpleNamespace(verdict=verdict, manual_decision=decision, purpose="declaration"))
    if decision and (review or {}).get("by"):
        text += f" by {review['by']}"
    if decision and (review or {}).get("reason"):
        text += f": {review['reason']}"
    return text


def validation_sentence(error: Mapping, label: str) -> str:
    """One of pydantic's errors (``ValidationError.errors()`` item) as a sentence a person understands,
    about the field they know by ``label``: "Reporting year: give a year between 2000 and 2100."."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        text = "please fill this in"
    elif kind in ("int_parsing", "int_type", "int_from_float", "float_parsing", "float_type"):
        text = "please give a number"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most",
                 "less_than": "less than"}[kind]
        limit = next(iter(ctx.values()), None)
        text = f"give a value {bound} {limit}" if limit is not None else "this value is out of range"
    elif kind in ("string_too_long", "too_long"):
        text = f"at most {ctx.get('max_length', '')} characters, please".replace("at most  ", "fewer ")
    elif kind in ("string_too_short", "too_short"):
        text = "please fill this in"
    elif kind == "string_pattern_mismatch":
        text = ("please give an e-mail address such as name@example.com" if "mail" in label.casefold()
                else "this is not in the expected form")
    elif kind == "literal_error":
        text = "please choose one of the options"
    elif kind.startswith(("datetime", "date")):
        text = "please give a date such as 2026-06-30"
    else:
        text = str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{label}: {text.rstrip('.')}."

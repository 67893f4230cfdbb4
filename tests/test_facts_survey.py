"""The pure core's survey facts (models/facts/survey.py), as properties over random records: the
verdict that counts, the declaration that counts, where an outcome stands, and the words every face
shows for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from models.enums import SurveyOutcome, SurveyState
from models.facts.survey import (
    ESCALATION_REASONS,
    declaration_that_counts,
    effective_verdict,
    has_valid_declaration,
    outcome_if_lapsed,
    outcome_standing,
    verdict_words,
)
from outreach.wording import outcome_words

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)


@dataclass
class Sub:
    verdict: Optional[str]
    manual_decision: Optional[str]
    purpose: str
    received_at: datetime
    result: dict | None = None


subs = st.lists(st.builds(
    Sub,
    verdict=st.sampled_from(["valid", "invalid", "unreadable"]),
    manual_decision=st.sampled_from([None, None, "accepted", "rejected"]),
    purpose=st.sampled_from(["declaration", "declaration", "product_level"]),
    received_at=st.integers(0, 90).map(lambda d: T0 + timedelta(days=d)),
    result=st.just({"summary": {}}),
), max_size=8).map(lambda xs: sorted(xs, key=lambda s: s.received_at))


def test_a_persons_decision_overrules_the_check() -> None:
    assert effective_verdict(Sub("invalid", "accepted", "declaration", T0)) == "valid"
    assert effective_verdict(Sub("valid", "rejected", "declaration", T0)) == "invalid"
    assert effective_verdict(Sub("unreadable", None, "declaration", T0)) == "unreadable"
    assert verdict_words(Sub("invalid", "accepted", "declaration", T0), reviewer_note="ana@acme: checked") == \
        "Invalid, accepted by hand (ana@acme: checked)"
    assert verdict_words(Sub("valid", "accepted", "declaration", T0)) == "Valid, confirmed by hand"
    assert verdict_words(Sub("valid", None, "declaration", T0)) == "Valid"


@settings(max_examples=300, deadline=None)
@given(subs)
def test_the_declaration_that_counts(subs: list[Sub]) -> None:
    counted = declaration_that_counts(subs)
    readable = [s for s in subs if effective_verdict(s) != "unreadable"]
    if not readable:
        assert counted is None
        return
    assert counted is not None and counted.submission in readable
    chosen = counted.submission
    if has_valid_declaration(subs):
        assert effective_verdict(chosen) == "valid"  # a valid file always beats an invalid one
        if any(s.purpose == "product_level" and effective_verdict(s) == "valid" for s in subs):
            assert chosen.purpose == "product_level" and "product-level" in counted.why
        # and it is the latest of its kind
        same = [s for s in subs if s.purpose == chosen.purpose and effective_verdict(s) == "valid"]
        assert chosen is same[-1]
    else:
        assert chosen is readable[-1] and "no valid CMRT yet" in counted.why


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([None, *[o.value for o in SurveyOutcome]]), st.sampled_from([None, *[s.value for s in SurveyState]]))
def test_an_outcome_is_final_only_when_closed_and_pending_only_with_the_vp(outcome, state) -> None:
    standing = outcome_standing(outcome, state)
    words = outcome_words(outcome, state)
    if outcome is None:
        assert standing.outcome is None and words == "—"
        return
    closed = state in (None, SurveyState.closed.value)
    assert standing.final == closed
    assert standing.pending_vp == (state == SurveyState.escalated.value)
    # the words say exactly that: final as it is, pending with the VP, or nothing while the survey moved on
    if closed:
        assert "(" not in words and words != "—"
    elif standing.pending_vp:
        assert words.endswith("(pending VP decision)")
    else:
        assert words == "—"
    assert "_" not in words and "provisional" not in words


@given(st.sampled_from(ESCALATION_REASONS), st.booleans())
def test_a_lapsed_escalation_keeps_what_the_supplier_did(reason: str, valid: bool) -> None:
    outcome = outcome_if_lapsed(reason, valid_declaration=valid)
    if valid and reason.startswith("cap_"):
        assert outcome == SurveyOutcome.cap_not_completed  # it answered: not "non-responsive"
    if reason == "non_responsive":
        assert outcome == SurveyOutcome.non_responsive
    if reason == "invalid_uncorrected":
        assert outcome == SurveyOutcome.invalid_uncorrected
    assert outcome != SurveyOutcome.non_responsive or not valid or reason == "non_responsive"

"""The scorecard judges what is known: pure facts from plain records, and properties over random inputs.

No database: ``models.facts.scorecard`` turns plain records into score inputs, ``outreach.scoring`` grades
them. The three suppliers first seen graded A (a JPEG only, a CMRT full of errors, another company's CMRT)
are examples here; the properties say the same for every input.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from models.facts.scorecard import (
    ActionRecord,
    EscalationRecord,
    PlanRecord,
    SmelterCounts,
    SubmissionRecord,
    SurveyRecord,
    score_inputs,
)
from outreach.scoring import COMPONENTS, DEFAULT_GRADES, GRADE_ORDER, ScoreInputs, ScoringConfig, score

DUE = datetime(2026, 4, 1, tzinfo=timezone.utc)
BEFORE_DUE, AFTER_DUE = DUE - timedelta(days=10), DUE + timedelta(days=20)
YES = {q: "Yes" for q in "ABCDEFGH"}
GOOD = SmelterCounts(conformant=4)
CFG = ScoringConfig()


def cmrt(verdict: str = "valid", *, at: datetime = DUE - timedelta(days=20), **kw) -> SubmissionRecord:
    base = dict(received_at=at, verdict=verdict, company_answers=YES, metals_in_scope=["Gold", "Tin"],
                smelters=GOOD, scope_level="product")
    base.update(kw)
    return SubmissionRecord(**base)


def card(subs, *, as_of=AFTER_DUE, closed=True, outcome="valid", plans=(), escalations=()):
    survey = SurveyRecord(outcome=outcome if closed else None, closed=closed, due_at=DUE)
    return score(score_inputs(survey, subs, as_of=as_of, plans=plans, escalations=escalations), CFG)


# --- what was seen -------------------------------------------------------------------------------


def test_a_jpeg_only_is_no_declaration_and_not_an_a():
    jpeg = SubmissionRecord(received_at=DUE - timedelta(days=5), verdict="unreadable", readable=False)
    r = card([jpeg], closed=False, as_of=BEFORE_DUE)
    assert r.components["data_quality"].status == "unreadable" and r.components["data_quality"].score == 0
    assert r.components["sourcing"].score == 0 and r.grade not in ("A", "B")
    assert r.provisional and "the survey is still open" in r.provisional_because


def test_a_cmrt_full_of_errors_is_judged_failing():
    bad = cmrt("invalid", company_answers=YES)
    r = card([bad], closed=False, as_of=BEFORE_DUE)
    assert r.components["data_quality"].status == "awaiting_correction"
    assert (r.components["data_quality"].score, r.components["sourcing"].score) == (0, 0)
    assert r.grade not in ("A", "B")


def test_another_companys_cmrt_waits_for_a_person():
    theirs = cmrt(warnings=frozenset({"company_name_mismatch"}))
    r = card([theirs])
    dq = r.components["data_quality"]
    assert (dq.status, dq.score, dq.pending) == ("awaiting_review", 0, True)
    assert "another company" in dq.detail["text"] and "accepts it by hand" in dq.detail["text"]
    assert r.components["program_strength"].score == 0  # another company's answers are not the supplier's
    assert r.grade not in ("A", "B") and r.provisional
    # Accepted by a person: it counts.
    accepted = card([cmrt(warnings=frozenset({"company_name_mismatch"}), accepted_by_hand=True)])
    assert accepted.components["data_quality"].status == "valid_first_time" and accepted.grade == "A"
    assert not accepted.provisional


def test_an_overdue_plan_with_a_high_risk_refinery_is_not_an_a():
    sub = cmrt(smelters=SmelterCounts(conformant=9, not_enrolled=1, high_risk=1), scope_level="company")
    plan = PlanRecord(state="requested", opened_at=DUE, actions_due=DUE + timedelta(days=30))
    r = card([sub], closed=False, as_of=DUE + timedelta(days=40), plans=[plan])
    ca = r.components["corrective_actions"]
    assert ca.status == "overdue" and "0 " not in ca.detail["text"]
    assert "did not arrive in time" in ca.detail["text"]
    assert r.grade in ("C", "D", "E") and r.ceiling == "C"
    assert r.reasons[0].component == "ceiling"
    # Before its window ends, the plan is open: never "0 open".
    early = card([sub], closed=False, as_of=DUE + timedelta(days=5), plans=[plan])
    text = early.components["corrective_actions"].detail["text"]
    assert early.components["corrective_actions"].status == "on_track" and not re.search(r"\b0 open", text)
    assert "not in yet" in text and early.grade != "A"  # a high-risk smelter and no closed plan: at most B


def test_an_overdue_escalated_supplier_is_not_told_the_due_date_has_not_passed():
    esc = EscalationRecord(opened_at=DUE + timedelta(days=15))
    r = card([], closed=False, as_of=AFTER_DUE, escalations=[esc])
    resp = r.components["responsiveness"]
    assert resp.score == 0 and "not passed" not in resp.detail["text"]
    assert "20 day(s) after the due date" in resp.detail["text"] and "escalated" in resp.detail["text"]
    assert r.grade == "E" and r.provisional


def test_nothing_received_before_the_due_date_is_not_scored_yet():
    r = card([], closed=False, as_of=BEFORE_DUE)
    assert r.total is None and r.grade is None and r.provisional
    assert "not passed yet" in r.components["responsiveness"].detail["text"]


def test_suspended_is_graded_e_whatever_the_points():
    r = card([cmrt()], outcome="suspended", escalations=[EscalationRecord(DUE, "suspend")])
    assert r.weighted_mean >= 85 and r.grade == "E" and r.reasons[0].component == "decision"


def test_verified_plan_and_valid_declaration_is_final():
    plan = PlanRecord(state="closed", opened_at=DUE, actions=(ActionRecord("verified", DUE),))
    r = card([cmrt()], outcome="valid_with_cap", plans=[plan])
    assert not r.provisional and r.components["corrective_actions"].status == "closed"


def test_ceiling_is_the_highest_total_of_the_allowed_grade():
    assert CFG.highest_total_at("C") == 69.9 and CFG.grade_for(69.9) == "C"
    odd = ScoringConfig(grades={"A": 90.05, "B": 70.01})
    assert odd.grade_for(odd.highest_total_at("B")) == "B" and odd.grade_for(odd.highest_total_at("C")) == "C"


# --- properties ------------------------------------------------------------------------------------

_dates = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31),
                      timezones=st.just(timezone.utc))
_count = st.integers(0, 6)
_answers = st.dictionaries(st.sampled_from("ABCDEFGH"), st.sampled_from(["Yes", "No", None, "yes"]))

inputs_strategy = st.builds(
    ScoreInputs,
    as_of=st.one_of(st.none(), _dates), due_at=st.one_of(st.none(), _dates), final=st.booleans(),
    escalated_at=st.one_of(st.none(), _dates),
    responsiveness=st.sampled_from([None, "on_time", "late", "after_escalation", "never"]),
    days_late=st.one_of(st.none(), st.integers(1, 90)),
    data_quality=st.sampled_from([None, "valid_first_time", "corrected", "awaiting_correction", "uncorrected",
                                  "unreadable", "awaiting_review"]),
    correction_rounds=st.integers(0, 5), company_answers=st.one_of(st.none(), _answers),
    metals_in_scope=st.one_of(st.none(), st.lists(st.sampled_from(["Gold", "Tin", "Tantalum", "Tungsten"]), max_size=4)),
    conformant=_count, active=_count, not_enrolled=_count, unknown_entities=_count, high_risk=_count,
    scope_level=st.sampled_from([None, "product", "user_defined", "company"]),
    corrective_actions=st.sampled_from([None, "none_needed", "closed", "on_track", "overdue", "refused"]),
    actions_open=_count, actions_overdue=_count, actions_closed=_count, plans_awaiting=st.integers(0, 2),
    outcome=st.sampled_from([None, "valid", "valid_with_cap", "invalid_uncorrected", "non_responsive", "suspended",
                             "disengaged", "waived"]),
    decision=st.sampled_from([None, "suspend", "disengage", "corrective_action", "waive"]),
)


@st.composite
def configs(draw) -> ScoringConfig:
    weights = draw(st.dictionaries(st.sampled_from(COMPONENTS), st.integers(0, 60)))
    bands = sorted(draw(st.lists(st.floats(1, 100, allow_nan=False), min_size=4, max_size=4, unique=True)), reverse=True)
    grades = dict(zip(DEFAULT_GRADES, bands)) if draw(st.booleans()) else {}
    return ScoringConfig(weights=weights, grades=grades)


@settings(max_examples=200, deadline=None)
@given(inputs_strategy, configs())
def test_properties_of_every_card(i: ScoreInputs, cfg: ScoringConfig):
    r = score(i, cfg)
    # The grade is the configured band of the total.
    assert r.grade == cfg.grade_for(r.total)
    # No valid declaration: never A or B.
    if not i.valid_declaration:
        assert r.grade not in ("A", "B")
    # A failing outcome agrees with the grade.
    if i.outcome in ("suspended", "disengaged") and r.grade is not None:
        assert r.grade == "E"
    if i.corrective_actions in ("overdue", "refused"):
        assert r.grade not in ("A", "B")
    # A component that cannot be judged yet makes the card provisional, and so does an open survey.
    if i.outcome != "withdrawn" and (not i.final or any(c.pending for c in r.components.values())):
        assert r.provisional
    # Missing data is judged, not skipped, once an answer was expected.
    if i.final or i.past_due:
        for name in ("responsiveness", "data_quality", "program_strength", "scope"):
            assert r.components[name].score is not None or r.components[name].pending
    # A ceiling only ever lowers the total.
    if r.total is not None:
        assert r.total <= r.weighted_mean and 0 <= r.total <= 100
    # The reasons never contradict the inputs.
    texts = " ".join(x.text for x in r.reasons)
    if i.past_due:
        assert "not passed" not in texts
    if i.plans_awaiting or i.actions_open:
        assert not re.search(r"\b0 (open|action)", r.components["corrective_actions"].detail["text"])
    if i.corrective_actions == "overdue":
        assert not re.search(r"\b0 action", texts)
    if i.valid_declaration:
        assert "No valid declaration" not in texts
    # No code reaches a person.
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", texts)


_subs = st.lists(st.builds(
    SubmissionRecord, received_at=_dates, verdict=st.sampled_from(["valid", "invalid", "unreadable"]),
    purpose=st.sampled_from(["declaration", "declaration", "product_level"]), round=st.integers(0, 3),
    accepted_by_hand=st.booleans(), warnings=st.sampled_from([frozenset(), frozenset({"company_name_mismatch"})]),
    readable=st.booleans(), company_answers=st.one_of(st.none(), _answers),
    metals_in_scope=st.one_of(st.none(), st.just(["Gold"])),
    smelters=st.builds(SmelterCounts, conformant=_count, active=_count, not_enrolled=_count, high_risk=_count),
    scope_level=st.sampled_from([None, "product", "company"])), max_size=4)


@settings(max_examples=150, deadline=None)
@given(_subs, _dates, st.booleans(), st.sampled_from([None, "valid", "invalid_uncorrected", "non_responsive"]),
       st.lists(st.builds(PlanRecord, state=st.sampled_from(["requested", "in_progress", "overdue", "closed", "cancelled"]),
                          opened_at=_dates, actions_due=st.one_of(st.none(), _dates),
                          actions=st.lists(st.builds(ActionRecord, status=st.sampled_from(
                              ["open", "reported_done", "verified", "refused"]), target_date=_dates), max_size=3)
                          .map(tuple)), max_size=2))
def test_properties_from_records(subs, as_of, closed, outcome, plans):
    survey = SurveyRecord(outcome=outcome, closed=closed, due_at=DUE)
    i = score_inputs(survey, subs, as_of=as_of, plans=plans)
    r = score(i, CFG)
    counting = [s for s in subs if s.verdict == "valid" and (s.accepted_by_hand or not s.warnings)
                and s.purpose != "product_level"]
    if not counting:
        assert r.grade not in ("A", "B")
    if any(p.state in ("requested", "in_progress") for p in plans) and i.corrective_actions == "on_track":
        assert not re.search(r"\b0 open", r.components["corrective_actions"].detail["text"])
    if as_of > DUE:
        assert "not passed" not in " ".join(x.text for x in r.reasons)
    assert r.grade == CFG.grade_for(r.total)
    assert GRADE_ORDER  # the letters the page shows

"""The survey lifecycle's decisions (models/facts/lifecycle.py), without Temporal: the next step and when,
where a submission takes the survey, which actions are refused in which state and why, what the supplier
is told. Examples per function, and properties over random carried states and times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from models.enums import Decision, SurveyOutcome, SurveyState
from models.facts import lifecycle as life
from models.facts.survey import effective_verdict
from models.policy import CampaignPolicy
from models.survey import Contact, SubmissionFinding, SubmissionSummary, SurveyCarry, SurveyInput

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
P = CampaignPolicy.annual()
DAY = timedelta(days=1)


def carry(state: SurveyState = SurveyState.awaiting_response, **kw) -> SurveyCarry:
    base = dict(state=state, contact=Contact(email="jane@acme.example"), requested_at=T0, phase_started_at=T0,
                due_at=T0 + P.response_due)
    base.update(kw)
    return SurveyCarry(**base)


def sub(verdict: str = "valid", *, n: int = 1, purpose: str = "declaration", high: int = 0, scope: str = "company",
        strength: str = "strong", manual: str | None = None, sha: str = "a" * 64) -> SubmissionSummary:
    return SubmissionSummary(submission_id=f"survey/c/S-1/submission/{n}", file_sha256=sha, purpose=purpose,
                             received_at=T0 + n * DAY, verdict=verdict, error_count=0 if verdict == "valid" else 3,
                             high_risk_smelters=high, declaration_scope=scope, program_strength=strength,
                             manual_decision=manual, update_id=f"u{n}")


RULES = dict(correction_round=0, max_rounds=3, guidance_sent=False, high_risk_on_product_scope="corrective_action",
             one_truth=True)


# --- the clock ------------------------------------------------------------------------------------------


def test_request_clock_keeps_a_later_due_date():
    clock = life.request_clock(T0, P)
    assert (clock.requested_at, clock.phase_started_at, clock.due_at) == (T0, T0, T0 + P.response_due)
    extended = T0 + 90 * DAY
    assert life.request_clock(T0, P, extended).due_at == extended
    assert life.request_clock(T0 + 10 * DAY, P, T0 + DAY).due_at == T0 + 10 * DAY + P.response_due


def test_thaw_moves_pending_steps_by_the_pause():
    s = carry(paused=False, frozen_since=T0 + DAY)
    t = life.thaw(s, T0 + 4 * DAY)
    assert t.shift == 3 * DAY and t.phase_started_at == T0 + 3 * DAY and t.due_at == s.due_at + 3 * DAY
    # A window state keeps its due date (the window counts from the phase start).
    t = life.thaw(carry(SurveyState.correction_requested, frozen_since=T0), T0 + DAY)
    assert t.due_at == T0 + P.response_due and t.phase_started_at == T0 + DAY
    assert life.thaw(carry(paused=True, frozen_since=T0), T0 + DAY) is None
    assert life.thaw(carry(bounced=True, frozen_since=T0), T0 + DAY) is None
    assert life.thaw(carry(), T0 + DAY) is None


def test_grace_and_answer_by():
    s = carry(SurveyState.chasing)
    assert life.grace_ends(s, P) == s.due_at + P.grace_period
    assert life.grace_ends(carry(due_at=None), P) is None
    assert life.survey_answer_by(s, P) == s.due_at
    w = carry(SurveyState.correction_requested, window_extended_by=5 * DAY)
    assert life.survey_answer_by(w, P) == life.survey_window_ends(w, P) == T0 + P.correction_window + 5 * DAY


# --- what happens next and when -------------------------------------------------------------------------


def test_next_step_in_each_waiting_state():
    step = life.next_step(carry(), P)
    assert (step.name, step.at, step.action) == ("reminder 1", T0 + P.reminder_offsets[0], life.REMIND)
    step = life.next_step(carry(reminders_sent=len(P.reminder_offsets)), P)
    assert (step.action, step.at) == (life.CHASE, T0 + P.response_due)
    chasing = carry(SurveyState.chasing, reminders_sent=3)
    step = life.next_step(chasing, P)
    assert (step.action, step.at, step.name) == (life.OVERDUE_REMINDER, chasing.due_at + P.chase_reminder_every,
                                                 "overdue reminder 1")
    step = life.next_step(carry(SurveyState.chasing, reminders_sent=3, chase_reminders_sent=10), P)
    assert (step.action, step.reason) == (life.ESCALATE, "non_responsive")
    step = life.next_step(carry(SurveyState.correction_requested, reminders_sent=2), P)
    assert (step.action, step.reason, step.at) == (life.ESCALATE, "invalid_uncorrected", T0 + P.correction_window)
    step = life.next_step(carry(SurveyState.product_level_requested), P)
    assert (step.action, step.reason, step.at) == (life.OPEN_CAP, "no_product_level", T0 + P.product_level_window)
    for state in (SurveyState.requested, SurveyState.validating, SurveyState.risk_review, SurveyState.closed,
                  SurveyState.corrective_action, SurveyState.escalated):
        assert life.next_step(carry(state), P) is None


def test_a_reminder_after_the_due_date_is_skipped():
    s = carry(due_at=T0 + 20 * DAY)  # extended the other way round: only the first reminder fits
    assert life.next_step(s, P).action == life.REMIND
    assert life.next_step(carry(due_at=T0 + 20 * DAY, reminders_sent=1), P).action == life.CHASE


def test_describe_next():
    assert life.describe_next(carry(SurveyState.closed), P) == (None, None)
    assert life.describe_next(carry(SurveyState.corrective_action, open_cap_id="x/cap/1"), P) == \
        ("corrective action plan x/cap/1", None)
    assert life.describe_next(carry(SurveyState.escalated, open_escalation_id="x/escalation/1"), P) == \
        ("decision of the Supply Chain VP (x/escalation/1)", None)
    assert life.describe_next(carry(SurveyState.risk_review, risk_review_open=True), P) == \
        ("risk review by the compliance team", None)
    assert life.describe_next(carry(paused=True), P) == ("reminders paused", None)
    assert life.describe_next(carry(bounced=True, paused=True), P) == ("waiting for a new contact", None)
    assert life.describe_next(carry(), P) == ("reminder 1", T0 + P.reminder_offsets[0])
    assert life.describe_next(carry(SurveyState.validating), P) == (None, None)


def test_chase_keys_and_reopening():
    assert life.chase_step("due_date_chase", 1) == "due_date_chase"
    assert life.chase_step("due_date_chase", 2) == "due_date_chase-2"
    s = carry(SurveyState.chasing)
    assert life.extension_reopens(s, T0 + 100 * DAY, now=T0 + 70 * DAY)
    assert not life.extension_reopens(s, T0 + 65 * DAY, now=T0 + 70 * DAY)
    assert not life.extension_reopens(carry(), T0 + 100 * DAY, now=T0)


def test_may_continue_as_new_and_phase_steps():
    assert life.may_continue_as_new(SurveyState.requested)
    assert all(life.may_continue_as_new(s) for s in life.WAITING_STATES)
    assert not life.may_continue_as_new(SurveyState.validating)
    assert life.phase_request_step(SurveyState.correction_requested) == "correction_request"
    assert life.phase_request_step(SurveyState.product_level_requested) == "product_level_request"
    assert life.phase_request_step(SurveyState.chasing) is None


# --- what the supplier is told --------------------------------------------------------------------------


def test_correction_and_product_level_extras():
    findings = [SubmissionFinding(code="x", severity="error", sheet="Declaration", cell="D8", message="Missing"),
                SubmissionFinding(code="y", severity="warning", message="Check")]
    s = carry(SurveyState.correction_requested, correction_round=2, submissions=[sub("invalid")],
              last_findings=findings, window_extended_by=DAY)
    extra = life.correction_extra(s, P)
    assert extra["round"] == 2 and extra["max_rounds"] == P.max_correction_rounds
    assert extra["window_ends"] == (T0 + P.correction_window + DAY).strftime("%d %B %Y")
    assert extra["correction"]["error_count"] == 3  # the file's count, not the one listed
    s.submissions[-1].verdict = "rejected"
    assert life.correction_extra(s, P)["correction"]["error_count"] == 1
    pl = carry(SurveyState.product_level_requested, submissions=[sub(high=4)])
    assert life.product_level_extra(pl, P) == {"high_risk_smelters": 4,
                                               "window_ends": (T0 + P.product_level_window).strftime("%d %B %Y")}
    assert life.phase_extra(pl, P) == life.product_level_extra(pl, P)
    assert life.reminder_extra(3, P) == {"firmness": 3, "final": True}
    assert life.reminder_extra(1, P) == {"firmness": 1, "final": False}


def test_manual_reminder_and_current_step_message():
    assert life.manual_reminder(carry(reminders_sent=0), P) == life.Message(
        "manual_reminder", "reminder", {"firmness": 1, "final": False})
    corr = carry(SurveyState.correction_requested, submissions=[sub("invalid")])
    assert life.manual_reminder(corr, P).template == "correction_reminder"
    assert life.current_step_message(carry(), P) == life.Message("request", "request", {})
    assert life.current_step_message(carry(requested_at=None), P) is None
    chasing = life.current_step_message(carry(SurveyState.chasing), P)
    assert chasing.template == "overdue_reminder" and chasing.extra["grace_ends"]
    for state in (SurveyState.risk_review, SurveyState.corrective_action, SurveyState.escalated, SurveyState.closed):
        assert life.current_step_message(carry(state), P) is None


def test_message_for_new_contact_by_release():
    last = {"step": "reminder-to-new-contact", "template": "reminder", "extra": {"firmness": 2}}
    s = carry(last_supplier_message=last)
    assert life.message_for_new_contact(s, P, was_bounced=True, one_truth=True) == \
        life.Message("request-to-new-contact", "request", {})
    # Before "one-truth": the last message again, only after a bounce.
    assert life.message_for_new_contact(s, P, was_bounced=True, one_truth=False) == \
        life.Message("reminder-to-new-contact", "reminder", {"firmness": 2})
    assert life.message_for_new_contact(s, P, was_bounced=False, one_truth=False) is None
    assert life.message_for_new_contact(carry(SurveyState.closed, last_supplier_message=last), P,
                                        was_bounced=True, one_truth=False) is None


def test_closing_message():
    assert life.closing_message(SurveyOutcome.valid, "declaration_valid") == life.Message(
        "accepted", "accepted", {"with_cap": False})
    assert life.closing_message(SurveyOutcome.valid_with_cap, None).extra == {"with_cap": True}
    assert life.closing_message(SurveyOutcome.withdrawn, "withdrawn") == life.Message("withdrawn", "withdrawn")
    assert life.closing_message(SurveyOutcome.non_responsive, "corrective_action_closed").step == "cap_closed"
    assert life.closing_message(SurveyOutcome.suspended, "vp_decided") is None


def test_email_context():
    inp = SurveyInput(campaign_id="c", campaign_year=2026, supplier_id="S-1", supplier_name="Acme",
                      contact=Contact(email="jane@acme.example"), vp_email="vp@x", compliance_email="cmp@x")
    ctx = life.email_context(inp, carry(correction_round=1), P, {"n": 2})
    assert ctx["due_date"] == (T0 + P.response_due).strftime("%d %B %Y") and ctx["n"] == 2
    assert ctx["program_name"] == "Example Manufacturing Inc. Responsible Minerals Program"
    assert ctx["max_rounds"] == P.max_correction_rounds and ctx["correction_round"] == 1


def test_verdict_of():
    s = carry(SurveyState.correction_requested, correction_round=1, submissions=[sub("invalid")],
              last_findings=[SubmissionFinding(code="x", severity="error", message="m")])
    v = life.verdict_of(s, s.submissions[-1])
    assert not v.accepted and v.findings and v.state == SurveyState.correction_requested and v.correction_round == 1
    assert "needs corrections" in v.message
    older = sub("valid", n=0)
    assert life.verdict_of(s, older).findings == []  # only the latest submission's findings
    pl = carry(SurveyState.product_level_requested, submissions=[sub("invalid", purpose="product_level")])
    assert life.verdict_of(pl, pl.submissions[-1]).message.startswith("Your product-level file")
    assert life.verdict_of(carry(SurveyState.closed, submissions=[sub()]), sub()).message.startswith("Thank you: your "
                                                                                                     "declaration")
    assert life.verdict_message(SurveyState.validating, purpose="declaration", accepted=True) == life.RECEIVED
    assert life.verdict_of(carry(submissions=[sub("accepted")]), sub("accepted")).accepted


# --- a submission ---------------------------------------------------------------------------------------


def test_same_file_and_the_update_that_delivered_it():
    s = carry(submissions=[sub(n=1, sha="a" * 64), sub(n=2, sha="b" * 64)])
    assert life.same_as_latest(s, "b" * 64, "declaration")
    assert not life.same_as_latest(s, "b" * 64, "product_level")
    assert not life.same_as_latest(s, "a" * 64, "declaration")
    assert not life.same_as_latest(carry(), "a" * 64, "declaration")
    assert life.submission_for_update(s, "u1").submission_id.endswith("/1")
    assert life.submission_for_update(s, "unknown").submission_id.endswith("/2")


def test_after_submission_rules():
    A = life.after_submission
    assert A(sub(purpose="product_level", verdict="invalid"), **RULES).action == life.PRODUCT_LEVEL_AGAIN
    assert A(sub(purpose="product_level", high=2), **RULES) == life.AfterSubmission(life.OPEN_CAP, "high_risk_confirmed")
    assert A(sub(purpose="product_level"), **RULES) == life.AfterSubmission(life.CLOSE, "risk_cleared")
    assert A(sub("invalid"), **RULES) == life.AfterSubmission(life.CORRECT, "correction_requested")
    assert A(sub("unreadable"), **dict(RULES, correction_round=3)) == life.AfterSubmission(life.ESCALATE,
                                                                                          "invalid_uncorrected")
    valid = A(sub(), **RULES)
    assert (valid.action, valid.reason, valid.outcome, valid.through_risk_review) == \
        (life.CLOSE, "declaration_valid", SurveyOutcome.valid, True)
    assert A(sub(strength="weak"), **RULES).send_guidance
    assert not A(sub(strength="weak"), **dict(RULES, guidance_sent=True)).send_guidance
    assert A(sub(high=1), **RULES).action == life.REQUEST_PRODUCT_LEVEL
    assert A(sub(high=1, scope="product"), **RULES) == life.AfterSubmission(
        life.OPEN_CAP, "high_risk_declared", through_risk_review=True)
    assert A(sub(high=1, scope="user_defined"), **dict(RULES, high_risk_on_product_scope="review")).action == \
        life.HOLD_FOR_REVIEW
    # Runs recorded before "one-truth" closed such a declaration valid: they replay so.
    assert A(sub(high=1, scope="product"), **dict(RULES, one_truth=False)).action == life.CLOSE
    # A hand review's verdict counts (models.facts.survey.effective_verdict).
    assert A(sub("invalid", manual="accepted"), **RULES).action == life.CLOSE
    assert A(sub("valid", manual="rejected"), **RULES).action == life.CORRECT


def test_after_review():
    plr = SurveyState.product_level_requested
    assert life.after_review(sub(high=3), "accepted", plr, **RULES) == life.AfterSubmission(
        life.CLOSE, "risk_cleared", by_reviewer=True)
    assert life.after_review(sub("rejected", purpose="product_level"), "rejected", plr, **RULES) == \
        life.AfterSubmission(life.OPEN_CAP, "product_level_rejected", by_reviewer=True)
    after = life.after_review(sub("accepted"), "accepted", SurveyState.correction_requested, **RULES)
    assert (after.action, after.by_reviewer) == (life.CLOSE, False)
    assert life.after_review(sub("rejected"), "rejected", plr, **RULES).action == life.CORRECT


def test_outcomes_of_escalations_and_plans():
    valid = carry(submissions=[sub()])
    assert life.escalation_outcome("cap_overdue", valid, true_outcome=True) == SurveyOutcome.cap_not_completed
    assert life.escalation_outcome("cap_overdue", valid, true_outcome=False) == SurveyOutcome.non_responsive
    assert life.escalation_outcome("invalid_uncorrected", carry(), true_outcome=True) == \
        SurveyOutcome.invalid_uncorrected
    assert life.plan_closed_outcome(valid, true_outcome=True) == SurveyOutcome.valid_with_cap
    none = carry(escalation_reason="invalid_uncorrected", outcome=SurveyOutcome.invalid_uncorrected)
    assert life.plan_closed_outcome(none, true_outcome=True) == SurveyOutcome.invalid_uncorrected
    assert life.plan_closed_outcome(carry(escalation_reason="invalid_uncorrected"), true_outcome=False) == \
        SurveyOutcome.valid_with_cap
    assert life.plan_failed_reason("refused") == "cap_refused"
    assert life.plan_failed_reason("overdue") == life.plan_failed_reason("cancelled") == "cap_overdue"
    assert life.DECISION_OUTCOME[Decision.waive] == SurveyOutcome.waived


# --- refusals -------------------------------------------------------------------------------------------


def test_refusals():
    closed = carry(SurveyState.closed, outcome=SurveyOutcome.valid)
    assert life.why_not_pause(closed) == "the survey is closed (valid)"
    assert life.why_not_pause(carry(paused=True)) == "reminders are already paused"
    assert life.why_not_pause(carry()) is None
    assert life.why_not_resume(carry()) == "reminders are not paused"
    assert life.why_not_resume(carry(paused=True)) is None
    assert life.why_not_withdraw(carry(SurveyState.closed)) == "the survey is closed (no outcome)"
    assert life.why_not_remind(carry(SurveyState.product_level_requested)).startswith("nothing to remind")
    assert life.why_not_remind(carry(bounced=True)).startswith("the contact's address bounced")
    assert life.why_not_remind(carry(SurveyState.correction_requested)) is None
    assert life.why_not_replace_contact(carry(), "not an address").startswith("not one email address")
    assert life.why_not_replace_contact(carry(), "a@b.example, c@d.example").startswith("not one email address")
    assert life.why_not_replace_contact(carry(), "JANE@acme.example") == "that is already the contact"
    assert life.why_not_replace_contact(carry(bounced=True), "jane@acme.example") is None
    assert life.why_not_note("  ") == "a note needs text" and life.why_not_note("called") is None
    assert life.why_not_decide_risk(carry(SurveyState.risk_review), "ok").startswith("no risk review is waiting")
    assert life.why_not_decide_risk(carry(SurveyState.risk_review, risk_review_open=True), " ") == \
        "a risk decision needs a reason"
    assert life.why_not_verify(carry(SurveyState.corrective_action, open_cap_id="x")) is None
    assert life.why_not_verify(carry()) == "no corrective action plan is open"
    assert life.why_not_decide(carry(SurveyState.escalated, open_escalation_id="x")) is None
    assert life.why_not_decide(carry(SurveyState.escalated)) == "no escalation is waiting for a decision"


def test_review_refusals():
    s = carry(SurveyState.correction_requested, submissions=[sub("invalid", n=1), sub("invalid", n=2)])
    assert life.why_not_review(s, s.submissions[0].submission_id, "accepted") == \
        "only the latest submission can be reviewed by hand"
    assert life.why_not_review(s, s.submissions[1].submission_id, "accepted") is None
    assert life.why_not_review(s, s.submissions[1].submission_id, "rejected") == \
        "that submission is already rejected: a correction is requested"
    s.submissions[1].manual_decision = "accepted"
    assert life.why_not_review(s, s.submissions[1].submission_id, "accepted") == \
        "that submission was already accepted by hand"
    done = carry(SurveyState.closed, submissions=[sub()])
    assert "nothing is waiting" in life.why_not_review(done, done.submissions[0].submission_id, "accepted")


def test_extension_refusals():
    now = T0 + DAY
    ok = T0 + 90 * DAY
    assert life.why_not_extend(carry(), ok, now=now, policy=P, windows=True) is None
    assert life.why_not_extend(carry(), ok.replace(tzinfo=None), now=now, policy=P, windows=True) == \
        "new_due_at must carry a time zone"
    assert life.why_not_extend(carry(), T0 + 30 * DAY, now=now, policy=P, windows=True) == \
        f"the new date must be later than the current one ({(T0 + P.response_due).strftime('%d %B %Y')})"
    assert life.why_not_extend(carry(SurveyState.chasing), ok, now=ok, policy=P, windows=True) == \
        "the new due date is in the past"
    corr = carry(SurveyState.correction_requested)
    assert life.why_not_extend(corr, ok, now=now, policy=P, windows=True) is None
    assert "the survey is correction requested" in life.why_not_extend(corr, ok, now=now, policy=P, windows=False)
    plan = carry(SurveyState.corrective_action, open_cap_id="x/cap/1")
    assert life.why_not_extend(plan, T0 + 2 * DAY, now=now, policy=P, windows=True) is None  # the plan judges
    assert life.why_not_extend(carry(SurveyState.corrective_action), ok, now=now, policy=P, windows=True)
    assert life.why_not_extend(carry(SurveyState.escalated), ok, now=now, policy=P, windows=True)


# --- properties over random carried states --------------------------------------------------------------

policies = st.builds(
    lambda due, grace, every, window, plw, review: CampaignPolicy(
        reminder_offsets=[d for d in (14 * DAY, 28 * DAY, 42 * DAY) if d < due], response_due=due,
        grace_period=grace, chase_reminder_every=every, correction_window=window, product_level_window=plw,
        high_risk_on_product_scope=review),
    st.integers(15, 120).map(lambda n: n * DAY), st.integers(1, 60).map(lambda n: n * DAY),
    st.integers(1, 14).map(lambda n: n * DAY), st.integers(15, 40).map(lambda n: n * DAY),
    st.integers(1, 40).map(lambda n: n * DAY), st.sampled_from(["corrective_action", "review"]))

summaries = st.builds(
    lambda verdict, manual, purpose, high, scope, strength, n: sub(
        "accepted" if manual == "accepted" else "rejected" if manual == "rejected" else verdict, n=n,
        purpose=purpose, high=high, scope=scope, strength=strength, manual=manual),
    st.sampled_from(["valid", "invalid", "unreadable"]), st.sampled_from([None, None, "accepted", "rejected"]),
    st.sampled_from(["declaration", "declaration", "product_level"]), st.integers(0, 3),
    st.sampled_from(["company", "product", "user_defined"]), st.sampled_from(["strong", "weak", None]),
    st.integers(1, 9))


@st.composite
def carried(draw) -> SurveyCarry:
    """A carried state the workflow can hold: the phase starts with (or after) the request, the due date
    after the phase start, extensions only forward."""
    start = T0 + draw(st.integers(0, 200)) * timedelta(hours=6)
    return carry(
        draw(st.sampled_from(list(SurveyState))), phase_started_at=start, requested_at=T0,
        due_at=start + draw(st.integers(1, 200)) * DAY,
        reminders_sent=draw(st.integers(0, 4)), chase_reminders_sent=draw(st.integers(0, 12)),
        chases=draw(st.integers(0, 3)), paused=draw(st.booleans()), bounced=draw(st.booleans()),
        window_extended_by=draw(st.integers(0, 30)) * DAY, risk_review_open=draw(st.booleans()),
        correction_round=draw(st.integers(0, 4)), guidance_sent=draw(st.booleans()),
        escalation_reason=draw(st.sampled_from([None, "non_responsive", "invalid_uncorrected", "cap_overdue",
                                                "cap_refused"])),
        open_cap_id=draw(st.sampled_from([None, "s/cap/1"])), open_escalation_id=draw(st.sampled_from([None, "s/esc/1"])),
        submissions=draw(st.lists(summaries, max_size=3)))


@settings(max_examples=200, deadline=None)
@given(carried(), policies)
def test_the_next_step_is_never_before_the_phase_starts(s: SurveyCarry, p: CampaignPolicy):
    step = life.next_step(s, p)
    if s.state in life.WAITING_STATES:
        assert step is not None  # every waiting state has a deadline: a survey never waits forever
        assert step.at >= s.phase_started_at
        if s.state in life.FIRST_ANSWER_WAITING and step.action == life.REMIND:
            assert step.at < s.due_at  # a reminder never comes after the due date
        if step.action in (life.ESCALATE, life.OPEN_CAP):
            assert step.reason
    else:
        assert step is None
    name, at = life.describe_next(s, p)
    if s.state in life.WAITING_STATES and not life.frozen(s):
        assert (name, at) == (step.name, step.at)  # the query and the read model say what the loop does
    else:
        assert at is None


# The contract (models/survey.py, "Rules callers can rely on"), written out apart from the module's sets.
TAKES_A_DECLARATION = {"requested", "awaiting_response", "chasing", "correction_requested"}


@settings(max_examples=200, deadline=None)
@given(carried(), st.sampled_from(["declaration", "product_level"]))
def test_a_submission_is_refused_exactly_where_the_contract_says(s: SurveyCarry, purpose: str):
    refusal = life.why_not_submit(s, purpose)
    if purpose == "product_level":
        allowed = s.state == "product_level_requested"
    else:
        allowed = s.state in TAKES_A_DECLARATION or (s.state == "escalated" and s.escalation_reason == "non_responsive")
    assert (refusal is None) == allowed
    if refusal:
        assert s.state.value.replace("_", " ") in refusal  # the sentence says where the survey is, in words


@settings(max_examples=200, deadline=None)
@given(summaries, st.integers(0, 4), st.booleans(), st.sampled_from(["corrective_action", "review"]),
       st.sampled_from([None, "accepted", "rejected"]), st.sampled_from(list(life.WINDOW_STATES)))
def test_a_submission_never_closes_valid_with_a_high_risk_smelter_unresolved(sub_, rnd, guided, on_scope, review,
                                                                             prior):
    rules = dict(correction_round=rnd, max_rounds=3, guidance_sent=guided, high_risk_on_product_scope=on_scope,
                 one_truth=True)
    then = (life.after_review(sub_, review, prior, **rules) if review else life.after_submission(sub_, **rules))
    if then.action == life.CLOSE:
        # Closed valid only on a valid file without high-risk smelters, or by a person who accepted the
        # risk picture (a hand review while a product-level CMRT is awaited).
        assert sub_.high_risk_smelters == 0 or (review == "accepted" and then.by_reviewer)
        assert then.outcome == SurveyOutcome.valid
    if then.action in (life.CORRECT, life.ESCALATE):
        assert effective_verdict(sub_) != "valid"
    if then.action == life.ESCALATE:
        assert rnd >= 3 and then.reason == "invalid_uncorrected"
    if then.send_guidance:
        assert not guided and sub_.program_strength == "weak"


def test_after_escalation():
    esc = carry(SurveyState.escalated, outcome=SurveyOutcome.non_responsive)
    assert life.after_escalation(esc, None) == life.AfterEscalation(life.LAPSED, SurveyOutcome.non_responsive)
    assert life.after_escalation(esc, Decision.corrective_action).action == life.PLAN_REQUIRED
    assert life.after_escalation(esc, Decision.suspend) == life.AfterEscalation(life.DECIDED, SurveyOutcome.suspended)
    late = carry(SurveyState.validating)
    assert life.after_escalation(late, Decision.disengage).action == life.LATE_DECISION
    assert life.after_escalation(late, None).action == life.ESCALATION_WITHDRAWN
    withdrawn = carry(SurveyState.closed, outcome=SurveyOutcome.withdrawn)
    assert life.after_escalation(withdrawn, None).action == life.NOTHING


def test_survey_row_states_what_the_query_states():
    s = carry(SurveyState.correction_requested, submissions=[sub("invalid", n=1), sub("invalid", n=2, scope="product")],
              total_reminders=4, correction_round=1)
    row = life.survey_row(s, P, now=T0 + 5 * DAY)
    assert (row["next_step"], row["next_step_at"]) == life.describe_next(s, P)
    assert row["answer_by"] == life.survey_answer_by(s, P) == T0 + P.correction_window
    assert row["reminders_sent"] == 4 and row["correction_round"] == 1 and row["closed_at"] is None
    assert row["first_submission_at"] == T0 + DAY and row["last_submission_id"].endswith("/2")
    assert row["declaration_scope"] == "product"
    closed = life.survey_row(carry(SurveyState.closed, outcome=SurveyOutcome.valid), P, now=T0)
    assert closed["closed_at"] == T0 and closed["outcome"] == "valid" and closed["last_submission_id"] is None


def test_extension_kind_and_old_runs():
    assert life.extension_kind(SurveyState.chasing) == life.DUE_DATE
    assert life.extension_kind(SurveyState.product_level_requested) == life.WINDOW
    assert life.extension_kind(SurveyState.corrective_action) == life.PLAN
    assert life.why_not_extend_in_this_run(life.DUE_DATE, one_truth=False) is None
    assert life.why_not_extend_in_this_run(life.WINDOW, one_truth=True) is None
    assert "before deadlines could be extended" in life.why_not_extend_in_this_run(life.WINDOW, one_truth=False)
    assert "plan's deadline" in life.why_not_extend_in_this_run(life.PLAN, one_truth=False)


def test_after_risk_decision():
    assert life.after_risk_decision("accept") == life.AfterSubmission(life.CLOSE, "risk_accepted", by_reviewer=True)
    assert life.after_risk_decision("corrective_action").action == life.OPEN_CAP


def test_survey_status_shows_a_child_once_it_runs():
    inp = SurveyInput(campaign_id="c", campaign_year=2026, supplier_id="S-1", supplier_name="Acme",
                      contact=Contact(email="jane@acme.example"), vp_email="vp@x", compliance_email="cmp@x")
    s = carry(SurveyState.corrective_action, open_cap_id="survey/c/S-1/cap/1", total_reminders=2)
    assert life.survey_status(inp, s, P, child_running=False).open_cap_id is None
    status = life.survey_status(inp, s, P, child_running=True)
    assert status.open_cap_id == "survey/c/S-1/cap/1" and status.survey_id == "survey/c/S-1"
    assert status.reminders_sent == 2 and status.next_step == "corrective action plan survey/c/S-1/cap/1"

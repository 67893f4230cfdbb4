"""A corrective action plan's decisions (models/facts/plan.py), without Temporal: the schedule, which Updates
are refused and why, where an Update takes the plan, its result and what its emails say. Examples per
function, and properties over random carried states and times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.enums import CorrectiveActionStatus as Status
from models.facts import plan as facts
from models.policy import CampaignPolicy
from models.survey import CapCarry, CapInput, Contact, CorrectiveActionState, PlannedAction

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
P = CampaignPolicy.annual()  # plan window 30 days, reminder 7 days before / every 7 after, review every 30
DAY = timedelta(days=1)


def action(n: int = 1, status: Status = Status.open, target: datetime = T0 + 60 * DAY, **kw) -> CorrectiveActionState:
    return CorrectiveActionState(number=n, description=f"action {n}", owner="Jane", target_date=target, status=status,
                                 **kw)


def carry(state: str = "in_progress", actions: list | None = None, **kw) -> CapCarry:
    base = dict(state=state, opened=True, opened_at=T0, contact=Contact(email="jane@acme.example", name="Jane"),
                actions=actions if actions is not None else [], plan_submitted_at=T0 + DAY if state != "requested" else None)
    base.update(kw)
    return CapCarry(**base)


# --- the schedule ---------------------------------------------------------------------------------------


def test_a_requested_plan_is_reminded_halfway_then_overdue_at_its_due_date():
    c = carry("requested")
    step = facts.next_step(c, P)
    assert (step.name, step.at, step.action) == ("plan reminder", T0 + 15 * DAY, facts.PLAN_REMINDER)
    c.plan_reminders_sent = 1
    step = facts.next_step(c, P)
    assert (step.name, step.at, step.action) == ("plan overdue", T0 + 30 * DAY, facts.OVERDUE)


def test_an_extended_plan_deadline_moves_the_overdue_step():
    c = carry("requested", plan_reminders_sent=1, plan_due_at=T0 + 45 * DAY)
    assert facts.plan_due(c, P) == T0 + 45 * DAY
    assert facts.next_step(c, P).at == T0 + 45 * DAY


def test_an_action_is_reminded_before_its_target_then_after_it_then_the_plan_is_overdue():
    a = action(target=T0 + 60 * DAY)
    c = carry(actions=[a])
    assert facts.next_step(c, P) == facts.PlanStep("reminder before target of action 1", T0 + 53 * DAY,
                                                   facts.BEFORE_TARGET, 1)
    a.reminder_before_sent = True
    assert facts.next_step(c, P) == facts.PlanStep("overdue reminder for action 1", T0 + 67 * DAY, facts.AFTER_TARGET, 1)
    overdue_at = T0 + 90 * DAY  # 30 days past the target
    a.reminders_after_sent = 3  # the fourth, 28 days past the target, still comes before the escalation
    assert [s.action for s in facts.steps(c, P)] == [facts.AFTER_TARGET, facts.OVERDUE]
    a.reminders_after_sent = 4  # the fifth would fall after it: none
    assert facts.next_step(c, P) == facts.PlanStep("action 1 overdue: escalation", overdue_at, facts.OVERDUE, 1)


def test_no_due_soon_reminder_for_a_target_closer_than_the_lead_time():
    c = carry(actions=[action(target=T0 + 5 * DAY)], plan_submitted_at=T0 + DAY)
    assert all(s.action != facts.BEFORE_TARGET for s in facts.steps(c, P))


def test_an_action_reported_done_reminds_the_team_to_verify_it_every_review_period():
    a = action(status=Status.reported_done, reported_at=T0 + 10 * DAY, review_reminders_sent=1)
    step = facts.next_step(carry(actions=[a]), P)
    assert (step.name, step.at, step.action, step.number) == (
        "review reminder for action 1", T0 + 70 * DAY, facts.REVIEW_REMINDER, 1)


def test_settled_actions_schedule_nothing():
    c = carry(actions=[action(1, Status.verified), action(2, Status.refused)])
    assert facts.next_step(c, P) is None


def test_on_a_tie_the_first_listed_step_is_taken():
    c = carry(actions=[action(1, reminder_before_sent=True, reminders_after_sent=9),
                       action(2, reminder_before_sent=True, reminders_after_sent=9)])
    assert facts.next_step(c, P).number == 1


# --- where an Update takes the plan -----------------------------------------------------------------------


def test_planned_actions_are_numbered_from_one_and_open():
    acts = facts.planned_actions([PlannedAction(description="audit", owner="Li", target_date=T0 + 9 * DAY),
                                  PlannedAction(description="train", owner="Bo", target_date=T0 + 19 * DAY)])
    assert [(a.number, a.owner, a.status) for a in acts] == [(1, "Li", Status.open), (2, "Bo", Status.open)]


def test_a_refused_action_refuses_the_plan_and_other_reports_leave_it():
    c = carry(actions=[action()])
    assert facts.state_after_report(c, Status.refused) == "refused"
    assert facts.state_after_report(c, Status.reported_done) == "in_progress"


def test_the_plan_closes_when_the_last_action_is_verified():
    c = carry(actions=[action(1, Status.verified), action(2, Status.reported_done)])
    assert facts.state_after_verify(c) == "in_progress"
    c.actions[1].status = Status.verified
    assert facts.state_after_verify(c) == "closed"


# --- which Updates are refused, and why -------------------------------------------------------------------


def test_a_plan_is_taken_once_with_future_dates_that_carry_a_time_zone():
    planned = [PlannedAction(description="audit", owner="Li", target_date=T0 + 9 * DAY)]
    assert facts.why_not_submit_plan(carry("requested"), planned, now=T0) is None
    assert facts.why_not_submit_plan(carry("in_progress"), planned, now=T0) == "the plan is already in progress"  # in words, never a code
    assert facts.why_not_submit_plan(carry("requested"), planned, now=T0 + 9 * DAY) == \
        "action 1: the target date is in the past"
    naive = [planned[0], PlannedAction(description="x", owner="y", target_date=datetime(2027, 1, 1))]
    assert facts.why_not_submit_plan(carry("requested"), naive, now=T0) == "action 2: the target date needs a time zone"


def test_reports_and_verifications_name_what_stands_in_the_way():
    c = carry(actions=[action(1, Status.verified), action(2)])
    assert facts.why_not_verify(c, 1) == "action 1 is already verified"
    assert facts.why_not_report(c, 3) == "the plan has no action 3"
    assert facts.why_not_verify(c, 2) is None
    assert facts.why_not_report(carry("requested"), 1) == "the plan is requested"


def test_the_plan_deadline_is_extended_while_the_plan_is_awaited_to_a_later_date():
    c = carry("requested")
    assert facts.why_not_extend(c, T0 + 40 * DAY, P) is None
    assert facts.why_not_extend(c, T0 + 30 * DAY, P) == "the new date must be later than the current one (01 April 2026)"
    assert facts.why_not_extend(c, datetime(2027, 1, 1), P) == "new_due_at must carry a time zone"
    assert facts.why_not_extend(carry("in_progress"), T0 + 40 * DAY, P) == \
        "the plan's deadline applies while the plan is awaited (the plan is in progress)"
    assert facts.why_not_extend(carry("requested", opened=False), T0 + 40 * DAY, P) is not None


# --- the result -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state,actions,reason", [
    ("closed", [action(1, Status.verified)], None),
    ("cancelled", [action(1)], None),
    ("overdue", [], "plan not submitted in time"),
    ("overdue", [action(1, Status.verified), action(2), action(3, Status.reported_done)], "overdue actions: 2, 3"),
    ("refused", [action(1, Status.refused, status_note="no supplier audit"), action(2, Status.refused)],
     "action 1: no supplier audit; action 2: refused"),
])
def test_the_result_says_why_a_plan_did_not_close(state, actions, reason):
    r = facts.plan_result("cap-1", carry(state, actions))
    assert (r.cap_id, r.status, r.reason) == ("cap-1", state, reason)


def test_the_status_shows_the_next_step_only_while_the_plan_is_open():
    step = facts.PlanStep("plan overdue", T0, facts.OVERDUE)
    assert facts.plan_status("cap-1", "s", carry("requested"), step).next_step == "plan overdue"
    assert facts.plan_status("cap-1", "s", carry("closed"), step).next_step is None


# --- what the emails say ---------------------------------------------------------------------------------


def test_the_messages_and_their_keys():
    c = carry("requested")
    assert facts.request_message(c, P) == facts.PlanMessage("cap_request", "cap_request", 0,
                                                            extra={"plan_due": "01 April 2026"})
    a = action(target=T0 + 60 * DAY, reminders_after_sent=2, review_reminders_sent=1)
    after = facts.after_target_message(a, P)
    assert (after.step, after.template, after.n, after.extra["target"]) == ("cap_overdue_a1", "cap_overdue", 2,
                                                                           "01 May 2026")
    assert after.extra["escalation_on"] == "31 May 2026"  # 60 + 30 days
    review = facts.review_reminder_message(a)
    assert (review.step, review.n, review.to) == ("cap_review_a1", 1, facts.COMPLIANCE)
    c.bounces = 2
    notice = facts.bounce_notice(c, None)
    assert (notice.n, notice.to, notice.extra["bounced_email"], notice.extra["detail"]) == (
        2, facts.COMPLIANCE, "jane@acme.example", "")


def test_the_email_context_names_the_company_supplier_contact_and_actions():
    inp = CapInput(cap_id="cap-1", survey_id="s", campaign_id="c", supplier_id="S-1", supplier_name="Acme",
                   contact=Contact(email="jane@acme.example"), compliance_email="team@example.com",
                   reason="high_risk_confirmed", policy=P)
    ctx = facts.email_context(inp, carry(actions=[action()]), {"plan_due": "x"})
    assert ctx["program_name"] == "Example Manufacturing Inc. Responsible Minerals Program"
    assert (ctx["contact_name"], ctx["actions"][0]["number"], ctx["plan_due"]) == ("Jane", 1, "x")


# --- properties -----------------------------------------------------------------------------------------

statuses = st.sampled_from(list(Status))


@st.composite
def carries(draw):
    state = draw(st.sampled_from(["requested", "in_progress", "closed", "overdue", "refused", "cancelled"]))
    n = 0 if state == "requested" else draw(st.integers(1, 4))
    acts = []
    for i in range(1, n + 1):
        status = draw(statuses)
        acts.append(action(i, status, target=T0 + draw(st.integers(1, 120)) * DAY,
                           reported_at=T0 + draw(st.integers(1, 90)) * DAY if status == Status.reported_done else None,
                           reminder_before_sent=draw(st.booleans()),
                           reminders_after_sent=draw(st.integers(0, 6)),
                           review_reminders_sent=draw(st.integers(0, 3))))
    return carry(state, acts, plan_reminders_sent=draw(st.integers(0, 1)),
                 plan_due_at=T0 + draw(st.integers(31, 90)) * DAY if draw(st.booleans()) else None)


@settings(max_examples=200, deadline=None)
@given(carries(), st.integers(1, 5), statuses)
def test_a_plan_never_closes_while_an_action_is_not_verified(c, number, verified_status):
    # Verify one action (if the plan lets it), as the workflow does: the plan closes only when all are verified.
    if facts.why_not_verify(c, number) is None:
        facts.find_action(c, number).status = Status.verified
        if facts.state_after_verify(c) == "closed":
            assert c.actions and all(a.status == Status.verified for a in c.actions)
        else:
            assert any(a.status != Status.verified for a in c.actions)
    # A report never closes a plan.
    assert facts.state_after_report(c, verified_status) in (c.state, "refused")


@settings(max_examples=200, deadline=None)
@given(carries())
def test_no_overdue_notice_precedes_the_actions_target_date(c):
    for s in facts.steps(c, P):
        if s.number is None:
            continue
        a = facts.find_action(c, s.number)
        assert a.status not in facts.SETTLED, "a settled action schedules nothing"
        if s.action in (facts.AFTER_TARGET, facts.OVERDUE):
            assert s.at > a.target_date
            assert s.at <= a.target_date + P.cap_overdue_escalation
        if s.action == facts.BEFORE_TARGET:
            assert s.at < a.target_date
    nxt = facts.next_step(c, P)
    assert nxt is None or nxt.at == min(s.at for s in facts.steps(c, P))


@settings(max_examples=200, deadline=None)
@given(carries(), st.integers(0, 5))
def test_a_report_or_verification_is_refused_exactly_where_the_contract_says(c, number):
    # models/survey.py: refused compliance actions raise ActionRefused with the reason; a plan's action is
    # reported or verified while the plan is in progress, for an action of the plan neither verified nor refused.
    a = facts.find_action(c, number)
    allowed = c.state == "in_progress" and a is not None and a.status not in (Status.verified, Status.refused)
    for why_not in (facts.why_not_verify, facts.why_not_report):
        refusal = why_not(c, number)
        assert (refusal is None) == allowed
        assert refusal is None or refusal.strip()


@settings(max_examples=200, deadline=None)
@given(carries(), st.integers(-10, 120))
def test_an_extension_is_refused_exactly_while_the_plan_is_not_awaited_or_not_later(c, days):
    new = T0 + days * DAY
    allowed = c.state == "requested" and new > facts.plan_due(c, P)
    assert (facts.why_not_extend(c, new, P) is None) == allowed

"""One truth across the faces, as a property: Hypothesis draws random lifecycles of one supplier's survey
(submissions of every verdict, hand reviews, extensions, plans, VP decisions, timers firing) and runs
each through the real workflows (time-skipping server, the product's worker, SMTP sink, SQLite); after
every step the faces must agree with each other and with the pure core (models/facts):

- the workflow's status and the read model's survey row (state, outcome);
- an outcome stands only where outcome_standing says (final when closed, pending with the VP, else none);
- an outcome that says the supplier answered has a valid declaration behind it, and one that says it did
  not has none;
- the campaign's progress counts and report figures add up and share their denominators;
- every correction email states the number of errors the records hold for a file (what the portal shows);
- the supplier's scorecard never grades A or B without a valid declaration.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st
from sqlmodel import select

from cmrt.builder import DEFAULT_SMELTERS, SCOPE_PRODUCT, high_risk_cmrt, invalid_cmrt, valid_builder, valid_cmrt
from models.enums import Decision, SurveyOutcome, SurveyState
from models.facts.survey import OUTCOMES_WITH_VALID_DECLARATION, has_valid_declaration, outcome_standing
from models.policy import CampaignPolicy
from models.survey import (
    ActionStatusReport,
    ExtendDeadline,
    ManualReview,
    PlannedAction,
    SubmitCmrt,
    SubmitPlan,
    VerifyAction,
    VpDecision,
    Withdraw,
)
from models.scorecards import Scorecard
from models.tables import Campaign, Survey
from outreach.db import session_scope
from tests.survey_harness import SurveyRig, running

ANSWERED = OUTCOMES_WITH_VALID_DECLARATION
FILES = {
    "valid": lambda: valid_cmrt(),
    "invalid": lambda: invalid_cmrt(problem="missing_contact_email"),
    "unreadable": lambda: b"\xff\xd8\xff\xe0 a photo of the form",
    "high_risk": lambda: high_risk_cmrt(),
    "product_high_risk": lambda: valid_builder(
        smelters=list(DEFAULT_SMELTERS) + [{"metal": "Gold", "lookup_name": "African Gold Refinery"}],
        scope=SCOPE_PRODUCT).answer("Q3", "Gold", "Yes").answer("Q4", "Gold", "Yes").to_bytes(),
    "product_valid": lambda: valid_builder(scope=SCOPE_PRODUCT).to_bytes(),
}

SKIP = st.tuples(st.just("skip"), st.sampled_from([1, 4, 12, 30, 75, 150]))
SUBMIT = st.tuples(st.just("submit"), st.sampled_from(sorted(FILES)))
# A high-risk declaration, the product-level one that confirms it, then months without the plan: the
# path to a plan, its escalation and the VP, which short random walks seldom reach.
TO_THE_VP = st.just([("submit", "high_risk"), ("submit", "product_high_risk"), ("skip", 150), ("skip", 150)])
steps = st.lists(st.one_of(  # time passing and files arriving weigh more: they move a survey along
    SKIP, SKIP, SKIP, SUBMIT, SUBMIT,
    st.tuples(st.just("accept"), st.none()),
    st.tuples(st.just("reject"), st.none()),
    st.tuples(st.just("extend"), st.sampled_from([7, 30])),
    st.tuples(st.just("decide"), st.sampled_from(list(Decision))),
    st.tuples(st.just("plan"), st.none()),
    st.tuples(st.just("plan_done"), st.none()),
    st.tuples(st.just("withdraw"), st.none()),
), min_size=3, max_size=10)
lifecycles = st.one_of(steps, st.tuples(TO_THE_VP, steps).map(lambda pair: pair[0] + pair[1]))


@pytest_asyncio.fixture(scope="session")
async def session_loop():
    """The loop the session's Temporal environment lives on: this sync test drives it, so that Hypothesis
    (which runs sync test bodies) can draw the lifecycles."""
    return asyncio.get_running_loop()


def test_every_face_tells_the_same_story(session_loop, smtp, engine, db_url, settings_for):
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from outreach.binaries import BinaryNotFound, find_binary

    try:
        server = find_binary("temporal-test-server")
    except BinaryNotFound as exc:
        pytest.skip(str(exc))
    loop = session_loop
    # A time-skipping server of its own: months are skipped here, and a timer another test left on the
    # shared server must not hold this test's clock (nor this test's hold theirs).
    env = loop.run_until_complete(WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server), data_converter=pydantic_data_converter))
    rig = SurveyRig(env, smtp, engine, settings_for(smtp_port=smtp.port, db_url=db_url))
    policy = CampaignPolicy.annual()
    ran: list[list] = []

    async def lifecycle(plan: list[tuple[str, object]]) -> None:
        rig.campaign_id = f"cmrt-{uuid.uuid4().hex[:8]}"
        supplier = f"S-{uuid.uuid4().hex[:6]}"
        with session_scope(engine) as s:
            s.add(Campaign(id=rig.campaign_id, year=2025, name="CMRT 2025", state="running"))
        h = await rig.start(policy, supplier_id=supplier)
        ran.append(plan)
        for kind, arg in plan:
            await _step(rig, h, kind, arg)
            await _agree(rig, h, supplier)

    async def run_all() -> None:
        async with running(rig):
            @settings(max_examples=30, deadline=None,
                      suppress_health_check=list(HealthCheck))
            @seed(20261202)  # reproducible in CI; a failure prints the lifecycle that broke
            @given(lifecycles)
            @example([("skip", 1), ("submit", "high_risk"), ("withdraw", None)])  # answered, then withdrawn
            @example([("submit", "invalid"), ("reject", None), ("skip", 30)])  # a rejection's one error
            def one(plan: list[tuple[str, object]]) -> None:
                future = asyncio.run_coroutine_threadsafe(lifecycle(plan), loop)
                future.result(timeout=240)

            await asyncio.to_thread(one)

    try:
        loop.run_until_complete(run_all())
    finally:
        loop.run_until_complete(env.shutdown())
    assert len(ran) >= 20  # every drawn lifecycle ran to its end through the faces' checks


async def _step(rig: SurveyRig, h, kind: str, arg) -> None:
    from workflows.corrective_action import CorrectiveActionWorkflow
    from workflows.escalation import EscalationWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    st_ = await h.query(SupplierSurveyWorkflow.status)
    try:
        if kind == "skip":
            await rig.skip(days=arg)
        elif kind == "submit":
            purpose = "product_level" if str(arg).startswith("product") else "declaration"
            await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
                file_sha256=rig.store(FILES[arg]()), purpose=purpose))
        elif kind in ("accept", "reject") and st_.submissions:
            update = SupplierSurveyWorkflow.accept_submission if kind == "accept" else SupplierSurveyWorkflow.reject_submission
            await h.execute_update(update, ManualReview(submission_id=st_.submissions[-1].submission_id,
                                                        by="ana@company.test", reason="reviewed by hand"))
        elif kind == "extend" and st_.due_at is not None:
            await h.execute_update(SupplierSurveyWorkflow.extend_deadline, ExtendDeadline(
                new_due_at=max(st_.due_at, await rig.now()) + timedelta(days=arg), by="ana@company.test"))
        elif kind == "decide" and st_.open_escalation_id:
            await rig.client.get_workflow_handle(st_.open_escalation_id).execute_update(
                EscalationWorkflow.decide, VpDecision(decision=arg, decided_by="vp@company.test", reason="decided"))
        elif kind == "plan" and st_.open_cap_id:
            now = await rig.now()
            await rig.client.get_workflow_handle(st_.open_cap_id).execute_update(
                CorrectiveActionWorkflow.submit_plan, SubmitPlan(actions=[PlannedAction(
                    description="remove the refinery", owner="Jane", target_date=now + timedelta(days=30))]))
        elif kind == "plan_done" and st_.open_cap_id:
            cap = rig.client.get_workflow_handle(st_.open_cap_id)
            await cap.execute_update(CorrectiveActionWorkflow.report_action_status,
                                     ActionStatusReport(number=1, status="reported_done"))
            await cap.execute_update(CorrectiveActionWorkflow.verify_action, VerifyAction(number=1, verified_by="ana"))
        elif kind == "withdraw":
            await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana@company.test", reason="out of scope"))
    except Exception as exc:  # noqa: BLE001 - a refused action is an answer too: only "refused" is acceptable
        text = f"{exc} {getattr(exc, 'cause', '')} {exc.__cause__ or ''}"
        assert any(word in text for word in ("refused", "Refused", "not allowed", "NotAllowed", "already",
                                             "closed", "no ", "not ", "Workflow execution already completed",
                                             "invalid", "must")), f"{kind} {arg}: {text}"


async def _agree(rig: SurveyRig, h, supplier: str) -> None:
    from workflows.survey import SupplierSurveyWorkflow

    try:
        st_ = await h.query(SupplierSurveyWorkflow.status)
    except Exception:  # noqa: BLE001 - a closed workflow answers queries too; anything else is a failure
        raise
    last_seq = st_.timeline[-1].seq if st_.timeline else 0
    for _ in range(600):  # up to 30 s: the read model is written by local activities in the same workflow task
        with session_scope(rig.engine) as s:
            row = s.get(Survey, st_.survey_id)
        if row is not None and row.seq >= last_seq:
            break
        await asyncio.sleep(0.05)
    assert row is not None and row.seq == last_seq, (row and row.seq, last_seq)

    # The workflow and the read model
    assert row.state == st_.state.value
    assert row.outcome == (st_.outcome.value if st_.outcome else None)

    # An outcome stands only where the core says it does
    standing = outcome_standing(row.outcome, row.state)
    if row.state not in (SurveyState.closed.value, SurveyState.escalated.value):
        assert row.outcome is None, (row.state, row.outcome)
    if row.state == SurveyState.closed.value:
        assert standing.final and row.outcome is not None

    # What the outcome says the supplier did, its submissions show
    valid = has_valid_declaration(st_.submissions)
    if st_.outcome in ANSWERED:
        assert valid, (st_.outcome, [(s.purpose, s.verdict, s.manual_decision) for s in st_.submissions])
    if st_.outcome in (SurveyOutcome.non_responsive, SurveyOutcome.invalid_uncorrected):
        assert not has_valid_declaration(st_.submissions, purpose="declaration")
    if st_.outcome == SurveyOutcome.non_responsive:
        assert all(s.verdict == "unreadable" or s.purpose != "declaration" for s in st_.submissions) or \
            st_.state != SurveyState.escalated

    # The campaign's progress and report figures add up
    from outreach.progress import campaign_progress
    from outreach.reports.figures import campaign_figures

    p = campaign_progress(rig.engine, rig.campaign_id)
    assert sum(p.by_state.values()) == 1 and p.by_state.get(row.state) == 1
    assert sum(p.by_outcome.values()) == (1 if standing.final else 0)
    assert sum(p.provisional_outcomes.values()) == (1 if standing.pending_vp else 0)
    f = campaign_figures(rig.engine, rig.campaign_id)
    surveyed = f["suppliers_surveyed"]
    assert surveyed + f["withdrawn"] == 1
    for key in ("submitted", "not_submitted", "valid", "invalid_uncorrected", "awaiting_correction"):
        assert f[key]["of"] == surveyed, (key, f[key])
    assert f["valid"]["count"] + f["invalid_uncorrected"]["count"] + f["awaiting_correction"]["count"] \
        + f["not_submitted"]["count"] == surveyed
    assert f["submitted"]["count"] + f["not_submitted"]["count"] == surveyed
    # the campaign summary email and the dashboard (progress) count what the report counts
    # (the report leaves a withdrawn supplier out of the surveyed; progress counts every survey that answered)
    assert p.responded == f["submitted"]["count"] + (1 if f["withdrawn"] and st_.submissions else 0)
    assert p.valid <= f["valid"]["count"] and (p.valid == 1) == (standing.final and row.outcome in {
        o.value for o in OUTCOMES_WITH_VALID_DECLARATION})

    # The correction email states the count of errors the records hold (and the portal shows)
    import re

    from models.tables import Finding, OutboxMessage, Submission

    with session_scope(rig.engine) as s:
        requests = s.exec(select(OutboxMessage).where(OutboxMessage.survey_id == st_.survey_id,
                                                      OutboxMessage.template == "correction_request")
                          .order_by(OutboxMessage.id)).all()
        checked = s.exec(select(Submission).where(Submission.survey_id == st_.survey_id)
                         .order_by(Submission.received_at, Submission.id)).all()
        errors = {sub.id: s.exec(select(Finding).where(Finding.submission_id == sub.id,
                                                       Finding.severity == "error")).all() for sub in checked}
    for message in requests:  # round n's request answers the n-th file that needed correcting
        said = re.search(r"(\d+) errors? to correct", message.subject)
        assert said, message.subject
        # a file rejected by hand has one thing to correct: the reviewer's reason (models/facts/correction)
        counts = {1 if sub.manual_decision == "rejected" else len(errors[sub.id]) for sub in checked}
        assert int(said.group(1)) in counts, (message.subject, counts)

    # The scorecard judges what is known
    with session_scope(rig.engine) as s:
        card = s.exec(select(Scorecard).where(Scorecard.supplier_id == supplier)).first()
    if card is not None and card.grade in ("A", "B"):
        assert valid, (card.grade, card.total, st_.outcome, [(x.purpose, x.verdict) for x in st_.submissions])

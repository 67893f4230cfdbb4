"""One truth for what the supplier is asked (release "one-truth"): the correction request states the same
errors, count and deadline in the email, the portal and the dashboard; a deadline can be extended in every
waiting state; a new contact becomes the supplier's and receives the current step's message; high-risk
smelters on a product-level or user-defined declaration lead to the plan (or the configured risk review)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError

from cmrt.builder import SCOPE_PRODUCT, SCOPE_USER, high_risk_cmrt, invalid_cmrt
from models.enums import SurveyOutcome, SurveyState
from models.facts.correction import correction_request, day
from models.facts.deadlines import answer_by
from models.survey import ExtendDeadline, ReplaceContact, RiskDecision, SubmissionFinding, SubmitCmrt, Withdraw
from models.tables import CorrectiveActionPlan, OutboxMessage, Submission, SupplierContact, Survey
from outreach.db import session_scope
from outreach.emails import render_email
from tests.survey_harness import COMPLIANCE, SUPPLIER, rig, running  # noqa: F401 (fixtures)
from tests.survey_scenarios import SHORT, D

BASE = dict(company_name="Example Manufacturing Inc.", supplier_name="Acme", supplier_id="S-1",
            campaign_id="cmrt-2025", campaign_year=2025, contact_name="Jane", language="en",
            portal_url="http://portal.test/portal/T", due_date="01 March 2026")


# --- the pure core, as a property over random findings ------------------------------------------------

finding = st.builds(
    dict, severity=st.sampled_from(["error", "warning", "info"]),
    sheet=st.one_of(st.none(), st.sampled_from(["Declaration", "Smelter List", "Product List"])),
    cell=st.one_of(st.none(), st.from_regex(r"[A-Z]{1,2}[1-9][0-9]{0,2}", fullmatch=True)),
    code=st.sampled_from(["contact_email_missing", "smelter_not_in_reference", "answer_missing"]))


def numbered(findings: list[dict]) -> list[dict]:
    """Each finding says what it is and which one: a line in the email shows where it was put."""
    return [dict(f, message=f"{f['severity'].upper()}-{i} {f['code']}") for i, f in enumerate(findings)]


def to_correct_section(text: str) -> list[str]:
    """The lines the email lists under "to correct" (between the demand and the deadline)."""
    body = text.split("before we can accept it:", 1)[1].split("Please correct the workbook", 1)[0]
    return [line.strip() for line in body.splitlines() if line.strip()]


def portal_counts(view) -> tuple[int, list[str]]:
    from outreach.web.context import make_templates

    env = make_templates().env
    c = view.correction_for()
    html = env.from_string('{% from "_macros.html" import correction_lists %}{{ correction_lists(c) }}').render(c=c)
    rows = re.findall(r'<tr class="finding to-correct">.*?<td>(.*?)</td></tr>', html, re.S)
    return c.error_count, rows


def read_model_view(findings: list[dict], deadline: datetime):
    from models.tables import Finding
    from outreach.web.queries import SubmissionView, SurveyView

    survey = Survey(id="survey/c/S-1", campaign_id="c", supplier_id="S-1", state="correction_requested",
                    correction_round=1, answer_by=deadline)
    sub = Submission(id="survey/c/S-1/submission/1", survey_id=survey.id, file_sha256="0" * 64,
                     received_at=deadline, verdict="invalid")
    rows = [Finding(submission_id=sub.id, code=f["code"], severity=f["severity"], sheet=f["sheet"], cell=f["cell"],
                    message=f["message"]) for f in findings]
    return SurveyView(survey=survey, campaign=None, events=[], submissions=[SubmissionView(sub, rows, None)],
                      emails=[], plans=[], escalations=[])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(finding, max_size=14), st.integers(min_value=1, max_value=8))
def test_the_email_asks_exactly_the_errors_and_counts_as_the_portal(raw, payload_cap):
    """Over random findings, with the workflow payload cut to `payload_cap` as a big file's is: the email's
    "to correct" list is exactly the errors (in order, those it carries), never a warning or a note; its
    count and deadline are the portal's and the dashboard's."""
    from activities.survey import _payload_findings

    findings = numbered(raw)
    errors = [f["message"] for f in findings if f["severity"] == "error"]
    deadline = datetime(2026, 12, 23, 9, 30, tzinfo=timezone.utc)
    with mock.patch("activities.survey.PAYLOAD_FINDINGS", payload_cap):
        payload = _payload_findings([SubmissionFinding(**f) for f in findings])
    # What the workflow gives the email (SurveySupplierWorkflow._correction_extra) ...
    req = correction_request(payload, deadline=deadline, round=1, max_rounds=3, error_count=len(errors))
    email = render_email("correction_request", dict(BASE, correction=req.context(), round=1, max_rounds=3))
    listed = to_correct_section(email.text)
    demanded = [line for line in listed if re.match(r"\d+\. ", line)]
    assert [line.split("] ", 1)[1] for line in demanded] == errors[:len(demanded)]
    assert len(demanded) == min(len(errors), payload_cap)
    assert not any(w in line for line in listed for w in ("WARNING-", "INFO-"))
    # ... and the same count and deadline as the portal and the dashboard read from the read model.
    count, rows = portal_counts(read_model_view(findings, deadline))
    assert count == len(errors) == req.error_count
    assert rows == errors
    n = len(errors)
    assert f"{n} error{'s' if n != 1 else ''} to correct by 23 December 2026" in email.subject
    assert "23 December 2026" in email.text and day(read_model_view(findings, deadline).survey.answer_by) in email.text
    if len(demanded) < n:
        assert f"and {n - len(demanded)} more error" in email.text
    # Warnings and notes are there, apart, and never as demands.
    notes = email.text.split("For your information only", 1)[1] if "For your information only" in email.text else ""
    for f in payload:
        if f.severity != "error" and f.code != "more_findings":
            assert f.message in notes


def test_a_message_from_before_states_the_same_facts():
    """A correction email queued by a survey before the release (raw findings in its context) reads the same."""
    findings = [dict(code="a", severity="error", sheet="Declaration", cell="D16", message="Fill in the email."),
                dict(code="b", severity="info", sheet="Smelter List", cell="D9",
                     message="Not on our reference list. Nothing to correct in your file."),
                dict(code="c", severity="warning", sheet=None, cell=None, message="Check the date.")]
    email = render_email("correction_request", dict(BASE, findings=findings, round=1, max_rounds=3,
                                                    window_ends="23 December 2026"))
    assert "1 error to correct by 23 December 2026" in email.subject
    assert to_correct_section(email.text)[0] == "1. [Declaration D16] Fill in the email."
    assert "Nothing to correct" not in email.text.split("For your information only")[0]
    assert "Nothing to correct" in email.html.split("For your information only")[1]


def test_answer_by_is_the_window_end_in_a_correction_and_the_due_date_before():
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    due = datetime(2027, 1, 31, tzinfo=timezone.utc)
    assert answer_by(SurveyState.awaiting_response, due_at=due, phase_started_at=start, policy=SHORT) == due
    assert answer_by(SurveyState.correction_requested, due_at=due, phase_started_at=start, policy=SHORT) == start + 15 * D
    assert answer_by(SurveyState.product_level_requested, due_at=due, phase_started_at=start, policy=SHORT,
                     extended_by=3 * D) == start + 13 * D
    assert answer_by(SurveyState.escalated, due_at=due, phase_started_at=start, policy=SHORT) is None


# --- the workflow -------------------------------------------------------------------------------------


def survey_row(rig, survey_id: str) -> Survey:
    with session_scope(rig.engine) as s:
        row = s.get(Survey, survey_id)
        s.expunge(row)
        return row


async def reach(rig, h, state: SurveyState) -> None:
    from workflows.survey import SupplierSurveyWorkflow

    await rig.skip(hours=2)
    if state == SurveyState.chasing:
        await rig.skip(days=31)
    elif state == SurveyState.correction_requested:
        await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(invalid_cmrt())))
    elif state == SurveyState.product_level_requested:
        await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(high_risk_cmrt())))
    await rig.skip(hours=1)
    assert (await h.query(SupplierSurveyWorkflow.status)).state == state


# The state a survey moves to when the deadline passes.
PAST_DEADLINE = {
    SurveyState.awaiting_response: SurveyState.chasing,
    SurveyState.chasing: SurveyState.chasing,  # the extension returned it to waiting; the new date chases again
    SurveyState.correction_requested: SurveyState.escalated,
    SurveyState.product_level_requested: SurveyState.corrective_action,
}


@pytest.mark.parametrize("state", list(PAST_DEADLINE), ids=lambda s: s.value)
async def test_extend_works_in_every_waiting_state(rig, state):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await reach(rig, h, state)
        st = await h.query(SupplierSurveyWorkflow.status)
        old = st.answer_by
        assert old is not None and survey_row(rig, h.id).answer_by == old
        new = max(old, await rig.now()) + 10 * D
        ack = await h.execute_update(SupplierSurveyWorkflow.extend_deadline, ExtendDeadline(
            new_due_at=new, by="ana", reason="the supplier's auditor is away"))
        assert "moved to" in ack.message
        st = await h.query(SupplierSurveyWorkflow.status)
        assert st.answer_by == new and survey_row(rig, h.id).answer_by == new
        waiting = SurveyState.awaiting_response if state == SurveyState.chasing else state
        assert st.state == waiting
        await rig.skip(seconds=(new - await rig.now()).total_seconds() - 3600)  # an hour before the new date
        assert (await h.query(SupplierSurveyWorkflow.status)).state == waiting
        await rig.skip(hours=2)
        assert (await h.query(SupplierSurveyWorkflow.status)).state == PAST_DEADLINE[state]
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        await h.result()
    if state == SurveyState.correction_requested:
        # The correction reminders state the date the survey keeps, as the portal does.
        reminders = [m for m in rig.smtp.to(SUPPLIER) if m.template == "correction_reminder"]
        assert reminders and all(day(new) in m.subject for m in reminders)


async def test_an_extension_must_be_later_in_a_correction_too(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await reach(rig, h, SurveyState.correction_requested)
        st = await h.query(SupplierSurveyWorkflow.status)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(SupplierSurveyWorkflow.extend_deadline, ExtendDeadline(
                new_due_at=st.answer_by - 1 * D, by="ana"))
        assert "later than the current one" in str(err.value.cause)
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        await h.result()


@pytest.mark.parametrize("state", [SurveyState.awaiting_response, SurveyState.correction_requested],
                         ids=lambda s: s.value)
async def test_replace_contact_updates_the_supplier_and_resends_the_current_step_once(rig, state):
    from workflows.survey import SupplierSurveyWorkflow

    with session_scope(rig.engine) as s:
        s.add(SupplierContact(supplier_id="S-100", name="Jane Doe", email=SUPPLIER, is_primary=True))
    new = "ken.sato@acme.test"
    async with running(rig):
        h = await rig.start(SHORT)
        await reach(rig, h, state)
        request = ReplaceContact(email=new, name="Ken Sato", language="ja", by="ana", reason="Jane left")
        await h.execute_update(SupplierSurveyWorkflow.replace_contact, request, id="replace-1")
        await h.execute_update(SupplierSurveyWorkflow.replace_contact, request, id="replace-1")  # delivered twice
        await rig.skip(hours=1)
        expected = "request" if state == SurveyState.awaiting_response else "correction_request"
        assert rig.templates(new) == [expected]
        # The same facts as the original message: for a correction, the same count and deadline.
        original = [m for m in rig.smtp.to(SUPPLIER) if m.template == expected][-1]
        # Ken reads Japanese (his language) with the English text below it: the English is the original's.
        resent = rig.smtp.to(new)[0]
        sentences = [line for line in original.text.splitlines()[1:] if line.strip() and "://" not in line]
        assert resent.subject != original.subject and all(line in resent.text for line in sentences)
        before = len(rig.smtp.to(SUPPLIER))
        await rig.skip(days=11)  # the next reminders go to the new address only
        assert len(rig.templates(new)) >= 2 and rig.templates(new).count(expected) == 1
        assert len(rig.smtp.to(SUPPLIER)) == before
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        await h.result()
    with session_scope(rig.engine) as s:
        contacts = {c.email: c for c in s.exec(select(SupplierContact).where(SupplierContact.supplier_id == "S-100"))}
        assert contacts[new].is_primary and (contacts[new].name, contacts[new].language) == ("Ken Sato", "ja")
        assert not contacts[SUPPLIER].is_primary
        keys = [m.idempotency_key for m in s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == new))]
        assert len([k for k in keys if "to-new-contact" in k]) == 1


@pytest.mark.parametrize("scope", [SCOPE_PRODUCT, SCOPE_USER], ids=["product", "user_defined"])
async def test_high_risk_on_a_product_or_user_defined_declaration_opens_the_plan(rig, scope):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await rig.skip(hours=2)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
            file_sha256=rig.store(high_risk_cmrt(scope=scope, products=["P-100"]))))
        assert (v.verdict, v.state) == ("valid", SurveyState.corrective_action), v
        assert "corrective action plan" in v.message
        await rig.skip(hours=1)
        assert rig.templates(SUPPLIER) == ["request", "cap_request"]
        assert "not in the supply chain" in rig.smtp.to(SUPPLIER)[-1].text
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        await h.result()
    with session_scope(rig.engine) as s:
        plans = s.exec(select(CorrectiveActionPlan).where(CorrectiveActionPlan.survey_id == h.id)).all()
        assert [p.reason for p in plans] == ["high_risk_declared"]


@pytest.mark.parametrize("decision", ["accept", "corrective_action"])
async def test_the_review_policy_holds_it_for_the_compliance_team(rig, decision):
    from workflows.survey import SupplierSurveyWorkflow

    policy = SHORT.model_copy(update={"high_risk_on_product_scope": "review"})
    async with running(rig):
        h = await rig.start(policy)
        await rig.skip(hours=2)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
            file_sha256=rig.store(high_risk_cmrt(scope=SCOPE_PRODUCT))))
        assert (v.verdict, v.state) == ("valid", SurveyState.risk_review)
        await rig.skip(days=40)  # the review has no clock of its own: nothing happens meanwhile
        st = await h.query(SupplierSurveyWorkflow.status)
        assert (st.state, st.next_step) == (SurveyState.risk_review, "risk review by the compliance team")
        assert rig.templates(COMPLIANCE) == ["risk_review_request"]
        assert rig.templates(SUPPLIER) == ["request"]
        with pytest.raises(WorkflowUpdateFailedError):
            await h.execute_update(SupplierSurveyWorkflow.decide_risk, RiskDecision(decision=decision, by="ana",
                                                                                    reason=" "))
        ack = await h.execute_update(SupplierSurveyWorkflow.decide_risk, RiskDecision(
            decision=decision, by="ana", reason="smelter checked with the supplier's buyer"))
        if decision == "accept":
            assert ack.state == SurveyState.closed
            assert (await h.result()).outcome == SurveyOutcome.valid
        else:
            assert ack.state == SurveyState.corrective_action
            await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
            await h.result()
    kinds = [e.kind for e in rig.events(h.id)]
    assert "risk_review_requested" in kinds
    assert ("risk_accepted" if decision == "accept" else "risk_not_accepted") in kinds


async def test_extend_the_plan_deadline_while_the_plan_is_awaited(rig):
    from workflows.corrective_action import CorrectiveActionWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await rig.skip(hours=2)
        await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
            file_sha256=rig.store(high_risk_cmrt(scope=SCOPE_PRODUCT))))
        st = await h.query(SupplierSurveyWorkflow.status)
        cap = rig.client.get_workflow_handle(st.open_cap_id)
        opened = await rig.now()
        new = opened + SHORT.cap_plan_window + 10 * D
        ack = await h.execute_update(SupplierSurveyWorkflow.extend_deadline, ExtendDeadline(
            new_due_at=new, by="ana", reason="the supplier's board meets next month"))
        assert "forwarded" in ack.message
        await rig.skip(days=12)  # past the policy's plan window (10 days): the plan is still awaited
        assert (await cap.query(CorrectiveActionWorkflow.status)).state == "requested"
        assert (await h.query(SupplierSurveyWorkflow.status)).state == SurveyState.corrective_action
        with pytest.raises(WorkflowUpdateFailedError) as err:  # the plan itself says why a date does not apply
            await cap.execute_update(CorrectiveActionWorkflow.extend_plan_deadline, ExtendDeadline(
                new_due_at=new - 1 * D, by="ana"))
        assert "later than the current one" in str(err.value.cause)
        await rig.skip(days=9)  # past the new date: overdue, escalated
        assert (await h.query(SupplierSurveyWorkflow.status)).state == SurveyState.escalated
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        await h.result()

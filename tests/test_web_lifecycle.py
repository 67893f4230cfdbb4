"""The web app driving the real survey workflow: Temporal's time-skipping server, the real worker,
a real SMTP sink, SQLite. The portal's upload, the dashboard's compliance actions, the API and the VP's
decision all go through the survey's Updates and show the workflow's own answers.
"""

from __future__ import annotations

from datetime import timedelta

import asyncio
import pytest
from sqlmodel import select

from cmrt.builder import invalid_cmrt, valid_cmrt
from models.enums import SurveyOutcome
from models.policy import CampaignPolicy
from models.survey import Withdraw
from models.tables import Escalation, Submission, Supplier, Survey, SurveyEvent
from outreach.db import session_scope
from tests.survey_harness import SUPPLIER, VP, SurveyRig, running
from tests.web_support import csrf_from, make_web, skip_to_escalation

P = CampaignPolicy.annual()


@pytest.fixture
async def rig_web(ts_env, smtp, engine, db_url, settings_for):
    rig = SurveyRig(ts_env, smtp, engine, settings_for(smtp_port=smtp.port, db_url=db_url, vp_email=VP))
    web = make_web(rig.settings, rig.engine, rig.client)
    yield rig, web
    await web.client.aclose()


def portal_path(web, survey_id: str) -> str:
    return web.app.state.ctx.signer.portal_url(survey_id).removeprefix("http://portal.test")


async def upload(web, path: str, data: bytes, name: str = "cmrt.xlsx"):
    page = await web.client.get(path)
    return await web.client.post(f"{path}/upload", data={"csrf_token": csrf_from(page.text)},
                                 files={"file": (name, data, "application/octet-stream")})


async def eventually(check, timeout: float = 10.0):
    """Read-model rows are written by activities just after an Update answers: poll briefly."""
    for _ in range(int(timeout / 0.1)):
        result = check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("the read model never showed the expected change")


def request_sent(rig, survey_id: str) -> bool:
    """The survey has sent its request and waits for the supplier (what every test starts from)."""
    survey = rig_survey(rig, survey_id)
    return survey is not None and survey.state == "awaiting_response"


def events(engine, survey_id: str) -> list[SurveyEvent]:
    with session_scope(engine) as s:
        return list(s.exec(select(SurveyEvent).where(SurveyEvent.survey_id == survey_id).order_by(SurveyEvent.seq)))


async def test_portal_upload_shows_findings_then_accepts_the_correction(rig_web):
    rig, web = rig_web
    async with running(rig):
        h = await rig.start()
        path = portal_path(web, h.id)
        await eventually(lambda: request_sent(rig, h.id))
        page = await web.client.get(path)
        assert page.status_code == 200 and "Waiting for your CMRT" in page.text and "Acme Components Ltd." in page.text

        r = await upload(web, path, invalid_cmrt(problem="missing_contact_email"), "acme ../cmrt.xlsx")
        assert r.status_code == 200 and "Your CMRT needs corrections" in r.text
        assert "Declaration!D16" in r.text  # the finding with its sheet and cell, at once

        page = await web.client.get(path)
        assert "Please correct your CMRT" in page.text and "Declaration!D16" in page.text

        r = await upload(web, path, valid_cmrt(), "acme-fixed.xlsx")
        assert "Your CMRT is accepted" in r.text
        result = await h.result()
    assert result.outcome == SurveyOutcome.valid
    with session_scope(rig.engine) as s:
        subs = s.exec(select(Submission).where(Submission.survey_id == h.id).order_by(Submission.received_at)).all()
    assert [(x.verdict, x.channel) for x in subs] == [("invalid", "portal"), ("valid", "portal")]
    assert subs[0].filename == "cmrt.xlsx"  # only the last part of the name is kept, never a path
    assert rig.templates(SUPPLIER) == ["request", "correction_request", "accepted"]
    page = await web.client.get(path)
    assert "accepted" in page.text and 'action="' + path + '/upload"' not in page.text  # no upload once closed
    await web.login()
    page = await web.client.get("/suppliers/S-100")
    assert "Declaration, first file, by portal" in page.text and "Declaration, correction round 1, by portal" in page.text


async def test_dashboard_actions_call_the_survey_and_show_its_refusals(rig_web):
    rig, web = rig_web
    async with running(rig):
        h = await rig.start()
        await eventually(lambda: request_sent(rig, h.id))
        await web.login()
        page = await web.client.get("/suppliers/S-100")
        token = csrf_from(page.text)

        async def act(action: str, **fields: str) -> str:
            r = await web.client.post(f"/suppliers/S-100/actions/{action}",
                                      data={"survey_id": h.id, "csrf_token": token, **fields})
            assert r.status_code == 200 and r.url.path == "/suppliers/S-100"
            return r.text

        text = await act("pause_reminders", reason="supplier on holiday")
        assert "Pause reminders:" in text and "not done" not in text
        await eventually(lambda: rig_survey(rig, h.id).paused)
        text = await act("pause_reminders", reason="again")
        assert "Pause reminders: not done." in text  # the workflow's validator said why
        text = await act("resume_reminders")
        assert "Resume reminders:" in text and "not done" not in text

        text = await act("extend_deadline", new_due_at="2000-01-01", reason="typo")
        assert "Extend the deadline: not done." in text

        await act("add_note", text="Called Jane: the CMRT comes next week.")
        await eventually(lambda: any(e.kind == "note" for e in events(rig.engine, h.id)))
        page = await web.client.get("/suppliers/S-100")
        assert "Called Jane: the CMRT comes next week." in page.text and "ana.analyst@company.test" in page.text

        text = await act("withdraw", reason="no 3TG in our parts")
        assert "Withdraw the supplier:" in text and "not done" not in text
        result = await h.result()
    assert result.outcome == SurveyOutcome.withdrawn
    page = await web.client.get("/suppliers/S-100")
    assert "This survey is closed" in page.text
    # Acting on a finished survey says so instead of failing.
    r = await web.client.post("/suppliers/S-100/actions/add_note",
                              data={"survey_id": h.id, "csrf_token": token, "text": "late"})
    assert "Add a note: not done." in r.text


def rig_survey(rig, survey_id: str) -> Survey:
    with session_scope(rig.engine) as s:
        return s.get(Survey, survey_id)


async def test_api_actions_status_and_submissions(rig_web):
    rig, web = rig_web
    h_auth = {"Authorization": f"Bearer {web.api_token()}"}
    async with running(rig):
        h = await rig.start()
        await eventually(lambda: request_sent(rig, h.id))
        r = await web.client.get(f"/api/v1/surveys/{h.id}/status", headers=h_auth)
        assert r.status_code == 200 and r.json()["state"] == "awaiting_response"
        assert r.json()["timeline"][0]["kind"] == "survey_started"

        r = await web.client.post(f"/api/v1/surveys/{h.id}/actions/pause_reminders", headers=h_auth,
                                  json={"reason": "holiday"})
        assert r.status_code == 200 and set(r.json()) == {"state", "message"}
        r = await web.client.post(f"/api/v1/surveys/{h.id}/actions/pause_reminders", headers=h_auth, json={})
        assert r.status_code == 409 and r.json()["detail"]  # the validator's sentence

        r = await web.client.post(f"/api/v1/surveys/{h.id}/submissions", headers=h_auth,
                                  files={"file": ("x.xlsx", invalid_cmrt(problem="missing_q1"), "application/x")})
        assert r.status_code == 200
        body = r.json()
        assert body["verdict"] == "invalid" and body["accepted"] is False and body["state"] == "correction_requested"
        assert any(f["sheet"] == "Declaration" and f["cell"] for f in body["findings"])

        r = await web.client.post(f"/api/v1/surveys/{h.id}/submissions", headers=h_auth,
                                  files={"file": ("x.xlsx", valid_cmrt(), "application/x")})
        assert r.json()["verdict"] == "valid" and r.json()["accepted"] is True
        await h.result()
    with session_scope(rig.engine) as s:
        subs = s.exec(select(Submission).where(Submission.survey_id == h.id)).all()
    assert {(x.channel, x.submitted_by) for x in subs} == {("api", "ana.analyst@company.test")}
    r = await web.client.post(f"/api/v1/surveys/{h.id}/actions/remind_now", headers=h_auth, json={})
    assert r.status_code in (409, 410) and r.json()["detail"]


async def test_vp_decides_from_the_link(rig_web):
    rig, web = rig_web
    async with running(rig):
        h = await rig.start()
        await skip_to_escalation(rig)
        escalation_id = await eventually(lambda: _open_escalation(rig, h.id))
        path = web.app.state.ctx.signer.decision_url(escalation_id).removeprefix("http://portal.test")
        page = await web.client.get(path)
        assert page.status_code == 200
        assert "did not answer the survey" in page.text and "Acme Components Ltd." in page.text
        assert "125,000" in page.text and "Request sent" in page.text  # spend and history
        r = await web.client.post(path, data={"decision": "suspend", "reason": "No CMRT after every reminder",
                                              "csrf_token": csrf_from(page.text)})
        assert r.status_code == 200 and "Your decision is recorded" in r.text
        # The page shown next already has the decision: the Update answered once the read model held it.
        assert "Decided: Suspend" in r.text and "Record my decision" not in r.text
        assert _decided(rig, escalation_id)
        page = await web.client.get(path)
        assert "Decided: Suspend" in page.text and VP in page.text and "Record my decision" not in page.text
        result = await h.result()
        # Read-after-write by construction: the decision's read-model write completes before the Update answers.
        kinds = []
        async for e in rig.client.get_workflow_handle(escalation_id).fetch_history_events():
            if e.HasField("activity_task_scheduled_event_attributes"):
                kinds.append(e.activity_task_scheduled_event_attributes.activity_type.name)
            elif e.HasField("workflow_execution_update_completed_event_attributes"):
                kinds.append("update completed")
        assert kinds.index("update completed") > kinds.index("record_escalation"), kinds
    assert result.outcome == SurveyOutcome.suspended
    with session_scope(rig.engine) as s:
        esc = s.get(Escalation, escalation_id)
        assert (esc.decision, esc.decided_by, esc.decision_reason) == ("suspend", VP, "No CMRT after every reminder")
        assert s.get(Supplier, "S-100").status == "suspended"


def _open_escalation(rig, survey_id: str) -> str | None:
    with session_scope(rig.engine) as s:
        esc = s.exec(select(Escalation).where(Escalation.survey_id == survey_id)).first()
        return esc.id if esc else None


def _decided(rig, escalation_id: str) -> bool:
    with session_scope(rig.engine) as s:
        return s.get(Escalation, escalation_id).decision is not None


async def test_a_second_decision_is_refused_with_the_workflows_reason(rig_web):
    rig, web = rig_web
    async with running(rig):
        h = await rig.start()
        await skip_to_escalation(rig)
        escalation_id = await eventually(lambda: _open_escalation(rig, h.id))
        path = web.app.state.ctx.signer.decision_url(escalation_id).removeprefix("http://portal.test")
        page = await web.client.get(path)
        token = csrf_from(page.text)
        await web.client.post(path, data={"decision": "waive", "reason": "new supplier", "csrf_token": token})
        # A second tab still showing the form, before the read model caught up.
        r = await web.client.post(path, data={"decision": "suspend", "reason": "changed my mind", "csrf_token": token})
        assert "Your decision was not recorded" in r.text
        result = await h.result()
    assert result.outcome == SurveyOutcome.waived


async def test_portal_product_level_then_corrective_action_plan_and_status(rig_web):
    from cmrt.builder import DEFAULT_SMELTERS, SCOPE_PRODUCT, high_risk_cmrt, valid_builder
    from models.tables import CorrectiveAction, CorrectiveActionPlan

    rig, web = rig_web
    product = valid_builder(smelters=list(DEFAULT_SMELTERS) + [{"metal": "Gold", "lookup_name": "African Gold Refinery"}],
                            scope=SCOPE_PRODUCT).answer("Q3", "Gold", "Yes").answer("Q4", "Gold", "Yes").to_bytes()
    async with running(rig):
        h = await rig.start()
        await eventually(lambda: request_sent(rig, h.id))
        path = portal_path(web, h.id)
        r = await upload(web, path, high_risk_cmrt())
        assert "Please send a product-level CMRT" in r.text and "Upload your product-level CMRT" in r.text
        r = await upload(web, path, product)  # sent as the product-level answer: the state says so
        with session_scope(rig.engine) as s:
            assert [x.purpose for x in s.exec(select(Submission).order_by(Submission.received_at))] == [
                "declaration", "product_level"]

        def open_plan():
            with session_scope(rig.engine) as s:
                return s.exec(select(CorrectiveActionPlan).where(CorrectiveActionPlan.survey_id == h.id)).first()

        plan = await eventually(open_plan)
        page = await web.client.get(path)
        assert "Please send a corrective action plan" in page.text and "What will be done" in page.text
        token = csrf_from(page.text)
        # Dates relative to the workflows' clock: the session's time-skipping server has skipped years by now.
        now = await rig.now()
        past, later, latest = ((now + timedelta(days=d)).date().isoformat() for d in (-400, 120, 210))
        r = await web.client.post(f"{path}/plan", data={"csrf_token": token, "description_1": "Drop the refinery",
                                                         "owner_1": "Jane Doe", "target_1": past})
        assert "Your plan was not accepted: action 1: the target date is in the past" in r.text
        r = await web.client.post(f"{path}/plan", data={"csrf_token": token, "description_1": "Drop the refinery",
                                                         "owner_1": "", "target_1": later})
        assert "Action 1: please give a description, an owner and a target date." in r.text
        r = await web.client.post(f"{path}/plan", data={
            "csrf_token": token, "description_1": "Remove African Gold Refinery from the gold supply",
            "owner_1": "Jane Doe", "target_1": later,
            "description_2": "Ask the refinery to enrol in RMAP", "owner_2": "Raj Patel", "target_2": latest})
        assert "Your plan with 2 actions was received" in r.text

        def actions():
            with session_scope(rig.engine) as s:
                return s.exec(select(CorrectiveAction).where(CorrectiveAction.plan_id == plan.id)
                              .order_by(CorrectiveAction.number)).all()

        await eventually(lambda: len(actions()) == 2)
        page = await web.client.get(path)
        assert "Tell us where each action stands" in page.text and "Raj Patel" in page.text
        r = await web.client.post(f"{path}/actions/1", data={"csrf_token": token, "status": "reported_done",
                                                              "note": "removed from the BOM"})
        assert "The status of action 1 was recorded" in r.text
        r = await web.client.post(f"{path}/actions/9", data={"csrf_token": token, "status": "reported_done"})
        assert "Not recorded:" in r.text
        await eventually(lambda: actions()[0].status == "reported_done")

        # The compliance team verifies it from the supplier page (straight to the plan's validator).
        await web.login()
        page = await web.client.get("/suppliers/S-100")
        assert "Verify a corrective action" in page.text
        r = await web.client.post("/suppliers/S-100/actions/verify_action", data={
            "csrf_token": csrf_from(page.text), "survey_id": h.id, "number": "1", "note": "checked the BOM"})
        assert "Verify a corrective action: action 1 verified." in r.text and "not done" not in r.text
        assert actions()[0].status == "verified"  # in the read model when the page is shown
        assert "Corrective actions" in r.text and "1 action(s) open" in r.text  # the card as of now
        r = await web.client.post("/suppliers/S-100/actions/verify_action", data={
            "csrf_token": csrf_from(page.text), "survey_id": h.id, "number": "1"})
        assert "Verify a corrective action: not done. action 1 is already verified" in r.text
        # Close everything inside the worker's lifetime: a workflow left with a pending task would stall
        # time skipping for every later test on the session's time-skipping server.
        await h.execute_update("withdraw", Withdraw(by="test", reason="end of test"))
        await h.result()
        cap = rig.client.get_workflow_handle(plan.id)
        assert (await cap.describe()).status.name != "RUNNING"

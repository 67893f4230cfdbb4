"""Helpers for the web tests: an app on a real migrated database, a logged-in client, read-model rows."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from models.tables import (
    Campaign,
    CorrectiveAction,
    CorrectiveActionPlan,
    Escalation,
    Finding,
    OutboxMessage,
    StoredFile,
    Submission,
    Supplier,
    SupplierContact,
    Survey,
    SurveyEvent,
)
from outreach.db import session_scope
from outreach.users import create_user, issue_api_token

USER_EMAIL = "ana.analyst@company.test"
USER_PASSWORD = "a long enough password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@dataclass
class Web:
    app: Any
    engine: Any
    settings: Any
    client: httpx.AsyncClient

    async def login(self, email: str = USER_EMAIL, password: str = USER_PASSWORD) -> httpx.Response:
        page = await self.client.get("/login")
        return await self.client.post("/login", data={"email": email, "password": password, "next": "/",
                                                       "csrf_token": csrf_from(page.text)})

    async def csrf(self, path: str = "/") -> str:
        return csrf_from((await self.client.get(path)).text)

    def api_token(self) -> str:
        return issue_api_token(self.engine, USER_EMAIL)


def make_web(settings, engine, temporal_client=None) -> Web:
    from outreach.web.app import create_app

    app = create_app(settings, engine, temporal_client)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test",
                               follow_redirects=True)
    create_user(engine, USER_EMAIL, USER_PASSWORD, name="Ana Analyst")
    return Web(app, engine, settings, client)


NOW = datetime.now(timezone.utc)


def seed_case(engine, *, campaign_id: str = "cmrt-2025", supplier_id: str = "S-1", name: str = "Acme Metals",
              state: str = "correction_requested", outcome: str | None = None, due_days: int = 20,
              category: str = "strategic", manager: str = "cm.one@company.test", answered: bool = True) -> str:
    """A supplier with a survey, a timeline, an invalid submission with findings, emails, a plan, an escalation."""
    survey_id = f"survey/{campaign_id}/{supplier_id}"
    with session_scope(engine) as s:
        if s.get(Campaign, campaign_id) is None:
            s.add(Campaign(id=campaign_id, year=2025, name="CMRT campaign 2025", state="running",
                           suppliers_selected=0, starts_at=NOW - timedelta(days=30), ends_at=NOW + timedelta(days=90),
                           selection={"description": "all active suppliers"}))
        s.add(Supplier(id=supplier_id, name=name, category=category, annual_spend=250000.0,
                       commodity_manager_name="Carl Manager", commodity_manager_email=manager, country="Japan"))
        s.add(SupplierContact(supplier_id=supplier_id, name="Jane Doe", email=f"jane@{supplier_id.lower()}.test"))
        s.flush()
        s.add(Survey(id=survey_id, campaign_id=campaign_id, supplier_id=supplier_id, state=state, outcome=outcome,
                     contact_name="Jane Doe", contact_email=f"jane@{supplier_id.lower()}.test",
                     requested_at=NOW - timedelta(days=30), due_at=NOW + timedelta(days=due_days),
                     first_submission_at=NOW - timedelta(days=2) if answered else None,
                     closed_at=NOW if outcome else None, correction_round=1 if answered else 0, reminders_sent=1))
        s.flush()
        s.add(SurveyEvent(survey_id=survey_id, seq=1, at=NOW - timedelta(days=30), kind="request_sent",
                          state="awaiting_response", reason="Survey request sent to the supplier."))
        if answered:
            s.add(SurveyEvent(survey_id=survey_id, seq=2, at=NOW - timedelta(days=2), kind="correction_requested",
                              state="correction_requested", reason="2 errors in the declaration."))
            sha = hashlib.sha256(supplier_id.encode()).hexdigest()
            if s.get(StoredFile, sha) is None:
                s.add(StoredFile(sha256=sha, size=10, content_type="application/vnd.openxmlformats-officedocument"
                                 ".spreadsheetml.sheet", original_filename="acme cmrt.xlsx"))
                s.flush()
            sub_id = f"{survey_id}/submission/1"
            s.add(Submission(id=sub_id, survey_id=survey_id, file_sha256=sha, filename="acme cmrt.xlsx",
                             received_at=NOW - timedelta(days=2), verdict="invalid", template_version="6.5"))
            s.flush()
            s.add(Finding(submission_id=sub_id, code="contact_email_missing", severity="error", sheet="Declaration",
                          cell="D16", message="The contact email is missing."))
            s.add(Finding(submission_id=sub_id, code="q1_missing", severity="error", sheet="Declaration",
                          cell="D27", message="Question 1 for Tin is not answered."))
        s.add(OutboxMessage(idempotency_key=f"{survey_id}/request", survey_id=survey_id, template="request",
                            to_addr=f"jane@{supplier_id.lower()}.test", subject="Conflict minerals survey 2025",
                            body_text="Please answer.", message_id=f"<{supplier_id}@test>", status="sent",
                            sent_at=NOW - timedelta(days=30)))
    return survey_id


def seed_escalation(engine, survey_id: str, escalation_id: str | None = None) -> str:
    escalation_id = escalation_id or f"{survey_id}/escalation/1"
    with session_scope(engine) as s:
        s.add(Escalation(id=escalation_id, survey_id=survey_id, reason="invalid_uncorrected",
                         summary={"vp_email": "vp@company.test"}, opened_at=NOW - timedelta(days=1)))
    return escalation_id


def seed_plan(engine, survey_id: str, actions: int = 1) -> str:
    plan_id = f"{survey_id}/cap/1"
    with session_scope(engine) as s:
        s.add(CorrectiveActionPlan(id=plan_id, survey_id=survey_id, reason="high_risk_confirmed", state="in_progress",
                                   opened_at=NOW - timedelta(days=1)))
        s.flush()
        for n in range(1, actions + 1):
            s.add(CorrectiveAction(plan_id=plan_id, number=n, description=f"Replace smelter {n}", owner="Bob",
                                   target_date=NOW + timedelta(days=30)))
    return plan_id


async def skip_to_escalation(rig) -> None:
    """Past due date and grace period (annual policy), in 10-day steps: one long skip can outlast the
    test server's RPC deadline on a busy machine."""
    from models.policy import CampaignPolicy

    policy = CampaignPolicy.annual()
    days = (policy.response_due + policy.grace_period).days + 1
    for _ in range(days // 10):
        await rig.skip(days=10)
    await rig.skip(days=days % 10)

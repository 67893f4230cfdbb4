"""Campaigns from the web app on Temporal's dev server (the campaign needs search attributes): start from
the form and the API, refusals, pause/resume/cancel, and the empty dashboard's "Load the demo" button.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlmodel import Session, select

from models.tables import Campaign, Survey
from outreach.suppliers import import_suppliers, write_supplier_csv
from tests.web_support import csrf_from, make_web


@pytest.fixture
async def web(dev_env, smtp, engine, db_url, settings_for):
    from worker import build_worker

    settings = settings_for(db_url=db_url, smtp_port=smtp.port)
    w = make_web(settings, engine, dev_env.client)
    async with build_worker(dev_env.client, settings, engine):
        yield w
    await w.client.aclose()
    # Nothing may outlive the test on the shared dev server.
    with Session(engine) as s:
        campaigns = [c.id for c in s.exec(select(Campaign))]
        ids = [x.id for x in s.exec(select(Survey))] + [f"campaign/{c}" for c in campaigns]
    ids += [f"demo-script/{c}" for c in campaigns if c.startswith("demo-")]
    for workflow_id in ids:
        try:
            await dev_env.client.get_workflow_handle(workflow_id).terminate("test over")
        except Exception:  # already closed
            pass


def seed_suppliers(engine, n: int = 3) -> None:
    rows = [{"supplier_id": f"S-{i}", "name": f"Supplier {i}", "annual_spend": 1000 * (n - i + 1),
             "category": "strategic" if i == 1 else "standard", "contact_email": f"cmrt@s{i}.example"}
            for i in range(1, n + 1)]
    report = import_suppliers(engine, write_supplier_csv(rows), "suppliers.csv")
    assert report.imported, report.errors


async def until(check, timeout: float = 30.0):
    for _ in range(int(timeout / 0.2)):
        value = check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


def campaign_row(engine, campaign_id: str) -> Campaign | None:
    with Session(engine) as s:
        return s.get(Campaign, campaign_id)


async def test_start_pause_resume_cancel_from_the_dashboard(web):
    seed_suppliers(web.engine)
    cid = f"web-{uuid.uuid4().hex[:8]}"  # the dev server is shared by the whole session
    await web.login()
    page = await web.client.get("/campaigns/new")
    token = csrf_from(page.text)
    r = await web.client.post("/campaigns", data={"csrf_token": token, "year": "2025", "selection": "category",
                                                  "categories": "", "policy": "annual"})
    assert r.status_code == 422 and "a category selection needs at least one category" in r.text
    r = await web.client.post("/campaigns", data={"csrf_token": token, "year": "2025", "selection": "category",
                                                  "categories": "strategic", "policy": "annual", "campaign_id": cid})
    assert r.url.path in ("/", f"/campaigns/{cid}") and f"Campaign {cid} started" in r.text
    await until(lambda: getattr(campaign_row(web.engine, cid), "surveys_started", 0) == 1)
    page = await web.client.get(f"/campaigns/{cid}")
    title = page.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<form" not in title and page.text.count('action="/campaigns/' + cid + '/suppliers"') == 1
    r = await web.client.post("/campaigns", data={"csrf_token": token, "year": "2025", "selection": "all",
                                                  "policy": "annual", "campaign_id": cid})
    assert r.status_code == 409 and "already exists" in r.text

    r = await web.client.post(f"/campaigns/{cid}/suppliers", data={"csrf_token": token,
                                                                   "supplier_ids": "S-2, S-1 NOPE"})
    assert "Add suppliers: 1 added" in r.text and "already in the campaign: S-1" in r.text and "unknown: NOPE" in r.text
    await until(lambda: getattr(campaign_row(web.engine, cid), "surveys_started", 0) == 2)
    r = await web.client.post(f"/campaigns/{cid}/actions/pause", data={"csrf_token": token})
    assert "Pause the campaign:" in r.text and "not done" not in r.text
    r = await web.client.post(f"/campaigns/{cid}/actions/pause", data={"csrf_token": token})
    assert "Pause the campaign: not done." in r.text
    r = await web.client.post(f"/campaigns/{cid}/actions/resume", data={"csrf_token": token})
    assert "Resume the campaign:" in r.text and "not done" not in r.text
    r = await web.client.post(f"/campaigns/{cid}/actions/cancel", data={"csrf_token": token, "reason": "wrong year"})
    assert "Cancel the campaign:" in r.text and "not done" not in r.text
    await until(lambda: campaign_row(web.engine, cid).state == "cancelled")

    def withdrawn() -> bool:
        with Session(web.engine) as s:
            return [x.outcome for x in s.exec(select(Survey))] == ["withdrawn", "withdrawn"]

    await until(withdrawn)


async def test_start_a_campaign_through_the_api(web):
    seed_suppliers(web.engine)
    cid = f"api-{uuid.uuid4().hex[:8]}"
    h = {"Authorization": f"Bearer {web.api_token()}"}
    r = await web.client.post("/api/v1/campaigns", headers=h, json={
        "year": 2024, "campaign_id": cid, "selection": {"kind": "spend_share", "share": 0.5}})
    assert r.status_code == 202 and r.json()["campaign_id"] == cid
    await until(lambda: campaign_row(web.engine, cid))
    r = await web.client.get(f"/api/v1/campaigns/{cid}", headers=h)
    assert r.json()["year"] == 2024 and r.json()["selection"]
    r = await web.client.post("/api/v1/campaigns", headers=h, json={"year": 2024, "campaign_id": cid})
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    r = await web.client.post("/api/v1/campaigns", headers=h, json={"year": 2024, "campaign_id": "no spaces please"})
    assert r.status_code == 422
    r = await web.client.post(f"/api/v1/campaigns/{cid}/actions/pause", headers=h, json={"reason": "x"})
    assert r.status_code == 200 and r.json()["message"]
    r = await web.client.post(f"/api/v1/campaigns/{cid}/actions/explode", headers=h, json={})
    assert r.status_code == 422
    r = await web.client.post("/api/v1/campaigns/nope/actions/pause", headers=h, json={})
    assert r.status_code == 409 and "nope" in r.json()["detail"]


async def test_empty_dashboard_loads_the_demo(web):
    await web.login()
    page = await web.client.get("/")
    r = await web.client.post("/demo", data={"csrf_token": csrf_from(page.text)})
    assert "Demo campaign demo-" in r.text and "started" in r.text

    def demo_campaign():
        with Session(web.engine) as s:
            return s.exec(select(Campaign).where(Campaign.id.startswith("demo-"))).first()

    campaign = await until(demo_campaign)
    r = await web.client.get("/")
    assert campaign.name in r.text and "No campaign yet" not in r.text
    # Loading the demo is the analyst's act: the import and the start are theirs in the audit trail, once each.
    from models.tables import AuditEntry

    with Session(web.engine) as s:
        done = [(e.action, e.actor) for e in s.exec(select(AuditEntry).where(
            AuditEntry.action.in_(["suppliers.imported", "campaign.started"])).order_by(AuditEntry.seq))]
    assert done == [("suppliers.imported", "ana.analyst@company.test"), ("campaign.started", "ana.analyst@company.test")]

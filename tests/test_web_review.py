"""The review desk's page, API and the supplier's own details on the portal, on a real migrated SQLite database.

No Temporal: every answer here is carried out in the database (aliases, "not a smelter", accept, a proposed
contact on a closed survey); the reopen through Temporal is tests/test_review_desk.py's.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

import cmrt
from cmrt.builder import DEFAULT_SMELTERS, valid_cmrt
from cmrt.reference import default_reference
from models.tables import AuditEntry, ContactProposal, ReviewAnswer, StoredFile, Submission, SupplierContact, Survey
from models.smelters import SmelterAlias
from outreach.db import session_scope
from outreach.links import LinkSigner
from tests.web_support import NOW, csrf_from, make_web, seed_case


@pytest.fixture
async def web(engine, db_url, settings_for):
    w = make_web(settings_for(db_url=db_url), engine)
    yield w
    await w.client.aclose()


def seed_checked(engine, *, campaign_id: str = "cmrt-2025", supplier_id: str = "S-1", name: str = "Acme Metals",
                 smelters=None, days_ago: int = 2) -> str:
    """A closed survey whose declaration the product accepted, its stored check result as the worker writes it."""
    survey_id = seed_case(engine, campaign_id=campaign_id, supplier_id=supplier_id, name=name, state="closed",
                          outcome="valid", answered=False)
    data = valid_cmrt(name, smelters=smelters if smelters is not None else DEFAULT_SMELTERS)
    result = cmrt.check(data, reference=default_reference(), expected_company=name)
    with session_scope(engine) as s:
        stored(s, "0" * 64)
        s.add(Submission(id=f"{survey_id}/submission/1", survey_id=survey_id, file_sha256="0" * 64,
                         filename=f"{supplier_id}.xlsx", received_at=NOW - timedelta(days=days_ago),
                         verdict=result.verdict, result=result.to_json_dict()))
    return survey_id


def stored(s, sha: str) -> None:
    if s.get(StoredFile, sha) is None:
        s.add(StoredFile(sha256=sha, size=10, original_filename="cmrt.xlsx"))
        s.flush()


UNSURE = DEFAULT_SMELTERS + [{"metal": "Gold", "lookup_name": "Sam Precious Metals"}]


async def test_the_review_page_confirms_a_smelter_in_one_click(web):
    seed_checked(web.engine, smelters=UNSURE)
    await web.login()
    page = await web.client.get("/review")
    assert page.status_code == 200 and "Sam Precious Metals" in page.text and "Samduck Precious Metals" in page.text
    assert "Accepted with 1 warning(s)" in page.text
    with session_scope(web.engine) as s:
        assert s.exec(select(SmelterAlias)).first() is None
    from outreach.review import review_queue

    item = next(i for i in review_queue(web.engine).items if i.kind == "smelter_match")
    r = await web.client.post("/review/answer", data={"key": item.key, "answer": "confirm", "back": "/review",
                                                      "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "now an alias of CID001555" in r.text
    assert "is it Samduck Precious Metals" not in r.text  # answered: gone from the queue
    with session_scope(web.engine) as s:
        assert s.exec(select(SmelterAlias.cid).where(SmelterAlias.lookup_key == "sam precious metals")).one() == "CID001555"
        assert s.exec(select(ReviewAnswer)).one().answered_by == "ana.analyst@company.test"
    # Without the CSRF token nothing happens.
    r = await web.client.post("/review/answer", data={"key": "x", "answer": "accept"}, follow_redirects=False)
    assert r.status_code == 403


async def test_the_api_lists_filters_and_refuses_a_wrong_answer_with_a_sentence(web):
    seed_checked(web.engine, smelters=UNSURE)
    seed_checked(web.engine, campaign_id="cmrt-2024", supplier_id="S-2", name="Beta Tin")
    headers = {"Authorization": f"Bearer {web.api_token()}"}
    r = await web.client.get("/api/v1/review", headers=headers, params={"campaign": "cmrt-2025"})
    body = r.json()
    assert r.status_code == 200 and body["total"] == 2
    assert [i["kind"] for i in body["items"]] == ["smelter_match", "accepted_with_warnings"]  # riskiest first
    r = await web.client.get("/api/v1/review", headers=headers, params={"kind": "nonsense"})
    assert r.status_code == 422 and "kinds are" in r.json()["detail"]
    from outreach.reports.figures import campaign_figures
    from outreach.reports.render import render_due_diligence_draft

    figures = campaign_figures(web.engine, "cmrt-2025")
    assert figures["review"] == {"unreviewed": 2}
    assert "2 review item(s) are still unreviewed" in render_due_diligence_draft(figures, company="Us", year=2025)
    key = body["items"][1]["key"]
    r = await web.client.post("/api/v1/review/answer", headers=headers, json={"key": key, "answer": "confirm"})
    assert r.status_code == 409 and "not an answer to this item" in r.json()["detail"]
    r = await web.client.post("/api/v1/review/answer", headers=headers, json={"key": key, "answer": "send-back"})
    assert r.status_code == 409 and "reason" in r.json()["detail"]
    r = await web.client.post("/api/v1/review/answer", headers=headers, json={"key": "nope#x", "answer": "accept"})
    assert r.status_code == 404
    r = await web.client.post("/api/v1/review/answer", headers=headers, json={"key": key, "answer": "accept"})
    assert r.status_code == 200
    assert (await web.client.get("/api/v1/review", headers=headers, params={"campaign": "cmrt-2025"})).json()["total"] == 1
    assert campaign_figures(web.engine, "cmrt-2025")["review"] == {"unreviewed": 1}


async def test_a_reopen_of_an_ended_campaign_is_refused_clearly(web):
    survey_id = seed_checked(web.engine)
    headers = {"Authorization": f"Bearer {web.api_token()}"}
    from models.tables import Campaign

    with session_scope(web.engine) as s:
        s.get(Campaign, "cmrt-2025").state = "closed"
    r = await web.client.post(f"/api/v1/surveys/{survey_id}/reopen", headers=headers, json={"reason": "doubts"})
    assert r.status_code == 409 and "campaign has ended" in r.json()["detail"]
    await web.login()
    page = await web.client.get("/suppliers/S-1")
    assert "Reject and reopen for correction" in page.text
    r = await web.client.post("/suppliers/S-1/reopen", data={"survey_id": survey_id, "reason": "doubts",
                                                              "csrf_token": csrf_from(page.text)})
    assert "Not reopened: The campaign has ended" in r.text
    with session_scope(web.engine) as s:
        assert s.get(Survey, survey_id).outcome == "valid"


async def test_the_supplier_proposes_a_contact_and_sees_only_its_own_earlier_years(web):
    survey_id = seed_checked(web.engine, supplier_id="S-1", name="Acme Metals")
    seed_checked(web.engine, campaign_id="cmrt-2024", supplier_id="S-1-old", name="Other Co")  # someone else's
    with session_scope(web.engine) as s:  # the same supplier, a year earlier
        from models.tables import Campaign

        s.get(Campaign, "cmrt-2024").year = 2024
        s.add(Survey(id="survey/cmrt-2024/S-1", campaign_id="cmrt-2024", supplier_id="S-1", state="closed",
                     outcome="valid"))
        s.flush()
        stored(s, "1" * 64)
        s.add(Submission(id="survey/cmrt-2024/S-1/submission/1", survey_id="survey/cmrt-2024/S-1",
                         file_sha256="1" * 64, filename="acme-2024.xlsx", received_at=NOW - timedelta(days=400),
                         verdict="invalid", manual_decision="accepted", result={"ok": True}))
    url = LinkSigner.from_settings(web.settings).portal_url(survey_id).removeprefix("http://portal.test")
    page = await web.client.get(url)
    assert "Your declarations in earlier years" in page.text and "acme-2024.xlsx" in page.text
    assert "Invalid, accepted by hand" in page.text and "S-1-old.xlsx" not in page.text
    r = await web.client.post(url.replace("/portal/", "/portal/", 1) + "/contact", data={
        "email": "not an address", "csrf_token": csrf_from(page.text)})
    assert "valid email address" in r.text
    r = await web.client.post(url + "/contact", data={"name": "Kenji Sato", "email": "kenji@acme.test",
                                                      "language": "ja", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "We will confirm kenji@acme.test" in r.text
    r = await web.client.post(url + "/contact", data={"name": "Kenji Sato", "email": "KENJI@acme.test",
                                                      "language": "ja", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200  # proposed twice before anyone answered: one item
    with session_scope(web.engine) as s:
        proposal = s.exec(select(ContactProposal)).one()
        assert (proposal.supplier_id, proposal.language) == ("S-1", "ja")
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "supplier.contact_proposed")).one().actor == \
            "kenji@acme.test"

    from outreach.review import answer_item, review_queue

    item = review_queue(web.engine, kind="contact_proposal").items[0]
    assert item.evidence["email"] == "kenji@acme.test"
    message = await answer_item(web.engine, item.key, "confirm", by="ana@company.test")
    assert "primary contact" in message  # the survey is closed: the supplier's contact for the next one
    with session_scope(web.engine) as s:
        primary = s.exec(select(SupplierContact).where(SupplierContact.supplier_id == "S-1",
                                                       SupplierContact.is_primary == True)).all()  # noqa: E712
        assert [(c.email, c.language) for c in primary] == [("kenji@acme.test", "ja")]
    assert review_queue(web.engine, kind="contact_proposal").total == 0


def test_the_command_line_lists_and_answers_the_same_queue(engine, db_url, monkeypatch):
    import json

    from typer.testing import CliRunner

    from outreach.cli import app

    seed_checked(engine, smelters=UNSURE)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "list", "--json", "--kind", "smelter_match"])
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.output)["items"]
    assert [i["evidence"]["suggested_cid"] for i in items] == ["CID001555"]
    wrong = runner.invoke(app, ["review", "answer", items[0]["key"], "choose", "CID000402"])
    assert wrong.exit_code == 1 and "CID000402 is a Tin smelter" in wrong.output
    chosen = runner.invoke(app, ["review", "answer", items[0]["key"], "choose", "cid000015", "--by", "ana"])
    assert chosen.exit_code == 0 and "alias of CID000015" in chosen.output
    with session_scope(engine) as s:
        assert s.exec(select(SmelterAlias.cid).where(SmelterAlias.lookup_key == "sam precious metals")).one() == \
            "CID000015"
    again = runner.invoke(app, ["review", "answer", items[0]["key"], "confirm"])
    assert again.exit_code == 1 and "No review item" in again.output
    text = runner.invoke(app, ["review", "list"])
    assert text.exit_code == 0 and "Accepted with 1 warning(s)" in text.output and "Sam Precious" not in text.output

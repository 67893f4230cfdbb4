"""The review desk end to end: the time-skipping server, the real worker, a real SMTP sink, SQLite.

A supplier's file names a smelter only in the review band; a person confirms it and the spelling becomes an
alias, so a second supplier's file with the same spelling gets the CID with no queue item. A declaration
accepted automatically is sent back with a reason: the closed survey reopens into a correction round.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from cmrt.builder import DEFAULT_SMELTERS, valid_cmrt
from models.columns import utcnow
from models.facts import review as rv
from models.survey import SubmitCmrt
from models.tables import AuditEntry, Campaign, ReviewAnswer, Submission, Supplier, Survey
from models.scorecards import Scorecard
from models.smelters import SmelterAlias, SmelterImport
from outreach.db import session_scope
from outreach.review import ReviewRefused, answer_item, reopen_survey, review_queue
from tests.survey_harness import SUPPLIER, rig, running  # noqa: F401 (rig is a fixture)

UNSURE = {"metal": "Gold", "lookup_name": "Sam Precious Metals"}  # 90% like Samduck Precious Metals (CID001555)


def unsure_cmrt(company: str = "Acme Components Ltd.") -> bytes:
    return valid_cmrt(company, smelters=DEFAULT_SMELTERS + [UNSURE])


def factory(rig):
    async def connect():
        return rig.client
    return connect


async def submit_and_close(rig, supplier_id: str, data: bytes, name: str):
    from workflows.survey import SupplierSurveyWorkflow

    h = await rig.start(supplier_id=supplier_id, supplier_name=name)
    verdict = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
        file_sha256=rig.store(data), filename=f"{supplier_id}.xlsx", submitted_by="jane@acme.test"))
    assert verdict.verdict == "valid"
    await h.result()
    return h


async def test_a_confirmed_spelling_matches_by_itself_for_the_next_supplier(rig):
    with session_scope(rig.engine) as s:
        s.add(Supplier(id="S-200", name="Beta Metals GmbH"))
    async with running(rig):
        first = await submit_and_close(rig, "S-100", unsure_cmrt(), "Acme Components Ltd.")
        queue = review_queue(rig.engine, campaign_id=rig.campaign_id, kind=rv.SMELTER_MATCH)
        assert [i.survey_id for i in queue.items] == [first.id]
        item = queue.items[0]
        assert item.evidence["suggested_cid"] == "CID001555" and item.evidence["name"] == "Sam Precious Metals"
        message = await answer_item(rig.engine, item.key, "confirm", by="ana@company.test")
        assert "CID001555" in message
        with pytest.raises(ReviewRefused):  # one answer per item
            await answer_item(rig.engine, item.key, "not-a-smelter", by="ana@company.test")
        assert review_queue(rig.engine, campaign_id=rig.campaign_id, kind=rv.SMELTER_MATCH).total == 0

        second = await submit_and_close(rig, "S-200", unsure_cmrt("Beta Metals GmbH"), "Beta Metals GmbH")
    with session_scope(rig.engine) as s:
        sub = s.exec(select(Submission).where(Submission.survey_id == second.id)).one()
        row = next(r for r in sub.result["smelters"] if r["lookup_name"] == "Sam Precious Metals")
        assert (row["cid"], row["match"]) == ("CID001555", "alias")
        alias = s.exec(select(SmelterAlias).where(SmelterAlias.lookup_key == "sam precious metals")).one()
        learned = s.get(SmelterImport, alias.import_id)
        assert learned.source_kind == "review" and alias.cid == "CID001555"
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "review.confirm")).one()
        assert entry.actor == "ana@company.test" and entry.object_id == item.key
    # The second supplier raises no item: its file matched by itself (and gave no warning).
    left = review_queue(rig.engine, campaign_id=rig.campaign_id)
    assert [i for i in left.items if i.survey_id == second.id] == []


async def test_not_a_smelter_is_remembered_for_every_supplier(rig):
    odd = {"metal": "Tin", "lookup_name": "Smelter not listed", "name": "Our Own Warehouse", "country": "CHINA"}
    with session_scope(rig.engine) as s:
        s.add(Supplier(id="S-200", name="Beta Metals GmbH"))
    async with running(rig):
        await submit_and_close(rig, "S-100", valid_cmrt(smelters=DEFAULT_SMELTERS + [odd]), "Acme Components Ltd.")
        await submit_and_close(rig, "S-200", valid_cmrt("Beta Metals GmbH", smelters=DEFAULT_SMELTERS + [odd]),
                               "Beta Metals GmbH")
    unknown = review_queue(rig.engine, campaign_id=rig.campaign_id, kind=rv.UNKNOWN_SMELTER)
    assert unknown.total == 2 and {i.evidence["name"] for i in unknown.items} == {"Our Own Warehouse"}
    await answer_item(rig.engine, unknown.items[0].key, "not-a-smelter", by="ana@company.test")
    assert review_queue(rig.engine, campaign_id=rig.campaign_id, kind=rv.UNKNOWN_SMELTER).total == 0


async def test_an_accepted_declaration_is_sent_back_and_the_survey_reopens(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await submit_and_close(rig, "S-100", unsure_cmrt(), "Acme Components Ltd.")
        with session_scope(rig.engine) as s:
            assert s.get(Survey, h.id).outcome == "valid"
        warned = review_queue(rig.engine, campaign_id=rig.campaign_id, kind=rv.ACCEPTED_WITH_WARNINGS).items
        assert len(warned) == 1
        with pytest.raises(ReviewRefused, match="reason"):
            await answer_item(rig.engine, warned[0].key, "send-back", by="ana@company.test", client_factory=factory(rig))
        reason = "Your smelter list names a refinery we cannot identify; please give its CID."
        message = await answer_item(rig.engine, warned[0].key, "send-back", by="ana@company.test", reason=reason,
                                    client_factory=factory(rig), task_queue=rig.settings.task_queue)
        assert "reopened" in message
        # The new run has taken its first steps once the correction request is out.
        for _ in range(400):
            if "correction_request" in rig.templates(SUPPLIER):
                break
            await asyncio.sleep(0.05)
        reopened = rig.client.get_workflow_handle(h.id)
        status = await reopened.query(SupplierSurveyWorkflow.status)
        assert status.state.value == "correction_requested"
        # (The request may not go out at all: the file arrived before it was sent.)
        assert rig.templates(SUPPLIER)[-2:] == ["accepted", "correction_request"]
        assert reason in rig.smtp.to(SUPPLIER)[-1].text
        with session_scope(rig.engine) as s:
            row = s.get(Survey, h.id)
            assert (row.state, row.outcome, row.correction_round) == ("correction_requested", None, 1)
            sub = s.get(Submission, f"{h.id}/submission/1")
            assert sub.manual_decision == "rejected" and "ana@company.test" in sub.manual_reason
        kinds = [e.kind for e in rig.events(h.id)]
        assert kinds[-2:] == ["reopened", "correction_request_sent"]
        event = rig.events(h.id)[-2]
        assert (event.actor, event.reason, event.state) == ("ana@company.test", reason, "correction_requested")
        # The portal asks the supplier to correct exactly that, with the reviewer's reason.
        from outreach.web.queries import survey_view

        asked = survey_view(rig.engine, h.id).correction_for()
        assert reason in str(asked)
        # The declaration no longer counts as valid: the queue's "accepted" items for it are gone.
        assert review_queue(rig.engine, campaign_id=rig.campaign_id, kind=rv.ACCEPTED_WITH_WARNINGS).total == 0

        # The supplier corrects; the survey closes valid again, and the scorecard follows every step.
        verdict = await reopened.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
            file_sha256=rig.store(valid_cmrt()), filename="fixed.xlsx", submitted_by="jane@acme.test"))
        assert verdict.verdict == "valid"
        await reopened.result()
    with session_scope(rig.engine) as s:
        row = s.get(Survey, h.id)
        assert (row.state, row.outcome) == ("closed", "valid")
        card = s.exec(select(Scorecard).where(Scorecard.supplier_id == "S-100")).one()
        assert card.events_by_kind.get("correction_round") == 1
        assert s.exec(select(ReviewAnswer).where(ReviewAnswer.answer == "send-back")).one().answered_by == \
            "ana@company.test"


async def test_a_survey_of_an_ended_campaign_cannot_be_reopened(rig):
    async with running(rig):
        h = await submit_and_close(rig, "S-100", valid_cmrt(), "Acme Components Ltd.")
        with session_scope(rig.engine) as s:
            s.get(Campaign, rig.campaign_id).state = "closed"
        with pytest.raises(ReviewRefused, match="campaign has ended"):
            await reopen_survey(rig.engine, h.id, by="ana@company.test", reason="late doubts",
                                client_factory=factory(rig), task_queue=rig.settings.task_queue)
        with session_scope(rig.engine) as s:
            camp = s.get(Campaign, rig.campaign_id)
            camp.state, camp.ends_at = "running", utcnow() - timedelta(days=1)
        with pytest.raises(ReviewRefused, match="campaign has ended"):
            await reopen_survey(rig.engine, h.id, by="ana@company.test", reason="late doubts",
                                client_factory=factory(rig), task_queue=rig.settings.task_queue)
    with session_scope(rig.engine) as s:
        assert s.get(Survey, h.id).outcome == "valid"

"""The campaign report reads only what decides its figures (no superseded round's result JSON, each smelter of
the reference list described once), and says exactly what the definitions say: a property over random
campaigns in the read model, against the plain reading (every submission with its result, every row matched
again) put through models.facts.figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import select

from cmrt.reference import default_reference
from models.facts import figures as facts
from models.facts.figures import SupplierRecord
from models.facts.survey import declaration_that_counts, effective_verdict
from models.tables import (Campaign, CorrectiveAction, CorrectiveActionPlan, Escalation, StoredFile, Submission,
                           Supplier, Survey)
from outreach.db import make_engine, session_scope
from outreach.reports import figures as report
from outreach.reports.smelters import supplier_smelters
from tests.scorecard_data import DUE, T0

REFERENCE = default_reference()
AS_OF = T0 + timedelta(days=60)
# Smelters the shipped list knows (one of them high risk) and CIDs it does not.
CIDS = ["CID000015", "CID000402", "CID003185", "CID000004", "CID000092", "CID999990", ""]
METALS = ["Gold", "Tantalum", "Tin", "Tungsten"]

smelter_rows = st.lists(st.fixed_dictionaries({
    "cid": st.sampled_from(CIDS), "metal": st.sampled_from(METALS),
    "match": st.sampled_from(["cid", "name", "unmatched", None]),
    "problems": st.sampled_from([[], ["needs_review"]]),
    "rmap_status": st.sampled_from(["Conformant", "Active", "Not Enrolled", None]),
    "name": st.sampled_from(["Smelter not listed", "Backyard Refiners", "Backyard  refiners", ""]),
    "standard_name": st.sampled_from(["Smelter A", None]),
    "country": st.sampled_from(["CHINA", "UGANDA", None]),
}), max_size=5)

results = st.one_of(st.just({}), st.fixed_dictionaries({
    "verdict": st.sampled_from(["valid", "invalid"]),
    "summary": st.fixed_dictionaries({"scope_level": st.sampled_from(["company", "product", "user_defined", None])}),
    "declaration": st.fixed_dictionaries({"company_name": st.sampled_from(["Acme", None]),
                                          "effective_date": st.sampled_from(["2026-01-31", None])}),
    "program_strength": st.sampled_from(["weak", "strong", None]),
    "metals_in_scope": st.sampled_from([["Gold"], ["Tin", "Gold"], []]),
    "questions": st.sampled_from([{}, {"Q6": {"Gold": {"answer": "Greater than 50%"}}}, {"Q6": {"Gold": {"answer": "100%"}}}]),
    "findings": st.sampled_from([[], [{"code": "x", "severity": "error"}, {"code": "y", "severity": "warning"}]]),
    "template": st.just({"version": "6.5"}),
    "smelters": smelter_rows,
}))

submissions = st.lists(st.fixed_dictionaries({
    "verdict": st.sampled_from(["valid", "invalid", "unreadable", None]),
    "purpose": st.sampled_from(["declaration", "declaration", "product_level"]),
    "manual_decision": st.sampled_from([None, None, "accepted", "rejected"]),
    "day": st.integers(0, 2),  # equal times happen: the ID breaks the tie
    "result": results,
}), max_size=3)

surveys = st.lists(st.fixed_dictionaries({
    "campaign": st.sampled_from(["c-a", "c-b"]),  # two campaigns of one year: a supplier's latest survey counts
    "day": st.integers(0, 1),
    "outcome": st.sampled_from([None, "valid", "withdrawn", "invalid_uncorrected", "suspended"]),
    "submissions": submissions,
    "plan": st.sampled_from([None, "in_progress", "closed", "cancelled", "overdue"]),
    "escalation": st.sampled_from([None, "suspend", "lapsed"]),
}), max_size=2, unique_by=lambda sv: sv["campaign"])  # one survey per supplier and campaign

campaigns = st.lists(surveys, max_size=6)


def _answered(cid: str, metal: str, status: str) -> list[dict]:
    row = {"cid": cid, "metal": metal, "match": "cid", "problems": [], "rmap_status": status, "name": "",
           "standard_name": f"{metal} works", "country": None}
    result = {"verdict": "valid", "summary": {"scope_level": "company"}, "smelters": [row]}
    return [{"campaign": "c-a", "day": 0, "outcome": "valid", "plan": None, "escalation": None,
             "submissions": [{"verdict": "valid", "purpose": "declaration", "manual_decision": None, "day": 0,
                              "result": result}]}]


# Two suppliers describe a CID the list does not know differently: each supplier's row keeps its own words.
TWO_WORDINGS = [_answered("CID999990", "Gold", "Conformant"), _answered("CID999990", "Tin", "Active"),
                _answered("CID000015", "Tin", "Active")]


def store(engine, suppliers: list[list[dict]]) -> None:
    with session_scope(engine) as s:
        for table in (CorrectiveAction, CorrectiveActionPlan, Escalation, Submission, StoredFile, Survey, Supplier, Campaign):
            s.exec(delete(table))
        for cid in ("c-a", "c-b"):
            s.add(Campaign(id=cid, year=2026, name=cid))
        for i, its_surveys in enumerate(suppliers):
            s.add(Supplier(id=f"S-{i}", name=f"Supplier {i % 3}", category="metals" if i % 2 else None))
        s.flush()
        for i, its_surveys in enumerate(suppliers):
            for j, sv in enumerate(its_surveys):
                survey_id = f"{sv['campaign']}/S-{i}/{j}"
                s.add(Survey(id=survey_id, campaign_id=sv["campaign"], supplier_id=f"S-{i}", due_at=DUE,
                             requested_at=T0, created_at=T0 + timedelta(days=sv["day"]), outcome=sv["outcome"]))
                s.flush()
                for k, sub in enumerate(sv["submissions"]):
                    sha = f"{i:02d}{j:02d}{k:02d}".ljust(64, "0")
                    s.add(StoredFile(sha256=sha, size=1))
                    s.flush()
                    s.add(Submission(id=f"{survey_id}/sub-{k}", survey_id=survey_id, file_sha256=sha,
                                     filename=f"f{k}.xlsx" if k % 2 else None, received_at=T0 + timedelta(days=sub["day"]),
                                     round=k, purpose=sub["purpose"], verdict=sub["verdict"], result=sub["result"],
                                     manual_decision=sub["manual_decision"],
                                     manual_reason="smelters checked by phone (ana@acme)" if sub["manual_decision"] else None))
                if sv["plan"]:
                    s.add(CorrectiveActionPlan(id=f"cap-{survey_id}", survey_id=survey_id, opened_at=T0, state=sv["plan"]))
                    s.flush()
                    s.add(CorrectiveAction(plan_id=f"cap-{survey_id}", number=1, description="Drop it", owner="x",
                                           target_date=T0 + timedelta(days=20), status="open"))
                if sv["escalation"]:
                    s.add(Escalation(id=f"esc-{survey_id}", survey_id=survey_id, reason="non_responsive", opened_at=DUE,
                                     decision=sv["escalation"] if sv["escalation"] != "lapsed" else None,
                                     closed_at=DUE if sv["escalation"] == "lapsed" else None,
                                     closed_as="lapsed" if sv["escalation"] == "lapsed" else None))


def plain_figures(engine, campaign_ids: list[str]) -> dict:
    """The figures read the plain way: every survey and submission whole, every smelter row matched again.
    (The review desk's count is the review desk's own call: tests/test_review_facts.py checks it.)"""
    from outreach.review import unreviewed_count

    unreviewed = unreviewed_count(engine, sorted(campaign_ids), reference=REFERENCE)  # its own transaction
    with session_scope(engine) as session:
        found = session.exec(select(Campaign).where(Campaign.id.in_(campaign_ids)).order_by(Campaign.id)).all()
        all_surveys = session.exec(select(Survey).where(Survey.campaign_id.in_(campaign_ids))).all()
        latest: dict[str, Survey] = {}
        for sv in sorted(all_surveys, key=lambda s: (s.created_at, s.id)):
            latest[sv.supplier_id] = sv
        ids = [sv.id for sv in latest.values()]
        suppliers = {s.id: s for s in session.exec(select(Supplier)).all()}
        subs = session.exec(select(Submission).where(Submission.survey_id.in_(ids))
                            .order_by(Submission.received_at, Submission.id)).all()
        plans = session.exec(select(CorrectiveActionPlan).where(CorrectiveActionPlan.survey_id.in_(ids))).all()
        actions = session.exec(select(CorrectiveAction).where(CorrectiveAction.plan_id.in_([p.id for p in plans]))).all()
        escalations = session.exec(select(Escalation).where(Escalation.survey_id.in_(ids))).all()
        records = []
        for supplier_id, sv in latest.items():
            mine = [s for s in subs if s.survey_id == sv.id]
            counted = declaration_that_counts(mine)
            used = counted.submission if counted else None
            verdicts = [effective_verdict(s) for s in mine]
            records.append(SupplierRecord(
                supplier_id=supplier_id, supplier_name=suppliers[supplier_id].name, category=suppliers[supplier_id].category,
                status=facts.supplier_standing(verdicts, withdrawn=sv.outcome == "withdrawn", final=sv.outcome is not None),
                result=used.result if used else None, files=[s.filename or s.id for s in mine], submissions=len(mine),
                outcome=sv.outcome, corrected=facts.corrected(verdicts),
                review=facts.hand_review(used.manual_decision, used.manual_reason) if used else None))
        source = {"kind": "campaign", "campaigns": [c.id for c in found], "year": 2026,
                  "name": found[0].name if len(found) == 1 else "2026 campaigns"}
        return facts.compute_figures(records, smelters_of=lambda r: supplier_smelters(r, REFERENCE), source=source,
                                     corrective_actions=facts.plan_figures(plans, actions, as_of=AS_OF),
                                     escalations=facts.escalation_figures(escalations),
                                     unreviewed=unreviewed)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_report_says_what_the_definitions_say(kind, tmp_path):
    from tests.conftest import migrated_url

    engine = make_engine(migrated_url(kind, tmp_path))

    @settings(max_examples=60 if kind == "sqlite" else 25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(campaigns)
    @example(TWO_WORDINGS)
    def check(suppliers):
        store(engine, suppliers)
        for campaign, ids in (("c-a", ["c-a"]), (2026, ["c-a", "c-b"])):
            fast = report.campaign_figures(engine, campaign, reference=REFERENCE, as_of=AS_OF)
            fast["source"]["campaigns"] = sorted(fast["source"]["campaigns"])
            assert fast == plain_figures(engine, ids)

    try:
        check()
    finally:
        engine.dispose()

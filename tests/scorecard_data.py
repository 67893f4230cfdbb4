"""Read-model rows for scorecard and report tests: suppliers, campaigns, surveys, checked submissions."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from cmrt.types import Answer, CheckResult, SmelterRow, Summary
from models.tables import Campaign, StoredFile, Submission, Supplier, Survey
from outreach.db import session_scope

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
DUE = T0 + timedelta(days=30)


def check_result(
    *,
    verdict: str = "valid",
    program: dict[str, str] | None = None,
    smelters: list[tuple[str, str, str | None]] = (),  # (metal, cid or "", rmap_status or None)
    unknown: list[tuple[str, str]] = (),  # (metal, typed name) of rows that matched nothing
    scope: str = "company",
    metals: list[str] | None = None,
    q6: dict[str, str] | None = None,
    company: str = "Acme",
) -> dict[str, Any]:
    """The CheckResult JSON a submission stores, shaped by cmrt.types so it stays in step with the checker."""
    answers = {q: "Yes" for q in "ABCDEFGH"}
    answers.update(program or {})
    metals = ["Tantalum", "Tin", "Gold", "Tungsten"] if metals is None else metals
    q6 = q6 or {}
    rows = [
        SmelterRow(row=5 + i, metal=m, cid=cid or None, lookup_name=f"Smelter {cid}", standard_name=f"Smelter {cid}",
                   match="cid" if cid else "unmatched", rmap_status=status, risk="low" if status == "Conformant" else "medium")
        for i, (m, cid, status) in enumerate(smelters)
    ]
    rows += [
        SmelterRow(row=900 + i, metal=m, lookup_name="Smelter not listed", name=name, country="CHINA", match="unmatched")
        for i, (m, name) in enumerate(unknown)
    ]
    result = CheckResult(
        verdict=verdict,
        declaration={"company_name": company, "scope": {"company": "A. Company", "product": "B. Product (or List of Products)"}.get(scope, scope)},
        questions={"Q6": {m: Answer(answer=q6.get(m, "100%")) for m in metals}},
        company_questions={q: Answer(answer=a) for q, a in answers.items()},
        metals_in_scope=metals,
        program_strength="strong" if all(answers[q] == "Yes" for q in "ADFG") else "weak",
        summary=Summary(metals_in_scope=metals, scope_level=scope, smelter_rows=len(rows)),
        smelters=rows,
    )
    return result.to_json_dict()


def add_supplier_survey(engine, supplier_id: str, *, year: int = 2026, name: str | None = None,
                        due_at: datetime = DUE, **survey_fields) -> str:
    """A supplier with a survey in the year's campaign (created when missing). Returns the survey ID."""
    campaign_id = f"cmrt-{year}"
    survey_id = f"{campaign_id}/{supplier_id}"
    with session_scope(engine) as s:
        if s.get(Campaign, campaign_id) is None:
            s.add(Campaign(id=campaign_id, year=year, name=f"CMRT {year}"))
        if s.get(Supplier, supplier_id) is None:
            s.add(Supplier(id=supplier_id, name=name or f"Supplier {supplier_id}"))
        s.flush()
        s.add(Survey(id=survey_id, campaign_id=campaign_id, supplier_id=supplier_id, due_at=due_at,
                     requested_at=due_at - timedelta(days=30), **survey_fields))
    return survey_id


def add_submission(engine, survey_id: str, result: dict[str, Any], *, at: datetime, round: int = 0,
                   purpose: str = "declaration", manual_decision: str | None = None) -> str:
    sub_id = f"{survey_id}/sub-{round}-{purpose}-{int(at.timestamp())}"
    sha = hashlib.sha256(sub_id.encode()).hexdigest()
    with session_scope(engine) as s:
        if s.get(StoredFile, sha) is None:
            s.add(StoredFile(sha256=sha, size=1))
        s.flush()
        s.add(Submission(id=sub_id, survey_id=survey_id, file_sha256=sha, received_at=at, round=round,
                         purpose=purpose, verdict=result["verdict"], result=result, manual_decision=manual_decision))
        survey = s.get(Survey, survey_id)
        if survey.first_submission_at is None:
            survey.first_submission_at = at
            s.add(survey)
    return sub_id


def set_survey(engine, survey_id: str, **fields) -> None:
    with session_scope(engine) as s:
        survey = s.get(Survey, survey_id)
        for k, v in fields.items():
            setattr(survey, k, v)
        s.add(survey)

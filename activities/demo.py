"""The demo's supplier answers: a CMRT made by cmrt.builder, submitted the way the portal submits
(stored under its hash, then the survey's `submit` Update)."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from models.demo import AnswerKind, DemoAnswer
from models.survey import survey_workflow_id
from outreach.settings import Settings


def demo_workbook(kind: AnswerKind, company: str) -> bytes:
    from cmrt import builder

    # Dated today, so the declaration is current for whichever reporting year the demo surveys.
    today = date.today()
    if kind in ("valid", "corrected"):
        return builder.valid_cmrt(company=company, effective_date=today)
    if kind == "invalid":
        return builder.invalid_cmrt(company=company, problem="malformed_email", effective_date=today)
    if kind == "high_risk":
        return builder.high_risk_cmrt(company=company, effective_date=today)
    if kind == "high_risk_product_level":
        return builder.high_risk_cmrt(company=company, scope=builder.SCOPE_PRODUCT, products=["DX-200", "DX-210"],
                                      effective_date=today)
    if kind == "weak_program":
        # A valid declaration from a company with no due-diligence measures and no smelter audits of its own.
        return (builder.valid_builder(company, effective_date=today)
                .company_answer("D", "No").company_answer("G", "No").to_bytes())
    raise ValueError(f"unknown demo answer {kind!r}")


class DemoActivities:
    def __init__(self, settings: Settings, engine: Engine):
        self.settings = settings
        self.engine = engine

    @activity.defn(name="demo_answer")
    async def demo_answer(self, req: DemoAnswer) -> str:
        from models.tables import Supplier
        from outreach.campaigns import ActionRefused, submit_file

        step = req.step

        def company() -> str:
            with Session(self.engine) as s:
                supplier = s.get(Supplier, step.supplier_id)
                return supplier.name if supplier else step.supplier_id

        name = await asyncio.to_thread(company)
        data = await asyncio.to_thread(demo_workbook, step.answer, name)
        filename = f"{step.supplier_id}-{step.answer}.xlsx"
        purpose = "product_level" if step.answer == "high_risk_product_level" else "declaration"
        try:
            verdict = await submit_file(activity.client(), self.settings, self.engine,
                                        survey_workflow_id(req.campaign_id, step.supplier_id), data, filename,
                                        channel="portal", submitted_by=f"demo:{step.supplier_id}", purpose=purpose)
        except ActionRefused as exc:
            # The demo goes on: the survey moved somewhere the script did not expect.
            return f"{step.supplier_id} {step.answer}: refused ({exc})"
        return f"{step.supplier_id} {step.answer}: {verdict.verdict}, next {verdict.next_step}"

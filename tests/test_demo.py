"""`outreach demo`: demo suppliers, a demo campaign, and the scripted answers going through the real
survey workflow (the script is run in seconds here; its real timing is minutes)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session, select

from models.demo import DemoStep
from models.tables import Supplier
from outreach.demo import DEMO_STEPS, DEMO_SUPPLIERS, SILENT_SUPPLIER, demo_script_lines, start_demo


def test_the_script_shows_every_step_within_ten_minutes():
    kinds = {s.answer for s in DEMO_STEPS}
    assert {"valid", "invalid", "corrected", "high_risk", "high_risk_product_level", "weak_program"} <= kinds
    assert max(s.after for s in DEMO_STEPS) < timedelta(minutes=10)
    assert SILENT_SUPPLIER not in {s.supplier_id for s in DEMO_STEPS}
    lines = demo_script_lines()
    assert "escalated to the Supply Chain VP" in lines[-1] and float(lines[-1].split()[0]) < 10
    assert all(email.endswith(".example.com") for _, _, _, email, *_ in DEMO_SUPPLIERS)


async def test_demo_runs_the_scripted_answers_through_the_survey(dev_env, db_url, engine, smtp, settings_for):
    from worker import build_worker
    from workflows.demo import DemoScriptWorkflow

    settings = settings_for(db_url=db_url, smtp_port=smtp.port)
    fast = [step.model_copy(update={"after": timedelta(seconds=n)}) for n, step in enumerate(DEMO_STEPS, start=1)]
    async with build_worker(dev_env.client, settings, engine):
        started = await start_demo(settings, client=dev_env.client, steps=fast)
        assert started.campaign_id.startswith("demo-") and len(started.suppliers) == len(DEMO_SUPPLIERS)
        assert "Caught mail:" in started.explain() and started.mail_url.endswith("/mail")
        said = await asyncio.wait_for(
            dev_env.client.get_workflow_handle(f"demo-script/{started.campaign_id}").result(), timeout=120)
    by_step = dict(zip([(s.supplier_id, s.answer) for s in fast], said))
    assert "valid" in by_step[("DEMO-AURORA", "valid")]
    assert ": invalid" in by_step[("DEMO-BOREALIS", "invalid")]
    assert ": valid" in by_step[("DEMO-BOREALIS", "corrected")]
    assert "product_level" in by_step[("DEMO-CORDILLERA", "high_risk")]
    assert "corrective_action" in by_step[("DEMO-CORDILLERA", "high_risk_product_level")]
    with Session(engine) as s:
        assert {x.id for x in s.exec(select(Supplier).where(Supplier.category == "demo"))} == {d[0] for d in DEMO_SUPPLIERS}
    templates = {(m.template, m.rcpt_tos[0]) for m in smtp.messages}
    assert ("request", "purchasing@estuary-components.example.com") in templates  # the silent one was asked too
    assert ("correction_request", "li.wei@borealis-plating.example.com") in templates
    assert ("weak_program_guidance", "ops@delta-cable.example.com") in templates
    assert ("product_level_request", "m.rojas@cordillera-metals.example.com") in templates

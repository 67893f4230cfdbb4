"""`outreach demo` (and the dashboard's demo button): a whole campaign in minutes on the running stack.

Loads six demo suppliers (every address on example.com, so every message lands in the mail catcher),
starts a campaign on the demo policy for them alone (category ``demo``), and starts a script that makes
them answer through the same path the portal uses. Within about six minutes a person sees, in the
dashboard, the caught mail and the Temporal UI: requests, reminders, findings with sheet and cell, a
correction, guidance for a weak program, a product-level request then a corrective action plan, the
commodity manager chasing a silent supplier, and that supplier escalated to the VP. The campaign
closes and sends its summary after eleven minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from activities.campaign import DEMO_CATEGORY
from models.campaign import SupplierSelection, campaign_length
from models.demo import DemoScript, DemoStep
from models.policy import CampaignPolicy
from outreach.settings import Settings

# DEMO_CATEGORY: real campaigns leave the demo's suppliers out (activities.campaign.resolve_selection).

DEMO_SUPPLIERS = [
    # id, name, contact name, contact email, language, spend, commodity manager
    ("DEMO-AURORA", "Aurora Connectors GmbH", "Anna Berg", "anna.berg@aurora-connectors.example.com", "de", 4_200_000,
     "Sam Carter"),
    ("DEMO-BOREALIS", "Borealis Plating Co.", "Li Wei", "li.wei@borealis-plating.example.com", "zh-CN", 2_800_000,
     "Sam Carter"),
    ("DEMO-CORDILLERA", "Cordillera Metals S.A.", "Marta Rojas", "m.rojas@cordillera-metals.example.com", "es-MX",
     1_900_000, "Priya Nair"),
    ("DEMO-DELTA", "Delta Cable Works", "Tom Okafor", "ops@delta-cable.example.com", "en", 900_000, "Priya Nair"),
    ("DEMO-ESTUARY", "Estuary Components Ltd.", "Purchasing desk", "purchasing@estuary-components.example.com", "en",
     600_000, "Sam Carter"),
    ("DEMO-FJORD", "Fjord Fasteners AS", "Ingrid Dahl", "ingrid.dahl@fjord-fasteners.example.com", "en", 450_000,
     "Priya Nair"),
]

_s = lambda n: timedelta(seconds=n)  # noqa: E731
DEMO_STEPS = [
    DemoStep(after=_s(40), supplier_id="DEMO-AURORA", answer="valid",
             note="a valid CMRT: accepted at once, survey closed as valid"),
    DemoStep(after=_s(50), supplier_id="DEMO-BOREALIS", answer="invalid",
             note="an invalid CMRT: findings with sheet and cell, a correction request"),
    DemoStep(after=_s(60), supplier_id="DEMO-CORDILLERA", answer="high_risk",
             note="a refinery of concern at company level: a product-level CMRT is requested"),
    DemoStep(after=_s(70), supplier_id="DEMO-DELTA", answer="weak_program",
             note="valid, but no due-diligence measures of its own: guidance sent"),
    DemoStep(after=_s(140), supplier_id="DEMO-BOREALIS", answer="corrected",
             note="the corrected CMRT after a correction reminder: accepted"),
    DemoStep(after=_s(160), supplier_id="DEMO-CORDILLERA", answer="high_risk_product_level",
             note="the product-level CMRT confirms the risk: a corrective action plan is opened"),
    DemoStep(after=_s(150), supplier_id="DEMO-FJORD", answer="valid",
             note="a late but valid answer, after two reminders"),
]
SILENT_SUPPLIER = "DEMO-ESTUARY"  # never answers: reminders, the commodity manager chases, then the VP


class DemoError(RuntimeError):
    pass


class DemoStarted(BaseModel):
    campaign_id: str
    suppliers: list[str]
    dashboard_url: str
    campaign_url: str
    mail_url: str
    temporal_ui_url: str
    closes_at: datetime
    script: list[str]

    def __str__(self) -> str:
        return (f"Demo campaign {self.campaign_id} started for {len(self.suppliers)} demo suppliers; "
                f"answers arrive over the next minutes.")

    def explain(self) -> str:
        lines = [str(self), "", "What happens (minutes after now):"]
        lines += [f"  {line}" for line in self.script]
        lines += ["", f"Dashboard:    {self.campaign_url}", f"Caught mail:  {self.mail_url}",
                  f"Temporal UI:  {self.temporal_ui_url}",
                  f"The campaign closes and emails its summary at {self.closes_at:%H:%M} UTC."]
        return "\n".join(lines)


def demo_supplier_csv() -> bytes:
    from outreach.suppliers import write_supplier_csv

    return write_supplier_csv({
        "supplier_id": sid, "name": name, "category": DEMO_CATEGORY, "annual_spend": spend,
        "commodity_manager_name": cm, "commodity_manager_email": cm.lower().replace(" ", ".") + "@example.com",
        "contact_email": email, "contact_name": contact, "contact_language": lang,
    } for sid, name, contact, email, lang, spend, cm in DEMO_SUPPLIERS)


def demo_script_lines() -> list[str]:
    policy = CampaignPolicy.demo()
    timed = [(step.after, f"{step.supplier_id}: {step.note}") for step in DEMO_STEPS]
    timed += [(offset, f"{SILENT_SUPPLIER}: reminder {n}") for n, offset in enumerate(policy.reminder_offsets, 1)]
    timed.append((policy.response_due, f"{SILENT_SUPPLIER}: past due, its commodity manager is asked to chase"))
    timed.append((policy.response_due + policy.grace_period,
                  f"{SILENT_SUPPLIER}: still silent, escalated to the Supply Chain VP (decision link in the caught mail)"))
    return [f"{after.total_seconds() / 60:4.1f}  {text}" for after, text in sorted(timed, key=lambda t: t[0])]


async def start_demo(settings: Settings, *, client=None, now: datetime | None = None,
                     steps: list[DemoStep] | None = None, by: str | None = None) -> DemoStarted:
    """Import the demo suppliers, start the demo campaign and the answer script. Returns at once.

    ``steps`` replaces the script (tests run it in seconds); the import and the start are audited as
    ``by``'s (the analyst who loaded the demo)."""
    from outreach.campaigns import ActionRefused, start_campaign
    from outreach.db import engine_from_settings
    from outreach.suppliers import import_suppliers
    from outreach.temporal_client import connect
    from workflows.demo import DemoScriptWorkflow

    now = now or datetime.now(timezone.utc)
    client = client or await connect(settings)  # first: without Temporal there is no demo to run
    engine = engine_from_settings(settings)
    try:
        try:
            report = import_suppliers(engine, demo_supplier_csv(), "demo-suppliers.csv", by=by)
        except OperationalError as exc:
            raise DemoError(f"the database is not ready ({str(exc.orig).splitlines()[0]}): "
                            "run `outreach db upgrade`, or start the stack with `outreach up`") from None
        if report.errors:  # the demo data is ours: this is a bug, not a user error
            raise DemoError("the demo suppliers could not be imported: " + "; ".join(map(str, report.errors)))
        campaign_id = f"demo-{now:%Y%m%d-%H%M%S}"
        policy = CampaignPolicy.demo()
        try:
            await start_campaign(client, settings, year=now.year - 1, campaign_id=campaign_id,
                                 name=f"Demo campaign {now:%Y-%m-%d %H:%M}", engine=engine, by=by,
                                 selection=SupplierSelection(kind="category", categories=[DEMO_CATEGORY]),
                                 policy=policy)
        except ActionRefused as exc:
            raise DemoError(str(exc)) from None
    finally:
        engine.dispose()
    await client.start_workflow(DemoScriptWorkflow.run, DemoScript(campaign_id=campaign_id, steps=steps or DEMO_STEPS),
                                id=f"demo-script/{campaign_id}", task_queue=settings.task_queue)
    base = settings.public_base_url
    ui_host = "127.0.0.1" if settings.temporal_address.startswith(("127.", "localhost")) else \
        settings.temporal_address.rsplit(":", 1)[0]
    return DemoStarted(
        campaign_id=campaign_id, suppliers=[s[0] for s in DEMO_SUPPLIERS], dashboard_url=f"{base}/",
        campaign_url=f"{base}/campaigns/{campaign_id}", mail_url=f"{base}/mail",
        temporal_ui_url=f"http://{ui_host}:{settings.temporal_ui_port}/namespaces/{settings.temporal_namespace}/workflows",
        closes_at=now + campaign_length(policy), script=demo_script_lines(),
    )

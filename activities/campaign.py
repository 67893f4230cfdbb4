"""The campaign's side effects: freezing the selection, reading pages of suppliers, recording the
campaign's state, withdrawing its open surveys, and building the summary from the read model.

The selection is resolved once, when the campaign opens, and kept on the campaign row
(``Campaign.selection["supplier_ids"]``, biggest spenders first). Pages are slices of that list, so the
cursor the workflow carries across continue-as-new names the same supplier whatever happens to the
master data meanwhile, and the spend the selection covered is kept for the Conflict Minerals Report.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from models.campaign import (
    AddSuppliersRequest,
    AddSuppliersResult,
    CampaignOpened,
    CampaignPage,
    CampaignPageRequest,
    CampaignRecord,
    OpenCampaign,
    SummaryRequest,
    SupplierSelection,
    SurveyTarget,
    WithdrawResult,
    WithdrawSurveys,
)
from models.columns import utcnow
from models.survey import Contact, Withdraw, survey_workflow_id
from models.tables import Campaign, Supplier, SupplierContact, Survey
from outreach.db import lock_for_update, session_scope
from outreach.settings import Settings

# Suppliers the VP disengaged from are not surveyed again.
EXCLUDED_STATUSES = ("disengaged",)
DEMO_CATEGORY = "demo"


@dataclass
class ResolvedSelection:
    supplier_ids: list[str]  # with a contact, biggest spenders first
    without_contact: list[str] = field(default_factory=list)
    spend_covered: float = 0.0
    total_spend: float = 0.0


def resolve_selection(session: Session, selection: SupplierSelection) -> ResolvedSelection:
    """The suppliers a selection names, biggest spenders first (ties by supplier ID)."""
    rows = session.exec(
        select(Supplier.id, Supplier.annual_spend, Supplier.category)
        .where(Supplier.status.not_in(EXCLUDED_STATUSES))
        .order_by(Supplier.annual_spend.desc(), Supplier.id)
    ).all()
    if not (selection.kind == "category" and DEMO_CATEGORY in selection.categories):
        # The demo's suppliers (`outreach demo`) never join a real campaign, nor count in its spend.
        rows = [r for r in rows if r[2] != DEMO_CATEGORY]
    total = sum(max(spend or 0.0, 0.0) for _, spend, _ in rows)
    chosen: list[tuple[str, float]] = []
    if selection.kind == "all":
        chosen = [(sid, spend) for sid, spend, _ in rows]
    elif selection.kind == "category":
        chosen = [(sid, spend) for sid, spend, cat in rows if (cat or "") in selection.categories]
    elif total <= 0:
        chosen = [(sid, spend) for sid, spend, _ in rows]  # no spend recorded: a share means nothing
    else:
        # The smallest set covering the share: walk down from the biggest spender until covered.
        target = selection.share * total
        covered = 0.0
        for sid, spend, cat in rows:
            if covered < target or (cat or "") in selection.categories:
                chosen.append((sid, spend))
                covered += spend or 0.0
    with_contact = _with_contact(session, [sid for sid, _ in chosen])
    return ResolvedSelection(
        supplier_ids=[sid for sid, _ in chosen if sid in with_contact],
        without_contact=[sid for sid, _ in chosen if sid not in with_contact],
        spend_covered=sum(spend or 0.0 for sid, spend in chosen),
        total_spend=total,
    )


def _with_contact(session: Session, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found.update(session.exec(select(SupplierContact.supplier_id).where(SupplierContact.supplier_id.in_(chunk))).all())
    return found


def _primary_contacts(session: Session, ids: list[str]) -> dict[str, SupplierContact]:
    contacts: dict[str, SupplierContact] = {}
    rows = session.exec(
        select(SupplierContact).where(SupplierContact.supplier_id.in_(ids))
        .order_by(SupplierContact.is_primary.desc(), SupplierContact.id)
    ).all()
    for c in rows:
        contacts.setdefault(c.supplier_id, c)
    return contacts


class CampaignActivities:
    def __init__(self, settings: Settings, engine: Engine):
        self.settings = settings
        self.engine = engine

    # --- Opening and pages ------------------------------------------------------------------

    @activity.defn(name="open_campaign")
    def open_campaign(self, req: OpenCampaign) -> CampaignOpened:
        """Create (or take over) the campaign row and freeze its selection; a retry reuses the frozen one."""
        with session_scope(self.engine) as session:
            campaign = lock_for_update(session, Campaign, req.campaign_id)
            if campaign is not None and "supplier_ids" in (campaign.selection or {}):
                frozen = campaign.selection
                campaign.state = "running"
                campaign.workflow_id = req.workflow_id
                session.add(campaign)
                return CampaignOpened(selected=len(frozen["supplier_ids"]), without_contact=len(frozen.get("without_contact", [])),
                                      spend_covered=frozen.get("spend_covered", 0.0), total_spend=frozen.get("total_spend", 0.0))
            resolved = resolve_selection(session, req.selection)
            if campaign is None:
                campaign = Campaign(id=req.campaign_id, year=req.year, name=req.name)
            campaign.year, campaign.name, campaign.state = req.year, req.name, "running"
            campaign.kind, campaign.minerals = req.kind, list(req.minerals)
            campaign.workflow_id = req.workflow_id
            campaign.policy = req.policy.model_dump(mode="json")
            campaign.selection = {
                **req.selection.model_dump(mode="json"),
                "description": req.selection.describe(),
                "supplier_ids": resolved.supplier_ids,
                "without_contact": resolved.without_contact,
                "late_added": [],
                "spend_covered": resolved.spend_covered,
                "total_spend": resolved.total_spend,
            }
            campaign.suppliers_selected = len(resolved.supplier_ids)
            campaign.starts_at, campaign.ends_at = req.starts_at, req.ends_at
            campaign.updated_at = utcnow()
            session.add(campaign)
        activity.logger.info("campaign %s selected %d suppliers (%s)", req.campaign_id, len(resolved.supplier_ids),
                             req.selection.describe())
        return CampaignOpened(selected=len(resolved.supplier_ids), without_contact=len(resolved.without_contact),
                              spend_covered=resolved.spend_covered, total_spend=resolved.total_spend)

    @activity.defn(name="campaign_page")
    def campaign_page(self, req: CampaignPageRequest) -> CampaignPage:
        """The suppliers at positions [cursor, cursor + limit) of the frozen selection."""
        with Session(self.engine) as session:
            campaign = session.get(Campaign, req.campaign_id)
            if campaign is None:
                raise RuntimeError(f"campaign {req.campaign_id} has no row (open_campaign did not run)")
            ids = list(campaign.selection.get("supplier_ids", []))[req.cursor:req.cursor + req.limit]
            suppliers = {s.id: s for s in session.exec(select(Supplier).where(Supplier.id.in_(ids)))} if ids else {}
            contacts = _primary_contacts(session, ids) if ids else {}
        targets = []
        for sid in ids:
            supplier, contact = suppliers.get(sid), contacts.get(sid)
            if supplier is None or contact is None:
                continue  # removed from the master data since the selection was frozen
            targets.append(SurveyTarget(
                supplier_id=sid, supplier_name=supplier.name,
                contact=Contact(name=contact.name, email=contact.email, language=contact.language),
                commodity_manager_name=supplier.commodity_manager_name,
                commodity_manager_email=supplier.commodity_manager_email, spend=supplier.annual_spend,
            ))
        return CampaignPage(targets=targets, next_cursor=req.cursor + len(ids))

    @activity.defn(name="add_campaign_suppliers")
    def add_campaign_suppliers(self, req: AddSuppliersRequest) -> AddSuppliersResult:
        """Append late additions to the frozen selection; the fan-out starts them with its next page."""
        result = AddSuppliersResult()
        with session_scope(self.engine) as session:
            campaign = lock_for_update(session, Campaign, req.campaign_id)
            if campaign is None:
                raise RuntimeError(f"campaign {req.campaign_id} has no row")
            selection = dict(campaign.selection)
            ids = list(selection.get("supplier_ids", []))
            present = set(ids)
            wanted = list(dict.fromkeys(s.strip() for s in req.supplier_ids if s.strip()))
            known = set(session.exec(select(Supplier.id).where(Supplier.id.in_(wanted))).all()) if wanted else set()
            with_contact = _with_contact(session, list(known))
            for sid in wanted:
                if sid in present:
                    result.already_in_campaign.append(sid)
                elif sid not in known:
                    result.unknown.append(sid)
                elif sid not in with_contact:
                    result.without_contact.append(sid)
                else:
                    ids.append(sid)
                    present.add(sid)
                    result.added.append(sid)
            if result.added:
                selection["supplier_ids"] = ids
                selection["late_added"] = [*selection.get("late_added", []), *result.added]
                # A new dict, so SQLAlchemy sees the JSON column changed.
                campaign.selection = selection
                campaign.suppliers_selected = len(ids)
                campaign.updated_at = utcnow()
                session.add(campaign)
            result.selected = len(ids)
        return result

    @activity.defn(name="record_campaign")
    def record_campaign(self, rec: CampaignRecord) -> None:
        """Write the campaign's state (values are set, not added, so a retry changes nothing)."""
        with session_scope(self.engine) as session:
            campaign = lock_for_update(session, Campaign, rec.campaign_id)
            if campaign is None:
                return
            campaign.state = rec.state.value
            if rec.surveys_started is not None:
                campaign.surveys_started = rec.surveys_started
            if rec.closed_at is not None:
                campaign.closed_at = rec.closed_at
            campaign.updated_at = utcnow()
            session.add(campaign)

    # --- Cancelling ---------------------------------------------------------------------------

    @activity.defn(name="withdraw_campaign_surveys")
    async def withdraw_campaign_surveys(self, req: WithdrawSurveys) -> WithdrawResult:
        """Send the survey `withdraw` Update to every survey of the campaign still open.

        Heartbeats its position, so a retry after a worker crash resumes instead of starting over;
        a survey that already ended (or never started) is counted, not an error.
        """
        ids, closed = await asyncio.to_thread(self._withdraw_candidates, req.campaign_id)
        details = activity.info().heartbeat_details
        start = int(details[0]) if details else 0
        result = WithdrawResult(not_running=len(closed))
        client = activity.client()
        payload = Withdraw(by=req.by, reason=req.reason or "the campaign was cancelled")

        async def withdraw_one(survey_id: str) -> str:
            handle = client.get_workflow_handle(survey_id)
            try:
                await handle.execute_update("withdraw", payload, id=f"campaign-cancel/{req.campaign_id}")
                return "withdrawn"
            except WorkflowUpdateFailedError:
                return "refused"  # the survey's validator said no (e.g. it is closing)
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    return "not_running"  # never started, or already completed
                raise

        batch = 20
        for position in range(start, len(ids), batch):
            outcomes = await asyncio.gather(*(withdraw_one(s) for s in ids[position:position + batch]))
            for outcome in outcomes:
                setattr(result, outcome, getattr(result, outcome) + 1)
            activity.heartbeat(position + batch)
        return result

    def _withdraw_candidates(self, campaign_id: str) -> tuple[list[str], set[str]]:
        with Session(self.engine) as session:
            campaign = session.get(Campaign, campaign_id)
            supplier_ids = list((campaign.selection if campaign else {}).get("supplier_ids", []))
            closed = set(session.exec(select(Survey.supplier_id).where(
                Survey.campaign_id == campaign_id, Survey.closed_at.is_not(None))).all())
        open_ids = [survey_workflow_id(campaign_id, s) for s in supplier_ids if s not in closed]
        return open_ids, closed

    # --- Summary -----------------------------------------------------------------------------

    @activity.defn(name="campaign_summary")
    def campaign_summary(self, req: SummaryRequest) -> dict[str, Any]:
        """The summary email's context, from the read model."""
        from outreach.progress import campaign_progress

        progress = campaign_progress(self.engine, req.campaign_id, overdue_limit=20)
        return {
            "campaign": progress.model_dump(mode="json"),
            "final_state": req.state.value,
            "dashboard_url": f"{self.settings.public_base_url}/campaigns/{req.campaign_id}",
        }

    def all(self) -> list[Callable]:
        return [self.open_campaign, self.campaign_page, self.add_campaign_suppliers, self.record_campaign,
                self.withdraw_campaign_surveys, self.campaign_summary]

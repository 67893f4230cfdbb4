"""A campaign's progress, read from the database (never from Temporal).

``campaign_progress(engine, campaign_id)`` is what the dashboard, the CLI (`outreach campaign status`)
and the campaign's closing summary show: counts per state and outcome, the response rate so far,
overdue suppliers, open corrective action plans and escalations (and, apart, those that lapsed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.columns import utcnow
from models.facts.survey import OUTCOMES_WITH_VALID_DECLARATION, outcome_standing
from models.tables import Campaign, CorrectiveActionPlan, Escalation, Supplier, Survey


class CampaignNotFound(LookupError):
    pass


class OverdueSupplier(BaseModel):
    survey_id: str
    supplier_id: str
    supplier_name: str
    state: str
    due_at: datetime
    days_overdue: int
    commodity_manager_name: Optional[str] = None
    commodity_manager_email: Optional[str] = None


class OpenCase(BaseModel):
    """An open corrective action plan or escalation."""

    id: str
    survey_id: str
    supplier_id: str
    supplier_name: str
    reason: Optional[str] = None
    state: Optional[str] = None
    opened_at: datetime


class LapsedCase(BaseModel):
    """An escalation the Supply Chain VP let lapse: no decision after every reminder."""

    id: str
    survey_id: str
    supplier_id: str
    supplier_name: str
    reason: Optional[str] = None
    opened_at: datetime
    lapsed_at: datetime
    outcome: Optional[str] = Field(None, description="What the survey's outcome became (its provisional one).")


class CampaignProgress(BaseModel):
    campaign_id: str
    name: str
    year: int
    state: str
    selection: str = Field(description="What the campaign surveys, in words.")
    starts_at: Optional[datetime] = None
    ends_at: Optional[datetime] = None
    closed_at: Optional[datetime] = None
    spend_covered: float = 0.0
    total_spend: float = 0.0
    selected: int = Field(description="Suppliers in scope (late additions included).")
    surveys: int = Field(description="Surveys that exist (their request is out or about to be).")
    not_started: int
    by_state: dict[str, int]
    by_outcome: dict[str, int] = Field(description="Final outcomes: closed surveys only.")
    provisional_outcomes: dict[str, int] = Field(
        default_factory=dict,
        description="Outcomes already set on open surveys (escalated: the VP has not decided yet); not final.")
    open_surveys: int
    responded: int = Field(description="Surveys with at least one submission.")
    response_rate: float = Field(description="responded / surveys, 0..1 (0 when no survey yet).")
    valid: int = Field(description="Closed with a valid declaration (models.facts.survey.OUTCOMES_WITH_VALID_DECLARATION).")
    overdue_count: int
    overdue: list[OverdueSupplier] = Field(description="Most overdue first, up to the limit asked.")
    open_caps_count: int
    open_caps: list[OpenCase]
    open_escalations_count: int = Field(description="Escalations awaiting the VP's decision.")
    open_escalations: list[OpenCase]
    lapsed_escalations_count: int = Field(
        0, description="Escalations that lapsed without a decision (counted apart: they are not open).")
    lapsed_escalations: list[LapsedCase] = Field(default_factory=list)

    @property
    def spend_share(self) -> float:
        return self.spend_covered / self.total_spend if self.total_spend else 0.0


def campaign_progress(engine: Engine, campaign_id: str, *, overdue_limit: int = 100,
                      now: datetime | None = None) -> CampaignProgress:
    now = now or utcnow()
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise CampaignNotFound(f"no campaign {campaign_id!r}")
        in_campaign = Survey.campaign_id == campaign_id
        by_state = dict(session.exec(select(Survey.state, func.count()).where(in_campaign).group_by(Survey.state)).all())
        # The read model sets the outcome when a case escalates, before the VP decides: only a closed
        # survey's outcome is final; one pending the VP is counted apart, so nobody reads an open case as
        # ended; one left from an earlier step of a survey that moved on holds no longer (outcome_standing).
        by_outcome: dict[str, int] = {}
        provisional_outcomes: dict[str, int] = {}
        for outcome, state, n in session.exec(
            select(Survey.outcome, Survey.state, func.count())
            .where(in_campaign, Survey.outcome.is_not(None)).group_by(Survey.outcome, Survey.state)
        ).all():
            standing = outcome_standing(outcome, state)
            if standing.outcome is None:
                continue
            counts = by_outcome if standing.final else provisional_outcomes
            counts[outcome] = counts.get(outcome, 0) + n
        surveys = sum(by_state.values())
        responded = session.exec(select(func.count()).select_from(Survey).where(
            in_campaign, Survey.first_submission_at.is_not(None))).one()
        open_surveys = session.exec(select(func.count()).select_from(Survey).where(
            in_campaign, Survey.closed_at.is_(None))).one()

        overdue_filter = (in_campaign, Survey.closed_at.is_(None), Survey.first_submission_at.is_(None),
                          Survey.due_at.is_not(None), Survey.due_at < now)
        overdue_count = session.exec(select(func.count()).select_from(Survey).where(*overdue_filter)).one()
        overdue_rows = session.exec(
            select(Survey, Supplier).join(Supplier, Supplier.id == Survey.supplier_id)
            .where(*overdue_filter).order_by(Survey.due_at, Survey.supplier_id).limit(overdue_limit)
        ).all()
        overdue = [OverdueSupplier(
            survey_id=s.id, supplier_id=s.supplier_id, supplier_name=sup.name, state=s.state, due_at=s.due_at,
            days_overdue=max((now - s.due_at).days, 0),
            commodity_manager_name=sup.commodity_manager_name, commodity_manager_email=sup.commodity_manager_email,
        ) for s, sup in overdue_rows]

        caps = session.exec(
            select(CorrectiveActionPlan, Survey, Supplier)
            .join(Survey, Survey.id == CorrectiveActionPlan.survey_id).join(Supplier, Supplier.id == Survey.supplier_id)
            .where(in_campaign, CorrectiveActionPlan.closed_at.is_(None)).order_by(CorrectiveActionPlan.opened_at)
        ).all()
        escalations = session.exec(
            select(Escalation, Survey, Supplier)
            .join(Survey, Survey.id == Escalation.survey_id).join(Supplier, Supplier.id == Survey.supplier_id)
            .where(in_campaign, Escalation.closed_at.is_(None), Escalation.decision.is_(None))
            .order_by(Escalation.opened_at)
        ).all()
        lapsed = session.exec(
            select(Escalation, Survey, Supplier)
            .join(Survey, Survey.id == Escalation.survey_id).join(Supplier, Supplier.id == Survey.supplier_id)
            .where(in_campaign, Escalation.closed_as == "lapsed").order_by(Escalation.closed_at)
        ).all()

    selection = campaign.selection or {}
    selected = len(selection.get("supplier_ids", [])) or campaign.suppliers_selected
    return CampaignProgress(
        campaign_id=campaign.id, name=campaign.name, year=campaign.year, state=campaign.state,
        selection=selection.get("description", ""), starts_at=campaign.starts_at, ends_at=campaign.ends_at,
        closed_at=campaign.closed_at, spend_covered=selection.get("spend_covered", 0.0),
        total_spend=selection.get("total_spend", 0.0), selected=selected, surveys=surveys,
        not_started=max(selected - surveys, 0), by_state=by_state, by_outcome=by_outcome,
        provisional_outcomes=provisional_outcomes, open_surveys=open_surveys,
        responded=responded, response_rate=responded / surveys if surveys else 0.0,
        valid=sum(by_outcome.get(o.value, 0) for o in OUTCOMES_WITH_VALID_DECLARATION),
        overdue_count=overdue_count, overdue=overdue,
        open_caps_count=len(caps),
        open_caps=[OpenCase(id=c.id, survey_id=s.id, supplier_id=s.supplier_id, supplier_name=sup.name, reason=c.reason,
                            state=c.state, opened_at=c.opened_at) for c, s, sup in caps],
        open_escalations_count=len(escalations),
        open_escalations=[OpenCase(id=e.id, survey_id=s.id, supplier_id=s.supplier_id, supplier_name=sup.name,
                                   reason=e.reason, opened_at=e.opened_at) for e, s, sup in escalations],
        lapsed_escalations_count=len(lapsed),
        lapsed_escalations=[LapsedCase(id=e.id, survey_id=s.id, supplier_id=s.supplier_id, supplier_name=sup.name,
                                       reason=e.reason, opened_at=e.opened_at, lapsed_at=e.closed_at,
                                       outcome=s.outcome) for e, s, sup in lapsed],
    )


def list_campaigns(engine: Engine) -> list[Campaign]:
    """Every campaign, newest year first."""
    with Session(engine) as session:
        return list(session.exec(select(Campaign).order_by(Campaign.year.desc(), Campaign.created_at.desc())))

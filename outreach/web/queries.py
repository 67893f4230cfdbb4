"""What the pages and the API read from the database (the read model). No Temporal here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, or_, select

from models.enums import SurveyState
from models.facts.correction import CorrectionRequest, correction_request, findings_to_correct
from models.policy import CampaignPolicy
from models.facts.messages import ReminderCount, reminder_count
from outreach.db import contains_text
from outreach.outbox import message_records, survey_messages
from outreach.progress import list_campaigns
from models.tables import (
    Campaign,
    CorrectiveAction,
    CorrectiveActionPlan,
    Escalation,
    Finding,
    OutboxMessage,
    StoredFile,
    Submission,
    Supplier,
    SupplierContact,
    Survey,
    SurveyEvent,
)

PAGE_SIZE = 100


def is_overdue(survey: Survey | None, now: datetime | None = None) -> bool:
    """Open, never answered, past its due date (the same rule as outreach.progress)."""
    if survey is None or survey.closed_at is not None or survey.first_submission_at is not None:
        return False
    return survey.due_at is not None and survey.due_at < (now or datetime.now(timezone.utc))


# --- Campaigns ---------------------------------------------------------------------------------

campaigns = list_campaigns


def campaign(engine: Engine, campaign_id: str) -> Campaign | None:
    with Session(engine) as s:
        return s.get(Campaign, campaign_id)


def latest_campaign_id(engine: Engine) -> str | None:
    found = campaigns(engine)
    return found[0].id if found else None


# --- Supplier table ----------------------------------------------------------------------------


@dataclass
class SupplierFilters:
    campaign_id: Optional[str] = None
    state: Optional[str] = None
    outcome: Optional[str] = None
    category: Optional[str] = None
    manager: Optional[str] = None
    overdue: bool = False
    q: Optional[str] = None
    sort: str = "name"
    page: int = 1

    def query_string(self, **changes) -> str:
        from urllib.parse import urlencode

        values = {**self.__dict__, **changes}
        pairs = {k: v for k, v in values.items() if v not in (None, "", False)
                 and not (k == "page" and v == 1) and not (k == "sort" and v == "name")}
        if pairs.get("overdue"):
            pairs["overdue"] = "1"
        return urlencode(pairs)


SORTS = {
    "name": (Supplier.name,),
    "spend": (Supplier.annual_spend.desc(), Supplier.name),
    "due": (Survey.due_at, Supplier.name),
    "state": (Survey.state, Supplier.name),
}


@dataclass
class SupplierRow:
    supplier: Supplier
    survey: Optional[Survey]
    overdue: bool


@dataclass
class SupplierPage:
    rows: list[SupplierRow]
    total: int
    page: int
    pages: int
    filters: SupplierFilters


def supplier_table(engine: Engine, f: SupplierFilters, page_size: int = PAGE_SIZE) -> SupplierPage:
    """Suppliers with their survey in one campaign (the latest by default), filtered and paged."""
    now = datetime.now(timezone.utc)
    with Session(engine) as s:
        join_on = (Survey.supplier_id == Supplier.id) & (Survey.campaign_id == f.campaign_id)
        stmt = select(Supplier, Survey).join(Survey, join_on, isouter=not (f.state or f.outcome or f.overdue))
        if f.state:
            stmt = stmt.where(Survey.state == f.state)
        if f.outcome:
            stmt = stmt.where(Survey.outcome == f.outcome)
        if f.overdue:
            stmt = stmt.where(Survey.closed_at.is_(None), Survey.first_submission_at.is_(None),
                              Survey.due_at.is_not(None), Survey.due_at < now)
        if f.category:
            stmt = stmt.where(Supplier.category == f.category)
        if f.manager:
            stmt = stmt.where(func.lower(Supplier.commodity_manager_email) == f.manager.strip().lower())
        if f.q:
            stmt = stmt.where(contains_text(f.q.strip(), Supplier.name, Supplier.id))
        total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
        pages = max(1, -(-total // page_size))
        page = min(max(1, f.page), pages)
        order = SORTS.get(f.sort, SORTS["name"])
        rows = s.exec(stmt.order_by(*order, Supplier.id).offset((page - 1) * page_size).limit(page_size)).all()
        return SupplierPage(
            rows=[SupplierRow(sup, sur, is_overdue(sur, now)) for sup, sur in rows],
            total=total, page=page, pages=pages, filters=f,
        )


def filter_choices(engine: Engine) -> dict[str, list]:
    with Session(engine) as s:
        categories = [c for c in s.exec(select(Supplier.category).distinct().order_by(Supplier.category)) if c]
        managers = s.exec(
            select(Supplier.commodity_manager_email, Supplier.commodity_manager_name)
            .where(Supplier.commodity_manager_email.is_not(None)).distinct()
            .order_by(Supplier.commodity_manager_name)
        ).all()
    return {
        "states": [st.value for st in SurveyState],
        "categories": categories,
        "managers": [(email, name or email) for email, name in managers],
    }


# --- One supplier ------------------------------------------------------------------------------


@dataclass
class SubmissionView:
    submission: Submission
    findings: list[Finding]
    file: Optional[StoredFile]


@dataclass
class PlanView:
    plan: CorrectiveActionPlan
    actions: list[CorrectiveAction]


@dataclass
class SurveyView:
    survey: Survey
    campaign: Optional[Campaign]
    events: list[SurveyEvent]
    submissions: list[SubmissionView]
    emails: list[OutboxMessage]
    plans: list[PlanView]
    escalations: list[Escalation]
    overdue: bool = False

    @property
    def latest_submission(self) -> Optional[Submission]:
        return self.submissions[0].submission if self.submissions else None

    @property
    def reminders(self) -> ReminderCount:
        """Reminders to the supplier the relay accepted, the plan's included (models/facts/messages.py)."""
        return reminder_count(message_records(self.emails))

    @property
    def open_plan(self) -> Optional[PlanView]:
        return next((p for p in self.plans if p.plan.closed_at is None and p.plan.state not in
                     ("closed", "overdue", "refused", "cancelled")), None)

    @property
    def plan_states(self) -> dict[str, str]:
        """Plan workflow ID -> its state, to say in words what the survey's next step waits for."""
        return {p.plan.id: p.plan.state for p in self.plans}

    @property
    def open_escalation(self) -> Optional[Escalation]:
        return next((e for e in self.escalations if e.decision is None and e.closed_at is None), None)

    @property
    def policy(self) -> CampaignPolicy:
        try:
            return CampaignPolicy.model_validate(self.campaign.policy or {}) if self.campaign else CampaignPolicy()
        except ValueError:
            return CampaignPolicy()

    def correction_for(self, submission_id: Optional[str] = None) -> Optional[CorrectionRequest]:
        """What the supplier is asked to correct (models.facts.correction): the latest declaration's findings
        (or the reviewer's reason when it was rejected by hand), the count, the recorded deadline. None when
        no correction is requested. `submission_id`: that submission's findings, whatever the state (the
        portal's answer to an upload)."""
        subs = [x for x in self.submissions if (x.submission.id == submission_id if submission_id
                                                 else x.submission.purpose == "declaration")]
        if not subs or (submission_id is None and self.survey.state != SurveyState.correction_requested.value):
            return None
        latest = subs[0]
        sub = latest.submission
        reason = next((e.reason for e in reversed(self.events) if e.kind in REJECTED_BY_HAND
                       and (e.data or {}).get("submission_id") == sub.id), None)
        findings = findings_to_correct(latest.findings, manual_decision=sub.manual_decision, manual_reason=reason)
        waiting = self.survey.state == SurveyState.correction_requested.value
        return correction_request(findings, deadline=self.survey.answer_by if waiting else None,
                                  round=self.survey.correction_round, max_rounds=self.policy.max_correction_rounds)


# Timeline events that reject a submission by hand with the reviewer's reason (a reopen rejects the accepted one).
REJECTED_BY_HAND = ("submission_rejected_by_hand", "reopened")


@dataclass
class SupplierView:
    supplier: Supplier
    contacts: list[SupplierContact]
    surveys: list[Survey] = field(default_factory=list)


def supplier(engine: Engine, supplier_id: str) -> SupplierView | None:
    with Session(engine) as s:
        sup = s.get(Supplier, supplier_id)
        if sup is None:
            return None
        contacts = list(s.exec(select(SupplierContact).where(SupplierContact.supplier_id == supplier_id)
                               .order_by(SupplierContact.is_primary.desc(), SupplierContact.id)))
        surveys = list(s.exec(select(Survey).join(Campaign, Campaign.id == Survey.campaign_id)
                              .where(Survey.supplier_id == supplier_id)
                              .order_by(Campaign.year.desc(), Survey.created_at.desc())))
        return SupplierView(sup, contacts, surveys)


def survey_view(engine: Engine, survey_id: str) -> SurveyView | None:
    with Session(engine) as s:
        survey = s.get(Survey, survey_id)
        if survey is None:
            return None
        events = list(s.exec(select(SurveyEvent).where(SurveyEvent.survey_id == survey_id).order_by(SurveyEvent.seq)))
        subs = list(s.exec(select(Submission).where(Submission.survey_id == survey_id)
                           .order_by(Submission.received_at.desc())))
        sub_ids = [x.id for x in subs]
        findings: dict[str, list[Finding]] = {i: [] for i in sub_ids}
        if sub_ids:
            for fnd in s.exec(select(Finding).where(Finding.submission_id.in_(sub_ids)).order_by(Finding.id)):
                findings[fnd.submission_id].append(fnd)
        files = {f.sha256: f for f in s.exec(select(StoredFile).where(
            StoredFile.sha256.in_([x.file_sha256 for x in subs])))} if subs else {}
        emails = survey_messages(s, survey_id)  # the supplier's, and the chase, plan, escalation and VP mail
        plans = []
        for plan in s.exec(select(CorrectiveActionPlan).where(CorrectiveActionPlan.survey_id == survey_id)
                           .order_by(CorrectiveActionPlan.opened_at)):
            actions = list(s.exec(select(CorrectiveAction).where(CorrectiveAction.plan_id == plan.id)
                                  .order_by(CorrectiveAction.number)))
            plans.append(PlanView(plan, actions))
        escalations = list(s.exec(select(Escalation).where(Escalation.survey_id == survey_id)
                                  .order_by(Escalation.opened_at)))
        return SurveyView(
            survey=survey,
            campaign=s.get(Campaign, survey.campaign_id),
            events=events,
            submissions=[SubmissionView(x, findings[x.id], files.get(x.file_sha256)) for x in subs],
            emails=emails,
            plans=plans,
            escalations=escalations,
            overdue=is_overdue(survey),
        )


def survey_views(engine: Engine, survey_ids: list[str]) -> list[SurveyView]:
    """:func:`survey_view` of many surveys in a few queries (an export of every case), in the order asked.

    The same rows, the same order, the same SurveyView; the messages are matched to their survey by the one
    rule (models.facts.messages.belongs_to_survey) among the page's candidates: those naming one of the
    surveys, and those of the surveys' campaigns (whose keys may start with a survey's ID)."""
    from models.facts.messages import belongs_to_survey

    if not survey_ids:
        return []
    with Session(engine) as s:
        surveys = {x.id: x for x in s.exec(select(Survey).where(Survey.id.in_(survey_ids)))}
        ids = [i for i in survey_ids if i in surveys]
        events: dict[str, list[SurveyEvent]] = {i: [] for i in ids}
        for e in s.exec(select(SurveyEvent).where(SurveyEvent.survey_id.in_(ids)).order_by(SurveyEvent.seq)):
            events[e.survey_id].append(e)
        subs: dict[str, list[Submission]] = {i: [] for i in ids}
        for x in s.exec(select(Submission).where(Submission.survey_id.in_(ids)).order_by(Submission.received_at.desc())):
            subs[x.survey_id].append(x)
        findings: dict[str, list[Finding]] = {x.id: [] for group in subs.values() for x in group}
        files: dict[str, StoredFile] = {}
        for page in range(0, len(findings), 500):
            chunk = list(findings)[page:page + 500]
            for fnd in s.exec(select(Finding).where(Finding.submission_id.in_(chunk)).order_by(Finding.id)):
                findings[fnd.submission_id].append(fnd)
        shas = list({x.file_sha256 for group in subs.values() for x in group})
        for page in range(0, len(shas), 500):
            files.update({f.sha256: f for f in s.exec(select(StoredFile).where(StoredFile.sha256.in_(shas[page:page + 500])))})
        campaign_ids = {x.campaign_id for x in surveys.values()} | {i.split("/")[1] for i in ids if i.count("/") >= 2}
        emails: dict[str, list[OutboxMessage]] = {i: [] for i in ids}
        wanted = set(ids)
        for m in s.exec(select(OutboxMessage).where(or_(OutboxMessage.survey_id.in_(ids),
                                                         OutboxMessage.campaign_id.in_(campaign_ids)))
                        .order_by(OutboxMessage.created_at, OutboxMessage.id)):
            record = message_records([m])[0]
            for owner in {m.survey_id, OutboxMessage.survey_of_key(m.idempotency_key)} & wanted:
                if belongs_to_survey(record, owner):
                    emails[owner].append(m)
        plans: dict[str, list[PlanView]] = {i: [] for i in ids}
        plan_rows = list(s.exec(select(CorrectiveActionPlan).where(CorrectiveActionPlan.survey_id.in_(ids))
                                .order_by(CorrectiveActionPlan.opened_at)))
        actions: dict[str, list[CorrectiveAction]] = {p.id: [] for p in plan_rows}
        if plan_rows:
            for a in s.exec(select(CorrectiveAction).where(CorrectiveAction.plan_id.in_(list(actions)))
                            .order_by(CorrectiveAction.number)):
                actions[a.plan_id].append(a)
        for p in plan_rows:
            plans[p.survey_id].append(PlanView(p, actions[p.id]))
        escalations: dict[str, list[Escalation]] = {i: [] for i in ids}
        for e in s.exec(select(Escalation).where(Escalation.survey_id.in_(ids)).order_by(Escalation.opened_at)):
            escalations[e.survey_id].append(e)
        campaigns_by_id = {c: s.get(Campaign, c) for c in {x.campaign_id for x in surveys.values()}}
        return [SurveyView(
            survey=surveys[i], campaign=campaigns_by_id.get(surveys[i].campaign_id), events=events[i],
            submissions=[SubmissionView(x, findings[x.id], files.get(x.file_sha256)) for x in subs[i]],
            emails=emails[i], plans=plans[i], escalations=escalations[i], overdue=is_overdue(surveys[i]),
        ) for i in ids]


def survey_brief(engine: Engine, survey_id: str) -> Survey | None:
    """The survey's row alone (state, outcome), for a page that waits for it to move on."""
    with Session(engine) as s:
        return s.get(Survey, survey_id)


def survey_by_supplier(engine: Engine, supplier_id: str, campaign_id: str) -> Survey | None:
    with Session(engine) as s:
        return s.exec(select(Survey).where(Survey.supplier_id == supplier_id, Survey.campaign_id == campaign_id)).first()


def escalation(engine: Engine, escalation_id: str) -> Escalation | None:
    with Session(engine) as s:
        return s.get(Escalation, escalation_id)


def submission_file(engine: Engine, sha256: str) -> StoredFile | None:
    with Session(engine) as s:
        return s.get(StoredFile, sha256)

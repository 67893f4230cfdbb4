"""The survey lifecycle's side effects on the read model, and the check of a submitted workbook.

Every write carries a key computed in the workflow (the event's sequence number, the submission ID, the
plan and escalation IDs), so a retried or replayed activity changes nothing the second time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Optional

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from temporalio import activity

from activities.scorecards import ScorecardActivities
from models.columns import utcnow
from models.scorecards import ScorecardEvent
from models.survey import CorrectiveActionState, SubmissionFinding
from models.tables import (
    Campaign,
    CorrectiveAction,
    CorrectiveActionPlan,
    Escalation,
    Finding,
    StoredFile,
    Submission,
    Supplier,
    SupplierContact,
    Survey,
    SurveyEvent,
)
from models.facts.messages import reminder_count
from outreach import audit
from outreach.db import session_scope
from outreach.outbox import message_records, survey_messages
from outreach.settings import Settings, workbook_guard
from outreach.storage import FileStore

log = logging.getLogger(__name__)


# --- Payloads ------------------------------------------------------------------------------------


class SurveyColumns(BaseModel):
    """The survey row's columns as the workflow knows them (typed, so datetimes stay datetimes)."""

    outcome: Optional[str] = None
    contact_name: Optional[str] = None
    contact_email: Optional[str] = None
    language: str = "en"
    paused: bool = False
    contact_bounced: bool = False
    correction_round: int = 0
    reminders_sent: int = 0
    requested_at: Optional[datetime] = None
    due_at: Optional[datetime] = None
    answer_by: Optional[datetime] = None
    first_submission_at: Optional[datetime] = None
    last_submission_id: Optional[str] = None
    next_step: Optional[str] = None
    next_step_at: Optional[datetime] = None
    program_strength: Optional[str] = None
    declaration_scope: Optional[str] = None
    closed_at: Optional[datetime] = None


class SurveyRecord(BaseModel):
    """One transition: the survey's current row and the timeline event numbered `seq`."""

    survey_id: str
    campaign_id: str
    campaign_year: int
    supplier_id: str
    supplier_name: str
    seq: int
    at: datetime
    kind: str
    state: str
    actor: Optional[str] = None
    reason: Optional[str] = None
    data: dict[str, Any] = Field(default_factory=dict)
    # The survey row's columns (all of them, each time: the latest sequence number wins).
    survey: SurveyColumns = Field(default_factory=SurveyColumns)
    # The scorecard event this transition moves, applied right after it (one activity, not two).
    scorecard: Optional[ScorecardEvent] = None


class CheckRequest(BaseModel):
    survey_id: str
    submission_id: str
    file_sha256: str
    filename: Optional[str] = None
    channel: str = "portal"
    submitted_by: Optional[str] = None
    received_at: datetime
    round: int = 0
    purpose: str = "declaration"
    campaign_year: Optional[int] = None
    # The supplier's name as the compliance team knows it: a declaration in another company's name gets a
    # warning. Optional with a default, so requests in histories recorded before it still decode.
    supplier_name: Optional[str] = None
    # The template the survey asks for: an EMRT campaign judges EMRTs and refuses CMRTs, and vice versa.
    expected_kind: str = "CMRT"


class CheckOutcome(BaseModel):
    submission_id: str
    verdict: str  # valid / invalid / unreadable
    findings: list[SubmissionFinding] = Field(default_factory=list)
    error_count: int = 0
    high_risk_smelters: int = 0
    declaration_scope: Optional[str] = None
    program_strength: Optional[str] = None
    template_version: Optional[str] = None


class ManualReviewRecord(BaseModel):
    submission_id: str
    decision: str  # accepted / rejected
    by: str
    reason: str


class EscalationOpen(BaseModel):
    escalation_id: str
    survey_id: str
    reason: str
    opened_at: datetime


class CaseSummary(BaseModel):
    """What the VP reads before deciding: who, how much business, what happened, what was tried."""

    supplier_id: str
    supplier_name: str
    supplier_status: str = "active"
    category: Optional[str] = None
    country: Optional[str] = None
    annual_spend: float = 0.0
    commodity_manager: Optional[str] = None
    campaign_id: Optional[str] = None
    state: Optional[str] = None
    reminders_sent: int = 0  # reminders the supplier received, the plan's included (models/facts/messages.py)
    reminders_text: str = ""  # the same in words: "3 reminder(s) (2 reminder to answer, 1 ...)"
    correction_rounds: int = 0
    submissions: int = 0
    history: list[dict[str, Any]] = Field(default_factory=list)  # {at, kind, reason}
    findings: list[dict[str, Any]] = Field(default_factory=list)  # latest submission's findings


class EscalationRecord(BaseModel):
    escalation_id: str
    reminders_sent: int = 0
    decision: Optional[str] = None
    decided_by: Optional[str] = None
    decided_at: Optional[datetime] = None
    decision_reason: Optional[str] = None
    supplier_id: Optional[str] = None


class CapRecord(BaseModel):
    cap_id: str
    survey_id: str
    reason: Optional[str] = None
    state: str
    opened_at: datetime
    closed_at: Optional[datetime] = None
    actions: list[CorrectiveActionState] = Field(default_factory=list)


def _audit_transition(session, rec: SurveyRecord, before: dict[str, Any] | None) -> None:
    """The transition's entry in the audit trail, written once with its timeline event: by the person who
    acted (the survey's Update carries who, from every face: pages, API, CLI, portal, decision link), else
    by the product. Before and after hold what changed; a late write that changed nothing has no before."""
    after = {"state": rec.state, **{name: value for name, value in rec.survey}}
    if before is not None:
        changed = {k for k in after if _plain_value(before.get(k)) != _plain_value(after[k])}
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after[k] for k in sorted(changed)}
    if rec.data:
        after = {**after, "details": rec.data}
    audit.record(session, actor=rec.actor, action=f"survey.{rec.kind}", object_type="survey",
                 object_id=rec.survey_id, campaign_id=rec.campaign_id, reason=rec.reason,
                 before=before, after=after, at=rec.at)


def _plain_value(value: Any) -> Any:
    return value.astimezone(timezone.utc) if isinstance(value, datetime) and value.tzinfo else value


# --- Activities ----------------------------------------------------------------------------------

class SurveyActivities:
    def __init__(self, settings: Settings, engine: Engine, scorecards: Optional[ScorecardActivities] = None):
        self.settings = settings
        self.engine = engine
        self.files = FileStore(settings.file_store_path, engine)
        self.scorecards = scorecards or ScorecardActivities(settings, engine)
        self.workbooks = workbook_guard(settings)  # every file is read in a capped child process

    # The read model ------------------------------------------------------------------------------

    @activity.defn(name="record_survey_event")
    def record_survey_event(self, rec: SurveyRecord) -> None:
        with session_scope(self.engine) as session:
            survey = session.get(Survey, rec.survey_id)
            if survey is None:
                # A survey started by hand (not by a campaign) may name a campaign or supplier the read model
                # has not seen yet: create the minimal rows so the event is never lost. (A survey row that
                # exists has both: its foreign keys say so.)
                if session.get(Campaign, rec.campaign_id) is None:
                    session.add(Campaign(id=rec.campaign_id, year=rec.campaign_year, name=rec.campaign_id,
                                         state="running"))
                if session.get(Supplier, rec.supplier_id) is None:
                    session.add(Supplier(id=rec.supplier_id, name=rec.supplier_name))
                session.flush()
                survey = Survey(id=rec.survey_id, campaign_id=rec.campaign_id, supplier_id=rec.supplier_id, seq=0)
            # The audit trail's before and after: the row's columns this transition changes.
            before = {"state": survey.state, **{name: getattr(survey, name, None) for name, _ in rec.survey}} \
                if survey.seq else None
            fresh = rec.seq > survey.seq
            if rec.seq > survey.seq:  # an older write (a late retry) never overwrites a newer state
                for name, value in rec.survey:
                    setattr(survey, name, value)
                survey.state = rec.state
                survey.seq = rec.seq
                survey.updated_at = utcnow()
            session.add(survey)
            session.flush()
            exists = session.exec(
                select(SurveyEvent.id).where(SurveyEvent.survey_id == rec.survey_id, SurveyEvent.seq == rec.seq)
            ).first()
            if exists is None:
                session.add(SurveyEvent(survey_id=rec.survey_id, seq=rec.seq, at=rec.at, kind=rec.kind, state=rec.state,
                                        actor=rec.actor, reason=rec.reason, data=rec.data))
                _audit_transition(session, rec, before if fresh else None)
            _close_ended_escalations(session, rec)
            if rec.kind in ("contact_replaced", "contact_fallback"):
                _adopt_contact(session, rec)
        if rec.scorecard is not None:  # after the commit: the scorecard is recomputed from the row just written
            self.scorecards.update_scorecard(rec.scorecard)

    # Submissions ---------------------------------------------------------------------------------

    def _reference_list(self):
        """The smelter reference list as stored now, with compliance's risk register: asked of the store at
        every check (one small query while nothing changed), so a new import, an alias a reviewer confirmed
        or a risk override counts from the next submission on."""
        try:
            from outreach.reference_store import load_reference
        except ImportError:
            return None
        self._reference = load_reference(self.engine)
        return self._reference

    def _run_check(self, req: CheckRequest) -> tuple[dict[str, Any], CheckOutcome, list]:
        """cmrt.check on the stored file; a file that cannot be read is a verdict, never an error."""
        try:
            data = self.files.get(req.file_sha256)
        except (OSError, ValueError) as exc:
            finding = SubmissionFinding(code="file_not_found", severity="error",
                                        message="The uploaded file could not be found; please upload it again.")
            log.warning("submission %s: stored file %s missing: %s", req.submission_id, req.file_sha256, exc)
            return {"verdict": "unreadable"}, CheckOutcome(submission_id=req.submission_id, verdict="unreadable",
                                                            findings=[finding], error_count=1), [finding]
        # Never raises, and a file that would crash or exhaust a reader is judged "unreadable" in its child
        # process: the same bytes give the same verdict on every retry, so the survey moves on.
        result = self.workbooks.check(data, filename=req.filename, reference=self._reference_list(),
                                      campaign_year=req.campaign_year, today=req.received_at.date(),
                                      expected_company=req.supplier_name, expected_kind=req.expected_kind)
        if any(f.code in ("internal_error", "reader_failed") for f in result.findings):
            log.warning("submission %s: %s", req.submission_id, "; ".join(f.message for f in result.findings))
        scope = result.summary.scope_level if result.summary else None
        outcome = CheckOutcome(
            submission_id=req.submission_id, verdict=result.verdict, findings=_payload_findings(result.findings),
            error_count=sum(1 for f in result.findings if f.severity == "error"),
            high_risk_smelters=result.summary.high_risk_smelters if result.summary else 0,
            declaration_scope=scope, program_strength=result.program_strength,
            template_version=result.template.version if result.template else None,
        )
        return result.to_json_dict(), outcome, result.findings

    @activity.defn(name="check_submission")
    def check_submission(self, req: CheckRequest) -> CheckOutcome:
        with session_scope(self.engine) as session:
            done = session.get(Submission, req.submission_id)
            if done is not None:  # a retry after the row was written: the stored verdict stands
                findings = session.exec(select(Finding).where(Finding.submission_id == req.submission_id)
                                        .order_by(Finding.id)).all()
                return CheckOutcome(
                    submission_id=done.id, verdict=done.verdict or "unreadable",
                    findings=_payload_findings(findings),
                    error_count=sum(1 for f in findings if f.severity == "error"),
                    high_risk_smelters=int((done.result or {}).get("summary", {}).get("high_risk_smelters", 0) or 0),
                    declaration_scope=done.declaration_scope, program_strength=done.program_strength,
                    template_version=done.template_version,
                )
        result_json, outcome, all_findings = self._run_check(req)
        try:
            with session_scope(self.engine) as session:
                if session.get(StoredFile, req.file_sha256) is None:
                    size = self.files.path_for(req.file_sha256).stat().st_size if self.files.exists(req.file_sha256) else 0
                    session.add(StoredFile(sha256=req.file_sha256, size=size, original_filename=req.filename))
                    session.flush()
                session.add(Submission(
                    id=req.submission_id, survey_id=req.survey_id, file_sha256=req.file_sha256, filename=req.filename,
                    channel=req.channel, submitted_by=req.submitted_by, received_at=req.received_at, round=req.round,
                    purpose=req.purpose, verdict=outcome.verdict, template_version=outcome.template_version,
                    checker_remaining=result_json.get("checker_remaining"), program_strength=outcome.program_strength,
                    declaration_scope=outcome.declaration_scope, result=result_json,
                ))
                session.flush()
                for f in all_findings:  # every finding is kept; only the payload is bounded
                    session.add(Finding(submission_id=req.submission_id, code=f.code, severity=f.severity,
                                        sheet=f.sheet, cell=f.cell, message=f.message,
                                        params=dict(f.params or {})))
        except IntegrityError:  # a concurrent attempt stored it first; its verdict is the same
            pass
        return outcome

    @activity.defn(name="record_manual_review")
    def record_manual_review(self, rec: ManualReviewRecord) -> None:
        with session_scope(self.engine) as session:
            sub = session.get(Submission, rec.submission_id)
            if sub is not None:
                sub.manual_decision = rec.decision
                sub.manual_reason = f"{rec.reason} ({rec.by})"
                session.add(sub)

    # Escalations ---------------------------------------------------------------------------------

    @activity.defn(name="open_escalation")
    def open_escalation(self, req: EscalationOpen) -> CaseSummary:
        with session_scope(self.engine) as session:
            survey = session.get(Survey, req.survey_id)
            supplier = session.get(Supplier, survey.supplier_id) if survey else None
            events = session.exec(select(SurveyEvent).where(SurveyEvent.survey_id == req.survey_id)
                                  .order_by(SurveyEvent.seq)).all()
            subs = session.exec(select(Submission).where(Submission.survey_id == req.survey_id)
                                .order_by(Submission.received_at)).all()
            reminders = reminder_count(message_records(survey_messages(session, req.survey_id)))
            findings = []
            if subs:
                findings = [dict(code=f.code, severity=f.severity, sheet=f.sheet, cell=f.cell, message=f.message,
                                 params=None if f.params is None else dict(f.params))
                            for f in session.exec(select(Finding).where(Finding.submission_id == subs[-1].id)
                                                  .order_by(Finding.id)).all()]
            summary = CaseSummary(
                supplier_id=survey.supplier_id if survey else "",
                supplier_name=supplier.name if supplier else "",
                supplier_status=supplier.status if supplier else "active",
                category=supplier.category if supplier else None,
                country=supplier.country if supplier else None,
                annual_spend=supplier.annual_spend if supplier else 0.0,
                commodity_manager=(supplier.commodity_manager_name or supplier.commodity_manager_email) if supplier else None,
                campaign_id=survey.campaign_id if survey else None,
                state=survey.state if survey else None,
                # Every reminder the supplier received, the corrective action plan's included.
                reminders_sent=reminders.sent, reminders_text=reminders.describe(),
                correction_rounds=survey.correction_round if survey else 0,
                submissions=len(subs),
                history=[dict(at=e.at.isoformat(), kind=e.kind, reason=e.reason or "") for e in events],
                findings=findings[:50],
            )
            if session.get(Escalation, req.escalation_id) is None:
                session.add(Escalation(id=req.escalation_id, survey_id=req.survey_id, reason=req.reason,
                                       summary=summary.model_dump(mode="json"), opened_at=req.opened_at))
        return summary

    @activity.defn(name="record_escalation")
    def record_escalation(self, rec: EscalationRecord) -> None:
        with session_scope(self.engine) as session:
            esc = session.get(Escalation, rec.escalation_id)
            if esc is None:
                return
            esc.reminders_sent = max(esc.reminders_sent, rec.reminders_sent)
            if rec.decision:
                esc.decision = rec.decision
                esc.decided_by = rec.decided_by
                esc.decided_at = rec.decided_at
                esc.decision_reason = rec.decision_reason
                esc.closed_at, esc.closed_as = rec.decided_at, "decided"
                new_status = {"suspend": "suspended", "disengage": "disengaged"}.get(rec.decision)
                if new_status and rec.supplier_id:
                    supplier = session.get(Supplier, rec.supplier_id)
                    if supplier is not None:
                        supplier.status = new_status
                        supplier.updated_at = utcnow()
                        session.add(supplier)
            session.add(esc)

    # Corrective action plans ---------------------------------------------------------------------

    @activity.defn(name="record_cap")
    def record_cap(self, rec: CapRecord) -> None:
        with session_scope(self.engine) as session:
            plan = session.get(CorrectiveActionPlan, rec.cap_id)
            if plan is None:
                plan = CorrectiveActionPlan(id=rec.cap_id, survey_id=rec.survey_id, reason=rec.reason,
                                            opened_at=rec.opened_at)
            if plan.state != rec.state:  # opening the plan is the survey's transition, already in the trail
                audit.record(session, actor=None, action="corrective_action_plan.state", object_type="plan",
                             object_id=rec.cap_id, before={"state": plan.state}, after={"state": rec.state})
            plan.state = rec.state
            plan.closed_at = rec.closed_at
            session.add(plan)
            session.flush()
            rows = {a.number: a for a in session.exec(select(CorrectiveAction)
                                                      .where(CorrectiveAction.plan_id == rec.cap_id)).all()}
            for a in rec.actions:
                row = rows.get(a.number) or CorrectiveAction(plan_id=rec.cap_id, number=a.number, description=a.description,
                                                             owner=a.owner, target_date=a.target_date)
                status = a.status.value if hasattr(a.status, "value") else str(a.status)
                if row.id is not None and (row.status, row.verified_at) != (status, a.verified_at):
                    # A person moved this action on: the supplier reporting, or the team verifying.
                    verified = a.verified_at is not None and row.verified_at is None
                    audit.record(session, actor=a.verified_by if verified else None,
                                 action="corrective_action.verified" if verified else "corrective_action.reported",
                                 object_type="corrective action", object_id=f"{rec.cap_id}#{a.number}",
                                 reason=a.status_note, before={"status": row.status}, after={"status": status})
                row.status = status
                row.status_note = a.status_note
                row.reported_at = a.reported_at
                row.verified_at = a.verified_at
                row.verified_by = a.verified_by
                session.add(row)

    def all(self) -> list:
        return [self.record_survey_event, self.check_submission, self.record_manual_review, self.open_escalation,
                self.record_escalation, self.record_cap]


def _adopt_contact(session, rec: SurveyRecord) -> None:
    """A contact the compliance team set on a survey becomes the supplier's primary contact: the next
    campaign, the supplier page and a new survey use it. The old one stays on record, no longer primary.
    Idempotent: a retried write finds the row as it left it."""
    email = str(rec.data.get("to") or "").strip()
    if not email:
        return
    rows = session.exec(select(SupplierContact).where(SupplierContact.supplier_id == rec.supplier_id)).all()
    mine = next((c for c in rows if c.email.lower() == email.lower()), None)
    for c in rows:
        if c is not mine and c.is_primary:
            c.is_primary = False
            session.add(c)
    if mine is None:
        mine = SupplierContact(supplier_id=rec.supplier_id, email=email)
    if rec.data.get("name"):
        mine.name = rec.data["name"]
    if rec.data.get("language"):
        mine.language = rec.data["language"]
    mine.is_primary = True
    session.add(mine)
    supplier = session.get(Supplier, rec.supplier_id)
    if supplier is not None:
        supplier.updated_at = utcnow()
        session.add(supplier)


def _close_ended_escalations(session, rec: SurveyRecord) -> None:
    """An escalation ends without a decision when the survey says so: it lapsed (no decision after every
    reminder; the survey closed with its provisional outcome), the supplier answered late, or the survey
    closed otherwise (withdrawn). Until then it counts as open; a decision closes it itself
    (``record_escalation``). Only open, undecided rows change: a retried write changes nothing."""
    if rec.kind == "escalation_lapsed":
        closed_as, only = "lapsed", None
    elif rec.kind == "escalation_withdrawn":
        closed_as, only = "withdrawn", rec.data.get("escalation_id")
    elif rec.state == "closed":
        closed_as, only = "withdrawn", None
    else:
        return
    query = select(Escalation).where(Escalation.survey_id == rec.survey_id, Escalation.closed_at.is_(None),
                                     Escalation.decision.is_(None))
    if only:
        query = query.where(Escalation.id == only)
    for esc in session.exec(query).all():
        esc.closed_at, esc.closed_as = rec.at, closed_as
        session.add(esc)


# Findings travel in workflow state, update results and emails; Temporal refuses payloads over 2 MiB and a
# CMRT with thousands of bad rows has thousands of findings. The database keeps them all.
PAYLOAD_FINDINGS = 200
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _payload_findings(findings) -> list[SubmissionFinding]:
    ordered = sorted(findings, key=lambda f: _SEVERITY_ORDER.get(f.severity, 3))
    kept = [SubmissionFinding(code=f.code, severity=f.severity, sheet=f.sheet, cell=f.cell, message=f.message,
                              params=None if f.params is None else dict(f.params))  # None: stored before they were kept
            for f in ordered[:PAYLOAD_FINDINGS]]
    if len(ordered) > PAYLOAD_FINDINGS:
        kept.append(SubmissionFinding(
            code="more_findings", severity="info",
            message=f"{len(ordered) - PAYLOAD_FINDINGS} more findings are not listed here; the most serious are "
                    "shown first. Correct these, upload again, and the check will list what remains."))
    return kept

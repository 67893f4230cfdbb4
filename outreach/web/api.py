"""The JSON API (/api/v1): the read model and the same actions the pages use, for other systems.

Survey IDs contain slashes (``survey/cmrt-2026/S-1``); send them as they are or percent-encoded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from models import survey as contract
from models.tables import User
from outreach import roles
from outreach.db import session_scope
from outreach.progress import CampaignProgress
from outreach.web import queries
from outreach.web.actions import SURVEY_ACTIONS, ActionRejected, survey_action, survey_status
from outreach.web.auth import api_user, authorize, own_only, require_own
from outreach.web.campaigns import CampaignRequest, campaign_action, campaign_progress_or_none, start_campaign
from outreach.web.context import ctx_of
from outreach.web.uploads import submit_upload

router = APIRouter(dependencies=[Depends(authorize)])


# --- Shapes ----------------------------------------------------------------------------------


class Problem(BaseModel):
    detail: str


class ContactOut(BaseModel):
    name: Optional[str] = None
    email: str
    language: str
    is_primary: bool


class SurveyBrief(BaseModel):
    id: str
    campaign_id: str
    supplier_id: str
    state: str
    outcome: Optional[str] = None
    due_at: Optional[datetime] = None
    answer_by: Optional[datetime] = Field(None, description="By when the supplier must act in the current step: the "
                                          "due date, or the end of the correction or product-level window.")
    overdue: bool = False
    correction_round: int = 0
    reminders_sent: int = 0
    paused: bool = False
    contact_email: Optional[str] = None
    contact_bounced: bool = Field(False, description="The contact's address bounced: the survey waits for a new contact.")
    next_step: Optional[str] = None
    next_step_at: Optional[datetime] = None
    portal_url: Optional[str] = Field(None, description="The supplier's signed portal link (for the roles that may "
                                      "act on a survey; it lets its holder answer as the supplier).")


class SupplierOut(BaseModel):
    id: str
    name: str
    category: Optional[str] = None
    annual_spend: float
    commodity_manager_name: Optional[str] = None
    commodity_manager_email: Optional[str] = None
    country: Optional[str] = None
    status: str
    survey: Optional[SurveyBrief] = Field(None, description="Its survey in the campaign listed.")


class SupplierDetail(SupplierOut):
    contacts: list[ContactOut]
    surveys: list[SurveyBrief]


class SupplierList(BaseModel):
    campaign_id: Optional[str]
    total: int
    page: int
    pages: int
    items: list[SupplierOut]


class CampaignOut(BaseModel):
    id: str
    year: int
    name: str
    state: str
    kind: str = "CMRT"  # the template asked for: CMRT or EMRT
    minerals: list[str] = []  # EMRT: the minerals asked about (empty: all)
    selection: dict[str, Any]
    suppliers_selected: int
    surveys_started: int
    starts_at: Optional[datetime] = None
    ends_at: Optional[datetime] = None
    closed_at: Optional[datetime] = None


class CampaignStarted(BaseModel):
    campaign_id: str
    message: str


class EventOut(BaseModel):
    seq: int
    at: datetime
    kind: str
    state: Optional[str] = None
    actor: Optional[str] = None
    reason: Optional[str] = None
    data: dict[str, Any] = Field(default_factory=dict)


class SubmissionOut(BaseModel):
    id: str
    file_sha256: str
    filename: Optional[str] = None
    channel: str
    received_at: datetime
    round: int
    purpose: str
    verdict: Optional[str] = None
    manual_decision: Optional[str] = None
    template_version: Optional[str] = None
    findings: list[contract.SubmissionFinding]


class EmailOut(BaseModel):
    template: str
    to: str
    subject: str
    status: str
    created_at: datetime
    sent_at: Optional[datetime] = None
    bounce: Optional[str] = Field(default=None, description="hard or soft: what the relay reported after accepting it")
    bounce_detail: Optional[str] = None


class SurveyDetail(SurveyBrief):
    events: list[EventOut]
    submissions: list[SubmissionOut]
    emails: list[EmailOut]


class UploadResult(BaseModel):
    verdict: str = Field(description="valid, invalid, unreadable; or refused when the file never reached the survey.")
    accepted: bool
    message: str
    submission_id: Optional[str] = None
    state: Optional[str] = None
    next_step: Optional[str] = None
    findings: list[contract.SubmissionFinding]


# --- Helpers ---------------------------------------------------------------------------------


def _reminders_sent(request: Request, survey_id: str) -> int:
    """Reminders to the supplier the relay accepted, the plan's included: the count every face states."""
    from outreach.outbox import reminder_counts

    with session_scope(ctx_of(request).engine) as session:
        return reminder_counts(session, [survey_id])[survey_id].sent


def _brief(request: Request, s, overdue: bool | None = None) -> SurveyBrief:
    return SurveyBrief(
        id=s.id, campaign_id=s.campaign_id, supplier_id=s.supplier_id, state=s.state, outcome=s.outcome,
        due_at=s.due_at, answer_by=s.answer_by, overdue=queries.is_overdue(s) if overdue is None else overdue,
        correction_round=s.correction_round, reminders_sent=_reminders_sent(request, s.id), paused=s.paused,
        contact_email=s.contact_email, contact_bounced=s.contact_bounced, next_step=s.next_step, next_step_at=s.next_step_at,
        # The signed link acts as the supplier: only for those who may act on the case.
        portal_url=ctx_of(request).signer.portal_url(s.id) if _may_act(request) else None,
    )


def _supplier_out(request: Request, sup, survey=None, overdue=None) -> dict:
    data = sup.model_dump(include=set(SupplierOut.model_fields) - {"survey"})
    data["survey"] = _brief(request, survey, overdue) if survey is not None else None
    return data


def _may_act(request: Request) -> bool:
    user = getattr(request.state, "user", None)
    return user is not None and roles.can(user.role, roles.SURVEYS_ACT)


def _require_own_survey(request: Request, supplier_id: str) -> None:
    """A commodity manager reaches only the surveys of the suppliers they manage."""
    if own_only(request) is not None:
        view = queries.supplier(ctx_of(request).engine, supplier_id)
        require_own(request, view.supplier.commodity_manager_email if view else None, supplier_id)


def _rejected(exc: ActionRejected) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code)


ERRORS = {401: {"model": Problem}, 404: {"model": Problem}}
ACTION_ERRORS = {**ERRORS, 409: {"model": Problem, "description": "The survey refused: the detail says why."},
                 410: {"model": Problem}, 503: {"model": Problem}}


# --- Suppliers -------------------------------------------------------------------------------


@router.get("/suppliers", response_model=SupplierList, tags=["suppliers"], responses=ERRORS,
            summary="Suppliers with their survey in one campaign (default: the latest), filtered")
def list_suppliers(
    request: Request,
    campaign: Optional[str] = Query(None, description="Campaign ID; default the latest."),
    state: Optional[str] = None, outcome: Optional[str] = None, category: Optional[str] = None,
    manager: Optional[str] = Query(None, description="Commodity manager's email."),
    overdue: bool = False, q: Optional[str] = Query(None, description="Part of the name or ID, taken literally (% and _ are not wildcards)."),
    sort: Literal["name", "spend", "due", "state"] = "name",
    page: int = Query(1, ge=1), page_size: int = Query(100, ge=1, le=1000),
):
    ctx = ctx_of(request)
    f = queries.SupplierFilters(campaign_id=campaign or queries.latest_campaign_id(ctx.engine), state=state,
                                outcome=outcome, category=category, manager=own_only(request) or manager, overdue=overdue, q=q,
                                sort=sort, page=page)
    table = queries.supplier_table(ctx.engine, f, page_size)
    return SupplierList(campaign_id=f.campaign_id, total=table.total, page=table.page, pages=table.pages,
                        items=[_supplier_out(request, r.supplier, r.survey, r.overdue) for r in table.rows])


@router.get("/suppliers/{supplier_id}", response_model=SupplierDetail, tags=["suppliers"], responses=ERRORS,
            summary="One supplier, its contacts and its surveys")
def get_supplier(request: Request, supplier_id: str):
    view = queries.supplier(ctx_of(request).engine, supplier_id)
    if view is None:
        raise HTTPException(404, f"There is no supplier {supplier_id}.")
    require_own(request, view.supplier.commodity_manager_email, supplier_id)
    data = _supplier_out(request, view.supplier, view.surveys[0] if view.surveys else None)
    data["contacts"] = [c.model_dump() for c in view.contacts]
    data["surveys"] = [_brief(request, s) for s in view.surveys]
    return data


# --- Campaigns -------------------------------------------------------------------------------


@router.get("/campaigns", response_model=list[CampaignOut], tags=["campaigns"], summary="Every campaign, newest first")
def list_campaigns(request: Request):
    return [c.model_dump() for c in queries.campaigns(ctx_of(request).engine)]


@router.post("/campaigns", response_model=CampaignStarted, status_code=202, tags=["campaigns"],
             responses={**ACTION_ERRORS, 422: {"description": "A field is wrong; each is named."}},
             summary="Start a campaign for a reporting year")
async def create_campaign(request: Request, body: CampaignRequest, user: User = Depends(api_user)):
    try:
        campaign_id = await start_campaign(ctx_of(request), body, by=user.email)
    except ActionRejected as exc:
        return _rejected(exc)
    return CampaignStarted(campaign_id=campaign_id,
                           message="Started: the campaign row appears once its suppliers are selected.")


class CampaignActionBody(BaseModel):
    reason: str = Field("", max_length=2000)


class CampaignActionResult(BaseModel):
    campaign_id: str
    message: str


@router.post("/campaigns/{campaign_id}/actions/{action}", response_model=CampaignActionResult, tags=["campaigns"],
             responses=ACTION_ERRORS,
             summary="Pause, resume or cancel a campaign (cancel withdraws its open surveys)")
async def campaign_action_api(request: Request, campaign_id: str, action: Literal["pause", "resume", "cancel"],
                              body: CampaignActionBody, user: User = Depends(api_user)):
    try:
        message = await campaign_action(ctx_of(request), campaign_id, action, by=user.email, reason=body.reason)
    except ActionRejected as exc:
        return _rejected(exc)
    return CampaignActionResult(campaign_id=campaign_id, message=message)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"], responses=ERRORS)
def get_campaign(request: Request, campaign_id: str):
    c = queries.campaign(ctx_of(request).engine, campaign_id)
    if c is None:
        raise HTTPException(404, f"There is no campaign {campaign_id}.")
    return c.model_dump()


@router.get("/campaigns/{campaign_id}/progress", response_model=CampaignProgress, tags=["campaigns"], responses=ERRORS,
            summary="The funnel: counts per state and outcome, response rate, overdue, open CAPs and escalations")
def get_progress(request: Request, campaign_id: str):
    ctx = ctx_of(request)
    if queries.campaign(ctx.engine, campaign_id) is None:
        raise HTTPException(404, f"There is no campaign {campaign_id}.")
    progress = campaign_progress_or_none(ctx.engine, campaign_id)
    if progress is None:
        raise HTTPException(404, "Progress is not available yet.")
    return progress


# --- Surveys (routes with a suffix first: the ID itself contains slashes) ----------------------


@router.get("/surveys/{survey_id:path}/status", response_model=contract.SurveyStatus, tags=["surveys"],
            responses=ACTION_ERRORS, summary="Live status from the running workflow (state, next step, timeline)")
async def get_survey_status(request: Request, survey_id: str):
    if own_only(request) is not None:
        view = queries.survey_view(ctx_of(request).engine, survey_id)
        if view is None:
            raise HTTPException(404, f"There is no survey {survey_id}.")
        _require_own_survey(request, view.survey.supplier_id)
    try:
        return await survey_status(ctx_of(request).temporal, survey_id)
    except ActionRejected as exc:
        return _rejected(exc)


@router.post("/surveys/{survey_id:path}/submissions", response_model=UploadResult, tags=["surveys"],
             responses={**ACTION_ERRORS, 422: {"model": UploadResult, "description": "The file was refused "
                        "(empty, too large, not a workbook): the findings say why."}},
             summary="Submit a CMRT workbook (multipart); returns the verdict and findings at once")
async def upload_submission(request: Request, survey_id: str, file: UploadFile = File(...),
                            user: User = Depends(api_user)):
    ctx = ctx_of(request)
    view = queries.survey_view(ctx.engine, survey_id)
    if view is None:
        raise HTTPException(404, f"There is no survey {survey_id}.")
    try:
        outcome = await submit_upload(ctx.temporal, ctx.store, view.survey, file,
                                      max_bytes=ctx.settings.max_upload_bytes, channel="api", submitted_by=user.email)
    except ActionRejected as exc:
        return _rejected(exc)
    result = UploadResult(verdict=outcome.verdict, accepted=outcome.accepted, message=outcome.message,
                          submission_id=outcome.submission_id, state=outcome.state, next_step=outcome.next_step,
                          findings=list(outcome.findings))
    if outcome.verdict == "refused":
        return JSONResponse(result.model_dump(mode="json"), status_code=422)
    return result


def _action_route(name: str) -> None:
    spec = SURVEY_ACTIONS[name]

    async def run(request: Request, survey_id: str, body, user: User = Depends(api_user)):
        ctx = ctx_of(request)
        view = queries.survey_view(ctx.engine, survey_id)
        if view is None:
            raise HTTPException(404, f"There is no survey {survey_id}.")
        _require_own_survey(request, view.survey.supplier_id)
        cap_id = view.open_plan.plan.id if (name == "verify_action" and view.open_plan) else None
        try:
            ack = await survey_action(ctx.temporal, survey_id, name, body, user.email, cap_id=cap_id)
        except ActionRejected as exc:
            return _rejected(exc)
        if isinstance(ack, contract.ActionAck):
            return ack.model_dump(mode="json")
        return {"state": view.survey.state, "message": "done"}

    run.__name__ = f"survey_{name}"
    run.__annotations__["body"] = spec.body  # each action documents its own body in the OpenAPI document
    router.add_api_route(f"/surveys/{{survey_id:path}}/actions/{name}", run, methods=["POST"], tags=["survey actions"],
                         response_model=contract.ActionAck, responses=ACTION_ERRORS, summary=spec.title)


for _name in SURVEY_ACTIONS:
    _action_route(_name)


@router.get("/surveys/{survey_id:path}", response_model=SurveyDetail, tags=["surveys"], responses=ERRORS,
            summary="A survey from the read model: timeline, submissions with findings, emails")
def get_survey(request: Request, survey_id: str):
    view = queries.survey_view(ctx_of(request).engine, survey_id)
    if view is None:
        raise HTTPException(404, f"There is no survey {survey_id}.")
    _require_own_survey(request, view.survey.supplier_id)
    data = _brief(request, view.survey, view.overdue).model_dump()
    data["events"] = [e.model_dump() for e in view.events]
    data["submissions"] = [
        {**sv.submission.model_dump(), "findings": [f.model_dump() for f in sv.findings]} for sv in view.submissions
    ]
    data["emails"] = [{"template": m.template, "to": m.to_addr, "subject": m.subject, "status": m.status,
                       "created_at": m.created_at, "sent_at": m.sent_at, "bounce": m.bounce_kind,
                       "bounce_detail": m.bounce_detail} for m in view.emails]
    return data

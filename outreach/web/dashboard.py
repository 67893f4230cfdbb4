"""The compliance team's pages: campaigns and their funnel, the supplier table, one supplier's case."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from datetime import datetime, timezone
from typing import Optional

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from models.policy import CampaignPolicy
from models.tables import User
from outreach.web import queries
from outreach.web.actions import SURVEY_ACTIONS, ActionRejected, read_model_reaches, survey_action
from models.facts.review import REOPENABLE_OUTCOMES
from outreach import roles
from outreach.web.auth import authorize, own_only, require_own, require_user
from outreach.web.campaigns import (
    CAMPAIGN_ACTIONS,
    CampaignRefused,
    CampaignRequest,
    FormErrors,
    campaign_action,
    campaign_progress_or_none,
    start_campaign,
)
from outreach.web.context import ctx_of, flash, render, require_csrf
from outreach.db import session_scope
from outreach.outbox import reminder_counts
from outreach.wording import humanise, outcome_words, validation_sentence

log = logging.getLogger("outreach.web")
router = APIRouter(include_in_schema=False, dependencies=[Depends(authorize)])


def _form_errors(exc: ValidationError) -> str:
    """A form's validation errors as sentences, each naming its field in words (never a validator's dump)."""
    return " ".join(validation_sentence(e, humanise(str(e["loc"][-1])) if e.get("loc") else "The form")
                    for e in exc.errors())


# --- Campaigns ---------------------------------------------------------------------------------


@router.get("/")
def home(request: Request):
    ctx = ctx_of(request)
    if not roles.can(request.state.user.role, roles.DASHBOARD):  # a commodity manager: their suppliers
        return RedirectResponse("/suppliers", status_code=303)
    items = [(c, campaign_progress_or_none(ctx.engine, c.id)) for c in queries.campaigns(ctx.engine)]
    return render(request, "dashboard.html", section="campaigns", campaigns=items, health=_health(ctx),
                  live=request.query_params.get("live") == "1")


def _health(ctx):
    """The banner's facts (outreach/health.py); a page still renders when they cannot be read."""
    from outreach.health import check

    try:
        return check(ctx.engine, ctx.settings)
    except Exception:  # noqa: BLE001 - the page matters more than its banner
        log.warning("health check failed", exc_info=True)
        return None


@router.post("/demo", dependencies=[Depends(require_csrf)])
async def load_demo(request: Request):
    from outreach.demo import DemoError, start_demo
    from outreach.temporal_client import TemporalUnavailable

    ctx = ctx_of(request)
    try:
        started = await start_demo(ctx.settings, client=await ctx.temporal(), by=request.state.user.email)
    except (DemoError, TemporalUnavailable) as exc:
        flash(request, f"The demo could not start: {exc}", "error")
        return RedirectResponse("/", status_code=303)
    policy = CampaignPolicy.demo()
    minutes = round((policy.response_due + policy.grace_period).total_seconds() / 60)
    flash(request, f"{started} Watch the caught mail and this page; the silent supplier reaches the VP in about "
                   f"{minutes} minutes.", "ok")
    return RedirectResponse(await _campaign_page_when_ready(ctx, started.campaign_id), status_code=303)


async def _campaign_page_when_ready(ctx, campaign_id: str, wait_seconds: float = 5.0) -> str:
    """The new campaign's page once its row exists (its first activity writes it within a moment),
    else the campaign list, where it appears shortly."""
    for _ in range(int(wait_seconds / 0.25)):
        if queries.campaign(ctx.engine, campaign_id) is not None:
            return f"/campaigns/{campaign_id}"
        await asyncio.sleep(0.25)
    return "/"


@router.get("/campaigns/new")
def new_campaign(request: Request):
    return render(request, "campaign_new.html", section="campaigns", form={}, year=datetime.now(timezone.utc).year - 1,
                  categories=queries.filter_choices(ctx_of(request).engine)["categories"])


@router.post("/campaigns", dependencies=[Depends(require_csrf)])
async def create_campaign(request: Request, user: User = Depends(require_user)):
    ctx = ctx_of(request)
    form = dict(await request.form())
    form.pop("csrf_token", None)

    def refused(status_code: int, errors: dict[str, str]):
        # Each sentence beside its field; one that belongs to no field (the engine is down) above the form.
        return render(request, "campaign_new.html", status_code=status_code, section="campaigns", form=form,
                      errors=errors, error=errors.get("form"), year=form.get("year"),
                      categories=queries.filter_choices(ctx.engine)["categories"])

    try:
        req = CampaignRequest.from_form(form)
    except FormErrors as exc:
        return refused(422, exc.errors)
    try:
        campaign_id = await start_campaign(ctx, req, by=user.email)
    except CampaignRefused as exc:
        return refused(exc.status_code, exc.errors)
    except ActionRejected as exc:
        return refused(exc.status_code, {"form": exc.message})
    flash(request, f"Campaign {campaign_id} started: the surveys go out in pages over the next minutes.", "ok")
    return RedirectResponse(await _campaign_page_when_ready(ctx, campaign_id), status_code=303)


@router.post("/campaigns/{campaign_id}/actions/{action}", dependencies=[Depends(require_csrf)])
async def campaign_action_form(request: Request, campaign_id: str, action: str, user: User = Depends(require_user)):
    if action not in CAMPAIGN_ACTIONS:
        raise HTTPException(404, f"There is no campaign action {action!r}.")
    reason = str((await request.form()).get("reason") or "")
    title = CAMPAIGN_ACTIONS[action][0]
    try:
        message = await campaign_action(ctx_of(request), campaign_id, action, by=user.email, reason=reason)
    except ActionRejected as exc:
        flash(request, f"{title}: not done. {exc.message}", "error")
    else:
        flash(request, f"{title}: {message}", "ok")
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post("/campaigns/{campaign_id}/suppliers", dependencies=[Depends(require_csrf)])
async def campaign_add_suppliers(request: Request, campaign_id: str, user: User = Depends(require_user)):
    from outreach.web.campaigns import add_suppliers

    text = str((await request.form()).get("supplier_ids") or "")
    ids = [x for x in (p.strip() for p in re.split(r"[,\s;]+", text)) if x]
    if not ids:
        flash(request, "Add suppliers: give at least one supplier ID.", "error")
    else:
        try:
            flash(request, f"Add suppliers: {await add_suppliers(ctx_of(request), campaign_id, ids, by=user.email)}", "ok")
        except ActionRejected as exc:
            flash(request, f"Add suppliers: not done. {exc.message}", "error")
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.get("/campaigns/{campaign_id}")
def campaign_page(request: Request, campaign_id: str):
    ctx = ctx_of(request)
    campaign = queries.campaign(ctx.engine, campaign_id)
    if campaign is None:
        raise HTTPException(404, f"There is no campaign {campaign_id}.")
    progress = campaign_progress_or_none(ctx.engine, campaign_id)
    overdue = queries.supplier_table(ctx.engine, queries.SupplierFilters(campaign_id=campaign_id, overdue=True), 20)
    from outreach.health import failing_activities, waiting_messages

    return render(request, "campaign.html", section="campaigns", campaign=campaign, progress=progress, overdue=overdue,
                  health=_health(ctx), waiting=waiting_messages(ctx.engine, campaign_id),
                  failing=failing_activities(ctx.engine, campaign_id), live=request.query_params.get("live") == "1")


@router.get("/campaigns/{campaign_id}/report")
def campaign_report(request: Request, campaign_id: str):
    """The Conflict Minerals Report figures (outreach.reports), with a draft of the results section."""
    from outreach.reports.figures import ReportInputError, campaign_figures
    from outreach.reports.render import render_due_diligence_draft, render_rcoi_html

    ctx = ctx_of(request)
    campaign = queries.campaign(ctx.engine, campaign_id)
    if campaign is None:
        raise HTTPException(404, f"There is no campaign {campaign_id}.")
    try:
        figures = campaign_figures(ctx.engine, campaign_id)
    except ReportInputError as exc:
        raise HTTPException(404, str(exc)) from None
    return render(request, "report.html", section="campaigns", campaign=campaign,
                  fragment=render_rcoi_html(figures),  # our own template, autoescaped inside
                  draft=render_due_diligence_draft(figures, company=ctx.settings.company_name, year=campaign.year))


@router.post("/campaigns/{campaign_id}/declaration", dependencies=[Depends(require_csrf)])
async def campaign_own_declaration(request: Request, campaign_id: str, user: User = Depends(require_user)):
    """The company's own CMRT: the uploaded official blank filled with the campaign's roll-up, downloaded."""

    from outreach.reports.figures import ReportInputError
    from outreach.reports.own_declaration import OwnDeclarationRefused, company_answers, produce

    ctx = ctx_of(request)
    if queries.campaign(ctx.engine, campaign_id) is None:
        raise HTTPException(404, f"There is no campaign {campaign_id}.")
    form = await request.form()
    upload = form.get("template")
    blank = await upload.read(ctx.settings.max_upload_bytes + 1) if hasattr(upload, "read") else b""
    back = RedirectResponse(f"/campaigns/{campaign_id}/report", status_code=303)
    if not blank:
        flash(request, "Company's own CMRT: not done. Choose the official blank CMRT (.xlsx) from the RMI.", "error")
        return back
    if len(blank) > ctx.settings.max_upload_bytes:
        flash(request, "Company's own CMRT: not done. The file is larger than the upload limit.", "error")
        return back
    try:
        company = company_answers(ctx.settings.own_declaration, None, ctx.settings.company_name)
        made = produce(ctx.engine, campaign_id, blank, company, by=user.email)
    except (OwnDeclarationRefused, ReportInputError) as exc:
        flash(request, f"Company's own CMRT: not done. {exc}", "error")
        return back
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"CMRT-{ctx.settings.company_name}-{campaign_id}.xlsx")
    return Response(made.data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


@router.get("/campaigns/{campaign_id}/evidence.zip")
def campaign_evidence(request: Request, campaign_id: str):
    """The auditor's evidence pack (outreach.evidence), streamed as it is built."""
    from fastapi.responses import StreamingResponse

    from outreach.evidence.pack import build_pack
    from outreach.evidence.stream import streamed

    ctx = ctx_of(request)
    if queries.campaign(ctx.engine, campaign_id) is None:
        raise HTTPException(404, f"There is no campaign {campaign_id}.")
    by, s = request.state.user.email, ctx.settings
    chunks = streamed(lambda out: build_pack(ctx.engine, ctx.store, campaign_id, out, by=by, company=s.company_name,
                                             sender=s.mail_from))
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"evidence-{campaign_id}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.zip")
    return StreamingResponse(chunks, media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "private, no-store"})


# --- Suppliers ---------------------------------------------------------------------------------


def _filters(request: Request) -> queries.SupplierFilters:
    q = request.query_params
    ctx = ctx_of(request)
    try:
        page = int(q.get("page") or 1)
    except ValueError:
        page = 1
    return queries.SupplierFilters(
        campaign_id=q.get("campaign") or q.get("campaign_id") or queries.latest_campaign_id(ctx.engine),
        state=q.get("state") or None, outcome=q.get("outcome") or None, category=q.get("category") or None,
        manager=q.get("manager") or None, overdue=q.get("overdue") in ("1", "true", "on"),
        q=q.get("q") or None, sort=q.get("sort") if q.get("sort") in queries.SORTS else "name", page=page,
    )


def _scoped(request: Request, f: queries.SupplierFilters) -> queries.SupplierFilters:
    """A commodity manager's table holds their own suppliers, whatever the filter asks."""
    mine = own_only(request)
    if mine is not None:
        from dataclasses import replace

        f = replace(f, manager=mine)
    return f


@router.get("/suppliers")
def suppliers(request: Request):
    ctx = ctx_of(request)
    f = _scoped(request, _filters(request))
    table = queries.supplier_table(ctx.engine, f)
    return render(request, "suppliers.html", section="suppliers", table=table, f=f,
                  choices=queries.filter_choices(ctx.engine), campaigns=queries.campaigns(ctx.engine))


@router.get("/suppliers.csv")
def suppliers_csv(request: Request):
    """The filtered table as CSV (every page), for a spreadsheet or a business review."""
    from outreach.spreadsheet import neutralise

    ctx = ctx_of(request)
    table = queries.supplier_table(ctx.engine, _filters(request), page_size=1_000_000)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["supplier_id", "name", "category", "commodity_manager", "commodity_manager_email", "annual_spend",
                     "campaign", "state", "outcome", "answer_by", "overdue", "correction_round", "reminders_sent"])
    with session_scope(ctx.engine) as session:  # one count of reminders for every face (models/facts/messages)
        reminders = reminder_counts(session, [r.survey.id for r in table.rows if r.survey])
    for r in table.rows:
        s = r.survey
        answer_by = (s.answer_by or s.due_at) if s else None
        writer.writerow([neutralise(v) for v in (
            r.supplier.id, r.supplier.name, r.supplier.category, r.supplier.commodity_manager_name,
            r.supplier.commodity_manager_email, r.supplier.annual_spend, s.campaign_id if s else "",
            humanise(s.state) if s else "", outcome_words(s.outcome, s.state) if s and s.outcome else "",
            answer_by.date().isoformat() if answer_by else "",
            "yes" if r.overdue else "", s.correction_round if s else "", reminders[s.id].sent if s else "")])
    name = f"suppliers-{table.filters.campaign_id or 'all'}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", name)}"'})


@router.get("/suppliers/{supplier_id}")
def supplier_page(request: Request, supplier_id: str, survey: Optional[str] = None):
    ctx = ctx_of(request)
    view = queries.supplier(ctx.engine, supplier_id)
    if view is None:
        raise HTTPException(404, f"There is no supplier {supplier_id}.")
    require_own(request, view.supplier.commodity_manager_email, supplier_id)
    chosen = next((s for s in view.surveys if s.id == survey), view.surveys[0] if view.surveys else None)
    sv = queries.survey_view(ctx.engine, chosen.id) if chosen else None
    try:
        from outreach.scorecards import scorecard_view

        scorecard = scorecard_view(ctx.engine, supplier_id)
    except ImportError:
        scorecard = None
    return render(request, "supplier.html", section="suppliers", view=view, sv=sv, scorecard=scorecard,
                  smelter_risks=_smelter_risks(ctx.engine, sv),
                  actions=SURVEY_ACTIONS, reopenable=REOPENABLE_OUTCOMES, portal_url=ctx.signer.portal_url(chosen.id)
                  if chosen and roles.can(request.state.user.role, roles.SURVEYS_ACT) else None)


def _smelter_risks(engine, sv) -> dict[int, list]:
    """Per submission, its high- and medium-risk smelters graded now (compliance's latest lists and
    overrides count), with the reasons: the same call the report figures make."""
    if sv is None:
        return {}
    from outreach.reports.smelters import current_reference, supplier_smelters

    reference = current_reference(engine)
    order = {"high": 0, "medium": 1}
    out: dict[int, list] = {}
    for x in sv.submissions:
        result = x.submission.result
        if not result:
            continue
        known = supplier_smelters(result, reference).known.values()
        out[x.submission.id] = sorted((k for k in known if k.risk in order),
                                      key=lambda k: (order[k.risk], k.metal, k.standard_name.casefold()))
    return out


@router.post("/suppliers/{supplier_id}/actions/{action}", dependencies=[Depends(require_csrf)])
async def supplier_action(request: Request, supplier_id: str, action: str, user: User = Depends(require_user)):
    ctx = ctx_of(request)
    if action not in SURVEY_ACTIONS:
        raise HTTPException(404, f"There is no action {action!r}.")
    form = {k: v for k, v in (await request.form()).items() if k != "csrf_token"}
    survey_id = str(form.pop("survey_id", ""))
    view = queries.survey_view(ctx.engine, survey_id)
    if view is None or view.survey.supplier_id != supplier_id:
        raise HTTPException(404, "This survey does not belong to this supplier.")
    if own_only(request) is not None:
        supplier = queries.supplier(ctx.engine, supplier_id)
        require_own(request, supplier.supplier.commodity_manager_email if supplier else None, supplier_id)
    back = f"/suppliers/{supplier_id}?survey={survey_id}"
    spec = SURVEY_ACTIONS[action]
    try:
        body = spec.body.model_validate({k: v for k, v in form.items() if v != "" or k in ("reason", "note")})
    except ValidationError as exc:
        flash(request, f"{spec.title}: {_form_errors(exc)}", "error")
        return RedirectResponse(back, status_code=303)
    cap_id = view.open_plan.plan.id if (action == "verify_action" and view.open_plan) else None
    try:
        ack = await survey_action(ctx.temporal, survey_id, action, body, user.email, cap_id=cap_id)
    except ActionRejected as exc:
        flash(request, f"{spec.title}: not done. {exc.message}", "error")
        return RedirectResponse(back, status_code=303)
    message = getattr(ack, "message", None) or "done."
    if action == "verify_action" and cap_id:
        message = f"action {body.number} verified."
        state = ack.get("state") if isinstance(ack, dict) else getattr(ack, "state", None)
        if state == "closed":
            # The plan's last action: the survey closes next; show the page once the read model says so.
            closed = await read_model_reaches(lambda: _survey_left(ctx.engine, survey_id, "corrective_action"))
            message += " Every action is verified: the plan is closed" + (
                " and the survey with it." if closed else "; the survey closes in a moment.")
    flash(request, f"{spec.title}: {message}", "ok")
    return RedirectResponse(back, status_code=303)


def _survey_left(engine, survey_id: str, state: str) -> bool:
    """The survey's read-model row has moved on from ``state``."""
    view = queries.survey_brief(engine, survey_id)
    return view is not None and view.state != state


# --- The API, described for people (Swagger UI at /api/docs needs its scripts from a CDN) ----------


@router.get("/api")
def api_overview(request: Request):
    doc = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, "summary": op.get("summary") or "", "tag": (op.get("tags") or [""])[0]}
        for path, item in doc["paths"].items() for method, op in item.items()
    ]
    return render(request, "api.html", section="api", operations=operations, title=doc["info"]["title"],
                  base_url=ctx_of(request).settings.public_base_url)


# --- Files -------------------------------------------------------------------------------------

_SHA = re.compile(r"^[0-9a-f]{64}$")


@router.get("/files/{sha256}")
def download(request: Request, sha256: str):
    ctx = ctx_of(request)
    if not _SHA.match(sha256):
        raise HTTPException(404, "No such file.")
    stored = queries.submission_file(ctx.engine, sha256)
    if stored is None or not ctx.store.exists(sha256):
        raise HTTPException(404, "No such file.")
    ext = "xls" if stored.content_type == "application/vnd.ms-excel" else "xlsx"
    # The name is ours (hash-based), never the supplier's: no path tricks, no header injection.
    headers = {
        "Content-Disposition": f'attachment; filename="cmrt-{sha256[:12]}.{ext}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return Response(ctx.store.get(sha256), media_type="application/octet-stream", headers=headers)

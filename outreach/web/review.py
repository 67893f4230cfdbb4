"""The review desk's faces on the web: the /review page with one-click answers, and its API.

Thin shells over outreach/review.py (the same calls as `outreach review ...`).
"""

from __future__ import annotations

import asyncio
from typing import Literal, Optional
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from models.facts import review as rv
from models.tables import User
from outreach import review
from outreach.web.auth import api_user, authorize, require_user
from outreach.web.context import ctx_of, flash, render, require_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(authorize)])
api_router = APIRouter(dependencies=[Depends(authorize)])


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1


@router.get("/review")
async def review_page(request: Request):
    q = request.query_params
    campaign, kind = q.get("campaign") or None, q.get("kind") or None
    if kind not in rv.KINDS:
        kind = None
    result = await asyncio.to_thread(review.review_queue, ctx_of(request).engine, campaign_id=campaign, kind=kind,
                                     page=_page_number(q.get("page")))
    params = {k: v for k, v in {"campaign": campaign, "kind": kind}.items() if v}

    def page_link(n: int) -> str:
        return "/review?" + urlencode({**params, "page": n})

    return render(request, "review.html", section="review", result=result, q=params, page_link=page_link,
                  kinds=[(k, rv.KIND_WORDS[k]) for k in rv.KINDS], kind_words=rv.KIND_WORDS,
                  needs_reason=rv.NEEDS_REASON, back="/review?" + urlencode(params))


@router.post("/review/answer", dependencies=[Depends(require_csrf)])
async def review_answer_form(request: Request, user: User = Depends(require_user)):
    ctx = ctx_of(request)
    form = await request.form()
    back = str(form.get("back") or "/review")
    if not back.startswith("/review"):
        back = "/review"
    key, answer = str(form.get("key") or ""), str(form.get("answer") or "")
    try:
        message = await review.answer_item(ctx.engine, key, answer, by=user.email, reason=str(form.get("reason") or ""),
                                           cid=str(form.get("cid") or "") or None, client_factory=ctx.temporal,
                                           task_queue=ctx.settings.task_queue)
    except review.ReviewRefused as exc:
        flash(request, f"Not done: {exc.message}", "error")
    else:
        flash(request, message, "ok")
    return RedirectResponse(back, status_code=303)


@router.post("/suppliers/{supplier_id}/reopen", dependencies=[Depends(require_csrf)])
async def reopen_form(request: Request, supplier_id: str, user: User = Depends(require_user)):
    ctx = ctx_of(request)
    form = await request.form()
    survey_id = str(form.get("survey_id") or "")
    back = f"/suppliers/{quote(supplier_id)}?survey={quote(survey_id)}"
    if not survey_id.startswith("survey/") or not survey_id.endswith(f"/{supplier_id}"):
        flash(request, "Not done: this survey does not belong to this supplier.", "error")
        return RedirectResponse(back, status_code=303)
    try:
        message = await review.reopen_survey(ctx.engine, survey_id, by=user.email, reason=str(form.get("reason") or ""),
                                             client_factory=ctx.temporal, task_queue=ctx.settings.task_queue)
    except review.ReviewRefused as exc:
        flash(request, f"Not reopened: {exc.message}", "error")
    else:
        flash(request, message, "ok")
    return RedirectResponse(back, status_code=303)


# --- the API ----------------------------------------------------------------------------------------


class ReviewItemOut(BaseModel):
    key: str
    kind: str
    title: str
    survey_id: str
    campaign_id: str
    supplier_id: str
    supplier_name: str
    submission_id: Optional[str] = None
    since: Optional[str] = None
    risk_rank: int
    answers: list[str]
    evidence: dict


class ReviewQueueOut(BaseModel):
    total: int
    page: int
    pages: int
    items: list[ReviewItemOut]


class AnswerBody(BaseModel):
    key: str = Field(min_length=1, max_length=400, description="The item's key, from the queue.")
    answer: Literal["confirm", "choose", "not-a-smelter", "accept", "send-back", "decline"]
    cid: Optional[str] = Field(None, max_length=32, description="With choose: the smelter's CID.")
    reason: str = Field("", max_length=2000, description="Why (needed to send back or decline).")


class ReopenBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the accepted declaration is rejected; "
                        "the supplier reads it in the correction request.")


class Done(BaseModel):
    message: str


def _refused(exc: review.ReviewRefused) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code)


@api_router.get("/review", response_model=ReviewQueueOut, tags=["review"],
                summary="The review queue: open items, riskiest then newest first")
async def review_queue_api(request: Request, campaign: Optional[str] = None, kind: Optional[str] = None,
                           page: int = Query(1, ge=1), per_page: int = Query(review.PER_PAGE, ge=1, le=500)):
    try:
        q = await asyncio.to_thread(review.review_queue, ctx_of(request).engine, campaign_id=campaign, kind=kind,
                                    page=page, per_page=per_page)
    except review.ReviewRefused as exc:
        return _refused(exc)
    return {"total": q.total, "page": q.page, "pages": q.pages, "items": [review.as_json(i) for i in q.items]}


@api_router.post("/review/answer", response_model=Done, tags=["review"], summary="Answer one review item")
async def review_answer_api(request: Request, body: AnswerBody, user: User = Depends(api_user)):
    ctx = ctx_of(request)
    try:
        message = await review.answer_item(ctx.engine, body.key, body.answer, by=user.email, reason=body.reason,
                                           cid=body.cid, client_factory=ctx.temporal, task_queue=ctx.settings.task_queue)
    except review.ReviewRefused as exc:
        return _refused(exc)
    return {"message": message}


@api_router.post("/surveys/{survey_id:path}/reopen", response_model=Done, tags=["review"],
                 summary="Reject an accepted declaration: the survey reopens into a correction round")
async def reopen_api(request: Request, survey_id: str, body: ReopenBody, user: User = Depends(api_user)):
    ctx = ctx_of(request)
    try:
        message = await review.reopen_survey(ctx.engine, survey_id, by=user.email, reason=body.reason,
                                             client_factory=ctx.temporal, task_queue=ctx.settings.task_queue)
    except review.ReviewRefused as exc:
        return _refused(exc)
    return {"message": message}

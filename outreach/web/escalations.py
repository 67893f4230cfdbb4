"""Escalated cases on the dashboard: the open ones, and an executive's decision on one, signed in.

The VP also decides from the signed link in the escalation e-mail (outreach/web/decision.py); both go
through the same ``record_decision`` and the escalation workflow's one ``decide`` Update, so a case is
decided once, whichever way arrives first. The decision is recorded as the signed-in executive's.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from models.tables import Escalation, Supplier, Survey, User
from outreach import roles
from outreach.web import queries
from outreach.web.auth import authorize, require_user
from outreach.web.context import ctx_of, render, require_csrf
from outreach.web.decision import _page, record_decision

router = APIRouter(include_in_schema=False, dependencies=[Depends(authorize)])


def _cases(engine, *, limit: int = 200):
    """Open cases first (oldest first), then the latest decided or ended ones, with their supplier."""
    with Session(engine) as s:
        rows = s.exec(select(Escalation, Supplier).join(Survey, Survey.id == Escalation.survey_id)
                      .join(Supplier, Supplier.id == Survey.supplier_id)
                      .order_by(Escalation.closed_at.is_not(None), Escalation.opened_at.desc()).limit(limit)).all()
    return [(e, sup) for e, sup in rows]


@router.get("/escalations")
def escalations_page(request: Request):
    return render(request, "escalations.html", section="escalations", cases=_cases(ctx_of(request).engine))


def _case(request: Request, escalation_id: str):
    engine = ctx_of(request).engine
    esc = queries.escalation(engine, escalation_id)
    if esc is None:
        raise HTTPException(404, f"There is no escalated case {escalation_id}.")
    sv = queries.survey_view(engine, esc.survey_id)
    sup = queries.supplier(engine, sv.survey.supplier_id) if sv else None
    return esc, sv, sup


def _action_url(escalation_id: str) -> str:
    return f"/escalations/{escalation_id}/decide"


@router.get("/escalations/{escalation_id:path}")
def escalation_page(request: Request, escalation_id: str, user: User = Depends(require_user)):
    esc, sv, sup = _case(request, escalation_id)
    return _page(request, None, esc, sv, sup, decider=user.email, action_url=_action_url(esc.id), layout="base.html",
                 can_decide=roles.can(user.role, roles.DECIDE))


@router.post("/escalations/{escalation_id:path}/decide", dependencies=[Depends(require_csrf)])
async def escalation_decide(request: Request, escalation_id: str, user: User = Depends(require_user)):
    esc, sv, sup = _case(request, escalation_id)
    error = await record_decision(request, esc, user.email)
    if error is not None:
        status_code, message, form = error
        return _page(request, None, esc, sv, sup, status_code=status_code, form=form, error=message,
                     decider=user.email, action_url=_action_url(esc.id), layout="base.html")
    return RedirectResponse(f"/escalations/{esc.id}", status_code=303)

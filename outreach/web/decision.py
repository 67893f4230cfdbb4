"""The Supply Chain VP's decision page, reached from the signed link in the escalation email."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from models import survey as contract
from models.enums import Decision
from outreach.links import DECISION, LinkExpired, LinkInvalid
from outreach.web import queries
from outreach.web.auth import authorize
from outreach.web.actions import ActionRejected, decide, read_model_reaches
from outreach.web.context import ctx_of, flash, render, require_csrf
from outreach.web.portal import link_error

router = APIRouter(include_in_schema=False, dependencies=[Depends(authorize)])  # public by link

DECISIONS = [
    (Decision.suspend.value, "Suspend the supplier",
     "No new business until the supplier complies. Purchasing is told."),
    (Decision.disengage.value, "Disengage from the supplier",
     "End the relationship responsibly. Purchasing plans the exit."),
    (Decision.corrective_action.value, "Require corrective action",
     "The supplier must send a corrective action plan; we follow it up."),
    (Decision.waive.value, "Accept and waive",
     "Accept the situation for this year; the reason is recorded for the auditors."),
]
REASON_TEXT = {
    "non_responsive": "The supplier did not answer the survey, despite reminders and its commodity manager's follow-up.",
    "invalid_uncorrected": "The supplier's CMRT still has errors after every correction round.",
    "cap_overdue": "The supplier's corrective actions are overdue.",
    "cap_refused": "The supplier refused to carry out the corrective actions.",
}


def _case(request: Request, token: str):
    ctx = ctx_of(request)
    escalation_id = ctx.signer.subject(DECISION, token)
    esc = queries.escalation(ctx.engine, escalation_id)
    if esc is None:
        raise HTTPException(404, "We cannot find this case. Please use the link from the most recent escalation email.")
    sv = queries.survey_view(ctx.engine, esc.survey_id)
    sup = queries.supplier(ctx.engine, sv.survey.supplier_id) if sv else None
    return esc, sv, sup


def _vp_email(request: Request, esc) -> str:
    return str((esc.summary or {}).get("vp_email") or ctx_of(request).settings.vp_email)


def _ending(esc, sv):
    """The survey's event that ended a case without a decision (lapsed or withdrawn): it says why."""
    if esc.closed_at is None or esc.decision is not None or sv is None:
        return None
    return next((e for e in sv.events if e.at == esc.closed_at), None)


def _page(request: Request, token: str | None, esc, sv, sup, *, error: str | None = None, status_code: int = 200,
          form=None, decider: str | None = None, action_url: str | None = None, layout: str = "public.html",
          can_decide: bool = True):
    """The case and its decision form: for the VP by the signed link, or for an executive signed in
    (``decider``, ``action_url`` and the dashboard's ``layout``)."""
    return render(request, "decide.html", status_code=status_code, token=token, esc=esc, sv=sv,
                  supplier=sup.supplier if sup else None, decisions=DECISIONS,
                  reason_text=REASON_TEXT.get(esc.reason, esc.reason), summary=esc.summary or {},
                  vp_email=_vp_email(request, esc), error=error, form=form or {}, ending=_ending(esc, sv),
                  compliance_email=ctx_of(request).settings.compliance_email,
                  company_name=ctx_of(request).settings.company_name, decider=decider or _vp_email(request, esc),
                  action_url=action_url or f"/decide/{token}", layout=layout, can_decide=can_decide)


@router.get("/decide/{token}")
def decision_page(request: Request, token: str):
    try:
        esc, sv, sup = _case(request, token)
    except (LinkInvalid, LinkExpired) as exc:
        return link_error(request, exc, decision=True)
    return _page(request, token, esc, sv, sup)


@router.post("/decide/{token}", dependencies=[Depends(require_csrf)])
async def decision_submit(request: Request, token: str):
    try:
        esc, sv, sup = _case(request, token)
    except (LinkInvalid, LinkExpired) as exc:
        return link_error(request, exc, decision=True)
    error = await record_decision(request, esc, _vp_email(request, esc))
    if error is not None:
        status_code, message, form = error
        return _page(request, token, esc, sv, sup, status_code=status_code, form=form, error=message)
    return RedirectResponse(f"/decide/{token}", status_code=303)


async def record_decision(request: Request, esc, decided_by: str) -> tuple[int, str, dict] | None:
    """The decision in the request's form, recorded as ``decided_by``'s: None when done (a flash says so),
    else (status, what went wrong, the form) for the page to show again. The VP's link and an executive's
    page both decide through here, with the escalation workflow's own validation."""
    ctx = ctx_of(request)
    form = dict(await request.form())
    if esc.closed_at is not None and esc.decision is None:
        # Lapsed or withdrawn: the survey has moved on (closed with its outcome, or answered); the page says so.
        what = "lapsed" if esc.closed_as == "lapsed" else "was withdrawn"
        return 410, (f"Your decision was not recorded: this case {what} on "
                     f"{esc.closed_at:%d %B %Y %H:%M} UTC, before a decision arrived."), form
    reason = str(form.get("reason") or "").strip()
    if not reason:
        return 422, "Please give the reason for your decision: it is recorded for the auditors.", form
    try:
        decision = contract.VpDecision(decision=form.get("decision"), decided_by=decided_by, reason=reason)
    except ValidationError:
        return 422, "Please choose one of the four decisions.", form
    try:
        await decide(ctx.temporal, esc.id, decision)
    except ActionRejected as exc:
        return exc.status_code, f"Your decision was not recorded: {exc.message}", form
    # The decision is in the read model when the Update answers; the survey follows it a moment later
    # (closed, or back to a corrective action plan): the page shown next waits for that, bounded.
    moved = await read_model_reaches(lambda: _survey_moved_on(ctx.engine, esc.survey_id))
    flash(request, "Your decision is recorded. The compliance team and the supplier are informed." + (
        "" if moved else " The survey's state follows in a moment."), "ok")
    return None


def _survey_moved_on(engine, survey_id: str) -> bool:
    survey = queries.survey_brief(engine, survey_id)
    return survey is None or survey.state != "escalated"

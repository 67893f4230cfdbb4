"""A smelter's page: what the reference list says, its risk with the reasons, the watch-list and
cross-recognition entries naming it, and compliance's override (set and cleared here, by an analyst).

The grade is the reference list's own (:meth:`cmrt.reference.ReferenceList.risk_of`, the rule in
cmrt/risk.py), the same call the check of a submission and the report figures make.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from models.tables import User
from outreach import roles
from outreach.db import session_scope
from outreach.web.auth import authorize, require_user
from outreach.web.context import ctx_of, flash, render, require_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(authorize)])


def _smelter(request: Request, cid: str):
    from cmrt.reference import normalise_cid
    from outreach.reference_store import load_reference

    ref = load_reference(ctx_of(request).engine)
    key, _ = normalise_cid(cid)
    smelter = ref.get(key or "")
    if smelter is None:
        raise HTTPException(404, f"There is no smelter {cid} on the reference list.")
    return ref, smelter


@router.get("/smelters/{cid}")
def smelter_page(request: Request, cid: str):
    from outreach.risk_store import smelter_risk_inputs

    ref, smelter = _smelter(request, cid)
    with session_scope(ctx_of(request).engine) as session:
        inputs = smelter_risk_inputs(session, smelter.cid, ref)
        entries = [(lst.kind, lst.scheme, lst.source_name, lst.imported_at, e.source, e.listed_on, e.note, e.name)
                   for lst, e in inputs.entries]
        overrides = [(o.level, o.reason, o.set_by, o.set_at, o.cleared_by, o.cleared_at, o.clear_reason)
                     for o in inputs.overrides]
    return render(request, "smelter.html", section="suppliers", smelter=smelter, risk=ref.risk_of(smelter.cid),
                  entries=entries, overrides=overrides,
                  may_override=roles.can(request.state.user.role, roles.SMELTER_RISK))


@router.post("/smelters/{cid}/risk", dependencies=[Depends(require_csrf)])
async def smelter_risk_override(request: Request, cid: str, user: User = Depends(require_user)):
    from outreach.risk_store import RiskInputError, clear_override, set_override

    _, smelter = _smelter(request, cid)
    form = await request.form()
    back = f"/smelters/{smelter.cid}"
    reason = str(form.get("reason") or "")
    try:
        if form.get("clear"):
            done = clear_override(ctx_of(request).engine, smelter.cid, by=user.email, reason=reason or None)
            flash(request, "Override cleared: the five factors decide again." if done else "There was no override.",
                  "ok")
        else:
            row = set_override(ctx_of(request).engine, smelter.cid, level=str(form.get("level") or ""),
                               reason=reason, by=user.email)
            flash(request, f"Risk set to {row.level}; every later check and report uses it.", "ok")
    except RiskInputError as exc:
        flash(request, f"Not done: {exc}.", "error")
    return RedirectResponse(back, status_code=303)

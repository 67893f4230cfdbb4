"""The auditor's page: the audit trail, filtered by who, what, object and dates, newest first, in pages."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request

from outreach import audit
from outreach.web.auth import authorize
from outreach.web.context import ctx_of, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(authorize)])

PER_PAGE = 50


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None  # a half-typed date filters nothing rather than failing the page


@router.get("/audit")
def audit_page(request: Request):
    q = request.query_params
    flt = audit.AuditFilter(actor=q.get("who", "").strip(), action=q.get("what", "").strip(),
                            object_id=q.get("object", "").strip(), campaign_id=q.get("campaign", "").strip(),
                            since=_date(q.get("from")), until=_date(q.get("to")))
    try:
        page = max(1, int(q.get("page", "1")))
    except ValueError:
        page = 1
    result = audit.page_of(ctx_of(request).engine, flt, page=page, per_page=PER_PAGE)
    params = {k: v for k, v in q.items() if k != "page" and v}

    def page_link(n: int) -> str:
        return "/audit?" + urlencode({**params, "page": n})

    return render(request, "audit.html", section="audit", result=result, q=params, page_link=page_link,
                  action_words=audit.action_words, changes_words=audit.changes_words,
                  actions=sorted(audit.ACTION_WORDS.items(), key=lambda kv: kv[1]))

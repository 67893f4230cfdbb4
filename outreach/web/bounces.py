"""The bounce mailbox as the compliance team sees it: every message read from it, newest first; a bounce for
no message the product sent stands out, to be looked at by hand (outreach/bounces/)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from outreach.bounces.record import recent_bounces
from outreach.web.auth import authorize
from outreach.web.context import ctx_of, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(authorize)])
LIMIT = 200


@router.get("/bounces")
def bounces_page(request: Request, unmatched: str = ""):
    lines = recent_bounces(ctx_of(request).engine, unmatched_only=bool(unmatched), limit=LIMIT)
    return render(request, "bounces.html", section="bounces", lines=lines, unmatched=bool(unmatched), limit=LIMIT)

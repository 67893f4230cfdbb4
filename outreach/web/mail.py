"""The embedded mail catcher's messages, browsable by the compliance team (development setup)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, HTTPException, Request

from outreach.mailcatcher import MailNotFound, list_messages, read_message
from outreach.web.auth import authorize
from outreach.web.context import ctx_of, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(authorize)])
MAIL_LIMIT = 500

# A caught HTML body is someone else's markup: shown in a sandboxed iframe (no scripts, no forms, no
# same-origin access), with a policy that lets its inline styles through but nothing from the network.
MAIL_VIEW_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


@router.get("/mail")
def mail_list(request: Request, to: str = ""):
    messages = list_messages(ctx_of(request).settings.mail_dir, limit=MAIL_LIMIT)
    if to:
        needle = to.strip().lower()
        messages = [m for m in messages if needle in m.to.lower() or any(needle in a.lower() for a in m.envelope_to)]
    return render(request, "mail_list.html", section="mail", messages=messages, to=to, limit=MAIL_LIMIT)


@router.get("/mail/{mail_id}")
def mail_message(request: Request, mail_id: str):
    try:
        message = read_message(ctx_of(request).settings.mail_dir, mail_id)
    except MailNotFound:
        raise HTTPException(404, "No caught message has this id.") from None
    # Our own links (portal, decision) listed as links, so the demo can be followed from the caught mail.
    base = re.escape(ctx_of(request).settings.public_base_url)
    links = sorted(set(re.findall(base + r"/(?:portal|decide)/[A-Za-z0-9_.\-]+", message.text or "")))
    html = f'<base target="_blank">{message.html}' if message.html else None
    response = render(request, "mail_message.html", section="mail", m=message, links=links, html=html)
    response.headers["Content-Security-Policy"] = MAIL_VIEW_CSP
    return response

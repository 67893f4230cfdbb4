"""What every route needs: settings, database, file store, link signer, templates, Temporal client.

One :class:`WebContext` per app, kept on ``app.state.ctx``. The Temporal client is connected on first
use (pages that only read the database work while Temporal is down).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from temporalio.client import Client

from outreach.links import LinkSigner
from outreach.settings import PROJECT_ROOT, Settings
from outreach.storage import FileStore
from jinja2 import pass_context

from markupsafe import Markup, escape

from outreach import i18n, roles
from outreach.temporal_client import connect
from models.enums import SurveyOutcome
from outreach.wording import humanise, next_step_words, outcome_words, words

TEMPLATES_DIR = PROJECT_ROOT / "templates" / "web"
STATIC_DIR = Path(__file__).resolve().parent / "static"

CSRF_FIELD = "csrf_token"
SESSION_CSRF = "csrf"
SESSION_TOKEN = "session"  # the user_session row's token (outreach/users.py)
SESSION_FLASH = "flash"


@dataclass
class WebContext:
    settings: Settings
    engine: Engine
    signer: LinkSigner
    store: FileStore
    templates: Jinja2Templates
    _client: Client | None = None
    _client_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def temporal(self) -> Client:
        if self._client is None:
            async with self._client_lock:
                if self._client is None:
                    self._client = await connect(self.settings)
        return self._client


def ctx_of(request: Request) -> WebContext:
    return request.app.state.ctx


# --- CSRF: one random token per session, echoed by every form -------------------------------


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


async def require_csrf(request: Request) -> None:
    """A dependency for every form POST: the form must carry the session's token."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(SESSION_CSRF)
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, expected):
        raise HTTPException(
            status_code=403,
            detail=i18n.N_("This form has expired or did not come from this site. Go back, reload the page and try "
                           "again."),
        )


# --- Flash messages: one line shown on the next page --------------------------------------


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session.setdefault(SESSION_FLASH, []).append({"kind": kind, "text": message})
    # Starlette only notices top-level assignments.
    request.session[SESSION_FLASH] = request.session[SESSION_FLASH]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    return request.session.pop(SESSION_FLASH, []) if "session" in request.scope else []


# --- Rendering ----------------------------------------------------------------------------


LANGUAGE_COOKIE = "portal_language"  # the supplier's choice, for pages no survey link names (403/410/413)
PUBLIC_PREFIXES = ("/portal",)


def page_locale(request: Request) -> str:
    """A page's language: the supplier's on the portal (its survey's, set by the route; else its last choice in
    this browser, else the browser's), the company's everywhere else."""
    chosen = getattr(request.state, "locale", None)
    if chosen:
        return chosen
    if request.url.path.startswith(PUBLIC_PREFIXES):
        return i18n.supplier_locale(chosen=request.cookies.get(LANGUAGE_COOKIE),
                                    contact=i18n.negotiate(request.headers.get("accept-language")))
    return i18n.company_locale(ctx_of(request).settings.company_language)


def render(request: Request, template: str, status_code: int = 200, headers: dict[str, str] | None = None,
           **context: Any):
    ctx = ctx_of(request)
    code = page_locale(request)
    base = {
        "locale": code, "html_lang": code.replace("_", "-"), "languages": i18n.languages(),
        "request": request,
        "csrf_token": csrf_token(request),
        "flashes": pop_flashes(request),
        "user": getattr(request.state, "user", None),
        "now": datetime.now(timezone.utc),
        "company_name": ctx.settings.company_name,
    }
    base.update(context)
    with i18n.using(code):  # the response renders here, in this language
        return ctx.templates.TemplateResponse(request, template, base, status_code=status_code, headers=headers)


def _fmt_dt(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return "—"
    value = value.astimezone(timezone.utc)
    if i18n.current() != i18n.ENGLISH:  # a supplier's page in its language: the locale's own order and names
        return i18n.format_moment(value) if with_time else i18n.format_day(value)
    return value.strftime("%d %b %Y %H:%M UTC" if with_time else "%d %b %Y")


def _fmt_date(value: datetime | None) -> str:
    return _fmt_dt(value, with_time=False)


def _money(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}"


def _pct(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.0f}%" if value <= 1 else f"{value:.0f}%"


@pass_context
def _may(context, capability: str) -> bool:
    """Pages hide what the signed-in user's role may not do (the same table the routes enforce)."""
    user = context.get("user")
    return user is not None and roles.can_own(user.role, capability)


def _strong(value: Any) -> Markup:
    return Markup("<strong>%s</strong>") % escape(value)


def _finding(f: Any) -> str:
    """A finding's sentence in the page's language (outreach.i18n.finding_text)."""
    get = f.get if isinstance(f, dict) else lambda k: getattr(f, k, None)
    return i18n.finding_text(get("code"), get("params"), get("message") or "", cell=get("cell"))


def _errors_to_correct(n: int) -> str:
    """"9 errors to correct" (models.facts.correction's headline) in the page's language."""
    return i18n.ngettext("%(num)d error to correct", "%(num)d errors to correct", n) % {"num": n}


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    i18n.install(env)
    env.globals["strong"] = _strong
    env.globals["errors_to_correct"] = _errors_to_correct
    env.filters["finding"] = _finding
    env.filters["dt"] = _fmt_dt
    env.filters["date"] = _fmt_date
    env.filters["human"] = humanise
    env.filters["outcome"] = outcome_words
    env.filters["next_step"] = next_step_words
    env.filters["money"] = _money
    env.filters["words"] = words
    env.filters["pct"] = _pct
    env.globals["OUTCOMES"] = [o.value for o in SurveyOutcome]
    env.globals["may"] = _may
    env.globals["roles"] = roles
    return templates

"""The web app: the compliance dashboard, the supplier portal, the VP's decision page and the JSON API.

``uvicorn outreach.web.app:app`` serves it with the configured settings; tests call
:func:`create_app` with their own settings, database and Temporal client.
Pages read the database (the read model); only actions go to Temporal.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from fastapi import Depends, FastAPI, HTTPException, Request
from markupsafe import escape
from starlette.datastructures import Headers
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from outreach import i18n
from outreach.i18n import N_
from outreach.db import DatabaseUnavailable, check_connection, engine_from_settings
from outreach.links import LinkSigner
from outreach.settings import Settings
from outreach.storage import FileStore
from outreach.web.auth import API_PREFIX, SESSION_LIFETIME, LoginRequired, authorize, login_redirect
from outreach.web.context import LANGUAGE_COOKIE, STATIC_DIR, WebContext, make_templates, render

SESSION_COOKIE = "outreach_session"
# Browsers that once reached the site over https refuse plain http to it for a year: a link typed or
# followed as http:// (or a network that strips TLS) cannot expose the session cookie or a supplier's file.
HSTS = "max-age=31536000"

API_DESCRIPTION = """The same read model and actions the dashboard uses, for other systems.

Authenticate with `Authorization: Bearer <token>` (an administrator issues one with
`outreach users create EMAIL --token`).
A token acts with its account's role (admin, analyst, auditor, executive, commodity_manager): 403 says
what the role may not do.
Errors say what to fix: 422 lists each wrong field, 404 names what was not found, 409 carries the
survey's own reason when an action is not allowed in its current state.
"""


def _security_headers(app: FastAPI, *, https: bool) -> None:
    @app.middleware("http")
    async def add_headers(request: Request, call_next):
        response = await call_next(request)
        if https:  # from the public base URL: behind a TLS-terminating proxy the request itself looks like http
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/static/"):
            # Supplier data and signed links must not linger in shared caches or the back-forward cache.
            response.headers.setdefault("Cache-Control", "no-store")
        if not request.url.path.startswith("/api/docs"):
            # Inline styles are allowed for the sandboxed mail view only (frame-src 'self' for srcdoc).
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            )
        return response


class BodyLimit:
    """Refuse request bodies over the limit before they are spooled to disk (413), whether or not they
    announce their length. Uploads under it get their precise finding from the upload check."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._refuse(send, scope)
        received = 0
        started = refused = False

        async def limited_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit and not refused:
                    refused = True
                    if not started:
                        await self._refuse(send, scope)
                    # The app sees a client that went away (frameworks turn parse errors into 400s).
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers after it is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send, scope) -> None:
        mb = self.limit // 1048576
        # Before any route: the supplier's language from its last choice in this browser, else the browser's.
        headers = Headers(scope=scope)
        cookie = SimpleCookie(headers.get("cookie", ""))
        chosen = cookie[LANGUAGE_COOKIE].value if LANGUAGE_COOKIE in cookie else None
        code = i18n.supplier_locale(chosen=chosen, contact=i18n.negotiate(headers.get("accept-language")))
        with i18n.using(code):
            title, heading = escape(i18n.gettext("File too large")), escape(i18n.gettext("This file is too large"))
            text = escape(i18n.gettext("We accept files up to about %(mb)d MB. A CMRT is normally under 3 MB: please "
                                       "remove pictures or extra sheets, save it again as .xlsx and upload it again "
                                       "(use your browser's Back button).") % {"mb": mb})
        body = (f"<!doctype html><html lang=\"{code.replace('_', '-')}\"><meta charset=\"utf-8\"><title>{title}</title>"
                f"<body style=\"font-family:system-ui;max-width:40rem;margin:3rem auto\"><h1>{heading}</h1><p>{text}</p>"
                f"</body></html>").encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"connection", b"close"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "text/html")


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        return login_redirect(request)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        if _wants_html(request) and exc.status_code in (400, 403, 404, 405, 409, 410, 413):
            heading = {403: N_("Not allowed"), 404: N_("Not found"), 410: N_("Link expired"),
                       413: N_("File too large")}.get(exc.status_code, N_("Something needs your attention"))
            return render(request, "message.html", status_code=exc.status_code, heading=heading,
                          text=str(exc.detail), public=True)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [
            {"field": ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path", "form")),
             "message": err["msg"]}
            for err in exc.errors()
        ]
        if _wants_html(request):  # a person at a browser: one sentence per field, in words
            from outreach.wording import humanise, validation_sentence

            text = " ".join(validation_sentence(err, humanise(e["field"].rsplit(".", 1)[-1]) if e["field"] else "The form")
                            for err, e in zip(exc.errors(), errors))
            return render(request, "message.html", status_code=422, heading="Please check the form",
                          text=text, public=True)
        return JSONResponse({"detail": "Some fields need fixing.", "errors": errors}, status_code=422)


def create_app(settings: Settings, engine: Engine | None = None, temporal_client: Client | None = None) -> FastAPI:
    from outreach.web import admin, api, bounces, dashboard, decision, escalations, mail, portal, review, smelters
    from outreach.web import audit as audit_pages
    from outreach.web.auth import router as auth_router

    app = FastAPI(
        title="Supplier Outreach API",
        version="1",
        description=API_DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    ctx = WebContext(
        settings=settings,
        engine=engine or engine_from_settings(settings),
        signer=LinkSigner.from_settings(settings),
        store=None,  # set below: needs the engine
        templates=make_templates(),
        _client=temporal_client,
    )
    ctx.store = FileStore(settings.file_store_path, ctx.engine)
    app.state.ctx = ctx

    _security_headers(app, https=settings.public_base_url.startswith("https://"))
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.signing_key() + ":session",
        session_cookie=SESSION_COOKIE,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        same_site="lax",
        https_only=settings.public_base_url.startswith("https://"),
    )
    _error_handlers(app)
    # Room for the form around the largest accepted file.
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes + 1024 * 1024)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # Who may do what (outreach/roles.py): `authorize` is on every route, these and each router's.
    @app.get("/livez", dependencies=[Depends(authorize)], tags=["health"], summary="Liveness: the app runs and reaches its database")
    def livez():
        """For a load balancer or a container's health check: a mail outage does not take the app out."""
        try:
            check_connection(ctx.engine)
        except DatabaseUnavailable as exc:
            return JSONResponse({"status": "error", "database": str(exc)}, status_code=503)
        return {"status": "ok"}

    @app.get("/healthz", dependencies=[Depends(authorize)], tags=["health"], summary="Health: database, mail delivery and failing activities")
    def healthz():
        """503 with what is wrong when the database is unreachable, when mail has waited past
        OUTREACH_HEALTH_MAIL_WAITING_MINUTES, or when an activity keeps failing (outreach/health.py)."""
        from outreach.health import check

        try:
            check_connection(ctx.engine)
            health = check(ctx.engine, settings)
        except DatabaseUnavailable as exc:
            return JSONResponse({"status": "error", "database": str(exc)}, status_code=503)
        body = health.as_json()
        return JSONResponse(body, status_code=503 if health.degraded else 200)

    app.include_router(auth_router)
    app.include_router(dashboard.router)
    app.include_router(mail.router)
    app.include_router(bounces.router)
    app.include_router(audit_pages.router)
    app.include_router(smelters.router)
    app.include_router(portal.router)
    app.include_router(decision.router)
    app.include_router(escalations.router)
    app.include_router(admin.router)
    app.include_router(review.router)
    app.include_router(review.api_router, prefix=API_PREFIX)
    app.include_router(api.router, prefix=API_PREFIX)

    @app.get("/favicon.ico", include_in_schema=False, dependencies=[Depends(authorize)])
    def favicon():
        return Response(status_code=204)

    return app


def __getattr__(name: str):
    # `uvicorn outreach.web.app:app` builds the app from the environment on first access, so importing
    # this module (tests, the CLI) has no side effects.
    if name == "app":
        from outreach.settings import get_settings

        application = create_app(get_settings())
        globals()["app"] = application
        return application
    raise AttributeError(name)

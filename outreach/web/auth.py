"""Who may use the dashboard and the API: a session after login (a signed cookie naming a session the
database knows, ended on sign-out), or an API token."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from models.tables import User
from outreach import audit, roles, users
from outreach.web.context import SESSION_TOKEN, ctx_of, render, require_csrf

API_PREFIX = "/api/v1"
_bearer = HTTPBearer(auto_error=False, description="An API token from `outreach users create EMAIL --token`.")


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""


# A working day: after it, sign in again (the cookie's own lifetime is the same; the server decides).
SESSION_LIFETIME = timedelta(hours=12)


def session_user(request: Request) -> User | None:
    token = request.session.get(SESSION_TOKEN)
    if not isinstance(token, str) or not token:
        return None
    return users.session_user(ctx_of(request).engine, token)


def client_address(request: Request) -> str | None:
    """The client's address as the server sees it (behind a reverse proxy: as uvicorn's --proxy-headers and
    FORWARDED_ALLOW_IPS let it read X-Forwarded-For)."""
    return request.client.host if request.client else None


def _sign_in(request: Request, user: User) -> None:
    # A fresh session on every sign-in, so a session id planted before it is worth nothing.
    request.session.clear()
    request.session[SESSION_TOKEN] = users.start_session(ctx_of(request).engine, user.id, lifetime=SESSION_LIFETIME,
                                                         client_address=client_address(request))


def require_user(request: Request) -> User:
    """A dependency for dashboard pages."""
    user = session_user(request)
    if user is None:
        raise LoginRequired()
    request.state.user = user
    return user


def api_user(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> User:
    """A dependency for the JSON API: a bearer token, or (for reads from the dashboard) the session."""
    if credentials is not None:
        user = users.user_for_token(ctx_of(request).engine, credentials.credentials)
        if user is None:
            raise HTTPException(401, "The API token is not valid. An administrator issues one with "
                                "`outreach users create EMAIL --token`.", headers={"WWW-Authenticate": "Bearer"})
        request.state.user = user
        return user
    if request.method in ("GET", "HEAD"):
        user = session_user(request)
        if user is not None:
            request.state.user = user
            return user
    raise HTTPException(401, "Send an API token: `Authorization: Bearer <token>` (an administrator issues one with "
                        "`outreach users create EMAIL --token`).", headers={"WWW-Authenticate": "Bearer"})


async def authorize(request: Request) -> None:
    """The app's one authorisation dependency, on every route: the route's rule in outreach/roles.py,
    then the user (a session on pages, a token or session on the API) and their role. Refused: 403 with
    a sentence. A commodity manager let through "own only" is marked so the page or endpoint scopes to
    their suppliers (``own_only``)."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    if request.url.path.startswith(API_PREFIX + "/") and not path.startswith(API_PREFIX + "/"):
        path = API_PREFIX + path  # the API router's routes know their path inside the router
    method = "GET" if request.method == "HEAD" else request.method
    rule = roles.rule_for(method, path)
    if rule is not None and rule.capability(request.path_params.get("action")) in (roles.NO_LOGIN):
        return
    if path.startswith(API_PREFIX + "/"):
        user = api_user(request, await _bearer(request))
    else:
        user = require_user(request)
    decision = roles.decide(user.role, method, path, request.path_params.get("action"))
    if not decision.allowed:
        raise HTTPException(403, decision.reason)
    request.state.own_only = decision.own_only


def own_only(request: Request) -> str | None:
    """The email whose suppliers alone this request may see (a commodity manager's), else None."""
    if getattr(request.state, "own_only", False):
        return users.normalise_email(request.state.user.email)
    return None


def require_own(request: Request, manager_email: str | None, supplier_id: str) -> None:
    """403 when the request is limited to the user's own suppliers and this one is somebody else's."""
    mine = own_only(request)
    if mine is not None and users.normalise_email(manager_email or "") != mine:
        raise HTTPException(403, roles.not_yours(supplier_id))


router = APIRouter(dependencies=[Depends(authorize)])


def _safe_next(value: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://..." would be an open redirect.
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/"):
    if session_user(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    if not users.has_users(ctx_of(request).engine):
        return RedirectResponse("/setup", status_code=303)
    return render(request, "login.html", next=_safe_next(next))


# First run: while no account exists, a browser on the same machine (`make run`) creates the first one,
# an analyst (who runs campaigns: a trial on one machine starts with the demo; accounts of the other roles,
# an administrator included, come from `outreach users create`). From anywhere else (a server behind a proxy) the first account comes from the CLI, so an
# early visitor cannot claim the installation. Once an account exists, this page is gone.
_LOCAL_CLIENTS = {"127.0.0.1", "::1"}


def _setup_open(request: Request) -> None:
    if users.has_users(ctx_of(request).engine):
        raise HTTPException(404, "The first account exists already. Sign in, or ask an administrator for an "
                                 "account (`outreach users create EMAIL`).")
    if request.client is None or request.client.host not in _LOCAL_CLIENTS:
        raise HTTPException(403, "No account exists yet. Create the first one on the server: "
                                 "`outreach users create EMAIL --role admin`.")


@router.get("/setup", include_in_schema=False)
def setup_page(request: Request):
    _setup_open(request)
    return render(request, "setup.html", form={})


@router.post("/setup", include_in_schema=False, dependencies=[Depends(require_csrf)])
def setup(request: Request, email: str = Form(""), name: str = Form(""), password: str = Form(""),
          password_again: str = Form("")):
    _setup_open(request)
    form = {"email": email, "name": name}
    if password != password_again:
        return render(request, "setup.html", status_code=422, form=form, error="The two passwords differ.")
    try:
        user = users.create_user(ctx_of(request).engine, email, password, name=name or None, role="analyst",
                                 by=f"{email} (first-run setup)")
    except users.UserError as exc:
        return render(request, "setup.html", status_code=422, form=form, error=f"{str(exc)[0].upper()}{str(exc)[1:]}.")
    _sign_in(request, user)
    return RedirectResponse("/", status_code=303)


SIGN_IN_LIMITS = users.SignInLimits()


@router.post("/login", include_in_schema=False, dependencies=[Depends(require_csrf)])
def login(request: Request, email: str = Form(""), password: str = Form(""), next: str = Form("/")):
    engine = ctx_of(request).engine
    address = client_address(request)
    # Counted in the database: a guesser spreading attempts over several web replicas meets the same limits.
    lockout = users.sign_in_lockout(engine, email, address, SIGN_IN_LIMITS)
    if lockout is not None:
        audit.record_now(engine, actor=users.normalise_email(email), action="sign_in_failed", object_type="account",
                         object_id=users.normalise_email(email), reason="locked out: " + lockout.message,
                         after={"address": address or "unknown"})
        return render(request, "login.html", status_code=429, next=_safe_next(next), email=email,
                      error=lockout.message, headers={"Retry-After": str(lockout.minutes * 60)})
    user = users.authenticate(engine, email, password)
    if user is None:
        users.record_sign_in_failure(engine, email, SIGN_IN_LIMITS.window, address)
        return render(request, "login.html", status_code=401, next=_safe_next(next), email=email,
                      error="That email and password do not match an account. Check both and try again.")
    users.clear_sign_in_failures(engine, email, SIGN_IN_LIMITS.window, address)
    _sign_in(request, user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False, dependencies=[Depends(require_csrf)])
def logout(request: Request):
    token = request.session.get(SESSION_TOKEN)
    if isinstance(token, str) and token:
        users.end_session(ctx_of(request).engine, token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)

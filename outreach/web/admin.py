"""The administrator's pages: accounts (create, change role, deactivate, issue an API token) and legal holds.

Thin over the same calls as `outreach users` and `outreach hold` (outreach/users.py, outreach/holds.py),
which write each change and its audit entry in one transaction. The routes' rules are in outreach/roles.py
(USERS, HOLDS: the administrator).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from models.tables import User
from outreach import holds, roles, users
from outreach.web.auth import authorize, require_user
from outreach.web.context import ctx_of, flash, render, require_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(authorize)])


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


def _account(request: Request, user_id: int) -> User:
    account = users.get_user(ctx_of(request).engine, user_id)
    if account is None:
        raise HTTPException(404, f"There is no account {user_id}.")
    return account


def _users_page(request: Request, *, status_code: int = 200, form: dict | None = None, error: str | None = None,
                new_token: tuple[str, str] | None = None):
    return render(request, "admin_users.html", status_code=status_code, section="admin",
                  accounts=users.list_users(ctx_of(request).engine), role_words=roles.ROLE_WORDS, form=form or {},
                  error=error, new_token=new_token)


@router.get("/admin/users")
def users_page(request: Request):
    return _users_page(request)


@router.post("/admin/users", dependencies=[Depends(require_csrf)])
def create_account(request: Request, email: str = Form(""), name: str = Form(""), role: str = Form("analyst"),
                   password: str = Form(""), admin: User = Depends(require_user)):
    try:
        account = users.create_user(ctx_of(request).engine, email, password, name=name.strip() or None, role=role,
                                    by=admin.email)
    except users.UserError as exc:
        return _users_page(request, status_code=422, form={"email": email, "name": name, "role": role},
                           error=_sentence(exc))
    flash(request, f"Account {account.email} created ({roles.ROLE_WORDS[account.role]}). Give them the password "
                   f"by a separate channel.", "ok")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/role", dependencies=[Depends(require_csrf)])
def change_role(request: Request, user_id: int, role: str = Form(""), admin: User = Depends(require_user)):
    account = _account(request, user_id)
    try:
        users.set_role(ctx_of(request).engine, account.email, role, by=admin.email)
    except users.UserError as exc:
        flash(request, f"Role of {account.email}: not changed. {_sentence(exc)}", "error")
    else:
        flash(request, f"{account.email} is now {roles.ROLE_WORDS[role]}, from their next request on.", "ok")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/deactivate", dependencies=[Depends(require_csrf)])
def deactivate(request: Request, user_id: int, admin: User = Depends(require_user)):
    account = _account(request, user_id)
    if account.id == admin.id:
        flash(request, "You cannot deactivate your own account: ask another administrator.", "error")
        return RedirectResponse("/admin/users", status_code=303)
    users.deactivate_user(ctx_of(request).engine, account.email, by=admin.email)
    flash(request, f"{account.email} deactivated: their sessions ended and their API token no longer works.", "ok")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/token", dependencies=[Depends(require_csrf)])
def issue_token(request: Request, user_id: int, admin: User = Depends(require_user)):
    account = _account(request, user_id)
    try:
        token = users.issue_api_token(ctx_of(request).engine, account.email, by=admin.email)
    except users.UserError as exc:
        flash(request, f"API token for {account.email}: not issued. {_sentence(exc)}", "error")
        return RedirectResponse("/admin/users", status_code=303)
    # Shown in this answer only: never in a redirect, a flash (the session cookie) or a log.
    return _users_page(request, new_token=(account.email, token))


# --- Legal holds ----------------------------------------------------------------------------------


def _holds_page(request: Request, *, status_code: int = 200, form: dict | None = None, error: str | None = None):
    engine = ctx_of(request).engine
    return render(request, "admin_holds.html", status_code=status_code, section="holds",
                  holds=holds.list_holds(engine, include_released=True), form=form or {}, error=error)


@router.get("/admin/holds")
def holds_page(request: Request):
    return _holds_page(request)


@router.post("/admin/holds", dependencies=[Depends(require_csrf)])
def place_hold(request: Request, scope: str = Form(""), target_id: str = Form(""), reason: str = Form(""),
               admin: User = Depends(require_user)):
    try:
        hold = holds.place(ctx_of(request).engine, scope, target_id.strip(), reason, by=admin.email)
    except holds.HoldError as exc:
        return _holds_page(request, status_code=422, form={"scope": scope, "target_id": target_id, "reason": reason},
                           error=_sentence(exc))
    flash(request, f"The {hold.scope} {hold.target_id} is under legal hold: no purge removes its records.", "ok")
    return RedirectResponse("/admin/holds", status_code=303)


@router.post("/admin/holds/{hold_id}/release", dependencies=[Depends(require_csrf)])
def release_hold(request: Request, hold_id: int, reason: str = Form(""), admin: User = Depends(require_user)):
    engine = ctx_of(request).engine
    hold = next((h for h in holds.list_holds(engine) if h.id == hold_id), None)
    if hold is None:
        raise HTTPException(404, f"No legal hold {hold_id} is in force.")
    try:
        holds.release(engine, hold.scope, hold.target_id, reason, by=admin.email)
    except holds.HoldError as exc:
        flash(request, f"Legal hold {hold_id}: not released. {_sentence(exc)}", "error")
    else:
        flash(request, f"Legal hold on the {hold.scope} {hold.target_id} released.", "ok")
    return RedirectResponse("/admin/holds", status_code=303)

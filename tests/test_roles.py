"""Who may do what: every route of the web app and the API, walked with every role against the one
permission table (outreach/roles.py). A route without a rule fails here, by name."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from outreach import roles
from outreach.users import create_user, issue_api_token
from tests.web_support import USER_PASSWORD, csrf_from, make_web, seed_case

OWN_MANAGER = "cm.one@company.test"  # seed_case's commodity manager of S-1
ROLE_EMAILS = {r: (OWN_MANAGER if r == "commodity_manager" else f"{r}@company.test") for r in roles.ROLES}

# What each path parameter is filled with: the seeded case S-1 (managed by OWN_MANAGER).
PARAMS = {"campaign_id": "cmrt-2025", "supplier_id": "S-1", "survey_id": "survey/cmrt-2025/S-1",
          "sha256": "0" * 64, "mail_id": "1", "token": "not-a-token", "number": "1", "action": "pause",
          "escalation_id": "survey/cmrt-2025/S-1/escalation/1", "user_id": "999", "hold_id": "999",
          "cid": "CID003185"}


class NoTemporal:
    """Handlers an allowed role reaches fail fast instead of calling a workflow engine."""

    def __getattr__(self, name):
        raise RuntimeError("no workflow engine in this test")


def _routes(app):
    """(name, method, path) of every route the app serves, the API's own documents included."""
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        if isinstance(route, (APIRoute, Route)):
            served = [(route.path, route)]
        else:  # an included router: its routes with their full paths
            served = [(c.path, c.original_route) for c in route.effective_route_contexts()]
        for path, original in served:
            for method in sorted(original.methods or ()):
                if method != "HEAD":
                    yield original.name, method, path


def _url(path: str, **override) -> str:
    values = {**PARAMS, **override}
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: values[m.group(1)], path)


@pytest.fixture
async def site(engine, db_url, settings_for):
    web = make_web(settings_for(db_url=db_url), engine, NoTemporal())
    seed_case(engine)
    seed_case(engine, supplier_id="S-2", name="Other Metals", manager="cm.two@company.test")
    clients, tokens = {}, {}
    transport = httpx.ASGITransport(app=web.app, raise_app_exceptions=False)
    for role, email in ROLE_EMAILS.items():
        create_user(engine, email, USER_PASSWORD, role=role)
        tokens[role] = issue_api_token(engine, email)
        client = httpx.AsyncClient(transport=transport, base_url="http://portal.test")
        page = await client.get("/login")
        r = await client.post("/login", data={"email": email, "password": USER_PASSWORD, "next": "/api",
                                              "csrf_token": csrf_from(page.text)})
        assert r.status_code == 303, (role, r.text)
        clients[role] = client
    yield web, clients, tokens
    for client in clients.values():
        await client.aclose()
    await web.client.aclose()


def test_every_route_has_a_rule_and_every_rule_a_route(engine, db_url, settings_for):
    app = make_web(settings_for(db_url=db_url), engine).app
    served = set()
    for name, method, path in _routes(app):
        assert roles.rule_for(method, path) is not None, (
            f"route {name} ({method} {path}) has no rule in outreach/roles.py ROUTES")
        served.add((method, path))
    assert set(roles.ROUTES) - served == set(), "rules for routes that no longer exist"


def test_the_table_itself():
    # Separation of duties: whoever manages accounts does not act on cases, and the reverse.
    assert not roles.can("admin", roles.SURVEYS_ACT) and not roles.can("admin", roles.CAMPAIGNS_RUN)
    assert not roles.can("analyst", roles.USERS)
    # Read-only roles hold no action at all.
    actions = {roles.CAMPAIGNS_RUN, roles.SURVEYS_ACT, roles.NOTE, roles.OWN_NOTE, roles.USERS, roles.SETTINGS,
               roles.SMELTER_RISK}
    assert not roles.CAPABILITIES["auditor"] & actions
    assert roles.CAPABILITIES["executive"] & actions == set()
    assert roles.decide("commodity_manager", "GET", "/suppliers/{supplier_id}").own_only
    assert not roles.decide("commodity_manager", "POST", "/suppliers/{supplier_id}/actions/{action}", "withdraw").allowed
    assert roles.decide("commodity_manager", "POST", "/suppliers/{supplier_id}/actions/{action}", "add_note").allowed
    assert not roles.decide("analyst", "GET", "/no/such/route").allowed
    # A smelter's risk is overridden by an analyst only; everyone who sees suppliers sees the smelter page.
    assert [r for r in roles.ROLES if roles.decide(r, "POST", "/smelters/{cid}/risk").allowed] == ["analyst"]
    assert roles.decide("auditor", "GET", "/smelters/{cid}").allowed


async def test_every_route_with_every_role(site):
    web, clients, tokens = site
    walked = 0
    for name, method, path in _routes(web.app):
        rule = roles.rule_for(method, path)
        if rule.need in roles.NO_LOGIN:
            continue  # sign-in, health, the signed links: no session to check
        api = path.startswith("/api/v1/")
        # A page's action route is walked with a note (which a commodity manager may add) and a withdrawal.
        actions = ["add_note", "withdraw"] if path == "/suppliers/{supplier_id}/actions/{action}" else [None]
        for action in actions:
            url = _url(path, **({"action": action} if action else {}))
            anonymous = await web.client.request(method, url, follow_redirects=False)
            assert anonymous.status_code in ((401,) if api else (303,)), (name, method, url, anonymous.status_code)
            for role, client in clients.items():
                if api:
                    r = await client.request(method, url, headers={"Authorization": f"Bearer {tokens[role]}"})
                elif method == "POST":
                    token = csrf_from((await client.get("/api")).text)
                    data = {"csrf_token": token, "survey_id": PARAMS["survey_id"], "text": "A note.", "reason": "r"}
                    r = await client.post(url, data=data)
                else:
                    r = await client.get(url)
                allowed = roles.decide(role, method, path, action or PARAMS["action"]).allowed
                where = f"{name}: {method} {url} as {role} -> {r.status_code}"
                if allowed:
                    assert r.status_code not in (401, 403), where
                else:
                    assert r.status_code == 403, where
                    assert "may not" in r.text and "Ask an administrator" in r.text, where
                walked += 1
    assert walked > 150


async def test_a_commodity_manager_sees_and_notes_only_their_own_suppliers(site):
    web, clients, tokens = site
    cm = clients["commodity_manager"]
    bearer = {"Authorization": f"Bearer {tokens['commodity_manager']}"}
    r = await cm.get("/", follow_redirects=True)
    assert r.url.path == "/suppliers" and "Acme Metals" in r.text and "Other Metals" not in r.text
    assert "Other Metals" not in (await cm.get("/suppliers?manager=cm.two@company.test")).text
    assert (await cm.get("/suppliers/S-1")).status_code == 200
    r = await cm.get("/suppliers/S-2")
    assert r.status_code == 403 and "managed by someone else" in r.text
    listed = (await cm.get("/api/v1/suppliers", headers=bearer)).json()
    assert [s["id"] for s in listed["items"]] == ["S-1"]
    assert (await cm.get("/api/v1/suppliers/S-2", headers=bearer)).status_code == 403
    assert (await cm.get("/api/v1/surveys/survey/cmrt-2025/S-2", headers=bearer)).status_code == 403
    assert (await cm.get("/api/v1/surveys/survey/cmrt-2025/S-1", headers=bearer)).status_code == 200
    r = await cm.post("/api/v1/surveys/survey/cmrt-2025/S-2/actions/add_note", json={"text": "hi"}, headers=bearer)
    assert r.status_code == 403
    token = csrf_from((await cm.get("/suppliers/S-1")).text)
    r = await cm.post("/suppliers/S-2/actions/add_note",
                      data={"csrf_token": token, "survey_id": "survey/cmrt-2025/S-2", "text": "hi"})
    assert r.status_code == 403 and "managed by someone else" in r.text
    # The others see every supplier.
    assert "Other Metals" in (await clients["auditor"].get("/suppliers")).text


def _action_forms(html: str) -> set[str]:
    return set(re.findall(r'<form method="post" action="/suppliers/S-1/actions/([a-z_]+)"', html))


async def test_pages_hide_what_a_role_may_not_do(site):
    web, clients, tokens = site
    analyst = (await clients["analyst"].get("/suppliers/S-1")).text
    assert {"withdraw", "add_note", "extend_deadline", "accept_submission"} <= _action_forms(analyst)
    assert "Open the supplier portal" in analyst and "/files/" in analyst
    for role in ("auditor", "admin", "executive"):
        page = await clients[role].get("/suppliers/S-1")
        assert page.status_code == 200 and _action_forms(page.text) == set(), role
        assert "Open the supplier portal" not in page.text, role  # the signed link would act as the supplier
    assert _action_forms((await clients["commodity_manager"].get("/suppliers/S-1")).text) == {"add_note"}
    assert "/files/" not in (await clients["executive"].get("/suppliers/S-1")).text
    # The campaign page: only the analyst gets the campaign's actions; the auditor gets its report.
    analyst = (await clients["analyst"].get("/campaigns/cmrt-2025")).text
    auditor = (await clients["auditor"].get("/campaigns/cmrt-2025")).text
    assert "Cancel the campaign" in analyst and "Cancel the campaign" not in auditor
    assert "Report figures" in auditor
    nav = (await clients["commodity_manager"].get("/suppliers")).text
    assert 'href="/mail"' not in nav and ">Campaigns<" not in nav
    assert "Download CSV" not in nav and "Download CSV" in (await clients["auditor"].get("/suppliers")).text


async def test_a_role_change_or_a_deactivation_counts_from_the_next_request(site):
    from outreach.users import deactivate_user, set_role

    web, clients, tokens = site
    auditor, bearer = clients["auditor"], {"Authorization": f"Bearer {tokens['auditor']}"}
    assert (await auditor.get("/campaigns/new")).status_code == 403
    set_role(web.engine, ROLE_EMAILS["auditor"], "analyst")
    assert (await auditor.get("/campaigns/new")).status_code == 200
    deactivate_user(web.engine, ROLE_EMAILS["auditor"])
    r = await auditor.get("/suppliers")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert (await auditor.get("/api/v1/suppliers", headers=bearer)).status_code == 401
    page = await auditor.get("/login")
    r = await auditor.post("/login", data={"email": ROLE_EMAILS["auditor"], "password": USER_PASSWORD,
                                           "csrf_token": csrf_from(page.text)})
    assert r.status_code == 401

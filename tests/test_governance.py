"""Governance through its faces: the administrator's pages (accounts, tokens, legal holds), an executive
deciding an escalated case from the dashboard, and each action the audit trail must hold written there
once, with who, what, the object, before and after."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from models.enums import SurveyOutcome
from models.tables import AuditEntry, Escalation
from outreach import audit
from outreach.cli import app as cli_app
from outreach.db import session_scope
from outreach.users import create_user, user_for_token
from tests.web_support import USER_PASSWORD, csrf_from, make_web, seed_case

runner = CliRunner()
ADMIN = "ada.admin@company.test"
ROOT = Path(__file__).resolve().parents[1]


def entries(engine, action: str | None = None) -> list[AuditEntry]:
    with session_scope(engine) as s:
        q = select(AuditEntry).order_by(AuditEntry.seq)
        return list(s.exec(q.where(AuditEntry.action == action) if action else q))


def one(engine, action: str) -> AuditEntry:
    found = entries(engine, action)
    assert len(found) == 1, (action, [(e.actor, e.object_id) for e in found])
    return found[0]


@pytest.fixture
async def admin_web(engine, db_url, settings_for):
    web = make_web(settings_for(db_url=db_url), engine)
    seed_case(engine)
    create_user(engine, ADMIN, USER_PASSWORD, role="admin")
    r = await web.login(ADMIN, USER_PASSWORD)
    assert r.status_code == 200 and r.url.path != "/login"
    yield web
    await web.client.aclose()


def _account_id(html: str, email: str) -> str:
    return re.search(rf'<tr id="account-(\d+)">\s*<td>{re.escape(email)}</td>', html).group(1)


async def test_the_administrator_manages_accounts_from_the_web_each_change_audited(admin_web):
    web = admin_web
    page = await web.client.get("/admin/users")
    assert page.status_code == 200 and "ana.analyst@company.test" in page.text and 'href="/admin/users"' in page.text
    token = csrf_from(page.text)

    r = await web.client.post("/admin/users", data={"email": "ed@company.test", "name": "Ed", "role": "executive",
                                                    "password": "short", "csrf_token": token})
    assert r.status_code == 422 and "at least 10 characters" in r.text and 'value="ed@company.test"' in r.text
    assert entries(web.engine, "user.created")[-1].object_id != "ed@company.test"  # refused: nothing written
    r = await web.client.post("/admin/users", data={"email": "ed@company.test", "name": "Ed", "role": "executive",
                                                    "password": USER_PASSWORD, "csrf_token": token})
    assert r.status_code == 200 and "Account ed@company.test created" in r.text
    created = [e for e in entries(web.engine, "user.created") if e.object_id == "ed@company.test"]
    assert len(created) == 1 and created[0].actor == ADMIN and created[0].after == {"role": "executive", "name": "Ed"}

    ed = _account_id(r.text, "ed@company.test")
    r = await web.client.post(f"/admin/users/{ed}/role", data={"role": "auditor", "csrf_token": token})
    assert "is now an auditor" in r.text
    changed = one(web.engine, "user.role_changed")
    assert (changed.actor, changed.object_id, changed.before, changed.after) == (
        ADMIN, "ed@company.test", {"role": "executive"}, {"role": "auditor"})
    r = await web.client.post(f"/admin/users/{ed}/role", data={"role": "overlord", "csrf_token": token})
    assert "not changed" in r.text and len(entries(web.engine, "user.role_changed")) == 1

    r = await web.client.post(f"/admin/users/{ed}/token", data={"csrf_token": token})
    issued = re.search(r"<code class=\"mono\">(out_[^<]+)</code>", r.text).group(1)
    assert user_for_token(web.engine, issued).email == "ed@company.test"
    assert issued not in str(web.client.cookies.jar.__dict__)  # shown once, in that answer only
    assert issued not in (await web.client.get("/admin/users")).text
    entry = one(web.engine, "user.token_issued")
    assert (entry.actor, entry.object_id, entry.before, entry.after) == (
        ADMIN, "ed@company.test", {"api_token": False}, {"api_token": True})

    r = await web.client.post(f"/admin/users/{ed}/deactivate", data={"csrf_token": token})
    assert "ed@company.test deactivated" in r.text and user_for_token(web.engine, issued) is None
    entry = one(web.engine, "user.deactivated")
    assert entry.actor == ADMIN and entry.before == {"active": True, "api_token": True}
    me = _account_id(r.text, ADMIN)
    r = await web.client.post(f"/admin/users/{me}/deactivate", data={"csrf_token": token})
    assert "cannot deactivate your own account" in r.text and len(entries(web.engine, "user.deactivated")) == 1
    assert (await web.client.post("/admin/users/999/role", data={"role": "analyst", "csrf_token": token})).status_code == 404
    assert audit.verify(web.engine).ok


async def test_legal_holds_from_the_web(admin_web):
    web = admin_web
    page = await web.client.get("/admin/holds")
    assert page.status_code == 200 and "No legal hold was ever placed" in page.text
    token = csrf_from(page.text)
    r = await web.client.post("/admin/holds", data={"scope": "supplier", "target_id": "S-404", "reason": "x",
                                                    "csrf_token": token})
    assert r.status_code == 422 and "No supplier with the ID S-404" in r.text
    r = await web.client.post("/admin/holds", data={"scope": "supplier", "target_id": "S-1",
                                                    "reason": "Litigation 2031-4", "csrf_token": token})
    assert "under legal hold" in r.text and "in force" in r.text
    placed = one(web.engine, "hold.placed")
    assert (placed.actor, placed.object_type, placed.object_id, placed.reason, placed.before, placed.after["held"]) == (
        ADMIN, "supplier", "S-1", "Litigation 2031-4", {"held": False}, True)
    hold_id = placed.after["hold"]
    r = await web.client.post(f"/admin/holds/{hold_id}/release", data={"reason": "", "csrf_token": token})
    assert "not released" in r.text and not entries(web.engine, "hold.released")
    r = await web.client.post(f"/admin/holds/{hold_id}/release", data={"reason": "Settled", "csrf_token": token})
    assert "released" in r.text
    released = one(web.engine, "hold.released")
    assert (released.actor, released.object_id, released.before["held"], released.after) == (
        ADMIN, "S-1", True, {"held": False})


@pytest.mark.parametrize("role", ["analyst", "executive", "auditor", "commodity_manager"])
async def test_only_the_administrator_manages_accounts_and_holds(engine, db_url, settings_for, role):
    web = make_web(settings_for(db_url=db_url), engine)
    try:
        create_user(engine, f"{role}@company.test", USER_PASSWORD, role=role)
        await web.login(f"{role}@company.test", USER_PASSWORD)
        for path in ("/admin/users", "/admin/holds"):
            r = await web.client.get(path)
            assert r.status_code == 403 and "Ask an administrator" in r.text, (role, path)
        nav = (await web.client.get("/suppliers")).text
        assert 'href="/admin/users"' not in nav and 'href="/admin/holds"' not in nav
    finally:
        await web.client.aclose()


# --- An executive decides from the dashboard (real Temporal) ---------------------------------------


@pytest.fixture
async def rig_web(ts_env, smtp, engine, db_url, settings_for):
    from tests.survey_harness import VP, SurveyRig

    rig = SurveyRig(ts_env, smtp, engine, settings_for(smtp_port=smtp.port, db_url=db_url, vp_email=VP))
    web = make_web(rig.settings, rig.engine, rig.client)
    yield rig, web
    await web.client.aclose()


async def test_an_executive_decides_an_escalated_case_from_the_dashboard(rig_web):
    from tests.survey_harness import running
    from tests.test_web_lifecycle import _open_escalation, eventually
    from tests.web_support import skip_to_escalation

    rig, web = rig_web
    create_user(web.engine, "eve.exec@company.test", USER_PASSWORD, role="executive")
    async with running(rig):
        h = await rig.start()
        await skip_to_escalation(rig)
        escalation_id = await eventually(lambda: _open_escalation(rig, h.id))
        # The analyst reads the case but may not decide it.
        await web.login()
        page = await web.client.get(f"/escalations/{escalation_id}")
        assert page.status_code == 200 and "Acme Components Ltd." in page.text
        assert "Awaiting a decision" in page.text and "Record my decision" not in page.text
        r = await web.client.post(f"/escalations/{escalation_id}/decide",
                                  data={"decision": "waive", "reason": "x", "csrf_token": csrf_from(page.text)})
        assert r.status_code == 403 and "decide escalated cases" in r.text
        await web.client.post("/logout", data={"csrf_token": csrf_from(page.text)})

        await web.login("eve.exec@company.test", USER_PASSWORD)
        listing = await web.client.get("/escalations")
        assert listing.status_code == 200 and f'href="/escalations/{escalation_id}"' in listing.text
        assert "<strong>open</strong>" in listing.text
        page = await web.client.get(f"/escalations/{escalation_id}")
        assert "Record my decision" in page.text and "Recorded as decided by eve.exec@company.test" in page.text
        token = csrf_from(page.text)
        r = await web.client.post(f"/escalations/{escalation_id}/decide", data={"decision": "suspend", "reason": "",
                                                                                 "csrf_token": token})
        assert r.status_code == 422 and "give the reason" in r.text
        r = await web.client.post(f"/escalations/{escalation_id}/decide",
                                  data={"decision": "suspend", "reason": "No CMRT after every reminder",
                                        "csrf_token": token})
        assert r.status_code == 200 and "Your decision is recorded" in r.text and "Decided: Suspend" in r.text
        result = await h.result()
    assert result.outcome == SurveyOutcome.suspended
    with session_scope(rig.engine) as s:
        esc = s.get(Escalation, escalation_id)
        assert (esc.decision, esc.decided_by) == ("suspend", "eve.exec@company.test")
    decided = one(rig.engine, "survey.vp_decided")
    assert decided.actor == "eve.exec@company.test" and decided.object_id == h.id
    assert decided.reason == "No CMRT after every reminder" and decided.after.get("outcome") == "suspended"
    assert audit.verify(rig.engine).ok


# --- The rest of the list, through the command line ------------------------------------------------


def test_imports_schedules_and_settings_are_each_written_once(tmp_path, db_url, engine):
    env = {"OUTREACH_DATABASE_URL": db_url, "OUTREACH_DATA_DIR": str(tmp_path / "var"), "USER": "ops"}
    suppliers = tmp_path / "suppliers.csv"
    suppliers.write_text("supplier_id,name,contact_email\nS-9,Nine Metals,n@nine.test\n", encoding="utf-8")
    r = runner.invoke(cli_app, ["suppliers", "import", str(suppliers)], env=env)
    assert r.exit_code == 0, r.output
    entry = one(engine, "suppliers.imported")
    assert entry.actor == "ops (command line)" and entry.object_id == "suppliers.csv" and entry.after["created"] == 1

    # A reference list of its own (the default list is in the database already): the first twelve rows.
    lines = [x for x in (ROOT / "cmrt/data/default_smelters.csv").read_text(encoding="utf-8").splitlines()
             if not x.startswith("#")]
    reference = tmp_path / "reference.csv"
    reference.write_text("\n".join(lines[:13]) + "\n", encoding="utf-8")
    r = runner.invoke(cli_app, ["smelters", "import", str(reference)], env=env)
    assert r.exit_code == 0, r.output
    entry = one(engine, "smelters.imported")
    assert entry.actor == "ops (command line)" and entry.after["sha256"]

    # Settings come from the environment: the first start records them, a change once, no change never.
    assert runner.invoke(cli_app, ["db", "upgrade"], env=env).exit_code == 0
    assert runner.invoke(cli_app, ["db", "upgrade"], env=env).exit_code == 0
    r = runner.invoke(cli_app, ["db", "upgrade"], env={**env, "OUTREACH_RETENTION_YEARS": "7",
                                                       "OUTREACH_SECRET_KEY": "a-new-secret-nobody-may-read"})
    assert r.exit_code == 0 and "they changed" in r.output
    first, second = entries(engine, "settings.changed")
    assert first.before is None and second.before["retention_years"] == 5 and second.after["retention_years"] == 7
    assert audit.changes_words(second.before, second.after) == "Retention years: 5 → 7"
    assert "a-new-secret" not in str(second.after) and "secret_key" not in second.after
    assert second.actor == "ops (command line)" and audit.verify(engine).ok

"""The audit trail: one chain of entries that proves it was not edited, its writers, the CLI and the page."""

from __future__ import annotations

import csv
import threading
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from models.tables import AuditEntry
from outreach import audit
from outreach.cli import app as cli_app
from outreach.db import make_engine, session_scope
from outreach.users import create_user, deactivate_user, set_role
from tests.web_support import USER_PASSWORD, csrf_from, make_web, seed_case

runner = CliRunner()


def entries(engine, **where) -> list[AuditEntry]:
    with session_scope(engine) as s:
        rows = s.exec(select(AuditEntry).order_by(AuditEntry.seq)).all()
    return [e for e in rows if all(getattr(e, k) == v for k, v in where.items())]


def fill(engine, n: int = 5) -> None:
    for i in range(n):
        audit.record_now(engine, actor=f"person{i}@company.test", action="survey.note", object_type="survey",
                         object_id=f"survey/cmrt-2025/S-{i}", campaign_id="cmrt-2025", reason=f"note {i}",
                         before={"paused": False, "due_at": datetime(2025, 6, 30, tzinfo=timezone.utc)},
                         after={"paused": True, "spend": 1234.5})


# --- The chain ------------------------------------------------------------------------------------


def test_an_untouched_chain_verifies_and_reads_back_what_was_hashed(engine):
    fill(engine)
    result = audit.verify(engine)
    assert result.ok and result.count == 5
    rows = entries(engine)
    assert [e.seq for e in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS and rows[1].prev_hash == rows[0].hash
    assert rows[0].before == {"paused": False, "due_at": "2025-06-30T00:00:00.000000+00:00"}
    assert result.last_hash == rows[-1].hash


def test_an_edited_entry_is_named(engine):
    fill(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET reason = 'nothing happened' WHERE seq = 3"))
    result = audit.verify(engine)
    assert not result.ok and result.broken_at == 3 and result.count == 2
    assert "changed after it was written" in result.problem


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_next_one(engine):
    fill(engine)
    with session_scope(engine) as s:
        row = s.get(AuditEntry, 2)
        row.actor = "someone.else@company.test"
        row.hash = audit.entry_hash(row)
        s.add(row)
    result = audit.verify(engine)
    assert result.broken_at == 3 and "does not follow entry 2" in result.problem


def test_a_deleted_entry_is_named(engine):
    fill(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq = 4"))
    result = audit.verify(engine)
    assert result.broken_at == 4 and "entry 4 is missing" in result.problem


def test_an_inserted_entry_is_named(engine):
    """An entry slipped in between 2 and 3, correctly hashed on 2, the later ones renumbered."""
    fill(engine)
    with engine.begin() as conn:
        for seq in (5, 4, 3):
            conn.execute(text("UPDATE audit_entry SET seq = seq + 1 WHERE seq = :s"), {"s": seq})
    with session_scope(engine) as s:
        second = s.get(AuditEntry, 2)
        forged = AuditEntry(seq=3, at=second.at, actor="ghost@company.test", action="survey.note",
                            object_type="survey", object_id="x", prev_hash="f" * 64, hash="")
        forged.prev_hash = second.hash
        forged.hash = audit.entry_hash(forged)
        # The unique prev_hash refuses a second successor of entry 2 outright: detach the old one first.
        s.exec(text("UPDATE audit_entry SET prev_hash = 'gone' WHERE seq = 4"))
        s.add(forged)
    result = audit.verify(engine)
    assert result.ok is False and result.broken_at == 4 and result.count == 3


def test_concurrent_appends_keep_one_chain(any_db_url):
    """Four writers, each with its own connections, appending at once: one chain, no entry lost, none forked."""
    engine = make_engine(any_db_url)
    errors: list[BaseException] = []
    writers, each = 4, 40

    def write(w: int) -> None:
        try:
            for i in range(each):
                audit.record_now(engine, actor=f"w{w}", action="survey.note", object_type="survey",
                                 object_id=f"{w}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        result = audit.verify(engine)
        assert result.ok and result.count == writers * each
        assert {e.object_id for e in entries(engine)} == {f"{w}-{i}" for w in range(writers) for i in range(each)}
    finally:
        engine.dispose()


# --- Who writes -----------------------------------------------------------------------------------


def test_account_changes_are_written_with_before_and_after(engine):
    create_user(engine, "ana@company.test", USER_PASSWORD, role="analyst", by="root (command line)")
    set_role(engine, "ana@company.test", "auditor", by="root (command line)")
    deactivate_user(engine, "ana@company.test", by="root (command line)")
    deactivate_user(engine, "ana@company.test", by="root (command line)")  # already: nothing new
    rows = entries(engine)
    assert [e.action for e in rows] == ["user.created", "user.role_changed", "user.deactivated"]
    assert rows[1].before == {"role": "analyst"} and rows[1].after == {"role": "auditor"}
    assert all(e.actor == "root (command line)" and e.object_id == "ana@company.test" for e in rows)


def test_a_rolled_back_change_leaves_no_entry(engine):
    create_user(engine, "ana@company.test", USER_PASSWORD)
    with pytest.raises(RuntimeError):
        with session_scope(engine) as s:
            audit.record(s, actor="x", action="user.role_changed", object_type="account", object_id="ana")
            raise RuntimeError("the change failed")
    assert [e.action for e in entries(engine)] == ["user.created"]


def test_supplier_import_is_one_entry(engine):
    from outreach.suppliers import import_suppliers, write_supplier_csv

    data = write_supplier_csv([{"supplier_id": "S-1", "name": "Acme", "contact_email": "a@acme.test"},
                               {"supplier_id": "S-2", "name": "Beta", "contact_email": "b@beta.test"}])
    report = import_suppliers(engine, data, "suppliers.csv", by="ana@company.test")
    assert report.imported, report.errors
    [entry] = entries(engine, action="suppliers.imported")
    assert entry.actor == "ana@company.test" and entry.after["created"] == 2 and entry.after["suppliers"] == ["S-1", "S-2"]


# --- The CLI ------------------------------------------------------------------------------------


def test_cli_verify_and_export(tmp_path, db_url, engine):
    fill(engine, 3)
    audit.record_now(engine, actor="root (command line)", action="user.role_changed", object_type="account",
                     object_id="ana@company.test", before={"role": "analyst"}, after={"role": "auditor"})
    env = {"OUTREACH_DATABASE_URL": db_url, "OUTREACH_DATA_DIR": str(tmp_path / "var")}
    r = runner.invoke(cli_app, ["audit", "verify"], env=env, catch_exceptions=False)
    assert r.exit_code == 0 and "4 entries" in r.output, r.output

    out = tmp_path / "trail.xlsx"
    r = runner.invoke(cli_app, ["audit", "export", "--campaign", "cmrt-2025", "--xlsx", str(out)], env=env,
                      catch_exceptions=False)
    assert r.exit_code == 0 and "3 entries" in r.output, r.output
    ws = load_workbook(out)["Audit trail"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("Entry", "When (UTC)", "Who", "What")
    assert [row[0] for row in rows[1:]] == [1, 2, 3]  # numbers as numbers
    assert isinstance(rows[1][1], datetime)
    assert rows[1][3] == "Note" and rows[1][8].startswith("Paused: no → yes")

    out = tmp_path / "trail.csv"
    year = datetime.now(timezone.utc).year
    r = runner.invoke(cli_app, ["audit", "export", "--year", str(year), "--csv", str(out)], env=env,
                      catch_exceptions=False)
    assert r.exit_code == 0 and "4 entries" in r.output
    with out.open(encoding="utf-8") as f:
        last = list(csv.DictReader(f))[-1]
    assert last["What"] == "Role changed" and last["Changes"] == "Role: analyst → auditor"
    r = runner.invoke(cli_app, ["audit", "export", "--year", str(year - 1), "--csv", str(out)], env=env)
    assert "0 entries" in r.output

    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET after = '{\"role\": \"admin\"}' WHERE seq = 4"))
    r = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert r.exit_code == 1 and "entry 4 was changed" in r.output


# --- The page and the faces ----------------------------------------------------------------------


@pytest.fixture
async def web(engine, db_url, settings_for):
    w = make_web(settings_for(db_url=db_url), engine)
    seed_case(engine)
    yield w
    await w.client.aclose()


async def test_the_auditor_reads_the_trail_with_filters_and_pages(web, engine):
    from outreach.web import audit as audit_page

    create_user(web.engine, "audrey@company.test", USER_PASSWORD, role="auditor")
    fill(engine, audit_page.PER_PAGE + 5)
    r = await web.login("nobody@company.test", "a wrong password!!")
    assert r.status_code == 401
    r = await web.login("audrey@company.test", USER_PASSWORD)
    assert r.status_code == 200 and r.url.path != "/login"
    signed_in = entries(engine, action="sign_in")
    assert [e.actor for e in signed_in] == ["audrey@company.test"]
    assert entries(engine, action="sign_in_failed")[0].object_id == "nobody@company.test"

    page = await web.client.get("/audit")
    assert page.status_code == 200 and "Audit trail" in page.text and "Page 1 of 2" in page.text
    assert "Signed in" in page.text and "Sign-in refused" in page.text
    page = await web.client.get("/audit", params={"who": "person7@", "what": "survey.note"})
    assert "note 7" in page.text and "note 8" not in page.text and "Paused: no → yes" in page.text
    page = await web.client.get("/audit", params={"object": "S-12"})
    assert "note 12" in page.text and "note 11" not in page.text
    page = await web.client.get("/audit", params={"from": "2000-01-01", "to": "2000-12-31"})
    assert "No entry matches" in page.text
    page = await web.client.get("/audit", params={"page": "2", "what": "survey.note"})
    assert "Page 2 of 2" in page.text and "note 0" in page.text


@pytest.mark.parametrize("role", ["commodity_manager", "analyst", "executive"])
async def test_the_trail_is_refused_to_those_it_records(web, role):
    create_user(web.engine, f"{role}@company.test", USER_PASSWORD, role=role)
    await web.login(f"{role}@company.test", USER_PASSWORD)
    page = await web.client.get("/audit")
    assert page.status_code == 403


async def test_an_action_through_the_web_writes_one_entry_with_before_and_after(ts_env, smtp, engine, db_url,
                                                                                settings_for):
    """The survey's Update carries who acted; its transition is written once, by that person."""
    from tests.survey_harness import VP, SurveyRig, running
    from tests.test_web_lifecycle import eventually, request_sent, rig_survey

    rig = SurveyRig(ts_env, smtp, engine, settings_for(smtp_port=smtp.port, db_url=db_url, vp_email=VP))
    web = make_web(rig.settings, rig.engine, rig.client)
    try:
        async with running(rig):
            h = await rig.start()
            await eventually(lambda: request_sent(rig, h.id))
            await web.login()
            page = await web.client.get("/suppliers/S-100")
            r = await web.client.post("/suppliers/S-100/actions/pause_reminders",
                                      data={"survey_id": h.id, "csrf_token": csrf_from(page.text),
                                            "reason": "supplier on holiday"})
            assert r.status_code == 200 and "not done" not in r.text
            await eventually(lambda: rig_survey(rig, h.id).paused)
            await h.cancel()
        [entry] = entries(engine, action="survey.reminders_paused")
        assert entry.actor == "ana.analyst@company.test" and entry.object_id == h.id
        assert entry.reason == "supplier on holiday"
        assert entry.before["paused"] is False and entry.after["paused"] is True
        assert entry.before.get("state") == entry.after.get("state")  # unchanged fields are not repeated
        # The product's own transitions are in the same chain, by "the product".
        assert entries(engine, action="survey.request_sent")[0].actor == audit.PRODUCT
        assert audit.verify(engine).ok
    finally:
        await web.client.aclose()

"""Records retention and legal holds: the plan, the purge (files by content hash, the audit trail's prefix
behind a checkpoint), holds that nothing purges, and the CLI. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from models.facts import retention as rule
from models.scorecards import Scorecard
from models.tables import (AuditEntry, Campaign, Escalation, Finding, OutboxMessage, StoredFile, Submission, Supplier,
                           Survey, SurveyEvent)
from outreach import audit, holds
from outreach.cli import app as cli_app
from outreach.db import make_engine, session_scope
from outreach.retention import plan, purge
from outreach.storage import FileStore
from tests.web_support import NOW, seed_case, seed_escalation, seed_plan

runner = CliRunner()
YEARS = 5
LATER = rule.years_after(NOW, YEARS) + timedelta(days=1)  # just past the period of a campaign closed NOW
SOONER = rule.years_after(NOW, YEARS) - timedelta(days=1)


def _close(engine, campaign_id: str, at: datetime = NOW) -> None:
    with session_scope(engine) as s:
        c = s.get(Campaign, campaign_id)
        c.state, c.closed_at = "closed", at
        s.add(c)


def _store_files(store: FileStore, engine) -> None:
    """Real bytes on disk under each seeded submission's hash (seed_case writes only the rows)."""
    with session_scope(engine) as s:
        for sha in s.exec(select(StoredFile.sha256)).all():
            path = store.path_for(sha)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x" * 10)


def _world(engine, store):
    """cmrt-2025 (closed NOW) with S-1 and S-2, each answered, S-2 with a plan, an escalation, a scorecard;
    cmrt-2026 (running) surveys S-1 again, who sent the very same file: that file must stay."""
    audit.record_now(engine, actor="root (command line)", action="user.created", object_type="account",
                     object_id="old@company.test")
    s1 = seed_case(engine, supplier_id="S-1")
    s2 = seed_case(engine, supplier_id="S-2", name="Beta Metals")
    seed_escalation(engine, s2)
    seed_plan(engine, s2, actions=2)
    audit.record_now(engine, actor="ana@company.test", action="survey.note", object_type="survey", object_id=s2,
                     campaign_id="cmrt-2025")
    audit.record_now(engine, actor="ana@company.test", action="survey.note", object_type="survey", object_id=s1,
                     campaign_id="cmrt-2025")
    with session_scope(engine) as s:
        s.add(Scorecard(id="S-2:2025", supplier_id="S-2", year=2025, campaign_id="cmrt-2025", survey_id=s2))
        s.add(OutboxMessage(idempotency_key="campaign/cmrt-2025/summary", campaign_id="cmrt-2025", template="summary",
                            to_addr="compliance@company.test", subject="Summary", body_text="...", message_id="<m>"))
        s.add(Campaign(id="cmrt-2026", year=2026, name="CMRT campaign 2026", state="running"))
        s.flush()
        s.add(Survey(id="survey/cmrt-2026/S-1", campaign_id="cmrt-2026", supplier_id="S-1"))
        s.flush()
        shared = s.exec(select(Submission.file_sha256).where(Submission.survey_id == s1)).one()
        s.add(Submission(id="survey/cmrt-2026/S-1/submission/1", survey_id="survey/cmrt-2026/S-1",
                         file_sha256=shared, received_at=NOW))
    audit.record_now(engine, actor="ana@company.test", action="campaign.started", object_type="campaign",
                     object_id="cmrt-2026", campaign_id="cmrt-2026")
    _close(engine, "cmrt-2025")
    _store_files(store, engine)
    return s1, s2


def _count(engine, model, *where) -> int:
    with session_scope(engine) as s:
        return len(s.exec(select(model).where(*where)).all())


def _sha(engine, survey_id: str) -> str:
    with session_scope(engine) as s:
        return s.exec(select(Submission.file_sha256).where(Submission.survey_id == survey_id)).one()


@pytest.fixture
def db(any_db_url, tmp_path):
    engine = make_engine(any_db_url)
    yield engine, FileStore(tmp_path / "files", engine)
    engine.dispose()


def test_nothing_goes_within_the_period_or_while_a_campaign_runs(db):
    engine, store = db
    _world(engine, store)
    p = plan(engine, years=YEARS, now=SOONER)
    statuses = {c.campaign_id: c.retention.status for c in p.campaigns}
    assert statuses == {"cmrt-2025": rule.KEPT, "cmrt-2026": rule.OPEN}
    assert not p.due and p.audit_prefix == 0 and p.orphan_files == 0
    assert purge(engine, store, years=YEARS, by="root", now=SOONER).nothing
    assert _count(engine, Survey) == 3


def test_plan_then_purge_a_campaign_past_its_period(db):
    engine, store = db
    s1, s2 = _world(engine, store)
    only_2025 = _sha(engine, s2)
    shared = _sha(engine, s1)
    p = plan(engine, years=YEARS, now=LATER)
    [due] = p.due
    assert due.campaign_id == "cmrt-2025" and due.whole
    assert due.counts == {"surveys": 2, "events": 4, "submissions": 2, "findings": 4, "plans": 1, "actions": 2,
                          "escalations": 1, "emails": 3, "scorecards": 1, "files": 1, "file_bytes": 10,
                          "audit_entries": 2}
    # The user entry and the two notes on cmrt-2025 go; the start of cmrt-2026 (kept) stops the prefix.
    assert (p.audit_prefix, p.audit_through) == (3, 3)
    assert _count(engine, Survey) == 3  # a plan changes nothing

    result = purge(engine, store, years=YEARS, by="root (command line)", now=LATER)
    assert [c for c, _ in result.campaigns] == ["cmrt-2025"] and result.files == 1 and result.audit_entries == 3
    for model in (SurveyEvent, Finding, Escalation, Scorecard):
        assert _count(engine, model) == 0, model
    assert _count(engine, Survey) == 1 and _count(engine, Campaign) == 1 and _count(engine, OutboxMessage) == 0
    assert _count(engine, Supplier) == 2  # master data is not the campaign's
    # By content hash: the file cmrt-2026 still references stays, on disk and as a row.
    assert store.exists(shared) and _count(engine, StoredFile, StoredFile.sha256 == shared) == 1
    assert not store.exists(only_2025) and _count(engine, StoredFile, StoredFile.sha256 == only_2025) == 0

    verified = audit.verify(engine)
    assert verified.ok, verified.problem
    assert verified.purged_through == 3 and verified.checkpoint is not None
    with session_scope(engine) as s:
        actions = [e.action for e in s.exec(select(AuditEntry).order_by(AuditEntry.seq))]
    assert actions == ["campaign.started", "retention.purged", "retention.file_removed", "audit.purged"]
    with session_scope(engine) as s:
        [purged] = s.exec(select(AuditEntry).where(AuditEntry.action == "retention.purged")).all()
    assert purged.before["surveys"] == 2 and purged.before["findings"] == 4 and purged.after["campaign"] is False

    # Idempotent: a second run finds nothing, writes nothing.
    assert purge(engine, store, years=YEARS, by="root", now=LATER).nothing
    assert audit.verify(engine).count == 4


def test_a_later_purge_moves_the_start_again_and_verify_follows(db):
    engine, store = db
    _world(engine, store)
    purge(engine, store, years=YEARS, by="root", now=LATER)
    _close(engine, "cmrt-2026", at=LATER)
    much_later = rule.years_after(LATER, YEARS) + timedelta(days=1)
    result = purge(engine, store, years=YEARS, by="root", now=much_later)
    assert [c for c, _ in result.campaigns] == ["cmrt-2026"] and result.files == 1
    verified = audit.verify(engine)
    assert verified.ok, verified.problem
    assert verified.purged_through > 3 and _count(engine, Campaign) == 0 and _count(engine, StoredFile) == 0


def test_verify_refuses_a_prefix_removed_without_a_checkpoint(db):
    engine, store = db
    _world(engine, store)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE seq <= 2"))
    v = audit.verify(engine)
    assert not v.ok and "entries 1 to 2 are missing" in v.problem


def test_the_checkpoint_cannot_be_moved(db):
    engine, store = db
    _world(engine, store)
    purge(engine, store, years=YEARS, by="root", now=LATER)
    with engine.begin() as conn:  # claim the kept chain starts later: the checkpoint's hash no longer holds
        conn.execute(text("DELETE FROM audit_entry WHERE seq = 4"))
    v = audit.verify(engine)
    assert not v.ok


def test_a_supplier_under_legal_hold_stays_until_released(db):
    engine, store = db
    s1, s2 = _world(engine, store)
    held_file = _sha(engine, s2)
    hold = holds.place(engine, "supplier", "S-2", "Litigation 2030-17", by="counsel via admin@company.test")
    with pytest.raises(holds.HoldError, match="already under legal hold"):
        holds.place(engine, "supplier", "S-2", "again", by="admin@company.test")
    with pytest.raises(holds.HoldError, match="no supplier"):
        holds.place(engine, "supplier", "S-404", "typo", by="admin@company.test")
    with pytest.raises(holds.HoldError, match="reason"):
        holds.place(engine, "campaign", "cmrt-2025", "  ", by="admin@company.test")

    p = plan(engine, years=YEARS, now=LATER)
    [due] = p.due
    assert due.retention.held_suppliers == ("S-2",) and due.held_surveys == 1 and not due.whole
    assert due.counts["surveys"] == 1 and due.counts["escalations"] == 0 and due.counts["files"] == 0
    assert p.audit_prefix == 1  # the note about S-2 is held, and stops the prefix
    assert p.audit_first_kept == (2, "it concerns the supplier S-2, under legal hold")

    purge(engine, store, years=YEARS, by="root", now=LATER)
    assert _count(engine, Survey, Survey.id == s2) == 1 and _count(engine, Survey, Survey.id == s1) == 0
    assert _count(engine, Escalation) == 1 and _count(engine, Campaign, Campaign.id == "cmrt-2025") == 1
    assert store.exists(held_file)
    assert audit.verify(engine).ok
    assert purge(engine, store, years=YEARS, by="root", now=LATER).nothing  # safe to re-run

    holds.release(engine, "supplier", "S-2", "Matter closed", by="admin@company.test")
    assert holds.list_holds(engine) == [] and holds.list_holds(engine, include_released=True)[0].id == hold.id
    result = purge(engine, store, years=YEARS, by="root", now=LATER)
    assert [c for c, _ in result.campaigns] == ["cmrt-2025"] and not store.exists(held_file)
    assert _count(engine, Campaign, Campaign.id == "cmrt-2025") == 0
    with session_scope(engine) as s:
        kinds = [(e.action, e.object_id, e.actor) for e in s.exec(select(AuditEntry).where(
            AuditEntry.action.in_(["hold.placed", "hold.released"])))]
    # The hold entries are younger than the period: they stay, and the chain still verifies.
    assert kinds == [("hold.placed", "S-2", "counsel via admin@company.test"),
                     ("hold.released", "S-2", "admin@company.test")]
    assert audit.verify(engine).ok


def test_a_campaign_under_legal_hold_keeps_everything(db):
    engine, store = db
    _world(engine, store)
    holds.place(engine, "campaign", "cmrt-2025", "Regulator's request", by="admin@company.test")
    p = plan(engine, years=YEARS, now=LATER)
    assert {c.campaign_id: c.retention.status for c in p.campaigns}["cmrt-2025"] == rule.HELD
    assert p.audit_prefix == 1  # only the account entry, older and of no campaign
    purge(engine, store, years=YEARS, by="root", now=LATER)
    assert _count(engine, Survey) == 3 and _count(engine, Finding) == 4
    assert audit.verify(engine).ok


def test_cli_plan_purge_and_holds(tmp_path, db_url, engine):
    store = FileStore(tmp_path / "var" / "files", engine)
    # An entry written two years ago (a sign-in): past a one-year period, it goes with the purge.
    audit.record_now(engine, actor="old@company.test", action="sign_in", object_type="account",
                     object_id="old@company.test", at=NOW - timedelta(days=800))
    _world(engine, store)
    env = {"OUTREACH_DATABASE_URL": db_url, "OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_RETENTION_YEARS": "1"}
    # A year after closing is still within a 1-year period... so close it two years back.
    _close(engine, "cmrt-2025", at=NOW - timedelta(days=800))

    r = runner.invoke(cli_app, ["hold", "add", "--supplier", "S-2", "--reason", "Litigation", "--by", "gc"], env=env)
    assert r.exit_code == 0 and "under legal hold" in r.output, r.output
    r = runner.invoke(cli_app, ["hold", "add", "--supplier", "S-2", "--campaign", "x", "--reason", "r"], env=env)
    assert r.exit_code == 2
    r = runner.invoke(cli_app, ["hold", "list"], env=env)
    assert "supplier S-2" in r.output and "Litigation" in r.output

    r = runner.invoke(cli_app, ["retention", "plan"], env=env, catch_exceptions=False)
    assert r.exit_code == 0 and "cmrt-2025 (CMRT campaign 2025): past its period" in r.output, r.output
    assert "entry 2 and later stay (it is younger than 1 year)" in r.output, r.output
    assert "stays under legal hold: 1 survey of S-2" in r.output and "cmrt-2026 (CMRT campaign 2026): open" in r.output
    planned = json.loads(runner.invoke(cli_app, ["retention", "plan", "--json"], env=env).output)
    assert [c["campaign_id"] for c in planned["campaigns"]] == ["cmrt-2025", "cmrt-2026"]
    assert planned["campaigns"][0]["goes"]["surveys"] == 1 and planned["holds"]["suppliers"] == ["S-2"]

    r = runner.invoke(cli_app, ["retention", "purge"], env=env, input="n\n")
    assert r.exit_code == 1 and _count(engine, Survey) == 3  # not confirmed: nothing removed
    r = runner.invoke(cli_app, ["retention", "purge", "--yes", "--by", "ops"], env=env, catch_exceptions=False)
    assert r.exit_code == 0 and "cmrt-2025: removed 1 survey, 2 timeline events" in r.output, r.output
    r = runner.invoke(cli_app, ["retention", "purge", "--yes"], env=env)
    assert r.exit_code == 0 and "Nothing to purge" in r.output
    r = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert r.exit_code == 0 and "entries 1 to 1 were purged under the retention policy" in r.output, r.output

    r = runner.invoke(cli_app, ["hold", "release", "--supplier", "S-2", "--reason", "closed"], env=env)
    assert r.exit_code == 0 and "released" in r.output
    r = runner.invoke(cli_app, ["hold", "release", "--supplier", "S-2", "--reason", "closed"], env=env)
    assert r.exit_code == 1 and "not under legal hold" in r.output


# --- The rule itself -------------------------------------------------------------------------------


def test_years_after_keeps_the_calendar_day():
    assert rule.years_after(datetime(2024, 2, 29, tzinfo=timezone.utc), 5) == datetime(2029, 2, 28, tzinfo=timezone.utc)
    assert rule.years_after(datetime(2026, 12, 2, 9, tzinfo=timezone.utc), 5) == datetime(2031, 12, 2, 9,
                                                                                          tzinfo=timezone.utc)


_T0 = datetime(2020, 1, 1, tzinfo=timezone.utc)
_entries = st.lists(st.tuples(st.integers(0, 4000), st.sampled_from([None, "c-old", "c-kept", "c-held"]),
                              st.sampled_from(["survey/c-old/S-1", "survey/c-old/S-held", "S-held", "x"])),
                    max_size=30)


@hsettings(max_examples=200, deadline=None)
@given(_entries, st.integers(0, 5000))
def test_the_prefix_is_the_longest_run_of_entries_that_may_go(rows, days):
    entries = [rule.AuditFacts(i + 1, _T0 + timedelta(days=d), c, "survey" if "/" in o else "supplier", o)
               for i, (d, c, o) in enumerate(sorted(rows, key=lambda r: r[0]))]
    kw = dict(years=5, now=_T0 + timedelta(days=days), kept_campaigns=frozenset({"c-kept"}),
              holds=rule.Holds(campaigns=frozenset({"c-held"}), suppliers=frozenset({"S-held"})))
    n = rule.audit_prefix(entries, **kw)
    assert not any(rule.audit_entry_stays(e, **kw) for e in entries[:n])
    assert n == len(entries) or rule.audit_entry_stays(entries[n], **kw)
    # Nothing held, nothing of a kept campaign, nothing younger than the period is ever in the prefix.
    for e in entries[:n]:
        assert e.campaign_id not in ("c-kept", "c-held") and "S-held" not in e.object_id
        assert rule.years_after(e.at, 5) <= kw["now"]

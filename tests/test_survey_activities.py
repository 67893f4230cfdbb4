"""The survey's read-model activities on SQLite and PostgreSQL: every write is idempotent under retries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import select

from activities.survey import (
    CapRecord,
    CheckRequest,
    EscalationOpen,
    EscalationRecord,
    SurveyActivities,
    SurveyColumns,
    SurveyRecord,
)
from cmrt.builder import invalid_cmrt
from models.survey import CorrectiveActionState
from models.tables import CorrectiveAction, Escalation, Finding, Submission, Supplier, Survey, SurveyEvent
from outreach.db import make_engine, session_scope

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SID = "survey/cmrt-2026/S-7"


def rec(seq: int, kind: str, state: str, **columns) -> SurveyRecord:
    return SurveyRecord(survey_id=SID, campaign_id="cmrt-2026", campaign_year=2026, supplier_id="S-7",
                        supplier_name="Seven Metals", seq=seq, at=T0 + timedelta(days=seq), kind=kind, state=state,
                        survey=SurveyColumns(**columns))


def test_read_model_writes_are_idempotent_and_ordered(any_db_url, settings_for):
    engine = make_engine(any_db_url)
    try:
        acts = SurveyActivities(settings_for(db_url=any_db_url), engine)
        acts.record_survey_event(rec(1, "survey_started", "requested"))
        acts.record_survey_event(rec(2, "request_sent", "awaiting_response", requested_at=T0, due_at=T0 + timedelta(days=60)))
        acts.record_survey_event(rec(2, "request_sent", "awaiting_response"))  # a retry: nothing new
        acts.record_survey_event(rec(3, "escalated", "escalated", outcome="non_responsive", reminders_sent=3))
        acts.record_survey_event(rec(2, "request_sent", "awaiting_response"))  # a late retry never goes back
        with session_scope(engine) as s:
            survey = s.get(Survey, SID)
            assert (survey.state, survey.outcome, survey.seq, survey.reminders_sent) == ("escalated", "non_responsive", 3, 3)
            assert [e.seq for e in s.exec(select(SurveyEvent).where(SurveyEvent.survey_id == SID))] == [1, 2, 3]
            assert s.get(Supplier, "S-7").name == "Seven Metals"  # created on first sight

        # The case summary for the VP, written once.
        summary = acts.open_escalation(EscalationOpen(escalation_id=f"{SID}/escalation/1", survey_id=SID,
                                                      reason="non_responsive", opened_at=T0))
        again = acts.open_escalation(EscalationOpen(escalation_id=f"{SID}/escalation/1", survey_id=SID,
                                                    reason="non_responsive", opened_at=T0))
        assert summary.supplier_name == "Seven Metals" and [h["kind"] for h in summary.history][-1] == "escalated"
        assert again.history == summary.history
        acts.record_escalation(EscalationRecord(escalation_id=f"{SID}/escalation/1", reminders_sent=2, decision="suspend",
                                                decided_by="vp@x.test", decided_at=T0, supplier_id="S-7"))
        with session_scope(engine) as s:
            assert len(s.exec(select(Escalation)).all()) == 1
            assert s.get(Escalation, f"{SID}/escalation/1").decision == "suspend"
            assert s.get(Supplier, "S-7").status == "suspended"

        # A plan and its actions: upserted by number.
        action = CorrectiveActionState(number=1, description="Drop it", owner="Jane", target_date=T0 + timedelta(days=30))
        for status in ("open", "verified"):
            acts.record_cap(CapRecord(cap_id=f"{SID}/cap/1", survey_id=SID, state="in_progress", opened_at=T0,
                                      actions=[action.model_copy(update={"status": status})]))
        with session_scope(engine) as s:
            assert [(a.number, a.status) for a in s.exec(select(CorrectiveAction))] == [(1, "verified")]
    finally:
        engine.dispose()


def test_an_escalation_closes_when_decided_lapsed_or_withdrawn(any_db_url, settings_for):
    engine = make_engine(any_db_url)
    esc = [f"{SID}/escalation/{n}" for n in (1, 2, 3)]
    try:
        acts = SurveyActivities(settings_for(db_url=any_db_url), engine)
        acts.record_survey_event(rec(1, "escalated", "escalated", outcome="non_responsive"))
        acts.open_escalation(EscalationOpen(escalation_id=esc[0], survey_id=SID, reason="non_responsive", opened_at=T0))
        # The supplier answers late: that escalation is withdrawn, not lapsed, and not open.
        acts.record_survey_event(rec(2, "escalation_withdrawn", "validating").model_copy(
            update={"data": {"escalation_id": esc[0]}}))
        acts.record_survey_event(rec(3, "escalated", "escalated", outcome="invalid_uncorrected"))
        acts.open_escalation(EscalationOpen(escalation_id=esc[1], survey_id=SID, reason="invalid_uncorrected",
                                            opened_at=T0 + timedelta(days=3)))
        with session_scope(engine) as s:
            assert [(e.closed_as, e.closed_at) for e in s.exec(select(Escalation).order_by(Escalation.id))] == [
                ("withdrawn", T0 + timedelta(days=2)), (None, None)]
        # No decision after every reminder: lapsed when the survey closes with its provisional outcome.
        lapse = rec(4, "escalation_lapsed", "closed", outcome="invalid_uncorrected")
        acts.record_survey_event(lapse)
        acts.record_survey_event(lapse)  # a retry changes nothing
        with session_scope(engine) as s:
            row = s.get(Escalation, esc[1])
            assert (row.closed_as, row.closed_at, row.decision) == ("lapsed", T0 + timedelta(days=4), None)
            assert s.get(Escalation, esc[0]).closed_as == "withdrawn"

        # Another survey: the VP decides (closed as decided), or the survey is withdrawn while escalated.
        other = "survey/cmrt-2026/S-8"
        acts.record_survey_event(rec(1, "escalated", "escalated").model_copy(
            update={"survey_id": other, "supplier_id": "S-8"}))
        acts.open_escalation(EscalationOpen(escalation_id=esc[2], survey_id=other, reason="cap_refused", opened_at=T0))
        acts.record_survey_event(rec(2, "withdrawn", "closed", outcome="withdrawn").model_copy(
            update={"survey_id": other, "supplier_id": "S-8"}))
        acts.record_escalation(EscalationRecord(escalation_id=f"{SID}/escalation/2", decision="waive",
                                                decided_by="vp@x.test", decided_at=T0 + timedelta(days=5)))
        with session_scope(engine) as s:
            assert s.get(Escalation, esc[2]).closed_as == "withdrawn"
            decided = s.get(Escalation, esc[1])  # a decision is a decision, even one that arrives late
            assert (decided.closed_as, decided.closed_at) == ("decided", T0 + timedelta(days=5))
    finally:
        engine.dispose()


def test_the_migration_closes_escalations_that_ended_before_it(tmp_path):
    """Upgrading a database whose lapsed escalations still read as open: the timeline tells how each ended."""
    from outreach.db import upgrade_database
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade_database(url, "0004_sign_in_failures")
    engine = make_engine(url)
    try:
        def ts(days: int) -> str:
            return (T0 + timedelta(days=days)).replace(tzinfo=None).isoformat(sep=" ")

        with engine.begin() as conn:
            conn.execute(text("INSERT INTO campaign (id, year, name, state, policy, selection, suppliers_selected, "
                              "surveys_started, created_at, updated_at) VALUES ('c', 2026, 'C', 'running', '{}', "
                              "'{}', 0, 0, :t, :t)"), {"t": ts(0)})
            for n, closed in ((1, ts(9)), (2, None), (3, ts(9)), (4, None)):
                conn.execute(text("INSERT INTO supplier (id, name, annual_spend, status, created_at, updated_at) "
                                  "VALUES (:s, :s, 0, 'active', :t, :t)"), {"s": f"S-{n}", "t": ts(0)})
                conn.execute(text("INSERT INTO survey (id, campaign_id, supplier_id, state, seq, language, paused, "
                                  "contact_bounced, correction_round, reminders_sent, closed_at, created_at, "
                                  "updated_at) VALUES (:id, 'c', :s, 'x', 1, 'en', 0, 0, 0, 0, :c, :t, :t)"),
                             {"id": f"v{n}", "s": f"S-{n}", "c": closed, "t": ts(0)})
                conn.execute(text("INSERT INTO escalation (id, survey_id, reason, summary, opened_at, reminders_sent, "
                                  "decision, decided_at) VALUES (:id, :v, 'non_responsive', '{}', :o, 0, :d, :da)"),
                             {"id": f"e{n}", "v": f"v{n}", "o": ts(1), "d": "waive" if n == 3 else None,
                              "da": ts(4) if n == 3 else None})
            events = [("v1", 1, ts(0), "escalated", "{}"), ("v1", 2, ts(9), "escalation_lapsed", "{}"),
                      ("v2", 1, ts(6), "escalation_withdrawn", '{"escalation_id": "e2"}')]
            for survey_id, seq, at, kind, data in events:
                conn.execute(text("INSERT INTO survey_event (survey_id, seq, at, kind, state, data) "
                                  "VALUES (:v, :q, :a, :k, 'x', :d)"), {"v": survey_id, "q": seq, "a": at, "k": kind,
                                                                     "d": data})
        upgrade_database(url)
        with session_scope(engine) as s:
            rows = {e.id: (e.closed_as, e.closed_at) for e in s.exec(select(Escalation))}
        assert rows == {"e1": ("lapsed", T0 + timedelta(days=9)), "e2": ("withdrawn", T0 + timedelta(days=6)),
                        "e3": ("decided", T0 + timedelta(days=4)), "e4": (None, None)}
    finally:
        engine.dispose()


def test_check_runs_once_per_submission_and_stores_findings(any_db_url, settings_for):
    engine = make_engine(any_db_url)
    try:
        settings = settings_for(db_url=any_db_url)
        acts = SurveyActivities(settings, engine)
        acts.record_survey_event(rec(1, "survey_started", "requested"))
        sha = acts.files.put(invalid_cmrt(problem="malformed_email"), filename="seven.xlsx")
        req = CheckRequest(survey_id=SID, submission_id=f"{SID}/submission/1", file_sha256=sha, filename="seven.xlsx",
                           received_at=T0, campaign_year=2025)
        first = acts.check_submission(req)
        acts.files.path_for(sha).unlink()  # a retry must not need the file again: the stored verdict stands
        second = acts.check_submission(req)
        assert first.verdict == second.verdict == "invalid"
        assert first.findings == second.findings and any(f.cell == "D16" for f in first.findings)
        with session_scope(engine) as s:
            assert len(s.exec(select(Submission)).all()) == 1
            assert len(s.exec(select(Finding)).all()) == len(first.findings)
    finally:
        engine.dispose()


def test_check_warns_when_the_declaration_is_another_companys(db_url, settings_for):
    """The worker passes the supplier's name: a CMRT in another company's name is a warning, never an error."""
    from cmrt.builder import valid_cmrt

    engine = make_engine(db_url)
    try:
        acts = SurveyActivities(settings_for(db_url=db_url), engine)
        acts.record_survey_event(rec(1, "survey_started", "requested"))
        outcomes = {}
        for i, company in enumerate(("SEVEN METALS LIMITED", "Dowa Metals & Mining Co., Ltd.")):
            sha = acts.files.put(valid_cmrt(company=company, effective_date=T0.date()), filename=f"{i}.xlsx")
            outcomes[company] = acts.check_submission(CheckRequest(
                survey_id=SID, submission_id=f"{SID}/submission/{i + 1}", file_sha256=sha, filename=f"{i}.xlsx",
                received_at=T0, campaign_year=2026, supplier_name="Seven Metals Ltd."))
        same, other = outcomes["SEVEN METALS LIMITED"], outcomes["Dowa Metals & Mining Co., Ltd."]
        assert same.verdict == "valid" and not [f for f in same.findings if f.code == "company_name_mismatch"]
        [hit] = [f for f in other.findings if f.code == "company_name_mismatch"]
        assert other.verdict == "valid" and hit.severity == "warning" and "Seven Metals Ltd." in hit.message
        # a request recorded before the field existed decodes, and is checked without the comparison
        old = CheckRequest.model_validate({"survey_id": SID, "submission_id": "x", "file_sha256": "y",
                                           "received_at": T0.isoformat()})
        assert old.supplier_name is None
    finally:
        engine.dispose()


def test_a_workbook_with_thousands_of_findings_keeps_them_all_but_bounds_the_payload(db_url, settings_for):
    """Findings travel in workflow payloads (limit 2 MiB): the activity returns the worst 200, the database keeps all."""
    from activities.survey import PAYLOAD_FINDINGS
    from cmrt.builder import valid_builder

    engine = make_engine(db_url)
    try:
        acts = SurveyActivities(settings_for(db_url=db_url), engine)
        acts.record_survey_event(rec(1, "survey_started", "requested"))
        # 1,500 unlisted smelters, each a warning, and two errors (contact email, unlisted rows incomplete).
        builder = valid_builder().company(contact_email="nobody")
        builder.smelters({"metal": "Tin", "lookup_name": "Smelter not listed"} for _ in range(1500))
        sha = acts.files.put(builder.to_bytes(), filename="big.xlsx")
        out = acts.check_submission(CheckRequest(survey_id=SID, submission_id=f"{SID}/submission/9", file_sha256=sha,
                                                 filename="big.xlsx", received_at=T0, campaign_year=2025))
        with session_scope(engine) as s:
            stored = s.exec(select(Finding)).all()
        assert len(stored) > 1500
        assert len(out.findings) == PAYLOAD_FINDINGS + 1
        assert out.findings[-1].code == "more_findings"
        assert str(len(stored) - PAYLOAD_FINDINGS) in out.findings[-1].message
        severities = [f.severity for f in out.findings[:PAYLOAD_FINDINGS]]
        assert severities == sorted(severities, key=["error", "warning", "info"].index)  # the most serious first
        assert severities[:2] == ["error", "error"]
        assert out.error_count == sum(1 for f in stored if f.severity == "error")
        assert len(out.model_dump_json()) < 1024 * 1024
    finally:
        engine.dispose()


def test_a_hostile_upload_is_a_verdict_and_a_retry_gives_the_same_one(db_url, settings_for):
    """The worker reads each file in a capped child process: a workbook that would abort the reader or
    exhaust memory is stored as 'unreadable' with a plain finding, and the worker goes on."""
    from tests import hostile_workbooks as hw

    engine = make_engine(db_url)
    try:
        acts = SurveyActivities(settings_for(db_url=db_url, check_memory_mb=200), engine)
        acts.record_survey_event(rec(1, "survey_started", "requested"))
        outcomes = []
        for n, data in enumerate((hw.corner(), hw.rows_of_two_cells(900_000)), start=1):
            sha = acts.files.put(data, filename=f"hostile{n}.xlsx")
            req = CheckRequest(survey_id=SID, submission_id=f"{SID}/submission/{n}", file_sha256=sha,
                               filename=f"hostile{n}.xlsx", received_at=T0, campaign_year=2025)
            outcomes.append(acts.check_submission(req))
            assert acts.check_submission(req) == outcomes[-1]  # a retry: the stored verdict
        assert [o.verdict for o in outcomes] == ["unreadable", "unreadable"]
        assert [o.findings[0].code for o in outcomes] == ["sheet_too_large", "reader_failed"]
        assert "XFD1048576" in outcomes[0].findings[0].message
        assert "200 MB of memory" in outcomes[1].findings[0].message
        with session_scope(engine) as s:
            assert {sub.verdict for sub in s.exec(select(Submission)).all()} == {"unreadable"}
    finally:
        engine.dispose()

"""Campaign progress from the read model, on SQLite and PostgreSQL: counts per state and outcome,
response rate, overdue suppliers, open corrective action plans and escalations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from models.tables import Campaign, CorrectiveActionPlan, Escalation, Supplier, Survey
from outreach.db import make_engine, session_scope
from outreach.progress import CampaignNotFound, campaign_progress

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def seeded(any_db_url):
    engine = make_engine(any_db_url)
    ids = [f"P-{i}" for i in range(7)]
    with session_scope(engine) as s:
        s.add(Campaign(id="cmrt-2025", year=2025, name="CMRT 2025", state="running",
                       selection={"description": "all active suppliers", "supplier_ids": ids + ["P-late"],
                                  "spend_covered": 990.0, "total_spend": 1000.0}))
        s.add(Campaign(id="other", year=2024, name="Other", state="closed"))
        for i, sid in enumerate(ids):
            s.add(Supplier(id=sid, name=f"Supplier {i}", commodity_manager_name="Ann Lee"))
        s.flush()

        def survey(sid, state, *, outcome=None, due=None, answered=False, closed=False, campaign="cmrt-2025"):
            s.add(Survey(id=f"survey/{campaign}/{sid}", campaign_id=campaign, supplier_id=sid, state=state,
                         outcome=outcome, due_at=due, first_submission_at=NOW - timedelta(days=3) if answered else None,
                         closed_at=NOW if closed else None))

        survey("P-0", "closed", outcome="valid", due=NOW - timedelta(days=9), answered=True, closed=True)
        survey("P-1", "awaiting_response", due=NOW - timedelta(days=10))   # overdue 10 days
        survey("P-2", "chasing", due=NOW - timedelta(days=2))              # overdue 2 days
        survey("P-3", "awaiting_response", due=NOW + timedelta(days=5))    # not yet due
        survey("P-4", "corrective_action", due=NOW - timedelta(days=30), answered=True)
        survey("P-5", "escalated", outcome="non_responsive", due=NOW - timedelta(days=40))  # overdue, escalated
        survey("P-6", "closed", outcome="withdrawn", due=NOW - timedelta(days=20), closed=True)
        survey("P-0", "awaiting_response", due=NOW - timedelta(days=99), campaign="other")  # another campaign
        s.flush()
        s.add(CorrectiveActionPlan(id="survey/cmrt-2025/P-4/cap/1", survey_id="survey/cmrt-2025/P-4",
                                   reason="high_risk_confirmed", state="in_progress", opened_at=NOW - timedelta(days=1)))
        s.add(Escalation(id="survey/cmrt-2025/P-5/escalation/1", survey_id="survey/cmrt-2025/P-5",
                         reason="non_responsive", opened_at=NOW - timedelta(days=1)))
        s.add(Escalation(id="survey/cmrt-2025/P-6/escalation/1", survey_id="survey/cmrt-2025/P-6",
                         reason="non_responsive", opened_at=NOW - timedelta(days=5), decision="waive",
                         closed_at=NOW - timedelta(days=4), closed_as="decided"))
        # P-0's earlier escalation lapsed (no decision from the VP); it then answered in a later round.
        s.add(Escalation(id="survey/cmrt-2025/P-0/escalation/1", survey_id="survey/cmrt-2025/P-0",
                         reason="invalid_uncorrected", opened_at=NOW - timedelta(days=8),
                         closed_at=NOW - timedelta(days=2), closed_as="lapsed"))
        # P-3's escalation was withdrawn when it answered late: neither open nor lapsed.
        s.add(Escalation(id="survey/cmrt-2025/P-3/escalation/1", survey_id="survey/cmrt-2025/P-3",
                         reason="non_responsive", opened_at=NOW - timedelta(days=8),
                         closed_at=NOW - timedelta(days=6), closed_as="withdrawn"))
    yield engine
    engine.dispose()


def test_progress_counts_rates_overdue_and_open_cases(seeded):
    p = campaign_progress(seeded, "cmrt-2025", now=NOW)
    assert (p.selected, p.surveys, p.not_started, p.open_surveys) == (8, 7, 1, 5)
    assert p.by_state == {"closed": 2, "awaiting_response": 2, "chasing": 1, "corrective_action": 1, "escalated": 1}
    assert p.by_outcome == {"valid": 1, "withdrawn": 1}
    assert p.provisional_outcomes == {"non_responsive": 1}  # set at escalation: the VP has not decided yet
    assert (p.responded, p.valid) == (2, 1) and p.response_rate == pytest.approx(2 / 7)
    assert p.spend_share == pytest.approx(0.99)
    # Overdue: no answer, still open, past due; the longest overdue first.
    assert [(o.supplier_id, o.days_overdue) for o in p.overdue] == [("P-5", 40), ("P-1", 10), ("P-2", 2)]
    assert p.overdue_count == 3 and p.overdue[1].commodity_manager_name == "Ann Lee"
    assert [(c.supplier_id, c.state) for c in p.open_caps] == [("P-4", "in_progress")] and p.open_caps_count == 1
    assert [(e.supplier_id, e.reason) for e in p.open_escalations] == [("P-5", "non_responsive")]
    assert p.open_escalations_count == 1
    assert p.lapsed_escalations_count == 1
    assert [(e.supplier_id, e.lapsed_at, e.outcome) for e in p.lapsed_escalations] == [
        ("P-0", NOW - timedelta(days=2), "valid")]
    limited = campaign_progress(seeded, "cmrt-2025", now=NOW, overdue_limit=1)
    assert limited.overdue_count == 3 and len(limited.overdue) == 1


def test_unknown_campaign(seeded):
    with pytest.raises(CampaignNotFound):
        campaign_progress(seeded, "nope")

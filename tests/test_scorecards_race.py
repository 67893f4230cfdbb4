"""Concurrent scorecard updates never lose each other (SQLite WAL + BEGIN IMMEDIATE; PostgreSQL row lock)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlmodel import func, select

from models.scorecards import Scorecard, ScorecardEvent, ScorecardEventApplied
from models.tables import CorrectiveAction, CorrectiveActionPlan
from outreach.db import make_engine, session_scope
from outreach.scorecards import update_scorecard
from tests.scorecard_data import T0, add_submission, add_supplier_survey, check_result

WORKERS = 4
EVENTS_PER_WORKER = 12


def test_concurrent_updates_lose_nothing(any_db_url):
    engine = make_engine(any_db_url)
    try:
        survey_id = add_supplier_survey(engine, "S-RACE")
        add_submission(engine, survey_id, check_result(smelters=[("Gold", "CID000015", "Conformant")]), at=T0)
        with session_scope(engine) as s:
            s.add(CorrectiveActionPlan(id="cap-race", survey_id=survey_id, opened_at=T0))

        def worker(w: int) -> list[bool]:
            applied = []
            for i in range(EVENTS_PER_WORKER):
                n = w * EVENTS_PER_WORKER + i
                # Each event comes with its own input in the read model: one more verified action.
                with session_scope(engine) as s:
                    s.add(CorrectiveAction(plan_id="cap-race", number=n, description=f"action {n}", owner="QA",
                                           target_date=T0 + timedelta(days=400), status="verified"))
                kind = "cap_verified" if n % 3 else "correction_round"
                event = ScorecardEvent(survey_id=survey_id, kind=kind, at=T0 + timedelta(seconds=n))
                applied.append(update_scorecard(engine, event, as_of=T0 + timedelta(days=1)).new_event)
            return applied

        with ThreadPoolExecutor(WORKERS) as pool:
            results = [r for chunk in pool.map(worker, range(WORKERS)) for r in chunk]
        total = WORKERS * EVENTS_PER_WORKER
        assert all(results) and len(results) == total

        with session_scope(engine) as s:
            card = s.exec(select(Scorecard)).one()
            applied_rows = s.exec(select(func.count()).select_from(ScorecardEventApplied)).one()
        assert card.events_applied == total == applied_rows
        assert card.events_by_kind == {"correction_round": total // 3, "cap_verified": total - total // 3}
        # The last writer saw every other writer's input.
        assert card.components["corrective_actions"]["detail"]["actions_closed"] == total
        assert card.components["corrective_actions"]["status"] == "on_track"  # the plan itself is still open
        assert card.version == total
        assert card.last_event_at == T0 + timedelta(seconds=total - 1)

        # Replays (a retried activity, a replayed history) count nothing twice and converge.
        with ThreadPoolExecutor(WORKERS) as pool:
            again = list(pool.map(
                lambda n: update_scorecard(engine, ScorecardEvent(
                    survey_id=survey_id, kind="cap_verified" if n % 3 else "correction_round",
                    at=T0 + timedelta(seconds=n)), as_of=T0 + timedelta(days=1)),
                range(total),
            ))
        assert not any(r.new_event for r in again)
        with session_scope(engine) as s:
            card2 = s.exec(select(Scorecard)).one()
        assert card2.events_applied == total and card2.total == card.total and card2.grade == card.grade
    finally:
        engine.dispose()

"""Supplier scorecards: every component, the weights and grades, the read model, trends, export, activity."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from outreach.settings import ConfigurationError, load_settings
from openpyxl import load_workbook
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

from sqlmodel import select

from models.scorecards import ScorecardEvent
from models.tables import CorrectiveAction, CorrectiveActionPlan, Escalation
from outreach.db import session_scope
from outreach.reports.workbook import SCORECARD_HEADER, scorecards_workbook
from outreach.scorecards import scorecard_view, scorecards_for_year, update_scorecard
from outreach.scoring import DEFAULT_WEIGHTS, ScoreInputs, ScoringConfig, score, trend
from tests.scorecard_data import DUE, T0, add_submission, add_supplier_survey, check_result, set_survey

CONFORMANT_4 = [("Gold", "CID000015", "Conformant"), ("Tin", "CID000402", "Conformant"),
                ("Tantalum", "CID000092", "Conformant"), ("Tungsten", "CID000004", "Conformant")]
AS_OF = DUE + timedelta(days=10)


def comp(inputs: ScoreInputs, name: str, config: ScoringConfig | None = None):
    return score(inputs, config).components[name]


# --- pure scoring --------------------------------------------------------------------------------


@pytest.mark.parametrize("level,points", [("on_time", 100), ("late", 60), ("after_escalation", 25), ("never", 0)])
def test_responsiveness_levels(level, points):
    c = comp(ScoreInputs(responsiveness=level, days_late=3 if level == "late" else None, final=True), "responsiveness")
    assert (c.score, c.status) == (points, level)
    assert comp(ScoreInputs(), "responsiveness").score is None  # not judged before an answer or an outcome
    # Past the due date without an answer: judged (no answer yet), never "the due date has not passed".
    late = comp(ScoreInputs(due_at=DUE, as_of=DUE + timedelta(days=3)), "responsiveness")
    assert (late.score, late.status, late.pending) == (0, "no_answer", False)
    assert "3 day(s) after the due date" in late.detail["text"]


@pytest.mark.parametrize("status,rounds,points", [
    ("valid_first_time", 0, 100), ("corrected", 1, 80), ("corrected", 2, 60), ("corrected", 5, 40),
    ("awaiting_correction", 1, 0), ("uncorrected", 2, 0), ("unreadable", 0, 0), ("awaiting_review", 0, 0),
])
def test_data_quality_levels(status, rounds, points):
    assert comp(ScoreInputs(data_quality=status, correction_rounds=rounds), "data_quality").score == points


def test_program_strength_counts_a_d_f_g():
    strong = comp(ScoreInputs(company_answers={q: "Yes" for q in "ABCDEFGH"}), "program_strength")
    assert (strong.score, strong.status) == (100, "strong")
    weak = comp(ScoreInputs(company_answers={"A": "Yes", "B": "No", "D": "Yes", "F": "No", "G": "yes"}), "program_strength")
    assert (weak.score, weak.status) == (75, "weak") and "F (a review" in weak.detail["text"]
    # B (public policy) and C do not count: only the seed's four criteria.
    assert comp(ScoreInputs(company_answers={"A": "No", "D": None, "F": "No", "G": "No"}), "program_strength").score == 0


def test_sourcing_share_conformant_then_active():
    valid = dict(data_quality="valid_first_time")
    c = comp(ScoreInputs(metals_in_scope=["Gold"], conformant=3, active=1, not_enrolled=0, **valid), "sourcing")
    assert c.score == 87.5 and c.status == "conformant_or_active"
    assert comp(ScoreInputs(metals_in_scope=["Gold"], conformant=2, not_enrolled=2, **valid), "sourcing").score == 50
    assert comp(ScoreInputs(metals_in_scope=["Gold"], conformant=4, **valid), "sourcing").status == "all_conformant"
    assert comp(ScoreInputs(metals_in_scope=["Gold"], unknown_entities=2, **valid), "sourcing").score == 0
    assert comp(ScoreInputs(metals_in_scope=[], **valid), "sourcing").score is None  # no 3TG: not applicable
    cfg = ScoringConfig(points={"active_share": 0.0})
    assert comp(ScoreInputs(metals_in_scope=["Tin"], conformant=1, active=1, **valid), "sourcing", cfg).score == 50
    # Smelters listed in an invalid CMRT are not relied on: judged failing, not skipped.
    invalid = comp(ScoreInputs(metals_in_scope=["Gold"], conformant=4, data_quality="awaiting_correction"), "sourcing")
    assert (invalid.score, invalid.status) == (0, "no_valid_declaration")


@pytest.mark.parametrize("level,points", [("product", 100), ("user_defined", 80), ("company", 50)])
def test_scope_levels(level, points):
    assert comp(ScoreInputs(scope_level=level), "scope").score == points


@pytest.mark.parametrize("level,points", [
    ("none_needed", 100), ("closed", 90), ("on_track", 70), ("overdue", 20), ("refused", 0)])
def test_corrective_action_levels(level, points):
    assert comp(ScoreInputs(corrective_actions=level), "corrective_actions").score == points


def full_inputs(**kw) -> ScoreInputs:
    base = dict(responsiveness="late", days_late=5, data_quality="corrected", correction_rounds=1,
                company_answers={q: "Yes" for q in "ADFG"}, metals_in_scope=["Gold"], conformant=1, active=0,
                not_enrolled=1, scope_level="company", corrective_actions="none_needed")
    base.update(kw)
    return ScoreInputs(**base)


def test_total_is_the_weighted_mean_of_scored_components():
    r = score(full_inputs())
    # 60*25 + 80*20 + 100*15 + 50*25 + 50*5 + 100*10 = 7100 over 100
    assert r.total == 71.0 and r.grade == "B"
    assert {n: c.weight for n, c in r.components.items()} == DEFAULT_WEIGHTS
    # A component not judgeable yet carries no weight: the others are re-weighted, the card is provisional,
    # and without a valid declaration the total stays under grade B.
    partial = score(ScoreInputs(responsiveness="on_time", scope_level="company"))
    assert partial.weighted_mean == round((100 * 25 + 50 * 5) / 30, 1)
    assert (partial.total, partial.grade, partial.ceiling, partial.provisional) == (69.9, "C", "C", True)


def test_weights_are_configurable_in_code_and_environment(monkeypatch):
    only_sourcing = ScoringConfig(weights={c: 0 for c in DEFAULT_WEIGHTS} | {"sourcing": 1})
    assert score(full_inputs(), only_sourcing).total == 50
    heavier = ScoringConfig(weights={"responsiveness": 75})
    assert score(full_inputs(), heavier).total == round((60 * 75 + 80 * 20 + 100 * 15 + 50 * 25 + 50 * 5 + 100 * 10) / 150, 1)
    monkeypatch.setenv("OUTREACH_SCORECARD_WEIGHTS", json.dumps({"scope": 0, "corrective_actions": 0}))
    monkeypatch.setenv("OUTREACH_SCORECARD_GRADES", json.dumps({"A": 95}))
    cfg = ScoringConfig.from_settings()
    assert cfg.weight("scope") == 0 and cfg.weight("sourcing") == 25
    assert score(full_inputs(), cfg).components["scope"].weight == 0
    assert cfg.grade_for(94) == "B" and cfg.grade_for(95) == "A"
    with pytest.raises(ValueError, match="unknown scorecard components"):
        ScoringConfig(weights={"price": 10})
    monkeypatch.setenv("OUTREACH_SCORECARD_WEIGHTS", json.dumps({"price": 10}))
    with pytest.raises(ConfigurationError, match="OUTREACH_SCORECARD_WEIGHTS"):
        load_settings()


@pytest.mark.parametrize("total,grade", [(100, "A"), (85, "A"), (84.9, "B"), (70, "B"), (55, "C"), (40, "D"), (39.9, "E"), (0, "E")])
def test_grade_bands(total, grade):
    assert ScoringConfig().grade_for(total) == grade


def test_reasons_rank_what_cost_most_and_name_decisions():
    r = score(full_inputs(responsiveness="never", outcome="suspended", decision="suspend", final=True))
    assert r.reasons[0].component == "decision" and "suspended" in r.reasons[0].text
    assert r.reasons[1].component == "ceiling" and r.grade == "E"  # suspended: E whatever the points
    costs = [x.points for x in r.reasons[2:]]
    assert costs == sorted(costs, reverse=True) and r.reasons[2].component == "responsiveness"
    assert score(ScoreInputs(outcome="withdrawn", responsiveness="on_time")).total is None


def test_trend_directions():
    assert trend(80, 70) == {"direction": "up", "delta": 10.0, "previous": 70}
    assert trend(60, 70)["direction"] == "down" and trend(70, 70)["direction"] == "same"
    assert trend(70, None)["direction"] == "new"


# --- from the read model -------------------------------------------------------------------------


def ev(survey_id: str, kind: str = "outcome", minutes: int = 0) -> ScorecardEvent:
    return ScorecardEvent(survey_id=survey_id, kind=kind, at=T0 + timedelta(minutes=minutes))


def card_of(engine, supplier_id: str, as_of=AS_OF) -> dict:
    return scorecard_view(engine, supplier_id, as_of=as_of)["current"]


def test_best_supplier_gets_an_a(engine):
    sid = add_supplier_survey(engine, "S-1")
    add_submission(engine, sid, check_result(smelters=CONFORMANT_4, scope="product"), at=T0 + timedelta(days=3))
    set_survey(engine, sid, outcome="valid", state="closed")
    done = update_scorecard(engine, ev(sid), as_of=AS_OF)
    assert (done.total, done.grade, done.events_applied) == (100.0, "A", 1)
    card = card_of(engine, "S-1")
    assert {n: c["status"] for n, c in card["components"].items()} == {
        "responsiveness": "on_time", "data_quality": "valid_first_time", "program_strength": "strong",
        "sourcing": "all_conformant", "scope": "product", "corrective_actions": "none_needed",
    }
    assert all(r["points"] == 0 for r in card["reasons"])


def test_late_corrected_company_level_supplier(engine):
    sid = add_supplier_survey(engine, "S-2")
    add_submission(engine, sid, check_result(verdict="invalid", smelters=CONFORMANT_4), at=DUE + timedelta(days=4))
    add_submission(engine, sid, check_result(smelters=CONFORMANT_4[:2] + [("Tin", "CID000309", "Active"),
                                                                         ("Gold", "CID002708", "Not Enrolled")],
                                             program={"G": "No"}), at=DUE + timedelta(days=9), round=1)
    update_scorecard(engine, ev(sid, "correction_round"), as_of=AS_OF)
    c = card_of(engine, "S-2")["components"]
    assert (c["responsiveness"]["status"], c["responsiveness"]["detail"]["days_late"]) == ("late", 4)
    assert (c["data_quality"]["status"], c["data_quality"]["score"]) == ("corrected", 80)
    assert (c["program_strength"]["status"], c["program_strength"]["score"]) == ("weak", 75)
    assert c["sourcing"]["score"] == round(100 * (2 + 0.5) / 4, 1) and c["scope"]["status"] == "company"


def test_answer_only_after_escalation_and_manual_acceptance(engine):
    sid = add_supplier_survey(engine, "S-3")
    with session_scope(engine) as s:
        s.add(Escalation(id="esc-3", survey_id=sid, reason="non_response", opened_at=DUE + timedelta(days=20)))
    add_submission(engine, sid, check_result(verdict="invalid", smelters=CONFORMANT_4), at=DUE + timedelta(days=25),
                   manual_decision="accepted")
    update_scorecard(engine, ev(sid, "first_submission"), as_of=AS_OF)
    c = card_of(engine, "S-3")["components"]
    assert c["responsiveness"]["status"] == "after_escalation" and c["responsiveness"]["score"] == 25
    assert c["data_quality"]["status"] == "valid_first_time"  # accepted by hand: valid


def test_non_responsive_supplier_is_graded_e(engine):
    sid = add_supplier_survey(engine, "S-4")
    set_survey(engine, sid, outcome="non_responsive", state="closed")
    done = update_scorecard(engine, ev(sid), as_of=AS_OF)
    card = card_of(engine, "S-4")
    assert (done.total, done.grade) == (0.0, "E")
    assert card["components"]["responsiveness"]["status"] == "never"
    # Nothing received is judged, not skipped.
    assert (card["components"]["data_quality"]["score"], card["components"]["sourcing"]["score"]) == (0, 0)
    assert card["reasons"][0]["text"] == "Never answered the survey." and card["provisional"] is False


def test_uncorrected_and_awaiting_correction(engine):
    sid = add_supplier_survey(engine, "S-5")
    add_submission(engine, sid, check_result(verdict="invalid"), at=T0 + timedelta(days=1))
    set_survey(engine, sid, correction_round=1, state="correction_requested")
    update_scorecard(engine, ev(sid, "correction_round"), as_of=AS_OF)
    assert card_of(engine, "S-5")["components"]["data_quality"]["status"] == "awaiting_correction"
    add_submission(engine, sid, check_result(verdict="invalid"), at=T0 + timedelta(days=8), round=1)
    set_survey(engine, sid, outcome="invalid_uncorrected", state="closed")
    update_scorecard(engine, ev(sid), as_of=AS_OF)
    dq = card_of(engine, "S-5")["components"]["data_quality"]
    assert (dq["status"], dq["score"]) == ("uncorrected", 0)


def test_product_level_cmrt_replaces_the_company_level_one(engine):
    sid = add_supplier_survey(engine, "S-6")
    add_submission(engine, sid, check_result(smelters=CONFORMANT_4 + [("Gold", "CID002708", "Not Enrolled")]), at=T0)
    update_scorecard(engine, ev(sid, "first_submission"), as_of=AS_OF)
    before = card_of(engine, "S-6")["components"]
    assert before["scope"]["status"] == "company" and before["sourcing"]["score"] == 80
    add_submission(engine, sid, check_result(smelters=CONFORMANT_4[:1], scope="product"), at=T0 + timedelta(days=5),
                   purpose="product_level")
    update_scorecard(engine, ev(sid, "outcome", 1), as_of=AS_OF)
    after = card_of(engine, "S-6")["components"]
    assert after["scope"]["status"] == "product" and after["sourcing"]["score"] == 100


@pytest.mark.parametrize("statuses,target_days,plan_state,expected", [
    (["open", "in_progress"], 60, "in_progress", "on_track"),
    (["open", "verified"], -1, "in_progress", "overdue"),
    ([], 0, "overdue", "overdue"),  # no plan submitted in time
    (["verified", "verified"], -1, "closed", "closed"),
    (["refused", "open"], 60, "in_progress", "refused"),
    ([], 0, "refused", "refused"),
    ([], 0, "cancelled", "none_needed"),  # withdrawn with the survey: not the supplier's doing
])
def test_corrective_action_states(engine, statuses, target_days, plan_state, expected):
    sid = add_supplier_survey(engine, "S-7")
    add_submission(engine, sid, check_result(smelters=CONFORMANT_4), at=T0)
    with session_scope(engine) as s:
        closed = plan_state in ("closed", "cancelled", "refused", "overdue")
        s.add(CorrectiveActionPlan(id="cap-7", survey_id=sid, opened_at=T0, closed_at=AS_OF if closed else None,
                                   state=plan_state))
        s.flush()
        for n, st in enumerate(statuses):
            s.add(CorrectiveAction(plan_id="cap-7", number=n, description="remove smelter", owner="Supplier",
                                   target_date=AS_OF + timedelta(days=target_days), status=st))
    update_scorecard(engine, ev(sid, "cap_verified"), as_of=AS_OF)
    assert card_of(engine, "S-7")["components"]["corrective_actions"]["status"] == expected


def test_a_plan_opened_after_the_last_event_shows_on_the_scorecard(engine):
    """No event reaches the scorecard when a plan opens or an action falls overdue: reading it says so anyway."""
    from models.columns import utcnow

    sid = add_supplier_survey(engine, "S-10")
    add_submission(engine, sid, check_result(smelters=CONFORMANT_4), at=T0)
    update_scorecard(engine, ev(sid, "first_submission"), as_of=AS_OF)
    assert card_of(engine, "S-10", None)["components"]["corrective_actions"]["status"] == "none_needed"
    with session_scope(engine) as s:
        s.add(CorrectiveActionPlan(id="cap-10", survey_id=sid, opened_at=T0, state="in_progress"))
        s.flush()
        s.add(CorrectiveAction(plan_id="cap-10", number=1, description="remove smelter", owner="Supplier",
                               target_date=utcnow() + timedelta(days=30), status="open"))
    card = card_of(engine, "S-10", None)
    assert card["components"]["corrective_actions"]["status"] == "on_track"
    assert card["components"]["corrective_actions"]["score"] < 100 and card["total"] < 100
    assert [r["total"] for r in scorecards_for_year(engine, 2026) if r["supplier_id"] == "S-10"] == [card["total"]]
    with session_scope(engine) as s:
        action = s.exec(select(CorrectiveAction).where(CorrectiveAction.plan_id == "cap-10")).one()
        action.target_date = utcnow() - timedelta(days=1)
    assert card_of(engine, "S-10", None)["components"]["corrective_actions"]["status"] == "overdue"


def test_trends_across_two_years_and_the_export(engine, tmp_path):
    for year, late_days, smelters in ((2025, 10, CONFORMANT_4[:2] + [("Gold", "CID002708", "Not Enrolled")]),
                                      (2026, 0, CONFORMANT_4)):
        for supplier in ("S-8", "S-9"):
            due = DUE.replace(year=year)
            sid = add_supplier_survey(engine, supplier, year=year, due_at=due, name=f"{supplier} Metals")
            if supplier == "S-8":
                add_submission(engine, sid, check_result(smelters=smelters), at=due + timedelta(days=late_days))
                set_survey(engine, sid, outcome="valid")
            elif year == 2026:
                set_survey(engine, sid, outcome="non_responsive", state="closed")
            else:
                add_submission(engine, sid, check_result(smelters=CONFORMANT_4), at=due - timedelta(days=1))
            update_scorecard(engine, ScorecardEvent(survey_id=sid, kind="outcome", at=due), as_of=due + timedelta(days=30))

    view = scorecard_view(engine, "S-8", as_of=DUE + timedelta(days=30))
    assert view["supplier_name"] == "S-8 Metals"
    assert [h["year"] for h in view["history"]] == [2025, 2026]
    assert view["current"]["year"] == 2026 and view["previous"]["year"] == 2025
    assert view["trend"]["direction"] == "up" and view["trend"]["delta"] == round(
        view["current"]["total"] - view["previous"]["total"], 1) > 0
    assert scorecard_view(engine, "S-9", as_of=DUE + timedelta(days=30))["trend"]["direction"] == "down"
    assert scorecard_view(engine, "nobody") == {"supplier_id": "nobody", "supplier_name": None, "current": None,
                                                "previous": None, "trend": {"direction": "none", "delta": None, "previous": None},
                                                "history": []}

    rows = scorecards_for_year(engine, 2026, as_of=DUE + timedelta(days=30))
    assert [r["supplier_id"] for r in rows] == ["S-8", "S-9"]
    path = scorecards_workbook(rows, tmp_path / "scorecards.xlsx", year=2026)
    sheet = load_workbook(path)["Scorecards 2026"]
    table = list(sheet.iter_rows(values_only=True))
    assert table[0] == SCORECARD_HEADER and len(table) == 3
    got = {r[0]: dict(zip(SCORECARD_HEADER, r)) for r in table[1:]}
    assert got["S-8"]["Grade"] == "A" and got["S-8"]["Trend"] == "up" and got["S-8"]["Previous total"] == view["previous"]["total"]
    assert got["S-9"]["Grade"] == "E" and got["S-9"]["Trend"] == "down" and got["S-9"]["Responsiveness"] == 0
    assert "Never answered" in got["S-9"]["Main reasons"]


def test_cli_scorecards_workbook(engine, db_url, tmp_path, monkeypatch):
    from outreach.cli import app

    sid = add_supplier_survey(engine, "S-10")
    add_submission(engine, sid, check_result(smelters=CONFORMANT_4), at=T0)
    update_scorecard(engine, ev(sid), as_of=AS_OF)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "var"))
    out = tmp_path / "cards.xlsx"
    result = CliRunner().invoke(app, ["report", "scorecards", "--year", "2026", "--xlsx", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 scorecard(s) for 2026" in result.output
    assert list(load_workbook(out).active.iter_rows(values_only=True))[1][0] == "S-10"


def test_activity_runs_and_unknown_survey_is_an_application_error(engine, settings_for, db_url):
    from activities.scorecards import ScorecardActivities

    sid = add_supplier_survey(engine, "S-11")
    add_submission(engine, sid, check_result(smelters=CONFORMANT_4), at=T0)
    acts = ScorecardActivities(settings_for(db_url=db_url), engine)
    env = ActivityEnvironment()
    first = env.run(acts.update_scorecard, ev(sid, "first_submission"))
    again = env.run(acts.update_scorecard, ev(sid, "first_submission"))  # a retry of the same event
    assert first.new_event and not again.new_event and again.events_applied == 1 and first.grade == again.grade
    with pytest.raises(ApplicationError, match="not in the read model"):
        env.run(acts.update_scorecard, ev("no-such-survey"))

"""The campaign's figures from the read model (SQLite and PostgreSQL), and `outreach report rcoi --campaign`."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from models.tables import CorrectiveAction, CorrectiveActionPlan, Escalation
from outreach.db import make_engine, session_scope
from outreach.reports.figures import campaign_figures
from outreach.reports.render import render_due_diligence_draft, render_rcoi_html
from tests.scorecard_data import DUE, T0, add_submission, add_supplier_survey, check_result, set_survey

GOLD_HIGH_RISK = ("Gold", "CID003185", "Not Enrolled")  # African Gold Refinery, Uganda: covered country


def populate(engine) -> None:
    """Eight suppliers of campaign 2026, one of each fate."""
    ok = [("Gold", "CID000015", "Conformant"), ("Tin", "CID000402", "Conformant")]
    s = add_supplier_survey(engine, "A-valid", name="Alpha")
    add_submission(engine, s, check_result(smelters=ok, scope="product"), at=T0)
    set_survey(engine, s, outcome="valid")

    s = add_supplier_survey(engine, "B-corrected", name="Bravo")
    add_submission(engine, s, check_result(verdict="invalid", smelters=ok), at=T0)
    add_submission(engine, s, check_result(smelters=ok + [("Tungsten", "CID000004", "Conformant")],
                                           q6={"Gold": "Greater than 50%"}, program={"G": "No"}), at=T0 + timedelta(days=3), round=1)
    set_survey(engine, s, outcome="valid")

    s = add_supplier_survey(engine, "C-uncorrected", name="Charlie")
    add_submission(engine, s, check_result(verdict="invalid", smelters=[("Tantalum", "CID000092", "Conformant")]), at=T0)
    set_survey(engine, s, outcome="invalid_uncorrected")

    s = add_supplier_survey(engine, "D-silent", name="Delta")
    with session_scope(engine) as ses:  # the VP let it lapse: no longer awaiting a decision
        ses.add(Escalation(id="esc-d", survey_id=s, reason="non_responsive", opened_at=DUE,
                           closed_at=DUE + timedelta(days=9), closed_as="lapsed"))
    set_survey(engine, s, outcome="non_responsive")

    s = add_supplier_survey(engine, "E-withdrawn", name="Echo")
    set_survey(engine, s, outcome="withdrawn")

    s = add_supplier_survey(engine, "F-correcting", name="Foxtrot")
    add_submission(engine, s, check_result(verdict="invalid"), at=T0)

    s = add_supplier_survey(engine, "G-high-risk", name="Golf")
    add_submission(engine, s, check_result(smelters=ok + [GOLD_HIGH_RISK], unknown=[("Gold", "Backyard Refiners")]), at=T0)
    with session_scope(engine) as ses:
        ses.add(CorrectiveActionPlan(id="cap-g", survey_id=s, opened_at=T0 + timedelta(days=5), state="in_progress"))
        ses.add(CorrectiveActionPlan(id="cap-g0", survey_id=s, opened_at=T0, state="cancelled", closed_at=T0))
        ses.add(Escalation(id="esc-g", survey_id=s, reason="cap_overdue", opened_at=DUE, decision="suspend",
                           decided_by="vp@example.com", decided_at=DUE + timedelta(days=2)))
        ses.flush()
        ses.add(CorrectiveAction(plan_id="cap-g", number=1, description="Drop the refinery", owner="Golf",
                                 target_date=T0 + timedelta(days=20), status="open"))
        ses.add(CorrectiveAction(plan_id="cap-g", number=2, description="Product-level CMRT", owner="Golf",
                                 target_date=T0 + timedelta(days=90), status="verified"))
    set_survey(engine, s, outcome="suspended")

    s = add_supplier_survey(engine, "H-late", name="Hotel")
    with session_scope(engine) as ses:
        ses.add(Escalation(id="esc-h", survey_id=s, reason="non_response", opened_at=DUE + timedelta(days=14)))
    add_submission(engine, s, check_result(smelters=ok), at=DUE + timedelta(days=20))


def test_campaign_figures(any_db_url):
    engine = make_engine(any_db_url)
    try:
        populate(engine)
        f = campaign_figures(engine, 2026, as_of=T0 + timedelta(days=40))
    finally:
        engine.dispose()
    assert f["source"]["campaigns"] == ["cmrt-2026"] and f["withdrawn"] == 1
    assert f["suppliers_surveyed"] == 7  # the withdrawn supplier is out of scope
    assert (f["submitted"]["count"], f["submitted"]["percent"]) == (6, 86)
    assert f["valid"]["count"] == 4  # A, B, G, H
    assert f["invalid_uncorrected"]["count"] == 1 and f["awaiting_correction"]["count"] == 1
    assert (f["company_level"]["count"], f["company_level"]["of"]) == (5, 6)
    assert f["q6_below_100"]["count"] == 1 and (f["weak_program"]["count"], f["weak_program"]["of"]) == (1, 6)
    # Smelters from valid declarations only: Charlie's uncorrected Tantalum smelter does not count.
    assert f["smelters"]["total"] == 4
    assert {a["cid"] for a in f["appendix_a"]} == {"CID000015", "CID000402", "CID000004", "CID003185"}
    assert [(h["cid"], h["suppliers"]) for h in f["high_risk_smelters"]] == [("CID003185", ["Golf"])]
    assert [(e["name"], e["suppliers"]) for e in f["unknown_entities"]] == [("Backyard Refiners", ["Golf"])]
    assert f["corrective_actions"] == {"plans": 1, "plans_open": 1, "plans_closed": 0, "plans_overdue": 0,
                                       "plans_refused": 0, "plans_other": 0, "actions_open": 1, "actions_overdue": 1,
                                       "actions_closed": 1, "actions_refused": 0}
    assert f["escalations"] == {"total": 3, "open": 1, "lapsed": 1, "withdrawn": 0, "decisions": {"suspend": 1},
                                "by_reason": {"cap_overdue": 1, "non_response": 1, "non_responsive": 1}}
    rows = {r["supplier_id"]: r for r in f["suppliers"]}
    assert rows["E-withdrawn"]["status"] == "withdrawn" and rows["D-silent"]["status"] == "not_submitted"
    assert rows["B-corrected"]["submissions"] == 2 and rows["B-corrected"]["q6_below_100"] == ["Gold"]

    draft = render_due_diligence_draft(f, company="Example Manufacturing Inc.")
    assert "For the 2026 reporting year, Example Manufacturing Inc. received CMRTs from approximately 86%" in draft
    assert "approximately 14% of the Surveyed Suppliers did not correct" in draft
    assert "1 Surveyed Supplier(s) are still correcting" in draft
    assert "decisions: suspend 1" in draft and "1 awaiting a decision; 1 lapsed without a decision" in draft
    html = render_rcoi_html(f)
    assert "Backyard Refiners" in html and "CID003185" in html and "suspend 1, 1 lapsed without a decision" in html
    f["escalations"]["decisions"] = {"corrective_action": 1}  # decisions read as words, not codes
    assert "decisions: corrective action 1" in render_due_diligence_draft(f, company="Example Manufacturing Inc.")
    assert ", corrective action 1, 1 lapsed" in render_rcoi_html(f)


def test_plan_counts_add_up_once_plans_are_escalated(engine, tmp_path):
    """Two plans escalated as overdue, one in a state the report does not name: no "0 open, 0 closed"."""
    from openpyxl import load_workbook

    from outreach.reports.workbook import rcoi_workbook

    s = add_supplier_survey(engine, "X-late", name="Xray")
    add_submission(engine, s, check_result(), at=T0)
    with session_scope(engine) as ses:
        for n, state in ((1, "overdue"), (2, "overdue"), (3, "suspended")):
            ses.add(CorrectiveActionPlan(id=f"cap-x{n}", survey_id=s, opened_at=T0, state=state, closed_at=DUE))
    f = campaign_figures(engine, 2026, as_of=T0 + timedelta(days=40))
    caps = f["corrective_actions"]
    assert (caps["plans"], caps["plans_overdue"], caps["plans_other"]) == (3, 2, 1)
    said = "3 (0 open, 0 closed, 2 overdue and escalated to the VP, 1 in another state)"
    assert f"Corrective action plans: {said}" in render_rcoi_html(f)
    assert "0 open, 0 closed, 2 overdue and escalated to the VP, 1 in another state;" in render_due_diligence_draft(
        f, company="Example Manufacturing Inc.")
    path = tmp_path / "rcoi.xlsx"
    rcoi_workbook(f, path)
    rows = [[c for c in row if c is not None] for row in load_workbook(path).worksheets[0].iter_rows(values_only=True)]
    row = next(r for r in rows if r and r[0] == "Corrective action plans")
    assert row[1] == 3 and sum(row[3::2]) == 3, row


def test_cli_campaign_json(engine, db_url, tmp_path, monkeypatch):
    from outreach.cli import app

    populate(engine)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    result = runner.invoke(app, ["report", "rcoi", "--campaign", "2026", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["suppliers_surveyed"] == 7 and data["smelters"]["total"] == 4
    by_id = runner.invoke(app, ["report", "rcoi", "--campaign", "cmrt-2026"])
    assert by_id.exit_code == 0 and "Smelters and refiners identified: 4" in by_id.output
    assert "high risk: Gold African Gold Refinery (UGANDA, CID003185, Not Enrolled) reported by Golf" in by_id.output
    assert "not a known smelter: Gold 'Backyard Refiners' reported by Golf" in by_id.output
    missing = runner.invoke(app, ["report", "rcoi", "--campaign", "1999"])
    assert missing.exit_code == 2 and "no campaign '1999'" in missing.output


def test_workbook_says_codes_in_words_and_shows_a_verdict_overruled_by_hand(engine, tmp_path):
    """A declaration accepted by hand reads "Invalid, accepted by hand by ...: reason", not Outcome valid /
    Verdict invalid; where a supplier stands, scopes, programs and outcomes are words; counts are numbers."""
    import re

    from openpyxl import load_workbook

    from outreach.reports.workbook import rcoi_workbook

    populate(engine)
    s = add_supplier_survey(engine, "I-by-hand", name="India")
    sub = add_submission(engine, s, check_result(verdict="invalid", scope="product"), at=T0, manual_decision="accepted")
    with session_scope(engine) as ses:
        from models.tables import Submission

        row = ses.get(Submission, sub)
        row.manual_reason = "the smelter list was sent separately (ana@example.com)"
        ses.add(row)
    set_survey(engine, s, outcome="valid_with_cap")
    f = campaign_figures(engine, 2026, as_of=T0 + timedelta(days=40))
    path = rcoi_workbook(f, tmp_path / "rcoi.xlsx")
    wb = load_workbook(path)
    rows = list(wb["Declarations"].iter_rows(values_only=True))
    header, by_id = rows[0], {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    india = by_id["I-by-hand"]
    assert india["Verdict"] == "Invalid, accepted by hand by ana@example.com: the smelter list was sent separately"
    assert (india["Where it stands"], india["Outcome"], india["Scope"]) == ("Valid", "Valid with corrective action",
                                                                           "Product level")
    assert by_id["F-correcting"]["Where it stands"] == "Still correcting"
    assert by_id["D-silent"]["Where it stands"] == "No CMRT submitted" and by_id["D-silent"]["Outcome"] == "Non-responsive"
    assert by_id["C-uncorrected"]["Where it stands"] == "Invalid, never corrected"
    code = re.compile(r"^[a-z]+(?:_[a-z]+)+$")
    for sheet in ("Summary", "Declarations", "Smelters by supplier"):
        for r in wb[sheet].iter_rows():
            for c in r:
                assert not (isinstance(c.value, str) and (code.match(c.value) or re.fullmatch(r"\d+%", c.value))), \
                    (sheet, c.coordinate, c.value)
    summary = {r[0].value: r for r in wb["Summary"].iter_rows() if r[0].value}
    count, of, share = (c.value for c in summary["Still correcting an invalid CMRT"][1:4])
    assert (count, of) == (1, 8) and share == 1 / 8 and summary["Still correcting an invalid CMRT"][3].number_format == "0%"
    assert summary["Escalations"][2].value == "awaiting a decision"

"""Smelter risk as the seeds define it (cmrt/risk.py): the rule table as properties, the watch-list and
cross-recognition imports (CSV, XLSX, hostile files), overrides, and an override reaching the next check
of a submission through the worker's own activity and the read-time figures."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select
from typer.testing import CliRunner

import cmrt
from cmrt.builder import valid_builder, valid_cmrt
from cmrt.reference import ReferenceFormatError, default_reference
from cmrt.risk import (
    COVERED_COUNTRIES,
    FACTOR_WORDS,
    LEVELS,
    PeerAssessment,
    RiskOverride,
    WatchHit,
    assess_smelter,
    smelter_risk,
)
from cmrt.risk_lists import parse_date, read_risk_list
from tests import hostile_workbooks as hw

RANK = {"unknown": 0, "low": 1, "medium": 2, "high": 3}
STATUSES = ["Conformant", "Conformant (Re-assessment in progress)", "Active", "Not Enrolled", "Non-Conformant",
            "In Communication", None, ""]
OUTSIDE = ["CHINA", "JAPAN", "UNITED STATES OF AMERICA", "Germany", "Peru", None]
COUNTRIES = sorted(COVERED_COUNTRIES) + ["DRC", "Tanzania", "Rwanda"] + OUTSIDE

statuses = st.sampled_from(STATUSES)
countries = st.sampled_from(COUNTRIES)
watch_hits = st.builds(WatchHit, source=st.sampled_from(["UN Group of Experts", "NGO report", "Press"]),
                       listed_on=st.none() | st.dates(date(2015, 1, 1), date(2030, 1, 1)),
                       note=st.text(max_size=30))
peers = st.builds(PeerAssessment, scheme=st.sampled_from(["LBMA", "RJC"]), listed_as=st.text(max_size=20))
overrides = st.builds(RiskOverride, level=st.sampled_from(LEVELS), reason=st.text(min_size=1, max_size=40),
                      by=st.just("analyst@company.test"))
facts = st.fixed_dictionaries({
    "rmap_status": statuses, "country": countries,
    "declared_countries": st.lists(countries, max_size=2), "source_countries": st.lists(countries, max_size=3),
    "watch": st.lists(watch_hits, max_size=2), "peers": st.lists(peers, max_size=2),
    "override": st.none() | overrides,
})


# --- the rule table as properties -------------------------------------------------------------------


@given(facts, overrides)
def test_an_override_always_wins_and_is_the_first_reason(f, override):
    a = assess_smelter(**{**f, "override": override})
    assert a.level == override.level and a.overridden
    assert a.reasons[0].factor == "override" and override.reason in a.reasons[0].text
    assert a.rule_level == assess_smelter(**{**f, "override": None}).level  # what the factors say is kept


@given(facts, watch_hits)
def test_a_watch_list_hit_never_lowers_risk_and_makes_it_high(f, hit):
    f = {**f, "override": None}
    before, after = assess_smelter(**f), assess_smelter(**{**f, "watch": [*f["watch"], hit]})
    assert RANK[after.level] >= RANK[before.level] and after.level == "high"
    assert any(hit.source in r.text and r.factor == "evidence" for r in after.reasons)


@given(facts, peers)
def test_a_peer_recognition_never_raises_risk(f, peer):
    f = {**f, "override": None}
    before, after = assess_smelter(**f), assess_smelter(**{**f, "peers": [*f["peers"], peer]})
    assert RANK[after.level] <= RANK[before.level]


@given(facts, st.sampled_from(sorted(COVERED_COUNTRIES)))
def test_a_covered_country_never_lowers_risk(f, covered):
    f = {**f, "override": None}
    base = assess_smelter(**f)
    assert RANK[assess_smelter(**{**f, "source_countries": [*f["source_countries"], covered]}).level] >= RANK[base.level]
    assert RANK[assess_smelter(**{**f, "declared_countries": [*f["declared_countries"], covered]}).level] >= RANK[base.level]


@given(st.sampled_from(["Conformant", "Conformant (Re-assessment in progress)", "compliant"]),
       st.sampled_from(OUTSIDE), st.lists(st.sampled_from(OUTSIDE), max_size=3), st.lists(peers, max_size=1))
def test_a_conformant_smelter_outside_the_covered_countries_without_evidence_is_low(status, country, sources, p):
    a = assess_smelter(rmap_status=status, country=country, source_countries=sources, peers=p)
    assert a.level == "low"
    assert a.reasons[0].factor in ("rmap_status", "location", "origin", "peer_assessment")


@given(facts)
def test_every_grade_has_reasons_naming_their_factor_and_source(f):
    a = assess_smelter(**f)
    assert a.level in LEVELS and a.reasons
    assert any(r.factor == "rmap_status" for r in a.reasons) and any(r.factor == "location" for r in a.reasons)
    for r in a.reasons:
        assert r.text.startswith(FACTOR_WORDS[r.factor]) and r.source
    # the reasons that decided the level come before the others (after an override)
    rest = [r for r in a.reasons if r.factor != "override"]
    decisive = [r.points_to == a.rule_level for r in rest]
    assert decisive == sorted(decisive, reverse=True)


@pytest.mark.parametrize("status, country, level", [
    ("Conformant", "RWANDA", "low"), ("Conformant", "CHINA", "low"),
    ("Active", "RWANDA", "medium"), ("Active", "CHINA", "medium"),
    ("Not Enrolled", "RWANDA", "high"), ("Not Enrolled", "DRC", "high"), ("Not Enrolled", "CHINA", "medium"),
    ("Non-Conformant", "CHINA", "high"), (None, "UGANDA", "high"), (None, None, "medium"),
    ("Outreach Required", "TANZANIA", "high"), ("Outreach Required", "PERU", "medium"),
])
def test_rmap_status_and_location_as_before(status, country, level):
    """Without the new inputs the grade is the product's earlier rule, and the two-argument call still works."""
    assert smelter_risk(status, country) == level == assess_smelter(rmap_status=status, country=country).level


@pytest.mark.parametrize("status, sources, peer, level", [
    ("Not Enrolled", ["CHINA"], False, "medium"),
    ("Not Enrolled", ["CONGO, DEMOCRATIC REPUBLIC OF THE"], False, "high"),  # declared origin in the DRC
    ("Not Enrolled", ["CHINA"], True, "low"),  # peer-assessed, no covered link
    ("Not Enrolled", ["RWANDA"], True, "medium"),  # peer-assessed with a covered link
    ("Active", ["BURUNDI"], True, "medium"),
    ("Non-Conformant", ["CHINA"], True, "high"),  # a failed RMAP audit is not undone by another scheme
])
def test_origin_and_peer_assessment_combinations(status, sources, peer, level):
    a = assess_smelter(rmap_status=status, country="CHINA", source_countries=sources,
                       peers=[PeerAssessment("LBMA", "Refiner")] if peer else [])
    assert a.level == level
    assert smelter_risk(status, "CHINA", source_countries=sources,
                        peers=[PeerAssessment("LBMA")] if peer else []) == level


def test_the_check_grades_with_the_declared_mine_country():
    """Column O (mine country) in the DRC makes a not-enrolled smelter outside the Covered Countries high;
    the reason names the factor and the Smelter List."""
    ref = default_reference()
    not_enrolled = next(s for s in ref.smelters() if s.rmap_status == "Not Enrolled" and s.country
                        and s.country not in COVERED_COUNTRIES)
    rows = [{"metal": not_enrolled.metal, "cid": not_enrolled.cid, "lookup_name": not_enrolled.standard_name}]

    def check(mine_country):
        b = valid_builder("Acme", rows + [{"metal": m, "lookup_name": n} for m, n in (
            ("Tantalum", "Asaka Riken Co., Ltd."), ("Tin", "Dowa"), ("Gold", "Advanced Chemical Company"),
            ("Tungsten", "A.L.M.T. Corp."))])
        if mine_country:
            b.smelter(metal=not_enrolled.metal, cid_input=not_enrolled.cid, lookup_name=not_enrolled.standard_name,
                      mine_name="Some mine", mine_country=mine_country)
        r = cmrt.check(b.to_bytes(), reference=ref)
        return [s for s in r.smelters if s.cid == not_enrolled.cid], r

    plain, r0 = check(None)
    assert {s.risk for s in plain} == {"medium"} and r0.summary.high_risk_smelters == 0
    drc, r1 = check("Democratic Republic of the Congo")
    assert {s.risk for s in drc} == {"high"} and r1.summary.high_risk_smelters == 1  # every row of it, counted once
    assert any("Known mineral source country of origin" in why and "mine country" in why for why in drc[0].risk_reasons)
    [finding] = [f for f in r1.findings if f.code == "smelter_high_risk"]
    assert "CONGO, DEMOCRATIC REPUBLIC OF THE" in finding.message


# --- reading the lists ------------------------------------------------------------------------------


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Watch list of the compliance team"])  # a title above the header
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


WATCH_CSV = (
    "Smelter name or CID,Metal,Source,Date,Note\n"
    "Advanced Chemical Company,Gold,UN Group of Experts,2025-03-01,Gold from eastern DRC without documents\n"
    "CID000004,Tungsten,NGO report,02-May-2024,\n"
    "Nowhere Refining Unlikely Name,Gold,Press,2025-01-01,not a smelter we know\n"
    "Dowa,Tin,,2025-01-01,no source given\n"
    ",Gold,Press,2025-01-01,no name\n"
    '"Asaka Riken Co., Ltd.",Tantalum,Press,someday,\n'
).encode()


def test_a_watch_list_csv_keeps_every_row_or_says_why_not():
    parsed = read_risk_list(WATCH_CSV, "watchlist")
    assert [(r.cid, r.name) for r in parsed.rows] == [
        (None, "Advanced Chemical Company"), ("CID000004", None), (None, "Nowhere Refining Unlikely Name"),
        (None, "Asaka Riken Co., Ltd.")]
    assert parsed.rows[1].listed_on == date(2024, 5, 2) and parsed.rows[0].source == "UN Group of Experts"
    assert parsed.rows[3].listed_on is None
    assert any("row 5" in p and "no source" in p for p in parsed.problems)
    assert any("row 6" in p and "no smelter name or CID" in p for p in parsed.problems)
    assert any("row 7" in p and "'someday' not understood" in p for p in parsed.problems)


def test_a_watch_list_xlsx_with_a_title_row_and_date_cells():
    data = _xlsx([["CID", "Smelter", "Metal", "Reported by", "Listed on", "Comments"],
                  ["CID000015", "Advanced Chemical Company", "Gold", "UN Group of Experts", datetime(2025, 3, 1), "x"]])
    [row] = read_risk_list(data, "watchlist").rows
    assert (row.cid, row.source, row.listed_on, row.note) == ("CID000015", "UN Group of Experts", date(2025, 3, 1), "x")


def test_a_recognition_list_takes_its_scheme_metal():
    [row] = read_risk_list(b"Refiner,Country\nAsahi Pretec Corp.,Japan\n", "recognition", scheme="LBMA").rows
    assert (row.name, row.metal, row.country) == ("Asahi Pretec Corp.", "Gold", "Japan")


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old .xls or encrypted"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "binary"),
    (b"PK\x03\x04garbage", "damaged"),
    (b"Metal,Source\nGold,Press\n", "smelter name or CID"),
    (b"Smelter,Metal\nDowa,Tin\n", "needs a source column"),
    (hw.corner(), "XFD1048576"),  # the cell that once took a reader down: sized first, refused
])
def test_files_it_cannot_use_are_refused_in_one_line(data, reason):
    with pytest.raises(ReferenceFormatError, match=reason) as exc:
        read_risk_list(data, "watchlist")
    assert "\n" not in str(exc.value)


def test_dates_as_people_write_them():
    assert parse_date("2024-05-02") == parse_date("02-May-2024") == parse_date("2024/05/02") == date(2024, 5, 2)
    assert parse_date("02.05.2024") == date(2024, 5, 2) and parse_date("soon") is None and parse_date(None) is None


# --- stored, audited, used by the next check -----------------------------------------------------------


def _actions(engine) -> list[str]:
    from models.tables import AuditEntry
    from outreach.db import session_scope

    with session_scope(engine) as s:
        return [e.action for e in s.exec(select(AuditEntry).order_by(AuditEntry.seq))]


def test_imports_are_stored_matched_reported_and_audited(any_db_url):
    from models.smelters import SmelterRiskEntry, SmelterRiskList
    from outreach.db import make_engine, session_scope
    from outreach.reference_store import load_reference
    from outreach.risk_store import import_risk_list

    engine = make_engine(any_db_url)
    try:
        result = import_risk_list(engine, WATCH_CSV, kind="watchlist", source_name="watch.csv", by="ana@company.test")
        assert (result.entries, result.matched) == (4, 3)
        assert result.unmatched == ["row 4: Nowhere Refining Unlikely Name (Gold): no such smelter on the reference list"]
        assert "1 not matched" in result.summary() and "no source" in result.summary()
        assert import_risk_list(engine, WATCH_CSV, kind="watchlist", by="ana@company.test").already_imported
        with session_scope(engine) as s:
            [lst] = s.exec(select(SmelterRiskList)).all()
            assert (lst.imported_by, lst.entries, lst.matched, lst.unmatched) == ("ana@company.test", 4, 3, 1)
            stored = s.exec(select(SmelterRiskEntry).order_by(SmelterRiskEntry.row)).all()
            assert [e.cid for e in stored] == ["CID000015", "CID000004", None, "CID000092"]  # the unmatched kept
        ref = load_reference(engine)
        assert ref.risk_of("CID000015").level == "high"  # a conformant refinery with credible evidence
        assert "UN Group of Experts on 2025-03-01" in ref.risk_of("CID000015").reasons[0].text

        # A recognition list replaces the scheme's previous one.
        import_risk_list(engine, b"Refiner\nAfrican Gold Refinery\n", kind="recognition", scheme="lbma", by="ana")
        assert load_reference(engine).risk_of("CID003185").level == "medium"  # Uganda, peer-assessed
        import_risk_list(engine, b"Refiner\nAsahi Pretec Corp.\n", kind="recognition", scheme="LBMA", by="ana")
        assert load_reference(engine).risk_of("CID003185").level == "high"  # no longer on the LBMA list
        assert _actions(engine).count("smelters.watchlist_imported") == 1
        assert _actions(engine).count("smelters.recognition_imported") == 2
    finally:
        engine.dispose()


def test_overrides_are_validated_audited_and_kept_in_history(any_db_url):
    from models.smelters import SmelterRiskOverride
    from outreach.db import make_engine, session_scope
    from outreach.reference_store import load_reference
    from outreach.risk_store import RiskInputError, clear_override, set_override

    engine = make_engine(any_db_url)
    try:
        for cid, level, reason, why in (("CID999999", "low", "x", "not on the smelter reference list"),
                                        ("nonsense", "low", "x", "not a smelter ID"),
                                        ("CID003185", "extreme", "x", "choose low, medium or high"),
                                        ("CID003185", "low", "   ", "needs a reason")):
            with pytest.raises(RiskInputError, match=why):
                set_override(engine, cid, level=level, reason=reason, by="ana")
        assert _actions(engine) == []  # nothing refused was written
        set_override(engine, " cid003185 ", level="low", reason="Site visit: recycled feed only", by="ana")
        set_override(engine, "CID003185", level="medium", reason="Pending the audit", by="bo")
        a = load_reference(engine).risk_of("CID003185")
        assert (a.level, a.rule_level) == ("medium", "high") and "Pending the audit" in a.reasons[0].text
        assert clear_override(engine, "CID003185", by="ana", reason="Audit done")
        assert not clear_override(engine, "CID003185", by="ana")
        assert load_reference(engine).risk_of("CID003185").level == "high"
        with session_scope(engine) as s:
            rows = s.exec(select(SmelterRiskOverride).order_by(SmelterRiskOverride.id)).all()
            assert [(o.level, o.cleared_by) for o in rows] == [("low", "bo"), ("medium", "ana")]
        assert _actions(engine) == ["smelters.risk_override", "smelters.risk_override",
                                    "smelters.risk_override_cleared"]
    finally:
        engine.dispose()


def test_an_override_counts_from_the_next_check_and_in_the_figures_read_now(any_db_url, settings_for):
    """Through the worker's own activity (check_submission) and the report's supplier_smelters."""
    from activities.survey import CheckRequest, SurveyActivities
    from models.tables import Submission
    from outreach.db import make_engine, session_scope
    from outreach.reports.smelters import current_reference, supplier_smelters
    from outreach.risk_store import clear_override, import_risk_list, set_override
    from tests.test_survey_activities import SID, T0, rec

    engine = make_engine(any_db_url)
    try:
        acts = SurveyActivities(settings_for(db_url=any_db_url), engine)
        acts.record_survey_event(rec(1, "survey_started", "requested"))
        sha = acts.files.put(valid_cmrt(company="Seven Metals", effective_date=T0.date()), filename="seven.xlsx")
        n = 0

        def check():
            nonlocal n
            n += 1
            return acts.check_submission(CheckRequest(
                survey_id=SID, submission_id=f"{SID}/submission/{n}", file_sha256=sha, filename="seven.xlsx",
                received_at=T0 + timedelta(days=n), campaign_year=2026))

        assert check().high_risk_smelters == 0  # every smelter of valid_cmrt() is conformant
        set_override(engine, "CID000402", level="high", reason="Buys from a trader under investigation", by="ana")
        after = check()
        assert after.verdict == "valid" and after.high_risk_smelters == 1
        [hit] = [f for f in after.findings if f.code == "smelter_high_risk"]
        assert "Dowa" in hit.message and "compliance team's own assessment" in hit.message
        assert "trader under investigation" not in hit.message  # compliance's note stays internal
        with session_scope(engine) as s:
            first, second = (s.get(Submission, f"{SID}/submission/{i}").result for i in (1, 2))
        [row] = [r for r in second["smelters"] if r["cid"] == "CID000402"]
        assert row["risk"] == "high" and row["risk_reasons"][0].startswith("Set by compliance: high by ana")

        # Read-time figures grade the earlier declaration with today's override too.
        reference = current_reference(engine)
        dowa = supplier_smelters(first, reference).known["CID000402"]
        assert dowa.risk == "high" and "Buys from a trader under investigation" in dowa.risk_reasons[0]

        clear_override(engine, "CID000402", by="ana")
        assert check().high_risk_smelters == 0
        import_risk_list(engine, b"CID,Metal,Source,Date\nCID000004,Tungsten,NGO report,2025-02-01\n",
                         kind="watchlist", by="ana")
        watched = check()
        assert watched.high_risk_smelters == 1
        [hit] = [f for f in watched.findings if f.code == "smelter_high_risk"]
        assert "A.L.M.T." in hit.message and "reported by NGO report" in hit.message
    finally:
        engine.dispose()


# --- the CLI -------------------------------------------------------------------------------------------


def test_the_cli_imports_overrides_and_shows_with_reasons(db_url, tmp_path, monkeypatch):
    from outreach.cli import app
    from outreach.db import make_engine

    monkeypatch.setenv("OUTREACH_DATABASE_URL", db_url)
    runner = CliRunner()
    watch = tmp_path / "watch.csv"
    watch.write_bytes(WATCH_CSV)
    lbma = tmp_path / "lbma.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Refiner name", "Country"])
    wb.active.append(["African Gold Refinery", "Uganda"])
    wb.save(lbma)
    hostile = tmp_path / "hostile.xlsx"
    hostile.write_bytes(hw.corner())

    r = runner.invoke(app, ["smelters", "watchlist", "import", str(watch), "--by", "ana@company.test"])
    assert r.exit_code == 0 and "3 matched" in r.output and "Nowhere Refining" in r.output, r.output
    r = runner.invoke(app, ["smelters", "recognition", "import", str(lbma)])
    assert r.exit_code != 0  # --scheme is required
    r = runner.invoke(app, ["smelters", "recognition", "import", str(lbma), "--scheme", "LBMA"])
    assert r.exit_code == 0 and "1 matched" in r.output, r.output
    r = runner.invoke(app, ["smelters", "watchlist", "import", str(hostile)])
    assert r.exit_code == 2 and "XFD1048576" in r.output
    r = runner.invoke(app, ["smelters", "risk", "show", "CID003185"])
    assert r.exit_code == 0 and "medium risk" in r.output and "recognised by LBMA" in r.output, r.output
    r = runner.invoke(app, ["smelters", "risk", "override", "CID003185", "--level", "low", "--reason", "Visited"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["smelters", "risk", "show", "CID003185", "--json"])
    shown = json.loads(r.output)
    assert (shown["risk"], shown["rule_risk"], shown["overridden"]) == ("low", "medium", True)
    r = runner.invoke(app, ["smelters", "risk", "override", "CID003185", "--level", "purple", "--reason", "x"])
    assert r.exit_code == 2 and "choose low, medium or high" in r.output
    # `outreach cmrt check` grades with the stored override too: African Gold Refinery is low now.
    cordillera = tmp_path / "cordillera.xlsx"
    from cmrt.builder import high_risk_cmrt

    cordillera.write_bytes(high_risk_cmrt())
    r = runner.invoke(app, ["cmrt", "check", "--json", str(cordillera)])
    [row] = [s for s in json.loads(r.output)[0]["smelters"] if s["cid"] == "CID003185"]
    assert row["risk"] == "low" and row["risk_reasons"][0].startswith("Set by compliance: low")
    r = runner.invoke(app, ["smelters", "risk", "clear-override", "CID003185"])
    assert r.exit_code == 0 and "cleared" in r.output
    r = runner.invoke(app, ["cmrt", "check", "--json", str(cordillera)])
    [row] = [s for s in json.loads(r.output)[0]["smelters"] if s["cid"] == "CID003185"]
    assert row["risk"] == "medium"  # Uganda, but LBMA-recognised
    engine = make_engine(db_url)
    try:
        assert _actions(engine) == ["smelters.watchlist_imported", "smelters.recognition_imported",
                                    "smelters.risk_override", "smelters.risk_override_cleared"]
    finally:
        engine.dispose()


# --- the web pages -----------------------------------------------------------------------------------


async def test_the_smelter_page_shows_reasons_and_an_analyst_overrides_there(engine, db_url, settings_for):
    from cmrt.builder import high_risk_cmrt
    from models.tables import Submission
    from outreach.db import session_scope
    from outreach.users import create_user
    from tests.web_support import USER_PASSWORD, make_web, seed_case

    web = make_web(settings_for(db_url=db_url), engine)
    survey_id = seed_case(engine)
    with session_scope(engine) as s:
        sub = s.get(Submission, f"{survey_id}/submission/1")
        sub.result = cmrt.check(high_risk_cmrt()).to_json_dict()
        s.add(sub)
    try:
        await web.login()
        page = (await web.client.get("/suppliers/S-1")).text
        assert "1 high-risk and 0 medium-risk smelters, graded today" in page
        assert 'href="/smelters/CID003185"' in page and "located in UGANDA, a Covered Country" in page

        page = (await web.client.get("/smelters/CID003185")).text
        assert "Risk: high" in page and "RMAP audit status: Not Enrolled" in page
        token = await web.csrf("/smelters/CID003185")
        r = await web.client.post("/smelters/CID003185/risk", data={"csrf_token": token, "level": "low", "reason": ""})
        assert "Not done: an override needs a reason" in r.text and "Risk: high" in r.text
        r = await web.client.post("/smelters/CID003185/risk",
                                  data={"csrf_token": token, "level": "low", "reason": "Recycled feed only, site visit"})
        assert "Risk set to low" in r.text and "Risk: low" in r.text and "the five factors say high" in r.text
        assert "graded today" not in (await web.client.get("/suppliers/S-1")).text  # no smelter at risk now
        assert _actions(engine)[-1] == "smelters.risk_override"
        r = await web.client.post("/smelters/CID003185/risk", data={"csrf_token": token, "clear": "1"})
        assert "Override cleared" in r.text and "Risk: high" in r.text and "Recycled feed only" in r.text  # history
        assert (await web.client.get("/smelters/CID999999")).status_code == 404

        # An auditor reads the page, without the form, and may not post it.
        create_user(engine, "audrey@company.test", USER_PASSWORD, role="auditor")
        await web.client.post("/logout", data={"csrf_token": await web.csrf("/smelters/CID003185")})
        await web.login("audrey@company.test")
        page = (await web.client.get("/smelters/CID003185")).text
        assert "Risk: high" in page and "Set the risk" not in page
        r = await web.client.post("/smelters/CID003185/risk", data={"csrf_token": await web.csrf("/smelters/CID003185"),
                                                                   "level": "low", "reason": "x"})
        assert r.status_code == 403
    finally:
        await web.client.aclose()

"""EMRT campaigns: the kind a campaign asks for, carried by its surveys into the check and the emails.

The surveys run on the time-skipping server with the real worker, SMTP sink and database
(tests/survey_harness.py); the rules about kinds and minerals are pure (models.facts.template_kind).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from cmrt.builder import valid_cmrt, valid_emrt_builder
from models.enums import SurveyState
from models.facts import figures as facts
from models.facts import template_kind as tk
from models.survey import SubmitCmrt
from models.tables import Campaign, Finding, Survey
from outreach.db import session_scope
from tests.survey_harness import SUPPLIER, rig, running, survey_input  # noqa: F401 (fixtures)
from tests.survey_scenarios import SHORT

# --- pure rules ---------------------------------------------------------------------------------


@given(st.sampled_from(tk.KINDS), st.lists(st.sampled_from(tk.MINERALS["EMRT"] + ("graphite", "Cobalt ")), max_size=8))
def test_minerals_asked_are_the_templates_in_its_order(kind, chosen):
    """Whatever subset is asked (any case, the EMRT's "graphite"), the campaign keeps the template's own
    order, no duplicates, and asking for none means all of them."""
    if kind == "CMRT" and chosen:
        with pytest.raises(ValueError, match="is not reported in the CMRT"):
            tk.parse_minerals(kind, chosen)
        return
    parsed = tk.parse_minerals(kind, chosen)
    assert parsed == sorted(set(parsed), key=tk.MINERALS[kind].index)
    asked = tk.minerals_asked(kind, parsed)
    assert asked == (parsed or list(tk.MINERALS[kind]))
    phrase = tk.minerals_phrase(kind, parsed)
    assert all(m in phrase for m in asked)


@given(st.integers(1990, 2100))
def test_the_cmrt_and_emrt_campaigns_of_a_year_never_share_an_id(year):
    from models.survey import survey_workflow_id

    cmrt_id, emrt_id = tk.default_campaign_id(year, "CMRT"), tk.default_campaign_id(year, "EMRT")
    assert cmrt_id == f"cmrt-{year}"  # the IDs campaigns had before EMRT campaigns: unchanged
    assert survey_workflow_id(cmrt_id, "S-1") != survey_workflow_id(emrt_id, "S-1")


@pytest.mark.parametrize("text,error", [("xmrt", "not a template kind"), ("", None), ("emrt", None)])
def test_the_kind_is_cmrt_or_emrt(text, error):
    if error:
        with pytest.raises(ValueError, match=error):
            tk.parse_kind(text)
    else:
        assert tk.parse_kind(text) in ("CMRT", "EMRT")


def test_a_campaign_input_of_each_kind(settings_for):
    from outreach.campaigns import campaign_input

    settings = settings_for()
    emrt = campaign_input(settings, year=2026, kind="emrt", minerals="mica, Cobalt")
    assert (emrt.campaign_id, emrt.kind, emrt.minerals, emrt.display_name) == (
        "emrt-2026", "EMRT", ["cobalt", "mica"], "EMRT campaign 2026")
    cmrt = campaign_input(settings, year=2026)
    assert (cmrt.campaign_id, cmrt.kind, cmrt.minerals) == ("cmrt-2026", "CMRT", [])
    with pytest.raises(ValueError, match="gold is not reported in the EMRT"):
        campaign_input(settings, year=2026, kind="EMRT", minerals=["gold"])


def test_the_cli_refuses_an_unknown_kind_before_connecting():
    from typer.testing import CliRunner

    from outreach.cli import app

    out = CliRunner().invoke(app, ["campaign", "start", "--year", "2026", "--kind", "XMRT"])
    assert out.exit_code == 2 and "--kind" in out.output and "not a template kind" in out.output
    out = CliRunner().invoke(app, ["campaign", "start", "--year", "2026", "--kind", "EMRT", "--minerals", "tin"])
    assert out.exit_code == 2 and "tin is not reported in the EMRT" in out.output


# --- surveys on the time-skipping server ----------------------------------------------------------


def _subject(mail) -> str:
    return mail.subject.replace("\r\n", "").replace("\n", "")  # unfolded (RFC 5322)


def _emrt() -> bytes:
    return valid_emrt_builder(minerals=("Cobalt", "Mica")).to_bytes()


async def test_an_emrt_survey_asks_for_the_emrt_accepts_one_and_refuses_a_cmrt(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        refused = await rig.start(SHORT, supplier_id="S-200", template_kind="EMRT", minerals=["cobalt", "mica"])
        accepted = await rig.start(SHORT, template_kind="EMRT", minerals=["cobalt", "mica"])
        await rig.skip(hours=2)
        v = await refused.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(valid_cmrt())))
        assert (v.verdict, v.accepted, v.state) == ("invalid", False, SurveyState.correction_requested)
        v = await accepted.execute_update(SupplierSurveyWorkflow.submit,
                                          SubmitCmrt(file_sha256=rig.store(_emrt(), "emrt.xlsx")))
        assert (v.verdict, v.accepted, v.state) == ("valid", True, SurveyState.closed)
    request = rig.smtp.to(SUPPLIER)[0]
    assert request.template == "request"
    assert "Extended Minerals Reporting Template (EMRT)" in _subject(request)
    for text in (request.text, request.html):
        assert "Extended Minerals Reporting Template (EMRT) for cobalt, mica" in text
        assert "reporting-templates/emrt/" in text and "Conflict Minerals" not in text
    with session_scope(rig.engine) as s:
        codes = {f.code for f in s.exec(select(Finding).where(Finding.submission_id == f"{refused.id}/submission/1"))}
    assert codes == {"not_emrt"}  # the CMRT is named for what it is, and the EMRT asked for


async def test_a_cmrt_survey_still_refuses_an_emrt(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await rig.skip(hours=2)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(_emrt())))
        assert (v.verdict, v.state) == ("invalid", SurveyState.correction_requested)
    request = rig.smtp.to(SUPPLIER)[0]
    assert "Conflict Minerals Reporting Template (CMRT)" in _subject(request) and "EMRT" not in request.text
    with session_scope(rig.engine) as s:
        codes = {f.code for f in s.exec(select(Finding).where(Finding.submission_id == f"{h.id}/submission/1"))}
    assert codes == {"wrong_template_kind"}


async def test_one_supplier_in_the_cmrt_and_the_emrt_campaign_of_a_year(rig):
    from workflows.survey import SupplierSurveyWorkflow

    emrt_campaign = "emrt-" + rig.campaign_id.removeprefix("cmrt-")
    with session_scope(rig.engine) as s:
        s.add(Campaign(id=emrt_campaign, year=2025, name="EMRT 2025", state="running", kind="EMRT"))
    async with running(rig):
        cmrt_h = await rig.start(SHORT)
        inp = survey_input(emrt_campaign, policy=SHORT, template_kind="EMRT")
        rig.started.append(inp.survey_id)
        emrt_h = await rig.client.start_workflow(SupplierSurveyWorkflow.run, inp, id=inp.survey_id,
                                                 task_queue=rig.settings.task_queue)
        assert cmrt_h.id != emrt_h.id
        await rig.skip(hours=2)
        for h, data in ((cmrt_h, valid_cmrt()), (emrt_h, _emrt())):
            v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(data)))
            assert (v.verdict, v.state) == ("valid", SurveyState.closed)
    with session_scope(rig.engine) as s:
        rows = s.exec(select(Survey).where(Survey.supplier_id == "S-100",
                                           Survey.campaign_id.in_([rig.campaign_id, emrt_campaign]))).all()
        assert sorted((r.campaign_id, r.outcome) for r in rows) == sorted(
            [(rig.campaign_id, "valid"), (emrt_campaign, "valid")])
        assert s.get(Campaign, emrt_campaign).kind == "EMRT" and s.get(Campaign, rig.campaign_id).kind == "CMRT"
    subjects = [_subject(m) for m in rig.smtp.to(SUPPLIER) if m.template == "request"]
    assert sum("(EMRT)" in x for x in subjects) == 1 and sum("(CMRT)" in x for x in subjects) == 1
    # The report: the EMRT campaign's figures per mineral; the year's report is the CMRT campaign's.
    from outreach.reports.figures import campaign_figures

    emrt_figures = campaign_figures(rig.engine, emrt_campaign)
    by_mineral = {m["mineral"]: m for m in emrt_figures["minerals"]}
    assert list(by_mineral) == list(facts.EMRT_MINERALS)
    assert (by_mineral["Cobalt"]["responses"], by_mineral["Cobalt"]["valid"]["count"]) == (1, 1)
    assert by_mineral["Nickel"]["responses"] == 0 and by_mineral["Nickel"]["valid"]["percent"] is None
    assert by_mineral["Mica"]["mines"] == [{"mine_name": "Example Mica Mine", "country": "FINLAND",
                                            "suppliers": ["Acme Components Ltd."]}]
    assert emrt_campaign not in campaign_figures(rig.engine, 2025)["source"]["campaigns"]
    from openpyxl import load_workbook

    from outreach.reports.workbook import rcoi_workbook

    book = load_workbook(rcoi_workbook(emrt_figures, rig.settings.file_store_path / "emrt.xlsx"), read_only=True)
    minerals = {row[0]: row for row in book["Minerals"].iter_rows(min_row=2, values_only=True)}
    assert minerals["Cobalt"][1:3] == (1, 1) and minerals["Nickel"][1] == 0
    assert [r[:3] for r in book["Mines"].iter_rows(min_row=2, values_only=True)] == [
        ("Cobalt", "Example Cobalt Mine", "FINLAND"), ("Mica", "Example Mica Mine", "FINLAND")]
    from outreach.reports.render import render_due_diligence_draft

    draft = render_due_diligence_draft(emrt_figures, company="Example Manufacturing Inc.")
    assert "| Cobalt | 1 | 1 |" in draft and "Mica: Example Mica Mine (FINLAND)" in draft
    assert "Extended Minerals Reporting Template (EMRT)" in draft
    assert not any(word in draft for word in ("3TG", "CMRT", "onflict"))
    from outreach.reports.render import render_rcoi_html

    page = render_rcoi_html(emrt_figures)
    assert 'class="rcoi-minerals"' in page and "Example Mica Mine (FINLAND)" in page and "rcoi-metals" not in page
    assert 'class="rcoi-metals"' in render_rcoi_html(campaign_figures(rig.engine, rig.campaign_id))
    assert "minerals" not in campaign_figures(rig.engine, rig.campaign_id)


# --- per-mineral figures, as a property -----------------------------------------------------------

# A CID names one facility of one mineral (as in the RMI's lists); a row without one is not a known smelter.
_ROW = st.builds(lambda i, k, status: {"metal": facts.EMRT_MINERALS[i], "cid": f"CID99{i}{k}" if k else None,
                                       "rmap_status": status},
                 st.integers(0, len(facts.EMRT_MINERALS) - 1), st.integers(0, 2), st.sampled_from(["Conformant", "Active", None]))
_MINE = st.fixed_dictionaries({"metal": st.sampled_from(facts.EMRT_MINERALS),
                               "mine_name": st.sampled_from(["North Pit", "north  pit", "South Pit", ""]),
                               "country": st.sampled_from(["FINLAND", "CHILE"])})
_RECORD = st.builds(
    lambda n, status, selected, rows, mines: facts.SupplierRecord(
        supplier_id=f"S{n}", supplier_name=f"Supplier {n}", status=status, submissions=1,
        result={"minerals_selected": selected, "verdict": "valid" if status == "valid" else "invalid",
                "smelters": [dict(r, lookup_name=f"Refinery {r['cid']}", standard_name=f"Refinery {r['cid']}",
                                  match="exact" if r["cid"] else "unmatched",
                                  country="FINLAND", row=5 + i) for i, r in enumerate(rows)], "mines": mines}),
    st.integers(0, 99), st.sampled_from(["valid", "invalid_uncorrected", "withdrawn"]),
    st.lists(st.sampled_from(facts.EMRT_MINERALS), unique=True), st.lists(_ROW, max_size=5), st.lists(_MINE, max_size=4))


@settings(deadline=None)  # the first example loads the shipped reference list
@given(st.lists(_RECORD, max_size=6))
def test_per_mineral_figures_count_what_the_valid_emrts_declare(records):
    from cmrt.reference import default_reference
    from outreach.reports.smelters import supplier_smelters

    reference = default_reference()
    figures = facts.mineral_figures(records, smelters_of=lambda r: supplier_smelters(r, reference))
    counted = [r for r in records if r.status != "withdrawn"]
    for m in figures:
        declaring = [r for r in counted if m["mineral"] in r.result["minerals_selected"]]
        valid = [r for r in declaring if r.status == "valid"]
        assert m["responses"] == len(declaring) and m["valid"]["count"] == len(valid)
        s = m["smelters"]
        assert s["total"] == s["conformant"] + s["active"] + s["not_enrolled"]
        cids = {row["cid"] for r in valid for row in r.result["smelters"] if row["metal"] == m["mineral"] and row["cid"]}
        assert s["total"] == len(cids)
        assert s["conformant_percent"] == facts.percent(s["conformant"], s["total"])
        mines = {(" ".join(x["mine_name"].split()).casefold(), x["country"]) for r in valid
                 for x in r.result["mines"] if x["metal"] == m["mineral"] and x["mine_name"].strip()}
        assert {(x["mine_name"].casefold(), x["country"]) for x in m["mines"]} == mines
    # A withdrawn supplier changes no figure.
    assert facts.mineral_figures(counted, smelters_of=lambda r: supplier_smelters(r, reference)) == figures

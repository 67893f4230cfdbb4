"""The EMRT (extended minerals) read by its version's cell map (cmrt/data/emrt-2.1.json): the official blank
from ../shared/cmrt/templates (never committed; skipped when absent) and the project's own EMRT fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

import cmrt
from cmrt.builder import EMRTBuilder, valid_cmrt, valid_emrt_builder

BLANK_EMRT = Path(__file__).resolve().parents[2] / "shared" / "cmrt" / "templates" / "RMI_EMRT_2.1.xlsx"
ALL_MINERALS = ["Cobalt", "Copper", "Graphite", "Lithium", "Mica", "Nickel"]


def test_blank_official_emrt_checker_count_matches_excel() -> None:
    if not BLANK_EMRT.is_file():
        pytest.skip(f"the RMI's blank EMRT 2.1 is not present at {BLANK_EMRT}")
    from python_calamine import CalamineWorkbook

    cached = CalamineWorkbook.from_path(str(BLANK_EMRT)).get_sheet_by_name("Checker").to_python(skip_empty_area=False)
    result = cmrt.check(BLANK_EMRT, expected_kind="EMRT")
    assert result.template.kind == "EMRT" and result.template.version == "2.1"
    assert result.checker_remaining == int(float(cached[1][3])) == 68
    assert result.minerals_selected == ALL_MINERALS  # the blank selects every mineral
    assert result.verdict == "invalid" and result.smelters == [] and result.mines == []
    # the per-mineral rows follow the selection: question 1 for Nickel (sixth) sits in D35
    q1_nickel = [f for f in result.findings if f.code == "missing_answer" and f.params.get("question") == "1"
                 and f.params.get("metal") == "Nickel"]
    assert [f.cell for f in q1_nickel] == ["D35"]


def test_blank_official_emrt_is_still_refused_by_a_cmrt_survey() -> None:
    if not BLANK_EMRT.is_file():
        pytest.skip(f"the RMI's blank EMRT 2.1 is not present at {BLANK_EMRT}")
    result = cmrt.check(BLANK_EMRT)
    assert result.codes() == ["wrong_template_kind"] and result.checker_remaining is None


def test_filled_emrt_is_read_into_the_typed_result() -> None:
    data = (valid_emrt_builder(minerals=("Mica", "Cobalt", "Nickel"))
            .answer("Q1", "Nickel", "Not declaring")
            .mine(metal="Mica", smelter_name="Example Mica Refinery", mine_name="Second Mica Mine", country="INDIA")
            .to_bytes())
    result = cmrt.check(data, filename="acme-emrt.xlsx", expected_kind="EMRT")
    assert result.verdict == "valid", result.codes()
    assert result.template.kind == "EMRT" and result.checker_remaining == 0
    assert result.minerals_selected == ["Cobalt", "Mica", "Nickel"]
    assert result.metals_in_scope == ["Cobalt", "Mica"]  # Nickel: Q1 "Not declaring"
    assert result.declaration.company_name == "Acme Components Ltd."
    assert result.declaration.contact_email == "jane.doe@acme.example.com"
    assert result.declaration.effective_date.isoformat() == "2025-11-03"
    assert result.questions["Q5"]["Mica"].answer == "100%"
    assert result.questions["C"]["Cobalt"].answer == "Yes"
    assert result.company_questions["E"].answer == "Yes, in conformance with IPC1755 (e.g. EMRT)"
    assert result.program_strength == "strong"
    # the file's own Smelter Look-up fills the CID the formulas would
    assert [(s.metal, s.cid) for s in result.smelters] == [("Mica", "CID990005"), ("Cobalt", "CID990001"),
                                                            ("Nickel", "CID990006")]
    assert [(m.metal, m.mine_name, m.country) for m in result.mines][-1] == ("Mica", "Second Mica Mine", "INDIA")
    data_json = result.to_json_dict()
    assert data_json["minerals_selected"] == ["Cobalt", "Mica", "Nickel"] and len(data_json["mines"]) == 4


@pytest.mark.parametrize(("change", "code", "cell"), [
    (lambda b: b.company(contact_email="jane.doe(at)acme.example.com"), "missing_contact_email", "D20"),
    (lambda b: b.company(effective_date=None), "missing_effective_date", "D26"),
    (lambda b: b.answer("Q3", "Mica", None), "missing_answer", "D55"),  # Mica is the second mineral
    (lambda b: b.answer("C", "Cobalt", None), "missing_answer", "D120"),
    (lambda b: b.company_answer("B", "Yes"), "missing_policy_url", "G117"),
    (lambda b: b.minerals(), "missing_minerals", "D12"),
])
def test_filled_emrt_missing_a_required_field(change, code: str, cell: str) -> None:
    builder = valid_emrt_builder()
    if code == "missing_policy_url":
        builder._company_answers["B"] = ("Yes", None)
    else:
        change(builder)
    result = cmrt.check(builder.to_bytes(), expected_kind="EMRT")
    assert result.verdict == "invalid"
    assert (code, cell) in [(f.code, f.cell) for f in result.findings]
    assert result.checker_remaining == 1


def test_emrt_mineral_without_smelter_and_unknown_q2() -> None:
    b = valid_emrt_builder(minerals=("Cobalt", "Lithium"))
    b._smelters = [s for s in b._smelters if s["metal"] != "Lithium"]
    result = cmrt.check(b.to_bytes(), expected_kind="EMRT")
    assert [(f.code, f.params.get("metal")) for f in result.errors] == [("missing_emrt_smelters", "Lithium")]
    # Q2 "Unknown" takes Lithium out of scope: questions 3-7, C and its smelters are no longer asked
    result = cmrt.check(b.answer("Q2", "Lithium", "Unknown").answer("Q3", "Lithium", None).to_bytes(),
                        expected_kind="EMRT")
    assert result.verdict == "valid" and result.metals_in_scope == ["Cobalt"]


def test_emrt_answer_outside_the_template_list() -> None:
    result = cmrt.check(valid_emrt_builder().answer("Q5", "Cobalt", "about half").to_bytes(), expected_kind="EMRT")
    assert result.checker_remaining == 0
    assert [(f.code, f.cell) for f in result.errors] == [("answer_not_allowed", "D78")]


def test_kinds_the_survey_does_not_ask_for_are_refused() -> None:
    emrt_bytes = valid_emrt_builder().to_bytes()
    assert cmrt.check(emrt_bytes).codes() == ["wrong_template_kind"]  # a CMRT survey, as before
    refused = cmrt.check(valid_cmrt(), expected_kind="EMRT")
    assert refused.verdict == "invalid" and refused.codes() == ["not_emrt"]
    assert "CMRT" in refused.findings[0].message and "EMRT" in refused.findings[0].message


def test_cmrt_json_has_no_emrt_fields() -> None:
    assert not {"minerals_selected", "mines"} & set(cmrt.check(valid_cmrt()).to_json_dict())


def test_emrt_builder_writes_the_cell_map() -> None:
    wb = EMRTBuilder().minerals("Mica").company(company_name="X").build()
    decl = wb["Declaration"]
    assert decl["D8"].value == "X" and decl["E13"].value == "Mica" and decl["D12"].value == "(Delete Cobalt)"


def test_emrt_version_without_a_map_is_read_with_the_nearest_one() -> None:
    # 2.0 has a map of its own since cmrt/data/emrt-2.0.json (tests/test_cmrt_versions.py); 1.3 has none
    result = cmrt.check(valid_emrt_builder().cell("Declaration", "J3", "Revision 1.3").to_bytes(), expected_kind="EMRT")
    assert result.template.version == "1.3" and result.codes() == ["emrt_version_unmapped"]
    assert result.verdict == "valid" and "2.1" in result.findings[0].message

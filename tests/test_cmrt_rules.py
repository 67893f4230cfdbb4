"""Every rule of cmrt.rules / cmrt.check has a failing and a passing case, built with cmrt.builder."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Callable

import pytest

import cmrt
from cmrt.builder import (
    NOT_IDENTIFIED,
    NOT_LISTED,
    SCOPE_PRODUCT,
    SCOPE_USER,
    SAMPLE_SMELTERS,
    CMRTBuilder,
    LookupRow,
    valid_builder,
)
from cmrt.messages import CATALOGUE

TODAY = date(2025, 6, 1)
NOVA = LookupRow("Gold", "Nova Gold Refinery", "Nova Gold Refinery Ltd.", "CANADA", "CID009901")
Mutation = Callable[[CMRTBuilder], Any]


def run(b: CMRTBuilder, **kw: Any) -> cmrt.CheckResult:
    return cmrt.check(b.to_bytes(), filename="t.xlsx", today=TODAY, **kw)


def with_company(**fields: Any) -> Mutation:
    return lambda b: b.company(**fields)


def drop_field(name: str) -> Mutation:
    return lambda b: b._company.pop(name, None)


def answer(q: str, metal: str, value: Any) -> Mutation:
    return lambda b: b.answer(q, metal, value)


def company_answer(letter: str, value: Any, comment: Any = None) -> Mutation:
    return lambda b: b.company_answer(letter, value, comment)


def seq(*mutations: Mutation) -> Mutation:
    def apply(b: CMRTBuilder) -> None:
        for m in mutations:
            m(b)
    return apply


def replace_smelters(*rows: dict[str, Any]) -> Mutation:
    def apply(b: CMRTBuilder) -> None:
        b._smelters = [s for s in b._smelters if s["metal"] != rows[0].get("metal")] if rows and rows[0].get("metal") else b._smelters
        b.smelters(rows)
    return apply


def add_smelter(**row: Any) -> Mutation:
    return lambda b: b.smelter(**row)


def out_of_scope(metal: str) -> Mutation:
    return seq(answer("Q1", metal, "No"), answer("Q2", metal, None))


def without_metal_rows(metal: str) -> Mutation:
    def apply(b: CMRTBuilder) -> None:
        b._smelters = [s for s in b._smelters if s.get("metal") != metal]
    return apply


# (code, failing mutation, passing mutation, check() keyword arguments)
CASES: list[tuple[str, Mutation, Mutation, dict[str, Any]]] = [
    # --- the template's Checker ---
    ("missing_company_name", drop_field("name"), with_company(name="Acme"), {}),
    ("missing_scope", drop_field("scope"), with_company(scope="A. Company"), {}),
    ("missing_scope_description", with_company(scope=SCOPE_USER),
     with_company(scope=SCOPE_USER, scope_description="Connectors"), {}),
    ("missing_contact_name", drop_field("contact_name"), with_company(contact_name="Jo"), {}),
    ("missing_contact_email", with_company(contact_email="jane at acme"), with_company(contact_email="j@acme.com"), {}),
    ("missing_contact_phone", drop_field("contact_phone"), with_company(contact_phone="123"), {}),
    ("missing_authorizer", drop_field("authorizer"), with_company(authorizer="Jo"), {}),
    ("missing_authorizer_email", drop_field("authorizer_email"), with_company(authorizer_email="a@b.co"), {}),
    ("missing_effective_date", drop_field("effective_date"), with_company(effective_date=date(2025, 1, 2)), {}),
    ("missing_answer", answer("Q1", "Tin", None), answer("Q1", "Tin", "Yes"), {}),
    ("missing_answer_blocked", answer("Q1", "Gold", None), answer("Q1", "Gold", "Yes"), {}),
    ("missing_company_answer", company_answer("C", None), company_answer("C", "No"), {}),
    ("missing_policy_url", company_answer("B", "Yes", "x"), company_answer("B", "Yes", "https://acme.example/p"), {}),
    ("missing_products", with_company(scope=SCOPE_PRODUCT),
     seq(with_company(scope=SCOPE_PRODUCT), lambda b: b.product("P-1")), {}),
    ("missing_smelters", without_metal_rows("Gold"), seq(without_metal_rows("Gold"), out_of_scope("Gold")), {}),
    ("unlisted_smelter_incomplete", add_smelter(metal="Tin", lookup_name="smelter NOT listed", name="Foo Tin"),
     add_smelter(metal="Tin", lookup_name=NOT_LISTED, name="Foo Tin", country="BOLIVIA"), {}),
    # --- contradictions ---
    ("smelters_out_of_scope", out_of_scope("Gold"), seq(out_of_scope("Gold"), without_metal_rows("Gold")), {}),
    ("q7_yes_without_smelters", seq(without_metal_rows("Gold"), add_smelter(metal="Gold", lookup_name=NOT_IDENTIFIED)),
     seq(without_metal_rows("Gold"), add_smelter(metal="Gold", lookup_name=NOT_IDENTIFIED), answer("Q7", "Gold", "No"),
         answer("Q3", "Gold", "Unknown")), {}),
    ("q7_yes_not_identified", add_smelter(metal="Tin", lookup_name=NOT_IDENTIFIED),
     seq(add_smelter(metal="Tin", lookup_name=NOT_IDENTIFIED), answer("Q7", "Tin", "No"), answer("Q3", "Tin", "Unknown")), {}),
    ("q7_yes_partial_response", answer("Q6", "Tin", "Greater than 90%"),
     seq(answer("Q6", "Tin", "Greater than 90%"), answer("Q7", "Tin", "No"), answer("Q3", "Tin", "Unknown")), {}),
    ("q3_no_unsupported", answer("Q7", "Tungsten", "No"), seq(answer("Q7", "Tungsten", "No"), answer("Q3", "Tungsten", "Unknown")), {}),
    ("q3_yes_q4_no", answer("Q3", "Gold", "Yes"), seq(answer("Q3", "Gold", "Yes"), answer("Q4", "Gold", "Yes")), {}),
    ("q5_yes_not_recycled", seq(answer("Q5", "Tin", "Yes"), add_smelter(metal="Tin", lookup_name="Dowa", recycled_scrap="No")),
     seq(answer("Q5", "Tin", "Yes"), add_smelter(metal="Tin", lookup_name="Dowa", recycled_scrap="Yes", mine_name="recycled")), {}),
    ("q6_low_response", seq(answer("Q6", "Gold", "50% or less"), answer("Q7", "Gold", "No"), answer("Q3", "Gold", "Unknown")),
     seq(answer("Q6", "Gold", "Greater than 75%"), answer("Q7", "Gold", "No"), answer("Q3", "Gold", "Unknown")), {}),
    ("q8_no", answer("Q8", "Gold", "No"), answer("Q8", "Gold", "Yes"), {}),
    ("policy_public_without_policy", company_answer("A", "No"), company_answer("A", "Yes"), {}),
    ("policy_url_invalid", company_answer("B", "Yes", "on our website"),
     company_answer("B", "Yes", "www.acme.example/policy"), {}),
    ("other_format_without_comment", company_answer("E", "Yes, using other format (describe)"),
     company_answer("E", "Yes, using other format (describe)", "Our own questionnaire"), {}),
    ("email_malformed", with_company(contact_email="toru,nishio@acme.co.jp"), with_company(contact_email="toru.nishio@acme.co.jp"), {}),
    ("contact_placeholder", with_company(authorizer="Same"), with_company(authorizer="Sam E. Smith"), {}),
    ("contact_not_given", with_company(contact_phone="N/A"), with_company(contact_phone="+81 3 1234 5678"), {}),
    ("effective_date_invalid", with_company(effective_date="sometime in May"), with_company(effective_date="02-May-2024"), {}),
    ("effective_date_future", with_company(effective_date=date(2031, 1, 1)), with_company(effective_date=date(2025, 5, 1)), {}),
    ("effective_date_out_of_range", with_company(effective_date=date(2006, 12, 31)),
     with_company(effective_date=date(2007, 1, 1)), {}),
    ("effective_date_stale", with_company(effective_date=date(2023, 3, 1)), with_company(effective_date=date(2024, 3, 1)),
     {"campaign_year": 2024}),
    ("answer_not_allowed", answer("Q1", "Tin", "Maybe"), answer("Q1", "Tin", " yes "), {}),
    ("value_spacing", answer("Q1", "Gold", "Yes\t"), answer("Q1", "Gold", "yes"), {}),
    ("smelter_value_spacing", add_smelter(metal="Tin", lookup_name="Smelter not listed ", name="Foo", country="PERU"),
     add_smelter(metal="Tin", lookup_name="Smelter not listed", name="Foo", country="PERU"), {}),
    ("company_name_mismatch", with_company(name="Borealis Plating Co."), with_company(name="ACME COMPONENTS LIMITED"),
     {"expected_company": "Acme Components Ltd."}),
    # --- smelter rows ---
    ("smelter_metal_invalid", add_smelter(metal="Cobalt", lookup_name="Dowa"), add_smelter(metal="Tin", lookup_name="Dowa"), {}),
    ("smelter_metal_missing", add_smelter(lookup_name="Dowa"), add_smelter(metal="Tin", lookup_name="Dowa"), {}),
    ("smelter_lookup_missing", add_smelter(metal="Tin"), add_smelter(metal="Tin", lookup_name="Dowa"), {}),
    ("smelter_duplicate", add_smelter(metal="Tin", lookup_name="Dowa", mine_name="Mine 2"),
     add_smelter(metal="Tin", lookup_name="Luna Smelter, Ltd."), {}),
    ("smelter_not_identified", seq(add_smelter(metal="Tin", lookup_name=NOT_IDENTIFIED), answer("Q7", "Tin", "No"),
                                   answer("Q3", "Tin", "Unknown")), lambda b: None, {}),
    ("smelter_recycled_mine_conflict", add_smelter(metal="Tin", lookup_name="Dowa", recycled_scrap="Yes", mine_name="Bisie"),
     add_smelter(metal="Tin", lookup_name="Dowa", recycled_scrap="Yes", mine_name="Scrap"), {}),
    ("cid_malformed", add_smelter(metal="Tin", cid_input="CID12", lookup_name="Dowa"),
     add_smelter(metal="Tin", cid_input="CID000402", lookup_name="Dowa"), {}),
    ("cid_unknown", add_smelter(metal="Tin", cid_input="CID999123", lookup_name="Dowa"),
     add_smelter(metal="Tin", cid_input="CID000402", lookup_name="Dowa"), {}),
    ("cid_other_metal", add_smelter(metal="Gold", cid_input="CID000402", lookup_name="Advanced Chemical Company"),
     add_smelter(metal="Gold", cid_input="CID000015", lookup_name="Advanced Chemical Company"), {}),
    ("smelter_needs_review", add_smelter(metal="Tin", lookup_name=NOT_LISTED, name="Luna Smelting", country="RWANDA"),
     add_smelter(metal="Tin", lookup_name="Dowa"), {}),
    ("smelter_not_in_reference", add_smelter(metal="Tin", lookup_name=NOT_LISTED, name="Qwxz Zzyzx Foundry", country="PERU"),
     add_smelter(metal="Tin", lookup_name="Dowa"), {}),
    ("smelter_listed_elsewhere", add_smelter(metal="Tin", lookup_name=NOT_LISTED, name="Dowa", country="JAPAN"),
     add_smelter(metal="Tin", lookup_name="Dowa"), {}),
    ("smelter_high_risk", seq(add_smelter(metal="Gold", lookup_name="African Gold Refinery"), answer("Q3", "Gold", "Yes"),
                              answer("Q4", "Gold", "Yes")), add_smelter(metal="Tin", lookup_name="Luna Smelter, Ltd."), {}),
    ("smelter_not_conformant", add_smelter(metal="Gold", cid_input="CID000103", lookup_name=NOT_LISTED,
                                           name="Atasay Kuyumculuk Sanayi Ve Ticaret A.S.", country="TURKEY"),
     add_smelter(metal="Gold", lookup_name="Advanced Chemical Company"), {}),
    # a CID only the workbook's own Smelter Look-up knows has no RMAP status: unknown to us, not "not enrolled"
    ("smelter_status_unknown", seq(lambda b: b.lookup_rows([*SAMPLE_SMELTERS, NOVA]),
                                   add_smelter(metal="Gold", lookup_name="Nova Gold Refinery")),
     add_smelter(metal="Gold", lookup_name="Advanced Chemical Company"), {}),
    # --- template ---
    ("template_old_6x", lambda b: b.revision_text("Revision 6.4\nApril 26, 2024"), lambda b: None, {}),
    # J3 overwritten and no other revision cell (the Smelter List's Q3, the Revision sheet) names it
    ("template_version_unknown", lambda b: b.revision_text("my copy").cell("Smelter List", "Q3", None).drop_sheet("Revision"),
     lambda b: b.revision_text("my copy"), {}),
    # a newer minor version is read with the nearest map (said in a note); a newer major one is refused
    ("template_version_unmapped", lambda b: b.revision_text("Revision 6.7\nApril 2027"), lambda b: None, {}),
    ("template_version_unsupported", lambda b: b.revision_text("Revision 7.0\nApril 2027"), lambda b: None, {}),
    # CMRT 6.6: a 'Smelter not listed' row needs its name only (the country is a warning, no longer the Checker's)
    ("unlisted_smelter_unnamed", seq(lambda b: b.revision_text("Revision 6.6\nApril 2026"),
                                     add_smelter(metal="Tin", lookup_name=NOT_LISTED, country="PERU")),
     seq(lambda b: b.revision_text("Revision 6.6\nApril 2026"),
         add_smelter(metal="Tin", lookup_name=NOT_LISTED, name="Qwxz Zzyzx Foundry")), {}),
    ("unlisted_smelter_country_missing", seq(lambda b: b.revision_text("Revision 6.6\nApril 2026"),
                                             add_smelter(metal="Tin", lookup_name=NOT_LISTED, name="Qwxz Zzyzx Foundry")),
     seq(lambda b: b.revision_text("Revision 6.6\nApril 2026"),
         add_smelter(metal="Tin", lookup_name=NOT_LISTED, name="Qwxz Zzyzx Foundry", country="PERU")), {}),
    ("sheet_missing", lambda b: b.drop_sheet("Product List"), lambda b: b.drop_sheet("Revision"), {}),
    ("sheet_renamed", lambda b: b.rename_sheet("Declaration", "Decl (2)"), lambda b: b.rename_sheet("Declaration", " declaration"), {}),
]


@pytest.mark.parametrize(("code", "failing", "passing", "kw"), CASES, ids=[c[0] for c in CASES])
def test_rule_fails_and_passes(code: str, failing: Mutation, passing: Mutation, kw: dict[str, Any]) -> None:
    bad = valid_builder()
    failing(bad)
    result = run(bad, **kw)
    assert code in result.codes(), [f"{f.code}: {f.message}" for f in result.findings]
    hit = next(f for f in result.findings if f.code == code)
    assert hit.severity == CATALOGUE[code][0]
    assert hit.message and "{" not in hit.message, hit.message
    if hit.severity == "error":
        assert result.verdict == "invalid"

    good = valid_builder()
    passing(good)
    result = run(good, **kw)
    assert code not in result.codes(), [f"{f.code}: {f.message}" for f in result.findings]


def test_valid_declaration_has_no_findings() -> None:
    result = run(valid_builder())
    assert result.verdict == "valid"
    assert result.findings == []
    assert result.checker_remaining == 0
    assert result.program_strength == "strong"
    assert result.metals_in_scope == ["Tantalum", "Tin", "Gold", "Tungsten"]


def test_every_emitted_code_has_a_case() -> None:
    """Codes emitted by the checking code (not the file-level ones tested in test_cmrt_reader) are all above."""
    root = Path(cmrt.__file__).parent
    source = "".join((root / name).read_text() for name in ("rules.py", "__init__.py"))
    emitted = set(re.findall(r'finding\(\s*"([a-z0-9_]+)"', source))
    emitted |= {"cid_malformed", "cid_unknown", "cid_other_metal", "smelter_needs_review"}
    file_level = {"corrupt_workbook", "file_too_large", "xls_format", "wrong_template_kind", "template_outdated",
                  "internal_error", "too_many_rows",  # too_many_rows: tests/test_cmrt_hostile.py
                  "not_emrt", "emrt_version_unmapped",  # tests/test_cmrt_emrt.py
                  "emrt_old_version"}  # tests/test_cmrt_versions.py
    covered = {c[0] for c in CASES}
    assert emitted - covered - file_level == set()
    assert emitted <= set(CATALOGUE)


def test_checker_blank_declaration_counts_52() -> None:
    """A blank 6.5 form: 8 company fields + 4 Q1 + 4 Q2 + 24 Q3-Q8 + 8 company questions + 4 smelter lists."""
    result = run(CMRTBuilder())
    assert result.checker_remaining == 52
    assert len([f for f in result.findings if f.code.startswith("missing_")]) == 52


def test_checker_counts_with_excel_semantics() -> None:
    b = valid_builder()
    b.answer("Q1", "Tin", "No").answer("Q2", "Tin", None)  # Tin out of scope: Q2-Q8 and its smelter list not required
    b.company(contact_email=" @ ")  # the Checker only looks for "@"
    b.answer("Q1", "Gold", "yes")  # Excel compares text without case
    b.cell("Declaration", "D17", 0)  # a numeric 0 counts as blank in Excel
    b.cell("Declaration", "D15", "0")  # the text "0" does not
    result = run(b)
    missing = [f for f in result.findings if f.code.startswith("missing_")]
    assert [f.cell for f in missing] == ["D17"]
    assert result.checker_remaining == 1
    assert "Tin" not in result.metals_in_scope


def test_all_metals_out_of_scope_needs_no_company_answers() -> None:
    b = valid_builder(smelters=[])
    b.answers_all("No")
    b._company_answers.clear()
    result = run(b)
    assert result.checker_remaining == 0
    assert result.metals_in_scope == []
    assert result.verdict == "valid"
    assert result.program_strength == "weak"


def test_summary_and_program_strength() -> None:
    b = valid_builder(scope=SCOPE_PRODUCT, products=["P-1", "P-2"])
    b.company_answer("G", "No").answer("Q6", "Gold", "Greater than 90%").answer("Q7", "Gold", "No").answer("Q3", "Gold", "Unknown")
    b.smelter(metal="Gold", lookup_name="African Gold Refinery")
    result = run(b)
    assert result.program_strength == "weak"
    assert result.summary.scope_level == "product"
    assert result.summary.q6_level["Gold"] == "Greater than 90%"
    assert result.summary.q6_level["Tin"] == "100%"
    assert result.summary.high_risk_smelters == 1
    assert result.summary.products == 2
    assert [p.number for p in result.products] == ["P-1", "P-2"]


def test_a_smelter_without_a_known_status_is_not_called_not_enrolled() -> None:
    b = valid_builder().lookup_rows([*SAMPLE_SMELTERS, NOVA])
    b.smelter(metal="Gold", lookup_name="Nova Gold Refinery")
    result = run(b)
    unknown = [f for f in result.findings if f.code == "smelter_status_unknown"]
    assert [f.params["cid"] for f in unknown] == ["CID009901"]
    assert "unknown to us" in unknown[0].message and "Nothing to correct" in unknown[0].message
    assert all("not enrolled" not in f.message.casefold() for f in result.findings)
    assert result.verdict == "valid"


# The flags the RMI Checker does not enforce and that are no contradiction: a reviewer's look, not an
# invalid declaration (the severity audit in cmrt/messages.py).
NOT_ERRORS = ["q7_yes_partial_response", "q3_no_unsupported", "q3_yes_q4_no", "policy_url_invalid",
              "other_format_without_comment", "email_malformed", "contact_placeholder", "contact_not_given",
              "effective_date_invalid", "effective_date_out_of_range", "effective_date_future",
              "smelter_metal_invalid", "smelter_metal_missing", "cid_malformed", "template_old_6x",
              "company_name_mismatch"]
# The contradictions that stay errors.
CONTRADICTIONS = ["smelters_out_of_scope", "q7_yes_without_smelters", "q7_yes_not_identified", "q5_yes_not_recycled",
                  "policy_public_without_policy", "cid_other_metal", "answer_not_allowed"]


@pytest.mark.parametrize("code", NOT_ERRORS)
def test_a_flag_the_checker_does_not_enforce_leaves_the_declaration_valid(code: str) -> None:
    failing, kw = next((c[1], c[3]) for c in CASES if c[0] == code)
    b = valid_builder()
    failing(b)
    result = run(b, **kw)
    hit = next(f for f in result.findings if f.code == code)
    assert hit.severity == "warning"
    assert result.verdict == "valid", [f"{f.code}: {f.message}" for f in result.errors]


@pytest.mark.parametrize("code", CONTRADICTIONS)
def test_a_contradiction_makes_the_declaration_invalid(code: str) -> None:
    failing = next(c[1] for c in CASES if c[0] == code)
    b = valid_builder()
    failing(b)
    result = run(b)
    assert code in [f.code for f in result.errors]
    assert result.verdict == "invalid"


def test_a_policy_named_instead_of_linked_is_a_warning_asking_for_the_link() -> None:
    b = valid_builder().company_answer("B", "Yes", "Acme Responsible Minerals Policy, rev. 3")
    result = run(b)
    [hit] = [f for f in result.findings if f.code == "policy_url_invalid"]
    assert (hit.severity, hit.cell) == ("warning", "G77")
    assert "link" in hit.message and "Acme Responsible Minerals Policy, rev. 3" in hit.message
    assert result.verdict == "valid" and result.checker_remaining == 0


@pytest.mark.parametrize("value", ["N/A", "n/a", "-", "Same", "same as above", "TBD"])
@pytest.mark.parametrize("field", ["authorizer_phone", "authorizer_title"])
def test_optional_fields_may_say_n_a(field: str, value: str) -> None:
    """The authorizer's title and phone are not required by the Checker (6.4 and 6.5 alike)."""
    for version in ("6.4", "6.5"):
        result = run(valid_builder(version=version).company(**{field: value}))
        assert [f.code for f in result.findings if f.cell in ("D19", "D21")] == []
        assert result.verdict == "valid"


def test_a_placeholder_in_a_required_field_says_what_it_is() -> None:
    result = run(valid_builder().company(contact_name="see above", contact_phone="n/a"))
    by_cell = {f.cell: f for f in result.findings}
    assert by_cell["D15"].code == "contact_placeholder" and "reference to another field" in by_cell["D15"].message
    assert by_cell["D17"].code == "contact_not_given" and "reference" not in by_cell["D17"].message
    assert "required" in by_cell["D17"].message
    assert result.verdict == "valid" and result.checker_remaining == 0


def test_answers_the_checker_does_not_need_are_not_judged() -> None:
    """Tin out of scope: its Q3-Q8 are not required, so an odd answer there is no error."""
    b = valid_builder().answer("Q1", "Tin", "No").answer("Q2", "Tin", None).answer("Q3", "Tin", "n/a")
    b._smelters = [s for s in b._smelters if s["metal"] != "Tin"]
    result = run(b)
    assert "answer_not_allowed" not in result.codes() and result.verdict == "valid"
    b.answer("Q1", "Tin", "Yes").answer("Q2", "Tin", "Yes")  # in scope again: the same answer is no answer
    assert "answer_not_allowed" in run(b).codes()


def test_an_older_6x_template_does_not_claim_acceptance() -> None:
    result = run(valid_builder(version="6.4").company(contact_email=None))
    old = next(f for f in result.findings if f.code == "template_old_6x")
    assert "accept" not in old.message.casefold() and "6.4" in old.message
    assert result.verdict == "invalid"


SAME_COMPANY = [
    ("Acme Components Ltd.", "ACME COMPONENTS LIMITED"),
    ("Aurora Connectors GmbH", "aurora connectors inc."),
    ("Murata Manufacturing Co., Ltd.", "MURATA MANUFACTURING CO LTD"),
    ("Robert Bosch GmbH", "Bosch"),
    ("Société Générale de Composants S.A.", "Societe Generale de Composants SA"),
    ("Vishay Dale, a business of Vishay Intertechnology, Inc.", "Vishay Intertechnology Inc"),
    ("Kemet Electronics Corp., a YAGEO company", "KEMET Electronics Corporation"),
    ("Hon Hai Precision Industry Co., Ltd. (Foxconn)", "Foxconn"),
    ("Lumileds, formerly Philips Lumileds Lighting", "Philips Lumileds Lighting Company"),
    ("Kemet Electronic Corp", "KEMET Electronics Corporation"),  # a typo
    ("HP Inc.", "Hewlett Packard"),
]
OTHER_COMPANY = [
    ("Borealis Plating Co.", "Acme Components Ltd."),
    ("TDK Corporation", "Murata Manufacturing Co., Ltd."),
    ("Dowa Metals & Mining Co., Ltd.", "Acme Components Ltd."),  # a smelter's CMRT forwarded as the supplier's
    ("Apex Components Ltd.", "Acme Components Ltd."),
]


@pytest.mark.parametrize(("declared", "known"), SAME_COMPANY)
def test_the_same_company_under_another_legal_form_or_decoration_is_no_mismatch(declared: str, known: str) -> None:
    result = run(valid_builder(declared), expected_company=known)
    assert "company_name_mismatch" not in result.codes()


@pytest.mark.parametrize(("declared", "known"), OTHER_COMPANY)
def test_another_companys_declaration_is_a_warning_naming_both(declared: str, known: str) -> None:
    result = run(valid_builder(declared), expected_company=known)
    [hit] = [f for f in result.findings if f.code == "company_name_mismatch"]
    assert (hit.severity, hit.cell) == ("warning", "D8")
    assert declared in hit.message and known in hit.message
    assert result.verdict == "valid"


def test_no_company_name_check_without_an_expected_name_or_a_declared_one() -> None:
    assert "company_name_mismatch" not in run(valid_builder("Borealis Plating Co.")).codes()
    blank = run(valid_builder().company(name=None), expected_company="Acme Components Ltd.")
    assert "company_name_mismatch" not in blank.codes() and "missing_company_name" in blank.codes()

"""The company's own declaration roll-up (models.facts.own_declaration): its rules as properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.facts.own_declaration import (
    METALS,
    Q6_BANDS,
    Facility,
    SupplierDeclaration,
    company_problems,
    q6_band,
    roll_up,
)

YNU = st.sampled_from(["Yes", "No", "Unknown"])
FACILITIES = st.lists(st.builds(Facility, st.sampled_from(METALS), st.sampled_from(["Alpha", "Beta", "beta ", "Gamma"]),
                                st.sampled_from([None, "PERU", "CHINA"]),
                                st.sampled_from([None, "CID000001", "CID000002", "CID000003"])), max_size=6)


@st.composite
def suppliers(draw, responded=st.booleans()):
    if not draw(responded):
        return SupplierDeclaration(draw(st.text(min_size=1, max_size=4)), responded=False)
    answers = {"Q1": {m: draw(st.sampled_from(["Yes", "No"])) for m in METALS},
               "Q2": {m: draw(st.sampled_from(["Yes", "No"])) for m in METALS}}
    for q in ("Q3", "Q4", "Q5"):
        answers[q] = {m: draw(YNU) for m in METALS}
    for q in ("Q7", "Q8"):
        answers[q] = {m: draw(st.sampled_from(["Yes", "No"])) for m in METALS}
    return SupplierDeclaration(draw(st.text(min_size=1, max_size=4)), True, answers, tuple(draw(FACILITIES)))


CAMPAIGNS = st.lists(suppliers(), max_size=6)


@settings(deadline=None)  # a shared machine: no time limits in tests
@given(CAMPAIGNS)
def test_q1_yes_iff_some_responding_supplier_says_yes(campaign):
    r = roll_up(campaign)
    for m in METALS:
        assert (r.answers["Q1"][m] == "Yes") == any(s.responded and s.answer("Q1", m) == "Yes" for s in campaign)


@settings(deadline=None)  # a shared machine: no time limits in tests
@given(CAMPAIGNS, suppliers(responded=st.just(True)))
def test_a_supplier_answering_unknown_never_turns_a_no_into_yes(campaign, extra):
    before = roll_up(campaign)
    answers = {k: dict(v) for k, v in extra.answers.items()}
    for q in ("Q3", "Q4", "Q5"):
        answers[q] = {m: "Unknown" for m in METALS}
    after = roll_up([*campaign, SupplierDeclaration("new", True, answers, ())])
    for q in ("Q3", "Q4", "Q5"):
        for m in METALS:
            if before.answers[q].get(m) == "No":
                assert after.answers[q].get(m) in ("No", "Unknown")
            if before.answers[q].get(m) == "Unknown":
                assert after.answers[q][m] == "Unknown"


@settings(deadline=None)  # a shared machine: no time limits in tests
@given(CAMPAIGNS)
def test_every_counted_smelter_appears_once_and_only_for_metals_in_scope(campaign):
    r = roll_up(campaign)
    keys = [f.key for f in r.facilities + r.without_country]
    assert len(keys) == len(set(keys))
    in_scope = set(r.metals_in_scope)
    assert all(f.metal in in_scope for f in r.facilities + r.without_country)
    assert all(f.cid or f.country for f in r.facilities)
    expected = {f.key for s in campaign if s.responded for f in s.facilities if f.metal in in_scope and s.in_scope(f.metal)}
    assert set(keys) == expected


@settings(deadline=None)  # a shared machine: no time limits in tests
@given(CAMPAIGNS)
def test_questions_3_to_8_only_for_metals_in_scope_and_no_unsupported_no(campaign):
    r = roll_up(campaign)
    for m in METALS:
        asked = {q for q in ("Q3", "Q4", "Q5", "Q6", "Q7", "Q8") if m in r.answers[q]}
        assert asked == (set() if m not in r.metals_in_scope else {"Q3", "Q4", "Q5", "Q6", "Q7", "Q8"})
        if m not in r.metals_in_scope:
            continue
        full = r.answers["Q6"][m] == "100%"
        if r.answers["Q7"][m] == "Yes" or r.answers["Q8"][m] == "Yes" or r.answers["Q5"][m] == "Yes":
            assert full  # "all identified / all reported / 100% recycled" need every supplier's answer
        if r.answers["Q3"][m] == "No":  # what reviewers flag: a No the responses cannot support
            assert full and r.answers["Q7"][m] == "Yes"
        if r.answers["Q3"][m] == "Yes":
            assert r.answers["Q4"][m] == "Yes"


@settings(deadline=None)  # a shared machine: no time limits in tests
@given(st.integers(0, 500), st.integers(0, 500))
def test_q6_band_is_a_template_choice_and_100_only_when_all_responded(a, b):
    responded, surveyed = min(a, b), max(a, b)
    band = q6_band(responded, surveyed)
    assert band in Q6_BANDS
    assert (band == "100%") == (surveyed > 0 and responded == surveyed)
    assert (band == "None") == (responded == 0)


def test_a_silent_supplier_makes_the_company_answers_conservative():
    clean = {"Q1": {m: "Yes" for m in METALS}, "Q2": {m: "Yes" for m in METALS}, "Q3": {m: "No" for m in METALS},
             "Q4": {m: "No" for m in METALS}, "Q5": {m: "No" for m in METALS}, "Q7": {m: "Yes" for m in METALS},
             "Q8": {m: "Yes" for m in METALS}}
    one = SupplierDeclaration("S1", True, clean, (Facility("Tin", "Dowa", "JAPAN", "CID000402"),))
    alone = roll_up([one])
    assert alone.answers["Q3"]["Tin"] == "No" and alone.answers["Q7"]["Tin"] == "Yes" and alone.answers["Q6"]["Tin"] == "100%"
    with_silent = roll_up([one, SupplierDeclaration("S2", False)])
    assert with_silent.answers["Q6"]["Tin"] == "50% or less"
    assert (with_silent.answers["Q3"]["Tin"], with_silent.answers["Q7"]["Tin"], with_silent.answers["Q8"]["Tin"]) == ("Unknown", "No", "No")


def test_company_answers_missing_are_named():
    problems = company_problems({"name": "Acme", "contact_email": "nope"}, needs_questions=True)
    text = "\n".join(problems)
    assert "'contact_name' is not set" in text and "'contact_email' is not an e-mail address" in text
    assert "company question 'A' is not set" in text and "'effective_date' is not set" in text
    assert company_problems({"name": "Acme"}, needs_questions=False) != []

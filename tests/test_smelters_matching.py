"""Smelter matching: accuracy on generated variants of the default list, and every rule on its own.

Precision means: no accepted match (a CID given) names the wrong smelter. A wrong CID is worse than
none, so every precision figure must be exactly 1.0; recall is what share of variants got their CID.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from cmrt.reference import (
    FUZZY_REVIEW,
    ReferenceList,
    ReferenceSmelter,
    default_reference,
    lookup_rows_from_workbook,
    normalise_cid,
    normalise_name,
)
from cmrt.risk import COVERED_COUNTRIES, canonical_status, country_key, smelter_risk

TEMPLATE_65 = Path(__file__).resolve().parents[2] / "shared" / "cmrt" / "templates" / "RMI_CMRT_6.5.xlsx"

# Real smelters that are not on the shipped 2020 list; several look like ones that are
# (SAM vs Samduck Precious Metals, Lianyou Resources vs Lianyou Metals, MSC Port Klang vs MSC).
NOT_ON_DEFAULT_LIST = [
    ("Gold", "SAM Precious Metals FZ-LLC"),
    ("Gold", "Sam Precious Metals"),
    ("Gold", "ABC Refinery Pty Ltd."),
    ("Gold", "Gasabo Gold Refinery Ltd"),
    ("Gold", "GG Refinery Ltd."),
    ("Gold", "Shenzhen CuiLu Gold Co., Ltd."),
    ("Gold", "Impala Platinum - Platinum Metals Refinery (PMR)"),
    ("Gold", "NOBLE METAL SERVICES"),
    ("Tantalum", "PowerX Ltd."),
    ("Tantalum", "Jiangxi Suns Nonferrous Materials Co. Ltd."),
    ("Tin", "Malaysia Smelting Corporation Berhad (Port Klang)"),
    ("Tin", "Global Advanced Metals Greenbushes Pty Ltd."),
    ("Tin", "PT Bangka Prima Tin"),
    ("Tin", "PT Premium Tin Indonesia"),
    ("Tin", "Woodcross Smelting Company Limited"),
    ("Tin", "Dongguan Best Alloys Co., Ltd."),
    ("Tungsten", "Lianyou Resources Co., Ltd."),
    ("Tungsten", "Fujian Xinlu Tungsten Co., Ltd."),
    ("Tungsten", "Tungsten Vietnam Joint Stock Company"),
    ("Tungsten", "YUDU ANSHENG TUNGSTEN CO., LTD."),
    ("Tungsten", "DONGKUK INDUSTRIES CO., LTD."),
]


@pytest.fixture(scope="module")
def ref() -> ReferenceList:
    return default_reference()


def score(ref: ReferenceList, cases, *, use_country: bool = False) -> dict:
    """cases: (metal, name, country, true CID or None). Returns counts, precision and recall."""
    correct = wrong = review = unmatched = 0
    wrongs = []
    for metal, name, country, true_cid in cases:
        m = ref.match(metal=metal, lookup_name=name, country=country if use_country else None)
        if m.cid is None:
            assert m.match in ("unmatched", "fuzzy", "name")
            if "needs_review" in m.problems:
                review += 1
            else:
                unmatched += 1
        elif m.cid == true_cid:
            correct += 1
        else:
            wrong += 1
            wrongs.append((metal, name, true_cid, m.cid, m.standard_name, m.score))
    n = len(cases)
    return {
        "n": n, "correct": correct, "wrong": wrong, "review": review, "unmatched": unmatched,
        "precision": correct / (correct + wrong) if correct + wrong else 1.0,
        "recall": correct / n if n else 0.0, "wrongs": wrongs,
    }


# --- variant generators (seeded: the figures are reproducible) -----------------------------------

_SUFFIX_SWAPS = [
    (r"Co\., Ltd\.?$", ["Company Limited", "Co Ltd", "CO.,LTD.", "Co., Limited", ""]),
    (r"Inc\.?$", ["Incorporated", "INC", ""]),
    (r"Corporation$", ["Corp.", "Corp", ""]),
    (r"Corp\.$", ["Corporation", ""]),
    (r"Limited$", ["Ltd.", "Ltd", ""]),
    (r"Ltd\.?$", ["Limited", ""]),
    (r"S\.A\.$", ["SA", "S. A.", ""]),
    (r"GmbH$", ["Gmbh", "G.m.b.H.", ""]),
]


def legal_variant(name: str, rnd: random.Random) -> str:
    """Same company, written differently: suffix spelling, case, punctuation, blanks, accents."""
    out = name
    for pattern, replacements in _SUFFIX_SWAPS:
        if re.search(pattern, out):
            out = re.sub(pattern, rnd.choice(replacements), out).rstrip(" ,")
            break
    style = rnd.randrange(6)
    if style == 0:
        out = out.upper()
    elif style == 1:
        out = out.lower()
    elif style == 2:
        out = out.replace(",", "").replace(".", "")
    elif style == 3:
        out = f"  {out}\t"
    elif style == 4:
        out = out.replace("a", "á", 1).replace("e", "é", 1)
    else:
        out = out.replace(" and ", " & ") if " and " in out else out.replace(" & ", " and ")
    return out


def typo(name: str, rnd: random.Random, edits: int) -> str:
    chars = list(name)
    for _ in range(edits):
        i = rnd.randrange(len(chars))
        op = rnd.choice("sdit")
        letter = rnd.choice("abcdefghijklmnopqrstuvwxyz")
        if op == "s":
            chars[i] = letter
        elif op == "d" and len(chars) > 4:
            del chars[i]
        elif op == "i":
            chars.insert(i, letter)
        elif op == "t" and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


# --- accuracy ----------------------------------------------------------------------------------


def test_default_list_is_the_333_juniper_smelters(ref):
    smelters = ref.smelters()
    assert len(ref) == len(smelters) == 333
    by_metal = {m: sum(s.metal == m for s in smelters) for m in ("Gold", "Tantalum", "Tin", "Tungsten")}
    assert by_metal == {"Gold": 172, "Tantalum": 37, "Tin": 78, "Tungsten": 46}
    assert {s.rmap_status for s in smelters} == {"Conformant", "Active", "Not Enrolled"}
    assert all(normalise_cid(s.cid) == (s.cid, True) for s in smelters)


def test_exact_standard_names_all_match(ref):
    result = score(ref, [(s.metal, s.standard_name, None, s.cid) for s in ref.smelters()])
    # H.C. Starck Co., Ltd. / Inc. / Ltd. share a name but not a legal form: still exact.
    assert result["wrong"] == 0
    assert result["correct"] == 333


def test_legal_suffix_case_punctuation_variants(ref):
    rnd = random.Random(7)
    cases = [(s.metal, legal_variant(s.standard_name, rnd), s.country, s.cid) for s in ref.smelters()]
    result = score(ref, cases)
    assert result["wrongs"] == []
    assert result["precision"] == 1.0
    # Dropping the suffix of "H.C. Starck Inc." makes it any of three H.C. Starck smelters: review.
    assert result["recall"] >= 0.97, result


def test_one_typo(ref):
    rnd = random.Random(11)
    result = score(ref, [(s.metal, typo(s.standard_name, rnd, 1), None, s.cid) for s in ref.smelters()])
    assert result["wrongs"] == []
    assert result["recall"] >= 0.85, result
    assert result["correct"] + result["review"] >= 0.98 * result["n"]  # the rest waits for a person


def test_two_typos(ref):
    rnd = random.Random(13)
    result = score(ref, [(s.metal, typo(s.standard_name, rnd, 2), None, s.cid) for s in ref.smelters()])
    assert result["wrongs"] == []
    assert result["recall"] >= 0.55, result


def test_smelters_not_on_the_list_never_get_a_cid(ref):
    rnd = random.Random(17)
    cases = [(metal, name, None, None) for metal, name in NOT_ON_DEFAULT_LIST]
    cases += [(metal, typo(name, rnd, 1), None, None) for metal, name in NOT_ON_DEFAULT_LIST]
    result = score(ref, cases)
    assert result["wrong"] == 0, result["wrongs"]
    assert result["correct"] == 0


@pytest.fixture(scope="module")
def lookup_65() -> list[dict]:
    if not TEMPLATE_65.exists():
        pytest.skip(f"RMI template not available at {TEMPLATE_65} (tests read it from ../shared)")
    return lookup_rows_from_workbook(TEMPLATE_65)


def test_template_aliases_against_the_default_list_are_never_wrong(ref, lookup_65):
    """Old and trade names (AKITA Seiren -> Dowa) cannot be guessed without the alias table; what
    the matcher accepts must still be right."""
    known = {s.cid for s in ref.smelters()}
    cases = [(r["metal"], r["lookup_name"], r["country"], r["cid"]) for r in lookup_65
             if r["cid"] in known and r["lookup_name"] != r["standard_name"]]
    assert len(cases) > 200
    assert score(ref, cases, use_country=True)["wrong"] == 0
    others = [(r["metal"], r["lookup_name"], None, None) for r in lookup_65 if r["cid"] and r["cid"] not in known]
    assert score(ref, others)["wrong"] == 0


def test_with_the_template_alias_table_every_alias_matches(lookup_65):
    merged = default_reference().merged(ReferenceList.from_lookup_rows(lookup_65))
    cases = [(r["metal"], r["lookup_name"], None, r["cid"]) for r in lookup_65 if r["cid"]]
    result = score(merged, cases)
    assert result["wrong"] == 0 and result["correct"] == len(cases)
    m = merged.match(metal="Gold", lookup_name="AKITA Seiren")
    assert (m.match, m.standard_name, m.rmap_status) == ("alias", "Dowa", "Conformant")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_leave_half_out_on_the_template(lookup_65, seed):
    """Build a list from half the template's smelters: the other half (exact and with a typo) must
    never get a CID, the kept half with a typo mostly should."""
    rnd = random.Random(seed)
    cids = sorted({r["cid"] for r in lookup_65 if r["cid"]})
    kept = set(rnd.sample(cids, len(cids) // 2))
    ref = ReferenceList.from_lookup_rows([r for r in lookup_65 if r["cid"] in kept])
    kept_names = {(r["metal"], normalise_name(r["lookup_name"])) for r in lookup_65 if r["cid"] in kept}
    # A name that the kept half also carries (Johnson Matthey Inc. is an alias of two CIDs) is no test.
    left_out = [r for r in lookup_65 if r["cid"] and r["cid"] not in kept
                and (r["metal"], normalise_name(r["lookup_name"])) not in kept_names]
    negatives = [(r["metal"], r["lookup_name"], None, None) for r in left_out]
    negatives += [(r["metal"], typo(r["lookup_name"], rnd, 1), None, None) for r in left_out]
    assert score(ref, negatives)["wrong"] == 0
    positives = score(ref, [(r["metal"], typo(r["lookup_name"], rnd, 1), None, r["cid"])
                            for r in lookup_65 if r["cid"] in kept])
    assert positives["wrongs"] == []
    assert positives["recall"] >= 0.8, positives


# --- the rules one by one ----------------------------------------------------------------------


def test_cid_match_forgives_case_and_blanks(ref):
    m = ref.match(metal="gold", cid=" cid000015\t")
    assert (m.cid, m.match, m.score, m.problems) == ("CID000015", "cid", 100.0, [])
    assert (m.standard_name, m.rmap_status, m.risk) == ("Advanced Chemical Company", "Conformant", "low")


def test_cid_wins_over_the_name(ref):
    m = ref.match(metal="Gold", cid="CID000015", lookup_name="Aida Chemical Industries Co., Ltd.")
    assert m.cid == "CID000015" and m.match == "cid"


def test_cid_of_another_metal_is_flagged_and_the_name_decides(ref):
    m = ref.match(metal="Tin", cid="CID000015")
    assert m.problems == ["cid_other_metal"] and m.declared_cid_metal == "Gold"
    assert m.cid is None and m.match == "unmatched" and m.risk == "unknown"
    tin = next(s for s in ref.smelters() if s.metal == "Tin")
    m = ref.match(metal="Tin", cid="CID000015", lookup_name=tin.standard_name)
    assert (m.cid, m.match, m.problems) == (tin.cid, "alias", ["cid_other_metal"])


def test_unknown_cid_is_flagged(ref):
    m = ref.match(metal="Gold", cid="CID999999")
    assert (m.cid, m.match, m.problems, m.declared_cid) == (None, "unmatched", ["cid_unknown"], "CID999999")
    m = ref.match(metal="Gold", cid="CID999999", name="Advanced Chemical Company")
    assert m.cid == "CID000015" and m.problems == ["cid_unknown"]


@pytest.mark.parametrize("bad", ["CID15", "CID0000150", "C1D000015", "000015", "CID-000015", "see list"])
def test_malformed_cid_is_flagged(ref, bad):
    m = ref.match(metal="Gold", cid=bad, lookup_name="Advanced Chemical Company")
    assert "cid_malformed" in m.problems
    assert m.cid == "CID000015"  # the name still finds it


def test_legacy_cid_format_is_well_formed():
    assert normalise_cid("1jpn072") == ("1JPN072", True)
    assert normalise_cid(0) == (None, True)  # a formula's cached 0: no CID
    legacy = ReferenceList([ReferenceSmelter(cid="1JPN072", metal="Gold", standard_name="Old Refinery",
                                             country="JAPAN", rmap_status="Conformant")])
    assert legacy.match(metal="Gold", cid="1JPN072").match == "cid"
    assert legacy.match(metal="Gold", cid="1JPN073").problems == ["cid_unknown"]


def test_review_band_gives_no_cid(ref):
    m = ref.match(metal="Gold", lookup_name="Sam Precious Metals")  # close to Samduck Precious Metals
    assert m.cid is None and m.problems == ["needs_review"] and m.match == "fuzzy"
    assert m.standard_name == "Samduck Precious Metals"  # a suggestion for the reviewer
    assert FUZZY_REVIEW <= m.score and m.risk == "unknown" and m.rmap_status is None
    # Same name, several smelters: review, not a guess.
    m = ref.match(metal="Tantalum", lookup_name="H.C. Starck")
    assert m.cid is None and "needs_review" in m.problems


def test_far_names_are_unmatched(ref):
    m = ref.match(metal="Tin", lookup_name="Totally Unheard Of Smelting Works")
    assert (m.cid, m.match, m.standard_name, m.problems) == (None, "unmatched", None, [])


def test_country_breaks_a_tie_and_blocks_a_contradiction(ref):
    for cid, country in (("CID002544", "THAILAND"), ("CID002549", "JAPAN"), ("CID002548", "USA")):
        m = ref.match(metal="Tantalum", lookup_name="H.C. Starck", country=country)
        assert m.cid == cid, (country, m)
    # An exact dropdown value is what the supplier chose; a typed variant in another country is not sure.
    m = ref.match(metal="Gold", lookup_name="Advanced Chemical Co", country="CHINA")
    assert m.cid is None and "needs_review" in m.problems
    m = ref.match(metal="Gold", lookup_name="Advanced Chemical Co", country="United States")
    assert m.cid == "CID000015"


def test_metal_limits_the_search(ref):
    assert ref.match(metal="Tin", lookup_name="Advanced Chemical Company").cid is None
    assert ref.match(metal=None, lookup_name="Advanced Chemical Company").cid == "CID000015"
    assert ref.match(metal="Au", lookup_name="Advanced Chemical Company").cid == "CID000015"


@pytest.mark.parametrize("lookup", ["Smelter not listed", "smelter NOT listed\t", "Smelter not yet identified"])
def test_not_listed_rows(ref, lookup):
    m = ref.match(metal="Gold", lookup_name=lookup)
    assert m.problems == ["not_listed"] and m.cid is None and m.match == "unmatched"
    # A typed name on a "not listed" row is still matched, and still flagged.
    m = ref.match(metal="Gold", lookup_name=lookup, name="Advanced Chemical Co.")
    assert m.cid == "CID000015" and m.problems == ["not_listed"]


def test_normalise_name():
    assert normalise_name("  Aida Chemical Industries Co.,\tLtd. ") == "aida chemical industries"
    assert normalise_name("AngloGold Ashanti Córrego do Sítio Mineração") == "anglogold ashanti corrego do sitio mineracao"
    assert normalise_name("PAMP S.A.") == normalise_name("Pamp SA") == "pamp"
    assert normalise_name("Heimerle + Meule GmbH") == "heimerle meule"
    assert normalise_name("F&X Electro-Materials Ltd.") == "f x electro materials"
    assert normalise_name("Company") == "company"  # never empty


# --- risk ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status,country,risk", [
    ("Conformant", "CONGO, DEMOCRATIC REPUBLIC OF THE", "low"),
    ("Conformant (Re-assessment in progress)", "JAPAN", "low"),
    ("Active", "RWANDA", "medium"),
    ("Not enrolled", "JAPAN", "medium"),
    ("Not Enrolled", "RWANDA", "high"),
    ("Not Enrolled", "DRC", "high"),
    (None, "Tanzania", "high"),
    (None, None, "medium"),
    ("Non-Conformant", "JAPAN", "high"),
    ("In Communication", "UGANDA", "high"),
    ("In Communication", "CHINA", "medium"),
])
def test_risk_rule(status, country, risk):
    assert smelter_risk(status, country) == risk


def test_covered_countries_constant():
    assert len(COVERED_COUNTRIES) == 10
    assert country_key("Democratic Republic of the Congo") in COVERED_COUNTRIES
    assert country_key("Republic of the Congo") == "CONGO"
    assert country_key("Sudan") not in COVERED_COUNTRIES and country_key("South Sudan") in COVERED_COUNTRIES
    assert canonical_status("not enrolled") == "Not Enrolled" and canonical_status("") is None


def test_matched_smelter_in_covered_country_not_enrolled_is_high(ref):
    not_enrolled = [s for s in ref.smelters() if s.rmap_status == "Not Enrolled"]
    assert not_enrolled
    for s in not_enrolled:
        m = ref.match(metal=s.metal, cid=s.cid)
        assert m.risk == ("high" if country_key(s.country) in COVERED_COUNTRIES else "medium")
    assert all(ref.match(metal=s.metal, cid=s.cid).risk == "low"
               for s in ref.smelters() if s.rmap_status == "Conformant")


def test_accented_and_plain_names_agree(ref):
    s = next(s for s in ref.smelters() if "Mineracao" in s.standard_name)
    m = ref.match(metal=s.metal, lookup_name=s.standard_name.replace("Mineracao", "Mineração"))
    assert (m.cid, m.match) == (s.cid, "name")


def test_fuzzy_can_be_left_out(ref):
    """match(fuzzy=False) stops after the exact steps: for callers that would discard a fuzzy answer."""
    rnd = random.Random(11)
    typos = [(s.metal, typo(s.standard_name, rnd, 1)) for s in ref.smelters()]
    kinds = {ref.match(metal=m, lookup_name=n).match for m, n in typos}
    exact_only = {ref.match(metal=m, lookup_name=n, fuzzy=False).match for m, n in typos}
    assert "fuzzy" in kinds and "fuzzy" not in exact_only
    s = ref.smelters()[0]
    assert ref.match(metal=s.metal, lookup_name=s.standard_name, fuzzy=False).cid == s.cid


def test_with_lookup_rows_merges_once_per_look_up_content(ref):
    rows = [{"metal": "Gold", "lookup_name": "Nova Refinery (old name)", "standard_name": "Nova Refinery",
             "country": "GHANA", "cid": "CID009902"}]
    merged = ref.with_lookup_rows(rows)
    assert merged is not ref and merged is ref.with_lookup_rows([dict(r) for r in rows])
    assert merged.match(metal="Gold", lookup_name="Nova Refinery (old name)").cid == "CID009902"
    assert ref.match(metal="Gold", lookup_name="Nova Refinery (old name)").cid is None  # ref unchanged
    assert merged.with_lookup_rows(rows) is merged  # a list that already holds the rows is kept as it is
    assert ref.with_lookup_rows([{"metal": "Gold", "lookup_name": "Smelter not listed"}]) is ref


def test_normalisers_take_any_cell_value():
    """The normalisers are memoised for text; numbers, None and other cell values still work."""
    assert normalise_cid(" cid000015 ") == ("CID000015", True) == normalise_cid("CID000015")
    assert normalise_cid(0) == (None, True) and normalise_cid(None) == (None, True)
    assert normalise_cid(15.0)[1] is False
    assert country_key(None) == "" and country_key(" drc ") == country_key("DRC")

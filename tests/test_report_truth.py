"""The report never contradicts its own figures: properties over random suppliers, through the one definition
(models.facts.figures) and every face that says the figures (the draft, the page, the workbook)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from models.facts import figures as facts
from models.facts.figures import SupplierRecord, compute_figures, percent, share_kind, share_words
from outreach.reports.render import render_due_diligence_draft, render_rcoi_html
from outreach.reports.smelters import supplier_smelters
from outreach.reports.workbook import rcoi_workbook

VERDICTS = st.sampled_from(["valid", "invalid", "unreadable"])
STATUSES = ["Conformant", "Active", "Not Enrolled"]
METALS = ["Gold", "Tantalum", "Tin", "Tungsten"]


@st.composite
def shapes(draw, index: int) -> tuple[dict, int]:
    """One kind of supplier (its verdicts, its declaration) and how many suppliers share it: a big
    denominator with a small part makes the "fewer than 1%" and "more than 99%" cases."""
    verdicts = draw(st.lists(VERDICTS, max_size=3))
    result = None
    if any(v != "unreadable" for v in verdicts):
        smelters = [{"cid": f"CID{index:03d}{n:03d}", "match": "cid", "metal": draw(st.sampled_from(METALS)),
                     "standard_name": f"Smelter {index}-{n}", "rmap_status": draw(st.sampled_from(STATUSES))}
                    for n in range(draw(st.integers(0, 4)))]
        metals = sorted({s["metal"] for s in smelters}) or ["Gold"]
        result = {
            "verdict": next(v for v in reversed(verdicts) if v != "unreadable"),
            "summary": {"scope_level": draw(st.sampled_from(["company", "product", "user_defined", None]))},
            "program_strength": draw(st.sampled_from(["weak", "strong", None])),
            "metals_in_scope": metals,
            "questions": {"Q6": {m: {"answer": draw(st.sampled_from(["100%", "Greater than 50%", ""]))} for m in metals}},
            "smelters": smelters,
        }
    return {"verdicts": verdicts, "result": result, "final": draw(st.booleans()),
            "withdrawn": draw(st.booleans()) and draw(st.booleans())}, draw(st.sampled_from([0, 1, 1, 2, 3, 150, 400]))


@st.composite
def records(draw) -> list[SupplierRecord]:
    out = []
    for i in range(draw(st.integers(0, 6))):
        shape, copies = draw(shapes(i))
        verdicts = shape["verdicts"]
        for c in range(copies):
            out.append(SupplierRecord(
                supplier_id=f"S-{i}-{c}", supplier_name=f"Supplier {i}-{c}",
                status=facts.supplier_standing(verdicts, withdrawn=shape["withdrawn"], final=shape["final"]),
                result=shape["result"], submissions=len(verdicts), files=[f"f{n}.xlsx" for n in range(len(verdicts))],
                corrected=facts.corrected(verdicts),
            ))
    return out


def figures_of(recs: list[SupplierRecord]) -> dict:
    return compute_figures(recs, smelters_of=lambda r: supplier_smelters(r, None), source={"kind": "campaign", "year": 2026},
                           corrective_actions=None, escalations=None)


PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.integers(0, 5000), st.integers(0, 5000))
def test_a_share_is_said_as_its_count_allows(count, of):
    count = min(count, of)
    said = share_words(count, of)
    assert "approximately 0%" not in said and "approximately 100%" not in said
    if count == 0:
        assert said == "none"
    elif count == of:
        assert said == "all"
    elif percent(count, of) == 0:
        assert said == "fewer than 1%"
    elif percent(count, of) == 100:
        assert said == "more than 99%"
    else:
        assert said == f"approximately {percent(count, of)}%" and 1 <= percent(count, of) <= 99
    assert share_kind(count, of) in ("none", "all", "fewer_than_1", "more_than_99", "approximately")


@PROPERTY
@given(records())
def test_counts_add_up_and_share_denominators(recs):
    f = figures_of(recs)
    surveyed = f["suppliers_surveyed"]
    assert sum(f[k]["count"] for k in facts.STANDINGS) == surveyed
    assert f["submitted"]["count"] + f["not_submitted"]["count"] == surveyed
    assert f["submitted"]["count"] == f["responses"] == sum(f["scopes"].values())
    assert f["corrected"]["count"] + f["invalid_uncorrected"]["count"] + f["awaiting_correction"]["count"] \
        == f["submitted_invalid"]["count"]
    for key in ("submitted", "not_submitted", "valid", "invalid_uncorrected", "awaiting_correction", "corrected",
                "submitted_invalid", "q6_below_100"):
        assert (f[key]["of"], f[key]["denominator"]) == (surveyed, "surveyed"), key
    for key in ("company_level", "weak_program", "unreadable"):
        assert (f[key]["of"], f[key]["denominator"]) == (f["responses"], "responses"), key
        assert f[key]["count"] <= f["responses"]
    assert f["scopes"]["company"] == f["company_level"]["count"] and f["scopes"]["unreadable"] == f["unreadable"]["count"]
    sm = f["smelters"]
    assert sum(r["count"] for r in sm["by_status"]) == sm["total"] == len(f["appendix_a"])


def _approximately(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"approximately (\d+)%", text, flags=re.I)]


@PROPERTY
@given(records())
def test_no_draft_sentence_contradicts_its_figures(recs):
    f = figures_of(recs)
    text = render_due_diligence_draft(f, company="Example Inc.", year=2026)
    flat = " ".join(text.split())
    # never "approximately 0%" (say none / fewer than 1%), never "approximately 100%" of a part
    assert all(1 <= n <= 99 for n in _approximately(flat)), _approximately(flat)
    assert "None%" not in flat and "approximately None" not in flat
    every_corrected = "every Surveyed Supplier that submitted an invalid CMRT corrected it"
    if every_corrected in flat:
        assert f["corrected"]["count"] and not f["awaiting_correction"]["count"] and not f["invalid_uncorrected"]["count"]
    if f["awaiting_correction"]["count"] or f["invalid_uncorrected"]["count"]:
        assert every_corrected not in flat
    assert ("No Surveyed Supplier submitted an invalid CMRT" in flat) == (
        f["submitted"]["count"] > 0 and f["submitted_invalid"]["count"] == 0)
    assert ("did not correct the inaccuracies" in flat) == (f["invalid_uncorrected"]["count"] > 0)
    if f["invalid_uncorrected"]["count"]:
        said = share_words(f["invalid_uncorrected"]["count"], f["invalid_uncorrected"]["of"])
        assert f"however, {said} of the Surveyed Suppliers did not correct" in flat
    said = share_words(f["submitted"]["count"], f["submitted"]["of"])
    assert f"received CMRTs from {said} of the Surveyed Suppliers." in flat
    if f["company_level"]["count"]:
        said = share_words(f["company_level"]["count"], f["company_level"]["of"])
        assert f"{said} of the responses received provided data at a company level" in flat
    else:
        assert "reported their CMRT at a \"company level\"" not in flat
    if not f["submitted"]["count"]:
        assert "None of the Surveyed Suppliers submitted a CMRT" in flat
    elif not f["not_submitted"]["count"]:
        assert "Every Surveyed Supplier submitted a CMRT" in flat
    else:
        said = share_words(f["not_submitted"]["count"], f["not_submitted"]["of"], start=True)
        assert f"{said} of the Surveyed Suppliers did not submit a CMRT" in flat
    if f["not_submitted"]["count"]:
        said = share_words(f["not_submitted"]["count"], f["not_submitted"]["of"])
        assert f"{said} of the Surveyed Suppliers did not respond to" in flat
    else:
        assert "did not respond to" not in flat
    if f["responses"]:
        said = share_words(f["weak_program"]["count"], f["weak_program"]["of"])
        assert f"{said} of the Surveyed Suppliers that submitted a CMRT were identified as having a \"weak\" program" in flat
    # the RMAP table: a cell of 0% is a status nobody has; 100% only for all of them
    for row in f["smelters"]["by_status"]:
        cell = facts.percent_cell(row["count"], row["of"])
        assert f"| {row['status']} | {row['count']} | {cell} |" in text
        assert (cell == "0%") == (row["count"] == 0 and row["of"] > 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(records())
def test_the_workbook_stores_what_the_draft_says(tmp_path: Path, recs):
    f = figures_of(recs)
    path = rcoi_workbook(f, tmp_path / "rcoi.xlsx")
    rows = {r[0].value: r for r in load_workbook(path)["Summary"].iter_rows() if r[0].value}
    for label, key in (("Submitted a CMRT", "submitted"), ("Company-level declaration", "company_level"),
                       ("Still correcting an invalid CMRT", "awaiting_correction")):
        s = f[key]
        count, of, share = (c.value for c in rows[label][1:4])
        assert (count, of) == (s["count"], s["of"])
        if of:
            assert isinstance(share, float | int) and share == pytest.approx(s["count"] / s["of"])
            kind = share_kind(s["count"], s["of"])
            fmt = rows[label][3].number_format
            assert fmt == {"fewer_than_1": '[<0.005]"<1%";0%', "more_than_99": '[<1]">99%";0%'}.get(kind, "0%")
        else:
            assert share is None


def test_the_draft_before_and_after_the_fix():
    """The case seen: 8 suppliers still correcting, none uncorrected, one in 400 weak: the draft says so."""
    recs = [SupplierRecord(f"S-{i}", f"S {i}", status="valid", submissions=1,
                           result={"verdict": "valid", "summary": {"scope_level": "product"},
                                   "program_strength": "weak" if i == 0 else "strong"}) for i in range(392)]
    recs += [SupplierRecord(f"C-{i}", f"C {i}", status="awaiting_correction", submissions=1,
                            result={"verdict": "invalid"}) for i in range(8)]
    f = figures_of(recs)
    text = " ".join(render_due_diligence_draft(f, company="Example Inc.", year=2026).split())
    assert "every Surveyed Supplier that submitted an invalid CMRT corrected it" not in text
    assert "8 Surveyed Supplier(s) had not yet corrected their CMRT" in text
    assert "fewer than 1% of the Surveyed Suppliers that submitted a CMRT were identified as having a \"weak\"" in text
    assert "approximately 0%" not in text
    assert "Every Surveyed Supplier submitted a CMRT and none of the responses received provided data at a company level." in text
    html = render_rcoi_html(f)
    assert "<strong>&lt;1%</strong>" in html and "of 400 responses received" in html

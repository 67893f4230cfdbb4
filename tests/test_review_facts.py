"""The review desk's pure core (models/facts/review.py): which items a declaration raises, the queue as the
items minus the answered ones, its order, and the refusals. Properties over random records."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from models.facts import review as rv

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)

names = st.sampled_from(["Sam Precious Metals", "Our Warehouse", "Dowa", "Bogus Tin Works", "  sam  precious METALS "])
smelters = st.builds(
    rv.SmelterFact,
    metal=st.sampled_from(["Gold", "Tin"]),
    lookup_name=names,
    match=st.sampled_from(["cid", "alias", "fuzzy", "unmatched"]),
    problems=st.sampled_from([(), ("needs_review",), ("not_listed",)]),
    risk=st.sampled_from(["low", "medium", "high", "unknown"]),
    cid=st.sampled_from([None, "CID001555"]),
    cid_now=st.sampled_from([None, None, "CID001555"]),
    suggested_cid=st.sampled_from([None, "CID001555"]),
    name=st.sampled_from([None, "Typed Name Ltd"]),
)
findings = st.builds(rv.FindingFact, code=st.sampled_from(["company_name_mismatch", "cid_unknown", "x"]),
                     severity=st.sampled_from(["error", "warning", "info"]), message=st.just("m"))


@st.composite
def declarations(draw, n: int):
    return rv.DeclarationFacts(
        survey_id=f"survey/c{n % 2}/S-{n}", campaign_id=f"c{n % 2}", supplier_id=f"S-{n}", supplier_name=f"Supplier {n}",
        submission_id=f"survey/c{n % 2}/S-{n}/submission/1", received_at=T0 + timedelta(hours=draw(st.integers(0, 500))),
        valid=draw(st.booleans()), smelters=draw(st.lists(smelters, max_size=6)),
        findings=draw(st.lists(findings, max_size=4)))


records = st.integers(1, 6).flatmap(lambda k: st.tuples(*[declarations(i) for i in range(k)]))


def all_items(decls, not_smelters=frozenset()):
    return [i for d in decls for i in rv.declaration_items(d, not_smelters=not_smelters)]


@settings(max_examples=200, deadline=None)
@given(records, st.data())
def test_the_queue_is_the_items_minus_the_answered_ones_riskiest_then_newest(decls, data):
    items = all_items(decls)
    keys = [i.key for i in items]
    assert len(keys) == len(set(keys))  # one item per key: an answer closes exactly one
    answered = data.draw(st.sets(st.sampled_from(keys))) if keys else set()
    queue = rv.open_items(items, answered)
    assert {i.key for i in queue} == set(keys) - answered
    for a, b in zip(queue, queue[1:]):
        assert (a.risk_rank, a.since) >= (b.risk_rank, b.since)
    for campaign in ("c0", "c1"):
        for kind in (None, *rv.KINDS):
            part = rv.open_items(items, answered, campaign_id=campaign, kind=kind)
            assert part == [i for i in queue if i.campaign_id == campaign and (kind is None or i.kind == kind)]


@settings(max_examples=200, deadline=None)
@given(records)
def test_what_each_declaration_raises(decls):
    for d in decls:
        for item in rv.declaration_items(d):
            assert item.survey_id == d.survey_id and item.submission_id == d.submission_id and item.since == d.received_at
            if item.kind in (rv.HIGH_RISK_SMELTER, rv.COMPANY_NAME_MISMATCH, rv.ACCEPTED_WITH_WARNINGS):
                assert d.valid  # only a declaration that was accepted is accepted or sent back
            if item.kind in (rv.SMELTER_MATCH, rv.UNKNOWN_SMELTER):
                # Raised by a row the reference list does not know now (an alias learned since raises nothing).
                key = rv.spelling_key(item.evidence["metal"], item.evidence["name"])
                assert any(rv.spelling_key(s.metal, s.spelling) == key and not s.cid_now for s in d.smelters)
        high = {rv.spelling_key(s.metal, s.cid or s.cid_now or s.spelling) for s in d.smelters if s.risk == "high"}
        raised = {i.key.split(":", 1)[1] for i in rv.declaration_items(d) if i.kind == rv.HIGH_RISK_SMELTER}
        assert raised == (high if d.valid else set())


@settings(max_examples=100, deadline=None)
@given(records)
def test_a_spelling_said_not_to_be_a_smelter_raises_nothing_again_for_any_supplier(decls):
    items = all_items(decls)
    smelter_items = [i for i in items if i.kind in (rv.SMELTER_MATCH, rv.UNKNOWN_SMELTER)]
    said = frozenset(rv.spelling_key(i.evidence["metal"], i.evidence["name"]) for i in smelter_items)
    after = all_items(decls, not_smelters=said)
    assert [i for i in after if i.kind in (rv.SMELTER_MATCH, rv.UNKNOWN_SMELTER)] == []
    assert {i.key for i in after} == {i.key for i in items} - {i.key for i in smelter_items}


def test_spellings_are_compared_with_case_and_blanks_forgiven():
    assert rv.spelling_key("Gold", "  sam  precious METALS ") == rv.spelling_key("gold", "Sam Precious Metals")
    not_listed = rv.SmelterFact(metal="Tin", lookup_name="Smelter not listed", name="Bogus Tin Works",
                                problems=("not_listed",))
    assert not_listed.spelling == "Bogus Tin Works"  # the name typed beside "Smelter not listed"


def _item(kind: str, **evidence) -> rv.ReviewItem:
    return rv.ReviewItem("k", kind, "s", "c", "S-1", "Acme", "s/submission/1", T0, "t", evidence)


def test_answers_are_refused_with_a_sentence():
    match = _item(rv.SMELTER_MATCH, suggested_cid="CID001555")
    assert rv.why_not_answer(match, "confirm") is None
    assert "not an answer" in rv.why_not_answer(match, "accept")
    assert "CID" in rv.why_not_answer(match, "choose")
    assert rv.why_not_answer(match, "choose", cid="CID000015") is None
    assert "no single suggestion" in rv.why_not_answer(_item(rv.SMELTER_MATCH), "confirm")
    warned = _item(rv.ACCEPTED_WITH_WARNINGS)
    assert "reason" in rv.why_not_answer(warned, "send-back", reason="  ")
    assert rv.why_not_answer(warned, "send-back", reason="wrong list") is None
    assert "reason" in rv.why_not_answer(_item(rv.CONTACT_PROPOSAL), "decline")


def test_reopen_only_an_accepted_declaration_while_the_campaign_runs():
    ok = dict(campaign_state="running", campaign_ends_at=T0 + timedelta(days=1), survey_state="closed",
              outcome="valid", reason="r", now=T0)
    assert rv.why_not_reopen(**ok) is None
    assert rv.why_not_reopen(**{**ok, "outcome": "valid_with_cap"}) is None
    assert "reason" in rv.why_not_reopen(**{**ok, "reason": " "})
    assert "ended" in rv.why_not_reopen(**{**ok, "campaign_state": "closed"})
    assert "ended" in rv.why_not_reopen(**{**ok, "campaign_state": "cancelled"})
    assert "ended" in rv.why_not_reopen(**{**ok, "campaign_ends_at": T0})
    assert "accepted declaration" in rv.why_not_reopen(**{**ok, "outcome": "non_responsive"})
    assert rv.why_not_reopen(**{**ok, "survey_state": "risk_review", "outcome": None}) is None  # its own reject path

"""A bounded copy of a check result for workflow payloads (Temporal refuses payloads over 2 MiB),
while cmrt.check itself keeps every finding."""

from __future__ import annotations

import json

import pytest

import cmrt
from cmrt.builder import NOT_LISTED, valid_builder

ROWS = 2500  # a full Smelter List (rows 5-2504)
PROBLEM_ROWS = ROWS - 4  # after the valid declaration's four smelters


@pytest.fixture(scope="module")
def full() -> cmrt.CheckResult:
    """2,500 smelter rows, all but four with problems: a malformed CID, no country on a 'Smelter not
    listed' row, and 'recycled' with a mine named."""
    b = valid_builder()
    for i in range(PROBLEM_ROWS):
        b.smelter(metal=("Tin", "Gold", "Tantalum", "Tungsten")[i % 4], cid_input=f"CID{i:04d}X",
                  lookup_name=NOT_LISTED, name=f"Qwxz {i:04d} Zzyzx Foundry", recycled_scrap="Yes",
                  mine_name=f"Bisie {i}")
    return cmrt.check(b.to_bytes())


def test_the_check_keeps_every_finding(full: cmrt.CheckResult) -> None:
    codes = full.codes()
    assert len(full.smelters) == ROWS
    assert codes.count("cid_malformed") == PROBLEM_ROWS
    assert codes.count("smelter_recycled_mine_conflict") == PROBLEM_ROWS
    assert len(full.findings) > 2 * PROBLEM_ROWS
    assert full.findings_truncated == 0 and full.smelters_truncated == 0
    assert "findings_truncated" not in full.to_json_dict()


def test_payload_copy_is_bounded(full: cmrt.CheckResult) -> None:
    size_full = len(full.model_dump_json())
    payload = full.for_payload(max_findings=200)
    text = payload.model_dump_json()
    assert size_full > 2 * 1024 * 1024  # the complete result would not fit in a Temporal payload
    assert len(text.encode()) < 1024 * 1024
    assert len(json.dumps(payload.to_json_dict()).encode()) < 1024 * 1024
    assert len(payload.findings) == 200
    assert payload.findings_truncated == len(full.findings) - 200
    assert payload.smelters_truncated == ROWS - len(payload.smelters) > 0
    assert payload.to_json_dict()["findings_truncated"] == payload.findings_truncated
    # severity first (errors lead), check order kept within a severity
    order = {"error": 0, "warning": 1, "info": 2}
    ranks = [order[f.severity] for f in payload.findings]
    assert ranks == sorted(ranks) and ranks[0] == 0
    errors = [f for f in full.findings if f.severity == "error"]
    assert payload.findings[: len(errors)] == errors[:200]
    # what is computed over everything stays as it was
    assert payload.verdict == full.verdict == "invalid"
    assert payload.summary == full.summary and payload.checker_remaining == full.checker_remaining
    # the full result is untouched, and the copy survives the pydantic data converter's round trip
    assert len(full.findings) > 2 * PROBLEM_ROWS and len(full.smelters) == ROWS
    assert cmrt.CheckResult.model_validate_json(text) == payload


def test_payload_copy_keeps_high_risk_smelters_first() -> None:
    b = valid_builder()
    for i in range(40):
        b.smelter(metal="Tin", lookup_name="Dowa", mine_name=f"Mine {i}")
    b.smelter(metal="Gold", lookup_name="African Gold Refinery")  # the last row, high risk
    full = cmrt.check(b.to_bytes())
    assert full.smelters[-1].risk == "high"
    payload = full.for_payload(max_findings=5, max_smelters=10, max_products=0)
    rows = [s.row for s in payload.smelters]
    assert full.smelters[-1].row in rows and rows == sorted(rows) and len(rows) == 10
    assert payload.smelters_truncated == len(full.smelters) - 10
    assert payload.products == [] and payload.products_truncated == len(full.products)
    small = full.for_payload()
    order = {"error": 0, "warning": 1, "info": 2}
    assert small.findings == sorted(full.findings, key=lambda f: order[f.severity])
    assert small.findings_truncated == 0 and len(small.findings) == len(full.findings)

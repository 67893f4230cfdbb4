"""What keeping a finding's parameters costs: the workflow payload's size (findings travel in workflow state,
Temporal refuses payloads over 2 MiB) and saying a stored finding in Japanese, for files with more and more
bad rows. Run: .venv/bin/python bench/bench_finding_params.py"""

from __future__ import annotations

import json
import time

import cmrt
from activities.survey import _payload_findings
from cmrt.builder import valid_builder
from outreach.i18n import finding_text


def workbook(rows: int) -> bytes:
    b = valid_builder()
    for i in range(rows):
        b = b.smelter(metal="Tin", lookup_name="Smelter not listed", name=f"Unknown Works {i}", country="RWANDA")
    return b.to_bytes()


def main() -> None:
    print("rows  findings  payload  bytes(no params)  bytes(params)  ratio  ja µs/finding (warm)")
    finding_text("smelter_not_in_reference", {"row": "1", "metal": "Tin", "value": "x"}, "x", "ja")  # load once
    for rows in (10, 100, 400):
        r = cmrt.check(workbook(rows), filename="x.xlsx", campaign_year=2025)
        kept = _payload_findings(r.findings)
        with_p = len(json.dumps([k.model_dump() for k in kept]))
        without = len(json.dumps([k.model_dump(exclude={"params"}) for k in kept]))
        t = time.perf_counter()
        for k in kept:
            finding_text(k.code, k.params, k.message, "ja", cell=k.cell)
        per = (time.perf_counter() - t) / len(kept) * 1e6
        print(f"{rows:4d}  {len(r.findings):8d}  {len(kept):7d}  {without:16d}  {with_p:13d}  {with_p / without:5.2f}  {per:6.0f}")


if __name__ == "__main__":
    main()

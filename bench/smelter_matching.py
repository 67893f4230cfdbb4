"""Smelter matching: precision/recall on generated variants, and time per match.

    .venv/bin/python bench/smelter_matching.py

Uses the same variant generators as tests/test_smelters_matching.py; the RMI template figures need
../shared/cmrt/templates/RMI_CMRT_6.5.xlsx and are skipped without it.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cmrt.reference import ReferenceList, default_reference, lookup_rows_from_workbook, normalise_name  # noqa: E402
from tests.test_smelters_matching import (  # noqa: E402
    NOT_ON_DEFAULT_LIST,
    TEMPLATE_65,
    legal_variant,
    score,
    typo,
)


def line(label: str, r: dict) -> None:
    print(f"{label:<48} n={r['n']:>4}  correct={r['correct']:>4}  wrong={r['wrong']}  review={r['review']:>3}  "
          f"unmatched={r['unmatched']:>3}  precision={r['precision']:.3f}  recall={r['recall']:.3f}")


def main() -> None:
    ref = default_reference()
    smelters = ref.smelters()
    line("default list: exact standard names", score(ref, [(s.metal, s.standard_name, None, s.cid) for s in smelters]))
    for seed in (7, 8, 9):
        rnd = random.Random(seed)
        line(f"suffix/case/punctuation/blanks/accents (seed {seed})",
             score(ref, [(s.metal, legal_variant(s.standard_name, rnd), None, s.cid) for s in smelters]))
    for edits in (1, 2):
        for seed in (11, 12, 13):
            rnd = random.Random(seed)
            line(f"{edits} typo(s) (seed {seed})",
                 score(ref, [(s.metal, typo(s.standard_name, rnd, edits), None, s.cid) for s in smelters]))
    rnd = random.Random(17)
    neg = [(m, n, None, None) for m, n in NOT_ON_DEFAULT_LIST] + [(m, typo(n, rnd, 1), None, None) for m, n in NOT_ON_DEFAULT_LIST]
    line("smelters not on the list (+1 typo): any CID is wrong", score(ref, neg))

    if TEMPLATE_65.exists():
        lookup = lookup_rows_from_workbook(TEMPLATE_65)
        known = {s.cid for s in smelters}
        line("6.5 look-up aliases of listed CIDs, no alias table",
             score(ref, [(r["metal"], r["lookup_name"], r["country"], r["cid"]) for r in lookup
                         if r["cid"] in known and r["lookup_name"] != r["standard_name"]], use_country=True))
        line("6.5 look-up names of CIDs not on the list",
             score(ref, [(r["metal"], r["lookup_name"], None, None) for r in lookup if r["cid"] and r["cid"] not in known]))
        cids = sorted({r["cid"] for r in lookup if r["cid"]})
        for seed in (1, 2, 3):
            rnd = random.Random(seed)
            kept = set(rnd.sample(cids, len(cids) // 2))
            half = ReferenceList.from_lookup_rows([r for r in lookup if r["cid"] in kept])
            kept_names = {(r["metal"], normalise_name(r["lookup_name"])) for r in lookup if r["cid"] in kept}
            out = [r for r in lookup if r["cid"] and r["cid"] not in kept
                   and (r["metal"], normalise_name(r["lookup_name"])) not in kept_names]
            line(f"6.5 half list, kept names +1 typo (seed {seed})",
                 score(half, [(r["metal"], typo(r["lookup_name"], rnd, 1), None, r["cid"]) for r in lookup if r["cid"] in kept]))
            line(f"6.5 half list, left-out names (+1 typo) (seed {seed})",
                 score(half, [(r["metal"], r["lookup_name"], None, None) for r in out]
                       + [(r["metal"], typo(r["lookup_name"], rnd, 1), None, None) for r in out]))

    # Time per match, by path (median of 5 rounds).
    rnd = random.Random(3)
    paths = {
        "cid": [dict(metal=s.metal, cid=s.cid) for s in smelters],
        "alias/standard name": [dict(metal=s.metal, lookup_name=s.standard_name) for s in smelters],
        "normalised name": [dict(metal=s.metal, lookup_name=s.standard_name.upper() + " ") for s in smelters],
        "fuzzy (1 typo)": [dict(metal=s.metal, lookup_name=typo(s.standard_name, rnd, 1)) for s in smelters],
    }
    for label, calls in paths.items():
        rounds = []
        for _ in range(5):
            fresh = ReferenceList(ref.smelters(include_removed=True), ref.aliases())
            fresh.match(metal="Gold", lookup_name="warm up the indexes")
            t = time.perf_counter()
            for kwargs in calls:
                fresh.match(**kwargs)
            rounds.append((time.perf_counter() - t) / len(calls) * 1e6)
        print(f"match by {label:<22} median {statistics.median(rounds):8.1f} µs per row")


if __name__ == "__main__":
    main()

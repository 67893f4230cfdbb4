"""Benchmark: a finding's text in another language (cmrt.messages.finding_text) against the English it
replaces (the message `finding()` wrote), and the one-off cost of loading a catalogue.

    .venv/bin/python bench/bench_i18n_findings.py [--findings 2000] [--runs 7]

Findings measured: every finding of a set of faulty CMRTs (the cases of tests/test_cmrt_rules.py),
repeated to --findings. Per language: microseconds per finding, the ratio to English, and the growth
from 1x to 10x findings (linear is 10x). Memory: the resident growth of loading all ten catalogues.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cmrt import i18n  # noqa: E402
from cmrt.locales import LANGUAGES  # noqa: E402
from cmrt.messages import finding_text  # noqa: E402
from tests.test_cmrt_rules import CASES, run  # noqa: E402
from cmrt.builder import valid_builder  # noqa: E402


def corpus(n: int) -> list:
    found = []
    for _code, failing, _passing, kw in CASES:
        b = valid_builder()
        failing(b)
        found += run(b, **kw).findings
    return (found * (n // len(found) + 1))[:n]


def per_finding(findings: list, lang: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for f in findings:
            finding_text(f, lang)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / len(findings) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loads = {}
    for lang in LANGUAGES[1:]:
        start = time.perf_counter()
        i18n.translations(lang)
        loads[lang] = (time.perf_counter() - start) * 1e3
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    small, large = corpus(args.findings), corpus(args.findings * 10)
    english = per_finding(small, "en", args.runs)
    print(f"{len(small)} findings ({len({f.code for f in small})} codes), median of {args.runs} runs")
    print(f"{'language':<9} {'µs/finding':>10} {'x English':>10} {'10x findings':>13} {'load ms':>8}")
    for lang in LANGUAGES:
        us = per_finding(small, lang, args.runs)
        growth = per_finding(large, lang, max(args.runs // 2, 1)) * len(large) / (us * len(small))
        print(f"{lang:<9} {us:>10.1f} {us / english:>10.2f} {growth:>12.1f}x {loads.get(lang, 0.0):>8.1f}")
    print(f"loading all {len(loads)} catalogues: +{(rss1 - rss0) / 1024:.1f} MB resident")


if __name__ == "__main__":
    main()

"""Emails in the supplier's language: what the catalogue and the English copy below cost.

    .venv/bin/python bench/bench_i18n.py [--n 2000]

Prints: loading each catalogue from its .po (once per process), and rendering one supplier email (subject,
text, HTML) in English (one rendering) and in another language (two renderings: its own and the English
copy), per message, as medians of five rounds; the ratio is what a campaign's mail costs more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from outreach import i18n  # noqa: E402
from outreach.emails import render_email  # noqa: E402

FINDINGS = [dict(code="contact_email_missing", severity="error", sheet="Declaration", cell=f"D{16 + n}",
                 message="The contact email is missing.") for n in range(12)]
CONTEXT = dict(company_name="Example Manufacturing Inc.", program_name="Example Manufacturing Inc. Responsible "
               "Minerals Program", supplier_name="Acme Components Ltd.", supplier_id="S-1", campaign_id="cmrt-2025",
               campaign_year=2025, contact_name="Jane Doe", contact_email="jane@acme.test", due_date="01 March 2026",
               compliance_email="c@x.test", correction_round=1, max_rounds=3, portal_url="http://portal.test/p/T",
               findings=FINDINGS, round=1, window_ends="15 March 2026")


def per_message(template: str, language: str, n: int) -> float:
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            render_email(template, dict(CONTEXT, language=language))
        rounds.append((time.perf_counter() - start) / n)
    return statistics.median(rounds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    loads = {}
    for code in sorted(i18n.SUPPORTED):
        i18n.translations.cache_clear()
        start = time.perf_counter()
        i18n.translations(code)
        loads[code] = time.perf_counter() - start
    print("catalogue load from .po (ms): " + ", ".join(f"{c} {t * 1000:.1f}" for c, t in loads.items()))
    render_email("request", dict(CONTEXT, language="en"))  # templates compiled once
    for template in ("request", "correction_request"):
        en = per_message(template, "en", args.n)
        results = {code: per_message(template, code, args.n) for code in ("de", "ja", "zh_Hant")}
        print(f"{template}: en {en * 1000:.3f} ms/message; " + "; ".join(
            f"{c} {t * 1000:.3f} ms ({t / en:.2f}x)" for c, t in results.items()))


if __name__ == "__main__":
    main()

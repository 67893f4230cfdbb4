"""How long filling an official CMRT with the company's own declaration takes, against its floor.

Floor: openpyxl loading and saving the same blank unchanged (what any writer that keeps the template's
formulas pays). Measured with 5 and 500 Smelter List rows to show the growth with size.

    .venv/bin/python bench/bench_own_declaration.py [--template ../shared/cmrt/templates/RMI_CMRT_6.5.xlsx] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import warnings
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from cmrt.writer import SmelterEntry, fill_official_template
from models.facts.own_declaration import METALS

COMPANY = {"name": "Bench Inc.", "scope": "A. Company", "contact_name": "A", "contact_email": "a@b.example",
           "contact_phone": "1", "authorizer": "B", "authorizer_email": "b@b.example", "effective_date": date(2026, 5, 1)}
ANSWERS = {q: {m: a for m in METALS} for q, a in (("Q1", "Yes"), ("Q2", "Yes"), ("Q3", "Unknown"), ("Q4", "Unknown"),
                                                   ("Q5", "No"), ("Q6", "100%"), ("Q7", "No"), ("Q8", "No"))}
LETTERS = {x: ("Yes", "https://b.example/policy" if x == "B" else None) for x in "ABCDFG"} | {
    "E": ("Yes, in conformance with IPC1755 (e.g., CMRT)", None), "H": ("No", None)}


def floor(blank: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = load_workbook(io.BytesIO(blank))
    wb.save(io.BytesIO())


def fill(blank: bytes, n: int) -> None:
    rows = [SmelterEntry(METALS[i % 4], f"Bench Refinery {i}", "PERU") for i in range(n)]
    fill_official_template(blank, company=COMPANY, answers=ANSWERS, company_answers=LETTERS, facilities=rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--template", type=Path, default=Path(__file__).resolve().parents[2] / "shared/cmrt/templates/RMI_CMRT_6.5.xlsx")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    blank = args.template.read_bytes()
    times: dict[str, list[float]] = {"floor": [], "fill 5": [], "fill 500": []}
    for _ in range(args.runs):  # alternating, so a busy machine weighs on each alike
        for label, run in (("floor", lambda: floor(blank)), ("fill 5", lambda: fill(blank, 5)),
                           ("fill 500", lambda: fill(blank, 500))):
            t = time.process_time()
            run()
            times[label].append(time.process_time() - t)
    base = statistics.median(times["floor"])
    for label, ts in times.items():
        print(f"{label:<10} median {statistics.median(ts):6.2f} s cpu  ({statistics.median(ts) / base:4.2f}x floor)")


if __name__ == "__main__":
    main()

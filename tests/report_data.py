"""Suppliers' CMRTs that together report the 333 smelters of the seed's Appendix A (2020).

Built with the project's own fixture builder. Five suppliers list overlapping parts of the list, each row
in one of the ways real files name a smelter: the dropdown's standard name, an alias from the Look-up
sheet, the CID typed in column A, or "Smelter not listed" with the name typed (with a typo for some);
some rows are repeated (one per mine). Two more rows name entities that are no known smelter.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from cmrt.builder import NOT_LISTED, SCOPE_COMPANY, SCOPE_PRODUCT, LookupRow, valid_builder

SHARED = Path(__file__).resolve().parents[2] / "shared"
JUNIPER_CSV = SHARED / "data" / "smelters_juniper_2020.csv"
SUPPLIERS = ["S-100", "S-200", "S-300", "S-400", "S-500"]
NAMES = {
    "S-100": "Northwind Circuits Ltd.",
    "S-200": "Blue Harbor Components Inc.",
    "S-300": "Kestrel Power Systems GmbH",
    "S-400": "Orchid Interconnect Co., Ltd.",
    "S-500": "Granite Assembly Services",
    "S-600": "Silent Partner Electronics",  # on the list, never answers
    "S-700": "Quiet Cable Corp.",  # on the list, never answers
}
UNKNOWN_ENTITIES = [("Tin", "Jiangxi Nowhere Trading Company", "CHINA"), ("Gold", "Precious Scrap Brokers", "INDIA")]


def juniper_smelters() -> list[dict[str, str]]:
    with JUNIPER_CSV.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _typo(name: str) -> str:
    """Drop one letter from the longest word: a slip, not a different company."""
    words = name.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    words[i] = w[: len(w) // 2] + w[len(w) // 2 + 1:]
    return " ".join(words)


def assignments() -> dict[str, list[tuple[dict[str, str], str]]]:
    """supplier -> [(smelter, how it is written)]: every smelter by at least one supplier, many by two."""
    by_metal: dict[str, list[dict[str, str]]] = {}
    for s in juniper_smelters():
        by_metal.setdefault(s["metal"], []).append(s)
    out: dict[str, list[tuple[dict[str, str], str]]] = {sid: [] for sid in SUPPLIERS}
    ways = ("lookup", "alias", "cid", "lookup", "typed")
    for metal, smelters in by_metal.items():
        for j, s in enumerate(sorted(smelters, key=lambda r: r["smelter_id"])):
            out[SUPPLIERS[j % 4]].append((s, ways[(j // 4) % len(ways)]))
            if j % 3 == 0:  # the fifth supplier overlaps the others, always through the dropdown
                out["S-500"].append((s, "lookup"))
    return out


def lookup_sheet(smelters: list[dict[str, str]]) -> list[LookupRow]:
    rows = []
    for s in smelters:
        rows.append(LookupRow(s["metal"], s["standard_smelter_name"], s["standard_smelter_name"], s["country"], s["smelter_id"]))
        rows.append(LookupRow(s["metal"], f"{s['standard_smelter_name']} (formerly listed)", s["standard_smelter_name"],
                              s["country"], s["smelter_id"]))
    return rows


def row_spec(s: dict[str, str], way: str) -> dict[str, str]:
    if way == "alias":
        return {"metal": s["metal"], "lookup_name": f"{s['standard_smelter_name']} (formerly listed)"}
    if way == "cid":
        return {"metal": s["metal"], "cid_input": s["smelter_id"], "lookup_name": s["standard_smelter_name"]}
    if way == "typed" and max(len(w) for w in s["standard_smelter_name"].split()) >= 7:
        return {"metal": s["metal"], "lookup_name": NOT_LISTED, "name": _typo(s["standard_smelter_name"]),
                "country": s["country"]}
    return {"metal": s["metal"], "lookup_name": s["standard_smelter_name"]}


def build_juniper_cmrts(folder: Path) -> dict[str, Path]:
    """Write the five suppliers' CMRTs into `folder`; returns supplier ID -> file."""
    folder.mkdir(parents=True, exist_ok=True)
    lookup = lookup_sheet(juniper_smelters())
    files = {}
    for k, (sid, rows) in enumerate(assignments().items()):
        specs = [row_spec(s, way) for s, way in rows]
        specs += [dict(spec, mine_name="Second mine") for spec in specs[:5]]  # duplicated rows (one per mine)
        if sid == "S-200":
            specs += [{"metal": m, "lookup_name": NOT_LISTED, "name": n, "country": c} for m, n, c in UNKNOWN_ENTITIES]
        # S-400's file was written by a tool other than Excel: no cached formula values, so CIDs and
        # names come from its Smelter Look-up sheet.
        b = valid_builder(NAMES[sid], specs, scope=SCOPE_PRODUCT if sid == "S-300" else SCOPE_COMPANY,
                          effective_date=date(2021, 4, 20), cached_values=sid != "S-400")
        b.lookup_rows(lookup)
        if sid == "S-400":
            # Not all of its suppliers answered, so it cannot say all smelters are identified.
            b.answer("Q6", "Gold", "Greater than 90%").answer("Q7", "Gold", "No").answer("Q3", "Gold", "Unknown")
        if sid == "S-100":
            b.company_answer("F", "No")  # no review of its suppliers' information: a weak program
        path = folder / f"{sid}_{NAMES[sid].split()[0]}_CMRT.xlsx"
        path.write_bytes(b.to_bytes())
        files[sid] = path
    return files


def write_supplier_list(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["supplier_id", "name", "category"])
        for sid, name in NAMES.items():
            w.writerow([sid, name, "strategic" if sid in ("S-100", "S-200") else "preferred"])
    return path

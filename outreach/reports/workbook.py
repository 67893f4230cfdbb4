"""Workbooks for the compliance team: the campaign's figures (RCOI) and the supplier scorecards.

Every cell goes through :mod:`outreach.spreadsheet` (formula neutralisation): names, files and comments
come from suppliers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.facts.figures import share_kind
from outreach.reports.render import DENOMINATORS, SHARES, plan_parts, scope_parts
from outreach.scoring import COMPONENTS, LABELS
from outreach.spreadsheet import Formatted, append_row, new_workbook, write_table
from outreach.wording import humanise, verdict_words

APPENDIX_A_HEADER = ("Metal", "Standard Smelter Name", "Smelter Facility Location", "Smelter ID", "RMAP Status")


# How a share is shown: the number itself (count / of), with a format that never contradicts the count:
# "<1%" for a share that rounds to 0% but is not none, ">99%" for one that rounds to 100% but is not all.
_FORMATS = {"fewer_than_1": '[<0.005]"<1%";0%', "more_than_99": '[<1]">99%";0%'}


def share_cell(count: int, of: int) -> Formatted:
    """A share as a number with a percent format (empty when there is nothing to divide)."""
    return Formatted(count / of if of else None, _FORMATS.get(share_kind(count, of), "0%"))


def _share_row(label: str, s: dict[str, Any]) -> list[Any]:
    return [label, s["count"], s["of"], share_cell(s["count"], s["of"]), DENOMINATORS[s["denominator"]].capitalize()]


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def rcoi_workbook(figures: dict[str, Any], path: Path) -> Path:
    """Summary, Appendix A, Smelters by supplier, Declarations, Not known smelters, High-risk smelters.

    Counts and shares are numbers (shares with a percent format); codes are written in words."""
    wb = new_workbook()

    ws = wb.create_sheet("Summary")
    src = figures["source"]
    append_row(ws, ["Conflict minerals due-diligence results", src.get("name") or src.get("path")])
    append_row(ws, [])
    write_table(ws, ("Figure", "Count", "Of", "Approximate percentage", "Denominator"), [
        ["Suppliers surveyed", figures["suppliers_surveyed"], None, None, None],
        ["Responses received", figures["responses"], None, None, None],
        *[_share_row(label, figures[key]) for label, key in SHARES],
        *[[f"Responses by scope: {label}", n, figures["responses"], share_cell(n, figures["responses"]),
           DENOMINATORS["responses"].capitalize()] for label, n in scope_parts(figures)],
    ], widths={1: 50})
    append_row(ws, [])
    append_row(ws, ["RMAP Status", "Number of Smelters and Refiners", None, "Approximate Percentage of Total"])
    sm = figures["smelters"]
    for row in sm["by_status"]:
        append_row(ws, [row["status"], row["count"], None, share_cell(row["count"], row["of"])])
    append_row(ws, ["Total Smelters and Refiners", sm["total"], None, share_cell(sm["total"], sm["total"])])
    append_row(ws, [])
    append_row(ws, ["Metal", "Smelters and refiners", "Conformant", "Approximate Percentage of RMAP Conformant",
                    "Active", "Not Enrolled"])
    for m in sm["by_metal"]:
        append_row(ws, [m["metal"], m["total"], m["conformant"], share_cell(m["conformant"], m["total"]), m["active"],
                        m["not_enrolled"]])
    append_row(ws, [])
    append_row(ws, ["Entities reported that are not known smelters", len(figures["unknown_entities"])])
    append_row(ws, ["High-risk smelters", len(figures["high_risk_smelters"])])
    caps = figures.get("corrective_actions")
    if caps:
        append_row(ws, [])
        append_row(ws, ["Corrective action plans", caps["plans"], *[x for part in plan_parts(caps) for x in part]])
        append_row(ws, ["Corrective actions", caps["actions_open"] + caps["actions_closed"], "open", caps["actions_open"],
                        "closed", caps["actions_closed"], "overdue", caps["actions_overdue"]])
    review = figures.get("review")
    if review:
        append_row(ws, ["Review items still unreviewed", review["unreviewed"]])
    esc = figures.get("escalations")
    if esc:
        append_row(ws, ["Escalations", esc["total"], "awaiting a decision", esc["open"],
                        *[x for d, n in sorted(esc["decisions"].items()) for x in (humanise(d).lower(), n)],
                        *[x for k, label in (("lapsed", "lapsed without a decision"), ("withdrawn", "withdrawn"))
                          if esc.get(k) for x in (label, esc[k])]])

    write_table(wb.create_sheet("Appendix A"), APPENDIX_A_HEADER, (
        [s["metal"], s["standard_name"], s["country"], s["cid"], s["rmap_status"]] for s in figures["appendix_a"]
    ), widths={2: 55, 3: 30})

    write_table(wb.create_sheet("Smelters by supplier"), (
        "Supplier ID", "Supplier", "Metal", "Smelter ID", "Standard Smelter Name", "Country", "RMAP Status", "Risk",
        "Why (risk factors)",
    ), (
        [r["supplier_id"], r["supplier_name"], s["metal"], s["cid"], s["standard_name"], s["country"],
         s["rmap_status"], humanise(s["risk"]) if s["risk"] else None, "; ".join(s.get("risk_reasons") or ())]
        for r in figures["suppliers"] if r["smelters_counted"] for s in r["smelters"]
    ), widths={2: 35, 5: 55, 9: 90})

    write_table(wb.create_sheet("Declarations"), (
        "Supplier ID", "Supplier", "On supplier list", "Where it stands", "Outcome", "Files", "Declared company",
        "Effective date", "Template", "Verdict", "Errors", "Scope", "Program", "Metals in scope", "Q6 below 100%",
        "Known smelters", "Conformant", "Active", "Not Enrolled", "Not known smelters", "High risk",
    ), (
        [r["supplier_id"], r["supplier_name"], _yes_no(r["on_list"]), humanise(r["status"]),
         humanise(r["outcome"]) if r["outcome"] else None, ", ".join(r["files"]), r["declared_company"],
         r["effective_date"], r["template_version"],
         verdict_words(r["verdict"], r.get("review")) if r["verdict"] or r.get("review") else None,
         r["errors"], humanise(r["scope_level"]) if r["scope_level"] else None,
         humanise(r["program_strength"]) if r["program_strength"] else None, ", ".join(r["metals_in_scope"]),
         ", ".join(r["q6_below_100"]), r["known_smelters"], r["conformant"], r["active"], r["not_enrolled"],
         r["unknown_entities"], r["high_risk"]]
        for r in figures["suppliers"]
    ), widths={2: 35, 4: 30, 6: 40, 7: 35, 10: 45})

    write_table(wb.create_sheet("Not known smelters"), (
        "Metal", "Name as reported", "Country", "Possible match (needs review)", "Reported by",
    ), (
        [e["metal"], e["name"], e["country"], e["suggestion"], ", ".join(e["suppliers"])]
        for e in figures["unknown_entities"]
    ), widths={2: 45, 4: 45, 5: 45})

    write_table(wb.create_sheet("High-risk smelters"), (
        "Smelter ID", "Metal", "Standard Smelter Name", "Country", "RMAP Status", "Reported by", "Why (risk factors)",
    ), (
        [h["cid"], h["metal"], h["standard_name"], h["country"], h["rmap_status"], ", ".join(h["suppliers"]),
         "; ".join(h.get("reasons") or ())]
        for h in figures["high_risk_smelters"]
    ), widths={3: 45, 6: 45, 7: 90})

    if figures.get("minerals") is not None:  # an EMRT campaign: its figures per mineral (models.facts.figures)
        write_table(wb.create_sheet("Minerals"), (
            "Mineral", "Responses declaring it", "Valid", "Valid share", "Smelters and processors", "Conformant",
            "Active", "Not Enrolled", "Not known to the reference list", "Conformant share", "Mines",
        ), (
            [m["mineral"], m["responses"], m["valid"]["count"], share_cell(m["valid"]["count"], m["valid"]["of"]),
             m["smelters"]["total"], m["smelters"]["conformant"], m["smelters"]["active"],
             m["smelters"]["not_enrolled"], m["smelters"]["unknown_entities"],
             share_cell(m["smelters"]["conformant"], m["smelters"]["total"]), len(m["mines"])]
            for m in figures["minerals"]
        ), widths={2: 22, 9: 30})
        write_table(wb.create_sheet("Mines"), ("Mineral", "Mine", "Country", "Reported by"), (
            [m["mineral"], mine["mine_name"], mine["country"], ", ".join(mine["suppliers"])]
            for m in figures["minerals"] for mine in m["mines"]
        ), widths={2: 45, 4: 45})

    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


SCORECARD_HEADER = (
    "Supplier ID", "Supplier", "Category", "Year", "Grade", "Total", "Standing",
    *[LABELS[c] for c in COMPONENTS],
    "Previous total", "Previous grade", "Trend", "Change", "Main reasons",
)


def scorecard_rows(cards: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for c in cards:
        reasons = [r["text"] for r in c["reasons"] if r.get("points", 0) > 0 or r["component"] == "decision"][:3]
        if c.get("provisional"):
            reasons.append("Provisional: " + "; ".join(c.get("provisional_because") or []) + ".")
        standing = {True: "Provisional", False: "Final"}.get(c.get("provisional"), "")
        rows.append([
            c["supplier_id"], c["supplier_name"], c.get("category"), c["year"], c["grade"], c["total"], standing,
            *[(c["components"].get(name) or {}).get("score") for name in COMPONENTS],
            c.get("previous_total"), c.get("previous_grade"), c["trend"]["direction"], c["trend"]["delta"],
            " ".join(reasons),
        ])
    return rows


def scorecards_workbook(cards: list[dict[str, Any]], path: Path, *, year: int) -> Path:
    """One row per supplier: components, total, grade, and the trend against the previous year."""
    wb = new_workbook()
    ws = wb.create_sheet(f"Scorecards {year}")
    write_table(ws, SCORECARD_HEADER, scorecard_rows(cards), widths={2: 35, len(SCORECARD_HEADER): 90})
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path

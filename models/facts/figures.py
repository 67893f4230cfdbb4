"""The figures of the Conflict Minerals Report, defined once: what each count means, its denominator, and how
a share is rounded and said. Pure functions over plain data; the campaign report (read model) and the files
report (CMRTs collected outside the engine) gather their records at the edge and both call
:func:`compute_figures`.

Definitions (as the seed Conflict Minerals Report uses them; every share names its denominator):

- surveyed: suppliers in scope (withdrawn surveys excluded; with files, the supplier list when given). Each
  surveyed supplier is in exactly one standing (:data:`STANDINGS`): valid, invalid never corrected, still
  correcting, or not submitted, so those four counts add up to the surveyed count;
- submitted: suppliers with at least one file that reached the survey (a file refused at the door, such as
  a photo, never counts); the responses received are these suppliers, so every share "of the responses"
  has the submitted count as its denominator. A response is either readable (a CMRT the checker could
  read) or not readable; readable ones are company-level, product-level, user-defined or of no stated
  scope (:data:`SCOPES`), so the scope counts add up to the responses;
- submitted an invalid CMRT: corrected (a valid CMRT after an invalid one), never corrected, or still
  correcting: those three add up;
- smelters identified: known smelters unique by CID across the valid declarations; by RMAP status
  Conformant, Active and Not Enrolled (every other status), and the Conformant share per metal.

Percentages are rounded half up to whole numbers; :func:`share_words` says them so that no sentence
contradicts its count ("none", "fewer than 1%", "approximately 71%", "more than 99%", "all").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable, Sequence

from models.facts.scorecard import OPEN_PLAN_STATES  # plan states: workflows/corrective_action.py
from models.facts.template_kind import workbook_minerals

REPORT_METALS: tuple[str, ...] = ("Gold", "Tantalum", "Tin", "Tungsten")  # the seed's order
SMELTER_STATUSES: tuple[str, ...] = ("Conformant", "Active", "Not Enrolled")
# Where a surveyed supplier stands; "withdrawn" is out of scope and in none of them.
STANDINGS: tuple[str, ...] = ("valid", "invalid_uncorrected", "awaiting_correction", "not_submitted")
# The scope of a response: what the declaration says, or that it could not be read.
SCOPES: tuple[str, ...] = ("company", "product", "user_defined", "not_stated", "unreadable")


# --- shares and how they are said -----------------------------------------------------------------


def percent(count: int, of: int) -> int | None:
    """An "approximately N%" figure: rounded half up (71.17 -> 71, 62.79 -> 63), None when nothing to divide."""
    if not of:
        return None
    return int((Decimal(count) * 100 / Decimal(of)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def share(count: int, of: int, denominator: str) -> dict[str, Any]:
    return {"count": count, "of": of, "denominator": denominator, "percent": percent(count, of),
            "ratio": round(count / of, 4) if of else None}


def share_kind(count: int, of: int) -> str:
    """How a share must be said: none, fewer_than_1, approximately, more_than_99 or all.

    "approximately 0%" of a count that is not zero (or "approximately 100%" of a part) would contradict the
    count, and "approximately 0%" of nothing is better said "none"."""
    if count <= 0 or not of:
        return "none"
    if count >= of:
        return "all"
    p = percent(count, of)
    if p == 0:
        return "fewer_than_1"
    if p == 100:
        return "more_than_99"
    return "approximately"


def share_words(count: int, of: int, *, start: bool = False) -> str:
    """The share in words, to be followed by "of the ...": "approximately 71%", "fewer than 1%", "none", "all"."""
    kind = share_kind(count, of)
    text = {"none": "none", "all": "all", "fewer_than_1": "fewer than 1%", "more_than_99": "more than 99%",
            "approximately": f"approximately {percent(count, of)}%"}[kind]
    return text[:1].upper() + text[1:] if start else text


def percent_cell(count: int, of: int) -> str:
    """The share in a table cell: "71%", "0%" for none, "<1%", ">99%", "100%" for all; "–" when nothing to divide."""
    if not of:
        return "–"
    return {"none": "0%", "all": "100%", "fewer_than_1": "<1%", "more_than_99": ">99%"}.get(
        share_kind(count, of), f"{percent(count, of)}%")


# --- one supplier ---------------------------------------------------------------------------------


def supplier_standing(verdicts: Sequence[str | None], *, withdrawn: bool = False, final: bool) -> str:
    """Where a supplier stands from its submissions' verdicts (after hand review, in the order received).

    ``final``: nothing more can arrive (the survey has an outcome; a folder of collected files)."""
    if withdrawn:
        return "withdrawn"
    if any(v == "valid" for v in verdicts):
        return "valid"
    if not verdicts:
        return "not_submitted"
    return "invalid_uncorrected" if final else "awaiting_correction"


def corrected(verdicts: Sequence[str | None], *, ordered: bool = True) -> bool:
    """A valid CMRT after one that was not: the supplier corrected its submission. ``ordered=False`` for
    files whose order is unknown (a folder of collected CMRTs): a valid one beside one that was not."""
    first_valid = next((i for i, v in enumerate(verdicts) if v == "valid"), None)
    if first_valid is None:
        return False
    return any(v != "valid" for v in verdicts) if not ordered else first_valid > 0


def scope_level(result: dict[str, Any] | None) -> str | None:
    if not result:
        return None
    level = (result.get("summary") or {}).get("scope_level")
    if level:
        return level
    scope = ((result.get("declaration") or {}).get("scope") or "").casefold()
    return "company" if "company" in scope else "product" if "product" in scope else "user_defined" if scope else None


def response_scope(result: dict[str, Any] | None) -> str:
    """One of :data:`SCOPES` for a supplier that responded: the declared scope, or unreadable."""
    if result is None:
        return "unreadable"
    level = scope_level(result)
    return level if level in ("company", "product", "user_defined") else "not_stated"


def q6_below_100(result: dict[str, Any] | None) -> list[str]:
    """In-scope metals whose Q6 (share of the supplier's own suppliers that answered) is below 100%."""
    if not result:
        return []
    q6 = (result.get("questions") or {}).get("Q6") or {}
    metals = result.get("metals_in_scope") or []
    out = []
    for metal in metals:
        answer = ((q6.get(metal) or {}).get("answer") or "").strip()
        if answer and answer != "100%":
            out.append(metal)
    return out


_REVIEW_BY = re.compile(r"^(?P<reason>.*?)\s*\((?P<by>[^()]*)\)\s*$", re.S)


def hand_review(decision: str | None, reason: str | None) -> dict[str, str | None] | None:
    """A person's decision on a submission as recorded ("accepted", "reason (by)"): decision, by, reason."""
    if not decision:
        return None
    text = (reason or "").strip()
    m = _REVIEW_BY.match(text)
    by, why = (m["by"].strip() or None, m["reason"].strip()) if m else (None, text)
    return {"decision": decision, "by": by, "reason": why or None}


@dataclass
class SupplierRecord:
    """One supplier in the report: what it sent and what counts from it."""

    supplier_id: str | None
    supplier_name: str
    category: str | None = None
    on_list: bool = True  # counts in the denominator (a file from an unlisted company does not)
    status: str = "not_submitted"  # one of STANDINGS, or withdrawn (supplier_standing)
    result: dict[str, Any] | None = None  # the CheckResult JSON of the declaration used
    files: list[str] = field(default_factory=list)
    submissions: int = 0
    outcome: str | None = None
    corrected: bool = False  # a valid CMRT after an invalid one (corrected())
    # The hand review of the declaration used, when a person overruled the checker (hand_review())
    review: dict[str, str | None] | None = None

    @property
    def submitted(self) -> bool:
        return self.submissions > 0


# --- the computation ------------------------------------------------------------------------------


def compute_figures(records: list[SupplierRecord], *, smelters_of: Callable[[dict[str, Any] | None], Any],
                    source: dict[str, Any], corrective_actions: dict[str, int] | None = None,
                    escalations: dict[str, Any] | None = None, include_invalid: bool = False,
                    unreviewed: int | None = None) -> dict[str, Any]:
    """Every figure of the report from the suppliers' records. ``unreviewed``: the campaign's review items no
    one has answered yet (models.facts.review.open_items), stated so the report says what is still unsure.

    ``smelters_of(result)`` gives the known smelters (by CID, each with ``metal``, ``status_group``,
    ``risk``...) and unknown entities of one declaration (outreach.reports.smelters.supplier_smelters)."""
    listed = [r for r in records if r.on_list and r.status != "withdrawn"]
    surveyed = len(listed)
    submitted = [r for r in listed if r.submitted]
    responses = len(submitted)
    counted = [r for r in records if r.result is not None and r.status != "withdrawn"
               and (r.status == "valid" or include_invalid)]

    per_supplier: dict[int, Any] = {id(r): smelters_of(r.result) for r in counted}
    known: dict[str, Any] = {}
    reporters: dict[str, list[str]] = {}
    unknown: dict[tuple[str, str], Any] = {}
    unknown_reporters: dict[tuple[str, str], list[str]] = {}
    for r in counted:
        parts = per_supplier[id(r)]
        for cid, s in parts.known.items():
            known.setdefault(cid, s)
            reporters.setdefault(cid, []).append(r.supplier_name)
        for key, e in parts.unknown.items():
            unknown.setdefault(key, e)
            unknown_reporters.setdefault(key, []).append(r.supplier_name)

    total = len(known)
    by_status = [{"status": st, **share(sum(1 for s in known.values() if s.status_group == st), total, "smelters")}
                 for st in SMELTER_STATUSES]
    by_metal = []
    for metal in REPORT_METALS:
        of_metal = [s for s in known.values() if s.metal == metal]
        counts = {st: sum(1 for s in of_metal if s.status_group == st) for st in SMELTER_STATUSES}
        by_metal.append({
            "metal": metal, "total": len(of_metal), "conformant": counts["Conformant"], "active": counts["Active"],
            "not_enrolled": counts["Not Enrolled"], "conformant_percent": percent(counts["Conformant"], len(of_metal)),
        })
    appendix = sorted(known.values(), key=lambda s: (s.metal, s.cid))

    def supplier_row(r: SupplierRecord) -> dict[str, Any]:
        parts = per_supplier.get(id(r)) or smelters_of(r.result)
        decl = (r.result or {}).get("declaration") or {}
        verdict = (r.result or {}).get("verdict")
        return {
            "supplier_id": r.supplier_id, "supplier_name": r.supplier_name, "category": r.category,
            "on_list": r.on_list, "status": r.status, "outcome": r.outcome, "submissions": r.submissions,
            "files": r.files, "declared_company": decl.get("company_name"),
            "effective_date": decl.get("effective_date") or decl.get("effective_date_text"),
            "template_version": ((r.result or {}).get("template") or {}).get("version"),
            "verdict": verdict, "review": r.review,
            "errors": sum(1 for f in (r.result or {}).get("findings") or [] if f.get("severity") == "error"),
            "scope_level": scope_level(r.result),
            "program_strength": (r.result or {}).get("program_strength") if r.result else None,
            "metals_in_scope": (r.result or {}).get("metals_in_scope") or [],
            "q6_below_100": q6_below_100(r.result),
            "smelters_counted": id(r) in per_supplier,
            "known_smelters": len(parts.known), "conformant": parts.count("Conformant"), "active": parts.count("Active"),
            "not_enrolled": parts.count("Not Enrolled"), "unknown_entities": len(parts.unknown),
            "high_risk": len(parts.high_risk),
            "smelters": [{"cid": s.cid, "metal": s.metal, "standard_name": s.standard_name, "country": s.country,
                          "rmap_status": s.rmap_status, "risk": s.risk,
                          "risk_reasons": list(getattr(s, "risk_reasons", ()))}
                         for s in sorted(parts.known.values(), key=lambda s: (s.metal, s.cid))],
        }

    def of_surveyed(pred: Callable[[SupplierRecord], bool]) -> dict[str, Any]:
        return share(sum(1 for r in listed if pred(r)), surveyed, "surveyed")

    def of_responses(pred: Callable[[SupplierRecord], bool]) -> dict[str, Any]:
        return share(sum(1 for r in submitted if pred(r)), responses, "responses")

    return {
        "source": source,
        "suppliers_surveyed": surveyed,
        "withdrawn": sum(1 for r in records if r.status == "withdrawn"),
        "submitted": of_surveyed(lambda r: r.submitted),
        "not_submitted": of_surveyed(lambda r: not r.submitted),
        "valid": of_surveyed(lambda r: r.status == "valid"),
        "invalid_uncorrected": of_surveyed(lambda r: r.status == "invalid_uncorrected"),
        "awaiting_correction": of_surveyed(lambda r: r.status == "awaiting_correction"),
        "corrected": of_surveyed(lambda r: r.status == "valid" and r.corrected),
        "submitted_invalid": of_surveyed(lambda r: r.status in ("invalid_uncorrected", "awaiting_correction")
                                         or (r.status == "valid" and r.corrected)),
        "responses": responses,
        "unreadable": of_responses(lambda r: r.result is None),
        "scopes": {scope: sum(1 for r in submitted if response_scope(r.result) == scope) for scope in SCOPES},
        "company_level": of_responses(lambda r: response_scope(r.result) == "company"),
        "q6_below_100": of_surveyed(lambda r: bool(q6_below_100(r.result))),
        "weak_program": of_responses(lambda r: (r.result or {}).get("program_strength") == "weak"),
        "smelters": {"total": total, "by_status": by_status, "by_metal": by_metal},
        "appendix_a": [{"metal": s.metal, "standard_name": s.standard_name, "country": s.country, "cid": s.cid,
                        "rmap_status": s.status_group} for s in appendix],
        "unknown_entities": [
            {"metal": e.metal, "name": e.name, "country": e.country, "suggestion": e.suggestion,
             "suppliers": sorted(set(unknown_reporters[k]))}
            for k, e in sorted(unknown.items(), key=lambda kv: (kv[1].metal or "", kv[1].name.casefold()))
        ],
        "high_risk_smelters": [
            {"cid": s.cid, "metal": s.metal, "standard_name": s.standard_name, "country": s.country,
             "rmap_status": s.rmap_status, "suppliers": sorted(set(reporters[s.cid])),
             "reasons": list(getattr(s, "risk_reasons", ()))}
            for s in appendix if s.risk == "high"
        ],
        "not_conformant_or_active": [
            {"cid": s.cid, "metal": s.metal, "standard_name": s.standard_name, "country": s.country,
             "rmap_status": s.rmap_status} for s in appendix if s.status_group == "Not Enrolled"
        ],
        "corrective_actions": corrective_actions,
        "escalations": escalations,
        "review": {"unreviewed": unreviewed} if unreviewed is not None else None,
        # An EMRT campaign's figures per mineral (source["template"] says which template was asked for).
        **({"minerals": mineral_figures(records, smelters_of=smelters_of, minerals=source.get("minerals") or EMRT_MINERALS)}
           if source.get("template") == "EMRT" else {}),
        "suppliers": [supplier_row(r) for r in sorted(records, key=lambda r: (r.supplier_name.casefold(), r.supplier_id or ""))],
    }


# --- per mineral (EMRT campaigns) --------------------------------------------------------------------

EMRT_MINERALS: tuple[str, ...] = tuple(workbook_minerals())  # as the EMRT writes them


def mineral_figures(records: list[SupplierRecord], *, smelters_of: Callable[[dict[str, Any] | None], Any],
                    minerals: Sequence[str] = EMRT_MINERALS) -> list[dict[str, Any]]:
    """Per mineral of an EMRT campaign: the responses that declare it (the minerals the EMRT selects), the
    valid share of them, the smelters and processors of the valid ones by status (unique by CID; rows the
    reference list does not know counted apart), conformant share, and the mines listed with their country
    (unique by mine and country). The same surveyed suppliers as compute_figures; withdrawn ones never count."""
    listed = [r for r in records if r.on_list and r.status != "withdrawn" and r.submitted]
    out = []
    for mineral in minerals:
        declaring = [r for r in listed if mineral in ((r.result or {}).get("minerals_selected") or [])]
        valid = [r for r in declaring if r.status == "valid"]
        known: dict[str, Any] = {}
        unknown: set[tuple[str, str]] = set()
        mines: dict[tuple[str, str], dict[str, Any]] = {}
        for r in valid:
            parts = smelters_of(r.result)
            known.update({cid: s for cid, s in parts.known.items() if s.metal == mineral and cid not in known})
            unknown.update(k for k, e in parts.unknown.items() if e.metal == mineral)
            for m in (r.result or {}).get("mines") or []:
                name = " ".join(str(m.get("mine_name") or "").split())
                if m.get("metal") == mineral and name:
                    mines.setdefault((name.casefold(), str(m.get("country") or "").upper()),
                                     {"mine_name": name, "country": m.get("country"), "suppliers": []})["suppliers"].append(
                        r.supplier_name)
        counts = {st: sum(1 for s in known.values() if s.status_group == st) for st in SMELTER_STATUSES}
        out.append({
            "mineral": mineral, "responses": len(declaring), "valid": share(len(valid), len(declaring), "responses"),
            "smelters": {"total": len(known), "conformant": counts["Conformant"], "active": counts["Active"],
                         "not_enrolled": counts["Not Enrolled"], "unknown_entities": len(unknown),
                         "conformant_percent": percent(counts["Conformant"], len(known))},
            "mines": [{**m, "suppliers": sorted(set(m["suppliers"]))}
                      for _, m in sorted(mines.items())],
        })
    return out


# --- corrective actions and escalations -------------------------------------------------------------


def plan_figures(plans: Iterable[Any], actions: Iterable[Any], *, as_of: datetime) -> dict[str, int]:
    """Corrective action plans (``.state``) and their actions (``.status``, ``.target_date``): every plan in
    exactly one part, so the parts add up to ``plans``. Plans cancelled with a withdrawn survey are left out."""
    plans = [p for p in plans if p.state != "cancelled"]
    actions = list(actions)
    pending = [a for a in actions if a.status not in ("verified", "refused")]
    return {
        "plans": len(plans),
        "plans_open": sum(1 for p in plans if p.state in OPEN_PLAN_STATES),
        "plans_closed": sum(1 for p in plans if p.state == "closed"),
        "plans_overdue": sum(1 for p in plans if p.state == "overdue"),
        "plans_refused": sum(1 for p in plans if p.state == "refused"),
        # any state the lines above do not name, so the parts always add up to "plans"
        "plans_other": sum(1 for p in plans if p.state not in (*OPEN_PLAN_STATES, "closed", "overdue", "refused")),
        "actions_open": len(pending),
        "actions_overdue": sum(1 for a in pending if a.target_date < as_of),
        "actions_closed": sum(1 for a in actions if a.status == "verified"),
        "actions_refused": sum(1 for a in actions if a.status == "refused"),
    }


def escalation_figures(escalations: Iterable[Any]) -> dict[str, Any]:
    """Escalations (``.decision``, ``.closed_at``, ``.closed_as``, ``.reason``): each counted once, as open
    (awaiting the VP), decided, lapsed, or withdrawn without a decision."""
    escalations = list(escalations)
    decisions: dict[str, int] = {}
    for e in escalations:
        if e.decision:
            decisions[e.decision] = decisions.get(e.decision, 0) + 1
    undecided = [e for e in escalations if not e.decision]
    return {
        "total": len(escalations), "open": sum(1 for e in undecided if e.closed_at is None),
        "lapsed": sum(1 for e in undecided if e.closed_as == "lapsed"),
        "withdrawn": sum(1 for e in undecided if e.closed_at is not None and e.closed_as != "lapsed"),
        "decisions": decisions,
        "by_reason": {reason: sum(1 for e in escalations if e.reason == reason)
                      for reason in sorted({e.reason for e in escalations})},
    }

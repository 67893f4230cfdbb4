"""The campaign's figures for the Conflict Minerals Report: RCOI and due-diligence results.

Two sources, one computation (:func:`compute_figures`):

- a campaign in the database (:func:`campaign_figures`): every survey of the campaign (or of every
  campaign of a year), its submissions, corrective actions and escalations;
- CMRT files collected outside the engine (:func:`files_figures`): a folder or a zip, each file checked
  with ``cmrt.check``, grouped by supplier, with an optional supplier list (CSV) as the denominator.

Definitions (as the seed Conflict Minerals Report uses them; denominators are named in the output):

- surveyed: suppliers in scope (withdrawn surveys excluded; with files, the supplier list when given);
- submitted, valid, invalid never corrected, Q6 below 100%: shares of the surveyed suppliers;
- company-level declarations and weak programs: shares of the responses (suppliers whose CMRT could
  be read), as "65% of the responses received" and "9% of the Surveyed Suppliers that completed a CMRT";
- smelters identified: known smelters (on the reference list) unique by CID across the valid
  declarations; by RMAP status Conformant, Active and Not Enrolled (every other status), and the
  Conformant share per metal. Percentages are rounded half up to whole numbers ("approximately");
- entities that are not known smelters: rows that matched no smelter, unique by metal and name,
  with the suppliers that reported them (the list sent to the RMI).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy.engine import Engine
from sqlmodel import select

from cmrt.messages import finding
from cmrt.reference import ReferenceList, normalise_name
from cmrt.types import CheckResult
from models.tables import Campaign, CorrectiveAction, CorrectiveActionPlan, Escalation, Submission, Supplier, Survey
from outreach.db import session_scope
from outreach.reports.smelters import STATUSES, SupplierSmelters, current_reference, supplier_smelters

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb"}
MAX_FILE_BYTES = 20 * 1024 * 1024
REPORT_METALS: tuple[str, ...] = ("Gold", "Tantalum", "Tin", "Tungsten")  # the seed's order


class ReportInputError(ValueError):
    """A report's input cannot be used; the message says which and why, in one line."""


def percent(count: int, of: int) -> int | None:
    """An "approximately N%" figure: rounded half up (71.17 -> 71, 62.79 -> 63), None when nothing to divide."""
    if not of:
        return None
    return int((Decimal(count) * 100 / Decimal(of)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def share(count: int, of: int, denominator: str) -> dict[str, Any]:
    return {"count": count, "of": of, "denominator": denominator, "percent": percent(count, of),
            "ratio": round(count / of, 4) if of else None}


@dataclass
class SupplierRecord:
    """One supplier in the report: what it sent and what counts from it."""

    supplier_id: str | None
    supplier_name: str
    category: str | None = None
    on_list: bool = True  # counts in the denominator (a file from an unlisted company does not)
    status: str = "not_submitted"  # valid | invalid_uncorrected | awaiting_correction | not_submitted | withdrawn
    result: dict[str, Any] | None = None  # the CheckResult JSON of the declaration used
    files: list[str] = field(default_factory=list)
    submissions: int = 0
    outcome: str | None = None

    @property
    def submitted(self) -> bool:
        return self.submissions > 0


# --- facts of one declaration -------------------------------------------------------------------


def scope_level(result: dict[str, Any] | None) -> str | None:
    if not result:
        return None
    level = (result.get("summary") or {}).get("scope_level")
    if level:
        return level
    scope = ((result.get("declaration") or {}).get("scope") or "").casefold()
    return "company" if "company" in scope else "product" if "product" in scope else "user_defined" if scope else None


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


# --- the computation ----------------------------------------------------------------------------


def compute_figures(records: list[SupplierRecord], *, reference: ReferenceList | None, source: dict[str, Any],
                    corrective_actions: dict[str, int] | None = None, escalations: dict[str, Any] | None = None,
                    include_invalid: bool = False) -> dict[str, Any]:
    listed = [r for r in records if r.on_list and r.status != "withdrawn"]
    surveyed = len(listed)
    responses = [r for r in listed if r.result is not None]
    counted = [r for r in records if r.result is not None and r.status != "withdrawn"
               and (r.status == "valid" or include_invalid)]

    per_supplier: dict[int, SupplierSmelters] = {id(r): supplier_smelters(r.result, reference) for r in counted}
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
                 for st in STATUSES]
    by_metal = []
    for metal in REPORT_METALS:
        of_metal = [s for s in known.values() if s.metal == metal]
        counts = {st: sum(1 for s in of_metal if s.status_group == st) for st in STATUSES}
        by_metal.append({
            "metal": metal, "total": len(of_metal), "conformant": counts["Conformant"], "active": counts["Active"],
            "not_enrolled": counts["Not Enrolled"], "conformant_percent": percent(counts["Conformant"], len(of_metal)),
        })
    appendix = sorted(known.values(), key=lambda s: (s.metal, s.cid))

    def supplier_row(r: SupplierRecord) -> dict[str, Any]:
        parts = per_supplier.get(id(r)) or supplier_smelters(r.result, reference)
        decl = (r.result or {}).get("declaration") or {}
        return {
            "supplier_id": r.supplier_id, "supplier_name": r.supplier_name, "category": r.category,
            "on_list": r.on_list, "status": r.status, "outcome": r.outcome, "submissions": r.submissions,
            "files": r.files, "declared_company": decl.get("company_name"),
            "effective_date": decl.get("effective_date") or decl.get("effective_date_text"),
            "template_version": ((r.result or {}).get("template") or {}).get("version"),
            "verdict": (r.result or {}).get("verdict"),
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
                          "rmap_status": s.rmap_status, "risk": s.risk}
                         for s in sorted(parts.known.values(), key=lambda s: (s.metal, s.cid))],
        }

    return {
        "source": source,
        "suppliers_surveyed": surveyed,
        "withdrawn": sum(1 for r in records if r.status == "withdrawn"),
        "submitted": share(sum(1 for r in listed if r.submitted), surveyed, "surveyed"),
        "not_submitted": share(sum(1 for r in listed if not r.submitted), surveyed, "surveyed"),
        "valid": share(sum(1 for r in listed if r.status == "valid"), surveyed, "surveyed"),
        "invalid_uncorrected": share(sum(1 for r in listed if r.status == "invalid_uncorrected"), surveyed, "surveyed"),
        "awaiting_correction": share(sum(1 for r in listed if r.status == "awaiting_correction"), surveyed, "surveyed"),
        "responses": len(responses),
        "company_level": share(sum(1 for r in responses if scope_level(r.result) == "company"), len(responses), "responses"),
        "q6_below_100": share(sum(1 for r in listed if q6_below_100(r.result)), surveyed, "surveyed"),
        "weak_program": share(sum(1 for r in responses if r.result.get("program_strength") == "weak"), len(responses), "responses"),
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
             "rmap_status": s.rmap_status, "suppliers": sorted(set(reporters[s.cid]))}
            for s in appendix if s.risk == "high"
        ],
        "not_conformant_or_active": [
            {"cid": s.cid, "metal": s.metal, "standard_name": s.standard_name, "country": s.country,
             "rmap_status": s.rmap_status} for s in appendix if s.status_group == "Not Enrolled"
        ],
        "corrective_actions": corrective_actions,
        "escalations": escalations,
        "suppliers": [supplier_row(r) for r in sorted(records, key=lambda r: (r.supplier_name.casefold(), r.supplier_id or ""))],
    }


# --- from the database --------------------------------------------------------------------------


def campaign_figures(engine: Engine, campaign: str | int, *, reference: ReferenceList | None = None,
                     as_of: datetime | None = None) -> dict[str, Any]:
    """Figures for one campaign (by ID) or every campaign of a year (an int or digits)."""
    from models.columns import utcnow
    from outreach.scorecards import OPEN_PLAN_STATES, declaration_used, effective_verdict

    reference = reference if reference is not None else current_reference(engine)
    as_of = as_of or utcnow()
    with session_scope(engine) as session:
        if isinstance(campaign, int) or str(campaign).isdigit():
            campaigns = session.exec(select(Campaign).where(Campaign.year == int(campaign))).all()
        else:
            found = session.get(Campaign, str(campaign))
            campaigns = [found] if found else []
        if not campaigns:
            raise ReportInputError(f"no campaign {campaign!r} in the database")
        ids = [c.id for c in campaigns]
        surveys = session.exec(select(Survey).where(Survey.campaign_id.in_(ids))).all()
        latest: dict[str, Survey] = {}
        for sv in sorted(surveys, key=lambda s: (s.created_at, s.id)):
            latest[sv.supplier_id] = sv  # one row per supplier: its latest survey of the year
        survey_ids = [s.id for s in latest.values()]
        suppliers = {s.id: s for s in session.exec(select(Supplier).where(Supplier.id.in_(list(latest)))).all()}
        subs_by_survey: dict[str, list[Submission]] = {}
        for sub in session.exec(select(Submission).where(Submission.survey_id.in_(survey_ids))
                                .order_by(Submission.received_at, Submission.id)).all():
            subs_by_survey.setdefault(sub.survey_id, []).append(sub)
        plans = session.exec(select(CorrectiveActionPlan).where(CorrectiveActionPlan.survey_id.in_(survey_ids))).all()
        actions = session.exec(select(CorrectiveAction).where(
            CorrectiveAction.plan_id.in_([p.id for p in plans]))).all() if plans else []
        escalations = session.exec(select(Escalation).where(Escalation.survey_id.in_(survey_ids))).all()

    records = []
    for supplier_id, sv in latest.items():
        supplier = suppliers.get(supplier_id)
        subs = subs_by_survey.get(sv.id, [])
        used = declaration_used(subs)
        if sv.outcome == "withdrawn":
            status = "withdrawn"
        elif any(effective_verdict(s) == "valid" for s in subs):
            status = "valid"
        elif not subs:
            status = "not_submitted"
        elif sv.outcome is not None:
            status = "invalid_uncorrected"
        else:
            status = "awaiting_correction"
        records.append(SupplierRecord(
            supplier_id=supplier_id, supplier_name=supplier.name if supplier else supplier_id,
            category=supplier.category if supplier else None, status=status,
            result=used.result if used is not None else None,
            files=[s.filename or s.id for s in subs], submissions=len(subs), outcome=sv.outcome,
        ))

    pending = [a for a in actions if a.status not in ("verified", "refused")]
    plans = [p for p in plans if p.state != "cancelled"]  # cancelled with a withdrawn survey
    cap_figures = {
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
    decisions: dict[str, int] = {}
    for e in escalations:
        if e.decision:
            decisions[e.decision] = decisions.get(e.decision, 0) + 1
    # Every escalation counted once: open (awaiting the VP), decided, lapsed or withdrawn without a decision.
    undecided = [e for e in escalations if not e.decision]
    esc_figures = {
        "total": len(escalations), "open": sum(1 for e in undecided if e.closed_at is None),
        "lapsed": sum(1 for e in undecided if e.closed_as == "lapsed"),
        "withdrawn": sum(1 for e in undecided if e.closed_at is not None and e.closed_as != "lapsed"),
        "decisions": decisions,
        "by_reason": {reason: sum(1 for e in escalations if e.reason == reason) for reason in sorted({e.reason for e in escalations})},
    }
    source = {"kind": "campaign", "campaigns": ids, "year": campaigns[0].year,
              "name": campaigns[0].name if len(campaigns) == 1 else f"{campaigns[0].year} campaigns"}
    return compute_figures(records, reference=reference, source=source, corrective_actions=cap_figures,
                           escalations=esc_figures)


# --- from files -----------------------------------------------------------------------------------


@dataclass
class ListedSupplier:
    supplier_id: str | None
    name: str
    category: str | None = None


_ID_HEADERS = ("supplier_id", "supplier id", "id", "vendor_id", "vendor id", "supplier number", "vendor number")
_NAME_HEADERS = ("name", "supplier_name", "supplier name", "supplier", "company", "company name", "vendor", "vendor name")


def read_supplier_list(path: Path) -> list[ListedSupplier]:
    """A CSV of the surveyed suppliers: a name column (name, supplier, company...) and optionally an ID."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportInputError(f"cannot read supplier list {path}: {exc}") from exc
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ReportInputError(f"supplier list {path} is empty")
    header = [h.strip().casefold() for h in rows[0]]
    id_col = next((header.index(h) for h in _ID_HEADERS if h in header), None)
    name_col = next((header.index(h) for h in _NAME_HEADERS if h in header), None)
    cat_col = header.index("category") if "category" in header else None
    if name_col is None and id_col is None:
        raise ReportInputError(f"supplier list {path} needs a 'name' or 'supplier_id' column (found: {rows[0]})")
    out = []
    for row in rows[1:]:
        cells = row + [""] * (len(header) - len(row))
        sid = cells[id_col].strip() if id_col is not None else ""
        name = cells[name_col].strip() if name_col is not None else ""
        if not sid and not name:
            continue
        out.append(ListedSupplier(sid or None, name or sid, (cells[cat_col].strip() or None) if cat_col is not None else None))
    return out


def collect_files(path: Path) -> Iterator[tuple[str, bytes | Path | None]]:
    """(name, workbook) for every workbook in a folder (recursively) or a zip file, sorted by name, one at
    a time: a folder's files as paths (checked without being loaded here), a zip's members as their
    bytes, read at most one byte past the size limit (a lying size header cannot inflate a bomb), or
    None when a member cannot be unpacked. ReportInputError when the archive itself cannot be opened."""
    if not path.exists():
        raise ReportInputError(f"no such file or directory: {path}")
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and p.suffix.lower() in WORKBOOK_SUFFIXES and not p.name.startswith("~$"):
                yield str(p.relative_to(path)), p
        return
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError, EOFError) as exc:
        raise ReportInputError(f"{path} is neither a folder nor a zip file of CMRTs that can be opened ({exc})") from None
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            name = info.filename
            if info.is_dir() or Path(name).suffix.lower() not in WORKBOOK_SUFFIXES or "__MACOSX" in name:
                continue
            try:
                with zf.open(info) as fh:
                    data: bytes | None = fh.read(MAX_FILE_BYTES + 1)
            except Exception:  # noqa: BLE001 - zlib.error, NotImplementedError, a bad CRC: this member only
                data = None
            yield name, data


def _name_key(name: str | None) -> str:
    return normalise_name(name or "") or (name or "").strip().casefold()


def _match_listed(filename: str, company: str | None, listed: list[ListedSupplier]) -> ListedSupplier | None:
    key = _name_key(company)
    if key:
        for s in listed:
            if _name_key(s.name) == key:
                return s
    stem = Path(filename).stem.casefold()
    for s in listed:  # the supplier ID as a whole token of the file name: "S-1_cmrt" is S-1, not S-10
        if s.supplier_id and re.search(rf"(?<![a-z0-9]){re.escape(s.supplier_id.casefold())}(?![a-z0-9])", stem):
            return s
    squashed = "".join(ch for ch in stem if ch.isalnum())
    for s in listed:
        name_key = _name_key(s.name).replace(" ", "")
        if len(name_key) >= 4 and name_key in squashed:
            return s
    return None


def files_figures(path: Path, *, suppliers_csv: Path | None = None, reference: ReferenceList | None = None,
                  campaign_year: int | None = None) -> dict[str, Any]:
    """Figures for CMRT files collected outside the engine (a folder or a zip)."""
    from outreach.settings import workbook_guard

    reference = reference if reference is not None else current_reference(None)
    listed = read_supplier_list(suppliers_csv) if suppliers_csv else []
    checked: list[tuple[str, dict[str, Any]]] = []
    guard = workbook_guard()
    for name, data in collect_files(path):
        if data is None:
            checked.append((name, CheckResult(file=name, verdict="unreadable", findings=[finding(
                "corrupt_workbook", detail="it could not be unpacked from the zip file")]).to_json_dict()))
            continue
        result = guard.check(data, filename=name, reference=reference, max_bytes=MAX_FILE_BYTES,
                            campaign_year=campaign_year)
        checked.append((name, result.to_json_dict()))

    groups: dict[str, SupplierRecord] = {}
    by_group: dict[str, list[dict[str, Any]]] = {}
    for s in listed:
        key = f"id:{s.supplier_id}" if s.supplier_id else f"name:{_name_key(s.name)}"
        groups[key] = SupplierRecord(s.supplier_id, s.name, s.category, on_list=True)
    for name, result in checked:
        company = (result.get("declaration") or {}).get("company_name")
        match = _match_listed(name, company, listed) if listed else None
        if match is not None:
            key = f"id:{match.supplier_id}" if match.supplier_id else f"name:{_name_key(match.name)}"
        else:
            key = f"name:{_name_key(company) or Path(name).stem.casefold()}"
            if key not in groups:
                groups[key] = SupplierRecord(None, company or Path(name).stem, on_list=not listed)
        groups[key].files.append(name)
        groups[key].submissions += 1
        by_group.setdefault(key, []).append(result)

    for key, results in by_group.items():
        record = groups[key]
        valid = [r for r in results if r.get("verdict") == "valid"]
        readable = [r for r in results if r.get("verdict") != "unreadable"]
        # Files of one supplier: the valid one counts (the latest effective date, then the last name).
        pool = valid or readable
        if pool:
            record.result = max(enumerate(pool), key=lambda ir: (
                str((ir[1].get("declaration") or {}).get("effective_date") or ""), ir[0]))[1]
        record.status = "valid" if valid else "invalid_uncorrected"

    source = {"kind": "files", "path": str(path), "files": len(checked),
              "supplier_list": str(suppliers_csv) if suppliers_csv else None,
              "files_not_on_supplier_list": sorted(f for r in groups.values() if not r.on_list for f in r.files)}
    return compute_figures(list(groups.values()), reference=reference, source=source)

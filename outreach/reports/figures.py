"""The campaign's figures for the Conflict Minerals Report: RCOI and due-diligence results.

Two sources gather the suppliers' records; the figures themselves are defined once, in
:mod:`models.facts.figures` (what each count means, its denominator, how a share is said):

- a campaign in the database (:func:`campaign_figures`): every survey of the campaign (or of every
  campaign of a year), its submissions, corrective actions and escalations;
- CMRT files collected outside the engine (:func:`files_figures`): a folder or a zip, each file checked
  with ``cmrt.check``, grouped by supplier, with an optional supplier list (CSV) as the denominator.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import select

from cmrt.messages import finding
from cmrt.reference import ReferenceList, normalise_name
from cmrt.types import CheckResult
from models.facts import figures as facts
from models.facts.figures import (  # noqa: F401 - the definitions, re-exported for the report's callers
    REPORT_METALS,
    SupplierRecord,
    percent,
    q6_below_100,
    scope_level,
    share,
)
from models.tables import Campaign, CorrectiveAction, CorrectiveActionPlan, Escalation, Submission, Supplier, Survey
from models.facts.template_kind import workbook_minerals
from outreach.db import session_scope
from outreach.reports.smelters import SupplierSmelters, current_reference, supplier_smelters

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb"}
MAX_FILE_BYTES = 20 * 1024 * 1024


class ReportInputError(ValueError):
    """A report's input cannot be used; the message says which and why, in one line."""


def compute_figures(records: list[SupplierRecord], *, reference: ReferenceList | None, source: dict[str, Any],
                    corrective_actions: dict[str, int] | None = None, escalations: dict[str, Any] | None = None,
                    include_invalid: bool = False, matched: SmeltersMatched | None = None,
                    unreviewed: int | None = None) -> dict[str, Any]:
    """models.facts.figures.compute_figures with the smelters of each declaration matched to ``reference``
    (by ``matched`` when it has matched them already)."""
    matched = matched if matched is not None else SmeltersMatched(reference)
    return facts.compute_figures(records, smelters_of=matched.smelters_of,
                                 source=source, corrective_actions=corrective_actions, escalations=escalations,
                                 include_invalid=include_invalid, unreviewed=unreviewed)


class SmeltersMatched:
    """Each declaration's smelters matched once to one reference list. A report of many suppliers keeps
    the matched smelters and lets the rows go (:meth:`without_rows`): a year's smelter rows do not fit
    in a web process, their matches do, since a smelter the list knows is one object for every supplier."""

    def __init__(self, reference: ReferenceList | None) -> None:
        self.reference = reference
        self._known: dict[str, Any] = {}  # by CID: the same CID from the list is the same smelter in every file
        self._by_result: dict[int, SupplierSmelters] = {}

    def smelters_of(self, result: dict[str, Any] | None) -> SupplierSmelters:
        found = self._by_result.get(id(result))
        return found if found is not None else supplier_smelters(result, self.reference, known=self._known)

    def without_rows(self, result: dict[str, Any]) -> dict[str, Any]:
        """The result without its smelter rows, their matches kept for :meth:`smelters_of`."""
        kept = {k: v for k, v in result.items() if k != "smelters"}
        self._by_result[id(kept)] = supplier_smelters(result, self.reference, known=self._known)
        return kept


# --- from the database --------------------------------------------------------------------------


def campaign_figures(engine: Engine, campaign: str | int, *, reference: ReferenceList | None = None,
                     as_of: datetime | None = None) -> dict[str, Any]:
    """Figures for one campaign (by ID) or every campaign of a year (an int or digits).

    Only the result JSON of the declaration that counts for each survey is read, never a superseded
    round's: what decides which one counts (verdicts, hand reviews, purposes, order) is read first as
    plain columns. A year's report covers tens of thousands of surveys, so nothing here passes their IDs
    to the database as a list of parameters; they are selected by campaign."""
    from models.columns import utcnow
    from models.facts.survey import declaration_that_counts, effective_verdict
    from outreach.review import review_rows, unreviewed_count, unreviewed_from

    reference = reference if reference is not None else current_reference(engine)
    as_of = as_of or utcnow()
    with session_scope(engine) as session:
        if isinstance(campaign, int) or str(campaign).isdigit():
            # A year's report is the CMRT one (3TG): its EMRT campaign is reported on its own, by ID.
            campaigns = session.exec(select(Campaign).where(Campaign.year == int(campaign),
                                                            Campaign.kind == "CMRT")).all()
        else:
            found = session.get(Campaign, str(campaign))
            campaigns = [found] if found else []
        if not campaigns:
            raise ReportInputError(f"no campaign {campaign!r} in the database")
        ids = [c.id for c in campaigns]
        in_campaigns = sa_select(Survey.id).where(Survey.campaign_id.in_(ids))
        latest: dict[str, Any] = {}
        surveys = session.execute(sa_select(Survey.id, Survey.supplier_id, Survey.outcome, Survey.created_at)
                                  .where(Survey.campaign_id.in_(ids))).all()
        for sv in sorted(surveys, key=lambda s: (s.created_at, s.id)):
            latest[sv.supplier_id] = sv  # one row per supplier: its latest survey of the year
        counted_surveys = {sv.id for sv in latest.values()}
        suppliers = {s.id: s for s in session.execute(sa_select(Supplier.id, Supplier.name, Supplier.category).where(
            Supplier.id.in_(sa_select(Survey.supplier_id).where(Survey.campaign_id.in_(ids)))))}
        subs_by_survey: dict[str, list[_SubmissionFacts]] = {}
        for row in session.execute(sa_select(*_SUBMISSION_FACTS).where(Submission.survey_id.in_(in_campaigns))
                                   .order_by(Submission.received_at, Submission.id)):
            if row.survey_id in counted_surveys:
                subs_by_survey.setdefault(row.survey_id, []).append(_SubmissionFacts(*row))
        matched = SmeltersMatched(reference)
        review_parts: dict[str, tuple[Any, dict]] = {}  # the review desk reads the same decoded results
        results = _counted_results(session, subs_by_survey, declaration_that_counts, keep=matched.without_rows,
                                   also=lambda sub, result: review_parts.__setitem__(sub.survey_id, (sub, review_rows(result))))
        plans = session.exec(select(CorrectiveActionPlan).where(CorrectiveActionPlan.survey_id.in_(in_campaigns))).all()
        plans = [p for p in plans if p.survey_id in counted_surveys]
        actions = session.exec(select(CorrectiveAction).where(CorrectiveAction.plan_id.in_(
            sa_select(CorrectiveActionPlan.id).where(CorrectiveActionPlan.survey_id.in_(in_campaigns))))).all()
        plan_ids = {p.id for p in plans}
        actions = [a for a in actions if a.plan_id in plan_ids]
        escalations = [e for e in session.exec(select(Escalation).where(Escalation.survey_id.in_(in_campaigns))).all()
                       if e.survey_id in counted_surveys]

    records = []
    for supplier_id, sv in latest.items():
        supplier = suppliers.get(supplier_id)
        subs = subs_by_survey.get(sv.id, [])
        used = results.get(sv.id)
        verdicts = [effective_verdict(s) for s in subs]
        records.append(SupplierRecord(
            supplier_id=supplier_id, supplier_name=supplier.name if supplier else supplier_id,
            category=supplier.category if supplier else None,
            status=facts.supplier_standing(verdicts, withdrawn=sv.outcome == "withdrawn", final=sv.outcome is not None),
            result=used.result if used is not None else None,
            files=[s.filename or s.id for s in subs], submissions=len(subs), outcome=sv.outcome,
            corrected=facts.corrected(verdicts),
            review=facts.hand_review(used.manual_decision, used.manual_reason) if used is not None else None,
        ))

    cap_figures = facts.plan_figures(plans, actions, as_of=as_of)
    esc_figures = facts.escalation_figures(escalations)
    source = {"kind": "campaign", "campaigns": ids, "year": campaigns[0].year,
              "name": campaigns[0].name if len(campaigns) == 1 else f"{campaigns[0].year} campaigns"}
    if campaigns[0].kind == "EMRT":  # one campaign by ID: a year's report holds CMRT campaigns only
        source.update(template="EMRT", minerals=workbook_minerals(campaigns[0].minerals))
    if len(surveys) == len(latest):  # every survey is one the report reads: its results are decoded already
        unreviewed = unreviewed_from(engine, ids, review_parts, reference=reference)
    else:  # a supplier in two campaigns of the year: the queue also has the earlier survey's items
        unreviewed = unreviewed_count(engine, ids, reference=reference)
    return compute_figures(records, reference=reference, source=source, corrective_actions=cap_figures,
                           escalations=esc_figures, matched=matched, unreviewed=unreviewed)


@dataclass
class _SubmissionFacts:
    """What decides whether a submission counts, without its result JSON (read only for the one that counts)."""

    id: str
    survey_id: str
    filename: str | None
    purpose: str
    verdict: str | None
    manual_decision: str | None
    manual_reason: str | None
    received_at: Any = None
    result: Any = True  # unknown until read: a stored result counts as there until it is read empty


_SUBMISSION_FACTS = (Submission.id, Submission.survey_id, Submission.filename, Submission.purpose, Submission.verdict,
                     Submission.manual_decision, Submission.manual_reason, Submission.received_at)
_RESULTS_PER_QUERY = 500


def _counted_results(session, subs_by_survey: dict[str, list[_SubmissionFacts]], declaration_that_counts,
                     keep, also=None) -> dict[str, _SubmissionFacts]:
    """The declaration that counts for each survey, with ``keep(result)`` of its result JSON, read a few
    hundred at a time. A stored result that turns out empty does not count (as declaration_that_counts
    says), so its survey is decided again. ``also(sub, result)``: another reader of the same decoded result
    (the review desk's count), called before ``keep``."""
    counted: dict[str, _SubmissionFacts] = {}
    pending = list(subs_by_survey)
    while pending:
        chosen = {}
        for survey_id in pending:
            found = declaration_that_counts(subs_by_survey[survey_id])
            if found is not None:
                chosen[found.submission.id] = (survey_id, found.submission)
        pending = []
        wanted = list(chosen)
        for start in range(0, len(wanted), _RESULTS_PER_QUERY):
            part = wanted[start:start + _RESULTS_PER_QUERY]
            for sub_id, result in session.execute(sa_select(Submission.id, Submission.result).where(Submission.id.in_(part))):
                survey_id, sub = chosen[sub_id]
                if result:
                    if also is not None:
                        also(sub, result)
                    sub.result = keep(result)
                    counted[survey_id] = sub
                else:
                    sub.result = result
                    pending.append(survey_id)
    return counted


def counted_declarations(session, survey_ids, keep) -> dict[str, _SubmissionFacts]:
    """The declaration that counts for each survey that ``survey_ids`` selects (a subquery), with ``keep`` of
    its result JSON: the same choice the report makes (the review desk reads its items from it)."""
    from models.facts.survey import declaration_that_counts

    subs_by_survey: dict[str, list[_SubmissionFacts]] = {}
    for row in session.execute(sa_select(*_SUBMISSION_FACTS).where(Submission.survey_id.in_(survey_ids))
                               .order_by(Submission.received_at, Submission.id)):
        subs_by_survey.setdefault(row.survey_id, []).append(_SubmissionFacts(*row))
    return _counted_results(session, subs_by_survey, declaration_that_counts, keep=keep)


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
        verdicts = [r.get("verdict") for r in results]
        record.status = facts.supplier_standing(verdicts, final=True)  # a folder of files is all there will be
        record.corrected = facts.corrected(verdicts, ordered=False)

    source = {"kind": "files", "path": str(path), "files": len(checked),
              "supplier_list": str(suppliers_csv) if suppliers_csv else None,
              "files_not_on_supplier_list": sorted(f for r in groups.values() if not r.on_list for f in r.files)}
    return compute_figures(list(groups.values()), reference=reference, source=source)

"""Compliance's smelter-risk inputs in the database: watch lists, cross-recognition lists, overrides.

What they mean and how they grade a smelter is :mod:`cmrt.risk`; this module stores them (who, when),
writes each change to the audit trail in the same transaction, and builds the
:class:`~cmrt.risk.RiskRegister` that :func:`outreach.reference_store.load_reference` attaches to the
reference list, so that the check of every new submission and every read-time figure grade with them.

- Watch-list entries accumulate over imports (each keeps its source and date); the same file twice
  changes nothing.
- A cross-recognition list replaces the previous list of the same scheme (a refiner dropped from the
  LBMA Good Delivery List is no longer recognised).
- Entries are matched to smelters when the register is built, with the reference list in use then
  (:func:`cmrt.risk_lists.match_entry`): a smelter added to the reference list later is picked up.
- An override is set on a CID with a reason; clearing it stamps the row (history is kept).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cmrt.reference import ReferenceFormatError, ReferenceList
from cmrt.risk import LEVELS, PeerAssessment, RiskOverride, RiskRegister, SmelterRiskFacts, WatchHit
from cmrt.risk_lists import ListKind, RiskListFile, match_entry, read_risk_list
from models.columns import utcnow
from models.smelters import SmelterRiskEntry, SmelterRiskList, SmelterRiskOverride

__all__ = ["RiskInputError", "RiskListImport", "clear_override", "import_risk_list", "load_register",
           "register_marker", "set_override", "smelter_risk_inputs"]


class RiskInputError(ValueError):
    """An override or list the product refuses; the message says why in one line."""


@dataclass(frozen=True)
class RiskListImport:
    kind: ListKind
    scheme: str | None
    source_name: str | None
    entries: int
    matched: int
    unmatched: list[str] = field(default_factory=list)  # "row N: name (metal): why"
    problems: list[str] = field(default_factory=list)  # rows the file got wrong
    already_imported: bool = False

    def summary(self) -> str:
        what = "watch list" if self.kind == "watchlist" else f"{self.scheme} cross-recognition list"
        name = f" {self.source_name}" if self.source_name else ""
        if self.already_imported:
            return f"{what}{name}: already imported, nothing changed ({self.entries} entries)"
        lines = [f"{what}{name}: {self.entries} entries: {self.matched} matched to a smelter, "
                 f"{len(self.unmatched)} not matched (kept, listed below)"
                 + (f"; {len(self.problems)} rows skipped or amended" if self.problems else "")]
        lines += [f"  not matched: {u}" for u in self.unmatched]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


def _session_of(session_or_engine: Session | Engine):
    from outreach.reference_store import _session

    return _session(session_or_engine)


def _reference(session: Session) -> ReferenceList:
    from outreach.reference_store import stored_reference
    from cmrt.reference import default_reference

    return stored_reference(session) or default_reference()


def _why_unmatched(m) -> str:
    if "needs_review" in m.problems:
        return f"resembles {m.standard_name} ({m.score:.0f}% alike): not taken without review"
    return "no such smelter on the reference list"


def import_risk_list(session_or_engine: Session | Engine, data: bytes, *, kind: ListKind,
                     scheme: str | None = None, source_name: str | None = None, by: str | None = None,
                     now: datetime | None = None) -> RiskListImport:
    """Read, store and audit a watch list or a cross-recognition list. Raises ReferenceFormatError (the
    file) or RiskInputError (no scheme for a recognition list) before anything is written."""
    if kind == "recognition":
        scheme = " ".join((scheme or "").split()).upper()
        if not scheme:
            raise RiskInputError("a cross-recognition list needs its scheme (--scheme LBMA, RJC, ...)")
    else:
        scheme = None
    parsed: RiskListFile = read_risk_list(data, kind, scheme=scheme)
    now = now or utcnow()
    sha = hashlib.sha256(data).hexdigest()
    with _session_of(session_or_engine) as session:
        prior = session.exec(select(SmelterRiskList).where(
            SmelterRiskList.sha256 == sha, SmelterRiskList.kind == kind,
            SmelterRiskList.scheme == scheme if scheme else SmelterRiskList.scheme.is_(None))  # type: ignore[union-attr]
            .order_by(SmelterRiskList.id.desc())).first()
        latest_of_scheme = session.exec(select(SmelterRiskList.id).where(
            SmelterRiskList.kind == kind, SmelterRiskList.scheme == scheme)
            .order_by(SmelterRiskList.id.desc())).first() if scheme else None
        if prior is not None and (kind == "watchlist" or prior.id == latest_of_scheme):
            return RiskListImport(kind, scheme, source_name, prior.entries, prior.matched,
                                  already_imported=True)
        reference = _reference(session)
        record = SmelterRiskList(kind=kind, scheme=scheme, source_name=source_name, sha256=sha, imported_at=now,
                                 imported_by=by, entries=len(parsed.rows))
        session.add(record)
        session.flush()
        unmatched: list[str] = []
        for r in parsed.rows:
            m = match_entry(reference, cid=r.cid, name=r.name, metal=r.metal, country=r.country)
            if not m.cid:
                unmatched.append(f"row {r.row}: {r.name or r.cid}{f' ({r.metal})' if r.metal else ''}: "
                                 f"{_why_unmatched(m)}")
            session.add(SmelterRiskEntry(
                list_id=record.id, row=r.row, metal=r.metal, name=(r.name or "")[:300] or None,
                declared_id=(r.cid or "")[:64] or None, country=r.country, source=(r.source or "")[:300] or None,
                listed_on=r.listed_on, note=r.note, cid=m.cid))
        record.matched, record.unmatched = len(parsed.rows) - len(unmatched), len(unmatched)
        session.add(record)
        session.flush()
        from outreach import audit

        audit.record(session, actor=by, action=f"smelters.{kind}_imported", object_type="risk list",
                     object_id=source_name or scheme or kind, at=now,
                     after={"kind": kind, "scheme": scheme, "sha256": sha, "entries": len(parsed.rows),
                            "matched": record.matched, "unmatched": unmatched, "problems": parsed.problems})
        return RiskListImport(kind, scheme, source_name, len(parsed.rows), record.matched, unmatched,
                              parsed.problems)


def _active_override(session: Session, cid: str) -> SmelterRiskOverride | None:
    return session.exec(select(SmelterRiskOverride).where(
        SmelterRiskOverride.cid == cid, SmelterRiskOverride.cleared_at.is_(None))  # type: ignore[union-attr]
        .order_by(SmelterRiskOverride.id.desc())).first()


def _known_cid(session: Session, cid: str) -> str:
    from cmrt.reference import normalise_cid

    norm, ok = normalise_cid(cid)
    if not norm or not ok:
        raise RiskInputError(f"{cid!r} is not a smelter ID (CID + 6 digits)")
    if norm not in _reference(session):
        raise RiskInputError(f"{norm} is not on the smelter reference list")
    return norm


def set_override(session_or_engine: Session | Engine, cid: str, *, level: str, reason: str, by: str,
                 now: datetime | None = None) -> SmelterRiskOverride:
    """Compliance grades a smelter itself; every later check and figure uses it. Audited."""
    level = (level or "").strip().lower()
    if level not in LEVELS:
        raise RiskInputError(f"level {level!r}: choose low, medium or high")
    reason = " ".join((reason or "").split())
    if not reason:
        raise RiskInputError("an override needs a reason (it is shown with the risk)")
    now = now or utcnow()
    with _session_of(session_or_engine) as session:
        cid = _known_cid(session, cid)
        before = _active_override(session, cid)
        if before is not None:
            before.cleared_at, before.cleared_by, before.clear_reason = now, by, "replaced by a new override"
            session.add(before)
        row = SmelterRiskOverride(cid=cid, level=level, reason=reason[:4000], set_by=by, set_at=now)
        session.add(row)
        session.flush()
        from outreach import audit

        audit.record(session, actor=by, action="smelters.risk_override", object_type="smelter", object_id=cid,
                     at=now, reason=reason,
                     before={"level": before.level, "reason": before.reason} if before else None,
                     after={"level": level, "reason": reason})
        session.expunge(row)
        return row


def clear_override(session_or_engine: Session | Engine, cid: str, *, by: str, reason: str | None = None,
                   now: datetime | None = None) -> bool:
    """Back to the five factors. False when the smelter had no override. Audited."""
    now = now or utcnow()
    with _session_of(session_or_engine) as session:
        cid = _known_cid(session, cid)
        row = _active_override(session, cid)
        if row is None:
            return False
        row.cleared_at, row.cleared_by, row.clear_reason = now, by, (reason or None)
        session.add(row)
        session.flush()
        from outreach import audit

        audit.record(session, actor=by, action="smelters.risk_override_cleared", object_type="smelter",
                     object_id=cid, at=now, reason=reason,
                     before={"level": row.level, "reason": row.reason}, after=None)
        return True


# --- reading -------------------------------------------------------------------------------------


def register_marker(session: Session) -> tuple:
    """Changes whenever a list is imported or an override is set or cleared (the load cache's key)."""
    lists = session.exec(select(func.max(SmelterRiskList.id))).one()
    overrides = session.exec(select(func.max(SmelterRiskOverride.id))).one()
    cleared = session.exec(select(func.count()).where(SmelterRiskOverride.cleared_at.is_not(None))).one()  # type: ignore[union-attr]
    return (lists, overrides, cleared)


def _current_entries(session: Session) -> Iterable[tuple[SmelterRiskList, SmelterRiskEntry]]:
    lists = session.exec(select(SmelterRiskList).order_by(SmelterRiskList.id)).all()
    latest: dict[str, int] = {}
    for lst in lists:
        if lst.kind == "recognition" and lst.scheme:
            latest[lst.scheme] = lst.id  # type: ignore[assignment]
    keep = {lst.id: lst for lst in lists if lst.kind == "watchlist" or latest.get(lst.scheme or "") == lst.id}
    if not keep:
        return []
    entries = session.exec(select(SmelterRiskEntry).where(SmelterRiskEntry.list_id.in_(list(keep)))  # type: ignore[attr-defined]
                           .order_by(SmelterRiskEntry.id)).all()
    return [(keep[e.list_id], e) for e in entries]


def load_register(session: Session, reference: ReferenceList) -> RiskRegister:
    """Watch-list hits, peer recognitions and overrides by CID, entries matched against ``reference``."""
    watch: dict[str, list[WatchHit]] = {}
    peers: dict[str, list[PeerAssessment]] = {}
    for lst, e in _current_entries(session):
        m = match_entry(reference, cid=e.declared_id, name=e.name, metal=e.metal, country=e.country)
        if not m.cid:
            continue
        if lst.kind == "watchlist":
            hit = WatchHit(source=e.source or "watch list", listed_on=e.listed_on, note=e.note or "")
            if hit not in watch.setdefault(m.cid, []):
                watch[m.cid].append(hit)
        else:
            peer = PeerAssessment(scheme=lst.scheme or "", listed_as=e.name or e.declared_id or "")
            if all(p.scheme != peer.scheme for p in peers.get(m.cid, [])):
                peers.setdefault(m.cid, []).append(peer)
    overrides = {
        o.cid: RiskOverride(level=o.level, reason=o.reason, by=o.set_by, on=o.set_at.date())  # type: ignore[arg-type]
        for o in session.exec(select(SmelterRiskOverride).where(SmelterRiskOverride.cleared_at.is_(None))  # type: ignore[union-attr]
                              .order_by(SmelterRiskOverride.id)).all()
    }
    by_cid = {cid: SmelterRiskFacts(watch=tuple(watch.get(cid, ())), peers=tuple(peers.get(cid, ())),
                                    override=overrides.get(cid))
              for cid in set(watch) | set(peers) | set(overrides)}
    return RiskRegister(by_cid)


@dataclass
class SmelterRiskInputs:
    """Everything the smelter page shows besides the grade: the list entries naming it, override history."""

    entries: list[tuple[SmelterRiskList, SmelterRiskEntry]]
    overrides: list[SmelterRiskOverride]


def smelter_risk_inputs(session: Session, cid: str, reference: ReferenceList) -> SmelterRiskInputs:
    # Only entries matched to this smelter at import or to none are matched again (the fuzzy step is the
    # costly one): the same answer as the register's, without matching the whole list for one page.
    entries = [(lst, e) for lst, e in _current_entries(session) if e.cid in (cid, None)
               and match_entry(reference, cid=e.declared_id, name=e.name, metal=e.metal, country=e.country).cid == cid]
    overrides = list(session.exec(select(SmelterRiskOverride).where(SmelterRiskOverride.cid == cid)
                                  .order_by(SmelterRiskOverride.id.desc())).all())
    return SmelterRiskInputs(entries, overrides)


__all__ += ["ReferenceFormatError", "SmelterRiskInputs"]

"""The smelters one supplier's checked CMRT reports, unique by CID, with today's RMAP status.

Input is the CheckResult JSON (``Submission.result`` or ``cmrt.check(...).to_json_dict()``). A row the
checker matched to a known smelter has a CID; the status is taken from the reference list when it knows
the CID (statuses move between the check and the report), else from the row. Rows without a CID are
"entities that are not known smelters" (the list sent to the RMI), unique by metal and name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy.engine import Engine

from cmrt.reference import ReferenceList, default_reference, normalise_name
from cmrt.risk import canonical_status, smelter_risk

NOT_LISTED = ("smelter not listed", "smelter not yet identified")
STATUSES: tuple[str, ...] = ("Conformant", "Active", "Not Enrolled")


@dataclass
class KnownSmelter:
    cid: str
    metal: str
    standard_name: str
    country: str | None
    rmap_status: str  # Conformant, Active, Not Enrolled, or another canonical status
    risk: str
    risk_reasons: tuple[str, ...] = ()  # cmrt.risk: decisive reasons first

    @property
    def status_group(self) -> str:
        """Conformant / Active / Not Enrolled: every other status counts as Not Enrolled (seed's definition)."""
        return self.rmap_status if self.rmap_status in ("Conformant", "Active") else "Not Enrolled"


@dataclass
class UnknownEntity:
    metal: str | None
    name: str
    country: str | None
    suggestion: str | None = None  # the checker's near match, when it asked for a review


@dataclass
class SupplierSmelters:
    known: dict[str, KnownSmelter] = field(default_factory=dict)  # by CID
    unknown: dict[tuple[str, str], UnknownEntity] = field(default_factory=dict)  # by (metal, normalised name)

    def count(self, group: str) -> int:
        return sum(1 for s in self.known.values() if s.status_group == group)

    @property
    def high_risk(self) -> list[KnownSmelter]:
        return [s for s in self.known.values() if s.risk == "high"]


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _mine_countries(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(sorted({_text(r.get("mine_country")) for r in rows if _text(r.get("mine_country"))}))


def known_smelter(cid: str, row: dict[str, Any], reference: ReferenceList | None, *,
                  rows: list[dict[str, Any]] | None = None) -> KnownSmelter:
    """One smelter as the report shows it: the list's description and status today, and its risk with the
    reasons, graded now (compliance's watch lists, recognitions and overrides) with the mine countries the
    supplier declared for it over all its rows (``rows``; default: ``row`` alone)."""
    rows = rows or [row]
    ref = reference.get(cid) if reference is not None else None
    if ref is not None:
        status = canonical_status(ref.rmap_status) or "Not Enrolled"
        a = reference.risk_of(cid, source_countries=_mine_countries(rows))  # type: ignore[union-attr]
        return KnownSmelter(cid, ref.metal, ref.standard_name, ref.country, status, a.level, tuple(a.reason_texts()))
    status = canonical_status(row.get("rmap_status")) or "Not Enrolled"
    country = row.get("country")
    return KnownSmelter(
        cid, _text(row.get("metal")), _text(row.get("standard_name") or row.get("name") or row.get("lookup_name")),
        country, status, row.get("risk") or smelter_risk(status, country), tuple(row.get("risk_reasons") or ()),
    )


def supplier_smelters(result: dict[str, Any] | None, reference: ReferenceList | None = None, *,
                      known: dict[Any, KnownSmelter] | None = None) -> SupplierSmelters:
    """Known smelters (unique by CID) and unknown entities of one checked CMRT. ``known``: a memo of the
    smelters the reference list describes, by CID and declared mine countries, shared by calls with that
    list: a smelter the list knows is described by the list alone, so each is graded once, not once per row."""
    out = SupplierSmelters()
    by_cid: dict[str, list[dict[str, Any]]] = {}
    for row in (result or {}).get("smelters") or []:
        cid = _text(row.get("cid")).upper()
        matched = row.get("match") not in (None, "unmatched") and "needs_review" not in (row.get("problems") or [])
        if cid and (matched or (reference is not None and cid in reference)):
            by_cid.setdefault(cid, []).append(row)
            continue
        name = _text(row.get("name")) or _text(row.get("lookup_name"))
        if not name or name.casefold() in NOT_LISTED:
            continue  # "Smelter not yet identified" with no name: nothing to send anywhere
        metal = _text(row.get("metal")) or None
        key = ((metal or "").casefold(), normalise_name(name) or name.casefold())
        if key not in out.unknown:
            suggestion = row.get("standard_name") if "needs_review" in (row.get("problems") or []) else None
            out.unknown[key] = UnknownEntity(metal, name, _text(row.get("country")) or None, suggestion)
    for cid, rows in by_cid.items():
        memo_key = (cid, _mine_countries(rows))
        memo = known.get(memo_key) if known is not None else None
        if memo is None:
            memo = known_smelter(cid, rows[0], reference, rows=rows)
            if known is not None and reference is not None and reference.get(cid) is not None:
                known[memo_key] = memo  # from the list, not the row: the same for every supplier
        out.known[cid] = memo
    return out


_RANK = {"unknown": 0, "low": 1, "medium": 2, "high": 3}


def merge(parts: Iterable[SupplierSmelters]) -> SupplierSmelters:
    """Union across suppliers: unique by CID. The reference makes descriptions agree; the risk can differ
    by what each supplier declares as mine countries, so the highest risk (with its reasons) is kept."""
    out = SupplierSmelters()
    for part in parts:
        for cid, s in part.known.items():
            have = out.known.get(cid)
            if have is None or _RANK.get(s.risk, 0) > _RANK.get(have.risk, 0):
                out.known[cid] = s
        for key, e in part.unknown.items():
            out.unknown.setdefault(key, e)
    return out


def current_reference(engine: Engine | None) -> ReferenceList:
    """The list the product matches against now: the one stored in the database, else the shipped one.

    Call it outside any open transaction: on SQLite it opens its own session.
    """
    if engine is not None:
        try:
            from outreach.reference_store import load_reference
        except ImportError:  # the stored list is optional
            return default_reference()
        try:
            return load_reference(engine)
        except Exception:  # noqa: BLE001 - no stored list (tables not there yet): the shipped one is right
            return default_reference()
    return default_reference()

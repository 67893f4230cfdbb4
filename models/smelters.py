"""The imported smelter reference list (read by `outreach cmrt check`, the risk review and reports).

One row per CID, ever: a later list that renames or drops a CID marks the row ``removed`` (with the
``successor_cid`` when one of its names moved to another CID) instead of deleting it, so declarations
that still carry the old CID keep matching. Aliases (metal + Smelter Look-up name -> CID) only
accumulate. Every import is recorded with the file's SHA-256, which makes re-importing the same file
a no-op. See :mod:`outreach.reference_store` for reading and writing these tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import UTCDateTime, utcnow


class SmelterImport(SQLModel, table=True):
    """One import of a reference list: what came in and what it changed."""

    __tablename__ = "smelter_import"

    id: Optional[int] = Field(default=None, primary_key=True)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # csv | cmrt_lookup | rmi_export | default (the shipped list, seeded on the first import)
    source_kind: str = Field(max_length=32)
    source_name: Optional[str] = Field(default=None, max_length=500)
    sha256: str = Field(max_length=64, unique=True, index=True)
    # The list's own date when it has one (a CMRT template's revision date).
    published: Optional[date] = Field(default=None)
    complete: bool = Field(default=False, description="A whole published list: CIDs missing from it were removed.")
    smelters_in_file: int = Field(default=0)
    smelters_added: int = Field(default=0)
    smelters_updated: int = Field(default=0)
    smelters_unchanged: int = Field(default=0)
    smelters_removed: int = Field(default=0)
    aliases_added: int = Field(default=0)


class Smelter(SQLModel, table=True):
    """A smelter or refiner of the reference list, keyed by its CID."""

    __tablename__ = "smelter"

    cid: str = Field(primary_key=True, max_length=16)
    metal: str = Field(max_length=32, index=True)
    standard_name: str = Field(max_length=300)
    country: Optional[str] = Field(default=None, max_length=120)
    rmap_status: Optional[str] = Field(default=None, max_length=64, index=True)
    removed: bool = Field(default=False)
    successor_cid: Optional[str] = Field(default=None, max_length=16)
    first_seen: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_seen: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    first_import_id: Optional[int] = Field(default=None, foreign_key="smelter_import.id")
    last_import_id: Optional[int] = Field(default=None, foreign_key="smelter_import.id")


class SmelterAlias(SQLModel, table=True):
    """Metal + Smelter Look-up name -> CID (the name as a supplier picks or types it)."""

    __tablename__ = "smelter_alias"
    __table_args__ = (UniqueConstraint("metal", "lookup_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    metal: str = Field(max_length=32)
    lookup_name: str = Field(max_length=300)
    # lookup_name case-folded with blanks collapsed: what the match compares.
    lookup_key: str = Field(max_length=300)
    cid: str = Field(foreign_key="smelter.cid", max_length=16, index=True)
    first_seen: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    import_id: Optional[int] = Field(default=None, foreign_key="smelter_import.id")


# --- Risk: compliance's own lists (cmrt/risk.py grades with them; outreach/risk_store.py writes them) ---


class SmelterRiskList(SQLModel, table=True):
    """One imported watch list (credible evidence) or cross-recognition list (peer assessment)."""

    __tablename__ = "smelter_risk_list"

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, index=True)  # watchlist | recognition
    # recognition: the scheme (LBMA, RJC, ...); the latest import of a scheme replaces the one before
    scheme: Optional[str] = Field(default=None, max_length=64, index=True)
    source_name: Optional[str] = Field(default=None, max_length=500)
    sha256: str = Field(max_length=64, index=True)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    imported_by: Optional[str] = Field(default=None, max_length=320)
    entries: int = Field(default=0)
    matched: int = Field(default=0)
    unmatched: int = Field(default=0)


class SmelterRiskEntry(SQLModel, table=True):
    """One row of such a list, as written; matched to a smelter of the reference list when it is read."""

    __tablename__ = "smelter_risk_entry"

    id: Optional[int] = Field(default=None, primary_key=True)
    list_id: int = Field(foreign_key="smelter_risk_list.id", index=True)
    row: int = Field(default=0)  # the row number in the file
    metal: Optional[str] = Field(default=None, max_length=32)
    name: Optional[str] = Field(default=None, max_length=300)
    declared_id: Optional[str] = Field(default=None, max_length=64)  # a CID or the scheme's own ID
    country: Optional[str] = Field(default=None, max_length=120)
    source: Optional[str] = Field(default=None, max_length=300)
    listed_on: Optional[date] = Field(default=None)
    note: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    cid: Optional[str] = Field(default=None, max_length=16, index=True)  # as matched at import, None if not


class SmelterRiskOverride(SQLModel, table=True):
    """Compliance's own grade for a smelter. Never deleted: clearing one stamps it, so the history stays."""

    __tablename__ = "smelter_risk_override"

    id: Optional[int] = Field(default=None, primary_key=True)
    cid: str = Field(max_length=16, index=True)
    level: str = Field(max_length=8)  # low | medium | high
    reason: str = Field(sa_column=Column(Text, nullable=False))
    set_by: str = Field(max_length=320)
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    cleared_by: Optional[str] = Field(default=None, max_length=320)
    cleared_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime, nullable=True)
    clear_reason: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))


__all__ = ["Smelter", "SmelterAlias", "SmelterImport", "SmelterRiskEntry", "SmelterRiskList", "SmelterRiskOverride"]

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

from sqlalchemy import UniqueConstraint
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


__all__ = ["Smelter", "SmelterAlias", "SmelterImport"]

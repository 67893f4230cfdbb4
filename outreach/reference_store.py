"""The smelter reference list in the database: import a file into it, load it back.

An import merges the file into the list the product uses now (the stored one; on the first import,
the shipped default list, recorded as an import of its own) with :meth:`ReferenceList.merged`, so
later files add aliases and update statuses without losing anything, and a complete, newer list
marks the CIDs it no longer has as removed (with their successor when known) instead of deleting
them. The same content imported twice changes nothing: imports are keyed by the list's fingerprint.

:func:`load_reference` is what `outreach cmrt check` and the risk review use: the stored list when
the database has one, else the shipped default, with compliance's risk register attached (watch lists,
cross-recognition lists, overrides; :mod:`outreach.risk_store`). It never creates a database.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

from sqlalchemy import func, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from cmrt.reference import (
    ReferenceAlias,
    ReferenceFormatError,
    ReferenceList,
    ReferenceSmelter,
    alias_key,
    default_reference,
    detect_reference_kind,
)
from models.columns import utcnow
from models.smelters import Smelter, SmelterAlias, SmelterImport

__all__ = [
    "ImportResult",
    "ReferenceFormatError",
    "import_reference_file",
    "load_reference",
    "read_reference_file",
    "save_reference",
    "stored_reference",
]


_IMPORT_LOCK_KEY = 0x534D454C  # "SMEL": the advisory lock that serialises reference imports


@dataclass(frozen=True)
class ImportResult:
    """What one import changed, counted against the list in use before it."""

    kind: str
    source_name: str | None
    fingerprint: str
    published: date | None
    smelters_in_file: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    aliases_added: int = 0
    seeded_from_default: int = 0  # smelters of the shipped list stored with the first import
    already_imported: bool = False

    def summary(self) -> str:
        what = f"{self.kind} {self.source_name}" if self.source_name else self.kind
        if self.already_imported:
            return f"{what}: already imported, nothing changed ({self.smelters_in_file} smelters)"
        dated = f" (published {self.published.isoformat()})" if self.published else ""
        text = (
            f"{what}{dated}: {self.smelters_in_file} smelters: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged; {self.removed} marked removed; {self.aliases_added} aliases added"
        )
        if self.seeded_from_default:
            text += f"; first import, so the {self.seeded_from_default} smelters of the shipped list were stored too"
        return text


# --- reading files ---------------------------------------------------------------------------


def read_reference_file(path_or_bytes: str | Path | bytes, filename: str | None = None) -> tuple[str, ReferenceList]:
    """(kind, list) for a reference file of any supported kind. Raises ReferenceFormatError."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    kind = detect_reference_kind(data, filename)
    if kind == "cmrt_lookup":
        return kind, ReferenceList.from_cmrt_workbook(data)
    if kind == "rmi_export":
        return kind, ReferenceList.from_rmi_facility_export(data)
    return kind, ReferenceList.from_csv(data)


# --- sessions --------------------------------------------------------------------------------


@contextmanager
def _session(session_or_engine: Session | Engine) -> Iterator[Session]:
    if isinstance(session_or_engine, Session):
        yield session_or_engine
        return
    from outreach.db import session_scope

    with session_scope(session_or_engine) as session:
        yield session


# --- loading -----------------------------------------------------------------------------------


def stored_reference(session: Session) -> ReferenceList | None:
    """The list stored in the database, or None when it has no smelters."""
    rows = session.exec(select(Smelter)).all()
    if not rows:
        return None
    smelters = [
        ReferenceSmelter(
            cid=r.cid, metal=r.metal, standard_name=r.standard_name, country=r.country,
            rmap_status=r.rmap_status, removed=r.removed, successor_cid=r.successor_cid,
        )
        for r in rows
    ]
    aliases = [
        ReferenceAlias(metal=a.metal, lookup_name=a.lookup_name, cid=a.cid)
        for a in session.exec(select(SmelterAlias)).all()
    ]
    published = session.exec(select(func.max(SmelterImport.published))).one()
    complete = bool(session.exec(select(func.count()).where(SmelterImport.complete == True)).one())  # noqa: E712
    return ReferenceList(smelters, aliases, complete=complete, published=published)


# database URL -> (the last import's id and fingerprint, the list): checking many submissions
# reads the list once, and again only after an import.
_LOADED: dict[str, tuple[tuple, ReferenceList]] = {}
_LOADED_LOCK = threading.Lock()


def _risk_marker(session: Session) -> tuple:
    """The risk register's marker; () where its tables do not exist yet (a database not migrated)."""
    from outreach.risk_store import register_marker

    try:
        with session.begin_nested():
            return register_marker(session)
    except SQLAlchemyError:
        return ()


def _stored_reference_cached(session: Session) -> ReferenceList:
    """The stored list (else the shipped one) with compliance's risk register attached (watch lists,
    cross-recognitions, overrides: outreach/risk_store.py)."""
    marker = tuple(session.exec(
        select(SmelterImport.id, SmelterImport.sha256).order_by(SmelterImport.id.desc()).limit(1)).first() or ())
    marker += ("risk",) + _risk_marker(session)
    url = session.get_bind().url.render_as_string(hide_password=False)
    with _LOADED_LOCK:
        hit = _LOADED.get(url)
    if hit is not None and hit[0] == marker:
        return hit[1]
    ref = stored_reference(session) or default_reference()
    if len(marker) > 3:  # the risk tables exist
        from outreach.risk_store import load_register

        register = load_register(session, ref)
        if register:
            ref = ref.with_risk_register(register)
    with _LOADED_LOCK:
        _LOADED[url] = (marker, ref)
    return ref


def load_reference(session_or_engine: Session | Engine | None = None) -> ReferenceList:
    """The stored list when the database has one, else the shipped default.

    Without an argument it uses the configured database, and falls back to the default when that is
    unreachable, not migrated yet, or (SQLite) not created yet: checking a CMRT needs no server.
    The list is read again only after a new import.
    """
    if session_or_engine is not None:
        with _session(session_or_engine) as session:
            return _stored_reference_cached(session)
    from outreach.db import make_engine
    from outreach.settings import load_settings

    url = load_settings().effective_database_url  # read afresh: tests and CLIs change the environment
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (not parsed.database or not Path(parsed.database).exists()):
        return default_reference()
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return _stored_reference_cached(session)
    except SQLAlchemyError:
        return default_reference()
    finally:
        engine.dispose()


# --- saving ------------------------------------------------------------------------------------


def import_reference_file(
    session_or_engine: Session | Engine,
    path_or_bytes: str | Path | bytes,
    filename: str | None = None,
    *,
    now: datetime | None = None,
) -> ImportResult:
    """Detect, read and store a reference file. Raises ReferenceFormatError for a file it cannot use."""
    if filename is None and not isinstance(path_or_bytes, bytes):
        filename = Path(path_or_bytes).name
    kind, imported = read_reference_file(path_or_bytes, filename)
    return save_reference(session_or_engine, imported, source_kind=kind, source_name=filename, now=now)


def save_reference(
    session_or_engine: Session | Engine,
    imported: ReferenceList,
    *,
    source_kind: str,
    source_name: str | None = None,
    now: datetime | None = None,
    by: str | None = None,
) -> ImportResult:
    """Merge ``imported`` into the stored list (seeding it with the default list on the first import)."""
    now = now or utcnow()
    fingerprint = imported.fingerprint()
    with _session(session_or_engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            # Two imports at once would both insert the same new CIDs: take turns (released at commit).
            # SQLite needs nothing: outreach.db begins every transaction IMMEDIATE.
            session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_IMPORT_LOCK_KEY))
        if session.exec(select(SmelterImport.id).where(SmelterImport.sha256 == fingerprint)).first():
            return ImportResult(
                kind=source_kind, source_name=source_name, fingerprint=fingerprint,
                published=imported.published, smelters_in_file=len(imported),
                unchanged=len(imported), already_imported=True,
            )
        rows = {r.cid: r for r in session.exec(select(Smelter)).all()}
        alias_rows = {(a.metal, a.lookup_key): a for a in session.exec(select(SmelterAlias)).all()}
        seed_import_id: int | None = None
        seeded = 0
        if rows:
            base = stored_reference(session)
            assert base is not None
        else:
            base = default_reference()
            seed_import_id = _seed_import(session, base, now)
            seeded = len(base)
        merged = base.merged(imported)

        record = SmelterImport(
            imported_at=now, source_kind=source_kind, source_name=source_name, sha256=fingerprint,
            published=imported.published, complete=imported.complete, smelters_in_file=len(imported),
        )
        session.add(record)
        session.flush()

        added = updated = unchanged = removed = 0
        for smelter in merged.smelters(include_removed=True):
            before = base.get(smelter.cid)
            in_file = smelter.cid in imported
            if in_file:
                if before is None:
                    added += 1
                elif before != smelter:
                    updated += 1
                else:
                    unchanged += 1
            if smelter.removed and (before is None or not before.removed):
                removed += 1
            row = rows.get(smelter.cid)
            if row is None:
                origin = record.id if in_file or seed_import_id is None else seed_import_id
                session.add(Smelter(
                    **smelter.model_dump(), first_seen=now, last_seen=now,
                    first_import_id=origin, last_import_id=origin,
                ))
                continue
            for name, value in smelter.model_dump().items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
            if in_file:
                row.last_seen = now
                row.last_import_id = record.id
            session.add(row)
        session.flush()

        aliases_added = 0
        base_keys = {(a.metal, alias_key(a.lookup_name)) for a in base.aliases()}
        for alias in merged.aliases():
            key = (alias.metal, alias_key(alias.lookup_name))
            if key not in base_keys:
                aliases_added += 1
            row = alias_rows.get(key)
            if row is None:
                # An alias of the list in use that is not stored yet came with the shipped list.
                origin = (seed_import_id or record.id) if key in base_keys else record.id
                session.add(SmelterAlias(
                    metal=alias.metal, lookup_name=alias.lookup_name, lookup_key=key[1], cid=alias.cid,
                    first_seen=now, import_id=origin,
                ))
            elif row.cid != alias.cid:
                row.cid = alias.cid  # a later list moved the name to another CID (a merger)
                session.add(row)

        record.smelters_added, record.smelters_updated = added, updated
        record.smelters_unchanged, record.smelters_removed = unchanged, removed
        record.aliases_added = aliases_added
        session.add(record)
        session.flush()
        from outreach import audit

        audit.record(session, actor=by, action="smelters.imported", object_type="reference list",
                     object_id=source_name or source_kind, at=now,
                     after={"kind": source_kind, "sha256": fingerprint, "published": imported.published,
                            "smelters_in_file": len(imported), "added": added, "updated": updated,
                            "unchanged": unchanged, "removed": removed, "aliases_added": aliases_added})
        return ImportResult(
            kind=source_kind, source_name=source_name, fingerprint=fingerprint, published=imported.published,
            smelters_in_file=len(imported), added=added, updated=updated, unchanged=unchanged,
            removed=removed, aliases_added=aliases_added, seeded_from_default=seeded,
        )


def _seed_import(session: Session, default: ReferenceList, now: datetime) -> int:
    """Record the shipped list as the first import (its smelters are written with the real one)."""
    fingerprint = default.fingerprint()
    existing = session.exec(select(SmelterImport).where(SmelterImport.sha256 == fingerprint)).first()
    if existing is not None:
        return existing.id
    record = SmelterImport(
        imported_at=now, source_kind="default", source_name="cmrt/data/default_smelters.csv", sha256=fingerprint,
        published=default.published, complete=False, smelters_in_file=len(default), smelters_added=len(default),
        aliases_added=len(default.aliases()),
    )
    session.add(record)
    session.flush()
    return record.id

"""The audit trail: every action a person or the product takes, written once, chained by hash.

One writer, :func:`record`: it appends an :class:`~models.tables.AuditEntry` inside the caller's own
transaction, so the change and its entry are committed together or not at all. Each entry's hash is the
SHA-256 of a canonical JSON of the entry (sorted keys, no spaces, UTC times to the microsecond) including
the previous entry's hash; :func:`verify` recomputes the chain and names the first entry that was edited,
deleted or inserted.

Appends are serialised so that two writers never both extend the same entry (a fork): on SQLite every
transaction already begins IMMEDIATE (outreach/db.py), on PostgreSQL a transaction-scoped advisory lock
is taken before the last entry is read. The unique ``prev_hash`` column would refuse a fork anyway.

Retention (outreach/retention.py) removes old entries only as a prefix of the chain, through
:func:`purge_prefix`: it first appends a checkpoint entry (``audit.purged``) naming the first entry kept and
the hash that entry follows, then deletes the entries before it, in one transaction. :func:`verify` then
starts from the first entry left and accepts its predecessor's hash only when a checkpoint in the chain
records exactly that starting point; a prefix removed any other way is named as missing.

What the chain does not prove: that nobody removed the newest entries, or rewrote the whole chain from
some entry on. ``outreach audit verify`` prints the last entry's hash; writing it down elsewhere (a
ticket, the annual report's working papers) is what makes those detectable too.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from sqlalchemy import delete, func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.columns import utcnow
from models.tables import AuditEntry
from outreach.db import contains_text, session_scope
from outreach.wording import humanise

PRODUCT = "the product"  # the actor when no person acted (reminders, checks, escalations, closing)
GENESIS = "0" * 64  # the "previous hash" of the first entry
_ONE_DAY = timedelta(days=1)
_CHAIN_LOCK_KEY = 0x61756469  # "audi": the PostgreSQL advisory lock that serialises appends

# What was done, in the compliance team's words; anything else reads as its code in words.
ACTION_WORDS = {
    "sign_in": "Signed in",
    "sign_in_failed": "Sign-in refused",
    "user.created": "Account created",
    "user.role_changed": "Role changed",
    "user.deactivated": "Account deactivated",
    "user.token_issued": "API token issued",
    "suppliers.imported": "Suppliers imported",
    "supplier.language_chosen": "Language chosen on the supplier portal",
    "smelters.imported": "Smelter reference list imported",
    "smelters.watchlist_imported": "Smelter watch list imported",
    "smelters.recognition_imported": "Cross-recognition list imported",
    "smelters.risk_override": "Smelter risk set by compliance",
    "smelters.risk_override_cleared": "Smelter risk override cleared",
    "campaign.started": "Campaign started",
    "campaign.pause": "Campaign paused",
    "campaign.resume": "Campaign resumed",
    "campaign.cancel": "Campaign cancelled",
    "campaign.suppliers_added": "Suppliers added to the campaign",
    "campaign.scheduled": "Yearly campaign scheduled",
    "campaign.schedule_replaced": "Yearly campaign schedule changed",
    "settings.changed": "Settings changed",
    "corrective_action.verified": "Corrective action verified",
    "corrective_action.reported": "Corrective action progress reported",
    "corrective_action_plan.state": "Corrective action plan moved on",
    "audit.purged": "Audit entries purged under the retention policy",
    "retention.purged": "Records purged under the retention policy",
    "retention.file_removed": "Stored file removed under the retention policy",
    "hold.placed": "Legal hold placed",
    "hold.released": "Legal hold released",
    "escalation.decided": "Escalated case decided",
    "evidence.pack_generated": "Evidence pack generated",
    "report.own_declaration": "Company's own CMRT produced",
    "review.confirm": "Review: confirmed",
    "review.choose": "Review: smelter chosen",
    "review.not_a_smelter": "Review: not a smelter",
    "review.accept": "Review: accepted",
    "review.send_back": "Review: sent back to the supplier",
    "review.decline": "Review: declined",
    "supplier.contact_proposed": "New contact proposed by the supplier",
    "survey.reopened": "Survey reopened for correction",
    "mail.bounced": "Bounce recorded on a message",
    "mail.bounce_unmatched": "Bounce for no message the product sent",
    "mail.retried": "Message sent again after a temporary failure",
    "survey.contact_fallback": "Contact bounced: the supplier's next contact is used",
}
PURGE_CHECKPOINT = "audit.purged"


def command_line_actor() -> str:
    """Who acted, when the command line does something no ``--by`` names: the system account."""
    import getpass
    import os

    return f"{os.environ.get('USER') or getpass.getuser() or 'unknown'} (command line)"


def action_words(action: str) -> str:
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    _, _, kind = action.partition(".")  # survey.<transition>: the timeline's own words
    return humanise(kind or action)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def _plain(value: Any) -> Any:
    """The value as JSON stores it, so what is hashed is exactly what is read back."""
    return None if value is None else json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def _time(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 of the entry's canonical JSON, its predecessor's hash included."""
    canonical = json.dumps({
        "seq": entry.seq, "at": _time(entry.at), "actor": entry.actor, "action": entry.action,
        "object_type": entry.object_type, "object_id": entry.object_id, "campaign_id": entry.campaign_id,
        "reason": entry.reason, "before": entry.before, "after": entry.after, "prev_hash": entry.prev_hash,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Released at commit or rollback; SQLite needs nothing: its transactions begin IMMEDIATE.
        session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_CHAIN_LOCK_KEY))


def record(session: Session, *, actor: Optional[str], action: str, object_type: str, object_id: str,
           before: Any = None, after: Any = None, campaign_id: Optional[str] = None,
           reason: Optional[str] = None, at: Optional[datetime] = None) -> AuditEntry:
    """Append one entry in the session's transaction (committed with the change it describes)."""
    _lock_chain(session)
    last = session.exec(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    entry = AuditEntry(
        seq=(last[0] + 1) if last else 1, at=(at or utcnow()).astimezone(timezone.utc),
        actor=(actor or PRODUCT)[:320], action=action, object_type=object_type, object_id=str(object_id)[:200],
        campaign_id=campaign_id, reason=reason or None, before=_plain(before), after=_plain(after),
        prev_hash=last[1] if last else GENESIS, hash="",
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def record_now(engine: Engine, **kwargs: Any) -> AuditEntry:
    """:func:`record` in a transaction of its own (an action whose change lives elsewhere, e.g. in Temporal)."""
    with session_scope(engine) as session:
        return record(session, **kwargs)


def record_settings(engine: Engine, values: dict, *, actor: str) -> Optional[AuditEntry]:
    """One ``settings.changed`` entry when the settings in force differ from the last recorded (the first
    time included). Settings come from the environment, so the product notices a change where it starts
    (`outreach db upgrade`, run before every start, and `outreach up`); who edited them is not known."""
    with session_scope(engine) as session:
        _lock_chain(session)
        values = _plain(values)
        last = session.exec(select(AuditEntry.after).where(AuditEntry.action == "settings.changed")
                            .order_by(AuditEntry.seq.desc()).limit(1)).first()
        if last == values:
            return None
        return record(session, actor=actor, action="settings.changed", object_type="settings", object_id="OUTREACH_*",
                      reason="the settings in force differ from those last recorded", before=last, after=values)


# --- Verifying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    count: int
    last_hash: str
    broken_at: Optional[int] = None  # the first entry that does not hold
    problem: str = ""
    purged_through: int = 0  # entries 1..N were purged under the retention policy (a checkpoint says so)
    checkpoint: Optional[int] = None  # the entry that records that purge

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(engine: Engine, *, batch: int = 2000) -> Verification:
    """Walk the chain from the first entry; stop at the first one that was edited, deleted or inserted.

    After a retention purge the first entry left is not entry 1: the hash it follows is taken as the
    start only if a checkpoint entry further on records that very starting point."""
    expected_seq, prev, count = 1, GENESIS, 0
    start: Optional[tuple[int, str]] = None
    checkpoint: Optional[int] = None
    with Session(engine) as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch))
        for entry in rows:
            if count == 0 and entry.seq > 1:
                start = (entry.seq, entry.prev_hash)
                expected_seq, prev = entry.seq, entry.prev_hash
            if entry.seq != expected_seq:
                return Verification(count, prev, expected_seq,
                                    f"entry {expected_seq} is missing (the chain goes on at entry {entry.seq})")
            if entry.prev_hash != prev:
                return Verification(count, prev, entry.seq,
                                    f"entry {entry.seq} does not follow entry {entry.seq - 1}: an entry before it "
                                    f"was removed, replaced or inserted")
            if entry_hash(entry) != entry.hash:
                return Verification(count, prev, entry.seq, f"entry {entry.seq} was changed after it was written")
            if start and entry.action == PURGE_CHECKPOINT and (entry.after or {}).get("kept_from") == start[0] \
                    and (entry.after or {}).get("kept_from_prev_hash") == start[1]:
                checkpoint = entry.seq
            prev, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    if start and checkpoint is None:
        return Verification(0, GENESIS, 1, f"entries 1 to {start[0] - 1} are missing and no purge under the "
                                           f"retention policy records their removal")
    return Verification(count, prev, purged_through=start[0] - 1 if start else 0, checkpoint=checkpoint)


def purge_prefix(session: Session, through_seq: int, *, actor: str, reason: str) -> Optional[AuditEntry]:
    """Remove entries up to ``through_seq`` (a prefix: only outreach.retention calls this), after appending
    the checkpoint :func:`verify` starts from. Nothing happens when no entry is that old."""
    _lock_chain(session)
    first = session.exec(select(AuditEntry.seq).order_by(AuditEntry.seq).limit(1)).first()
    if first is None or through_seq < first:
        return None
    last = session.exec(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).one()
    through_seq = min(through_seq, last[0])
    kept = session.exec(select(AuditEntry.seq, AuditEntry.prev_hash).where(AuditEntry.seq > through_seq)
                        .order_by(AuditEntry.seq).limit(1)).first()
    # Every earlier entry going, the checkpoint itself starts the chain left.
    kept_from, kept_prev = kept if kept is not None else (last[0] + 1, last[1])
    # The checkpoint is hashed with the starting point it names, so the start cannot be moved afterwards.
    checkpoint = record(session, actor=actor, action=PURGE_CHECKPOINT, object_type="audit trail",
                        object_id=f"entries {first}-{through_seq}", reason=reason,
                        before={"entries": through_seq - first + 1, "first": first, "last": through_seq},
                        after={"kept_from": kept_from, "kept_from_prev_hash": kept_prev})
    session.exec(delete(AuditEntry).where(AuditEntry.seq <= through_seq))
    return checkpoint


# --- Reading: the auditor's page and the exports -----------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""        # part of who acted
    action: str = ""       # part of what was done (the code)
    object_id: str = ""    # part of the object's ID (a survey, supplier, campaign, account)
    campaign_id: str = ""  # exactly this campaign
    year: Optional[int] = None  # entries written in this calendar year
    since: Optional[date] = None
    until: Optional[date] = None  # inclusive

    def where(self) -> list:
        clauses = []
        if self.actor:
            clauses.append(contains_text(self.actor, AuditEntry.actor))
        if self.action:
            clauses.append(contains_text(self.action, AuditEntry.action))
        if self.object_id:
            clauses.append(contains_text(self.object_id, AuditEntry.object_id, AuditEntry.object_type))
        if self.campaign_id:
            clauses.append(AuditEntry.campaign_id == self.campaign_id)
        if self.year:
            clauses.append(AuditEntry.at >= datetime(self.year, 1, 1, tzinfo=timezone.utc))
            clauses.append(AuditEntry.at < datetime(self.year + 1, 1, 1, tzinfo=timezone.utc))
        if self.since:
            clauses.append(AuditEntry.at >= datetime.combine(self.since, datetime.min.time(), timezone.utc))
        if self.until:
            clauses.append(AuditEntry.at < datetime.combine(self.until, datetime.min.time(), timezone.utc)
                           + _ONE_DAY)
        return clauses


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def page_of(engine: Engine, flt: AuditFilter, *, page: int = 1, per_page: int = 50) -> AuditPage:
    """Newest first, one page at a time."""
    page = max(1, page)
    with Session(engine) as session:
        total = session.exec(select(func.count()).select_from(AuditEntry).where(*flt.where())).one()
        entries = list(session.exec(select(AuditEntry).where(*flt.where()).order_by(AuditEntry.seq.desc())
                                    .offset((page - 1) * per_page).limit(per_page)))
    return AuditPage(entries, int(total), page, per_page)


def iter_entries(engine: Engine, flt: AuditFilter, *, batch: int = 2000) -> Iterator[AuditEntry]:
    """Oldest first, streamed (an export of a busy year does not sit in memory twice)."""
    with Session(engine) as session:
        yield from session.exec(select(AuditEntry).where(*flt.where()).order_by(AuditEntry.seq)
                                .execution_options(yield_per=batch))


def changes_words(before: Optional[dict], after: Optional[dict]) -> str:
    """What changed, as "field: old → new; ..." (a value alone when there was none before)."""
    before, after = before or {}, after or {}
    parts = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        label = humanise(key)
        parts.append(f"{label}: {_value_words(new)}" if key not in before
                     else f"{label}: {_value_words(old)} → {_value_words(new)}")
    return "; ".join(parts)


def _value_words(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return humanise(value) if value.replace("_", "").isalpha() and "_" in value else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


EXPORT_HEADER = ("Entry", "When (UTC)", "Who", "What", "Object", "Object ID", "Campaign", "Reason", "Changes",
                 "Before", "After", "Hash")


def export_rows(entries: Iterable[AuditEntry]) -> Iterator[list[Any]]:
    for e in entries:
        yield [e.seq, e.at.replace(tzinfo=None), e.actor, action_words(e.action), humanise(e.object_type),
               e.object_id, e.campaign_id or "", e.reason or "", changes_words(e.before, e.after),
               json.dumps(e.before, ensure_ascii=False, sort_keys=True) if e.before is not None else "",
               json.dumps(e.after, ensure_ascii=False, sort_keys=True) if e.after is not None else "", e.hash]


def export(engine: Engine, flt: AuditFilter, out: Path, fmt: str) -> int:
    """Write the entries matching ``flt`` as CSV or XLSX; returns how many."""
    rows = export_rows(iter_entries(engine, flt))
    if fmt == "csv":
        from outreach.spreadsheet import neutralise

        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(EXPORT_HEADER)
        n = 0
        for row in rows:
            writer.writerow([r.isoformat(sep=" ") if isinstance(r, datetime) else neutralise(r) for r in row])
            n += 1
        out.write_text(buf.getvalue(), encoding="utf-8")
        return n
    from outreach.spreadsheet import new_workbook, write_table

    wb = new_workbook()
    ws = wb.create_sheet("Audit trail")
    n = write_table(ws, EXPORT_HEADER, rows, widths={2: 20, 3: 30, 4: 34, 9: 60})
    for cell in ws["B"][1:]:
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    wb.save(out)
    return n

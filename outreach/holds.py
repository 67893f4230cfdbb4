"""Legal holds: a supplier's or a campaign's records that no retention purge removes while held.

Placing and releasing a hold is an administrator's act (general counsel asks, an administrator acts:
outreach/roles.py); each is written to the audit trail in the transaction that changes the hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.columns import utcnow
from models.facts.retention import Holds
from models.tables import Campaign, LegalHold, Supplier
from outreach import audit
from outreach.db import session_scope

SCOPES = ("supplier", "campaign")


class HoldError(ValueError):
    """A hold cannot be placed or released as asked; the message says why."""


@dataclass(frozen=True)
class HoldView:
    id: int
    scope: str
    target_id: str
    reason: str
    placed_by: str
    placed_at: object
    released_by: Optional[str]
    released_at: object
    release_reason: Optional[str]

    @property
    def active(self) -> bool:
        return self.released_at is None


def _view(h: LegalHold) -> HoldView:
    return HoldView(h.id, h.scope, h.target_id, h.reason, h.placed_by, h.placed_at, h.released_by, h.released_at,
                    h.release_reason)


def _active(session: Session, scope: str, target_id: str) -> Optional[LegalHold]:
    return session.exec(select(LegalHold).where(LegalHold.scope == scope, LegalHold.target_id == target_id,
                                                LegalHold.released_at.is_(None))).first()


def place(engine: Engine, scope: str, target_id: str, reason: str, *, by: str) -> HoldView:
    if scope not in SCOPES:
        raise HoldError(f"a hold is on a supplier or a campaign, not on {scope!r}")
    reason = (reason or "").strip()
    if not reason:
        raise HoldError("give the reason for the hold (e.g. the matter or the request it answers)")
    with session_scope(engine) as session:
        if session.get(Supplier if scope == "supplier" else Campaign, target_id) is None:
            raise HoldError(f"no {scope} with the ID {target_id}")
        existing = _active(session, scope, target_id)
        if existing is not None:
            raise HoldError(f"the {scope} {target_id} is already under legal hold (hold {existing.id}, placed by "
                            f"{existing.placed_by} on {existing.placed_at:%Y-%m-%d}: {existing.reason})")
        hold = LegalHold(scope=scope, target_id=target_id, reason=reason, placed_by=by)
        session.add(hold)
        session.flush()
        audit.record(session, actor=by, action="hold.placed", object_type=scope, object_id=target_id,
                     campaign_id=target_id if scope == "campaign" else None, reason=reason,
                     before={"held": False}, after={"held": True, "hold": hold.id})
        return _view(hold)


def release(engine: Engine, scope: str, target_id: str, reason: str, *, by: str) -> HoldView:
    reason = (reason or "").strip()
    if not reason:
        raise HoldError("give the reason for releasing the hold (e.g. the matter is closed)")
    with session_scope(engine) as session:
        hold = _active(session, scope, target_id)
        if hold is None:
            raise HoldError(f"the {scope} {target_id} is not under legal hold")
        hold.released_by, hold.released_at, hold.release_reason = by, utcnow(), reason
        session.add(hold)
        audit.record(session, actor=by, action="hold.released", object_type=scope, object_id=target_id,
                     campaign_id=target_id if scope == "campaign" else None, reason=reason,
                     before={"held": True, "hold": hold.id}, after={"held": False})
        session.flush()
        return _view(hold)


def list_holds(engine: Engine, *, include_released: bool = False) -> list[HoldView]:
    with session_scope(engine) as session:
        q = select(LegalHold).order_by(LegalHold.placed_at, LegalHold.id)
        if not include_released:
            q = q.where(LegalHold.released_at.is_(None))
        return [_view(h) for h in session.exec(q)]


def active_holds(session: Session) -> Holds:
    rows = session.exec(select(LegalHold.scope, LegalHold.target_id).where(LegalHold.released_at.is_(None))).all()
    return Holds(campaigns=frozenset(t for s, t in rows if s == "campaign"),
                 suppliers=frozenset(t for s, t in rows if s == "supplier"))

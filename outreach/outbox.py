"""Reading the outbox: every message that belongs to one survey (see models/facts/messages.py)."""

from __future__ import annotations

from sqlmodel import Session, or_, select

from models.facts.messages import MessageRecord, key_prefix
from models.tables import OutboxMessage


def survey_messages(session: Session, survey_id: str) -> list[OutboxMessage]:
    """The supplier's messages and the chase, plan, escalation and VP messages of the survey, oldest first."""
    return list(session.exec(
        select(OutboxMessage).where(or_(
            OutboxMessage.survey_id == survey_id,
            OutboxMessage.idempotency_key.startswith(key_prefix(survey_id), autoescape=True),
        )).order_by(OutboxMessage.created_at, OutboxMessage.id)
    ))


def message_records(rows: list[OutboxMessage]) -> list[MessageRecord]:
    return [MessageRecord(template=m.template, idempotency_key=m.idempotency_key, status=str(m.status),
                          survey_id=m.survey_id) for m in rows]

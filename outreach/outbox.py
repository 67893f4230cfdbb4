"""Reading the outbox: every message that belongs to one survey (see models/facts/messages.py)."""

from __future__ import annotations

from sqlmodel import Session, or_, select

from models.facts.messages import SUPPLIER_REMINDERS, MessageRecord, ReminderCount, key_prefix, reminder_count
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


def reminder_counts(session: Session, survey_ids: list[str]) -> dict[str, ReminderCount]:
    """models.facts.messages.reminder_count for many surveys at once (lists and exports): one query for
    their campaigns' reminder messages, each counted under the survey its key or survey ID names."""
    if not survey_ids:
        return {}
    campaigns = {sid.split("/")[1] for sid in survey_ids if sid.count("/") >= 2}
    rows = session.exec(select(OutboxMessage.template, OutboxMessage.idempotency_key, OutboxMessage.status,
                               OutboxMessage.survey_id)
                        .where(OutboxMessage.template.in_(list(SUPPLIER_REMINDERS)),
                               or_(OutboxMessage.campaign_id.in_(campaigns), OutboxMessage.survey_id.in_(survey_ids)))).all()
    wanted = set(survey_ids)
    by_survey: dict[str, list[MessageRecord]] = {sid: [] for sid in survey_ids}
    for template, key, status, survey_id in rows:
        owner = survey_id if survey_id in wanted else "/".join(key.split("/")[:3])
        if owner in wanted:
            by_survey[owner].append(MessageRecord(template=template, idempotency_key=key, status=str(status),
                                                  survey_id=survey_id))
    return {sid: reminder_count(records, sid) for sid, records in by_survey.items()}

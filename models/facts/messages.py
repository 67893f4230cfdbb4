"""What the survey's mail says happened: which messages belong to a survey, and how many reminders it sent.

Pure: plain records of outbox rows in, counts out. Every face that states "n reminder(s)" (the supplier
page, the VP's case summary and decision page) reads :func:`reminder_count`, so a reminder of the
corrective action plan counts the same as one of the survey, and a message still waiting for the mail
relay is not called sent.

A survey's messages are the supplier's (they carry the survey ID) and every message whose idempotency key
starts with the survey's workflow ID: the chase to the commodity manager, the plan's and the escalation's
messages, the VP's mail (``<survey>/<step>/...``, ``<survey>/cap/<n>/...``, ``<survey>/escalation/<n>/...``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

# Reminders to the supplier, by template: the survey's, the correction's, and the corrective action plan's.
SUPPLIER_REMINDERS: dict[str, str] = {
    "reminder": "reminder to answer",
    "overdue_reminder": "overdue reminder",
    "correction_reminder": "reminder to correct",
    "cap_reminder": "corrective action reminder",
    "cap_overdue": "corrective action overdue notice",
}
VP_REMINDERS = frozenset({"vp_reminder"})
CHASES = frozenset({"due_date_chase"})


@dataclass(frozen=True)
class MessageRecord:
    template: str
    idempotency_key: str
    status: str  # pending, sent, bounced
    survey_id: Optional[str] = None


def key_prefix(survey_id: str) -> str:
    return survey_id.rstrip("/") + "/"


def belongs_to_survey(message: MessageRecord, survey_id: str) -> bool:
    return message.survey_id == survey_id or message.idempotency_key.startswith(key_prefix(survey_id))


@dataclass(frozen=True)
class ReminderCount:
    sent: int = 0  # reminders to the supplier the mail relay accepted
    waiting: int = 0  # reminders to the supplier not accepted by the relay yet
    bounced: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # sent, in words (SUPPLIER_REMINDERS)
    to_vp: int = 0  # reminders to the Supply Chain VP, sent
    chases: int = 0  # due-date chases to the commodity manager, sent

    def describe(self) -> str:
        """"3 reminder(s) to the supplier (2 reminder to answer, 1 corrective action reminder)"."""
        parts = [f"{n} {kind}" for kind, n in self.by_kind.items()] if len(self.by_kind) > 1 else []
        if self.waiting:
            parts.append(f"{self.waiting} more waiting to be sent")
        return f"{self.sent} reminder(s) to the supplier" + (f" ({', '.join(parts)})" if parts else "")


def reminder_count(messages: Iterable[MessageRecord], survey_id: Optional[str] = None) -> ReminderCount:
    """Reminders among ``messages`` (only the survey's, when ``survey_id`` is given)."""
    sent = waiting = bounced = to_vp = chases = 0
    by_kind: dict[str, int] = {}
    for m in messages:
        if survey_id is not None and not belongs_to_survey(m, survey_id):
            continue
        if m.template in SUPPLIER_REMINDERS:
            if m.status == "sent":
                sent += 1
                kind = SUPPLIER_REMINDERS[m.template]
                by_kind[kind] = by_kind.get(kind, 0) + 1
            elif m.status == "bounced":
                bounced += 1
            else:
                waiting += 1
        elif m.status == "sent" and m.template in VP_REMINDERS:
            to_vp += 1
        elif m.status == "sent" and m.template in CHASES:
            chases += 1
    order = list(SUPPLIER_REMINDERS.values())
    by_kind = dict(sorted(by_kind.items(), key=lambda kv: order.index(kv[0])))
    return ReminderCount(sent=sent, waiting=waiting, bounced=bounced, by_kind=by_kind, to_vp=to_vp, chases=chases)

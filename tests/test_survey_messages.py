"""One count of reminders, one list of a survey's mail: the supplier page, the decision page and the VP's
case summary read the same messages (models/facts/messages.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.survey import EscalationOpen, SurveyActivities
from models.facts.messages import SUPPLIER_REMINDERS, MessageRecord, reminder_count
from models.tables import OutboxMessage
from outreach.db import session_scope
from tests.web_support import NOW, make_web, seed_case, seed_escalation, seed_plan

SID = "survey/cmrt-2025/S-1"


def _mail(engine, key: str, template: str, *, to: str = "jane@s-1.test", supplier: bool = True,
          status: str = "sent", subject: str | None = None) -> None:
    with session_scope(engine) as s:
        s.add(OutboxMessage(idempotency_key=key, survey_id=SID if supplier else None, template=template, to_addr=to,
                            subject=subject or template, body_text=".", message_id=f"<{key}>", status=status,
                            sent_at=NOW if status == "sent" else None, created_at=NOW - timedelta(hours=len(key))))


def seed_mail(engine) -> None:
    _mail(engine, f"{SID}/reminder/r0/n1", "reminder")
    _mail(engine, f"{SID}/due_date_chase/r0/n0", "due_date_chase", to="cm@company.test", supplier=False,
          subject="Please chase Acme Metals")
    _mail(engine, f"{SID}/cap/1/cap_plan_reminder/n1", "cap_reminder")
    _mail(engine, f"{SID}/cap/1/cap_overdue_a1/n1", "cap_overdue", status="pending")
    _mail(engine, f"{SID}/escalation/1/escalation_to_vp/n0", "escalation_to_vp", to="vp@company.test", supplier=False,
          subject="Decision needed: Acme Metals")
    _mail(engine, f"{SID}/escalation/1/vp_reminder/n1", "vp_reminder", to="vp@company.test", supplier=False)
    # Another supplier whose ID starts the same way: not this survey's mail.
    _mail(engine, "survey/cmrt-2025/S-10/reminder/r0/n1", "reminder", supplier=False)


def test_reminders_are_counted_from_the_mail_the_relay_took():
    msgs = [MessageRecord("reminder", f"{SID}/reminder/r0/n1", "sent", SID),
            MessageRecord("cap_reminder", f"{SID}/cap/1/cap_plan_reminder/n1", "sent"),
            MessageRecord("cap_overdue", f"{SID}/cap/1/cap_overdue_a1/n1", "pending"),
            MessageRecord("vp_reminder", f"{SID}/escalation/1/vp_reminder/n1", "sent"),
            MessageRecord("reminder", "survey/cmrt-2025/S-10/reminder/r0/n1", "sent")]
    count = reminder_count(msgs, SID)
    assert (count.sent, count.waiting, count.to_vp) == (2, 1, 1)
    assert count.describe() == ("2 reminder(s) to the supplier (1 reminder to answer, 1 corrective action "
                                "reminder, 1 more waiting to be sent)")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(SUPPLIER_REMINDERS) + ["request", "vp_reminder", "accepted"]),
                          st.sampled_from(["sent", "pending", "bounced"]), st.booleans())))
def test_the_count_is_the_supplier_reminders_sent(rows):
    msgs = [MessageRecord(t, f"{SID if mine else 'survey/x/y'}/step/n{i}", status) for i, (t, status, mine) in enumerate(rows)]
    count = reminder_count(msgs, SID)
    assert count.sent == sum(1 for t, status, mine in rows if mine and status == "sent" and t in SUPPLIER_REMINDERS)
    assert sum(count.by_kind.values()) == count.sent
    assert count.describe().startswith(f"{count.sent} reminder(s)")


def test_the_vps_case_summary_counts_the_plans_reminders(engine, settings_for, db_url):
    seed_case(engine)
    seed_mail(engine)
    acts = SurveyActivities(settings_for(db_url=db_url), engine)
    summary = acts.open_escalation(EscalationOpen(escalation_id=f"{SID}/escalation/2", survey_id=SID,
                                                  reason="cap_overdue", opened_at=NOW))
    assert summary.reminders_sent == 2  # the survey's reminder and the plan's; the pending one is not sent yet
    assert "1 corrective action reminder" in summary.reminders_text
    from outreach.emails import render_email

    body = render_email("escalation_to_vp", {"supplier_name": "Acme Metals", "supplier_id": "S-1",
                                             "reason_text": "overdue", "decision_url": "http://x",
                                             "case": summary.model_dump(mode="json")}).text
    assert "What was tried: 2 reminder(s) to the supplier (1 reminder to answer, 1 corrective action reminder" in body


@pytest.fixture
async def web(engine, db_url, settings_for):
    w = make_web(settings_for(db_url=db_url), engine)
    yield w
    await w.client.aclose()


async def test_the_supplier_page_lists_every_message_of_the_survey(web):
    seed_case(web.engine, state="escalated")
    seed_plan(web.engine, SID)
    seed_escalation(web.engine, SID)
    seed_mail(web.engine)
    await web.login()
    text = (await web.client.get("/suppliers/S-1")).text
    mail = text.split('id="mail-h"')[1].split("</section>")[0]
    assert "Please chase Acme Metals" in mail and "cm@company.test" in mail  # the chase
    assert "Decision needed: Acme Metals" in mail and "vp@company.test" in mail  # the VP's mail
    assert "Cap reminder" in mail or "cap_reminder" not in mail
    assert "S-10" not in mail
    kpi = text.split("Reminders sent</div>")[1].split("</div>")[0]
    assert "<strong>2</strong>" in kpi, kpi

"""Every lifecycle email renders (subject, text, HTML) with the context its workflow gives it; the parts a
reader depends on are there."""

from __future__ import annotations

import re

import pytest

from outreach.emails import render_email

BASE = dict(company_name="Example Manufacturing Inc.", program_name="Example Manufacturing Inc. Responsible Minerals Program",
            supplier_name="Acme <Components>", supplier_id="S-1", campaign_id="cmrt-2025", campaign_year=2025,
            contact_name="Jane Doe", contact_email="jane@acme.test", language="en", due_date="01 March 2026",
            compliance_email="compliance@x.test", correction_round=1, max_rounds=3)
PORTAL = dict(portal_url="http://portal.test/portal/TOKEN")
FINDINGS = [dict(code="contact_email_missing", severity="error", sheet="Declaration", cell="D16",
                 message="The contact email is missing."),
            dict(code="unreadable", severity="error", sheet=None, cell=None, message="Not a workbook.")]
ACTION = dict(number=2, description="Drop the refinery", owner="Jane", target_date="2026-04-01T00:00:00Z",
              status="reported_done", status_note="done in March")
CASE = dict(supplier_id="S-1", supplier_name="Acme", annual_spend=1234567.0, category="strategic", country="Japan",
            commodity_manager="Carl", reminders_sent=3, correction_rounds=0, submissions=0,
            history=[dict(at="2026-01-01T00:00:00+00:00", kind="request_sent", reason="")], findings=FINDINGS)
ESC = dict(company_name="Example Manufacturing Inc.", supplier_name="Acme", supplier_id="S-1", campaign_id="cmrt-2025",
           reason="non_responsive", reason_text="No answer.", case=CASE, decision_url="http://portal.test/decide/T")
CAP = dict(BASE, cap_id="survey/c/S-1/cap/1", reason="high_risk_confirmed", actions=[ACTION], **PORTAL)

CASES = {
    "request": (dict(BASE, **PORTAL), ["01 March 2026", "http://portal.test/portal/TOKEN",
                                       "https://www.responsiblemineralsinitiative.org/reporting-templates/cmrt/"]),
    "reminder": (dict(BASE, firmness=3, final=True, **PORTAL), ["Final reminder"]),
    "overdue_reminder": (dict(BASE, grace_ends="31 March 2026", **PORTAL), ["31 March 2026"]),
    "due_date_chase": (dict(BASE, commodity_manager_name="Carl", grace_ends="31 March 2026"), ["Dear Carl"]),
    "correction_request": (dict(BASE, findings=FINDINGS, round=1, window_ends="x", **PORTAL), ["Declaration D16", "Not a workbook."]),
    "correction_reminder": (dict(BASE, findings=FINDINGS, window_ends="x", **PORTAL), ["Declaration D16"]),
    "product_level_request": (dict(BASE, high_risk_smelters=2, window_ends="x", **PORTAL), ["product-level"]),
    "risk_review_request": (dict(BASE, high_risk_smelters=2, scope="user_defined", submission_id="s/1",
                                 base_url="http://dash.test"), ["user-defined level", "http://dash.test/suppliers/S-1"]),
    "weak_program_guidance": (dict(BASE, **PORTAL), ["weak"]),
    "accepted": (dict(BASE, with_cap=False, **PORTAL), ["accepted"]),
    "withdrawn": (dict(BASE, **PORTAL), ["no longer in the scope"]),
    "bounce_notice": (dict(BASE, bounced_email="jane@acme.test", detail="550 no such user", state="awaiting_response"),
                      ["550 no such user", "(awaiting response)"]),
    "escalation_notice": (dict(BASE, reason="invalid_uncorrected", escalation_id="e/1", commodity_manager_name="Carl"),
                          ["correction round"]),
    "cap_request": (dict(CAP, plan_due="x"), ["corrective action plan"]),
    "cap_request_declared": (dict(CAP, plan_due="x", reason="high_risk_declared"), ["not in the supply chain"]),
    "cap_reminder": (dict(CAP, plan_reminder=False, action=ACTION, target="01 April 2026"), ["Drop the refinery"]),
    "cap_overdue": (dict(CAP, action=ACTION, target="01 April 2026", escalation_on="x"), ["Overdue"]),
    "cap_review": (dict(CAP, action=ACTION), ["done in March"]),
    "escalation_to_vp": (ESC, ["1,234,567", "http://portal.test/decide/T", "Declaration D16", "2026-01-01  Request sent"]),
    "vp_reminder": (dict(ESC, reminder=2), ["Reminder 2"]),
    "decision_notice": (dict(ESC, decision="suspend", decided_by="vp@x.test", decision_reason="no CMRT",
                             decided_at="01 May 2026 10:00 UTC", audience="compliance"), ["suspend the supplier"]),
}


@pytest.mark.parametrize("template", sorted(CASES))
def test_lifecycle_email_renders(template):
    context, expected = CASES[template]
    email = render_email(template.removesuffix("_declared"), context)
    whole = email.subject + "\n" + email.text
    for text in expected:
        assert text in whole, (template, text)
    assert email.html and "<Components>" not in email.html  # HTML escapes what suppliers typed
    assert "request_sent" not in whole + email.html  # event codes read as words
    assert "\n" not in email.subject and len(email.subject) < 200


def test_decision_notice_without_a_decision_and_to_the_supplier():
    lapsed = render_email("decision_notice", dict(ESC, decision=None, audience="compliance"))
    assert lapsed.subject.startswith("No decision recorded")
    supplier = render_email("decision_notice", dict(ESC, decision="disengage", decided_by="vp@x.test", decision_reason="",
                                                    decided_at="x", audience="supplier", contact_name="Jane"))
    assert "Dear Jane" in supplier.text and "disengage from the supplier" in supplier.text
    assert "vp@x.test" not in supplier.text  # who decided is internal


def test_request_links_to_the_rmi_cmrt_page_in_html_too():
    email = render_email("request", dict(BASE, **PORTAL))
    assert 'href="https://www.responsiblemineralsinitiative.org/reporting-templates/cmrt/"' in email.html


SUMMARY = dict(campaign=dict(name="CMRT 2025", year=2025, selection="all active suppliers", selected=24, total_spend=0,
                             spend_covered=0, surveys=24, not_started=0, responded=9, response_rate=9 / 24, valid=7,
                             open_surveys=8, by_outcome={"valid_with_cap": 1, "valid": 6, "non_responsive": 2},
                             by_state={"closed": 6, "awaiting_response": 3, "correction_requested": 8},
                             overdue_count=0, overdue=[], open_caps_count=0, open_escalations_count=1,
                             lapsed_escalations_count=0),
               final_state="closed", dashboard_url="http://dash.test/campaigns/cmrt-2025")
_CODE = re.compile(r"(?<![\w/.@-])[a-z]+(?:_[a-z]+)+(?![\w/.@-])")


@pytest.mark.parametrize("template,context,said", [
    ("campaign_summary", SUMMARY, ["Valid with corrective action: 1", "Non-responsive: 2", "Closed: 6",
                                   "Awaiting response: 3", "Correction requested: 8", "9 of 24 (38% response rate)"]),
    ("escalation_to_vp", dict(ESC, case=dict(CASE, history=[
        dict(at="2026-01-01T00:00:00+00:00", kind="escalated", reason="cap_overdue"),
        dict(at="2026-01-02T00:00:00+00:00", kind="escalated", reason="non_responsive")])),
     ["Escalated: Corrective action plan overdue", "Escalated: Non-responsive"]),
    ("bounce_notice", dict(BASE, bounced_email="jane@acme.test", detail="550 no such user", state="awaiting_response"),
     ["paused (awaiting response)"]),
    ("decision_notice", dict(ESC, decision=None, decision_reason=None, decided_by=None, decided_at=None,
                             audience="compliance"), ["keeps its outcome (non-responsive)"]),
])
def test_no_code_reaches_a_reader(template, context, said):
    """Outcome, state, event and reason codes are said in words, in the text and the HTML alike."""
    email = render_email(template, context)
    for part in (email.subject, email.text, email.html or ""):
        assert not _CODE.findall(part), (template, _CODE.findall(part))
    for text in said:
        assert text in email.text, (template, text)

"""One supplier's case in the pack: its files as received, each file's findings and verdicts, every e-mail,
the timeline, the plans and escalations, and a page a person reads first (case.html).

Everything is read as the supplier page reads it (:func:`outreach.web.queries.survey_views`, its query for many) and
judged by the pure facts (:mod:`models.facts.survey`), so the pack says what the dashboard says.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import format_datetime
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from models.facts.survey import declaration_that_counts, effective_verdict, verdict_words
from models.tables import OutboxMessage, Supplier
from outreach.emails import build_mime, template_environment
from outreach.evidence.archive import Archive, Spool, safe_part
from outreach.spreadsheet import neutralise
from outreach.storage import FileStore
from outreach.web.queries import SurveyView
from outreach.wording import humanise, outcome_words

# The global tables every case adds its rows to (written into the pack after the last case).
DECLARATIONS = ("Supplier ID", "Supplier", "Submission", "Received (UTC)", "Channel", "Sent by", "Round", "Purpose",
                "Original file name", "File in the pack", "SHA-256", "Size (bytes)", "File kept", "Verdict of the check",
                "Verdict after review", "Verdict in words", "Hand review", "Reviewer's reason", "Counts for the survey",
                "Template version", "Errors", "Warnings", "Infos", "Findings (JSON)")
FINDINGS = ("Supplier ID", "Supplier", "Submission", "File in the pack", "Severity", "Code", "Sheet", "Cell", "Message")
EMAILS = ("Supplier ID", "Supplier", "Created (UTC)", "Sent (UTC)", "Status", "Template", "To", "Cc", "Subject",
          "Message-ID", "Attempts", "Last error", "File in the pack")
EVENTS = ("Supplier ID", "Supplier", "Survey", "Seq", "When (UTC)", "What", "State after", "Who", "Reason", "Data")
HAND_REVIEWS = ("Supplier ID", "Supplier", "Submission", "File in the pack", "Verdict of the check", "Decision",
                "Verdict after review", "Who", "When (UTC)", "Reason")
ESCALATIONS = ("Supplier ID", "Supplier", "Escalation", "Why", "Opened (UTC)", "Reminders to the VP", "Decision",
               "Decided by", "Decided (UTC)", "Decision reason", "Closed (UTC)", "Closed as")
PLANS = ("Supplier ID", "Supplier", "Plan", "Plan state", "Opened (UTC)", "Closed (UTC)", "Why", "Action",
         "Description", "Owner", "Target date", "Action status", "Status note", "Reported (UTC)", "Verified (UTC)",
         "Verified by")
SURVEYS = ("Supplier ID", "Supplier", "Category", "Commodity manager", "Survey", "State", "Outcome", "Requested (UTC)",
           "Due (UTC)", "First answer (UTC)", "Closed (UTC)", "Files received", "E-mails", "Timeline events",
           "Declaration that counts", "Why it counts", "Case page")

INDEX_ROW = ("Supplier ID", "Supplier", "Case page", "State", "Outcome", "Files", "E-mails")

_EXT = {"application/vnd.ms-excel": "xls", "application/vnd.ms-excel.sheet.macroEnabled.12": "xlsm",
        "application/vnd.ms-excel.sheet.binary.macroEnabled.12": "xlsb"}
_PERSON_KINDS_PREFIX = "submission_"  # submission_accepted_by_hand / submission_rejected_by_hand


@lru_cache(maxsize=1)
def _case_page():
    """Compiled once: a pack renders it for every supplier."""
    return template_environment().get_template("evidence/case.html")


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else ""


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime, date)) else str(value)


def dumps(value: Any) -> str:
    """One line of JSON, keys sorted, times in ISO 8601 (the same data gives the same bytes). Not indented:
    indenting makes Python encode it in Python rather than C, several times slower on a year's results."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=_iso) + "\n"


def row_of(model: Any) -> dict[str, Any]:
    return model.model_dump()


@dataclass
class Tables:
    """The spooled global tables (one row per file, finding, e-mail, ...)."""

    declarations: Spool = field(default_factory=lambda: Spool(DECLARATIONS))
    findings: Spool = field(default_factory=lambda: Spool(FINDINGS))
    emails: Spool = field(default_factory=lambda: Spool(EMAILS))
    events: Spool = field(default_factory=lambda: Spool(EVENTS))
    hand_reviews: Spool = field(default_factory=lambda: Spool(HAND_REVIEWS))
    escalations: Spool = field(default_factory=lambda: Spool(ESCALATIONS))
    plans: Spool = field(default_factory=lambda: Spool(PLANS))
    surveys: Spool = field(default_factory=lambda: Spool(SURVEYS))
    files_missing: int = 0

    # Where each table goes in the pack, and what the index says about it.
    PLACES = (
        ("surveys", "campaign/suppliers.csv", "Every supplier surveyed: state, outcome, the declaration that counts"),
        ("declarations", "declarations/declarations.csv", "Every file received: SHA-256, verdicts, hand reviews"),
        ("findings", "declarations/findings.csv", "Every finding of every file: sheet, cell, what to change"),
        ("emails", "emails/emails.csv", "Every e-mail the product sent or meant to send, with its status"),
        ("events", "timelines/events.csv", "Every survey's timeline, one event a row"),
        ("hand_reviews", "reviews/hand-reviews.csv", "Files accepted or rejected by a person, with who and why"),
        ("escalations", "decisions/escalations.csv", "Escalations to the Supply Chain VP and the VP's decisions"),
        ("plans", "decisions/corrective-action-plans.csv", "Corrective action plans and each action's progress"),
    )

    def write_into(self, archive: Archive) -> None:
        for attr, path, _ in self.PLACES:
            getattr(self, attr).copy_into(archive, path)


def supplier_folder(supplier: Supplier | None, supplier_id: str) -> str:
    """``suppliers/<ID> <name>``. The ID is the folder name's first word; an ID that is not already a safe
    word gets a short hash of itself, so two IDs that read alike ("S/1", "S_1") never share a folder."""
    name = safe_part(supplier.name if supplier else "", limit=50, fallback="")
    part = safe_part(supplier_id, limit=40)
    if part != supplier_id or " " in part:  # "~" is never in a safe name: no other ID reads the same
        part = part.replace(" ", "_") + "~" + hashlib.sha256(supplier_id.encode()).hexdigest()[:8]
    return f"suppliers/{part}{' ' + name if name else ''}"


def _file_name(n: int, sub: Any, content_type: str | None) -> str:
    original = PurePosixPath((sub.filename or "").replace("\\", "/")).name
    stem, _, ext = original.rpartition(".")
    ext = ext.lower() if stem and ext.lower() in ("xlsx", "xlsm", "xls", "xlsb") else _EXT.get(content_type or "", "xlsx")
    return (f"{sub.received_at:%Y-%m-%d}_{n:02d}_{sub.purpose}_{safe_part(stem or original, limit=40, fallback='file')}"
            f".{ext}")


def _eml(m: OutboxMessage, sender: str) -> bytes:
    """The message as the product sent it (outreach.emails.build_mime, as activities/email.py does), dated when
    it was sent, with a boundary derived from its Message-ID so the same message gives the same bytes."""
    msg = build_mime(sender=sender, to=m.to_addr, cc=list(m.cc_addrs or []), subject=m.subject, text=m.body_text,
                     html=m.body_html, message_id=m.message_id, headers={"X-Outreach-Template": m.template})
    del msg["Date"]
    stamp = m.sent_at or m.last_attempt_at or m.created_at
    if stamp is not None:
        msg["Date"] = format_datetime(stamp, usegmt=True)
    msg["X-Outreach-Status"] = str(m.status)
    if msg.is_multipart():
        msg.set_boundary("=_" + hashlib.sha256((m.message_id or m.idempotency_key).encode()).hexdigest()[:32])
    return msg.as_bytes()


def write_emails(archive: Archive, tables: Tables, messages: list[OutboxMessage], folder: str, *, sender: str,
                 supplier_id: str = "", supplier_name: str = "") -> list[dict[str, Any]]:
    out = []
    for n, m in enumerate(messages, 1):
        stamp = m.sent_at or m.created_at
        path = f"{folder}/emails/{n:03d}_{stamp:%Y-%m-%d}_{safe_part(m.template, limit=40)}.eml"
        archive.add_bytes(path, _eml(m, sender))
        tables.emails.add([supplier_id, supplier_name, when(m.created_at), when(m.sent_at), str(m.status), m.template,
                           m.to_addr, ", ".join(m.cc_addrs or []), m.subject, m.message_id, m.attempts, m.last_error,
                           path])
        out.append({"path": path, "subject": m.subject, "to": m.to_addr, "template": m.template,
                    "status": str(m.status), "sent": when(m.sent_at)})
    return out


def write_case(archive: Archive, tables: Tables, store: FileStore, view: SurveyView, supplier: Supplier | None, *,
               sender: str) -> list[Any]:
    """The case's entries and its rows in the global tables; returns the index's row for it (INDEX_ROW)."""
    sv = view.survey
    sid, name = sv.supplier_id, supplier.name if supplier else sv.supplier_id
    folder = supplier_folder(supplier, sid)
    received = list(reversed(view.submissions))  # oldest first: file 01 is the first answer
    reviewers = {(e.data or {}).get("submission_id"): e for e in view.events
                 if e.kind.startswith(_PERSON_KINDS_PREFIX) and e.kind.endswith("_by_hand")}
    counted = declaration_that_counts([x.submission for x in received])
    counted_id = counted.submission.id if counted else None

    files = []
    for n, item in enumerate(received, 1):
        sub, stored = item.submission, item.file
        path = f"{folder}/files/{_file_name(n, sub, stored.content_type if stored else None)}"
        kept = ""
        if store.exists(sub.file_sha256):
            with store.path_for(sub.file_sha256).open("rb") as src:
                entry = archive.add_stream(path, src)
            kept = "yes" if entry.sha256 == sub.file_sha256 else "CHANGED: its content no longer has the recorded hash"
        else:
            tables.files_missing += 1
            path, kept = "", "no: not in the file store"
        review = reviewers.get(sub.id)
        note = f"{review.actor}: {review.reason}" if review is not None and review.reason else None
        severities = [f.severity for f in item.findings]
        findings = [{"severity": f.severity, "code": f.code, "sheet": f.sheet, "cell": f.cell, "message": f.message}
                    for f in item.findings]
        record = {
            "submission": sub.id, "survey": sv.id, "supplier_id": sid, "supplier": name,
            "received_at": sub.received_at, "channel": sub.channel, "submitted_by": sub.submitted_by,
            "round": sub.round, "purpose": sub.purpose, "original_filename": sub.filename,
            "file": {"path_in_pack": path or None, "sha256": sub.file_sha256, "size": stored.size if stored else None,
                     "kept": kept, "content_type": stored.content_type if stored else None},
            "verdict_of_the_check": sub.verdict, "verdict_after_review": effective_verdict(sub),
            "verdict_words": verdict_words(sub, reviewer_note=note),
            "hand_review": ({"decision": sub.manual_decision, "reason": sub.manual_reason,
                             "by": review.actor if review is not None else None,
                             "at": review.at if review is not None else None} if sub.manual_decision else None),
            "counts_for_the_survey": counted.why if sub.id == counted_id else None,
            "template_version": sub.template_version, "checker_remaining": sub.checker_remaining,
            "program_strength": sub.program_strength, "declaration_scope": sub.declaration_scope,
            "findings": findings, "check_result": sub.result,
        }
        json_path = f"{folder}/files/{_file_name(n, sub, stored.content_type if stored else None)}.json"
        archive.add_text(json_path, dumps(record))
        tables.declarations.add([
            sid, name, sub.id, when(sub.received_at), sub.channel, sub.submitted_by, sub.round, sub.purpose,
            sub.filename, path, sub.file_sha256, stored.size if stored else None, kept, sub.verdict,
            effective_verdict(sub), record["verdict_words"], sub.manual_decision, sub.manual_reason,
            record["counts_for_the_survey"] or "", sub.template_version, severities.count("error"),
            severities.count("warning"), severities.count("info"), json_path])
        for f in item.findings:
            tables.findings.add([sid, name, sub.id, path, f.severity, f.code, f.sheet, f.cell, f.message])
        if sub.manual_decision:
            tables.hand_reviews.add([sid, name, sub.id, path, sub.verdict, sub.manual_decision, effective_verdict(sub),
                                     review.actor if review is not None else "", when(review.at) if review else "",
                                     review.reason if review is not None else sub.manual_reason])
        files.append({"path": path, "json": json_path, "name": PurePosixPath(json_path).name[:-5],
                      "sha256": sub.file_sha256, "received": when(sub.received_at), "purpose": sub.purpose,
                      "verdict": record["verdict_words"], "counts": record["counts_for_the_survey"],
                      "findings": findings})

    emails = write_emails(archive, tables, view.emails, folder, sender=sender, supplier_id=sid, supplier_name=name)

    events = []
    for e in view.events:
        data = json.dumps(e.data or {}, sort_keys=True, ensure_ascii=False, default=_iso)
        tables.events.add([sid, name, sv.id, e.seq, when(e.at), humanise(e.kind), humanise(e.state or ""),
                           e.actor or "the product", e.reason, data])
        events.append({"seq": e.seq, "at": when(e.at), "kind": humanise(e.kind), "state": humanise(e.state or ""),
                       "actor": e.actor or "the product", "reason": e.reason or "", "data": data})

    for esc in view.escalations:
        tables.escalations.add([sid, name, esc.id, humanise(esc.reason), when(esc.opened_at), esc.reminders_sent,
                                humanise(esc.decision or ""), esc.decided_by, when(esc.decided_at), esc.decision_reason,
                                when(esc.closed_at), esc.closed_as])
    for p in view.plans:
        for a in p.actions or [None]:
            tables.plans.add([sid, name, p.plan.id, humanise(p.plan.state), when(p.plan.opened_at),
                              when(p.plan.closed_at), p.plan.reason,
                              *([a.number, a.description, a.owner, when(a.target_date), humanise(a.status),
                                 a.status_note, when(a.reported_at), when(a.verified_at), a.verified_by]
                                if a is not None else [""] * 9)])

    case = {
        "supplier": row_of(supplier) if supplier else {"id": sid}, "survey": row_of(sv),
        "outcome_words": outcome_words(sv.outcome, sv.state),
        "declaration_that_counts": ({"submission": counted_id, "why": counted.why} if counted else None),
        "escalations": [row_of(e) for e in view.escalations],
        "corrective_action_plans": [{**row_of(p.plan), "actions": [row_of(a) for a in p.actions]} for p in view.plans],
    }
    archive.add_text(f"{folder}/case.json", dumps(case))
    with archive.open_text(f"{folder}/timeline.csv") as fh:
        w = csv.writer(fh)
        w.writerow(EVENTS[3:])
        for e in events:
            w.writerow([neutralise(e[k]) for k in ("seq", "at", "kind", "state", "actor", "reason", "data")])
    page = f"{folder}/case.html"
    counted_path = next((f["path"] or f["json"] for f in files if f["counts"]), "")
    archive.add_text(page, _case_page().render(
        supplier_id=sid, name=name, survey=sv, outcome=outcome_words(sv.outcome, sv.state), files=files,
        emails=emails, events=events, escalations=view.escalations, plans=view.plans,
        counted=counted, rel=lambda p: p[len(folder) + 1:] if p else "", when=when))
    tables.surveys.add([sid, name, supplier.category if supplier else None,
                        supplier.commodity_manager_email if supplier else None, sv.id, humanise(sv.state),
                        outcome_words(sv.outcome, sv.state), when(sv.requested_at), when(sv.due_at),
                        when(sv.first_submission_at), when(sv.closed_at), len(files), len(emails), len(events),
                        counted_path, counted.why if counted else "", page])
    return [sid, name, page, humanise(sv.state), outcome_words(sv.outcome, sv.state), len(files), len(emails)]

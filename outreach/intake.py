"""A CMRT handed to a survey, from any face (the portal, the API, the CLI, the demo): one gate, one path.

The file's name and declared type are never trusted: the bytes are sniffed (cmrt.sniff), and a file that is
empty, too large or not a workbook (a photo, a PDF, a workbook whose sheets would take gigabytes to read) is
refused with the finding the checker would give, before it is stored or reaches the survey: it starts no
correction round and no report counts it. A workbook is stored under its SHA-256 and the survey's ``submit``
Update checks it and answers with the findings at once. Every face calls :func:`submit_workbook`, so the
same bytes get the same answer wherever they arrive.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Literal

from cmrt.messages import finding
from cmrt.sniff import Sniffed, Unreadable, sniff
from cmrt.types import Finding
from models import survey as contract
from outreach.i18n import N_
from outreach.storage import FileStore, _safe_name

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS_TYPE = "application/vnd.ms-excel"
REFUSED_MESSAGE = N_("We could not read this file, so it was not submitted. Please see below and send the workbook "
                     "again.")

Channel = Literal["portal", "cli", "email", "api"]
Purpose = Literal["declaration", "product_level"]


@dataclass
class UploadOutcome:
    """What the person who sent the file is told."""

    verdict: str  # valid / invalid / unreadable, or refused (never reached the survey)
    message: str
    findings: list[contract.SubmissionFinding] = field(default_factory=list)
    accepted: bool = False
    submission_id: str | None = None
    state: str | None = None
    next_step: str | None = None

    @property
    def errors(self) -> list[contract.SubmissionFinding]:
        return [f for f in self.findings if f.severity == "error"]

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "accepted": self.accepted, "message": self.message,
                "submission_id": self.submission_id, "state": self.state, "next_step": self.next_step,
                "findings": [f.model_dump(mode="json") for f in self.findings]}


def refusal(f: Finding) -> UploadOutcome:
    """The answer to a file refused at the gate, carrying the finding that says why."""
    return UploadOutcome(verdict="refused", message=REFUSED_MESSAGE, findings=[contract.SubmissionFinding(
        code=f.code, severity=f.severity, sheet=f.sheet, cell=f.cell, message=f.message)])


def refused(code: str, **params: str) -> UploadOutcome:
    return refusal(finding(code, **params))


def too_large(size: int | None, max_bytes: int) -> UploadOutcome:
    """A file over the limit; ``size`` None when it is only known to be larger (a stream read past the limit)."""
    said = f"{size / 1048576:.1f}" if size is not None else f"more than {max_bytes / 1048576:.0f}"
    return refused("file_too_large", size_mb=said, limit_mb=f"{max_bytes / 1048576:.0f}")


def screen(data: bytes, *, max_bytes: int) -> Sniffed | UploadOutcome:
    """The gate: the sniffed workbook, or the refusal (empty, too large, not a workbook, too big to read)."""
    if len(data) > max_bytes:
        return too_large(len(data), max_bytes)
    if not data:
        return refused("file_empty")
    try:
        return sniff(data, max_bytes=max_bytes)
    except Unreadable as exc:
        return refusal(exc.finding)


def submit_update_id(survey_id: str, sha256: str, purpose: str) -> str:
    """The same file sent twice for the same purpose is one submission (a double click, a retry, the same
    file through the portal and the CLI)."""
    return "submit-" + hashlib.sha256(f"{survey_id}|{sha256}|{purpose}".encode()).hexdigest()[:32]


# Runs the survey's ``submit`` Update: (argument, update ID) -> the survey's verdict. Each face reaches
# Temporal its own way (the web app's client factory, the CLI's client) and turns its failures into its errors.
SendSubmission = Callable[[contract.SubmitCmrt, str], Awaitable[contract.SubmissionVerdict]]


async def submit_workbook(survey_id: str, data: bytes, filename: str | None, *, store: FileStore, max_bytes: int,
                          send: SendSubmission, channel: Channel, submitted_by: str | None,
                          purpose: Purpose) -> UploadOutcome:
    """Sniff, store, submit: the refusal when the gate refuses the bytes, else the survey's verdict."""
    screened = screen(data, max_bytes=max_bytes)
    if isinstance(screened, UploadOutcome):
        return screened
    name = _safe_name(filename)
    sha = store.put(data, filename=name, content_type=XLS_TYPE if screened.file_format == "xls" else XLSX_TYPE)
    arg = contract.SubmitCmrt(file_sha256=sha, filename=name, channel=channel, submitted_by=submitted_by,
                              purpose=purpose)
    verdict = await send(arg, submit_update_id(survey_id, sha, purpose))
    return UploadOutcome(
        verdict=verdict.verdict, message=verdict.message, findings=list(verdict.findings),
        accepted=verdict.accepted, submission_id=verdict.submission_id, state=str(verdict.state),
        next_step=verdict.next_step,
    )

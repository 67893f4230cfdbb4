"""A CMRT upload, from the portal or the API: size limit, content sniffed, stored by hash, then submitted.

The upload's name and declared type are never trusted: the bytes are sniffed (cmrt.sniff), a file that
is not a workbook is refused with the same finding the checker would give, before it is stored or
reaches the survey. A workbook is stored under its SHA-256 and the survey's ``submit`` Update checks it
and answers with the findings at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

from fastapi import UploadFile

from cmrt.messages import finding
from cmrt.sniff import Unreadable, sniff
from models import survey as contract
from models.enums import SurveyState
from models.tables import Survey
from outreach.storage import FileStore, _safe_name
from outreach.web.actions import submit_cmrt

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS_TYPE = "application/vnd.ms-excel"


@dataclass
class UploadOutcome:
    """What the supplier is told after an upload."""

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


def refused(code: str, **params: str) -> UploadOutcome:
    f = finding(code, **params)
    return UploadOutcome(
        verdict="refused",
        message="We could not read this file, so it was not submitted. Please see below and send the workbook again.",
        findings=[contract.SubmissionFinding(code=f.code, severity=f.severity, sheet=f.sheet, cell=f.cell,
                                             message=f.message)],
    )


async def read_limited(upload: UploadFile, max_bytes: int) -> bytes | UploadOutcome:
    """The upload's bytes, or a refusal when it is empty or over the limit (never reading past it)."""
    if upload.size is not None and upload.size > max_bytes:
        return refused("file_too_large", size_mb=f"{upload.size / 1048576:.1f}", limit_mb=f"{max_bytes / 1048576:.0f}")
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        return refused("file_too_large", size_mb=f"more than {max_bytes / 1048576:.0f}",
                       limit_mb=f"{max_bytes / 1048576:.0f}")
    if not data:
        return refused("file_empty")
    return data


def purpose_for(survey: Survey) -> Literal["declaration", "product_level"]:
    return "product_level" if survey.state == SurveyState.product_level_requested.value else "declaration"


async def submit_upload(client_factory: Callable, store: FileStore, survey: Survey, upload: UploadFile, *,
                        max_bytes: int, channel: Literal["portal", "api"], submitted_by: str | None) -> UploadOutcome:
    data = await read_limited(upload, max_bytes)
    if isinstance(data, UploadOutcome):
        return data
    try:
        sniffed = sniff(data, max_bytes=max_bytes)
    except Unreadable as exc:
        f = exc.finding
        outcome = refused(f.code)
        outcome.findings = [contract.SubmissionFinding(code=f.code, severity=f.severity, sheet=f.sheet,
                                                       cell=f.cell, message=f.message)]
        return outcome
    filename = _safe_name(upload.filename)
    sha = store.put(data, filename=filename, content_type=XLS_TYPE if sniffed.file_format == "xls" else XLSX_TYPE)
    verdict = await submit_cmrt(client_factory, survey.id, sha, filename=filename, channel=channel,
                                submitted_by=submitted_by, purpose=purpose_for(survey))
    return UploadOutcome(
        verdict=verdict.verdict, message=verdict.message, findings=list(verdict.findings),
        accepted=verdict.accepted, submission_id=verdict.submission_id, state=str(verdict.state),
        next_step=verdict.next_step,
    )

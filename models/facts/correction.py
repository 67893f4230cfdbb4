"""What a correction request says: the errors to correct, the warnings and notes to read, the count, the
deadline. One function for every face that states it: the correction email and its reminder (subject and
body), the supplier portal and the compliance team's supplier page.

Only errors stop a file from being accepted, so only errors are "to correct"; warnings and notes (infos)
are listed apart and never as demands. The count is the number of errors in the file, also when the
message lists fewer (a workflow payload carries at most 200 findings; the database keeps them all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Optional

ERROR, WARNING, INFO = "error", "warning", "info"
# A line the workflow payload adds when it cuts the list short: bookkeeping, not a finding of the file.
MORE_FINDINGS = "more_findings"
# The finding a reviewer's rejection by hand becomes: the one thing to correct.
REJECTED_BY_REVIEWER = "rejected_by_reviewer"


@dataclass(frozen=True)
class Line:
    """One finding as a person reads it: where, and what to do."""

    severity: str
    message: str
    sheet: Optional[str] = None
    cell: Optional[str] = None
    # what the sentence was written from, so each face can say it in the reader's language (outreach.i18n)
    code: Optional[str] = None
    params: Optional[dict[str, str]] = field(default=None, compare=False)

    @property
    def where(self) -> str:
        if self.sheet and self.cell:
            return f"{self.sheet} {self.cell}"
        return self.sheet or self.cell or "whole file"

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "message": self.message, "sheet": self.sheet, "cell": self.cell,
                "where": self.where, "code": self.code,
                "params": None if self.params is None else dict(self.params)}


@dataclass(frozen=True)
class CorrectionRequest:
    to_correct: tuple[Line, ...] = ()  # the errors, in the order found (the most serious first)
    warnings: tuple[Line, ...] = ()  # to check; the file can be accepted with them
    notes: tuple[Line, ...] = ()  # information only
    error_count: int = 0  # errors in the file (to_correct may list fewer)
    deadline: Optional[datetime] = None
    round: int = 0
    max_rounds: int = 0
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def unlisted_errors(self) -> int:
        return self.error_count - len(self.to_correct)

    @property
    def headline(self) -> str:
        """"9 errors to correct" (the subject's, the portal's and the dashboard's words)."""
        n = self.error_count
        return f"{n} error{'s' if n != 1 else ''} to correct"

    def context(self) -> dict[str, Any]:
        """Plain data for an email's template (it travels in workflow payloads): dates as words."""
        return {
            "to_correct": [x.as_dict() for x in self.to_correct],
            "warnings": [x.as_dict() for x in self.warnings],
            "notes": [x.as_dict() for x in self.notes],
            "error_count": self.error_count, "unlisted_errors": self.unlisted_errors, "headline": self.headline,
            "deadline": day(self.deadline), "deadline_at": self.deadline.isoformat() if self.deadline else None,
            "round": self.round, "max_rounds": self.max_rounds,
        }


def day(dt: Optional[datetime]) -> str:
    """A date as every email states it ("23 December 2026")."""
    return dt.strftime("%d %B %Y") if dt else ""


def _get(f: Any, name: str) -> Any:
    return f.get(name) if isinstance(f, Mapping) else getattr(f, name, None)


def correction_request(findings: Iterable[Any], *, deadline: Optional[datetime], round: int = 0,
                       max_rounds: int = 0, error_count: Optional[int] = None) -> CorrectionRequest:
    """The correction request for these findings (objects or mappings with severity, message, sheet, cell,
    code). `error_count`: the errors in the whole file when `findings` may be cut short; never fewer than
    the errors listed."""
    errors: list[Line] = []
    warnings: list[Line] = []
    notes: list[Line] = []
    for f in findings:
        if _get(f, "code") == MORE_FINDINGS:
            continue
        severity = str(_get(f, "severity") or "")
        line = Line(severity=severity, message=str(_get(f, "message") or ""), sheet=_get(f, "sheet") or None,
                    cell=_get(f, "cell") or None, code=_get(f, "code") or None,
                    params=None if _get(f, "params") is None else dict(_get(f, "params")))
        (errors if severity == ERROR else warnings if severity == WARNING else notes).append(line)
    total = len(errors) if error_count is None else max(error_count, len(errors))
    return CorrectionRequest(to_correct=tuple(errors), warnings=tuple(warnings), notes=tuple(notes),
                             error_count=total, deadline=deadline, round=round, max_rounds=max_rounds)


def rejection_finding(reason: str) -> dict[str, Any]:
    """A submission the compliance team rejected by hand: the reviewer's reason is the one error to correct."""
    return {"code": REJECTED_BY_REVIEWER, "severity": ERROR, "sheet": None, "cell": None, "message": reason}


def findings_to_correct(findings: Iterable[Any], *, manual_decision: Optional[str] = None,
                        manual_reason: Optional[str] = None) -> list[Any]:
    """The findings a correction request is about: the file's, or the reviewer's reason when the
    submission was rejected by hand (the workflow asks for that correction, not the file's findings)."""
    if manual_decision == "rejected":
        return [rejection_finding(manual_reason or "Rejected by our compliance team.")]
    return list(findings)

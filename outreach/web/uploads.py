"""A CMRT upload from the portal or the API: the upload is read up to the size limit, then handed to the one
gate every face uses (outreach.intake.submit_workbook: sniff, store, submit)."""

from __future__ import annotations

from typing import Callable, Literal

from fastapi import UploadFile

from models.enums import SurveyState
from models.tables import Survey
from outreach.intake import UploadOutcome, refused, submit_workbook, too_large
from outreach.storage import FileStore
from outreach.web.actions import send_submission

__all__ = ["UploadOutcome", "purpose_for", "read_limited", "submit_upload"]


async def read_limited(upload: UploadFile, max_bytes: int) -> bytes | UploadOutcome:
    """The upload's bytes, or a refusal when it is empty or over the limit (never reading past it)."""
    if upload.size is not None and upload.size > max_bytes:
        return too_large(upload.size, max_bytes)
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        return too_large(None, max_bytes)
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
    return await submit_workbook(survey.id, data, upload.filename, store=store, max_bytes=max_bytes,
                                 send=send_submission(client_factory, survey.id), channel=channel,
                                 submitted_by=submitted_by, purpose=purpose_for(survey))

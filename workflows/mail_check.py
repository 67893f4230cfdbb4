"""A delivery check: proves the whole path (Temporal, worker, templates, SMTP) with one real email.

`outreach mail check ADDRESS` runs it; an operator uses it after changing the SMTP settings.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailRequest, EmailResult
    from workflows.common import send_email


class MailCheckInput(BaseModel):
    to: str
    requested_by: str = "an operator"
    smtp_host: str = "the configured SMTP server"


@workflow.defn
class MailCheckWorkflow:
    @workflow.run
    async def run(self, inp: MailCheckInput) -> EmailResult:
        return await send_email(EmailRequest(
            idempotency_key=f"mail-check/{workflow.info().workflow_id}", template="mail_check", to=inp.to,
            context={"requested_by": inp.requested_by, "smtp_host": inp.smtp_host}))

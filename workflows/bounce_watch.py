"""Reading the bounce mailbox on a schedule, and telling each survey of its contact's hard bounce.

A survey is told of a bounce until the watch has signalled it (``bounces_told``): a pass that stopped in
between tells it on the next one; the survey ignores a second telling. One workflow per deployment (ID ``bounce-watch``, started by the worker when it starts, see worker.py):
every ``every`` (the setting bounce_poll_seconds) it runs the activity ``read_bounces`` and signals
``mail_bounced`` to the survey of each hard bounce. The survey decides what the bounce means (is it its
current contact? is there a fallback?). It continues as new every ``passes_per_run`` passes, so its history
stays short. ``once``: one pass and done (the CLI's ``outreach bounces read`` and the tests).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.bounces import BouncePass
    from workflows.common import DB_RETRY

WORKFLOW_ID = "bounce-watch"
READ_OPTIONS = dict(start_to_close_timeout=timedelta(minutes=5), retry_policy=DB_RETRY)


class BounceWatchInput(BaseModel):
    every: timedelta = timedelta(minutes=2)
    once: bool = False
    passes_per_run: int = 100


@workflow.defn(name="BounceWatch")
class BounceWatchWorkflow:
    @workflow.run
    async def run(self, inp: BounceWatchInput) -> BouncePass:
        total = BouncePass()
        for _ in range(1 if inp.once else inp.passes_per_run):
            found: BouncePass = await workflow.execute_activity("read_bounces", result_type=BouncePass, **READ_OPTIONS)
            for item in found.surveys:
                try:
                    await workflow.get_external_workflow_handle(item.survey_id).signal("mail_bounced", item.bounce)
                except FailureError as err:  # the survey closed meanwhile: the bounce stays on its message
                    workflow.logger.info("survey %s not told of a bounce: %s", item.survey_id, err)
            if found.surveys:  # told (or closed): not told again on the next pass
                await workflow.execute_activity("bounces_told", [b.bounce.bounce_id for b in found.surveys],
                                                **READ_OPTIONS)
            total = _add(total, found)
            if not inp.once:
                await workflow.sleep(inp.every)
        if inp.once:
            return total
        workflow.continue_as_new(inp)


def _add(a: BouncePass, b: BouncePass) -> BouncePass:
    return BouncePass(read=a.read + b.read, hard=a.hard + b.hard, soft=a.soft + b.soft,
                      not_bounces=a.not_bounces + b.not_bounces, unmatched=a.unmatched + b.unmatched,
                      already_read=a.already_read + b.already_read, retried=a.retried + b.retried,
                      surveys=[*a.surveys, *b.surveys])

"""The demo's suppliers answering on a timed script, so a newcomer sees every step in minutes.

A workflow rather than a background task: the script survives a restart of whatever started it (the
web button returns at once), and it shows up in the Temporal UI beside the campaign it feeds.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.demo import DemoAnswer, DemoScript
    from workflows.common import DB_OPTIONS


@workflow.defn
class DemoScriptWorkflow:
    @workflow.run
    async def run(self, script: DemoScript) -> list[str]:
        started = workflow.now()
        said: list[str] = []
        for step in sorted(script.steps, key=lambda s: s.after):
            wait = started + step.after - workflow.now()
            if wait > timedelta(0):
                await workflow.sleep(wait)
            said.append(await workflow.execute_activity(
                "demo_answer", DemoAnswer(campaign_id=script.campaign_id, step=step), result_type=str,
                start_to_close_timeout=timedelta(minutes=2), retry_policy=DB_OPTIONS["retry_policy"],
            ))
        return said

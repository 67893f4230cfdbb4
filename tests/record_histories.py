"""Record the histories of the representative survey runs into tests/histories/ (then commit them).

    .venv/bin/python -m tests.record_histories            # every scenario
    .venv/bin/python -m tests.record_histories NAME ...   # some (see tests/survey_scenarios.py)

Re-record only when a workflow change is intentional and old runs are handled (behind
`workflow.patched`): the files are what tests/test_replay.py holds the code to. Every run of a scenario
(the survey and its children, each run of a continue-as-new chain) is written as
`<scenario>__<n>.json` holding the workflow ID and the history.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path


async def record(names: list[str]) -> None:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from outreach.binaries import find_binary
    from outreach.db import make_engine, upgrade_database
    from outreach.settings import load_settings
    from tests.conftest import SmtpSink
    from tests.survey_harness import HISTORIES, SurveyRig, running
    from tests.survey_scenarios import SCENARIOS

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_binary("temporal-test-server")), data_converter=pydantic_data_converter)
    smtp = SmtpSink()
    smtp.start()
    HISTORIES.mkdir(exist_ok=True)
    try:
        for name in names:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'outreach.db'}"
                upgrade_database(url)
                engine = make_engine(url)
                settings = load_settings(data_dir=Path(tmp) / "var", database_url=url, smtp_port=smtp.port,
                                         secret_key="record", public_base_url="http://portal.test",
                                         task_queue=f"record-{name}", workflow_sandbox=True)
                rig = SurveyRig(env, smtp, engine, settings)
                async with running(rig):
                    ids = await SCENARIOS[name](rig)
                for old in HISTORIES.glob(f"{name}__*.json"):
                    old.unlink()
                for n, wf_id in enumerate(ids, 1):
                    history = await env.client.get_workflow_handle(wf_id).fetch_history()
                    doc = {"workflow_id": wf_id, "history": json.loads(history.to_json())}
                    (HISTORIES / f"{name}__{n}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
                engine.dispose()
                print(f"{name}: {len(ids)} histories")
    finally:
        smtp.stop()
        await env.shutdown()


def main() -> None:
    from tests.survey_scenarios import SCENARIOS

    names = sys.argv[1:] or list(SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    asyncio.run(record(names))


if __name__ == "__main__":
    main()

"""Replay: the committed histories (tests/histories/) and fresh runs replay against the current workflow code.

A change that alters the commands an existing history expects fails here: put it behind
`workflow.patched(...)`. When a change is meant to alter new runs only and is patched, or the scenarios
themselves change, re-record with `.venv/bin/python -m tests.record_histories` and commit the files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.survey_harness import HISTORIES, running, rig  # noqa: F401 (rig is a fixture)
from tests.survey_scenarios import SCENARIOS


def replayer(sandbox: bool = True) -> Replayer:
    from worker import workflow_runner
    from workflows import ALL_WORKFLOWS

    return Replayer(workflows=ALL_WORKFLOWS, workflow_runner=workflow_runner(sandbox),
                    data_converter=pydantic_data_converter)


def committed() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def test_histories_are_committed_for_every_scenario():
    # `v<n>-*` files were recorded by earlier versions of the workflows (before the patches named in
    # docs/lifecycle.md) and stay to prove that runs started then still replay.
    names = {p.name.split("__")[0] for p in committed() if not re.match(r"v\d+-", p.name)}
    assert names == set(SCENARIOS), "re-record with: .venv/bin/python -m tests.record_histories"
    assert any(p.name.startswith("v1-") for p in committed())


@pytest.mark.parametrize("path", committed(), ids=lambda p: p.stem)
async def test_committed_history_replays(path: Path):
    doc = json.loads(path.read_text())
    history = WorkflowHistory.from_json(doc["workflow_id"], doc["history"])
    result = await replayer().replay_workflow(history)
    assert result.replay_failure is None


async def test_every_committed_history_replays_without_the_sandbox_too():
    """Production workers run without the sandbox (OUTREACH_WORKFLOW_SANDBOX): the same histories give the
    same commands there, so the code the sandboxed tests check is the code that runs."""
    unsandboxed, failures = replayer(sandbox=False), {}
    for path in committed():
        doc = json.loads(path.read_text())
        result = await unsandboxed.replay_workflow(WorkflowHistory.from_json(doc["workflow_id"], doc["history"]),
                                                   raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures[path.name] = result.replay_failure
    assert failures == {}
    assert len(committed()) >= 30


@pytest.mark.parametrize("name", ["valid_after_correction", "high_risk_cap_closed", "invalid_vp_cap_overdue_disengaged"])
async def test_fresh_run_replays(rig, name):  # noqa: F811
    """The live run's histories (survey and children) replay without a nondeterminism error."""
    async with running(rig):
        ids = await SCENARIOS[name](rig)
    for wf_id in ids:
        history = await rig.client.get_workflow_handle(wf_id).fetch_history()
        assert (await replayer().replay_workflow(history)).replay_failure is None

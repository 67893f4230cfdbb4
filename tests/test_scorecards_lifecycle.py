"""The survey workflow moves the scorecard through the real worker (time-skipping server, SQLite)."""

from __future__ import annotations

import pytest

from cmrt.builder import valid_cmrt
from models.enums import SurveyOutcome
from models.survey import SubmitCmrt
from outreach.scorecards import scorecard_view
from tests.survey_harness import SurveyRig, running


@pytest.fixture
def rig(ts_env, smtp, engine, db_url, settings_for):
    return SurveyRig(ts_env, smtp, engine, settings_for(smtp_port=smtp.port, db_url=db_url))


async def test_valid_on_time_declaration_scores_an_a(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start()
        await rig.skip(days=3)
        sha = rig.store(valid_cmrt())
        await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=sha, filename="acme.xlsx"))
        assert (await h.result()).outcome == SurveyOutcome.valid
    view = scorecard_view(rig.engine, "S-100")
    card = view["current"]
    assert card["year"] == 2025 and card["survey_id"] == h.id
    # request sent, first submission, outcome: each counted once
    assert card["events_applied"] >= 3
    assert card["components"]["responsiveness"]["status"] == "on_time"
    assert card["components"]["data_quality"]["status"] == "valid_first_time"
    assert card["components"]["program_strength"]["status"] == "strong"
    # The builder's default declaration is company-level, so the scope costs a little: still an A.
    assert card["components"]["scope"]["status"] == "company" and card["grade"] == "A"


async def test_non_responsive_supplier_scores_an_e(rig):
    async with running(rig):
        h = await rig.start()
        assert (await h.result()).outcome == SurveyOutcome.non_responsive
    card = scorecard_view(rig.engine, "S-100")["current"]
    assert card["components"]["responsiveness"]["status"] == "never"
    assert (card["total"], card["grade"]) == (0.0, "E")

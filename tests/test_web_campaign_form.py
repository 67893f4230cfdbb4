"""The start-campaign form answers a browser user in sentences, beside the field each one is about: no
validator's dump, no command-line flag. (Starting for real is in tests/test_web_campaign.py.)"""

from __future__ import annotations

import html
import re

import pytest
from temporalio.exceptions import WorkflowAlreadyStartedError

from tests.web_support import csrf_from, make_web

DUMP = re.compile(r"Value error|Input should|validation error|\bloc\b|type=|--id|--\w|\bcampaign_id\b|spend_share|"
                  r"pydantic|\[\{|errors\(\)")


class AlreadyStarted:
    """A Temporal client whose start says the ID was taken."""

    async def start_workflow(self, workflow, arg, *, id, **kw):
        raise WorkflowAlreadyStartedError(id, "CampaignWorkflow")


@pytest.fixture
async def web(engine, db_url, settings_for):
    w = make_web(settings_for(db_url=db_url), engine, AlreadyStarted())
    yield w
    await w.client.aclose()


async def _post(web, **fields):
    await web.login()
    token = csrf_from((await web.client.get("/campaigns/new")).text)
    return await web.client.post("/campaigns", data={"csrf_token": token, "policy": "annual", **fields})


def _errors(text: str) -> dict[str, str]:
    return {m[0]: html.unescape(m[1]) for m in re.findall(r'<p class="field-error" id="([a-z_]+)-error" role="alert">([^<]*)</p>', text)}


async def test_every_wrong_field_gets_its_own_sentence(web):
    r = await _post(web, year="1900", selection="category", categories="", share="abc", ends_at="not a date")
    assert r.status_code == 422
    errors = _errors(r.text)
    assert errors["year"] == "Reporting year: give a year between 2000 and 2100, e.g. 2025."
    assert errors["share"].startswith("Share of spend: 'abc' is not a number")
    assert errors["categories"] == "Categories: a category selection needs at least one category."
    assert errors["ends_at"].startswith("Closes on: ")
    assert "please check the 4 fields marked below" in r.text
    assert not DUMP.search(r.text.split("<form", 1)[0] + "".join(errors.values())), DUMP.search(r.text)
    # what the person typed is still there
    assert 'value="abc"' in r.text and 'aria-invalid="true" aria-describedby="year-error"' in r.text


async def test_a_share_out_of_range_and_a_bad_campaign_id(web):
    r = await _post(web, year="2025", selection="spend_share", share="150")
    assert r.status_code == 422
    assert _errors(r.text) == {"share": "Share of spend: give a percentage above 0 and at most 100."}
    r = await _post(web, year="2025", selection="all", campaign_id="no spaces please")
    assert r.status_code == 422
    errors = _errors(r.text)
    assert list(errors) == ["campaign_id"] and errors["campaign_id"].startswith("Campaign ID: a campaign ID is 1-64")
    assert not DUMP.search("".join(errors.values()))


async def test_a_campaign_that_exists_is_named_without_command_line_flags(web):
    r = await _post(web, year="2025", selection="all", campaign_id="cmrt-2025")
    assert r.status_code == 409
    assert _errors(r.text) == {"campaign_id": "Campaign ID: a campaign with the ID cmrt-2025 already exists. "
                                              "Open the existing campaign, or choose another campaign ID."}
    assert "--id" not in r.text


async def test_the_api_says_the_same_sentences(web):
    h = {"Authorization": f"Bearer {web.api_token()}"}
    r = await web.client.post("/api/v1/campaigns", headers=h, json={"year": 2025, "campaign_id": "cmrt-2025"})
    assert r.status_code == 409 and "--id" not in r.json()["detail"] and "already exists" in r.json()["detail"]
    r = await web.client.post("/api/v1/campaigns", headers=h, json={"year": 2025, "campaign_id": "no spaces please"})
    assert r.status_code == 422 and r.json()["detail"].startswith("Campaign ID: a campaign ID is 1-64")


class Recording:
    """A Temporal client that keeps what the form asked to start."""

    def __init__(self) -> None:
        self.started: list[tuple[str, object]] = []

    async def start_workflow(self, workflow, arg, *, id, **kw):
        self.started.append((id, arg))


async def test_an_emrt_campaign_from_the_form(engine, db_url, settings_for):
    client = Recording()
    w = make_web(settings_for(db_url=db_url), engine, client)
    try:
        r = await _post(w, year="2025", selection="all", template="EMRT", minerals="gold")
        assert r.status_code == 422
        assert _errors(r.text)["minerals"].startswith("Minerals: Gold is not reported in the EMRT")
        assert client.started == []
        await _post(w, year="2025", selection="all", template="EMRT", minerals="mica, cobalt")
        [(workflow_id, inp)] = client.started
        assert (workflow_id, inp.kind, inp.minerals) == ("campaign/emrt-2025", "EMRT", ["cobalt", "mica"])
    finally:
        await w.client.aclose()

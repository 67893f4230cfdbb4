"""One gate for a CMRT, whichever face it arrives through: the CLI, the portal and the API refuse the same bytes
with the same answer, before anything is stored or reaches the survey (so no correction round starts and no
report counts it)."""

from __future__ import annotations

import asyncio
import hashlib
import html
import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from models.tables import StoredFile, Submission
from outreach.db import session_scope
from outreach.intake import screen
from outreach.links import LinkSigner
from tests import hostile_workbooks as hw
from tests.web_support import csrf_from, make_web, seed_case

PAYLOADS = {
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 a photo of the signed form",
    "empty": b"",
    "corner": hw.corner(),  # one cell at XFD1048576: a reader would ask for 512 GiB
}


@pytest.fixture
async def web(engine, db_url, settings_for):
    w = make_web(settings_for(db_url=db_url, max_upload_bytes=200_000), engine)
    yield w
    await w.client.aclose()


def _submissions_and_files(engine, payload: bytes) -> tuple[int, bool]:
    with session_scope(engine) as s:
        return (len(s.exec(select(Submission)).all()),
                s.get(StoredFile, hashlib.sha256(payload).hexdigest()) is not None)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
async def test_cli_portal_and_api_give_the_same_refusal(web, db_url, tmp_path, monkeypatch, name):
    payload = PAYLOADS[name]
    survey_id = seed_case(web.engine)
    before = _submissions_and_files(web.engine, payload)
    expected = screen(payload, max_bytes=200_000)
    assert expected.verdict == "refused" and expected.findings

    # The API: 422 with the findings.
    h = {"Authorization": f"Bearer {web.api_token()}"}
    r = await web.client.post(f"/api/v1/surveys/{survey_id}/submissions", headers=h,
                              files={"file": ("cmrt.xlsx", payload, "application/vnd.ms-excel")})
    assert r.status_code == 422
    api = r.json()

    # The portal: the same message and findings on the page.
    url = LinkSigner.from_settings(web.settings).portal_url(survey_id).removeprefix("http://portal.test")
    page = await web.client.get(url)
    r = await web.client.post(f"{url}/upload", data={"csrf_token": csrf_from(page.text)},
                              files={"file": ("cmrt.xlsx", payload, "application/vnd.ms-excel")})
    assert r.status_code == 200
    for f in api["findings"]:
        assert html.escape(f["message"], quote=False) in r.text or html.escape(f["message"]) in r.text, f["message"]

    # The CLI: the same answer, without Temporal (none runs here: the address below answers nothing).
    workbook = tmp_path / "from-email.xlsx"
    workbook.write_bytes(payload)
    for key, value in {"OUTREACH_DATABASE_URL": db_url, "OUTREACH_DATA_DIR": str(tmp_path / "var"),
                       "OUTREACH_MAX_UPLOAD_BYTES": "200000", "OUTREACH_TEMPORAL_ADDRESS": "127.0.0.1:9"}.items():
        monkeypatch.setenv(key, value)
    from outreach.cli import app

    def cli_run(*args: str):  # in a thread: the CLI runs its own event loop
        return asyncio.to_thread(CliRunner().invoke, app, ["survey", "submit", "S-1", str(workbook),
                                                           "--campaign", "cmrt-2025", *args])

    result = await cli_run("--json")
    assert result.exit_code == 1, result.output
    cli = json.loads(result.stdout)

    said = {k: v for k, v in expected.to_json().items()}
    assert {k: api[k] for k in said} == said
    assert cli == said
    text = await cli_run()
    assert text.exit_code == 1 and "Refused. We could not read this file, so it was not submitted." in text.stdout
    assert all(f["message"] in text.stdout for f in said["findings"])
    # Nothing stored, nothing submitted, by any of the three.
    assert _submissions_and_files(web.engine, payload) == before == (1, False)


def test_the_cli_refuses_a_file_over_the_limit_without_reading_it(db_url, tmp_path, monkeypatch, engine):
    seed_case(engine)
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"PK\x03\x04" + b"\0" * 2048)
    for key, value in {"OUTREACH_DATABASE_URL": db_url, "OUTREACH_DATA_DIR": str(tmp_path / "var"),
                       "OUTREACH_MAX_UPLOAD_BYTES": "1024", "OUTREACH_TEMPORAL_ADDRESS": "127.0.0.1:9"}.items():
        monkeypatch.setenv(key, value)
    from outreach.cli import app

    result = CliRunner().invoke(app, ["survey", "submit", "S-1", str(big), "--campaign", "cmrt-2025", "--json"])
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert body["verdict"] == "refused" and body["findings"][0]["code"] == "file_too_large"

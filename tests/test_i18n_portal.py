"""The portal in the supplier's language: chosen from the contact, else its last CMRT; a switcher that is
remembered for the supplier (and audited); the 403/410/413 pages in the language last chosen in the browser;
the compliance team's pages stay in the company's language."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from models.tables import AuditEntry, Submission, Supplier, Survey
from outreach.db import session_scope
from outreach.links import LinkSigner
from tests.web_support import NOW, csrf_from, make_web, seed_case


@pytest.fixture
async def web(engine, db_url, settings_for):
    w = make_web(settings_for(db_url=db_url, max_upload_bytes=200_000), engine)
    yield w
    await w.client.aclose()


def _portal(web, survey_id: str) -> str:
    return LinkSigner.from_settings(web.settings).portal_url(survey_id).removeprefix("http://portal.test")


def _set_language(engine, survey_id: str, language: str) -> None:
    with session_scope(engine) as s:
        survey = s.get(Survey, survey_id)
        survey.language = language
        s.add(survey)


async def test_the_portal_speaks_the_contact_language(web):
    survey_id = seed_case(web.engine, name="Müller Metall GmbH")
    _set_language(web.engine, survey_id, "de-DE")
    r = await web.client.get(_portal(web, survey_id))
    assert r.status_code == 200 and '<html lang="de">' in r.text
    assert "Bitte korrigieren Sie Ihr CMRT" in r.text and "Konfliktmineralien-Umfrage 2025" in r.text
    assert "2 Fehler zu korrigieren" in r.text and "Korrekturrunde 1 von" in r.text
    assert "Declaration!D16" in r.text  # the cell, as the workbook names it
    assert "<th scope=\"col\">Wo</th>" in r.text and "Ihre CMRT-Arbeitsmappe" in r.text
    assert "Please correct your CMRT" not in r.text and "Upload and check" not in r.text
    received = NOW - timedelta(days=2)
    assert f"{received.day}.{received.month:02d}.{received.year}" in r.text  # dates as Germans write them
    assert '<option value="de" lang="de" selected>Deutsch</option>' in r.text


async def test_without_a_contact_language_the_last_cmrt_decides(web):
    survey_id = seed_case(web.engine)
    _set_language(web.engine, survey_id, "")
    with session_scope(web.engine) as s:
        sub = s.get(Submission, f"{survey_id}/submission/1")
        sub.result = {"template": {"language": "日本語 Japanese"}}
        s.add(sub)
    r = await web.client.get(_portal(web, survey_id))
    assert '<html lang="ja">' in r.text and "CMRT を修正してください" in r.text


async def test_the_switcher_is_remembered_for_the_supplier_and_audited(web):
    survey_id = seed_case(web.engine)
    _set_language(web.engine, survey_id, "de")
    url = _portal(web, survey_id)
    page = await web.client.get(url)
    r = await web.client.post(f"{url}/language", data={"language": "ja", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and '<html lang="ja">' in r.text and "CMRT を修正してください" in r.text
    with Session(web.engine) as s:
        assert s.get(Supplier, "S-1").portal_language == "ja"
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "supplier.language_chosen")).one()
        assert (entry.actor, entry.object_id, entry.after) == ("jane@s-1.test", "S-1", {"portal_language": "ja"})
    # Another browser (a colleague) opens the same link: the supplier's choice holds.
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=web.app), base_url="http://portal.test",
                              follow_redirects=True)
    try:
        assert '<html lang="ja">' in (await other.get(url)).text
    finally:
        await other.aclose()
    # A language we have no catalogue for changes nothing and says so, in the page's language.
    r = await web.client.post(f"{url}/language", data={"language": "Klingon", "csrf_token": csrf_from(r.text)})
    assert "一覧から言語を選択してください" in r.text
    with Session(web.engine) as s:
        assert s.get(Supplier, "S-1").portal_language == "ja"


async def test_the_switcher_needs_the_form_token_and_a_valid_link(web):
    survey_id = seed_case(web.engine)
    url = _portal(web, survey_id)
    await web.client.get(url)
    assert (await web.client.post(f"{url}/language", data={"language": "ja"})).status_code == 403
    tampered = url[:-3] + ("AAA" if url[-3:] != "AAA" else "BBB")
    page = await web.client.get(url)
    r = await web.client.post(f"{tampered}/language", data={"language": "ja", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 403
    with Session(web.engine) as s:
        assert s.get(Supplier, "S-1").portal_language is None


async def test_error_pages_speak_the_language_last_chosen_in_this_browser(web):
    survey_id = seed_case(web.engine)
    url = _portal(web, survey_id)
    page = await web.client.get(url)
    await web.client.post(f"{url}/language", data={"language": "pt", "csrf_token": csrf_from(page.text)})
    tampered = url[:-3] + ("AAA" if url[-3:] != "AAA" else "BBB")
    r = await web.client.get(tampered)
    assert r.status_code == 403 and '<html lang="pt">' in r.text and "Este link não é válido" in r.text
    limit = web.settings.max_upload_bytes + 1024 * 1024
    r = await web.client.post(f"{url}/upload", content=b"x" * (limit + 1),
                              headers={"content-type": "multipart/form-data; boundary=B"})
    assert r.status_code == 413 and "Este arquivo é grande demais" in r.text and 'lang="pt"' in r.text
    # The compliance team's pages stay in the company's language.
    login = await web.client.get("/login")
    assert '<html lang="en">' in login.text


async def test_a_stranger_gets_the_error_page_in_the_browser_language(web):
    r = await web.client.get("/portal/not-a-token", headers={"accept-language": "ko-KR,ko;q=0.9,en;q=0.5"})
    assert r.status_code == 403 and "이 링크는 유효하지 않습니다" in r.text
    r = await web.client.get("/portal/not-a-token", headers={"accept-language": "nl-NL"})
    assert r.status_code == 403 and "This link is not valid" in r.text


async def test_the_contact_form_offers_the_portals_languages_and_normalises_the_choice(web):
    import re

    from models.tables import ContactProposal
    from outreach.i18n import SUPPORTED

    survey_id = seed_case(web.engine)
    _set_language(web.engine, survey_id, "de-DE")
    url = _portal(web, survey_id)
    page = await web.client.get(url)
    switcher = re.findall(r'<option value="([^"]+)" lang=', page.text)
    contact = re.findall(r'<option value="([^"]+)" (?:selected)?>', page.text.split('id="c-lang"')[1].split("</select>")[0])
    assert switcher == contact == list(SUPPORTED)  # one list of languages, Traditional Chinese included
    assert '<option value="de" selected>Deutsch</option>' in page.text.split('id="c-lang"')[1]  # "de-DE" is de
    r = await web.client.post(f"{url}/contact", data={"email": "li@acme.test", "language": "klingon",
                                                      "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "Bitte wählen Sie eine der Sprachen in der Liste." in r.text
    r = await web.client.post(f"{url}/contact", data={"email": "li@acme.test", "language": "zh-TW",
                                                      "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "li@acme.test" in r.text and "Vielen Dank" in r.text
    with Session(web.engine) as s:
        assert [(p.email, p.language) for p in s.exec(select(ContactProposal)).all()] == [("li@acme.test", "zh_Hant")]

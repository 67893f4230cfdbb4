"""The web app on a real migrated SQLite database: login, CSRF, links, uploads refused, pages, files, mail, API.

These need no Temporal: pages read the database; the lifecycle tests (test_web_lifecycle.py) drive the
real survey workflow.
"""

from __future__ import annotations

import hashlib
import time
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlmodel import select

from cmrt.builder import valid_cmrt
from models.tables import Submission, StoredFile, Survey
from outreach.db import session_scope
from outreach.links import LinkSigner
from outreach.mailcatcher import store_message
from outreach.storage import FileStore
from tests.web_support import USER_EMAIL, csrf_from, make_web, seed_case, seed_escalation, seed_plan
from tests import hostile_workbooks as hw

CORNER, ZIP_VERSION_14_8 = hw.corner(), hw.zip_version_14_8()


@pytest.fixture
async def web(engine, db_url, settings_for):
    w = make_web(settings_for(db_url=db_url, max_upload_bytes=200_000), engine)
    yield w
    await w.client.aclose()


# --- Login, sessions, CSRF ---------------------------------------------------------------------


async def test_pages_need_login(web):
    for path in ("/", "/suppliers", "/suppliers/S-1", "/mail", "/campaigns/new", "/files/" + "a" * 64):
        r = await web.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


async def test_wrong_password_is_refused_and_right_one_lets_in(web):
    r = await web.login(password="not the password")
    assert r.status_code == 401 and "do not match" in r.text
    r = await web.login(email="nobody@company.test")
    assert r.status_code == 401
    assert (await web.client.get("/", follow_redirects=False)).status_code == 303
    r = await web.login()
    assert r.status_code == 200 and "Campaigns" in r.text and "Ana Analyst" in r.text


async def test_login_and_forms_without_the_csrf_token_are_refused(web):
    r = await web.client.post("/login", data={"email": USER_EMAIL, "password": "a long enough password"})
    assert r.status_code == 403 and "reload the page" in r.text
    await web.login()
    survey_id = seed_case(web.engine)
    r = await web.client.post("/suppliers/S-1/actions/add_note", data={"survey_id": survey_id, "text": "x",
                                                                        "csrf_token": "forged"})
    assert r.status_code == 403
    r = await web.client.post("/logout", data={})
    assert r.status_code == 403
    # Logging out with the token ends the session.
    r = await web.client.post("/logout", data={"csrf_token": await web.csrf("/")})
    assert r.url.path == "/login"
    assert (await web.client.get("/", follow_redirects=False)).status_code == 303


async def test_login_next_never_leaves_the_site(web):
    page = await web.client.get("/login")
    r = await web.client.post("/login", follow_redirects=False, data={
        "email": USER_EMAIL, "password": "a long enough password", "next": "//evil.example/x",
        "csrf_token": csrf_from(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_session_cookie_is_signed_and_http_only(web):
    r = await web.login()
    cookie = next(h for k, h in r.history[0].headers.multi_items() if k == "set-cookie")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    # A forged cookie is ignored.
    web.client.cookies.set("outreach_session", "eyJ1c2VyX2lkIjogMX0=.forged.sig", domain="portal.test")
    assert (await web.client.get("/", follow_redirects=False)).status_code == 303


def _client_at(web, address: str):
    """Another browser, at another client address, on the same app."""
    import httpx

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web.app, client=(address, 50000)),
                             base_url="http://portal.test", follow_redirects=True)


async def _sign_in(client, email: str = USER_EMAIL, password: str = "a long enough password"):
    page = await client.get("/login")
    return await client.post("/login", data={"email": email, "password": password, "next": "/",
                                             "csrf_token": csrf_from(page.text)})


async def test_signing_out_ends_the_session_on_the_server(web):
    from models.tables import UserSession

    await web.login()
    stolen = web.client.cookies["outreach_session"]  # e.g. copied from a shared computer
    assert (await web.client.get("/", follow_redirects=False)).status_code == 200
    await web.client.post("/logout", data={"csrf_token": await web.csrf()})
    async with _client_at(web, "127.0.0.1") as other:
        other.cookies.set("outreach_session", stolen, domain="portal.test")
        r = await other.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert (await other.get("/api/v1/campaigns")).status_code == 401
    with session_scope(web.engine) as s:
        ended = s.exec(select(UserSession)).one()
        assert ended.ended_at is not None and ended.client_address == "127.0.0.1"

    # A session past its working day ends too, whatever the cookie says.
    await web.login()
    assert (await web.client.get("/", follow_redirects=False)).status_code == 200
    with session_scope(web.engine) as s:
        running = s.exec(select(UserSession).where(UserSession.ended_at.is_(None))).one()
        running.expires_at = running.created_at
        s.add(running)
    assert (await web.client.get("/", follow_redirects=False)).status_code == 303


async def test_a_stranger_cannot_lock_the_owner_out(web):
    async with _client_at(web, "203.0.113.7") as stranger:
        for _ in range(5):
            assert (await _sign_in(stranger, password="guess")).status_code == 401
        r = await _sign_in(stranger)  # locked at that address, even with the right password
        assert r.status_code == 429 and "for this account from your network" in r.text
        assert r.headers["retry-after"] == "900"
    r = await web.login()  # the owner, at the usual address
    assert r.status_code == 200 and "Ana Analyst" in r.text


async def test_one_address_guessing_across_accounts_is_slowed(web):
    async with _client_at(web, "198.51.100.9") as sprayer:
        for n in range(20):  # one guess on each of twenty accounts
            assert (await _sign_in(sprayer, email=f"user{n}@company.test", password="Winter2026!")).status_code == 401
        r = await _sign_in(sprayer, email=USER_EMAIL, password="Winter2026!")
        assert r.status_code == 429 and "Too many failed sign-ins from your network" in r.text
        # Signing in to an account of its own forgives nothing the address tried on the others.
        r = await _sign_in(sprayer)
        assert r.status_code == 429
    assert (await web.login()).status_code == 200  # other addresses are not concerned


async def test_behind_a_proxy_that_hides_addresses_a_stranger_still_cannot_lock_everybody_out(web):
    """Every client at one address (a reverse proxy without forwarded headers): the accounts that signed
    in there lately keep getting in; the stranger's own guesses are still limited."""
    from outreach.users import create_user

    create_user(web.engine, "bo.buyer@company.test", "another long password", name="Bo Buyer")
    assert (await web.login()).status_code == 200
    await web.client.post("/logout", data={"csrf_token": await web.csrf()})
    for n in range(20):
        assert (await web.login(email=f"user{n}@company.test", password="Winter2026!")).status_code == 401
    assert (await web.login(email="bo.buyer@company.test", password="another long password")).status_code == 429
    r = await web.login()  # signed in from this address before: not locked out by the stranger
    assert r.status_code == 200 and "Ana Analyst" in r.text


async def test_an_account_guessed_from_many_addresses_is_locked_except_where_its_owner_signs_in(web):
    from models.columns import utcnow
    from models.tables import SignInFailure

    await web.login()  # the owner's address is known from this sign-in
    await web.client.post("/logout", data={"csrf_token": await web.csrf()})
    with session_scope(web.engine) as s:  # four guesses from each of thirteen addresses: no address limit met
        for n in range(13):
            for _ in range(4):
                s.add(SignInFailure(email=USER_EMAIL, client_address=f"192.0.2.{n}", at=utcnow()))
    async with _client_at(web, "192.0.2.200") as newcomer:
        r = await _sign_in(newcomer)
        assert r.status_code == 429 and "from several places" in r.text
    r = await web.login()
    assert r.status_code == 200 and "Ana Analyst" in r.text


async def test_hsts_when_the_site_is_served_over_https(engine, db_url, settings_for):
    plain = make_web(settings_for(db_url=db_url), engine)
    assert "strict-transport-security" not in (await plain.client.get("/login")).headers
    await plain.client.aclose()
    from outreach.web.app import create_app

    import httpx

    app = create_app(settings_for(db_url=db_url, public_base_url="https://minerals.example.com"), engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test") as client:
        for path in ("/login", "/healthz", "/static/app.css", "/api/openapi.json"):
            r = await client.get(path)
            assert r.headers["strict-transport-security"] == "max-age=31536000", path


# --- Dashboard pages on the read model -----------------------------------------------------------


async def test_empty_dashboard_offers_the_demo(web):
    await web.login()
    r = await web.client.get("/")
    assert "No campaign yet" in r.text and 'action="/demo"' in r.text and "Load the demo" in r.text


async def test_dashboard_shows_each_campaign_with_its_funnel(web):
    seed_case(web.engine, supplier_id="S-1")
    seed_case(web.engine, supplier_id="S-2", name="Beta Tin", state="awaiting_response", due_days=-3, answered=False)
    seed_case(web.engine, supplier_id="S-3", name="Gamma Gold", state="closed", outcome="valid")
    await web.login()
    r = await web.client.get("/")
    assert "CMRT campaign 2025" in r.text and "No campaign yet" not in r.text
    assert "67%" in r.text  # response rate: 2 of 3 answered
    funnel = r.text.split('aria-label="Campaign funnel"')[1].split("</ul>")[0]
    counts = [int(n) for n in __import__("re").findall(r'<span class="n">(\d+)</span>', funnel)]
    assert counts == [0, 3, 2, 1]  # in scope (no selection recorded), sent, answered, valid
    r = await web.client.get("/campaigns/cmrt-2025")
    assert r.status_code == 200 and "Beta Tin" in r.text  # the overdue table
    assert 'http-equiv="refresh"' not in r.text
    assert 'http-equiv="refresh"' in (await web.client.get("/campaigns/cmrt-2025?live=1")).text
    assert (await web.client.get("/campaigns/nope")).status_code == 404


async def test_supplier_table_filters(web):
    seed_case(web.engine, supplier_id="S-1", name="Acme Metals")
    seed_case(web.engine, supplier_id="S-2", name="Beta Tin", state="awaiting_response", due_days=-3, answered=False,
              category="preferred", manager="cm.two@company.test")
    seed_case(web.engine, supplier_id="S-3", name="Gamma Gold", state="closed", outcome="valid")
    await web.login()

    async def names(query: str) -> set[str]:
        text = (await web.client.get(f"/suppliers?{query}")).text
        return {n for n in ("Acme Metals", "Beta Tin", "Gamma Gold") if f">{n}</a>" in text}

    assert await names("") == {"Acme Metals", "Beta Tin", "Gamma Gold"}
    assert await names("state=correction_requested") == {"Acme Metals"}
    assert await names("outcome=valid") == {"Gamma Gold"}
    assert await names("overdue=1") == {"Beta Tin"}
    assert await names("category=preferred") == {"Beta Tin"}
    assert await names("manager=cm.two%40company.test") == {"Beta Tin"}
    assert await names("q=gamma") == {"Gamma Gold"}


async def test_search_takes_percent_and_underscore_literally(web):
    seed_case(web.engine, supplier_id="S-1", name="Acme Metals")
    seed_case(web.engine, supplier_id="S-2", name="Tin 100% Recycled")
    seed_case(web.engine, supplier_id="S_3", name="Gamma Gold")
    await web.login()

    async def names(q: str) -> set[str]:
        text = (await web.client.get("/suppliers", params={"q": q})).text
        return {n for n in ("Acme Metals", "Tin 100% Recycled", "Gamma Gold") if f">{n}</a>" in text}

    # In LIKE, % is any text and _ any one character: a search box reads them as the characters typed.
    assert await names("%") == {"Tin 100% Recycled"}
    assert await names("_") == {"Gamma Gold"}  # its ID, S_3
    assert await names("S_1") == set()
    assert await names("a%s") == set()
    h = {"Authorization": f"Bearer {web.api_token()}"}
    items = (await web.client.get("/api/v1/suppliers", params={"q": "0%"}, headers=h)).json()["items"]
    assert [i["name"] for i in items] == ["Tin 100% Recycled"]
    assert (await web.client.get("/api/v1/suppliers", params={"q": "S_"}, headers=h)).json()["total"] == 1


async def test_supplier_page_shows_timeline_findings_emails_and_actions(web):
    survey_id = seed_case(web.engine)
    seed_plan(web.engine, survey_id)
    seed_escalation(web.engine, survey_id)
    await web.login()
    r = await web.client.get("/suppliers/S-1")
    assert r.status_code == 200
    text = r.text
    assert "Request sent" in text and "2 errors in the declaration." in text  # timeline
    assert "Declaration!D16" in text and "The contact email is missing." in text  # finding with sheet and cell
    assert "Conflict minerals survey 2025" in text  # email sent
    assert "Replace smelter 1" in text and "Awaiting the VP" in text
    for action in ("extend_deadline", "pause_reminders", "remind_now", "replace_contact", "add_note",
                   "accept_submission", "reject_submission", "verify_action", "withdraw"):
        assert f"/actions/{action}" in text, action
    assert "http://portal.test/portal/" in text  # the supplier's own link
    assert (await web.client.get("/suppliers/NOPE")).status_code == 404


async def test_supplier_page_says_the_next_step_in_words_not_a_workflow_id(web):
    survey_id = seed_case(web.engine, state="corrective_action")
    plan_id = seed_plan(web.engine, survey_id)
    with session_scope(web.engine) as s:
        s.get(Survey, survey_id).next_step = f"corrective action plan {plan_id}"
    await web.login()
    text = (await web.client.get("/suppliers/S-1")).text
    step = text.split("<dt>Next step</dt>")[1].split("</dd>")[0]
    assert "Corrective action plan 1: waiting for the supplier&#39;s actions" in step, step
    assert "/cap/" not in step and "survey/" not in step, step


async def test_an_outcome_set_at_escalation_is_shown_as_not_final(web):
    seed_case(web.engine, supplier_id="S-1", state="escalated", outcome="non_responsive", answered=False)
    seed_case(web.engine, supplier_id="S-3", name="Gamma Gold", state="closed", outcome="non_responsive")
    await web.login()
    page = (await web.client.get("/suppliers/S-1")).text
    assert "Non-responsive (pending VP decision)" in page
    listing = (await web.client.get("/suppliers")).text
    assert listing.count("Non-responsive (pending VP decision)") == 1  # the closed one is final
    chart = (await web.client.get("/campaigns/cmrt-2025")).text.split('aria-label="Surveys per outcome"')[1]
    chart = chart.split("</ul>")[0]
    labels = __import__("re").findall(r'<span class="badge[^"]*">([^<]+)</span>', chart)
    assert labels == ["Non-responsive", "Non-responsive (pending VP decision)"], labels


async def test_action_form_errors_are_shown_without_calling_the_survey(web):
    survey_id = seed_case(web.engine)
    await web.login()
    token = await web.csrf("/suppliers/S-1")
    r = await web.client.post("/suppliers/S-1/actions/replace_contact", data={
        "survey_id": survey_id, "email": "not-an-email", "csrf_token": token})
    assert "Replace the contact: Email: please give an e-mail address such as name@example.com." in r.text
    assert "should match pattern" not in r.text
    # Another supplier's survey cannot be acted on through this supplier's page.
    other = seed_case(web.engine, supplier_id="S-9", name="Other")
    r = await web.client.post("/suppliers/S-1/actions/add_note", data={"survey_id": other, "text": "x",
                                                                        "csrf_token": token})
    assert r.status_code == 404


async def test_submitted_file_downloads_as_an_attachment_with_our_name(web):
    seed_case(web.engine)
    data = valid_cmrt()
    sha = FileStore(web.settings.file_store_path, web.engine).put(data, filename="../../etc/passwd<script>.xlsx")
    await web.login()
    r = await web.client.get(f"/files/{sha}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-disposition"] == f'attachment; filename="cmrt-{sha[:12]}.xlsx"'
    assert r.headers["content-type"] == "application/octet-stream" and r.headers["x-content-type-options"] == "nosniff"
    assert (await web.client.get("/files/" + "0" * 64)).status_code == 404
    assert (await web.client.get("/files/..%2F..%2Fsecret_key")).status_code == 404


async def test_caught_mail_is_browsable_and_html_is_sandboxed(web):
    raw = (b"From: Minerals <minerals@company.test>\r\nTo: jane@acme.test\r\nSubject: Your CMRT\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n"
           b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain words http://portal.test/portal/abc.DEF-1\r\n"
           b"--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello</p><script>alert(1)</script>\r\n--XX--\r\n")
    mail_id = store_message(web.settings.mail_dir, raw, "minerals@company.test", ["jane@acme.test"])
    await web.login()
    r = await web.client.get("/mail")
    assert "Your CMRT" in r.text and f"/mail/{mail_id}" in r.text
    assert "Your CMRT" not in (await web.client.get("/mail?to=someone.else")).text
    r = await web.client.get(f"/mail/{mail_id}")
    assert r.status_code == 200 and "Plain words" in r.text
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="&lt;base target=&#34;_blank&#34;&gt;' \
           '&lt;p&gt;Hello&lt;/p&gt;&lt;script&gt;' in r.text  # escaped, in a sandbox without scripts
    assert "<script>alert" not in r.text
    assert '<a href="http://portal.test/portal/abc.DEF-1" target="_blank"' in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert (await web.client.get("/mail/../../secret_key")).status_code == 404
    assert (await web.client.get("/mail/00000000000000000000-0000000000000000")).status_code == 404


async def test_healthz(web):
    r = await web.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


# --- Signed links --------------------------------------------------------------------------------


def _old_token(secret: str, scope: str, subject: str, days: int) -> str:
    class OldSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - days * 86400

    return URLSafeTimedSerializer(secret, salt=f"outreach-{scope}", signer=OldSigner).dumps({"s": subject})


async def test_portal_link_shows_one_survey_and_tampered_or_expired_links_show_nothing(web):
    survey_id = seed_case(web.engine, name="Acme Metals")
    seed_case(web.engine, supplier_id="S-2", name="Beta Tin")
    signer = LinkSigner.from_settings(web.settings)
    url = signer.portal_url(survey_id).removeprefix("http://portal.test")
    r = await web.client.get(url)
    assert r.status_code == 200 and "Acme Metals" in r.text and "Beta Tin" not in r.text
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    assert "Declaration!D16" in r.text  # what to correct in the last file
    token = url.rsplit("/", 1)[1]
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    r = await web.client.get(f"/portal/{tampered}")
    assert r.status_code == 403 and "not valid" in r.text and "Acme" not in r.text and "Beta" not in r.text
    expired = _old_token(web.settings.signing_key(), "portal", survey_id, days=web.settings.portal_link_days + 1)
    r = await web.client.get(f"/portal/{expired}")
    assert r.status_code == 410 and "expired" in r.text and "Acme" not in r.text
    assert "most recent email" in r.text  # what to do
    # A decision link is not a portal link (another scope, another salt).
    decision = signer.decision_url(survey_id).rsplit("/", 1)[1]
    assert (await web.client.get(f"/portal/{decision}")).status_code == 403


async def test_decision_page_summarises_the_case_and_requires_a_reason(web):
    survey_id = seed_case(web.engine, name="Acme Metals")
    escalation_id = seed_escalation(web.engine, survey_id)
    signer = LinkSigner.from_settings(web.settings)
    url = signer.decision_url(escalation_id).removeprefix("http://portal.test")
    r = await web.client.get(url)
    assert r.status_code == 200
    for text in ("Acme Metals", "250,000", "still has errors", "The contact email is missing.", "Declaration!D16",
                 "Suspend the supplier", "Disengage", "Require corrective action", "Accept and waive",
                 "vp@company.test"):
        assert text in r.text, text
    r = await web.client.post(url, data={"decision": "suspend", "reason": "  ", "csrf_token": csrf_from(r.text)})
    assert r.status_code == 422 and "Please give the reason" in r.text
    expired = _old_token(web.settings.signing_key(), "decision", escalation_id, days=31)
    r = await web.client.get(f"/decide/{expired}")
    assert r.status_code == 410 and "Acme" not in r.text
    r = await web.client.get(url[:-2] + "xx")
    assert r.status_code == 403


async def test_a_lapsed_case_says_what_happened_and_offers_no_decision(web):
    from datetime import timedelta

    from models.tables import Escalation, Survey, SurveyEvent
    from tests.web_support import NOW

    survey_id = seed_case(web.engine, name="Acme Metals", state="closed", outcome="invalid_uncorrected")
    escalation_id = seed_escalation(web.engine, survey_id)
    lapsed_at = NOW - timedelta(hours=3)
    with session_scope(web.engine) as s:  # as the read model records it (activities/survey.py)
        s.add(SurveyEvent(survey_id=survey_id, seq=3, at=lapsed_at, kind="escalation_lapsed", state="closed",
                          reason="no decision from the Supply Chain VP"))
        esc = s.get(Escalation, escalation_id)
        esc.closed_at, esc.closed_as, esc.reminders_sent = lapsed_at, "lapsed", 2
        s.add(esc)
    url = LinkSigner.from_settings(web.settings).decision_url(escalation_id).removeprefix("http://portal.test")
    r = await web.client.get(url)
    assert r.status_code == 200 and "Case lapsed: Acme Metals" in r.text
    assert f"Lapsed on {lapsed_at:%d %b %Y %H:%M} UTC without a decision" in r.text
    assert "2 reminder(s)" in r.text and "no decision from the Supply Chain VP" in r.text
    assert "closed with the outcome <strong>Invalid, never corrected</strong>" in r.text
    assert 'name="decision"' not in r.text and "Record my decision" not in r.text
    assert web.settings.compliance_email in r.text  # who to ask now
    # A form kept open in another tab: refused with the same explanation, Temporal never asked.
    r = await web.client.post(url, data={"decision": "suspend", "reason": "too late", "csrf_token": await web.csrf("/login")})
    assert r.status_code == 410 and "this case lapsed on" in r.text and 'name="decision"' not in r.text
    with session_scope(web.engine) as s:
        assert s.get(Escalation, escalation_id).decision is None

    # The campaign counts it apart: not awaiting the VP.
    await web.login()
    page = (await web.client.get("/campaigns/cmrt-2025")).text
    assert "Lapsed without a decision" in page and "With the VP" not in page
    kpis = page.split('class="kpis"')[1].split('class="grid')[0]
    assert '<div class="v">0</div><div class="l">Awaiting the VP' in kpis
    assert '<div class="v">1</div><div class="l">Lapsed without a decision' in kpis
    supplier_page = (await web.client.get("/suppliers/S-1")).text
    assert "Lapsed without a decision" in supplier_page and "Awaiting the VP" not in supplier_page
    h = {"Authorization": f"Bearer {web.api_token()}"}
    progress = (await web.client.get("/api/v1/campaigns/cmrt-2025/progress", headers=h)).json()
    assert (progress["open_escalations_count"], progress["lapsed_escalations_count"]) == (0, 1)
    assert progress["lapsed_escalations"][0]["outcome"] == "invalid_uncorrected"
    with session_scope(web.engine) as s:
        assert s.get(Survey, survey_id).closed_at is not None


# --- Uploads refused before they reach the survey --------------------------------------------------


@pytest.mark.parametrize("payload,expected", [
    (b"%PDF-1.7 a scanned declaration", "not an Excel workbook"),
    (b"\xff\xd8\xff\xe0 a photo of the form", "a JPEG image"),
    (b"x" * 200_001, "larger than the"),
    (b"", "The file is empty"),
    # hostile workbooks: one cell at XFD1048576 (a reader would ask for 512 GiB), a zip "version 14.8"
    (CORNER, "reaches cell XFD1048576"),
    (ZIP_VERSION_14_8, "zip feature Excel does not use"),
])
async def test_portal_refuses_files_that_are_not_workbooks(web, payload, expected):
    survey_id = seed_case(web.engine)
    url = LinkSigner.from_settings(web.settings).portal_url(survey_id).removeprefix("http://portal.test")
    page = await web.client.get(url)
    r = await web.client.post(f"{url}/upload", data={"csrf_token": csrf_from(page.text)},
                              files={"file": ("cmrt.xlsx", payload, "application/vnd.ms-excel")})
    assert r.status_code == 200
    assert "could not be read" in r.text and expected in r.text
    # Nothing stored, nothing submitted.
    with session_scope(web.engine) as s:
        assert s.get(StoredFile, hashlib.sha256(payload).hexdigest()) is None
        assert len(s.exec(select(Submission)).all()) == 1  # the seeded one only


async def test_portal_upload_needs_the_csrf_token(web):
    survey_id = seed_case(web.engine)
    url = LinkSigner.from_settings(web.settings).portal_url(survey_id).removeprefix("http://portal.test")
    r = await web.client.post(f"{url}/upload", files={"file": ("a.xlsx", valid_cmrt(), "application/octet-stream")})
    assert r.status_code == 403


# --- JSON API ------------------------------------------------------------------------------------


async def test_api_needs_a_token(web):
    r = await web.client.get("/api/v1/suppliers")
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    r = await web.client.get("/api/v1/suppliers", headers={"Authorization": "Bearer out_1_wrong"})
    assert r.status_code == 401
    r = await web.client.get("/api/v1/suppliers", headers={"Authorization": f"Bearer {web.api_token()}"})
    assert r.status_code == 200


async def test_openapi_document_covers_the_integration_paths(web):
    doc = (await web.client.get("/api/openapi.json")).json()
    paths = doc["paths"]
    for path in ("/api/v1/suppliers", "/api/v1/suppliers/{supplier_id}", "/api/v1/campaigns",
                 "/api/v1/campaigns/{campaign_id}", "/api/v1/campaigns/{campaign_id}/progress",
                 "/api/v1/surveys/{survey_id}", "/api/v1/surveys/{survey_id}/status",
                 "/api/v1/surveys/{survey_id}/submissions", "/api/v1/surveys/{survey_id}/actions/extend_deadline",
                 "/api/v1/surveys/{survey_id}/actions/withdraw", "/healthz"):
        assert path in paths, path
    assert "post" in paths["/api/v1/campaigns"] and "post" in paths["/api/v1/surveys/{survey_id}/submissions"]
    body = paths["/api/v1/surveys/{survey_id}/actions/extend_deadline"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/ExtendDeadlineBody")
    assert "409" in paths["/api/v1/surveys/{survey_id}/actions/withdraw"]["post"]["responses"]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    # The pages are not part of the API document.
    assert "/login" not in paths and "/portal/{token}" not in paths


async def test_api_json_shapes_and_errors(web):
    survey_id = seed_case(web.engine)
    seed_case(web.engine, supplier_id="S-2", name="Beta Tin", state="awaiting_response", due_days=-3, answered=False)
    h = {"Authorization": f"Bearer {web.api_token()}"}
    r = (await web.client.get("/api/v1/suppliers?overdue=true", headers=h)).json()
    assert r["campaign_id"] == "cmrt-2025" and r["total"] == 1
    item = r["items"][0]
    assert item["id"] == "S-2" and item["survey"]["overdue"] is True and item["survey"]["state"] == "awaiting_response"
    assert item["survey"]["portal_url"].startswith("http://portal.test/portal/")
    r = (await web.client.get("/api/v1/suppliers/S-1", headers=h)).json()
    assert r["contacts"][0]["email"] == "jane@s-1.test" and r["surveys"][0]["id"] == survey_id
    r = await web.client.get(f"/api/v1/surveys/{survey_id}", headers=h)
    assert r.status_code == 200
    detail = r.json()
    assert [e["kind"] for e in detail["events"]] == ["request_sent", "correction_requested"]
    assert detail["submissions"][0]["findings"][0] == {
        "code": "contact_email_missing", "severity": "error", "sheet": "Declaration", "cell": "D16",
        "message": "The contact email is missing.", "params": None}  # a row stored without its parameters
    assert detail["emails"][0]["template"] == "request"
    # Percent-encoded IDs work too.
    encoded = survey_id.replace("/", "%2F")
    assert (await web.client.get(f"/api/v1/surveys/{encoded}", headers=h)).json()["id"] == survey_id
    campaigns = (await web.client.get("/api/v1/campaigns", headers=h)).json()
    assert campaigns[0]["id"] == "cmrt-2025"
    progress = (await web.client.get("/api/v1/campaigns/cmrt-2025/progress", headers=h)).json()
    assert progress["surveys"] == 2 and progress["overdue_count"] == 1 and progress["by_state"]
    # Errors say what to fix.
    r = await web.client.get("/api/v1/suppliers/NOPE", headers=h)
    assert r.status_code == 404 and r.json()["detail"] == "There is no supplier NOPE."
    r = await web.client.post("/api/v1/campaigns", headers=h, json={"year": 1900, "policy": "weekly"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"year", "policy"}
    r = await web.client.post(f"/api/v1/surveys/{survey_id}/actions/add_note", headers=h, json={"text": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "text"
    r = await web.client.post("/api/v1/surveys/survey/none/S-0/actions/add_note", headers=h, json={"text": "hi"})
    assert r.status_code == 404
    # A write needs a token even with a session (a session POST would need CSRF protection).
    await web.login()
    r = await web.client.post(f"/api/v1/surveys/{survey_id}/actions/add_note", json={"text": "hi"})
    assert r.status_code == 401


@pytest.mark.parametrize("payload,code", [(b"%PDF-1.4 nope", "not_a_spreadsheet"),
                                          (CORNER, "sheet_too_large"), (ZIP_VERSION_14_8, "corrupt_workbook")])
async def test_api_refuses_a_file_that_is_not_a_workbook_with_findings(web, payload, code):
    survey_id = seed_case(web.engine)
    h = {"Authorization": f"Bearer {web.api_token()}"}
    r = await web.client.post(f"/api/v1/surveys/{survey_id}/submissions", headers=h,
                              files={"file": ("cmrt.xlsx", payload, "application/pdf")})
    assert r.status_code == 422
    body = r.json()
    assert body["verdict"] == "refused" and body["findings"][0]["code"] == code


def test_passwords_are_hashed_with_argon2(engine):
    from models.tables import User
    from outreach.users import UserError, authenticate, create_user

    create_user(engine, "Bob@Company.test", "another long password")
    with session_scope(engine) as s:
        user = s.exec(select(User)).one()
    assert user.email == "bob@company.test" and user.password_hash.startswith("$argon2id$")
    assert "another long password" not in user.password_hash
    assert authenticate(engine, "BOB@company.test", "another long password") is not None
    assert authenticate(engine, "bob@company.test", "another long passworD") is None
    with pytest.raises(UserError, match="at least"):
        create_user(engine, "c@company.test", "short")
    with pytest.raises(UserError, match="already exists"):
        create_user(engine, "bob@company.test", "another long password")


async def test_first_run_creates_the_first_account_then_closes(engine, db_url, settings_for):
    from outreach.web.app import create_app

    app = create_app(settings_for(db_url=db_url), engine)
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test",
                                 follow_redirects=True) as client:
        r = await client.get("/")
        assert r.url.path == "/setup" and "Create the first compliance team account" in r.text
        token = csrf_from(r.text)
        r = await client.post("/setup", data={"email": "lead@company.test", "password": "long enough pw",
                                              "password_again": "different pw!", "csrf_token": token})
        assert r.status_code == 422 and "differ" in r.text
        r = await client.post("/setup", data={"email": "lead@company.test", "name": "Lea", "password": "long enough pw",
                                              "password_again": "long enough pw", "csrf_token": token})
        assert r.url.path == "/" and "No campaign yet" in r.text and "Lea" in r.text
        # Once an account exists the setup page is gone, for everyone.
        client.cookies.clear()
        assert (await client.get("/setup")).status_code == 404
        r = await client.post("/setup", data={"email": "x@company.test", "password": "long enough pw",
                                              "password_again": "long enough pw", "csrf_token": token})
        assert r.status_code in (403, 404)
        assert (await client.get("/")).url.path == "/login"


async def test_api_page_lists_the_operations_for_people(web):
    await web.login()
    r = await web.client.get("/api")
    assert r.status_code == 200 and "/api/v1/surveys/{survey_id}/submissions" in r.text
    assert "outreach users create EMAIL --token" in r.text


async def test_campaign_report_page_shows_the_figures_and_a_draft(web):
    seed_case(web.engine, supplier_id="S-1")
    seed_case(web.engine, supplier_id="S-3", name="Gamma Gold", state="closed", outcome="valid")
    await web.login()
    r = await web.client.get("/campaigns/cmrt-2025/report")
    assert r.status_code == 200
    assert "Suppliers surveyed" in r.text and "Smelters and refiners identified" in r.text
    assert "Due diligence results" in r.text and "Example Manufacturing Inc." in r.text
    assert (await web.client.get("/campaigns/nope/report")).status_code == 404


async def test_bodies_over_the_limit_are_refused_before_they_are_read(web):
    survey_id = seed_case(web.engine)
    url = LinkSigner.from_settings(web.settings).portal_url(survey_id).removeprefix("http://portal.test")
    limit = web.settings.max_upload_bytes + 1024 * 1024
    r = await web.client.post(f"{url}/upload", content=b"x" * (limit + 1),
                              headers={"content-type": "multipart/form-data; boundary=B"})
    assert r.status_code == 413 and "too large" in r.text

    async def chunks():  # no Content-Length: counted as it arrives
        yield (b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n'
               b"Content-Type: application/octet-stream\r\n\r\n")
        for _ in range(limit // 65536 + 2):
            yield b"y" * 65536

    r = await web.client.post(f"{url}/upload", content=chunks(), headers={"content-type": "multipart/form-data; boundary=B"})
    assert r.status_code == 413


@pytest.mark.parametrize("reason,upload_offered", [("non_responsive", True), ("invalid_uncorrected", False)])
async def test_portal_takes_a_late_answer_only_while_a_non_response_waits_for_the_vp(web, reason, upload_offered):
    from models.tables import Escalation

    survey_id = seed_case(web.engine, state="escalated", answered=False)
    escalation_id = seed_escalation(web.engine, survey_id)
    with session_scope(web.engine) as s:
        s.get(Escalation, escalation_id).reason = reason
    url = LinkSigner.from_settings(web.settings).portal_url(survey_id).removeprefix("http://portal.test")
    r = await web.client.get(url)
    assert (f'action="{url}/upload"' in r.text) is upload_offered


async def test_first_account_cannot_be_claimed_from_another_machine(engine, db_url, settings_for):
    import httpx

    from outreach.web.app import create_app

    app = create_app(settings_for(db_url=db_url), engine)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test", follow_redirects=True) as client:
        r = await client.get("/")
        assert r.status_code == 403 and "outreach users create EMAIL --role admin" in r.text


async def test_repeated_wrong_passwords_lock_the_account_for_a_while(web):
    for _ in range(5):
        assert (await web.login(password="guess")).status_code == 401
    r = await web.login()  # even the right password waits now
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    assert (await web.client.get("/", follow_redirects=False)).status_code == 303


async def test_the_lockout_is_shared_by_every_web_replica_and_forgets_old_failures(web):
    from datetime import timedelta

    import httpx

    from models.columns import utcnow
    from models.tables import SignInFailure
    from outreach.web.app import create_app
    from tests.web_support import USER_PASSWORD

    with session_scope(web.engine) as s:  # failures from before the window no longer count
        for _ in range(5):
            s.add(SignInFailure(email=USER_EMAIL, at=utcnow() - timedelta(minutes=16)))
    assert (await web.login()).status_code == 200
    assert (await web.client.post("/logout", data={"csrf_token": await web.csrf()})).status_code == 200
    with session_scope(web.engine) as s:
        assert s.exec(select(SignInFailure)).all() == []  # a sign-in clears the account's failures

    # A second web replica on the same database: the count is one.
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(web.settings, web.engine)),
                              base_url="http://portal.test", follow_redirects=True)
    async with other:
        for _ in range(3):
            assert (await web.login(password="guess")).status_code == 401
        for _ in range(2):
            page = await other.get("/login")
            r = await other.post("/login", data={"email": USER_EMAIL.upper(), "password": "guess", "next": "/",
                                                 "csrf_token": csrf_from(page.text)})
            assert r.status_code == 401
        page = await other.get("/login")
        r = await other.post("/login", data={"email": USER_EMAIL, "password": USER_PASSWORD, "next": "/",
                                             "csrf_token": csrf_from(page.text)})
    assert r.status_code == 429 and "Try again in 15 minutes" in r.text
    assert (await web.login()).status_code == 429


@pytest.mark.postgres
async def test_pages_and_api_read_the_same_on_postgres(any_db_url, settings_for):
    """The read-model queries (filters, joins, paging, progress) on SQLite and PostgreSQL alike."""
    from outreach.db import make_engine

    eng = make_engine(any_db_url)
    try:
        w = make_web(settings_for(db_url=any_db_url), eng)
        survey_id = seed_case(eng, supplier_id="S-1", name="Acme Metals")
        seed_case(eng, supplier_id="S-2", name="Beta Tin", state="awaiting_response", due_days=-3, answered=False)
        await w.login()
        assert ">Beta Tin</a>" in (await w.client.get("/suppliers?overdue=1&q=beta")).text
        assert ">Acme Metals</a>" not in (await w.client.get("/suppliers", params={"q": "_"})).text
        assert "Declaration!D16" in (await w.client.get("/suppliers/S-1")).text
        assert "67%" not in (await w.client.get("/")).text and "50%" in (await w.client.get("/")).text
        h = {"Authorization": f"Bearer {w.api_token()}"}
        assert (await w.client.get(f"/api/v1/surveys/{survey_id}", headers=h)).json()["id"] == survey_id
        await w.client.aclose()
    finally:
        eng.dispose()


async def test_actions_say_so_when_temporal_is_unreachable(engine, db_url, settings_for):
    from tests.conftest import free_port

    w = make_web(settings_for(db_url=db_url, temporal_address=f"127.0.0.1:{free_port()}"), engine)
    survey_id = seed_case(engine)
    # Pages read the database: they work without Temporal.
    await w.login()
    page = await w.client.get("/suppliers/S-1")
    assert page.status_code == 200
    r = await w.client.post("/suppliers/S-1/actions/add_note", data={
        "survey_id": survey_id, "text": "called", "csrf_token": csrf_from(page.text)})
    assert "Add a note: not done. The workflow engine is not reachable right now" in r.text
    url = LinkSigner.from_settings(w.settings).portal_url(survey_id).removeprefix("http://portal.test")
    page = await w.client.get(url)
    r = await w.client.post(f"{url}/upload", data={"csrf_token": csrf_from(page.text)},
                            files={"file": ("a.xlsx", valid_cmrt(), "application/octet-stream")})
    assert "we cannot take files for a few minutes" in r.text
    await w.client.aclose()


async def test_a_campaign_end_date_in_the_past_is_refused_by_the_form_and_the_api(engine, db_url, settings_for):
    """Checked before Temporal is asked: the refusal is the answer even while the engine is down."""
    from datetime import date, timedelta

    from tests.conftest import free_port

    w = make_web(settings_for(db_url=db_url, temporal_address=f"127.0.0.1:{free_port()}"), engine)
    await w.login()
    page = await w.client.get("/campaigns/new")
    assert 'name="ends_at" type="date"' in page.text
    form = {"csrf_token": csrf_from(page.text), "year": "2025", "selection": "all", "policy": "annual"}
    r = await w.client.post("/campaigns", data={**form, "ends_at": "2020-01-01"})
    assert r.status_code == 422 and "2020-01-01 23:59 UTC is in the past" in r.text
    assert 'value="2020-01-01"' in r.text  # the form keeps what was typed
    soon = (date.today() + timedelta(days=10)).isoformat()
    r = await w.client.post("/campaigns", data={**form, "ends_at": soon})
    assert r.status_code == 422 and "before its surveys are due" in r.text
    r = await w.client.post("/campaigns", data={**form, "ends_at": "30/06/2026"})
    assert r.status_code == 422 and "Closes on: &#39;30/06/2026&#39; is not a date" in r.text
    later = (date.today() + timedelta(days=200)).isoformat()
    r = await w.client.post("/campaigns", data={**form, "ends_at": later})
    assert r.status_code == 503  # accepted: only the engine's absence stops it

    h = {"Authorization": f"Bearer {w.api_token()}"}
    r = await w.client.post("/api/v1/campaigns", headers=h, json={"year": 2025, "ends_at": "2020-01-01T00:00:00Z"})
    assert r.status_code == 422 and "2020-01-01 00:00 UTC is in the past" in r.json()["detail"]
    r = await w.client.post("/api/v1/campaigns", headers=h, json={"year": 2025, "policy": "demo",
                                                                  "ends_at": f"{later}T12:00:00"})
    assert r.status_code == 503
    await w.client.aclose()


async def test_supplier_table_sorts_and_exports_csv_without_formulas(web):
    seed_case(web.engine, supplier_id="S-1", name="Acme Metals")
    seed_case(web.engine, supplier_id="S-2", name="=HYPERLINK(\"http://evil\")", state="awaiting_response",
              due_days=-3, answered=False)
    with session_scope(web.engine) as s:
        from models.tables import Supplier

        s.get(Supplier, "S-2").annual_spend = 1.0
    await web.login()
    text = (await web.client.get("/suppliers?sort=spend")).text
    assert text.index("Acme Metals") < text.index("HYPERLINK")  # the biggest spend first
    text = (await web.client.get("/suppliers?sort=name")).text
    assert text.index("HYPERLINK") < text.index("Acme Metals")  # "=" before "A"
    r = await web.client.get("/suppliers.csv?overdue=1")
    assert r.headers["content-disposition"] == 'attachment; filename="suppliers-cmrt-2025.csv"'
    lines = r.text.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("supplier_id,name,")
    assert "'=HYPERLINK" in lines[1] and ",yes," in lines[1]
    h = {"Authorization": f"Bearer {web.api_token()}"}
    items = (await web.client.get("/api/v1/suppliers?sort=spend", headers=h)).json()["items"]
    assert [i["id"] for i in items] == ["S-1", "S-2"]
    assert (await web.client.get("/api/v1/suppliers?sort=bogus", headers=h)).status_code == 422


async def test_healthz_reports_an_unreachable_database(settings_for):
    import httpx

    from outreach.db import make_engine
    from outreach.web.app import create_app

    eng = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    app = create_app(settings_for(), eng)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test") as client:
        r = await client.get("/healthz")
    assert r.status_code == 503 and r.json()["status"] == "error" and "127.0.0.1:1" in r.json()["database"]
    eng.dispose()


def test_page_titles_hold_only_text():
    """A page's <title> block holds words, never page content (a misplaced edit once put sections there)."""
    import re
    from pathlib import Path

    pages = sorted((Path(__file__).resolve().parents[1] / "templates" / "web").glob("*.html"))
    assert pages
    for page in pages:
        for title in re.findall(r"{% block title %}(.*?){% endblock %}", page.read_text(), flags=re.S):
            assert "<" not in title and "\n" not in title.strip(), page.name


async def test_portal_and_supplier_page_state_the_correction_as_the_email_does(web):
    """The count, the deadline and the errors under "to correct" are the email's (models.facts.correction);
    a warning and a note are listed apart, never as demands; the date is the correction window's end, not
    the first answer's due date."""
    from datetime import datetime, timezone

    from models.facts.correction import correction_request
    from models.tables import Finding
    from outreach.emails import render_email

    survey_id = seed_case(web.engine, name="Acme Metals", due_days=60)
    window_end = datetime(2026, 12, 23, 12, 0, tzinfo=timezone.utc)
    with session_scope(web.engine) as s:
        s.get(Survey, survey_id).answer_by = window_end
        sub_id = f"{survey_id}/submission/1"
        s.add(Finding(submission_id=sub_id, code="date_in_future", severity="warning", sheet="Declaration",
                      cell="D17", message="Check the effective date."))
        s.add(Finding(submission_id=sub_id, code="smelter_not_in_reference", severity="info", sheet="Smelter List",
                      cell="D9", message="Not on our reference list. Nothing to correct in your file."))
        findings = [dict(code=f.code, severity=f.severity, sheet=f.sheet, cell=f.cell, message=f.message)
                    for f in s.exec(select(Finding).where(Finding.submission_id == sub_id))]
    email = render_email("correction_request", dict(
        company_name="X", supplier_name="Acme Metals", supplier_id="S-1", campaign_id="c", campaign_year=2025,
        contact_name="Jane", portal_url="http://p", correction=correction_request(
            findings, deadline=window_end, round=1, max_rounds=3).context()))
    assert "2 errors to correct by 23 December 2026" in email.subject
    url = LinkSigner.from_settings(web.settings).portal_url(survey_id).removeprefix("http://portal.test")
    portal = (await web.client.get(url)).text
    await web.login()
    page = (await web.client.get("/suppliers/S-1")).text
    for text in (portal, page):
        assert "2 errors to correct by 23 Dec 2026" in text
        assert text.count('class="finding to-correct"') == 2
        demands = text.split("For your information")[0]
        assert "Nothing to correct" not in demands and "Check the effective date" not in demands
        assert "Nothing to correct in your file" in text.split("For your information")[1]
    assert 'id="answer-by">23 Dec 2026' in portal and 'id="answer-by">23 Dec 2026' in page
    assert "smelter_not_in_reference" not in portal + page  # codes in words


async def test_every_face_states_the_same_reminder_count(web):
    """The supplier list's CSV, the API and the supplier page count reminders one way
    (models/facts/messages.reminder_count): the plan's reminders included, a message not yet accepted by
    the relay not called sent."""
    from models.tables import OutboxMessage

    survey_id = seed_case(web.engine, supplier_id="S-1", state="corrective_action")
    with session_scope(web.engine) as s:
        for key, template, status in ((f"{survey_id}/reminder/1", "reminder", "sent"),
                                      (f"{survey_id}/cap/1/cap_reminder/1", "cap_reminder", "sent"),
                                      (f"{survey_id}/reminder/2", "reminder", "pending")):
            s.add(OutboxMessage(idempotency_key=key, survey_id=survey_id if "/cap/" not in key else None,
                                campaign_id="cmrt-2025", template=template, to_addr="jane@s-1.test", subject="x",
                                body_text="x", message_id=f"<{key}@test>", status=status))
    await web.login()
    page = (await web.client.get("/suppliers/S-1")).text
    on_page = int(page.split("Reminders sent</div><div><strong>")[1].split("<")[0])
    lines = (await web.client.get("/suppliers.csv")).text.strip().splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    in_csv = int(row[header.index("reminders_sent")])
    h = {"Authorization": f"Bearer {web.api_token()}"}
    in_api = (await web.client.get(f"/api/v1/surveys/{survey_id}", headers=h)).json()["reminders_sent"]
    assert on_page == in_csv == in_api >= 2
    assert row[header.index("state")] == "Corrective action"  # words, not codes, in a sheet people read

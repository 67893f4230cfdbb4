"""Three people, three faces, in Debian's chromium through Playwright, against uvicorn and real Temporal.

1. A supplier opens the portal link, uploads an invalid CMRT, reads its findings with sheet and cell,
   uploads the corrected workbook and sees it accepted.
2. A compliance analyst logs in, starts a campaign and finds the supplier's timeline.
3. The Supply Chain VP decides from the link in the escalation email.

The web app runs in uvicorn on a free port in a background thread with its own Temporal client; the
real worker runs in the test. Screenshots of each page land in /tmp/outreach-web-*.png (not committed).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from cmrt.builder import invalid_cmrt, valid_cmrt
from models.enums import SurveyOutcome
from models.policy import CampaignPolicy
from tests.conftest import free_port
from tests.survey_harness import VP, SurveyRig, running
from tests.web_support import USER_EMAIL, USER_PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path("/tmp")


def _skip_without_browser() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (`make test` installs it as root: "
                    "apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")


class LiveServer:
    """uvicorn serving the app in a thread, on its own event loop (so with its own Temporal client)."""

    def __init__(self, app, port: int):
        import uvicorn

        self.port = port
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def live_settings(settings_for, env, smtp_port: int, db_url):
    """Settings whose links point at the live server's port and whose Temporal is the test's."""
    port = free_port()
    target = env.client.service_client.config.target_host
    settings = settings_for(db_url=db_url, smtp_port=smtp_port, temporal_address=target, vp_email=VP, web_port=port)
    return settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})


@asynccontextmanager
async def browser_page():
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            yield page
        finally:
            await browser.close()


def serve(settings, engine) -> LiveServer:
    from outreach.users import create_user
    from outreach.web.app import create_app

    create_user(engine, USER_EMAIL, USER_PASSWORD, name="Ana Analyst")
    return LiveServer(create_app(settings, engine), settings.web_port)


async def shot(page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"outreach-web-{name}.png"), full_page=True)


async def wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError("timed out waiting for the read model")


def survey_row(engine, survey_id: str):
    from sqlmodel import Session

    from models.tables import Survey

    with Session(engine) as s:
        return s.get(Survey, survey_id)


async def test_supplier_corrects_a_cmrt_in_the_portal(ts_env, smtp, engine, db_url, settings_for, tmp_path):
    _skip_without_browser()
    settings = live_settings(settings_for, ts_env, smtp.port, db_url)
    rig = SurveyRig(ts_env, smtp, engine, settings)
    invalid = tmp_path / "acme-cmrt.xlsx"
    invalid.write_bytes(invalid_cmrt(problem="missing_contact_email"))
    corrected = tmp_path / "acme-cmrt-corrected.xlsx"
    corrected.write_bytes(valid_cmrt())
    with serve(settings, engine) as server:
        async with running(rig), browser_page() as page:
            h = await rig.start()
            from outreach.links import LinkSigner

            link = LinkSigner.from_settings(settings).portal_url(h.id)
            assert link.startswith(server.url)
            await wait_for(lambda: getattr(survey_row(engine, h.id), "state", None) == "awaiting_response")
            await page.goto(link)
            await page.get_by_role("heading", name="Waiting for your CMRT").wait_for()
            await shot(page, "portal")

            await page.get_by_label("Your CMRT workbook").set_input_files(str(invalid))
            await page.get_by_role("button", name="Upload and check").click()
            await page.get_by_role("heading", name="Your CMRT needs corrections").wait_for()
            finding = page.locator("tr.finding", has_text="D16")
            assert await finding.count() == 1
            assert "Declaration!D16" in await finding.inner_text()
            await shot(page, "portal-findings")

            await page.get_by_label("Your CMRT workbook").set_input_files(str(corrected))
            await page.get_by_role("button", name="Upload and check").click()
            await page.get_by_role("heading", name="Your CMRT is accepted", exact=True).wait_for()
            await shot(page, "portal-accepted")
            result = await h.result()
    assert result.outcome == SurveyOutcome.valid


async def test_analyst_starts_a_campaign_and_finds_the_timeline(dev_env, engine, db_url, settings_for):
    """On the embedded stack's shape: the requests go to the real mail catcher, browsable at /mail."""
    _skip_without_browser()
    from outreach.mailcatcher import start_mail_catcher
    from outreach.suppliers import import_suppliers, write_supplier_csv
    from worker import build_worker

    rows = [{"supplier_id": f"S-{i}", "name": name, "annual_spend": spend, "category": cat,
             "contact_email": f"cmrt@{name.split()[0].lower()}.example", "contact_name": "Jane Doe",
             "commodity_manager_name": "Carl Buyer", "commodity_manager_email": "carl@company.example"}
            for i, (name, spend, cat) in enumerate([("Acme Metals", 900000, "strategic"),
                                                     ("Beta Tin Works", 450000, "preferred"),
                                                     ("Gamma Gold Refining", 120000, "strategic")], start=1)]
    report = import_suppliers(engine, write_supplier_csv(rows), "suppliers.csv")
    assert report.imported, report.errors
    catcher_port = free_port()
    settings = live_settings(settings_for, dev_env, catcher_port, db_url)
    catcher = await start_mail_catcher(settings.mail_dir, port=catcher_port)
    with serve(settings, engine) as server:
        async with catcher, build_worker(dev_env.client, settings, engine), browser_page() as page:
            await page.goto(server.url + "/")
            await page.get_by_label("Email").fill(USER_EMAIL)
            await page.get_by_label("Password").fill(USER_PASSWORD)
            await shot(page, "login")
            await page.get_by_role("button", name="Sign in").click()
            await page.get_by_role("heading", name="No campaign yet").wait_for()
            await shot(page, "dashboard-empty")

            await page.get_by_role("link", name="Start a campaign").first.click()
            campaign_id = f"cmrt-2025-{uuid.uuid4().hex[:6]}"  # the dev server outlives this test
            await page.get_by_label("Reporting year").fill("2025")
            await page.get_by_label("Campaign ID").fill(campaign_id)
            await page.get_by_label("All active suppliers").check()
            await shot(page, "campaign-new")
            await page.get_by_role("button", name="Start the campaign").click()
            await page.get_by_text(f"Campaign {campaign_id} started").wait_for()

            from models.tables import Survey, SurveyEvent
            from sqlmodel import Session, select

            def requested() -> bool:
                with Session(engine) as s:
                    return len(s.exec(select(SurveyEvent).where(SurveyEvent.kind == "request_sent")).all()) == 3

            await wait_for(requested)
            await page.goto(server.url + "/")
            await page.get_by_role("link", name="CMRT campaign 2025").wait_for()
            await shot(page, "dashboard")

            # The requests, as the suppliers received them.
            await page.get_by_role("link", name="Caught mail").click()
            await page.get_by_role("cell", name="cmrt@beta.example").first.wait_for()
            await shot(page, "mail")
            await page.locator("tr", has_text="cmrt@beta.example").get_by_role("link").first.click()
            await page.get_by_role("heading", name="Text version").wait_for()
            assert await page.locator("iframe[sandbox]").count() == 1
            await shot(page, "mail-message")

            await page.get_by_role("link", name="Suppliers", exact=True).first.click()
            await page.get_by_role("heading", name="Suppliers", exact=True).wait_for()
            await shot(page, "suppliers")
            await page.get_by_role("link", name="Beta Tin Works").click()
            await page.get_by_role("heading", name="Timeline").wait_for()
            timeline = page.locator("ol.timeline")
            assert "Request sent" in await timeline.inner_text()
            await shot(page, "supplier")
            # The campaign's own page and the filtered table.
            await page.goto(f"{server.url}/campaigns/{campaign_id}")
            await page.get_by_role("heading", name="Overdue suppliers").wait_for()
            await shot(page, "campaign")
            with Session(engine) as s:
                survey_ids = [x.id for x in s.exec(select(Survey)).all()]
            for survey_id in survey_ids:  # stop the surveys: nothing must outlive the test
                await dev_env.client.get_workflow_handle(survey_id).terminate("test over")
            await dev_env.client.get_workflow_handle(f"campaign/{campaign_id}").terminate("test over")


async def test_vp_decides_from_the_link(ts_env, smtp, engine, db_url, settings_for):
    _skip_without_browser()
    settings = live_settings(settings_for, ts_env, smtp.port, db_url)
    rig = SurveyRig(ts_env, smtp, engine, settings)
    with serve(settings, engine):
        async with running(rig), browser_page() as page:
            # The demo policy reaches the VP in minutes: a short skip, light on a busy machine.
            policy = CampaignPolicy.demo()
            h = await rig.start(policy=policy)
            await rig.skip(seconds=(policy.response_due + policy.grace_period).total_seconds() + 30)
            from models.tables import Escalation
            from sqlmodel import Session, select

            def escalation_id():
                with Session(engine) as s:
                    esc = s.exec(select(Escalation).where(Escalation.survey_id == h.id)).first()
                    return esc.id if esc else None

            esc_id = await wait_for(escalation_id)
            from outreach.links import LinkSigner

            await page.goto(LinkSigner.from_settings(settings).decision_url(esc_id))
            await page.get_by_role("heading", name="Why this case is on your desk").wait_for()
            await shot(page, "decide")
            await page.get_by_label("Suspend the supplier").check()
            await page.get_by_role("textbox", name="Reason").fill("No CMRT after four reminders and the buyer's call.")
            await page.get_by_role("button", name="Record my decision").click()
            await page.get_by_text("Your decision is recorded").wait_for()
            await shot(page, "decided")
            result = await h.result()
    assert result.outcome == SurveyOutcome.suspended
    with Session(engine) as s:
        esc = s.get(Escalation, esc_id)
        assert (esc.decision, esc.decided_by) == ("suspend", VP) and esc.decided_at is not None


async def test_analyst_sees_the_mail_outage_banner_and_what_waits(ts_env, engine, db_url, settings_for):
    """A request undelivered for 40 minutes: the banner on the dashboard names it, the campaign page lists it."""
    _skip_without_browser()
    from datetime import datetime, timedelta, timezone

    from models.tables import Campaign, OutboxMessage
    from outreach.db import session_scope

    now = datetime.now(timezone.utc)
    with session_scope(engine) as s:
        s.add(Campaign(id="cmrt-2025", year=2025, name="CMRT campaign 2025", state="running"))
        s.add(OutboxMessage(idempotency_key="survey/cmrt-2025/S-7/request/r0/n0", campaign_id="cmrt-2025",
                            template="request", to_addr="cmrt@acme.example", subject="CMRT", body_text="...",
                            message_id="<m1@test>", attempts=9, last_error="SMTPConnectError: Connection refused",
                            created_at=now - timedelta(minutes=40), last_attempt_at=now - timedelta(minutes=3)))
    settings = live_settings(settings_for, ts_env, free_port(), db_url)
    with serve(settings, engine) as server:
        async with browser_page() as page:
            await page.goto(server.url + "/")
            await page.get_by_label("Email").fill(USER_EMAIL)
            await page.get_by_label("Password").fill(USER_PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            banner = page.get_by_role("alert")
            await banner.wait_for()
            text = await banner.inner_text()
            assert "1 message undelivered" in text and "cmrt@acme.example" in text
            assert "Connection refused" in text and "9 attempts" in text
            await shot(page, "outage-banner")
            await page.get_by_role("link", name="CMRT campaign 2025").click()
            row = page.locator("table.waiting tbody tr")
            assert await row.count() == 1
            assert "cmrt@acme.example" in await row.inner_text() and "S-7" in await row.inner_text()
            await shot(page, "outage-campaign")


@pytest.mark.parametrize("code", ["ja", "de"])
async def test_supplier_corrects_a_cmrt_in_its_own_language(code, ts_env, smtp, engine, db_url, settings_for, tmp_path):
    """A correction round end to end in the supplier's language: in Japanese because the contact list says so,
    in German because the supplier (listed in English) chooses it on the portal."""
    _skip_without_browser()
    from models.survey import Contact
    from outreach.i18n import translations
    from outreach.links import LinkSigner
    from tests.survey_harness import SUPPLIER

    t = translations(code).gettext
    words = {w: t(w) for w in ("Waiting for your CMRT", "Your CMRT workbook", "Upload and check",
                               "Your CMRT needs corrections", "Your CMRT is accepted", "Language")}
    assert all(said != english for english, said in words.items())  # the catalogue speaks the language
    settings = live_settings(settings_for, ts_env, smtp.port, db_url)
    rig = SurveyRig(ts_env, smtp, engine, settings)
    invalid = tmp_path / "cmrt.xlsx"
    invalid.write_bytes(invalid_cmrt(problem="missing_contact_email"))
    # the finding as cmrt's own catalogue says it in the language: the portal and the email must say the same
    import cmrt
    from cmrt.messages import finding_text

    said = [finding_text(f, code) for f in cmrt.check(invalid.read_bytes(), filename="cmrt.xlsx").findings
            if f.cell == "D16"]
    assert len(said) == 1 and said[0] != finding_text(cmrt.check(invalid.read_bytes()).findings[0], "en")
    corrected = tmp_path / "cmrt-corrected.xlsx"
    corrected.write_bytes(valid_cmrt())
    with serve(settings, engine):
        async with running(rig), browser_page() as page:
            listed = "ja" if code == "ja" else "en"
            h = await rig.start(contact=Contact(name="Jane Doe", email=SUPPLIER, language=listed))
            await wait_for(lambda: getattr(survey_row(engine, h.id), "state", None) == "awaiting_response")
            await page.goto(LinkSigner.from_settings(settings).portal_url(h.id))
            if code == "de":  # listed in English: the supplier switches
                await page.get_by_role("heading", name="Waiting for your CMRT").wait_for()
                await page.get_by_label("Language", exact=True).select_option("de")
                await page.get_by_role("button", name="Change language").click()
            await page.get_by_role("heading", name=words["Waiting for your CMRT"]).wait_for()
            assert await page.locator("html").get_attribute("lang") == code
            await shot(page, f"portal-{code}")

            await page.get_by_label(words["Your CMRT workbook"]).set_input_files(str(invalid))
            await page.get_by_role("button", name=words["Upload and check"]).click()
            await page.get_by_role("heading", name=words["Your CMRT needs corrections"]).wait_for()
            finding = page.locator("tr.finding", has_text="D16")
            assert await finding.count() == 1 and "Declaration!D16" in await finding.inner_text()
            assert said[0] in await finding.inner_text()  # the stored finding, in the supplier's language
            await shot(page, f"portal-findings-{code}")

            await page.get_by_label(words["Your CMRT workbook"]).set_input_files(str(corrected))
            await page.get_by_role("button", name=words["Upload and check"]).click()
            await page.get_by_role("heading", name=words["Your CMRT is accepted"], exact=True).wait_for()
            await shot(page, f"portal-accepted-{code}")
            result = await h.result()
    assert result.outcome == SurveyOutcome.valid
    # The correction email and the thank-you read in the same language, the English below.
    mails = {m.template: m for m in smtp.to(SUPPLIER)}
    assert {"request", "correction_request", "accepted"} <= set(mails)
    for template in ("correction_request", "accepted"):
        text = mails[template].text
        assert "\nEnglish\n" in text and text.index("\nEnglish\n") > 0
        assert t("Dear %(name)s,") % {"name": "Jane Doe"} in text.split("\nEnglish\n")[0]
    assert said[0] in mails["correction_request"].text.split("\nEnglish\n")[0]

"""The auditor's evidence pack (outreach/evidence): a small real campaign on the time-skipping server, the
pack read back part by part, its manifest and links checked, the audit trail's verification in it; the
download from the campaign page; the command line; hostile names."""

from __future__ import annotations

import csv
import email
import hashlib
import io
import json
import posixpath
import re
import zipfile
from html.parser import HTMLParser
from urllib.parse import unquote

from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from cmrt.builder import invalid_cmrt
from models.survey import ManualReview, SubmitCmrt
from models.tables import AuditEntry, Finding, OutboxMessage, Submission, Supplier, SurveyEvent
from outreach import audit
from outreach.db import session_scope
from outreach.evidence.archive import safe_part
from outreach.evidence.cases import supplier_folder
from outreach.evidence.pack import ACTION, build_pack
from tests.survey_harness import SUPPLIER, rig, running  # noqa: F401 (fixtures)
from tests.survey_scenarios import SHORT, weak_cmrt

PARTS = [
    "index.html", "manifest.csv", "manifest.json", "campaign/campaign.json", "campaign/suppliers.csv",
    "declarations/declarations.csv", "declarations/findings.csv", "emails/emails.csv", "timelines/events.csv",
    "reviews/hand-reviews.csv", "decisions/escalations.csv", "decisions/corrective-action-plans.csv",
    "report/rcoi.xlsx", "report/due-diligence-results.md", "report/figures.json", "scorecards/scorecards.xlsx",
    "scorecards/scorecards.csv", "reference/smelters.csv", "reference/version.json", "reference/imports.csv",
    "audit/audit-trail.csv", "audit/verification.json",
]
UNLISTED = {"manifest.csv", "manifest.json", "index.html"}  # the manifest cannot hash itself or the page showing it


def _pack(engine, store, campaign_id, **kw) -> tuple[bytes, object]:
    out = io.BytesIO()
    summary = build_pack(engine, store, campaign_id, out, by=kw.pop("by", "auditor@company.test"), company="Acme",
                         sender="Minerals <minerals@company.test>", **kw)
    return out.getvalue(), summary


def _csv(z: zipfile.ZipFile, path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(z.read(path).decode("utf-8"))))


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def _broken_links(z: zipfile.ZipFile) -> list[tuple[str, str]]:
    names, broken = set(z.namelist()), []
    for page in [n for n in names if n.endswith(".html")]:
        parser = _Links()
        parser.feed(z.read(page).decode("utf-8"))
        assert parser.hrefs, page
        for href in parser.hrefs:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(href)))
            if target not in names:
                broken.append((page, href))
    return broken


def _manifest_holds(z: zipfile.ZipFile) -> dict[str, str]:
    listed = {r["Path"]: r for r in _csv(z, "manifest.csv")}
    assert set(listed) == set(z.namelist()) - UNLISTED
    for path, row in listed.items():
        data = z.read(path)
        assert hashlib.sha256(data).hexdigest() == row["SHA-256"] and len(data) == int(row["Size (bytes)"]), path
    as_json = json.loads(z.read("manifest.json"))
    assert {f["path"]: f["sha256"] for f in as_json["files"]} == {p: r["SHA-256"] for p, r in listed.items()}
    manifest_sha = hashlib.sha256(z.read("manifest.csv")).hexdigest()
    assert as_json["manifest_csv_sha256"] == manifest_sha and manifest_sha in z.read("index.html").decode()
    return {p: r["SHA-256"] for p, r in listed.items()}


async def _small_campaign(rig) -> tuple[str, str]:
    """Two suppliers: one invalid CMRT accepted by hand (a hand review), one valid with a weak program."""
    from workflows.survey import SupplierSurveyWorkflow

    with session_scope(rig.engine) as s:
        s.add(Supplier(id="S-200", name="Borealis / Plating = Co.", annual_spend=5.0))
    async with running(rig):
        h1 = await rig.start(SHORT)
        h2 = await rig.start(SHORT, supplier_id="S-200", supplier_name="Borealis / Plating = Co.")
        await rig.skip(hours=2)
        v = await h1.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
            file_sha256=rig.store(invalid_cmrt(), filename="../../acme cmrt 2025.xlsx"), filename="../../acme cmrt 2025.xlsx"))
        await h1.execute_update(SupplierSurveyWorkflow.accept_submission, ManualReview(
            submission_id=v.submission_id, by="ana@company.test", reason="contact email confirmed by phone"))
        await h2.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(weak_cmrt())))
        await h1.result()
        await h2.result()
    return h1.id, v.submission_id


def _view_ids(v) -> tuple:
    return (v.survey.id, v.campaign.id if v.campaign else None, [e.id for e in v.events],
            [(x.submission.id, [f.id for f in x.findings], x.file.sha256 if x.file else None) for x in v.submissions],
            [m.id for m in v.emails], [(p.plan.id, [a.id for a in p.actions]) for p in v.plans],
            [e.id for e in v.escalations], v.overdue)


async def test_the_pack_of_a_real_campaign_holds_every_part_and_verifies(rig):
    from outreach.web.queries import survey_view, survey_views

    survey_id, reviewed = await _small_campaign(rig)
    ids = [f"survey/{rig.campaign_id}/S-200", survey_id, "survey/none/S-9"]
    # The pack reads the cases a page at a time: exactly what the supplier page reads, one case at a time.
    assert [_view_ids(v) for v in survey_views(rig.engine, ids)] == [
        _view_ids(survey_view(rig.engine, i)) for i in ids[:2]]
    assert all(v.emails for v in survey_views(rig.engine, ids))
    head_before = audit.verify(rig.engine)
    data, summary = _pack(rig.engine, rig.files, rig.campaign_id)
    z = zipfile.ZipFile(io.BytesIO(data))
    names = set(z.namelist())
    assert set(PARTS) <= names, set(PARTS) - names
    assert not [n for n in names if n.startswith("/") or ".." in n.split("/")]
    hashes = _manifest_holds(z)
    assert _broken_links(z) == []

    with session_scope(rig.engine) as s:
        subs = s.exec(select(Submission)).all()
        findings = s.exec(select(Finding)).all()
        mail = s.exec(select(OutboxMessage)).all()
        events = s.exec(select(SurveyEvent).where(SurveyEvent.survey_id == survey_id)).all()
        campaign_entries = s.exec(select(AuditEntry).where(AuditEntry.campaign_id == rig.campaign_id,
                                                           AuditEntry.action != ACTION)).all()
        pack_entry = s.exec(select(AuditEntry).where(AuditEntry.action == ACTION)).one()

    # Every file as received, under its supplier, its hash recorded; its findings and verdicts beside it.
    declared = {r["Submission"]: r for r in _csv(z, "declarations/declarations.csv")}
    assert set(declared) == {x.id for x in subs} and summary.files == len(subs) == 2
    for sub in subs:
        row = declared[sub.id]
        assert row["SHA-256"] == sub.file_sha256 == hashes[row["File in the pack"]] and row["File kept"] == "yes"
        assert z.read(row["File in the pack"]) == rig.files.get(sub.file_sha256)
        detail = json.loads(z.read(row["Findings (JSON)"]))
        assert len(detail["findings"]) == len([f for f in findings if f.submission_id == sub.id])
    hand = declared[reviewed]
    assert "S-100" in hand["File in the pack"] and hand["Verdict of the check"] == "invalid"
    assert hand["Verdict after review"] == "valid" and "accepted by hand" in hand["Verdict in words"]
    assert len(_csv(z, "declarations/findings.csv")) == len(findings) > 0
    # The review answers recorded so far: who accepted what, and why.
    [review] = _csv(z, "reviews/hand-reviews.csv")
    assert (review["Submission"], review["Decision"], review["Who"]) == (reviewed, "accepted", "ana@company.test")
    assert review["Reason"] == "contact email confirmed by phone"

    # Every e-mail, as a message a mail program opens.
    listed = _csv(z, "emails/emails.csv")
    assert len(listed) == len(mail) > 0 and summary.emails == len(mail)
    for row in listed:
        msg = email.message_from_bytes(z.read(row["File in the pack"]))
        assert msg["Message-ID"] == row["Message-ID"] and msg["To"] == row["To"]
    assert any(r["Template"] == "correction_request" and r["To"] == SUPPLIER for r in listed)

    # The timeline of every survey, and the case page a person reads.
    case_dir = next(n.rsplit("/", 1)[0] for n in names if n.startswith("suppliers/S-100") and n.endswith("case.html"))
    assert len(_csv(z, f"{case_dir}/timeline.csv")) == len(events)
    assert "submission_accepted_by_hand" in {e.kind for e in events}
    assert "Submission accepted by hand" in z.read(f"{case_dir}/case.html").decode()
    assert {r["Supplier ID"] for r in _csv(z, "campaign/suppliers.csv")} == {"S-100", "S-200"}
    assert any(n.startswith("suppliers/S-200 Borealis _ Plating _ Co") for n in names)

    # The report and scorecards, by the report's own code.
    figures = json.loads(z.read("report/figures.json"))
    assert figures["suppliers_surveyed"] == 2 and figures["valid"]["count"] == 2
    assert len(_csv(z, "scorecards/scorecards.csv")) == 2
    assert json.loads(z.read("reference/version.json"))["fingerprint"]

    # The audit trail of the campaign, verified; the pack's own generation audited after it.
    assert len(_csv(z, "audit/audit-trail.csv")) == len(campaign_entries) > 0
    verification = json.loads(z.read("audit/verification.json"))
    assert verification["chain_holds"] is True and verification["head_hash"] == head_before.last_hash
    assert pack_entry.prev_hash == head_before.last_hash and pack_entry.actor == "auditor@company.test"
    assert pack_entry.after["pack_sha256"] == hashlib.sha256(data).hexdigest() == summary.sha256
    assert pack_entry.after["manifest_sha256"] == hashlib.sha256(z.read("manifest.csv")).hexdigest()
    assert audit.verify(rig.engine).ok

    # The same campaign again: the same files with the same hashes, apart from the audit part (which now
    # holds the first pack's generation) and the pages that state when and by whom.
    again, _ = _pack(rig.engine, rig.files, rig.campaign_id, by="someone.else@company.test")
    z2 = zipfile.ZipFile(io.BytesIO(again))
    assert z2.namelist() == z.namelist()
    second = _manifest_holds(z2)
    differ = {p for p in hashes if second[p] != hashes[p]}
    assert differ == {"audit/audit-trail.csv", "audit/verification.json"}, differ

    # A tampered trail is stated in the pack, which is still made.
    with rig.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET reason = 'nothing to see' WHERE seq = 2"))
    broken, _ = _pack(rig.engine, rig.files, rig.campaign_id)
    z3 = zipfile.ZipFile(io.BytesIO(broken))
    assert json.loads(z3.read("audit/verification.json"))["broken_at_entry"] == 2
    assert "The chain is broken" in z3.read("index.html").decode()


async def test_the_campaign_page_streams_the_pack_to_an_auditor(engine, db_url, settings_for):
    from outreach.users import create_user
    from tests.web_support import USER_PASSWORD, make_web, seed_case

    web = make_web(settings_for(db_url=db_url), engine)
    seed_case(engine)  # its file was never put in the store: listed as missing, the pack still made
    try:
        for role in ("auditor", "executive"):
            create_user(engine, f"{role}@company.test", USER_PASSWORD, role=role)
        await web.login("auditor@company.test")
        page = await web.client.get("/campaigns/cmrt-2025")
        assert "/campaigns/cmrt-2025/evidence.zip" in page.text
        r = await web.client.get("/campaigns/cmrt-2025/evidence.zip")
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        assert "attachment" in r.headers["content-disposition"]
        z = zipfile.ZipFile(io.BytesIO(r.content))
        _manifest_holds(z)
        assert _broken_links(z) == []
        [row] = _csv(z, "declarations/declarations.csv")
        assert row["File kept"].startswith("no") and row["File in the pack"] == ""
        with session_scope(engine) as s:
            entry = s.exec(select(AuditEntry).where(AuditEntry.action == ACTION)).one()
        assert entry.actor == "auditor@company.test" and entry.after["pack_sha256"] == hashlib.sha256(r.content).hexdigest()
        assert (await web.client.get("/campaigns/nope/evidence.zip")).status_code == 404
        web.client.cookies.clear()
        await web.login("executive@company.test")
        assert "evidence.zip" not in (await web.client.get("/campaigns/cmrt-2025")).text
        assert (await web.client.get("/campaigns/cmrt-2025/evidence.zip")).status_code == 403
    finally:
        await web.client.aclose()


def test_the_command_answers_an_auditor_in_one_line(engine, db_url, tmp_path):
    from outreach.cli import app as cli_app
    from tests.web_support import seed_case

    seed_case(engine)
    env = {"OUTREACH_DATABASE_URL": db_url, "OUTREACH_DATA_DIR": str(tmp_path / "var"), "USER": "ana"}
    runner = CliRunner()
    out = tmp_path / "papers" / "evidence-cmrt-2025.zip"
    r = runner.invoke(cli_app, ["evidence", "--campaign", "cmrt-2025", str(out)], env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() in r.output
    _manifest_holds(zipfile.ZipFile(io.BytesIO(data)))
    with session_scope(engine) as s:
        assert s.exec(select(AuditEntry.actor).where(AuditEntry.action == ACTION)).one() == "ana (command line)"
    r = runner.invoke(cli_app, ["evidence", "--campaign", "nope", str(tmp_path / "x.zip")], env=env)
    assert r.exit_code == 2 and "no campaign nope" in r.output and not (tmp_path / "x.zip").exists()
    r = runner.invoke(cli_app, ["evidence", "--campaign", "cmrt-2025", str(tmp_path / "x.txt")], env=env)
    assert r.exit_code == 2
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no half pack left behind


@hsettings(max_examples=200, deadline=None)
@given(st.text(max_size=120), st.text(max_size=80), st.text(max_size=80), st.text(max_size=80))
def test_a_name_from_a_supplier_is_one_readable_path_part(name, id_a, id_b, other_name):
    part = safe_part(name)
    assert part and "/" not in part and "\\" not in part and part not in (".", "..")
    assert not part.startswith((".", " ")) and len(part) <= 60
    assert safe_part(part) == part  # stable: the same supplier gives the same folder
    folder_a = supplier_folder(Supplier(id=id_a, name=name), id_a)
    folder_b = supplier_folder(Supplier(id=id_b, name=other_name), id_b)
    assert folder_a.count("/") == 1 and ".." not in folder_a.split("/")
    assert folder_a != folder_b or id_a == id_b  # two suppliers never share a folder

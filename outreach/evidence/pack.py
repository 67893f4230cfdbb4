"""Build the auditor's evidence pack of one campaign into a file object, entry by entry.

    summary = build_pack(engine, store, "cmrt-2026", out, by="ana@acme.example", company="Acme")

The parts, in the order written: every supplier's case (files, findings, e-mails, timeline), the
campaign-wide tables, the campaign's own e-mails, the report (RCOI workbook, figures, draft), the
scorecards, the smelter reference list in use, the audit trail of the campaign with the chain's
verification, then the manifest (SHA-256 of every entry) and index.html. Entries are dated with the
campaign's creation, so the same campaign gives the same entries; only index.html, the manifest's
generation line and the audit part (which holds every pack generated before) change between two packs.
Generating the pack is itself written to the audit trail, with the pack's SHA-256.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Optional

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.columns import utcnow
from models.smelters import SmelterImport
from models.tables import Campaign, OutboxMessage, Supplier, Survey
from outreach import audit
from outreach.emails import template_environment
from outreach.evidence.archive import Archive, Spool, stable_xlsx
from outreach.evidence.cases import INDEX_ROW, Tables, dumps, row_of, when, write_case, write_emails
from outreach.storage import FileStore
from outreach.web.queries import survey_views

ACTION = "evidence.pack_generated"
MANIFEST_HEADER = ("Path", "SHA-256", "Size (bytes)")
_PAGE = 200  # surveys read per query: a year's cases are never held at once


class CampaignNotFound(LookupError):
    pass


@dataclass(frozen=True)
class PackSummary:
    campaign_id: str
    entries: int
    sha256: str          # of the whole zip, as written
    size: int
    manifest_sha256: str  # of manifest.csv
    suppliers: int
    files: int
    files_missing: int
    emails: int
    audit_entries: int
    audit_ok: bool
    audit_head: str
    generated_at: datetime


def _survey_pages(engine: Engine, campaign_id: str):
    """The campaign's (supplier ID, survey ID) in supplier order, a page at a time."""
    after = ""
    while True:
        with Session(engine) as s:
            page = s.exec(select(Survey.supplier_id, Survey.id).where(Survey.campaign_id == campaign_id,
                                                                       Survey.supplier_id > after)
                          .order_by(Survey.supplier_id).limit(_PAGE)).all()
        if not page:
            return
        yield page
        after = page[-1][0]


def _campaign_emails(engine: Engine, campaign_id: str) -> list[OutboxMessage]:
    """The campaign's own messages (its summary to compliance): no survey owns them."""
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.campaign_id == campaign_id,
                                                  OutboxMessage.survey_id.is_(None))
                      .order_by(OutboxMessage.created_at, OutboxMessage.id)).all()
    return [m for m in rows if OutboxMessage.survey_of_key(m.idempotency_key) is None]


def _write_report(archive: Archive, engine: Engine, campaign: Campaign, *, company: str, as_of: datetime) -> dict:
    """The figures, the RCOI workbook and the draft: the report's own code (outreach.reports), once."""
    from outreach.reports.figures import ReportInputError, campaign_figures
    from outreach.reports.render import render_due_diligence_draft
    from outreach.reports.workbook import rcoi_workbook

    try:
        figures = campaign_figures(engine, campaign.id, as_of=as_of)
    except ReportInputError as exc:  # no campaign row any more: said in the pack, not a failure
        archive.add_text("report/README.txt", f"No report: {exc}\n")
        return {}
    archive.add_text("report/figures.json", dumps(figures))
    archive.add_text("report/due-diligence-results.md",
                     render_due_diligence_draft(figures, company=company, year=campaign.year))
    with tempfile.TemporaryDirectory() as tmp:
        path = rcoi_workbook(figures, Path(tmp) / "rcoi.xlsx")
        archive.add_bytes("report/rcoi.xlsx", stable_xlsx(path.read_bytes(), campaign.created_at))
    return figures


def _write_scorecards(archive: Archive, engine: Engine, campaign: Campaign, *, as_of: datetime) -> int:
    from outreach.reports.workbook import SCORECARD_HEADER, scorecard_rows, scorecards_workbook
    from outreach.scorecards import scorecards_for_year

    cards = [c for c in scorecards_for_year(engine, campaign.year, as_of=as_of) if c.get("campaign_id") == campaign.id]
    spool = Spool(SCORECARD_HEADER)
    for row in scorecard_rows(cards):
        spool.add(row)
    spool.copy_into(archive, "scorecards/scorecards.csv")
    archive.add_text("scorecards/scorecards.json", dumps(cards))
    with tempfile.TemporaryDirectory() as tmp:
        path = scorecards_workbook(cards, Path(tmp) / "scorecards.xlsx", year=campaign.year)
        archive.add_bytes("scorecards/scorecards.xlsx", stable_xlsx(path.read_bytes(), campaign.created_at))
    return len(cards)


def _write_reference(archive: Archive, engine: Engine) -> dict:
    """The smelter reference list the product matches against, its fingerprint and every import of it."""
    from outreach.reports.smelters import current_reference

    ref = current_reference(engine)
    with Session(engine) as s:
        imports = s.exec(select(SmelterImport).order_by(SmelterImport.id)).all()
    spool = Spool(("CID", "Metal", "Standard smelter name", "Country", "RMAP status", "Removed", "Successor CID"))
    for sm in ref.smelters(include_removed=True):
        spool.add([sm.cid, sm.metal, sm.standard_name, sm.country, sm.rmap_status, "yes" if sm.removed else "",
                   sm.successor_cid])
    spool.copy_into(archive, "reference/smelters.csv")
    spool = Spool(("Import", "Imported (UTC)", "Kind", "Source", "Fingerprint (SHA-256)", "Published", "Complete list",
                   "Smelters in the file", "Added", "Updated", "Unchanged", "Marked removed", "Aliases added"))
    for i in imports:
        spool.add([i.id, when(i.imported_at), i.source_kind, i.source_name, i.sha256,
                   i.published.isoformat() if i.published else "", "yes" if i.complete else "no", i.smelters_in_file,
                   i.smelters_added, i.smelters_updated, i.smelters_unchanged, i.smelters_removed, i.aliases_added])
    spool.copy_into(archive, "reference/imports.csv")
    last = imports[-1] if imports else None
    version = {
        "fingerprint": ref.fingerprint(), "smelters": len(ref.smelters(include_removed=True)),
        "published": ref.published.isoformat() if ref.published else None,
        "source": ("the list imported into the database" if last else "the list shipped with the product "
                   "(cmrt/data/default_smelters.csv): no list was imported"),
        "last_import": ({"id": last.id, "imported_at": last.imported_at, "source": last.source_name,
                         "fingerprint": last.sha256} if last else None),
        "imports": len(imports),
        "note": "Files are matched against the list in use when they are checked; reference/imports.csv dates "
                "every change of the list, to compare with each file's receipt.",
    }
    archive.add_text("reference/version.json", dumps(version))
    return version


def _write_audit(archive: Archive, engine: Engine, campaign_id: str) -> tuple[audit.Verification, int]:
    """The campaign's entries, in words and with their hashes, and the whole chain's verification."""
    verification = audit.verify(engine)
    spool = Spool(audit.EXPORT_HEADER)
    for row in audit.export_rows(audit.iter_entries(engine, audit.AuditFilter(campaign_id=campaign_id))):
        spool.add([v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in row])
    count = spool.rows
    spool.copy_into(archive, "audit/audit-trail.csv")
    archive.add_text("audit/verification.json", dumps({
        "chain_holds": verification.ok, "entries_verified": verification.count,
        "head_hash": verification.last_hash, "broken_at_entry": verification.broken_at,
        "problem": verification.problem or None, "campaign_entries": count,
        "how_to_check": "`outreach audit verify` must print this head hash or a later entry's; write it "
                        "somewhere outside the product (the working papers).",
    }))
    return verification, count


def _write_manifest(archive: Archive, generated_at: datetime) -> str:
    """manifest.csv and manifest.json: every entry written so far; returns manifest.csv's SHA-256."""
    with archive.open("manifest.csv") as raw:
        raw.write((",".join(MANIFEST_HEADER) + "\r\n").encode())
        for e in archive.entries():
            path = e.path.replace('"', '""')
            raw.write(f'"{path}",{e.sha256},{e.size}\r\n'.encode("utf-8"))
    manifest_sha = next(e.sha256 for e in archive.entries() if e.path == "manifest.csv")
    with archive.open("manifest.json") as raw:
        raw.write(f'{{"generated_at": {json.dumps(generated_at.isoformat())}, "algorithm": "SHA-256", '
                  f'"files": [\n'.encode())
        first = True
        for e in archive.entries():
            if e.path == "manifest.csv":
                continue
            raw.write(((",\n" if not first else "") + json.dumps(
                {"path": e.path, "sha256": e.sha256, "size": e.size}, ensure_ascii=False)).encode("utf-8"))
            first = False
        raw.write(f'\n], "manifest_csv_sha256": "{manifest_sha}"}}\n'.encode())
    return manifest_sha


def build_pack(engine: Engine, store: FileStore, campaign_id: str, out: BinaryIO, *, by: Optional[str],
               company: str, sender: str, now: datetime | None = None) -> PackSummary:
    """Write the pack into ``out`` (never sought: a file or a pipe) and audit its generation."""
    generated_at = now or utcnow()
    with Session(engine) as s:
        campaign = s.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"There is no campaign {campaign_id}.")
    archive = Archive(out, stamp=campaign.created_at)
    tables, index_rows = Tables(), Spool(INDEX_ROW)
    for page in _survey_pages(engine, campaign_id):
        with Session(engine) as s:
            suppliers = {x.id: x for x in s.exec(select(Supplier).where(Supplier.id.in_([p[0] for p in page])))}
        for view in survey_views(engine, [survey_id for _, survey_id in page]):
            index_rows.add(write_case(archive, tables, store, view, suppliers.get(view.survey.supplier_id),
                                      sender=sender))
    campaign_mail = write_emails(archive, tables, _campaign_emails(engine, campaign_id), "campaign", sender=sender)
    files, emails, missing = tables.declarations.rows, tables.emails.rows, tables.files_missing
    tables.write_into(archive)
    archive.add_text("campaign/campaign.json", dumps(row_of(campaign)))
    figures = _write_report(archive, engine, campaign, company=company, as_of=generated_at)
    cards = _write_scorecards(archive, engine, campaign, as_of=generated_at)
    reference = _write_reference(archive, engine)
    verification, audit_count = _write_audit(archive, engine, campaign_id)
    manifest_sha = _write_manifest(archive, generated_at)

    from outreach.progress import CampaignNotFound as NoProgress, campaign_progress

    try:
        progress = campaign_progress(engine, campaign_id, overdue_limit=0, now=generated_at)
    except NoProgress:
        progress = None
    rows = index_rows.read_rows()
    next(rows)  # the header
    page = template_environment().get_template("evidence/index.html").generate(
        campaign=campaign, progress=progress, generated_at=when(generated_at), by=by or audit.PRODUCT,
        company=company, places=Tables.PLACES, cases=rows, files=files, emails=emails, missing=missing,
        campaign_mail=campaign_mail, figures=figures, cards=cards, reference=reference,
        verification=verification, audit_count=audit_count, manifest_sha=manifest_sha,
        manifest=(e for e in archive.entries() if e.path not in ("manifest.csv", "manifest.json")))
    with archive.open_text("index.html") as fh:
        for chunk in page:
            fh.write(chunk)
    entries = archive.count
    sha, size = archive.close()
    summary = PackSummary(campaign_id, entries, sha, size, manifest_sha, tables.surveys.rows, files, missing, emails,
                          audit_count, verification.ok, verification.last_hash, generated_at)
    audit.record_now(engine, actor=by, action=ACTION, object_type="campaign", object_id=campaign_id,
                     campaign_id=campaign_id, after={
                         "pack_sha256": sha, "bytes": size, "entries": entries, "manifest_sha256": manifest_sha,
                         "suppliers": summary.suppliers, "files": files, "files_missing": missing, "emails": emails,
                         "audit_chain_holds": verification.ok, "audit_head_hash": verification.last_hash})
    return summary


__all__ = ["ACTION", "CampaignNotFound", "PackSummary", "build_pack"]

"""The reference list in the database: save and load on SQLite and PostgreSQL, idempotent imports,
renamed and removed CIDs, and the fallback to the shipped list."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from cmrt.builder import CMRTBuilder, LookupRow
from cmrt.reference import ReferenceList, default_reference
from models.smelters import Smelter, SmelterAlias, SmelterImport
from outreach.db import make_engine, upgrade_database
from outreach.reference_store import import_reference_file, load_reference, save_reference, stored_reference
from tests.conftest import PG_URL, postgres_reachable

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 2, 5, 9, 0, tzinfo=timezone.utc)


def migrated_engine(url: str):
    """An engine on a database brought to the latest schema by the project's migrations."""
    upgrade_database(url)
    return make_engine(url)


@pytest.fixture(params=["sqlite", "postgres"])
def smelter_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = migrated_engine(f"sqlite:///{tmp_path / 'outreach.db'}")
        yield engine
        engine.dispose()
        return
    reason = postgres_reachable()
    if reason:
        pytest.skip(reason)
    # A schema of our own in the configured test database: other tests may use it at the same time.
    schema = f"smelters_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        in_schema = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        engine = migrated_engine(in_schema.render_as_string(hide_password=False))
        yield engine
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def template(version: str, published: str, rows: list[LookupRow]) -> bytes:
    return CMRTBuilder(version).lookup_rows(rows).revision_text(f"Revision {version}\n{published}").to_bytes()


OLD_TEMPLATE_ROWS = [
    LookupRow("Gold", "Allgemeine Gold-und Silberscheideanstalt A.G.", "Allgemeine Gold-und Silberscheideanstalt A.G.", "GERMANY", "CID000035"),
    LookupRow("Gold", "Advanced Chemical Company", "Advanced Chemical Company", "UNITED STATES OF AMERICA", "CID000015"),
    LookupRow("Tantalum", "H.C. Starck Hermsdorf GmbH", "H.C. Starck Hermsdorf GmbH", "GERMANY", "CID002547"),
    LookupRow("Tantalum", "H.C. Starck Tantalum and Niobium GmbH", "H.C. Starck Tantalum and Niobium GmbH", "GERMANY", "CID002545"),
]
NEW_TEMPLATE_ROWS = [
    LookupRow("Gold", "Agosi AG", "Agosi AG", "GERMANY", "CID000035"),
    LookupRow("Gold", "Allgemeine Gold-und Silberscheideanstalt A.G.", "Agosi AG", "GERMANY", "CID000035"),
    LookupRow("Gold", "Advanced Chemical Company", "Advanced Chemical Company", "UNITED STATES OF AMERICA", "CID000015"),
    LookupRow("Gold", "ACC Warwick", "Advanced Chemical Company", "UNITED STATES OF AMERICA", "CID000015"),
    LookupRow("Tantalum", "TANIOBIS GmbH", "TANIOBIS GmbH", "GERMANY", "CID002545"),
    LookupRow("Tantalum", "H.C. Starck Hermsdorf GmbH", "TANIOBIS GmbH", "GERMANY", "CID002545"),
    LookupRow("Tin", "Brand New Tin Smelter", "Brand New Tin Smelter", "BOLIVIA (PLURINATIONAL STATE OF)", "CID009999"),
]


def counts(engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return (len(s.exec(select(Smelter)).all()), len(s.exec(select(SmelterAlias)).all()),
                len(s.exec(select(SmelterImport)).all()))


def test_empty_database_loads_the_shipped_list(smelter_engine):
    ref = load_reference(smelter_engine)
    assert len(ref) == 333 and ref is default_reference()


def test_first_import_seeds_the_shipped_list_and_roundtrips(smelter_engine):
    data = template("6.01", "May 19, 2020", OLD_TEMPLATE_ROWS)
    result = import_reference_file(smelter_engine, data, "RMI_CMRT_6.01.xlsx", now=T0)
    assert result.kind == "cmrt_lookup" and result.published == date(2020, 5, 19)
    assert result.seeded_from_default == 333
    assert (result.added, result.smelters_in_file) == (0, 4)  # all four are on the shipped list
    assert result.aliases_added == 4

    ref = load_reference(smelter_engine)
    assert len(ref) == 333 and ref.published == date(2020, 5, 19)
    m = ref.match(metal="Gold", cid="CID000015")
    assert (m.standard_name, m.rmap_status, m.risk) == ("Advanced Chemical Company", "Conformant", "low")
    assert counts(smelter_engine) == (333, 4, 2)  # the default list is recorded as an import too
    with Session(smelter_engine) as s:
        kinds = sorted(i.source_kind for i in s.exec(select(SmelterImport)))
        assert kinds == ["cmrt_lookup", "default"]
        row = s.get(Smelter, "CID000015")
        assert row.first_seen == T0 and row.last_seen == T0 and row.first_seen.tzinfo is not None


def test_same_file_twice_changes_nothing(smelter_engine):
    data = template("6.01", "May 19, 2020", OLD_TEMPLATE_ROWS)
    import_reference_file(smelter_engine, data, "a.xlsx", now=T0)
    before = counts(smelter_engine)
    with Session(smelter_engine) as s:
        snapshot = sorted((r.cid, r.standard_name, r.rmap_status, r.removed, r.last_seen) for r in s.exec(select(Smelter)))
    again = import_reference_file(smelter_engine, data, "a-copy.xlsx", now=T1)
    assert again.already_imported and again.added == again.updated == again.aliases_added == 0
    assert counts(smelter_engine) == before
    with Session(smelter_engine) as s:
        assert sorted((r.cid, r.standard_name, r.rmap_status, r.removed, r.last_seen)
                      for r in s.exec(select(Smelter))) == snapshot


def test_newer_list_renames_and_removes_without_losing_old_cids(smelter_engine):
    import_reference_file(smelter_engine, template("6.01", "May 19, 2020", OLD_TEMPLATE_ROWS), "old.xlsx", now=T0)
    result = import_reference_file(smelter_engine, template("6.5", "April 25, 2025", NEW_TEMPLATE_ROWS), "new.xlsx", now=T1)
    assert result.added == 1  # the new tin smelter
    assert result.updated == 2  # Agosi AG and TANIOBIS GmbH renamed
    assert result.unchanged == 1
    assert result.aliases_added == 4  # Agosi AG, ACC Warwick, TANIOBIS GmbH, Brand New Tin Smelter
    # Smelters a complete, newer list lacks are marked removed, never deleted. The 2020 list
    # (gold and tantalum only) already removed the shipped gold and tantalum smelters it lacked;
    # the 2025 one adds tin (78) and the merged Hermsdorf CID.
    assert result.removed == 79
    with Session(smelter_engine) as s:
        removed = s.exec(select(Smelter).where(Smelter.removed == True)).all()  # noqa: E712
        assert len(removed) == (172 - 2) + (37 - 1) + 78

    ref = load_reference(smelter_engine)
    assert len(ref) == 334
    m = ref.match(metal="Tantalum", cid="CID002547")  # a declaration that still uses the old CID
    assert (m.cid, m.standard_name, m.match) == ("CID002545", "TANIOBIS GmbH", "cid")
    m = ref.match(metal="Gold", lookup_name="Allgemeine Gold-und Silberscheideanstalt A.G.")
    assert (m.cid, m.standard_name) == ("CID000035", "Agosi AG")
    assert ref.match(metal="Gold", lookup_name="ACC Warwick").cid == "CID000015"
    with Session(smelter_engine) as s:
        hermsdorf = s.get(Smelter, "CID002547")
        assert hermsdorf.removed and hermsdorf.successor_cid == "CID002545"
        assert hermsdorf.last_seen == T0  # not on the new list
        assert s.get(Smelter, "CID000035").last_seen == T1
        tin = s.get(Smelter, "CID009999")
        assert tin.first_seen == T1 and not tin.removed
        # The 2025 list has no tungsten: it says nothing about tungsten smelters.
        tungsten = s.exec(select(Smelter).where(Smelter.metal == "Tungsten")).all()
        assert len(tungsten) == 46 and not any(t.removed for t in tungsten)


def test_rmi_export_updates_statuses_and_keeps_aliases(smelter_engine):
    import_reference_file(smelter_engine, template("6.5", "April 25, 2025", NEW_TEMPLATE_ROWS), "new.xlsx", now=T0)
    export = ("Smelter ID,Standard Smelter Name,Metal,Country,RMAP Status\n"
              "CID000015,Advanced Chemical Company,Gold,UNITED STATES OF AMERICA,Non-Conformant\n"
              "CID009999,Brand New Tin Smelter,Tin,BOLIVIA (PLURINATIONAL STATE OF),Active\n").encode()
    result = import_reference_file(smelter_engine, export, "rmi.csv", now=T1)
    assert result.kind == "rmi_export" and (result.updated, result.added, result.removed) == (2, 0, 0)
    ref = load_reference(smelter_engine)
    m = ref.match(metal="Gold", lookup_name="ACC Warwick")  # the alias survived
    assert (m.cid, m.rmap_status, m.risk) == ("CID000015", "Non-Conformant", "high")
    assert ref.match(metal="Tin", cid="CID009999").rmap_status == "Active"


def test_csv_import_into_empty_database(smelter_engine, tmp_path):
    path = tmp_path / "ours.csv"
    path.write_text("metal,standard_smelter_name,country,smelter_id,rmap_status\n"
                    "Gold,Advanced Chemical Company,UNITED STATES OF AMERICA,CID000015,Active\n"
                    "Gold,Our Own Refinery,GHANA,CID009876,Not enrolled\n")
    result = import_reference_file(smelter_engine, path, now=T0)
    assert (result.kind, result.source_name, result.added, result.updated) == ("csv", "ours.csv", 1, 1)
    with Session(smelter_engine) as s:
        assert stored_reference(s).get("CID009876").rmap_status == "Not Enrolled"
        imp = s.exec(select(SmelterImport).where(SmelterImport.source_kind == "csv")).one()
        assert (imp.smelters_added, imp.smelters_updated, imp.smelters_in_file) == (1, 1, 2)


def test_save_inside_a_callers_session_rolls_back_with_it(smelter_engine):
    ref = ReferenceList.from_csv("metal,standard_smelter_name,country,smelter_id,rmap_status\n"
                                 "Gold,Our Own Refinery,GHANA,CID009876,Active\n")
    with Session(smelter_engine) as s:
        save_reference(s, ref, source_kind="csv", now=T0)
        assert s.get(Smelter, "CID009876") is not None
        s.rollback()
    assert counts(smelter_engine) == (0, 0, 0)


def test_load_reference_without_a_database_falls_back(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "outreach.db"
    monkeypatch.setenv("OUTREACH_DATABASE_URL", f"sqlite:///{missing}")
    assert load_reference() is default_reference()
    assert not missing.exists()  # checking a CMRT never creates a database
    # A database without the smelter tables (not migrated yet) falls back too.
    other = tmp_path / "bare.db"
    make_engine(f"sqlite:///{other}").dispose()
    with make_engine(f"sqlite:///{other}").begin() as conn:
        conn.execute(text("CREATE TABLE unrelated (id INTEGER)"))
    monkeypatch.setenv("OUTREACH_DATABASE_URL", f"sqlite:///{other}")
    assert load_reference() is default_reference()


def test_load_reference_reads_the_configured_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'configured.db'}"
    engine = migrated_engine(url)
    import_reference_file(engine, template("6.5", "April 25, 2025", NEW_TEMPLATE_ROWS), "new.xlsx", now=T0)
    engine.dispose()
    monkeypatch.setenv("OUTREACH_DATABASE_URL", url)
    ref = load_reference()
    assert ref.match(metal="Gold", lookup_name="ACC Warwick").cid == "CID000015"
    assert ref.published == date(2025, 4, 25)


def test_concurrent_imports_of_the_same_new_list_store_it_once(smelter_engine):
    """Two people import the same file at once: one import, no duplicate smelters, no crash."""
    from concurrent.futures import ThreadPoolExecutor

    data = template("6.5", "April 25, 2025", NEW_TEMPLATE_ROWS)

    def one(_):
        return import_reference_file(smelter_engine, data, "new.xlsx", now=T0)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, range(2)))
    assert sorted(r.already_imported for r in results) == [False, True]
    # 7 look-up names + the old standard name of the renamed CID002545; the default list + this import
    assert counts(smelter_engine) == (334, 8, 2)


def test_loaded_list_is_reused_until_the_next_import(smelter_engine):
    import_reference_file(smelter_engine, template("6.01", "May 19, 2020", OLD_TEMPLATE_ROWS), "old.xlsx", now=T0)
    first = load_reference(smelter_engine)
    assert load_reference(smelter_engine) is first  # no second read
    assert first.match(metal="Gold", lookup_name="ACC Warwick").cid is None
    import_reference_file(smelter_engine, template("6.5", "April 25, 2025", NEW_TEMPLATE_ROWS), "new.xlsx", now=T1)
    second = load_reference(smelter_engine)
    assert second is not first
    assert second.match(metal="Gold", lookup_name="ACC Warwick").cid == "CID000015"

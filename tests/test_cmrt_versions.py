"""Template versions as data (cmrt/data/cmrt-*.json, emrt-*.json, loaded by cmrt.maps): every map is
complete, the 6.x maps agree with the cell map read from the official templates, CMRT 6.6 and EMRT 2.0
read with maps of their own, a newer minor version is read with the nearest map and says so, a newer
major version is refused."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cmrt
from cmrt import maps
from cmrt.builder import NOT_IDENTIFIED, NOT_LISTED, CMRTBuilder, valid_builder, valid_emrt_builder

SHARED = Path(__file__).resolve().parents[2] / "shared" / "cmrt"
TODAY = date(2026, 6, 1)
OFFICIAL_CMRT = ["6.01", "6.1", "6.22", "6.31", "6.4", "6.5"]


def check(data: bytes, **kw) -> cmrt.CheckResult:
    return cmrt.check(data, today=TODAY, **kw)


# -- the maps themselves ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", maps.KINDS)
def test_every_map_is_complete_and_names_its_own_version(kind: str) -> None:
    versions = maps.known_versions(kind)
    assert versions, f"no {kind} map in {maps.DATA}"
    newest = maps.template_map(kind, versions[-1])
    required = {k for k in newest if not k.startswith("_")}
    for version in versions:
        tm = maps.template_map(kind, version)
        assert (tm["kind"], tm["version"]) == (kind, version)
        assert required <= set(tm), f"{kind} {version} lacks {sorted(required - set(tm))}"
        assert set(tm["checker"]) >= {k for k in newest["checker"] if not k.startswith("_")}


def test_known_versions_sort_as_versions_not_text() -> None:
    assert maps.known_versions("CMRT") == ("6.01", "6.1", "6.22", "6.31", "6.4", "6.5", "6.6")
    assert maps.known_versions("EMRT") == ("2.0", "2.1")


def test_a_map_saying_another_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cmrt-6.9.json").write_text(json.dumps({"kind": "CMRT", "version": "6.8"}))
    monkeypatch.setattr(maps, "DATA", tmp_path)
    maps.template_map.cache_clear()
    try:
        with pytest.raises(ValueError, match="6.8"):
            maps.template_map("CMRT", "6.9")
    finally:
        monkeypatch.undo()
        maps.template_map.cache_clear()


def test_6x_maps_agree_with_the_cell_map_read_from_the_official_templates() -> None:
    path = SHARED / "cellmap-6x.json"
    if not path.is_file():
        pytest.skip(f"the cell map read from the RMI templates is not present at {path}")
    shared = json.loads(path.read_text())
    for version in shared["applies_to"]:
        tm = maps.template_map("CMRT", version)
        for name, ref in shared["declaration"].items():
            ours = {"declaration_scope": "scope"}.get(name, name)
            if ours in tm["declaration"]:
                assert tm["declaration"][ours] == ref, (version, name)
        for q, per_metal in shared["questions"].items():
            for i, metal in enumerate(tm["metals"]):
                row = tm["questions"][q]["first_row"] + i
                assert per_metal[metal] == {"answer": f"D{row}", "comment": f"G{row}"}, (version, q, metal)


# -- official templates: each read with its own map -------------------------------------------------
@pytest.mark.parametrize("version", OFFICIAL_CMRT)
def test_official_template_reads_with_its_own_map(version: str) -> None:
    path = SHARED / "templates" / f"RMI_CMRT_{version}.xlsx"
    if not path.is_file():
        pytest.skip(f"{path.name} not present in {path.parent}")
    result = cmrt.check(path)
    assert result.template.version == version and maps.map_for("CMRT", version).fit == "own"
    assert not {"template_version_unmapped", "template_version_unsupported"} & set(result.codes())


# -- CMRT 6.6 ---------------------------------------------------------------------------------------
def test_66_map_is_65_with_the_revision_notes_changes() -> None:
    m65, m66 = maps.template_map("CMRT", "6.5"), maps.template_map("CMRT", "6.6")
    assert m66["declaration"] == m65["declaration"] and m66["questions"] == m65["questions"]
    assert m65["checker"]["unlisted_smelter_needs"] == ["D", "E"] and m66["checker"]["unlisted_smelter_needs"] == ["D"]
    assert list(m66["product_list"]["columns"].values()) == ["number", "name", "requester_number", "requester_name",
                                                            "comments"]
    assert m66["smelter_list"]["not_identified_rows"]["Tungsten"] == ""


def test_66_workbook_reads_with_its_own_map_and_the_requester_columns() -> None:
    b = valid_builder(version="6.6", scope="B. Product (or List of Products)")
    b._products.clear()  # instead of the default product
    b.product("P-100", name="Widget", requester_number="C-9", requester_name="Customer widget", comments="new")
    wb = b.build()
    assert wb["Product List"]["D5"].value == "Requester's Product Number"  # the 6.6 layout
    result = check(b.to_bytes())
    assert result.template.version == "6.6" and result.verdict == "valid" and result.findings == []
    assert [(p.row, p.number, p.name, p.requester_number, p.requester_name, p.comments) for p in result.products] == [
        (6, "P-100", "Widget", "C-9", "Customer widget", "new")]
    assert result.to_json_dict()["products"][0]["requester_number"] == "C-9"


def test_65_product_list_has_no_requester_columns() -> None:
    with pytest.raises(ValueError, match="requester_number"):
        CMRTBuilder("6.5").product("P-1", requester_number="C-1")
    # column D of a 6.5 Product List is the comment, and the JSON keeps its 6.5 shape
    b = valid_builder(scope="B. Product (or List of Products)")
    b._products.clear()
    result = check(b.product("P-1", "W", "note").to_bytes())
    assert [(p.number, p.comments, p.requester_number) for p in result.products] == [("P-1", "note", None)]
    assert "requester_number" not in result.to_json_dict()["products"][0]


@pytest.mark.parametrize("cached_values", [True, False])
def test_66_tungsten_not_yet_identified_without_a_country_is_complete(cached_values: bool) -> None:
    smelters = [{"metal": "Tantalum", "lookup_name": "Asaka Riken Co., Ltd."}, {"metal": "Tin", "lookup_name": "Dowa"},
                {"metal": "Gold", "lookup_name": "Advanced Chemical Company"},
                {"metal": "Tungsten", "lookup_name": NOT_IDENTIFIED}]
    b = valid_builder(smelters=smelters, version="6.6", cached_values=cached_values).template_lookup_rows()
    # not all smelters identified, so whether any sources from the covered countries is not known
    b.answer("Q7", "Tungsten", "No").answer("Q3", "Tungsten", "Unknown")
    result = check(b.to_bytes())
    tungsten = [s for s in result.smelters if s.metal == "Tungsten"]
    assert [(s.lookup_name, s.country) for s in tungsten] == [(NOT_IDENTIFIED, None)]
    assert result.verdict == "valid" and result.checker_remaining == 0
    assert result.codes() == ["smelter_not_identified"]


def test_unlisted_smelter_rule_follows_the_workbooks_version() -> None:
    """The same 'Smelter not listed' row without a country: 6.5's Checker counts it, 6.6's does not (a warning)."""
    row = {"metal": "Tin", "lookup_name": NOT_LISTED, "name": "Qwxz Zzyzx Foundry"}

    def with_row(version: str) -> cmrt.CheckResult:
        b = valid_builder(version=version)
        return check(b.smelter(**row).to_bytes())

    r65, r66 = with_row("6.5"), with_row("6.6")
    assert r65.checker_remaining == 1 and "unlisted_smelter_incomplete" in r65.codes() and r65.verdict == "invalid"
    assert r66.checker_remaining == 0 and "unlisted_smelter_country_missing" in r66.codes()
    assert r66.verdict == "valid"
    unnamed = check(valid_builder(version="6.6").smelter(metal="Tin", lookup_name=NOT_LISTED, country="PERU").to_bytes())
    assert [(f.code, f.cell) for f in unnamed.errors] == [("unlisted_smelter_unnamed", "D9")]
    assert unnamed.checker_remaining == 1


# -- unknown versions -------------------------------------------------------------------------------
def test_newer_minor_cmrt_is_read_with_the_nearest_map_and_says_so() -> None:
    b = valid_builder(version="6.7")
    result = check(b.to_bytes())
    assert result.template.version == "6.7" and result.verdict == "valid"
    assert [(f.code, f.severity, f.cell) for f in result.findings] == [("template_version_unmapped", "info", "J3")]
    assert result.findings[0].params["used"] == "6.6" and "6.7" in result.findings[0].message
    # read in full, as a 6.6 is
    same = check(valid_builder(version="6.6").to_bytes())
    assert result.declaration == same.declaration and result.questions == same.questions
    assert result.checker_remaining == same.checker_remaining == 0


@pytest.mark.parametrize("version", ["7.0", "7.1", "10.0"])
def test_newer_major_cmrt_is_refused_not_misread(version: str) -> None:
    result = check(valid_builder(version=version).to_bytes())
    assert result.verdict == "invalid" and result.codes() == ["template_version_unsupported"]
    assert result.checker_remaining is None and result.declaration.company_name is None
    assert version in result.findings[0].message


def test_emrt_20_reads_with_its_own_map() -> None:
    result = check(valid_emrt_builder(version="2.0").to_bytes(), expected_kind="EMRT")
    assert result.template.version == "2.0" and maps.map_for("EMRT", "2.0").fit == "own"
    assert result.verdict == "valid" and result.checker_remaining == 0
    assert result.codes() == ["emrt_old_version"] and result.minerals_selected == ["Cobalt", "Mica"]
    assert [m.mine_name for m in result.mines] == ["Example Cobalt Mine", "Example Mica Mine"]
    missing = check(valid_emrt_builder(version="2.0").company(contact_phone=None).to_bytes(), expected_kind="EMRT")
    assert [(f.code, f.cell) for f in missing.errors] == [("missing_contact_phone", "D21")]


def test_emrt_products_keep_the_requester_columns() -> None:
    b = valid_emrt_builder(version="2.1").product("P-1", "Widget", requester_number="C-1", requester_name="Theirs")
    result = check(b.to_bytes(), expected_kind="EMRT")
    assert [(p.number, p.name, p.requester_number, p.requester_name) for p in result.products] == [
        ("P-1", "Widget", "C-1", "Theirs")]


def test_newer_minor_emrt_says_so_and_newer_major_is_refused() -> None:
    newer = check(valid_emrt_builder().cell("Declaration", "J3", "Revision 2.2").to_bytes(), expected_kind="EMRT")
    assert [(f.code, f.severity) for f in newer.findings] == [("template_version_unmapped", "info")]
    assert newer.findings[0].params == {"kind": "EMRT", "version": "2.2", "used": "2.1"}
    assert newer.verdict == "valid" and newer.checker_remaining == 0
    major = check(valid_emrt_builder().cell("Declaration", "J3", "Revision 3.0").to_bytes(), expected_kind="EMRT")
    assert major.codes() == ["template_version_unsupported"] and major.checker_remaining is None
    assert major.verdict == "invalid"


_minor = st.integers(min_value=0, max_value=99).map(str)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(maps.KINDS), major=st.integers(min_value=0, max_value=12), minor=_minor)
def test_every_version_gets_one_map_of_its_kind_and_a_newer_major_is_never_read(kind: str, major: int,
                                                                               minor: str) -> None:
    """The rule both templates share: a version is read with its own map, else the nearest map of its
    major version not newer than it (else that major's oldest), else the newest map; a newer major is refused."""
    version = f"{major}.{minor}"
    choice = maps.map_for(kind, version)
    known = maps.known_versions(kind)
    vt = maps.version_tuple(version)
    assert choice.map["kind"] == kind and choice.version in known
    if version in known:
        assert choice.fit == "own" and choice.version == version
    elif major > maps.version_tuple(known[-1])[0]:
        assert choice.fit == "newer_major"
    elif any(maps.version_tuple(v)[0] == major for v in known):
        assert choice.fit == "nearest" and maps.version_tuple(choice.version)[0] == major
        below = [v for v in known if maps.version_tuple(v)[0] == major and maps.version_tuple(v) <= vt]
        assert choice.version == (below[-1] if below else min(
            (v for v in known if maps.version_tuple(v)[0] == major), key=maps.version_tuple))
    else:
        assert choice.fit == "other_major" and choice.version == known[-1]


@settings(max_examples=25, deadline=None)
@given(major=st.sampled_from([6, 7, 8]), minor=st.sampled_from(["0", "5", "6", "7", "66", "9"]))
def test_check_of_any_6x_or_newer_revision_never_misreads(major: int, minor: str) -> None:
    version = f"{major}.{minor}"
    result = check(valid_builder().revision_text(f"Revision {version}\nJanuary 1, 2027").to_bytes())
    assert result.template.version == version
    if major > 6:
        assert result.codes() == ["template_version_unsupported"] and result.checker_remaining is None
    else:
        assert result.checker_remaining == 0 and result.declaration.company_name == "Acme Components Ltd."
        unmapped = version not in maps.known_versions("CMRT") and maps.version_tuple(version) > (6, 0.5)
        assert ("template_version_unmapped" in result.codes()) == unmapped

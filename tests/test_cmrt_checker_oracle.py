"""The Checker count, against a literal, row-by-row transcription of the template's Checker formulas
(../shared/cmrt/checker-formulas-6.5.txt) on thousands of seeded random declarations.

cmrt.rules.checker is written per field with Excel semantics; the oracle below follows the sheet
instead: column B as the formulas define it (a reference to a blank cell is 0), F "necessary",
G "incomplete", H = F*G, D2 = SUM(H). Both must agree on every input.

Files saved without cached formula values (written by a program, not Excel): the Smelter List's B, C
(from the CID typed in A) and E (the country of a look-up name) are formulas the oracle evaluates the
way Excel does on recalculation (the template's B5, C5, E5 and V5, transcribed below); the reader sees
those cells blank. The checker must count what Excel would. The random values avoid what the reader
trims and Excel does not (a metal or name padded with spaces beside a formula): the value_spacing
findings are about those.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

import cmrt
from cmrt.builder import SAMPLE_SMELTERS, CMRTBuilder
from cmrt.reader import LookupIndex, Sheet, derive_from_lookup, formula_values, needs_derivation, read_smelters
from cmrt.rules import CHECKER_CODES, checker

P9, Q9 = "A. Company", "B. Product (or List of Products)"
METALS = ("Tantalum", "Tin", "Gold", "Tungsten")


class Blank:
    """An empty cell (calamine's '')."""


BLANK = Blank()


class Formula:
    """A template formula saved without a cached value (the reader sees a blank cell)."""


FORMULA = Formula()


class Err:
    """An Excel error value (#N/A): not text, not counted by COUNTIF, and it spreads through &."""


ERR = Err()


def cell(v: Any) -> Any:
    return BLANK if v == "" or v is None else v


def ref(v: Any) -> Any:
    """=Sheet!X1 on a blank cell gives 0."""
    v = cell(v)
    return 0 if v is BLANK else v


def eq(a: Any, b: Any) -> bool:
    """Excel's = : text without case, numbers by value, blank equals 0 and "", types never mix."""
    if a is BLANK:
        a = 0 if isinstance(b, (int, float)) and not isinstance(b, bool) else ""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return False


def text(v: Any) -> str:
    if v is BLANK:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def countif(values: list[Any], criterion: str) -> int:
    pattern = "^" + "".join(".+" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in criterion) + "$"
    rx = re.compile(pattern.replace(".+", ".*"), re.I | re.S)
    return sum(1 for v in values if isinstance(v, str) and rx.match(v))


# The Smelter Look-up sheet: A metal, B look-up name, C standard name, D country, E CID; J = A&B.
LOOKUP = [(r.metal, r.lookup_name, r.standard_name, r.country, r.cid) for r in SAMPLE_SMELTERS]


def xl_match(value: Any, column: list[Any]) -> int | None:
    """MATCH(value, column, 0): the first equal cell (text without case); an error matches nothing."""
    if value is ERR:
        return None
    value = cell(value)
    for i, v in enumerate(column):
        if eq(value if value is not BLANK else "", v):
            return i
    return None


def concat(*values: Any) -> Any:
    return ERR if any(v is ERR for v in values) else "".join(text(cell(v)) for v in values)


def recalculate(smelter_rows: list[list[Any]], lookup: list[tuple[str, ...]]) -> list[list[Any]]:
    """The Smelter List as Excel shows it after recalculation: FORMULA cells in B, C, E evaluated."""
    col = {k: [row[i] for row in lookup] for i, k in enumerate("ABCDE")}
    col["J"] = [row[0] + row[1] for row in lookup]
    out = []
    for raw in smelter_rows:
        row = list(raw) + [""] * (6 - len(raw))
        a = cell(row[0])
        for k, i in (("A", 1), ("C", 2)):  # B5 / C5 =IF(LEN(A5)=0,"",INDEX(Look-up!A|C, MATCH($A5, Look-up!E, 0)))
            if row[i] is FORMULA:
                hit = xl_match(a, col["E"])
                row[i] = "" if text(a) == "" else (col[k][hit] if hit is not None else ERR)
        if row[4] is FORMULA:  # E5 =IF(ISERROR($V5),"",OFFSET(Look-up!D4, V5-4, 0)&"")
            b, c, d = row[1], row[2], row[3]
            if c is ERR:
                v = None
            elif eq(cell(c), ""):
                v = None  # NA()
            elif eq(cell(c), "Smelter not listed") or eq(cell(c), "Smelter not yet identified"):
                v = xl_match(concat(b, d), col["J"])
            else:
                v = xl_match(concat(b, c), col["J"])
            row[4] = "" if v is None else col["D"][v]
        out.append(row)
    return out


def oracle(decl_rows: list[list[Any]], smelter_rows: list[list[Any]], product_b6: Any,
           lookup: list[tuple[str, ...]] | None = None) -> int:
    smelter_rows = recalculate(smelter_rows, lookup or LOOKUP)

    def D(r: str) -> Any:
        col = ord(r[0]) - 65
        row = int(r[1:])
        return decl_rows[row - 1][col] if row - 1 < len(decl_rows) and col < len(decl_rows[row - 1]) else ""

    B: dict[int, Any] = {}
    F: dict[int, Any] = {}
    G: dict[int, Any] = {}
    for row, r in zip((4, 5, 6, 7, 8, 9, 10, 11, 12), ("D8", "D9", "D10", "D15", "D16", "D17", "D18", "D20", "D22")):
        B[row] = ref(D(r))
    for row in (4, 5, 7, 8, 9, 10, 11, 12):
        F[row] = 1
    F[6] = 0 if (eq(B[5], P9) or eq(B[5], Q9) or eq(B[5], 0)) else 1
    for row in (4, 5, 6, 7, 9, 10, 12):
        G[row] = 1 if eq(B[row], 0) else 0
    for row in (8, 11):
        G[row] = 0 if "@" in text(B[row]) else 1
    for i in range(4):
        B[14 + i] = ref(D(f"D{26 + i}"))
        F[14 + i] = 1
        G[14 + i] = 1 if eq(B[14 + i], 0) else 0
        B[19 + i] = ref(D(f"D{32 + i}")) if eq(B[14 + i], "Yes") else 0
        F[19 + i] = 0 if eq(B[14 + i], "No") else 1
        G[19 + i] = 1 if eq(B[19 + i], 0) else 0
    for block, first in ((24, 38), (29, 44), (34, 50), (39, 56), (44, 62), (49, 68)):
        for i in range(4):
            row = block + i
            yes = eq(B[14 + i], "Yes") and eq(B[19 + i], "Yes")
            B[row] = ref(D(f"D{first + i}")) if yes else 0
            F[row] = 0 if (eq(B[14 + i], "No") or eq(B[19 + i], "No")) else 1  # F24..F27; later blocks =F24..
            G[row] = 1 if eq(B[row], 0) else 0
    F54 = 0 if sum(F[24 + i] for i in range(4)) == 0 else 1
    for row, r in zip((54, 55, 57, 58, 59, 60, 62, 63), ("D75", "D77", "D79", "D81", "D83", "D85", "D87", "D89")):
        B[row] = ref(D(r))
        F[row] = F54
        G[row] = 1 if eq(B[row], 0) else 0
    B[56] = ref(D("G77"))
    F[56] = 1 if (F[55] == 1 and eq(B[55], "Yes")) else 0
    G[56] = 0 if len(text(B[56])) > 1 else 1
    F[64] = 1 if eq(B[5], Q9) else 0
    G[64] = 1 if eq(cell(product_b6), "") else 0
    col_b = [cell(r[1]) if len(r) > 1 else BLANK for r in smelter_rows[4:2504]]
    col_ab = [concat(r[1] if len(r) > 1 else "", r[2] if len(r) > 2 else "") for r in smelter_rows[4:2504]]
    for i, metal in enumerate(METALS):
        F[65 + i] = F[24 + i]
        G[65 + i] = 0 if (countif(col_b, metal) > 0 and countif(col_ab, metal + "?*") > 0) else 1
    col_c = [cell(r[2]) if len(r) > 2 else BLANK for r in smelter_rows]
    F[69] = 0 if countif(col_c, "Smelter not listed") == 0 else 1
    missing_d = sum(1 for r, c in zip(smelter_rows, col_c) if eq(c, "Smelter not listed")
                    and eq(cell(r[3]) if len(r) > 3 else BLANK, ""))
    missing_e = sum(1 for r, c in zip(smelter_rows, col_c) if eq(c, "Smelter not listed")
                    and eq(cell(r[4]) if len(r) > 4 else BLANK, ""))
    G[69] = 1 if (missing_d > 0 or missing_e > 0) else 0
    return sum(F[r] * G[r] for r in F)


ANSWERS = ["", "Yes", "yes", "YES", "No", "no", "No ", "Unknown", "Maybe", 0, 1, 0.0, "0", True, "100%",
           "Greater than 90%"]
FIELDS = ["", "", "Acme", " ", "0", 0, 5, 12.0, "x", "a@b", "@", "jane@acme.com", "jane(at)acme", True]
SCOPES = ["", P9, Q9, "a. company", "b. product (or list of products)", "C. User defined [Specify in 'Description of scope']",
          "Company", 0]
METAL_VALUES = ["", "Tantalum", "tin", "GOLD", "Tungsten ", "Tungstenx", "Cobalt", 0, 1]
LOOKUPS = ["", "Dowa", "Smelter not listed", "smelter NOT listed", "Smelter not listed ", "Smelter not yet identified", 0]


def random_case(rng: random.Random) -> tuple[list[list[Any]], list[list[Any]], Any]:
    decl = [["" for _ in range(8)] for _ in range(90)]

    def put(ref_: str, value: Any) -> None:
        decl[int(ref_[1:]) - 1][ord(ref_[0]) - 65] = value

    for r in ("D8", "D10", "D15", "D16", "D17", "D18", "D20", "D22", "G77"):
        put(r, rng.choice(FIELDS))
    put("D9", rng.choice(SCOPES))
    bias = rng.random()  # some declarations mostly complete, some mostly empty
    for first in (26, 32, 38, 44, 50, 56, 62, 68):
        for i in range(4):
            put(f"D{first + i}", rng.choice(["Yes", "Yes", "No"]) if rng.random() < bias else rng.choice(ANSWERS))
    for r in (75, 77, 79, 81, 83, 85, 87, 89):
        put(f"D{r}", rng.choice(ANSWERS))
    smelters = [["" for _ in range(6)] for _ in range(4)]
    for _ in range(rng.randint(0, 8)):
        smelters.append(["", rng.choice(METAL_VALUES), rng.choice(LOOKUPS), rng.choice(["", "Foo", 0]),
                         rng.choice(["", "PERU", 0]), ""])
    product_b6 = rng.choice(["", "P-1", 0, "0"])
    return decl, smelters, product_b6


@pytest.mark.parametrize("block", range(10))
def test_checker_agrees_with_the_formulas(block: int) -> None:
    for seed in range(block * 300, block * 300 + 300):
        decl_rows, smelter_rows, product_b6 = random_case(random.Random(seed))
        products = [["", "", "", ""] for _ in range(5)] + [["", product_b6, "", ""]]
        found = checker(Sheet("Declaration", decl_rows), Sheet("Smelter List", smelter_rows), Sheet("Product List", products))
        assert all(f.code in CHECKER_CODES for f in found)
        assert len(found) == oracle(decl_rows, smelter_rows, product_b6), f"seed {seed}"


def test_oracle_on_a_blank_form_is_52() -> None:
    assert oracle([[""] * 8 for _ in range(90)], [], "") == 52


# -- files saved without cached values -----------------------------------------------------------
CIDS = ["CID000092", "cid000402", "CID000015", "CID000004", "CID003387", "CID999999", "CID12", 0, "Dowa"]
NAMES = ["", "Foo", 0, "Dowa", "Luna Smelter", "Asaka Riken Co., Ltd."]
PLAIN_METALS = ["", "Tantalum", "tin", "Tin", "GOLD", "Tungsten", "Cobalt", 0]


def random_uncached_rows(rng: random.Random) -> list[list[Any]]:
    """Smelter rows as a program writes them into the template: a CID in A (B and C left to their
    formulas, or typed over), or metal and look-up typed with A empty; E typed or left to its formula.

    A blank cell where the template has a formula (B and C beside a CID, E) is taken to hold that
    formula: without cached values a reader cannot tell it from a cell whose formula was deleted, and
    programs fill the template's input cells, not its formula cells."""
    rows: list[list[Any]] = [["" for _ in range(6)] for _ in range(4)]
    for _ in range(rng.randint(0, 8)):
        if rng.random() < 0.5:
            b = FORMULA if rng.random() < 0.8 else rng.choice(PLAIN_METALS[1:])
            c = FORMULA if rng.random() < 0.8 else rng.choice(LOOKUPS[1:3])
            rows.append([rng.choice(CIDS), b, c, rng.choice(NAMES), rng.choice([FORMULA, FORMULA, "PERU"]), ""])
        else:
            rows.append(["", rng.choice(PLAIN_METALS), rng.choice(LOOKUPS), rng.choice(NAMES),
                         rng.choice([FORMULA, FORMULA, "PERU"]), ""])
    return rows


def as_read(rows: list[list[Any]]) -> list[list[Any]]:
    """What the reader sees: a formula without a cached value is a blank cell."""
    return [["" if v is FORMULA else v for v in r] for r in rows]


def checker_on_uncached(decl_rows: list[list[Any]], smelter_rows: list[list[Any]], products: list[list[Any]]) -> int:
    """cmrt.check's path without a workbook: read the rows, derive what the formulas did not cache from
    the file's own Look-up, and count."""
    sheet = Sheet("Smelter List", as_read(smelter_rows))
    rows = read_smelters(sheet)
    formulas = None
    if needs_derivation(rows):
        derive_from_lookup(rows, LookupIndex.build([dict(zip(("metal", "lookup_name", "standard_name", "country", "cid",
                                                                 "source"), (*r, "RMI"))) for r in LOOKUP]))
        formulas = formula_values(rows)
    found = checker(Sheet("Declaration", decl_rows), sheet, Sheet("Product List", products), formulas)
    assert all(f.code in CHECKER_CODES for f in found)
    return len(found)


@pytest.mark.parametrize("block", range(10))
def test_checker_agrees_with_the_formulas_on_files_without_cached_values(block: int) -> None:
    for seed in range(block * 300, block * 300 + 300):
        rng = random.Random(10_000 + seed)
        decl_rows, _, product_b6 = random_case(rng)
        smelter_rows = random_uncached_rows(rng)
        products = [["", "", "", ""] for _ in range(5)] + [["", product_b6, "", ""]]
        assert checker_on_uncached(decl_rows, smelter_rows, products) == oracle(decl_rows, smelter_rows, product_b6), \
            f"seed {seed}"


def _complete_declaration(rng: random.Random) -> CMRTBuilder:
    """A declaration complete but for its smelters, some metals out of scope, no cached values."""
    b = CMRTBuilder(cached_values=False).company(
        name="Acme", scope="A. Company", contact_name="Jo", contact_email="jo@acme.example", contact_phone="1",
        authorizer="Al", authorizer_email="al@acme.example", effective_date="15-Jan-2025").answers_all("Yes")
    for metal in METALS:
        if rng.random() < 0.25:
            b.answer("Q1", metal, "No").answer("Q2", metal, None)
    return b


@pytest.mark.parametrize("block", range(4))
def test_check_counts_like_excel_on_workbooks_written_without_cached_values(block: int) -> None:
    """End to end through cmrt.check on workbooks the builder writes with the template's formulas and no
    cached values, CIDs in column A or names in the Look-up column; the reference list left out (Excel
    knows only the file's own Look-up)."""
    from cmrt.reference import ReferenceList

    for seed in range(block * 40, block * 40 + 40):
        rng = random.Random(50_000 + seed)
        b = _complete_declaration(rng)
        rows: list[list[Any]] = [["" for _ in range(6)] for _ in range(4)]
        for _ in range(rng.randint(0, 6)):
            if rng.random() < 0.5:
                cid = rng.choice(CIDS)
                b.smelter(cid_input=cid)
                rows.append([cid, FORMULA, FORMULA, "", FORMULA, ""])
            else:
                metal, lookup, name = rng.choice(PLAIN_METALS[1:]), rng.choice(LOOKUPS[:3] + LOOKUPS[5:6]), rng.choice(NAMES)
                b.smelter(metal=metal, lookup_name=lookup, name=name or None)
                rows.append(["", metal, lookup, name, FORMULA, ""])
        decl = [["" for _ in range(8)] for _ in range(90)]
        for ref_, value in {"D8": "Acme", "D9": "A. Company", "D15": "Jo", "D16": "jo@acme.example", "D17": "1",
                            "D18": "Al", "D20": "al@acme.example", "D22": "15-Jan-2025"}.items():
            decl[int(ref_[1:]) - 1][3] = value
        for q, first in (("Q1", 26), ("Q2", 32), ("Q3", 38), ("Q4", 44), ("Q5", 50), ("Q6", 56), ("Q7", 62), ("Q8", 68)):
            for i, metal in enumerate(METALS):
                value = b._answers.get((q, metal))
                decl[first - 1 + i][3] = "" if value is None else value
        for letter, row in zip("ABCDEFGH", (75, 77, 79, 81, 83, 85, 87, 89)):
            decl[row - 1][3] = b._company_answers[letter]
        decl[76][6] = b._company_comments["B"]
        result = cmrt.check(b.to_bytes(), reference=ReferenceList())
        assert result.checker_remaining == oracle(decl, rows, ""), f"seed {seed}: {result.codes()}"


def test_a_cid_typed_in_column_a_counts_for_its_metal_without_cached_values() -> None:
    """The field report: a Tantalum row with a valid CID in A, B and C left to their formulas."""
    b = _complete_declaration(random.Random(0))
    for metal in METALS:
        b.answer("Q1", metal, "Yes").answer("Q2", metal, "Yes")
    for cid in ("CID000092", "CID000402", "CID000015", "CID000004"):
        b.smelter(cid_input=cid)
    result = cmrt.check(b.to_bytes())
    assert "missing_smelters" not in result.codes() and result.checker_remaining == 0
    assert [(s.metal, s.cid) for s in result.smelters] == [
        ("Tantalum", "CID000092"), ("Tin", "CID000402"), ("Gold", "CID000015"), ("Tungsten", "CID000004")]
    assert result.verdict == "valid"
    # the same rows written by Excel (cached values) count the same
    b.cached_values = True
    cached = cmrt.check(b.to_bytes())
    assert cached.checker_remaining == 0 and [(s.metal, s.cid) for s in cached.smelters] == [
        (s.metal, s.cid) for s in result.smelters]


def test_a_cid_the_files_look_up_lacks_is_resolved_from_the_reference_list() -> None:
    """A CID newer than the supplier's template (not on its Smelter Look-up) still names a smelter: the
    reference list resolves it, and the row counts for its metal. (Excel itself shows #N/A there.)"""
    b = _complete_declaration(random.Random(0))
    for metal in METALS:
        b.answer("Q1", metal, "Yes").answer("Q2", metal, "Yes")
    b.lookup_rows([r for r in SAMPLE_SMELTERS if r.metal != "Tin"])
    for cid in ("CID000092", "CID000402", "CID000015", "CID000004"):
        b.smelter(cid_input=cid)
    result = cmrt.check(b.to_bytes())
    assert "missing_smelters" not in result.codes(), result.codes()
    assert any(s.metal == "Tin" and s.cid == "CID000402" for s in result.smelters)
    # an unknown CID names no smelter: Tin is missing, as in Excel
    b._smelters = [s for s in b._smelters if s["cid_input"] != "CID000402"] + [{"cid_input": "CID999999"}]
    result = cmrt.check(b.to_bytes())
    assert [f.params["metal"] for f in result.findings if f.code == "missing_smelters"] == ["Tin"]


def test_a_not_listed_smelter_named_like_a_look_up_name_gets_its_country_from_the_formula() -> None:
    b = _complete_declaration(random.Random(0))
    for metal in METALS:
        b.answer("Q1", metal, "Yes").answer("Q2", metal, "Yes")
    b.smelters([{"metal": "Tantalum", "lookup_name": "Asaka Riken Co., Ltd."}, {"metal": "Gold", "lookup_name": "Advanced Chemical Company"},
                {"metal": "Tungsten", "lookup_name": "A.L.M.T. Corp."},
                {"metal": "Tin", "lookup_name": "Smelter not listed", "name": "Dowa"}])  # E is its formula: JAPAN
    assert cmrt.check(b.to_bytes()).checker_remaining == 0
    b._smelters[-1]["name"] = "Foo Tin Works"  # not a look-up name: E stays empty, the Checker counts the row
    assert "unlisted_smelter_incomplete" in cmrt.check(b.to_bytes()).codes()

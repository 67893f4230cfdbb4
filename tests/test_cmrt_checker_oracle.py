"""The Checker count, against a literal, row-by-row transcription of the template's Checker formulas
(../shared/cmrt/checker-formulas-6.5.txt) on thousands of seeded random declarations.

cmrt.rules.checker is written per field with Excel semantics; the oracle below follows the sheet
instead: column B as the formulas define it (a reference to a blank cell is 0), F "necessary",
G "incomplete", H = F*G, D2 = SUM(H). Both must agree on every input.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from cmrt.reader import Sheet
from cmrt.rules import CHECKER_CODES, checker

P9, Q9 = "A. Company", "B. Product (or List of Products)"
METALS = ("Tantalum", "Tin", "Gold", "Tungsten")


class Blank:
    """An empty cell (calamine's '')."""


BLANK = Blank()


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


def oracle(decl_rows: list[list[Any]], smelter_rows: list[list[Any]], product_b6: Any) -> int:
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
    col_ab = [text(cell(r[1]) if len(r) > 1 else BLANK) + text(cell(r[2]) if len(r) > 2 else BLANK)
              for r in smelter_rows[4:2504]]
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

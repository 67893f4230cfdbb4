"""The production shape, checked statically (no Docker engine runs here): docker-compose.yml, the
Dockerfile and the deploy/ files they use."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from models.search_attributes import SEARCH_ATTRIBUTE_TYPES
from outreach.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_TEXT = COMPOSE_FILE.read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict] = COMPOSE["services"]
SETTING_NAMES = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}

REQUIRED = {"temporal-db", "temporal-schema", "temporal", "temporal-setup", "temporal-ui",
            "app-db", "mailpit", "migrate", "worker", "web"}
ONE_SHOT = {name for name, svc in SERVICES.items() if str(svc.get("restart", "")) == "no"}
LONG_RUNNING = set(SERVICES) - ONE_SHOT
_DEFAULT = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def resolve(text: str) -> str:
    """Fill ${VAR:-default} with its default, as Compose does when VAR is unset."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(text))


def environment(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def depends_on(svc: dict) -> dict[str, dict]:
    deps = svc.get("depends_on") or {}
    assert isinstance(deps, dict), "depends_on must use the long form with a condition"
    return deps


def test_every_part_of_the_product_is_there():
    assert REQUIRED <= set(SERVICES), REQUIRED - set(SERVICES)
    assert ONE_SHOT == {"temporal-schema", "temporal-setup", "migrate"}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned_to_exact_versions(name):
    svc = SERVICES[name]
    if "build" in svc:
        assert svc.get("image", "").rsplit(":", 1)[-1] not in ("", "latest")
        return
    image = svc["image"]
    assert ":" in image and "${" not in image, image
    tag = image.rsplit(":", 1)[1]
    # major.minor at least: "16" or "v1" would move under our feet.
    assert re.match(r"^v?\d+\.\d+", tag), f"{name}: {image} is not pinned to an exact version"


def test_temporal_schema_is_set_up_by_admin_tools_not_auto_setup():
    def strings(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield str(k)
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        else:
            yield str(node)

    # Neither the auto-setup image nor its "autosetup" entrypoint mode, anywhere in a service.
    assert not [s for s in strings(SERVICES) if "auto-setup" in s or "autosetup" in s]
    schema = SERVICES["temporal-schema"]
    assert schema["image"].startswith("temporalio/admin-tools:")
    script = (ROOT / "deploy/temporal/setup-schema.sh").read_text()
    for step in ("create-database", "setup-schema", "update-schema"):
        assert step in script
    assert "for db in temporal temporal_visibility" in script
    assert "/visibility/versioned" in script and "/temporal/versioned" in script
    # The server and its admin tools are the same Temporal release.
    server_version = SERVICES["temporal"]["image"].split(":")[1]
    assert SERVICES["temporal"]["image"].startswith("temporalio/server:")
    for tool in ("temporal-schema", "temporal-setup"):
        assert SERVICES[tool]["image"].split(":")[1].startswith(server_version + "-")
    assert environment(SERVICES["temporal"])["DB"] == "postgres12"


def test_search_attributes_registered_in_production_are_the_ones_the_workflows_use():
    declared = environment(SERVICES["temporal-setup"])["SEARCH_ATTRIBUTES"].split()
    assert dict(pair.split("=", 1) for pair in declared) == SEARCH_ATTRIBUTE_TYPES
    script = (ROOT / "deploy/temporal/setup-namespace.sh").read_text()
    assert "operator search-attribute create" in script and "operator namespace create" in script


def _outreach_names_used() -> set[str]:
    names = set()
    for svc in SERVICES.values():
        names |= {k for k in environment(svc) if k.startswith(ENV_PREFIX)}
    names |= {m.group(1) for m in _DEFAULT.finditer(COMPOSE_TEXT) if m.group(1).startswith(ENV_PREFIX)}
    for example in (ROOT / "deploy").glob("*.env.example"):
        for line in example.read_text().splitlines():
            m = re.match(r"^#?\s*(OUTREACH_[A-Z0-9_]+)=", line)
            if m:
                names.add(m.group(1))
    return names


def test_every_outreach_variable_is_a_real_setting():
    used = _outreach_names_used()
    assert {"OUTREACH_DATABASE_URL", "OUTREACH_TEMPORAL_ADDRESS", "OUTREACH_FILE_STORE",
            "OUTREACH_SECRET_KEY", "OUTREACH_SMTP_HOST"} <= used
    assert used - SETTING_NAMES == set(), f"not read by outreach/settings.py: {sorted(used - SETTING_NAMES)}"


def test_app_services_share_settings_secrets_and_the_file_store():
    for name in ("migrate", "worker", "web"):
        svc = SERVICES[name]
        env = environment(svc)
        assert env["OUTREACH_DATABASE_URL"].startswith("postgresql+psycopg://outreach:${APP_DB_PASSWORD")
        assert env["OUTREACH_DATABASE_URL"].endswith("@app-db:5432/outreach")
        assert env["OUTREACH_TEMPORAL_ADDRESS"] == "temporal:7233"
        # Links signed by a worker must verify in any web replica: one required key, never generated.
        assert env["OUTREACH_SECRET_KEY"].startswith("${OUTREACH_SECRET_KEY:?")
        assert env["OUTREACH_FILE_STORE"] == "/data/files"
        assert "files:/data/files" in svc["volumes"]
        assert svc["env_file"] == ["production.env"]
    assert "files" in COMPOSE["volumes"]
    app_db = environment(SERVICES["app-db"])
    assert app_db["POSTGRES_USER"] == "outreach" and app_db["POSTGRES_DB"] == "outreach"


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_long_running_services_have_health_checks(name):
    check = SERVICES[name].get("healthcheck")
    assert check and check.get("test") and not check.get("disable"), f"{name} has no health check"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_wait_for_the_right_condition(name):
    for dep, spec in depends_on(SERVICES[name]).items():
        assert dep in SERVICES, f"{name} depends on unknown {dep}"
        condition = spec.get("condition")
        if dep in ONE_SHOT:
            assert condition == "service_completed_successfully", f"{name} -> {dep}: {condition}"
        else:
            assert condition == "service_healthy", f"{name} -> {dep}: {condition}"
            assert SERVICES[dep].get("healthcheck"), f"{name} waits for {dep}, which has no health check"


def test_start_order():
    assert set(depends_on(SERVICES["temporal"])) == {"temporal-schema"}
    assert set(depends_on(SERVICES["temporal-schema"])) == {"temporal-db"}
    assert set(depends_on(SERVICES["temporal-setup"])) == {"temporal"}
    assert set(depends_on(SERVICES["migrate"])) == {"app-db"}
    for app in ("worker", "web"):
        assert {"migrate", "temporal-setup"} <= set(depends_on(SERVICES[app]))


def test_host_ports_do_not_collide_and_admin_uis_stay_local():
    published: dict[str, str] = {}
    for name, svc in SERVICES.items():
        for spec in svc.get("ports") or []:
            parts = resolve(spec).split(":")
            host_ip, host_port = (parts[0], parts[1]) if len(parts) == 3 else ("0.0.0.0", parts[0])
            assert host_port not in published, f"{name} and {published[host_port]} both publish {host_port}"
            published[host_port] = name
            if name in ("temporal-ui", "mailpit"):  # no login: loopback only
                assert host_ip == "127.0.0.1", f"{name} publishes {spec} beyond this host"
    assert {"web", "temporal-ui", "mailpit"} <= set(published.values())


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_long_running_services_come_back_after_a_crash(name):
    # "unless-stopped": a crash or an out-of-memory kill restarts the container; `docker compose stop` does not.
    assert SERVICES[name].get("restart") == "unless-stopped", f"{name}: restart {SERVICES[name].get('restart')!r}"


def memory_bytes(limit: str) -> int:
    """Compose's memory units (b, k, m, g; an optional trailing b) as bytes."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)b?", str(limit).strip().lower())
    assert m, f"{limit!r} is not a memory size Compose reads"
    return int(float(m.group(1)) * 1024 ** "_kmg".index(m.group(2) or "_"))


def test_worker_and_web_have_memory_limits_that_fit_what_they_were_measured_to_use():
    limits = {name: resolve(SERVICES[name]["deploy"]["resources"]["limits"]["memory"]) for name in ("worker", "web")}
    assert memory_bytes("512m") == 512 * 1024 ** 2 and memory_bytes("1gb") == memory_bytes("1024M") == 1024 ** 3
    # A worker peaked at ≈0.9 GB in the workflow sandbox (docs/benchmarks.md), and its workbook readers
    # (cmrt.isolation: two at once, each capped at OUTREACH_CHECK_MEMORY_MB) live in the same container.
    from outreach.settings import Settings

    readers = 2 * Settings.model_fields["check_memory_mb"].default * 1024 ** 2
    assert memory_bytes(limits["worker"]) >= 0.5 * 1024 ** 3 + readers, limits
    assert 256 * 1024 ** 2 <= memory_bytes(limits["web"]) <= memory_bytes(limits["worker"]), limits
    for name in ("worker", "web"):  # no replicas here: `--scale worker=N` decides how many
        assert set(SERVICES[name]["deploy"]) == {"resources"}, SERVICES[name]["deploy"]


def test_every_variable_the_compose_file_reads_is_in_the_example_env_file():
    example = (ROOT / "deploy/compose.env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.M))
    used = {m.group(1) for m in _DEFAULT.finditer(COMPOSE_TEXT)}
    assert {"WORKER_MEMORY_LIMIT", "WEB_MEMORY_LIMIT", "APP_DB_PASSWORD"} <= used
    assert used - documented == set(), f"not in deploy/compose.env.example: {sorted(used - documented)}"
    for line in example.splitlines():  # the example's own values are ones Compose accepts
        if line.startswith(("WORKER_MEMORY_LIMIT=", "WEB_MEMORY_LIMIT=")):
            memory_bytes(line.split("=", 1)[1])


def test_worker_is_scalable():
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"] == ["outreach", "worker"]
    assert not [name for name, svc in SERVICES.items() if "container_name" in svc]


def test_app_commands():
    assert SERVICES["migrate"]["command"] == ["outreach", "db", "upgrade"]
    web = SERVICES["web"]["command"]
    assert "outreach.web.app:app" in web and environment(SERVICES["web"])["OUTREACH_WEB_PORT"] == web[-1]


def test_files_the_compose_file_mounts_exist():
    for svc in SERVICES.values():
        for volume in svc.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), source


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX shell to syntax-check the deploy scripts")
@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "deploy/temporal").glob("*.sh")))
def test_deploy_scripts_are_valid_posix_shell(script):
    done = subprocess.run(["sh", "-n", str(ROOT / "deploy/temporal" / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_dynamic_config_is_valid_yaml():
    config = yaml.safe_load((ROOT / "deploy/temporal/dynamicconfig.yaml").read_text())
    assert all(isinstance(v, list) and "value" in v[0] for v in config.values())


# --- Dockerfile ------------------------------------------------------------------------------

DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile_runs_the_outreach_console_script_as_a_non_root_user():
    instructions = _instructions()
    base = [rest for kw, rest in instructions if kw == "FROM"]
    assert len(base) == 1 and re.match(r"python:3\.11\.\d+-slim", base[0]), base
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1] not in ("root", "0"), users
    entry = [json.loads(rest) for kw, rest in instructions if kw in ("CMD", "ENTRYPOINT")]
    assert entry and entry[-1][0] == "outreach", entry  # exec form, the console script
    runs = " ".join(rest for kw, rest in instructions if kw == "RUN")
    assert "pip install -e ." in runs  # templates/ and migrations/ stay beside the code


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", ".env", "production.env"} <= ignored
    assert "migrations" not in ignored and "templates" not in ignored and "README.md" not in ignored


def _hours(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(h|d)", duration.strip())
    assert match, f"a namespace retention of {duration!r}: write it as hours (720h) or days (30d)"
    return int(match.group(1)) * (24 if match.group(2) == "d" else 1)


def test_temporal_keeps_histories_for_a_campaign_year_and_the_read_model_keeps_records_for_the_retention_period():
    """One set of numbers everywhere: the namespace retention in the compose file, the setup script's
    default, outreach/retention.py and the README; long enough that a survey closed early in a yearly
    campaign can still be reopened from its closed run, and shorter than the records' retention."""
    from outreach.retention import TEMPORAL_HISTORY_DAYS

    compose = _hours(resolve(environment(SERVICES["temporal-setup"])["RETENTION"]))
    script = (ROOT / "deploy/temporal/setup-namespace.sh").read_text()
    default = re.search(r'RETENTION:=([^}]+)\}', script).group(1)
    assert compose == _hours(default) == TEMPORAL_HISTORY_DAYS * 24
    years = Settings.model_fields["retention_years"].default
    assert 366 <= TEMPORAL_HISTORY_DAYS < years * 365
    readme = (ROOT / "README.md").read_text()
    assert f"{TEMPORAL_HISTORY_DAYS} days" in readme and f"RETENTION: {int(compose)}h" in readme
    assert "five years" in readme and f"OUTREACH_RETENTION_YEARS` ({years})" in readme

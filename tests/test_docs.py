"""The README documents what the product really reads and runs."""

from __future__ import annotations

import re
from pathlib import Path

from outreach.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table():
    documented = set(re.findall(r"OUTREACH_[A-Z_]+", README))
    # "`OUTREACH_SCORECARD_WEIGHTS` / `_GRADES`" documents the siblings by suffix.
    for suffix in re.findall(r"`(_[A-Z_]+)`", README):
        documented |= {name.rsplit("_", 1)[0] + suffix for name in list(documented)}
    missing = [f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields
               if f"{ENV_PREFIX}{name.upper()}" not in documented]
    assert missing == []


def test_the_readme_test_command_is_what_ci_runs():
    assert "make test" in README
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "make test"


def test_every_cli_command_answers_help():
    """`--help` works on every command and group, and says something."""
    import typer.main
    from typer.testing import CliRunner

    from outreach.cli import app

    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd, path: list[str]) -> None:
        paths.append(path)
        if hasattr(cmd, "commands"):  # a group
            for name, sub in cmd.commands.items():
                walk(sub, path + [name])

    walk(root, [])
    assert len(paths) > 20
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, path + ["--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output and len(result.output) > 100, path

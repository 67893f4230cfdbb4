"""The `outreach` console entry: the command's exit code survives a Temporal runtime in the process."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from cmrt.builder import invalid_cmrt

ROOT = Path(__file__).resolve().parents[1]

# Creating the SDK runtime is what a connected client does first; the abort it can cause at
# finalization is intermittent, so this checks the path that avoids it rather than the abort itself.
ENTRY = """
import sys
if sys.argv[1] == "with-runtime":
    from temporalio.runtime import Runtime
    Runtime.default()
sys.argv = ["outreach", *sys.argv[2:]]
from outreach.cli import main
main()
"""


def run_entry(*args: str, runtime: bool) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", ENTRY, "with-runtime" if runtime else "plain", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_console_script_is_main():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["outreach"] == "outreach.cli:main"


def test_exit_codes_and_output_with_and_without_a_temporal_runtime(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(invalid_cmrt(problem="missing_contact_email"))
    for runtime in (False, True):
        invalid = run_entry("cmrt", "check", str(bad), runtime=runtime)
        assert invalid.returncode == 1, invalid.stderr
        assert "INVALID" in invalid.stdout and "1 file(s): 0 valid, 1 not valid" in invalid.stdout
        usage = run_entry("cmrt", "check", str(tmp_path / "missing.xlsx"), runtime=runtime)
        assert usage.returncode == 2 and "no such file or directory" in usage.stderr
        helped = run_entry("--help", runtime=runtime)
        assert helped.returncode == 0 and "cmrt" in helped.stdout

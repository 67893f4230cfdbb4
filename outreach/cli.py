"""The `outreach` command line. Each group lives in its own module; this file only assembles them."""

from __future__ import annotations

import sys

import typer

from outreach import cli_audit, cli_bounces, cli_cmrt, cli_evidence, cli_governance, cli_ops, cli_smelters
from outreach import cli_report
from outreach import cli_campaign, cli_review

app = typer.Typer(
    help="Responsible-minerals supplier due diligence: surveys, checks, corrections, escalations, reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(cli_cmrt.app, name="cmrt")
app.add_typer(cli_smelters.app, name="smelters")
app.add_typer(cli_report.app, name="report")
app.add_typer(cli_audit.app, name="audit")
app.add_typer(cli_bounces.app, name="bounces")
cli_ops.register(app)  # up, worker, db upgrade
cli_campaign.register(app)  # suppliers, campaign, survey, decide, users, demo
cli_governance.register(app)  # retention, hold
cli_evidence.register(app)  # evidence (the auditor's pack)
cli_review.register(app)  # review list|answer, survey reopen


def main() -> None:
    """The console entry. Once a Temporal client lived in this process, the SDK's runtime can abort the
    interpreter's finalization after the command has finished (PyGILState_Release, exit 134): then exit
    with the command's own code and skip finalization."""
    try:
        app()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    temporal_runtime = sys.modules.get("temporalio.runtime")
    if temporal_runtime is None or getattr(temporal_runtime._runtime_ref, "_default_runtime", None) is None:
        raise SystemExit(code)
    if code is not None and not isinstance(code, int):  # sys.exit("message"): printed, exit 1
        print(code, file=sys.stderr)
        code = 1
    cli_ops._exit_now(code or 0)


if __name__ == "__main__":  # pragma: no cover
    main()

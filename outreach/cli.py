"""The `outreach` command line. Each group lives in its own module; this file only assembles them."""

from __future__ import annotations

import typer

from outreach import cli_cmrt, cli_ops, cli_smelters
from outreach import cli_report
from outreach import cli_campaign

app = typer.Typer(
    help="Responsible-minerals supplier due diligence: surveys, checks, corrections, escalations, reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(cli_cmrt.app, name="cmrt")
app.add_typer(cli_smelters.app, name="smelters")
app.add_typer(cli_report.app, name="report")
cli_ops.register(app)  # up, worker, db upgrade
cli_campaign.register(app)  # suppliers, campaign, survey, decide, users, demo


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

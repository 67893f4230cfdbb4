"""`outreach smelters ...`: the smelter reference list."""

import typer

app = typer.Typer(help="Import and match against the smelter reference list.", no_args_is_help=True)

"""`outreach cmrt ...`: check CMRT workbooks without a running server."""

import typer

app = typer.Typer(help="Read and judge CMRT workbooks (no server needed).", no_args_is_help=True)

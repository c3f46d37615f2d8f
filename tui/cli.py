"""`muster`: the front door. Parses arguments, calls the layers below, prints results.

Every error a user can cause (a bad file, a bad argument) ends here as located lines on
stderr and exit status 2, never a traceback; the error boundary is `main`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup, TyperOption

from incidents.errors import IncidentsError
from playbooks.errors import PlaybookError
from simulation.errors import SimulationError
from tui.calibrate_cmd import calibrate
from tui.home import home
from tui.simulate_cmd import simulate
from tui.playbook_cmd import playbook_app

__all__ = ["MusterGroup", "app", "main"]


def _bare_flags(params: Iterable[Any]) -> None:
    """Blank the type column of boolean flags: typer prints a placeholder (`<bool>`) after
    every flag, --help included, though a flag takes no value. An empty metavar is the
    documented way to set that column; options that take a value keep their type."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""


class MusterGroup(TyperGroup):
    """The `muster` command groups: flags shown bare in their help and in the help of every
    subcommand they resolve (commands of this project stay plain typer functions)."""

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        params = super().get_params(ctx)
        _bare_flags(params)
        return params

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        command = super().get_command(ctx, cmd_name)
        if command is not None and not isinstance(command, MusterGroup):
            # Its --help option is built once and kept, so blanking it here lasts.
            _bare_flags(command.get_params(ctx))
        return command


app = typer.Typer(
    name="muster",
    cls=MusterGroup,
    help="Rehearse, size and run the emergency response of a service organisation.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
app.add_typer(playbook_app, name="playbook", cls=MusterGroup)
app.command("simulate")(simulate)
app.command("calibrate")(calibrate)


def _version() -> str:
    try:
        return version("muster")
    except PackageNotFoundError:
        return "0+unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"muster {_version()}")
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    show_version: bool = typer.Option(False, "--version", callback=_show_version,
                                      is_eager=True, help="Print the version and exit."),
) -> None:
    """Rehearse, size and run the emergency response of a service organisation."""
    if ctx.invoked_subcommand is None:
        home(Console())


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: the error boundary."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        app(args=argv, standalone_mode=True)
    except (PlaybookError, IncidentsError, SimulationError) as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            err.print(line, markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)

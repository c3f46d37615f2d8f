"""`muster`: the front door. Parses arguments, calls the layers below, prints results.

Every error a user can cause (a bad file, a bad argument) ends here as located lines on
stderr and exit status 2, never a traceback; the error boundary is `main`.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import typer

from tui.boundary import console as make_console

from incidents.errors import IncidentsError
from playbooks.errors import PlaybookError
from simulation.errors import SimulationError
from tui.backtest_cmd import backtest
from tui.calibrate_cmd import calibrate
from tui.drill_cmd import drill_app
from tui.groups import DrillGroup, MusterGroup
from tui.home import home
from tui.report_cmd import drills_app, report
from tui.simulate_cmd import simulate
from tui.size_cmd import size
from tui.playbook_cmd import playbook_app
from tui.incident_cmd import incident_app, operation_app  # the live desk (issue 16)
from tui.live_cmd import live_app
from tui.improvements_cmd import improvements_app

__all__ = ["app", "main"]


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
app.command("size")(size)
app.command("calibrate")(calibrate)
app.command("backtest")(backtest)
app.add_typer(drill_app, name="drill", cls=DrillGroup)
app.command("report")(report)
app.add_typer(drills_app, name="drills", cls=MusterGroup)
app.add_typer(improvements_app, name="improvements", cls=MusterGroup)
app.add_typer(live_app, name="live", cls=MusterGroup)
app.add_typer(incident_app, name="incident", cls=MusterGroup)
app.add_typer(operation_app, name="operation", cls=MusterGroup)


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
    plain: bool = typer.Option(False, "--plain/--no-plain", help="Print the overview "
                               "instead of opening the app (also when standard output is not "
                               "a terminal)."),
) -> None:
    """Rehearse, size and run the emergency response of a service organisation.

    With no command, `muster` opens the app in a terminal; scripts and CI (standard output
    not a terminal), or `--plain`, get the printed overview instead.
    """
    if ctx.invoked_subcommand is None:
        if plain or not sys.stdout.isatty():
            home(make_console())
            return
        from tui.app import run_app  # Textual only when the app opens
        run_app()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: the error boundary."""
    err = make_console(stderr=True, soft_wrap=True)
    try:
        app(args=argv, standalone_mode=True)
    except (PlaybookError, IncidentsError, SimulationError) as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            err.print(line, markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)

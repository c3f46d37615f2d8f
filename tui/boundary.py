"""The commands' error boundary: a user's mistake as located lines on stderr, exit status 2.

Every command catches the domain errors of the layers below (SimulationError, StoreError,
pydantic's ValidationError: all ValueErrors carrying their own located lines) and ends
through `fail`, never a traceback; `tui.cli.main` is the last net for anything that escapes.
"""

from __future__ import annotations

import typer
from rich.console import Console

__all__ = ["fail", "console"]


def console(*, stderr: bool = False, soft_wrap: bool = False, wide: bool = False) -> Console:
    """A console for text that comes from files and users: Rich's markup, emoji codes and
    highlighting off, so `[red]` in a name prints as written and a location such as
    `file.yaml:100:20` never turns into an emoji. Style goes through `rich.text.Text`.
    `wide`: tables printed to a file or a pipe get 200 columns instead of Rich's 80, so
    Chinese names are not folded character by character (a terminal keeps its width)."""
    probe = Console(stderr=stderr)
    width = None if probe.is_terminal or not wide else 200
    return Console(stderr=stderr, soft_wrap=soft_wrap, highlight=False, markup=False,
                   emoji=False, width=width)


def fail(exc: BaseException) -> typer.Exit:
    """Print the error's lines to stderr; the Exit (status 2) for the caller to raise."""
    err = console(stderr=True, soft_wrap=True)
    for line in str(exc).splitlines() or [type(exc).__name__]:
        err.print(line, markup=False)
    return typer.Exit(2)

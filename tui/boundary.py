"""The commands' error boundary: a user's mistake as located lines on stderr, exit status 2.

Every command catches the domain errors of the layers below (SimulationError, StoreError,
pydantic's ValidationError: all ValueErrors carrying their own located lines) and ends
through `fail`, never a traceback; `tui.cli.main` is the last net for anything that escapes.
"""

from __future__ import annotations

import typer
from rich.console import Console

__all__ = ["fail"]


def fail(exc: BaseException) -> typer.Exit:
    """Print the error's lines to stderr; the Exit (status 2) for the caller to raise."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for line in str(exc).splitlines() or [type(exc).__name__]:
        err.print(line, markup=False)
    return typer.Exit(2)

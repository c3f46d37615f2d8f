"""The command groups of `muster`: help that shows flags bare, and `muster drill SCENARIO`.

Typer prints a type placeholder after every flag; these groups blank it. `DrillGroup` also
lets `muster drill` take a scenario as its first argument (`muster drill drill-recall
--script actions.yaml`) beside its subcommands (`muster drill list`): an argument that names
no subcommand runs `play`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
import typer
from typer.core import TyperGroup, TyperOption

__all__ = ["MusterGroup", "DrillGroup"]


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




class DrillGroup(MusterGroup):
    """`muster drill SCENARIO ...` plays a drill; `muster drill list` (and the rest) as usual."""

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["play", *args]
        return super().resolve_command(ctx, args)

"""What the live desk's commands share: where the database is, who is acting, the error
boundary, and printing (plain lines, tables, JSON) with Rich's markup and emoji off, since
everything printed comes from a user or a file (`cases.csv:100:` stays `:100:`).

The database defaults to `live.sqlite` in the user's data folder (platformdirs: e.g.
~/.local/share/muster on Linux), or the `MUSTER_DB` setting; the operator to `MUSTER_OPERATOR`,
else the login name. `--db` and `MUSTER_DB` take a file or a server's URL
(`postgresql://USER@HOST/DB`): a file comes as a Path, a URL as text (a Path would fold its
`//`), whatever the annotation says.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from platformdirs import user_data_path
from rich.console import Console
from rich.table import Table
from rich.text import Text
from tui.boundary import fail

if TYPE_CHECKING:
    from desk.desk import Desk

__all__ = ["DB_HELP", "db_location", "default_db", "default_operator", "db_option", "as_option",
           "json_option", "open_desk", "guarded", "say", "table", "emit_json", "out_console",
           "refuse"]

DB_HELP = ("The live database: a file, or postgresql://USER@HOST/DB (default: the user's "
           "data folder, or MUSTER_DB).")
P = ParamSpec("P")
R = TypeVar("R")


def db_location(text: str) -> Path | str:
    """What `--db` or MUSTER_DB names: a server's URL as it is, a file as a Path."""
    from incidents.store import is_server_url
    return text if is_server_url(text) else Path(text)


def default_db() -> Path | str:
    setting = os.environ.get("MUSTER_DB")
    if setting:
        return db_location(setting)
    return user_data_path("muster", appauthor=False) / "live.sqlite"


def default_operator() -> str:
    name = os.environ.get("MUSTER_OPERATOR")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "coordinator"


def db_option() -> Any:
    return typer.Option(None, "--db", help=DB_HELP, show_default="user data folder",
                        parser=db_location, metavar="PATH|URL")


def as_option() -> Any:
    return typer.Option(None, "--as", help="Who is acting: the name on every event "
                        "(default: MUSTER_OPERATOR, else the login name).",
                        show_default="login name")


def json_option() -> Any:
    return typer.Option(False, "--json/--no-json", help="Print JSON (for scripts and chat bots).")


@contextmanager
def open_desk(db: Path | str | None, operator: str | None = None, *, readonly: bool = False,
              create: bool = False) -> Iterator[Desk]:
    """The desk on `db`. Read-only commands open it read-only; only the commands that start
    something (an operation, a case, an import, the desk itself) create a missing database
    (and the default folder); the others refuse it, writing nothing."""
    from desk.desk import Desk
    path = db if db is not None else default_db()
    if create and db is None and isinstance(path, Path) and not os.environ.get("MUSTER_DB"):
        path.parent.mkdir(parents=True, exist_ok=True)
    desk = Desk.open(path, operator=operator or default_operator(),
                     create=create and not readonly, readonly=readonly)
    try:
        yield desk
    finally:
        desk.close()


def out_console() -> Console:
    return Console(highlight=False, emoji=False, soft_wrap=True)


def refuse(exc: BaseException) -> typer.Exit:
    """The error's lines on stderr, markup and emoji off; the Exit (status 2) to raise."""
    return fail(exc)


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """A command's error boundary: any refusal (ValueError and its kin: DeskError,
    StoreError, PlaybookError, SimulationError) ends as lines on stderr and exit status 2."""
    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ValueError as exc:
            raise refuse(exc) from None
    return run


def say(text: str) -> None:
    out_console().print(text, markup=False, emoji=False)


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A table whose every cell is plain text (no markup, no emoji)."""
    grid = Table(title=Text(title), title_justify="left")
    for name in columns:
        grid.add_column(Text(name), overflow="fold")
    for row in rows:
        grid.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    out_console().print(grid)

"""The options that say how to read a log, shared by `muster calibrate` and `muster backtest`.

Everything is sniffed (calibration/columns.py); these only override. Each command declares
them with the factories below (typer reads options from the command's signature) and turns
them into one `LogOptions` with `log_options`, which refuses malformed values with a message
naming the option (exit status 2 at the command's boundary).
"""

from __future__ import annotations

from typing import Any

import typer

from simulation.calibration.columns import ROLES, LogOptions
from simulation.errors import SimulationError

__all__ = ["log_options", "LOG_HELP", "opt_delimiter", "opt_date", "opt_date_format",
           "opt_time_format", "opt_arrival", "opt_time", "opt_opened", "opt_format", "opt_tz",
           "opt_drop",
           "opt_column", "opt_id", "opt_resolved", "opt_kind"]

LOG_HELP = ("The log: CSV or TSV (delimiter sniffed), .gz or .zip of one, or an XES event "
            "log. Columns and time formats are sniffed from the header and the values; the "
            "options below override.")


def opt_delimiter() -> Any:
    return typer.Option(None, "--delimiter", help="tab, comma, semicolon, bar, or one "
                        "character (default: sniffed).")


def opt_date() -> Any:
    return typer.Option(None, "--date", help="Column of dates, for times of day written "
                        "in other columns.")


def opt_date_format() -> Any:
    return typer.Option(None, "--date-format", help="strptime pattern of the date column "
                        "(e.g. %y%m%d; default: sniffed).")


def opt_time_format() -> Any:
    return typer.Option(None, "--time-format", help="strptime pattern of times of day "
                        "(default: H:MM or H:MM:SS).")


def opt_arrival() -> Any:
    return typer.Option(None, "--arrival", help="Column of the arrival time (calls: when the "
                        "call reached the queue; tickets: when opened).")


def opt_time() -> Any:
    return typer.Option(None, "--time", help="Column of the arrival's time of day, its date "
                        "in --date (the same role as --arrival).")


def opt_opened() -> Any:
    return typer.Option(None, "--opened", help="Column of a ticket's opening time (the same "
                        "role as --arrival).")


def opt_format() -> Any:
    return typer.Option(None, "--format", help="strptime pattern of full timestamps, or "
                        "'iso', or 'epoch' (default: sniffed).")


def opt_tz() -> Any:
    return typer.Option("UTC", "--tz", help="IANA time zone of the log's clock times (and of "
                        "the scenario).")


def opt_drop() -> Any:
    return typer.Option([], "--drop", metavar="COL=VALUE", show_default="none",
                        help="Leave out rows with VALUE in column COL (repeatable), e.g. "
                        "outcome=PHANTOM.")


def opt_column() -> Any:
    return typer.Option([], "--column", metavar="ROLE=COL", show_default="sniffed",
                        help="Which column plays a role "
                        f"(repeatable); roles: {', '.join(ROLES)}.")


def opt_id() -> Any:
    return typer.Option(None, "--id", help="Column identifying a ticket (one record per id); "
                        "'' = one per row.")


def opt_resolved() -> Any:
    return typer.Option(None, "--resolved", help="Column of resolution times (tickets).")


def opt_kind() -> Any:
    return typer.Option("auto", "--kind", help="calls, tickets, or auto (calls when the log "
                        "has queue or service columns).")


def _pairs(values: list[str], option: str, what: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        if "=" not in v:
            raise SimulationError(f"{option} {v!r}: write {what}")
        key, _, rest = v.partition("=")
        if not key.strip():
            raise SimulationError(f"{option} {v!r}: write {what}")
        out.append((key.strip(), rest.strip()))
    return out


def log_options(*, delimiter: str | None, date: str | None, date_format: str | None,
                time_format: str | None, arrival: str | None, time: str | None,
                opened: str | None, fmt: str | None, tz: str, drop: list[str],
                column: list[str], id_column: str | None, resolved: str | None,
                kind: str) -> LogOptions:
    """The options as one LogOptions (named columns win over --column)."""
    if kind not in ("auto", "calls", "tickets"):
        raise SimulationError(f"--kind {kind!r}: use calls, tickets or auto")
    given = [(o, v) for o, v in (("--arrival", arrival), ("--time", time),
                                 ("--opened", opened)) if v is not None]
    if len(given) > 1:
        raise SimulationError(f"{given[0][0]} and {given[1][0]} both name the arrival column; "
                              "give one")
    arrival = given[0][1] if given else None
    columns = dict(_pairs(column, "--column", "ROLE=COLUMN, e.g. service_start=answered"))
    for role, name in (("date", date), ("arrival", arrival), ("id", id_column),
                       ("resolved", resolved)):
        if name is not None:
            columns[role] = name
    return LogOptions(delimiter=delimiter, columns=columns, fmt=fmt, date_format=date_format,
                      time_format=time_format, tz=tz,
                      drop=tuple(_pairs(drop, "--drop", "COLUMN=VALUE, e.g. outcome=PHANTOM")),
                      kind=kind)  # type: ignore[arg-type]

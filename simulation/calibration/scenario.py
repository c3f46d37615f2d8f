"""A calibration written into another scenario (--base), or as a demand fragment.

`muster calibrate --base SCENARIO` keeps that scenario's mix, staffing, parts and costs and
replaces its demand by the fitted weekday-by-hour profile (or, with --replay, by the log's
own arrivals of the forecast days), starting on the forecast days: the planner's own
operation under the demand of the log. Resolve and service times then come from the base's
playbooks, not from the log (the header says so). `--fragment` writes the demand section and
the fitted figures for pasting by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simulation.calibration.build import start_of
from simulation.calibration.contacts import Period
from simulation.calibration.pipeline import MARK, Calibrated, scenario_header
from simulation.errors import SimulationError
from simulation.scenario.loader import load_scenario, resolve_scenario, scenario_from_text

__all__ = ["with_base", "write_demand"]


def _profile(cal: Calibrated) -> dict[str, Any]:
    m = cal.model
    return {"base_rate": round(m.profile.base_rate, 6),
            "profile": [[round(float(v), 4) for v in row] for row in m.profile.matrix]}


def with_base(cal: Calibrated, forecast: Period, base: str, events: Path, *, replay: bool,
              out: Path) -> Path:
    """The --base scenario with its demand replaced by the fit (or a replay of the log)."""
    path = resolve_scenario(base)
    load_scenario(path)  # refuses a broken base with located errors
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    m = cal.model
    data["name"] = f"calibrated-{Path(m.source).stem.split('.')[0]}"[:80]
    data["start"] = start_of(forecast, m.tz).isoformat()
    data["horizon"] = f"{forecast.days}d"
    data.pop("injects", None)  # the base's injects were written for its own week
    data["calendar"] = {**(data.get("calendar") or {}), "timezone": m.tz}
    if replay:
        roles = cal.contacts.read_as
        column = roles.get("arrival", roles.get("opened", "opened_at")).split(" (")[0]
        try:
            rel = events.resolve().relative_to(out.parent.resolve())
        except ValueError:
            rel = events.resolve()
        data["demand"] = {"replay": {"file": str(rel), "column": column,
                                     "id_column": roles.get("id", "").split(" (")[0] or None,
                                     "format": _replay_format(roles, column),
                                     "start": data["start"], "days": forecast.days,
                                     "timezone": m.tz}}
    else:
        data["demand"] = _profile(cal)
    if out.exists() and MARK not in out.read_text(encoding="utf-8", errors="replace")[:400]:
        raise SimulationError(f"{out}: exists and was not written by muster calibrate; "
                              "choose another --out")
    header = "".join(f"# {line}\n" for line in scenario_header(cal, forecast))
    header += (f"# Mix, staffing and parts from the base scenario {base}: its playbooks, not "
               "the log, give the service and resolve times.\n")
    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                                   default_flow_style=None, width=100)
    scenario_from_text(text, file=str(out), base=out.parent)  # what we write must load
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SimulationError(f"{out}: cannot write: {exc.strerror or exc}") from None
    return out


def _replay_format(roles: dict[str, str], column: str) -> str:
    for value in roles.values():
        if value.startswith(column + " ("):
            fmt = value[len(column) + 2:-1]
            if fmt == "ISO 8601":
                return "iso"
            if fmt == "epoch seconds":
                return "epoch"
            if "%" in fmt:
                return fmt
    raise SimulationError(f"--replay needs the arrival column {column!r} to hold whole "
                          "timestamps (a date and a time of day in one column)")


def write_demand(cal: Calibrated, path: Path) -> None:
    """The demand section and the fitted figures, for pasting into another scenario."""
    m = cal.model
    body: dict[str, Any] = {
        "demand": _profile(cal),
        "calibration": {"source": m.source, "incidents": m.profile.arrivals,
                        "period": [m.train.first.isoformat(), m.train.last.isoformat()],
                        "trend_per_week": round(m.profile.trend, 4),
                        "durations": {"service": m.service.distribution()},
                        "stats": {"mean": round(m.service.mean / 60, 2),
                                  "p50": round(m.service.p50 / 60, 2),
                                  "p90": round(m.service.p90 / 60, 2), "n": m.service.n}}}
    if m.patience is not None:
        body["calibration"]["patience"] = m.patience.distribution()
    if cal.availability is not None:
        body["calibration"]["availability"] = round(cal.availability.factor, 4)
    header = f"# Fitted by {MARK} from {m.source}; paste `demand:` into a scenario.\n"
    if m.licence:
        header += f"# {m.licence}\n"
    try:
        path.write_text(header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True,
                                                default_flow_style=None, width=100),
                        encoding="utf-8")
    except OSError as exc:
        raise SimulationError(f"{path}: cannot write: {exc.strerror or exc}") from None

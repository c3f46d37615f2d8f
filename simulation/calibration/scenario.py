"""A runnable scenario from a calibration: the fitted demand on top of a base scenario.

A fragment alone answers "what does our demand look like"; a planner's next question is "and
what happens to our people and parts under it". So `muster calibrate` writes a whole scenario:
the base scenario's mix, staffing, parts and costs (by default the bundled normal week), with
the demand replaced by the fitted profile, or by a replay of the log's busiest week, starting
on that week. Log times are read as the operation's local wall-clock times.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from simulation.calibration.fit import ATTRIBUTION, Calibration
from simulation.errors import SimulationError
from simulation.scenario.loader import load_scenario, resolve_scenario

__all__ = ["calibrated_scenario", "write_scenario"]


def calibrated_scenario(cal: Calibration, base: str | Path, events: Path, *, replay: bool,
                        opened: str, id_column: str | None, fmt: str,
                        out_dir: Path) -> dict[str, Any]:
    """The scenario data: base scenario + calibrated (or replayed) demand for the busiest week."""
    base_path = resolve_scenario(base)
    loaded = load_scenario(base_path)  # refuses a broken base with located errors
    data = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    zone = ZoneInfo(loaded.calendar.timezone)
    a = cal.arrivals
    start = datetime.combine(a.busiest_start, time(0, 0), tzinfo=zone)
    source = Path(cal.source).name
    data["name"] = f"calibrated-{Path(source).stem.split('.')[0]}"
    data["title"] = f"{loaded.scenario.title or loaded.scenario.name}, demand from {source}"
    data["description"] = (
        f"Calibrated by `muster calibrate` from {source}: {cal.incidents} incidents, "
        f"{a.first}..{a.last}; base rate {a.base_rate:.2f}/h. Starts on the busiest week "
        f"({a.busiest_start}, {a.busiest_arrivals} arrivals). Mix, staffing and parts come "
        f"from the base scenario {loaded.scenario.name}. {ATTRIBUTION}.")
    data["start"] = start.isoformat()
    data["horizon"] = "7d"
    data.pop("injects", None)  # the base's injects were written for its own week
    if replay:
        try:
            rel = events.resolve().relative_to(out_dir.resolve())
        except ValueError:
            rel = events.resolve()
        data["demand"] = {"replay": {"file": str(rel), "column": opened,
                                     "id_column": id_column, "format": fmt,
                                     "start": start.isoformat(), "days": 7,
                                     "timezone": loaded.calendar.timezone}}
    else:
        fragment = cal.to_scenario_fragment()["demand"]
        fragment["surges"] = [_offset(s, a.busiest_start) for s in fragment["surges"]
                              if _inside(s, a.busiest_start)]
        data["demand"] = fragment
    return data


def _inside(surge: dict[str, Any], week: date) -> bool:
    start = date.fromisoformat(surge["start"])
    return 0 <= (start - week).days < 7


def _offset(surge: dict[str, Any], week: date) -> dict[str, Any]:
    days = (date.fromisoformat(surge["start"]) - week).days
    return {**surge, "start": f"{days}d"}


def write_scenario(data: dict[str, Any], out: Path) -> Path:
    """Write the scenario YAML; refuse to write over anything but a previous calibration."""
    if out.exists() and "muster calibrate" not in out.read_text(encoding="utf-8",
                                                                errors="replace")[:400]:
        raise SimulationError(f"{out}: exists and was not written by muster calibrate; "
                              "choose another --out")
    header = ("# Scenario written by `muster calibrate`; edit freely.\n"
              f"# {ATTRIBUTION}\n")
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None,
                          width=100)
    try:
        out.write_text(header + body, encoding="utf-8")
    except OSError as exc:
        raise SimulationError(f"{out}: cannot write: {exc.strerror or exc}") from None
    return out

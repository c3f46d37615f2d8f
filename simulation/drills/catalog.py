"""The bundled drills: the bundled scenarios that carry a `drill:` section."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from simulation.scenario.loader import bundled_scenarios, load_scenario

__all__ = ["DrillInfo", "bundled_drills"]


@dataclass(frozen=True)
class DrillInfo:
    """What the home screen and `muster drill list` show of a drill."""

    name: str
    title: str
    path: Path
    length_minutes: float
    speed: float
    injects: int
    contingency: int
    briefing: str
    team: str

    @property
    def playing_minutes(self) -> float:
        """Wall-clock minutes to play it at its default speed."""
        return self.length_minutes / self.speed


@cache
def bundled_drills() -> tuple[DrillInfo, ...]:
    """Every bundled drill, by file name (loaded and checked once per process)."""
    out = []
    for path in bundled_scenarios():
        if "\ndrill:" not in path.read_text(encoding="utf-8"):
            continue  # not a drill: no need to load it
        loaded = load_scenario(path)
        d = loaded.scenario.drill
        if d is None:
            continue
        out.append(DrillInfo(loaded.scenario.name, d.title, path, d.length.wall_minutes,
                             d.speed, len(d.injects), len(d.contingency), d.briefing, d.team))
    return tuple(out)

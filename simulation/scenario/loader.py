"""Reading scenarios: YAML file -> located document -> `Scenario` -> `LoadedScenario`.

The SimPy model never reads a file: it gets a `LoadedScenario` in which everything a
scenario refers to is resolved and checked (playbooks loaded and linted, the textbook queue
turned into a one-state playbook, replayed history read and windowed). `load_scenario`
refuses a scenario with any error and lists them all at once, each as FILE:LINE:COL, so a
planner fixes a scenario in one pass rather than one run per mistake.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from incidents.model import Tier
from incidents.sla import BusinessCalendar
from incidents.source import (Diagnostic, DiagnosticError, Document, SourceError,
                              load_document, parse_document, resolve_bundled)
from playbooks.schema import Playbook
from simulation.errors import SimulationError
from simulation.scenario.model import MixEntry, PoolSpec, Queue, Replay, Scenario
from simulation.scenario.checks import cross_check, load_mix_playbooks, structure_diagnostics

__all__ = ["LoadedScenario", "load_scenario", "scenario_from_text", "queue_playbook",
           "scenarios_dir", "bundled_scenarios", "resolve_scenario", "DEFAULT_SCENARIO",
           "QUEUE_KIND", "QUEUE_POOL"]

DEFAULT_SCENARIO = "normal-week"
QUEUE_KIND = "queue"
"""The mix kind (and playbook key) of a textbook `queue` scenario."""
QUEUE_POOL = "servers"
"""The staffing pool of a textbook `queue` scenario."""


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario ready to simulate: every name it uses resolved, every check passed."""

    scenario: Scenario
    path: Path | None
    playbooks: dict[str, Playbook]
    """Mix kind -> its playbook (loaded and linted)."""
    mix: dict[str, MixEntry]
    """The effective mix; a `queue` scenario has one kind, `queue`, all tier 2."""
    staffing: dict[str, PoolSpec]
    """The effective staffing; a `queue` scenario has one pool, `servers`."""
    calendar: BusinessCalendar
    """scenario.calendar, or the calendar of the first playbook in the mix."""
    replay: tuple[float, ...] | None
    """Replayed arrival minutes since scenario.start, sorted, within [0, horizon)."""
    warnings: tuple[Diagnostic, ...]


# -- the textbook queue ----------------------------------------------------------------------

def queue_playbook(queue: Queue) -> Playbook:
    """The textbook M/G/c queue as a playbook: one state of work by a `server`, then done.

    No SLA targets (so no deadlines are armed), no escalation rules, no emergency levels and
    no messages: the model then behaves as the plain queue the formulas describe, which is
    what makes it a check of the simulator against queueing theory.
    """
    return Playbook.model_validate({
        "name": "textbook-queue",
        "title": "Textbook queue (M/G/c)",
        "description": "One service stage by c identical servers, first come first served.",
        "kinds": [QUEUE_KIND],
        "calendar": {"name": "24/7", "timezone": "UTC", "working_hours": "mon-sun 00:00-24:00"},
        "sla": {"VIP": {}, "tier1": {}, "tier2": {}},
        "roles": {"server": {"description": "One of the c identical servers"}},
        "lifecycle": {
            "initial": "service",
            "states": {
                "service": {"work": {"role": "server", "duration": queue.service},
                            "outcomes": {"served": "done"}},
                "done": {"final": True},
            },
        },
        "resources": {"priority": ["opened"],
                      "pools": {QUEUE_POOL: {"role": "server", "serves": ["service"]}}},
    })


# -- bundled scenarios -----------------------------------------------------------------------

def scenarios_dir() -> Path:
    """Folder of the bundled scenarios (installed with the package)."""
    return Path(str(resources.files("simulation") / "scenarios"))


def bundled_scenarios() -> list[Path]:
    """The bundled scenarios, by file name."""
    return sorted(scenarios_dir().glob("*.yaml"))


def resolve_scenario(name_or_path: str | Path) -> Path:
    """A path as given, or the bundled scenario of that name (`normal-week`)."""
    try:
        return resolve_bundled(name_or_path, scenarios_dir(), "scenario")
    except DiagnosticError as exc:
        raise SimulationError(exc.diagnostics) from None


# -- loading ---------------------------------------------------------------------------------

def load_scenario(name_or_path: str | Path) -> LoadedScenario:
    """A scenario ready to run, or `SimulationError` listing every error found."""
    path = resolve_scenario(name_or_path)
    try:
        doc = load_document(path)
    except SourceError as exc:
        raise SimulationError(exc.diagnostics) from None
    return _load(doc, path, path.parent)


def scenario_from_text(text: str, file: str = "<text>", base: Path | None = None) -> LoadedScenario:
    """Like `load_scenario` for YAML text; `base` is where relative files are looked up
    (default: the folder of `file`, or the working directory for `<text>`)."""
    try:
        doc = parse_document(text, file)
    except SourceError as exc:
        raise SimulationError(exc.diagnostics) from None
    if base is None:
        base = Path.cwd() if file.startswith("<") else Path(file).parent
    return _load(doc, None, base)


def _load(doc: Document, path: Path | None, base: Path) -> LoadedScenario:
    if not isinstance(doc.data, dict):
        raise SimulationError([doc.diag((), "a scenario must be a YAML mapping (key: value "
                                        "lines)")])
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        raise SimulationError(sorted(structure_diagnostics(exc, doc),
                                     key=lambda d: (d.file, d.line, d.col))) from None
    found: list[Diagnostic] = []
    if scenario.queue is not None:
        playbooks = {QUEUE_KIND: queue_playbook(scenario.queue)}
        mix = {QUEUE_KIND: MixEntry(playbook="<queue>", tiers={Tier.TIER2: 1.0})}
        staffing = {QUEUE_POOL: PoolSpec(roles=["server"], headcount=scenario.queue.servers)}
    else:
        playbooks, found = load_mix_playbooks(scenario, doc, base)
        mix, staffing = dict(scenario.mix), dict(scenario.staffing)
    first = playbooks.get(next(iter(mix)))
    calendar = scenario.calendar or (first.calendar if first else BusinessCalendar())
    found += cross_check(scenario, doc, playbooks, mix, staffing)
    replay = None
    if scenario.demand.replay is not None:
        replay, more = _replay(scenario, scenario.demand.replay, doc, base)
        found += more
    found.sort(key=lambda d: (d.file != doc.file, d.file, d.line, d.col))
    errors = [d for d in found if d.severity == "error"]
    if errors:
        raise SimulationError(errors)
    return LoadedScenario(scenario=scenario, path=path, playbooks=playbooks, mix=mix,
                          staffing=staffing, calendar=calendar, replay=replay,
                          warnings=tuple(d for d in found if d.severity == "warning"))


# -- replay ----------------------------------------------------------------------------------

def _replay(scenario: Scenario, spec: Replay, doc: Document,
            base: Path) -> tuple[tuple[float, ...] | None, list[Diagnostic]]:
    """Replayed arrivals, shifted so that replay.start is scenario minute 0.

    Errors of the replay reader (missing file, bad column, unreadable timestamps) keep their
    own FILE:LINE and are reported at `demand.replay.file`, where the scenario names the data.
    `read_events` rather than `read_timestamps`: its warnings (a few unreadable rows skipped)
    become scenario warnings instead of disappearing.
    """
    # numpy only when replaying
    from simulation.scenario.history import arrival_minutes, read_events

    where = ("demand", "replay", "file")
    file = Path(spec.file) if Path(spec.file).is_absolute() else base / spec.file
    try:
        events = read_events(file, column=spec.column, fmt=spec.format,
                             id_column=spec.id_column, tz=spec.timezone)
        stamps = events.opened
        start = spec.start if spec.start is not None else _busiest_start(stamps, spec.days)
        minutes = arrival_minutes(stamps, start, spec.days)
    except SimulationError as exc:
        reasons = [str(d) for d in exc.diagnostics] or [str(exc)]
        return None, [doc.diag(where, f"cannot replay {spec.file!r}: {r}") for r in reasons]
    found = [doc.diag(where, f"replay {spec.file!r}: {d}", severity="warning")
             for d in events.warnings]
    horizon = scenario.horizon.wall_minutes
    kept = tuple(m for m in minutes if m < horizon)
    if not kept:
        found.append(doc.diag(("demand", "replay"), f"the replay window from {start} "
                              f"({spec.days:g} days) holds no arrivals", severity="warning"))
    return kept, found


def _busiest_start(stamps: list[datetime], days: float) -> datetime:
    """Start of the `days`-long window holding the most arrivals (the earliest on a tie).

    Windows start at an arrival: any busiest window can slide forward to its first arrival
    without losing one; a binary search per arrival counts each window.
    """
    width = timedelta(days=days)
    best, best_i = -1, 0
    for i, t in enumerate(stamps):
        count = bisect_left(stamps, t + width, lo=i) - i
        if count > best:
            best, best_i = count, i
    return stamps[best_i]

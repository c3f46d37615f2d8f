"""Cross-reference checks of a scenario: the mistakes its schema cannot see on its own.

`scenario.py` checks each section by itself (types, ranges, required keys). Whether the names
in one section mean anything in another (a playbook that exists, a role some pool fills, a
SKU some playbook uses, a pool an inject can hit) needs the scenario and its playbooks
together. A simulation that silently idles a pool nobody can use, or parks cases in a state
nobody ever leaves, gives a planner a wrong answer with no hint why; so every finding here
is a located `Diagnostic` at the line to fix, with a "did you mean" where one is close.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from incidents.sla import Duration
from incidents.source import Diagnostic, Document, diagnostics_from_validation, suggest
from playbooks.loader import check_file, library_dir, library_files
from playbooks.schema import Playbook
from simulation.scenario.dispatch import eligible_pools
from simulation.scenario.drill import drill_diagnostics
from simulation.scenario.model import MAX_PEAK_ARRIVALS, MixEntry, PoolSpec, Scenario

__all__ = ["structure_diagnostics", "load_mix_playbooks", "cross_check", "work_roles",
           "used_parts", "waiting_states", "peak_rate", "instant_cycle", "INSTANT_MINUTES",
           "with_durations"]

INSTANT_MINUTES = 1 / 60
"""Work, event delays and timers shorter than this (a second) on average count as taking no
time: a case going round states by such steps only would never let the clock move on."""

Path_ = tuple[str | int, ...]
_LEADING_WORD = re.compile(r"^([A-Za-z_]+)\s*:?\s")
_QUOTED_WORD = re.compile(r"`([A-Za-z_]+)`")


# -- structure -------------------------------------------------------------------------------

def structure_diagnostics(exc: ValidationError, doc: Document) -> list[Diagnostic]:
    """Pydantic errors as located diagnostics, moved to the key a model-level error names.

    A model validator sees the whole section, so pydantic places its error at the section
    ("horizon must be longer than zero" at line 1); the user needs the line of `horizon`.
    When the message starts with (or quotes in backticks) a key present in that section, the
    diagnostic moves there.
    """
    out: list[Diagnostic] = []
    located = diagnostics_from_validation(exc, doc, Scenario)
    for err, diag in zip(exc.errors(include_url=False), located, strict=True):
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        message = err["msg"].removeprefix("Value error, ")
        section = _data_at(doc.data, loc)
        word = _named_key(message, section) if err["type"] == "value_error" else None
        if word is None:
            out.append(diag)
            continue
        path = loc + (word,)
        lead = _LEADING_WORD.match(message)
        if lead and lead.group(1) == word:
            message = message[lead.end():]
        out.append(doc.diag(path, f"{'.'.join(map(str, path))}: {message}"))
    return out


def _is_union_tag(part: str | int) -> bool:
    # The same filter as incidents.source: pydantic names union members inside locations.
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "dict"})


def _data_at(data: Any, loc: Path_) -> Any:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _named_key(message: str, section: Any) -> str | None:
    if not isinstance(section, dict):
        return None
    lead = _LEADING_WORD.match(message)
    words = ([lead.group(1)] if lead else []) + _QUOTED_WORD.findall(message)
    return next((w for w in words if w in section), None)


# -- playbooks -------------------------------------------------------------------------------

def _playbook_file(ref: str, base: Path) -> Path | None:
    """A file relative to the scenario when `ref` looks like a path, else a bundled name."""
    if Path(ref).suffix in {".yaml", ".yml"} or "/" in ref or "\\" in ref:
        path = Path(ref)
        return path if path.is_absolute() else base / path
    bundled = library_dir() / f"{ref}.yaml"
    return bundled if bundled.exists() else None


def load_mix_playbooks(scenario: Scenario, doc: Document,
                       base: Path) -> tuple[dict[str, Playbook], list[Diagnostic]]:
    """Each mix kind's playbook, loaded and linted; errors inside a playbook keep their own
    FILE:LINE, and the mix entry that names it gets one error pointing there."""
    playbooks: dict[str, Playbook] = {}
    found: list[Diagnostic] = []
    cache: dict[Path, tuple[Playbook | None, list[Diagnostic]]] = {}
    names = [p.stem for p in library_files()]
    for kind, entry in scenario.mix.items():
        where = ("mix", kind, "playbook")
        path = _playbook_file(entry.playbook, base)
        if path is None:
            found.append(doc.diag(where, f"unknown playbook {entry.playbook!r}: no bundled "
                                  f"playbook of that name{suggest(entry.playbook, names)}; "
                                  f"bundled: {', '.join(names)}; or give a .yaml file"))
            continue
        if path not in cache:
            if not path.is_file():
                cache[path] = None, []
                found.append(doc.diag(where, f"playbook file {str(path)!r} does not exist "
                                      "(a path is relative to the scenario file)"))
                continue
            cache[path] = check_file(path)
            found.extend(d for d in cache[path][1] if d.severity == "error")
        playbook, findings = cache[path]
        errors = [d for d in findings if d.severity == "error"]
        if playbook is None or errors:
            if errors:
                found.append(doc.diag(where, f"playbook {entry.playbook!r} cannot be used: "
                                      f"{len(errors)} error(s) in {path}"))
            continue
        if entry.durations:
            playbook, more = with_durations(playbook, entry.durations, doc, ("mix", kind))
            found += more
        playbooks[kind] = playbook
    return playbooks, found


def with_durations(playbook: Playbook, durations: dict[str, Any], doc: Document,
                   where: Path_) -> tuple[Playbook, list[Diagnostic]]:
    """The playbook with the work of some states taking the scenario's `durations` instead
    (a calibrated log's service time), and an error for each state that does no work."""
    states = dict(playbook.lifecycle.states)
    working = [name for name, st in states.items() if st.work is not None]
    found: list[Diagnostic] = []
    for state, dist in durations.items():
        st = states.get(state)
        if st is None or st.work is None:
            what = "has no state" if st is None else "does no work in state"
            found.append(doc.diag((*where, "durations", state), f"playbook {playbook.name!r} "
                                  f"{what} {state!r}{suggest(state, working)}; states with "
                                  f"work: {', '.join(working) or 'none'}", key=True))
            continue
        states[state] = st.model_copy(update={"work": st.work.model_copy(
            update={"duration": dist})})
    lifecycle = playbook.lifecycle.model_copy(update={"states": states})
    return playbook.model_copy(update={"lifecycle": lifecycle}), found


# -- what playbooks need ---------------------------------------------------------------------

def work_roles(playbook: Playbook) -> dict[str, list[str]]:
    """Role -> the states whose work needs it."""
    out: dict[str, list[str]] = {}
    for name, state in playbook.lifecycle.states.items():
        if state.work is not None:
            out.setdefault(state.work.role, []).append(name)
    return out


def used_parts(playbook: Playbook, entry: MixEntry) -> set[str]:
    """SKUs some work of the playbook may take, after the mix entry's probability overrides."""
    out: set[str] = set()
    for state in playbook.lifecycle.states.values():
        if state.work is not None:
            for sku, use in state.work.parts.items():
                if entry.parts.get(sku, use.p) > 0:
                    out.add(sku)
    return out


def waiting_states(playbook: Playbook, entry: MixEntry) -> dict[str, list[str]]:
    """Reachable states without work that no trigger the scenario fires can ever leave.

    A trigger is fired by the state's own timers, by the mix entry's `events`, or is an
    outcome trigger (a host draws those). Reachability only follows such triggers, so a state
    the scenario can never enter is not reported.
    """
    states = playbook.lifecycle.states
    outcome_names = {t for st in states.values() for t in st.outcomes}

    def fired(state: str) -> set[str]:
        st = states[state]
        return {t for t in st.on
                if t in entry.events or t in outcome_names or any(x.fire == t for x in st.timers)}

    seen = {playbook.lifecycle.initial}
    queue = deque(seen)
    while queue:
        here = queue.popleft()
        st = states[here]
        nxt = {o.to for o in st.outcomes.values()}
        nxt |= {alt.to for t in fired(here) for alt in st.on[t]}
        for name in nxt - seen:
            seen.add(name)
            queue.append(name)
    return {name: list(states[name].on) for name in states
            if name in seen and states[name].work is None and not states[name].final
            and not fired(name)}


def _instant_duration(value: Duration) -> bool:
    # Working time runs like the wall clock while the office is open: count it so.
    if value.is_working:
        return value.amount * (60.0 if value.unit == "working_hours" else 1440.0) \
            < INSTANT_MINUTES
    return value.wall_minutes < INSTANT_MINUTES


def instant_cycle(playbook: Playbook, entry: MixEntry) -> list[str] | None:
    """States a case could go round without the clock moving, or None.

    A step takes no time when it is work whose duration averages under a second (then to
    any of its outcomes), or an event the scenario fires with such a delay, or a timer that
    short (then to any alternative of the trigger). A cycle of such steps is an endless loop
    at one instant. Found by an iterative depth-first search (no recursion), cycle first.
    """
    states = playbook.lifecycle.states
    edges: dict[str, list[str]] = {}
    for name, st in states.items():
        out: list[str] = []
        if st.work is not None and st.work.duration.mean < INSTANT_MINUTES:
            out += [o.to for o in st.outcomes.values()]
        instant = {t.fire for t in st.timers if _instant_duration(t.after)}
        instant |= {t for t in st.on if t in entry.events
                    and entry.events[t].mean < INSTANT_MINUTES}
        out += [alt.to for t in instant if t in st.on for alt in st.on[t]]
        edges[name] = [n for n in dict.fromkeys(out) if n in states]
    colour: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in states:
        if root in colour:
            continue
        path, stack = [root], [iter(edges[root])]
        colour[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = 2
                stack.pop()
            elif colour.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in colour:
                colour[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges[nxt]))
    return None


# -- shifts ----------------------------------------------------------------------------------

def _never_on_duty(spec: PoolSpec) -> bool:
    """True when the schedule gives nobody at any hour of the week."""
    if spec.headcount is not None:
        return spec.headcount == 0
    return all(s.headcount == 0 or _empty(s) for s in spec.shifts)


def _empty(shift: Any) -> bool:
    return shift.start == shift.end and (shift.start.hour, shift.start.minute) != (0, 0)


def _minutes_after_start(value: Any, scenario: Scenario) -> float | None:
    """A surge/inject start as minutes since scenario.start; None for a naive date-time."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return None
        return (value - scenario.start).total_seconds() / 60.0
    return float(value.wall_minutes)


# -- the checks ------------------------------------------------------------------------------

class _Checker:
    """Runs every cross-reference check; `found` collects the findings in order."""

    def __init__(self, scenario: Scenario, doc: Document, playbooks: dict[str, Playbook],
                 mix: dict[str, MixEntry], staffing: dict[str, PoolSpec]) -> None:
        self.sc = scenario
        self.doc = doc
        self.playbooks = playbooks
        self.mix = mix
        self.staffing = staffing
        self.found: list[Diagnostic] = []
        self.needed: dict[str, list[str]] = {}  # role -> kinds whose work needs it
        for kind, pb in playbooks.items():
            for role in work_roles(pb):
                self.needed.setdefault(role, []).append(kind)
        self.messages = scenario.messages.role is not None and any(
            pb.communications for pb in playbooks.values())

    def add(self, path: Path_, message: str, severity: Literal["error", "warning"] = "error",
            key: bool = False) -> None:
        self.found.append(self.doc.diag(path, message, severity=severity, key=key))

    def run(self) -> list[Diagnostic]:
        self.roles()
        self.pools()
        self.parts()
        self.mix_entries()
        self.injects()
        self.timing()
        self.rest()
        return self.found

    def pool_roles(self) -> set[str]:
        return {r for spec in self.staffing.values() for r in spec.roles}

    def roles(self) -> None:
        filled = self.pool_roles()
        for kind, pb in self.playbooks.items():
            for role, states in work_roles(pb).items():
                if role not in filled:
                    self.add(("mix", kind), f"playbook {pb.name!r} needs role {role!r} (work of "
                             f"{', '.join(map(repr, states))}), which no pool in staffing fills"
                             f"{suggest(role, filled)}", key=True)
                    continue
                for state in states:
                    work = pb.lifecycle.states[state].work
                    assert work is not None
                    if not eligible_pools(pb, state, role, work.skill, self.staffing,
                                          self.playbooks):
                        need = f"skill {work.skill!r} of role {role!r}" if work.skill \
                            else f"role {role!r}"
                        self.add(("mix", kind), f"no pool may do the work of state {state!r} "
                                 f"of playbook {pb.name!r}: it needs {need}, and the pools "
                                 f"that fill the role lack the skill or serve other states "
                                 f"(staffing.<pool>.skills, resources.pools.<pool>.serves)",
                                 key=True)
        known = {s for pb in self.playbooks.values() for r in pb.roles.values()
                 for s in r.skills}
        for name, spec in self.staffing.items():
            for i, skill in enumerate(spec.skills or []):
                if skill not in known:
                    self.add(("staffing", name, "skills", i), f"skill {skill!r} is listed by no "
                             f"role of the mix's playbooks{suggest(skill, known)}", "warning")
        if self.messages and self.sc.messages.role not in filled:
            self.add(("messages", "role"), f"messages.role {self.sc.messages.role!r} is filled "
                     f"by no pool in staffing: owed messages are sent at once, costing nobody's "
                     f"time{suggest(str(self.sc.messages.role), filled)}", "warning")
        # A role a playbook declares but gives no work (standard-repair's senior_technician,
        # named only in its resources.pools) is not a mistake to list; a pool of nothing else
        # is, since it would never be busy. A role no playbook declares is a typo.
        working = set(self.needed) | ({self.sc.messages.role} if self.messages else set())
        declared = working | {r for pb in self.playbooks.values() for r in pb.roles}
        if self.playbooks.keys() != self.mix.keys():
            return  # a playbook failed to load: its roles are unknown
        for name, spec in self.staffing.items():
            for i, role in enumerate(spec.roles):
                if role not in declared:
                    self.add(("staffing", name, "roles", i), f"pool {name!r} fills role "
                             f"{role!r}, which no playbook in the mix uses"
                             f"{suggest(role, declared)}")
            if set(spec.roles) <= declared and not set(spec.roles) & working:
                self.add(("staffing", name, "roles"), f"pool {name!r} fills only roles no work "
                         f"in the mix needs ({', '.join(spec.roles)}): it will never be busy",
                         "warning")

    def pools(self) -> None:
        lead = self.playbooks.get(next(iter(self.mix), ""))
        for name, spec in self.staffing.items():
            here = ("staffing", name)
            for i, shift in enumerate(spec.shifts):
                if _empty(shift):
                    self.add(here + ("shifts", i), f"empty shift: start and end are both "
                             f"{shift.start:%H:%M} (write 00:00-00:00 for all day)")
            if not spec.contractor and _never_on_duty(spec):
                self.add(here, f"pool {name!r} has zero headcount at every hour of the week",
                         key=True)
            serves = [r for r in spec.roles if r in self.needed]
            if not (spec.contractor and serves):
                continue
            if _never_on_duty(spec):
                why = "its schedule gives nobody at any hour"
            elif not self._unlockable(name, spec, lead):
                why = (f"it is a contractor pool and no emergency level of playbook "
                       f"{lead.name if lead else ''!r} unlocks contractors for it")
            else:
                continue
            self.add(here, f"pool {name!r} fills {', '.join(map(repr, serves))}, which work "
                     f"needs, but is never on duty: {why}", key=True)

    @staticmethod
    def _unlockable(name: str, spec: PoolSpec, lead: Playbook | None) -> bool:
        """Contractors come when the leading playbook (whose emergency levels run) unlocks
        contractors for this pool, for every pool, or for a playbook pool of a role it fills."""
        if lead is None:
            return True  # the playbook failed to load; its own errors say so
        for unlock in lead.resources.unlocks:
            if unlock.resource != "contractors":
                continue
            target = lead.resources.pools.get(unlock.pool or "")
            if unlock.pool in (None, name) or (target is not None and target.role in spec.roles):
                return True
        return False

    def parts(self) -> None:
        used: set[str] = set()
        for kind, pb in self.playbooks.items():
            mine = used_parts(pb, self.mix[kind])
            used |= mine
            for sku in sorted(mine - self.sc.parts.keys()):
                self.add(("mix", kind, "playbook"), f"playbook {pb.name!r} uses part {sku!r}, "
                         "which has no entry in parts: treated as unlimited stock", "warning")
        if self.playbooks.keys() != self.mix.keys():
            return  # a playbook failed to load: its parts are unknown
        for sku in self.sc.parts:
            if sku not in used:
                self.add(("parts", sku), f"part {sku!r} is used by no playbook in the mix"
                         f"{suggest(sku, used)}", key=True)

    def mix_entries(self) -> None:
        for kind, entry in self.mix.items():
            here = ("mix", kind)
            tiers = entry.tiers
            if any(w < 0 for w in tiers.values()) or sum(tiers.values()) <= 0:
                self.add(here + ("tiers",), "tier weights must be >= 0 and not all zero")
            for sku, p in entry.parts.items():
                if not 0 <= p <= 1:
                    self.add(here + ("parts", sku), f"probability {p:g} of part {sku!r} is not "
                             "between 0 and 1")
            pb = self.playbooks.get(kind)
            if pb is None:
                continue
            skus = {s for st in pb.lifecycle.states.values() if st.work
                    for s in st.work.parts}
            for sku in entry.parts:
                if sku not in skus:
                    self.add(here + ("parts", sku), f"part {sku!r} is not used by the work of "
                             f"playbook {pb.name!r}{suggest(sku, skus)}", key=True)
            accepted = {t for st in pb.lifecycle.states.values() for t in st.on}
            for event in entry.events:
                if event not in accepted:
                    self.add(here + ("events", event), f"event {event!r} is accepted by no "
                             f"state of playbook {pb.name!r}{suggest(event, accepted)}",
                             key=True)
            cycle = instant_cycle(pb, entry)
            if cycle is not None:
                self.add(here, f"cases could go round states {' -> '.join(cycle)} of playbook "
                         f"{pb.name!r} without the clock moving (work, mix.{kind}.events delays "
                         "or timers under a second): the run would never end; make one step "
                         "take time", key=True)
            for state, triggers in waiting_states(pb, entry).items():
                self.add(here, f"cases in state {state!r} of playbook {pb.name!r} wait for "
                         f"events {triggers} that the scenario never fires (list one in "
                         f"mix.{kind}.events)", "warning", key=True)
            for i, unlock in enumerate(pb.resources.unlocks):
                if unlock.pool is not None and unlock.pool not in self.staffing:
                    self.add(here + ("playbook",), f"playbook {pb.name!r} unlocks "
                             f"{unlock.resource} for pool {unlock.pool!r} (resources.unlocks[{i}])"
                             f", which staffing lacks{suggest(unlock.pool, self.staffing)}: "
                             "that unlock does nothing", "warning")
        c = self.sc.complaints
        if c.probability > 0 and c.kind not in self.mix:
            self.add(("complaints", "kind"), f"complaints follow mix kind {c.kind!r}, which the "
                     f"mix lacks{suggest(c.kind, self.mix)}")

    def injects(self) -> None:
        for i, inject in enumerate(self.sc.injects):
            here = ("injects", i)
            if inject.pool is not None and inject.pool not in self.staffing:
                self.add(here + ("pool",), f"unknown pool {inject.pool!r}"
                         f"{suggest(inject.pool, self.staffing)}")
            if inject.sku is not None and inject.sku not in self.sc.parts:
                self.add(here + ("sku",), f"unknown SKU {inject.sku!r}: not in parts"
                         f"{suggest(inject.sku, self.sc.parts)}")
            if inject.kind == "crm_outage" and inject.duration.wall_minutes <= 0:
                self.add(here + ("kind",), f"a {inject.kind} inject without a duration has no "
                         "effect", "warning")

    def timing(self) -> None:
        horizon = self.sc.horizon.wall_minutes
        starts: list[tuple[Path_, Any, str]] = [
            (("demand", "surges", i, "start"), s.start, "surge")
            for i, s in enumerate(self.sc.demand.surges)]
        starts += [(("injects", i, "at"), inj.at, "inject")
                   for i, inj in enumerate(self.sc.injects)]
        for path, value, what in starts:
            at = _minutes_after_start(value, self.sc)
            if at is None:
                self.add(path, f"date-time {value} needs a time zone, e.g. "
                         f"{value.isoformat()}+08:00")
            elif at >= horizon:
                self.add(path, f"this {what} starts after the horizon "
                         f"({self.sc.horizon}) and never takes effect", "warning")
            elif at < 0:
                self.add(path, f"this {what} starts before the scenario start", "warning")

    def rest(self) -> None:
        sc = self.sc
        q = sc.queue
        if q is not None and not q.arrival_rate > 0:
            self.add(("queue", "arrival_rate"), f"queue.arrival_rate must be > 0, "
                     f"got {q.arrival_rate:g}")
        if q is not None and "base_rate" in sc.demand.model_fields_set:
            self.add(("demand", "base_rate"), "with `queue:` the rate is queue.arrival_rate; "
                     "`demand:` gives only its shape (hourly, weekly, profile, surges)",
                     key=True)
        if q is not None and sc.demand.replay is not None:
            self.add(("demand", "replay"), "a textbook `queue:` draws its arrivals; replay "
                     "history in a scenario with a `mix:` instead", key=True)
        self.peak_arrivals()
        if sc.warmup.wall_minutes >= sc.horizon.wall_minutes:
            self.add(("warmup",), f"warmup ({sc.warmup}) covers the whole horizon "
                     f"({sc.horizon}): no incident would be measured", "warning")
        replay = sc.demand.replay
        if replay is not None:
            if sc.demand.surges:
                self.add(("demand", "surges"), "surges do not apply to replayed arrivals",
                         "warning", key=True)
            if replay.days * 1440 < sc.horizon.wall_minutes:
                self.add(("demand", "replay", "days"), f"the replay covers {replay.days:g} "
                         f"days of the {sc.horizon} horizon: no arrivals after that", "warning")

    def peak_arrivals(self) -> None:
        """Refuse demand whose peak rate over the horizon exceeds MAX_PEAK_ARRIVALS."""
        sc = self.sc
        if sc.queue is None and sc.demand.replay is not None:
            return  # replayed arrivals are read from a file, not drawn
        rate = peak_rate(sc)
        total = rate * sc.horizon.wall_minutes / 60.0
        if total <= MAX_PEAK_ARRIVALS:
            return
        where = ("queue", "arrival_rate") if sc.queue is not None else ("demand", "base_rate")
        self.add(where, f"{'.'.join(where)}: at its peak (the busiest hour and day, every surge "
                 f"at once) demand reaches {_count(rate)} arrivals per hour, {_count(total)} "
                 f"over the {sc.horizon} horizon; the limit is {MAX_PEAK_ARRIVALS:,} (lower the "
                 "rate, the surge factors or the horizon)")


def _count(x: float) -> str:
    """A large count as people read it: 2,400,000; past 1e15 (or infinite) as 1.7e+18."""
    return f"{x:,.0f}" if x < 1e15 else f"{x:.3g}"


def peak_rate(scenario: Scenario) -> float:
    """The most arrivals per hour the demand can reach: the base rate (or the queue's) at the
    busiest hour of the busiest day, with every surge and `demand_spike` inject at once.

    Arrivals are drawn by thinning at this rate, so it, not the mean, says how much work
    drawing them is. Infinite when the product overflows.
    """
    spikes = [i.factor for i in scenario.injects if i.kind == "demand_spike"]
    d = scenario.arrival_demand()
    rate = d.base_rate * max(d.hourly or [1.0]) * max(d.weekly or [1.0])
    if d.profile is not None:
        rate *= max(max(row) for row in d.profile)
    factors = [*(s.factor for s in d.surges), *spikes]
    for factor in factors:
        rate *= max(factor, 1.0)
    return rate


def cross_check(scenario: Scenario, doc: Document, playbooks: dict[str, Playbook],
                mix: dict[str, MixEntry], staffing: dict[str, PoolSpec]) -> list[Diagnostic]:
    """Every cross-reference error and warning of a structurally valid scenario.

    `playbooks` holds the mix kinds whose playbook loaded; checks that need a missing one are
    skipped (its loading error already says why). `mix` and `staffing` are the effective
    ones, so a textbook-queue scenario is checked like any other.
    """
    found = _Checker(scenario, doc, playbooks, mix, staffing).run()
    if scenario.drill is not None:
        lead = playbooks.get(next(iter(mix), ""))
        levels = [lead.emergency.normal, *lead.emergency.levels] if lead is not None else []
        found += drill_diagnostics(
            scenario.drill, doc, kinds=mix, pools=staffing, skus=scenario.parts, levels=levels,
            end_minutes=scenario.horizon.wall_minutes + scenario.drain.wall_minutes,
            obligations=[n for pb in playbooks.values() for n in pb.communications],
            unlocks=[(u.resource, u.pool) for u in lead.resources.unlocks] if lead else [])
    return found

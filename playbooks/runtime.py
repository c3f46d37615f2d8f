"""The clock-free playbook runtime: (case, trigger, time) -> (new case, effects).

One runtime serves three hosts: the SimPy model (simulated minutes), drills (simulated time
driven by a team) and the live desk (wall-clock minutes since an epoch). It never reads a clock
and never sleeps; deadlines are returned as `Arm`/`Cancel` effects for the host to keep, and
come back through `expire`. Cases are immutable values, so a host can keep, compare and replay
them.

The playbook is compiled once (`compiled.py`) into per-state plans; `machines.py` builds the
equivalent `transitions` machines, and property tests prove the two agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from enum import Enum
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo

from incidents.model import MILESTONES, Incident
from incidents.sla import Duration, TimeBase
from playbooks.compiled import ABANDON, ABANDONED, Comm, Plan, Route, StatePlan, compile_plan
from playbooks.effects import (Breached, Deescalated, Effect, Escalated, Transitioned, arm,
                               message_owed, milestone_met)
from playbooks.errors import InvalidTrigger
from playbooks.lint import CASE_PLACEHOLDERS
from playbooks.schema import Playbook

__all__ = ["Case", "Step", "Runtime", "DEFAULT_EPOCH"]

DEFAULT_EPOCH = datetime(2026, 1, 5, tzinfo=timezone.utc)
"""A Monday: the epoch used when a host does not give one."""

_EMPTY: Mapping[str, int] = MappingProxyType({})
_NONE: frozenset[str] = frozenset()
_SLA_KEY = {ms: f"sla:{ms}" for ms in MILESTONES}


class Case(NamedTuple):
    """One incident's position in its playbook. Never edited: each step makes a new one."""

    incident: Incident
    state: str
    level: int
    """Index into the playbook's escalation levels (0 = front line)."""
    opened: float
    updated: float
    """Minute of the last step; time never goes backwards for a case."""
    timers: Mapping[str, float]
    """Armed deadlines: key -> due minute."""
    counts: Mapping[str, int] = _EMPTY
    """How often each trigger watched by an escalation rule has fired."""
    met: frozenset[str] = frozenset()
    """SLA milestones reached."""
    breached: frozenset[str] = frozenset()
    """SLA milestones whose deadline passed before they were reached."""
    closed: bool = False


class Step(NamedTuple):
    """The result of one call: the new case and what the host must do."""

    case: Case
    effects: tuple[Effect, ...]


class _Context(Mapping[str, object]):
    """Placeholder values of a case message, read only when the text is rendered."""

    __slots__ = ("incident", "state", "level", "playbook", "due", "timebase", "zone")

    def __init__(self, incident: Incident, state: str, level: str, playbook: str, due: float,
                 timebase: TimeBase, zone: ZoneInfo) -> None:
        self.incident, self.state, self.level, self.playbook = incident, state, level, playbook
        self.due, self.timebase, self.zone = due, timebase, zone

    def __getitem__(self, key: str) -> object:
        if key in ("state", "level", "playbook"):
            return getattr(self, key)
        if key == "due":
            return (self.timebase.to_datetime(self.due).astimezone(self.zone)
                    .strftime("%Y-%m-%d %H:%M"))
        if key not in CASE_PLACEHOLDERS:
            raise KeyError(key)
        value = getattr(self.incident, key)
        return value.value if isinstance(value, Enum) else value

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(CASE_PLACEHOLDERS))

    def __len__(self) -> int:
        return len(CASE_PLACEHOLDERS)


class _Tx:
    """Scratch space for one step; becomes a new immutable Case at the end."""

    __slots__ = ("case", "timers", "effects", "level", "met", "breached", "counts", "at",
                 "state", "cancels", "own")

    def __init__(self, case: Case, at: float, cancels: dict) -> None:
        self.case = case
        self.timers: dict[str, float] = case.timers  # type: ignore[assignment]
        self.own = False
        """Whether `timers` is already this step's own copy (copy on first change)."""
        self.effects: list[Effect] = []
        self.level = case.level
        self.met = case.met
        self.breached = case.breached
        self.counts = case.counts
        self.at = at
        self.state = case.state
        self.cancels = cancels

    def arm(self, key: str, due: float) -> None:
        if not self.own:
            self.timers, self.own = dict(self.timers), True
        if key in self.timers:
            self.effects.append(self.cancels[key])
        self.timers[key] = due
        self.effects.append(arm(key, due))

    def cancel(self, key: str) -> None:
        if key in self.timers:
            if not self.own:
                self.timers, self.own = dict(self.timers), True
            del self.timers[key]
            self.effects.append(self.cancels[key])

    def finish(self, closed: bool = False) -> Step:
        c = self.case
        case = tuple.__new__(Case, (c.incident, self.state, self.level, c.opened, self.at,
                                    self.timers, self.counts, self.met, self.breached, closed))
        return tuple.__new__(Step, (case, tuple(self.effects)))


class Runtime:
    """A compiled playbook. Shareable: it holds no per-case state."""

    def __init__(self, playbook: Playbook, *, epoch: datetime = DEFAULT_EPOCH) -> None:
        self.playbook = playbook
        self.timebase = TimeBase(epoch, playbook.calendar)
        self._zone = ZoneInfo(playbook.calendar.timezone)
        self.plan: Plan = compile_plan(playbook)
        self.initial = self.plan.initial
        self.levels: tuple[str, ...] = self.plan.levels
        self._level_index = {name: i for i, name in enumerate(self.levels)}
        self.final = frozenset(n for n, p in self.plan.states.items() if p.final)
        self._opened = Transitioned("open", None, self.plan.initial)
        first = self.plan.states[self.plan.initial]
        simple = first.quiet and not (self.plan.esc_opened or self.plan.comm_opened)
        self._open_fixed = {tier: (self._opened,) + ((first.work,) if first.work else ())
                            for tier, targets in self.plan.sla.items() if simple and not targets}
        """tier -> the whole effect tuple of `open`, for tiers whose opening arms nothing."""
        self.table = {n: {t: tuple((r.pred, r.dest) for r in routes)
                          for t, routes in p.routes.items()}
                      for n, p in self.plan.states.items()}
        """state -> trigger -> ((predicate or None, destination), ...): the transition table."""

    # -- queries -----------------------------------------------------------------------------
    def triggers(self, case: Case) -> tuple[str, ...]:
        """Triggers the case's current state accepts (for menus and tests)."""
        return () if case.closed else tuple(self.plan.states[case.state].routes)

    def level_name(self, case: Case) -> str:
        return self.levels[case.level]

    def deadline(self, at: float, duration: Duration) -> float:
        """`at` plus a duration, through the playbook's business calendar when needed."""
        return self.timebase.deadline(at, duration)

    def prebuilt(self) -> Iterator[tuple[Effect, ...]]:
        """The effect tuples steps return as they are, built once (the fast paths of `open`
        and `fire`): a host that applies millions of steps may recognise them by identity
        and prepare for each once. They live as long as the runtime."""
        yield from self._open_fixed.values()
        for state in self.plan.states.values():
            for routes in state.routes.values():
                for route in routes:
                    if route.plain:
                        yield route.effects
                    if route.closing:
                        yield route.closing

    # -- steps -------------------------------------------------------------------------------
    def open(self, incident: Incident, at: float) -> Step:
        """Start a case at minute `at`: arm its SLA clocks, enter the initial state."""
        plan = self.plan
        case = tuple.__new__(Case, (incident, plan.initial, 0, at, at, _EMPTY, _EMPTY,
                                    _NONE, _NONE, False))
        fixed = self._open_fixed.get(incident.tier)
        if fixed is not None:  # no clocks, rules or messages at opening: nothing to compute
            return tuple.__new__(Step, (case, fixed))
        tx = _Tx(case, at, plan.cancels)
        tx.effects.append(self._opened)
        deadline = self.timebase.deadline
        for _, target, key in plan.sla[incident.tier]:
            tx.arm(key, deadline(at, target))
        for rule in plan.esc_opened:
            if rule.pred is None or rule.pred(incident):
                tx.arm(rule.key, deadline(at, rule.after))  # type: ignore[arg-type]
        for comm in plan.comm_opened:
            self._owe(tx, comm)
        return self._enter(tx, plan.states[plan.initial])

    def fire(self, case: Case, trigger: str, at: float) -> Step:
        """Apply a trigger at minute `at`; `InvalidTrigger` if the state does not accept it."""
        if case.closed or at < case.updated:
            self._refuse(case, at)
        plan = self.plan.states[case.state]
        routes = plan.routes.get(trigger)
        if routes is None:
            accepted = ", ".join(plan.routes) or "nothing"
            raise InvalidTrigger(f"case {case.incident.id}: state {case.state!r} does not accept "
                                 f"trigger {trigger!r} (it accepts: {accepted})")
        for route in routes:
            if route.pred is None or route.pred(case.incident):
                if route.plain:  # nothing to arm, cancel, meet or owe: skip the scratch space
                    return tuple.__new__(Step, (tuple.__new__(Case, (
                        case.incident, route.dest, case.level, case.opened, at, case.timers,
                        case.counts, case.met, case.breached, False)), route.effects))
                if route.closing and not case.timers:  # closing with nothing to cancel
                    return tuple.__new__(Step, (tuple.__new__(Case, (
                        case.incident, route.dest, case.level, case.opened, at, case.timers,
                        case.counts, case.met, case.breached, True)), route.closing))
                return self._move(_Tx(case, at, self.plan.cancels), plan, trigger, route)
        raise InvalidTrigger(f"case {case.incident.id}: trigger {trigger!r} in state "
                             f"{case.state!r} has no alternative for this incident")

    def expire(self, case: Case, key: str, at: float) -> Step:
        """A deadline the host armed has come due: act on it."""
        if case.closed or at < case.updated:
            self._refuse(case, at)
        due = case.timers.get(key)
        if due is None:
            raise InvalidTrigger(f"case {case.incident.id}: no deadline {key!r} is armed")
        if at < due - 1e-9:
            raise InvalidTrigger(f"case {case.incident.id}: deadline {key!r} is due at {due:g}, "
                                 f"not {at:g}")
        plan = self.plan
        tx = _Tx(case, at, plan.cancels)
        tx.timers, tx.own = dict(case.timers), True
        del tx.timers[key]
        kind, _, name = key.partition(":")
        if kind == "timer":
            state = plan.states[case.state]
            fire = next(f for k, _, f in state.timers if k == key)
            for route in state.routes[fire]:
                if route.pred is None or route.pred(case.incident):
                    return self._move(tx, state, fire, route)
            raise InvalidTrigger(f"case {case.incident.id}: timer trigger {fire!r} has no "
                                 "alternative for this incident")
        if kind == "sla":
            tx.effects.append(Breached(name, due))
            tx.breached = tx.breached | {name}
            for rule in plan.esc_breach.get(name, ()):
                if rule.pred is None or rule.pred(case.incident):
                    self._escalate(tx, rule.to, rule.name)
            for comm in plan.comm_breach.get(name, ()):
                self._owe(tx, comm)
        elif kind == "esc":
            self._escalate(tx, plan.esc_rules[name].to, name)
        elif kind == "comm":
            self._owe(tx, plan.comms[name])
        return tx.finish()

    def abandon(self, case: Case, at: float) -> Step:
        """The customer gave up waiting: fire the playbook's abandon trigger, move the case
        to its abandon state, or, if it names neither, close the case as `abandoned`
        (every deadline cancelled; milestones not reached stay unjudged)."""
        if case.closed or at < case.updated:
            self._refuse(case, at)
        plan = self.plan
        if plan.abandon_trigger is not None:
            return self.fire(case, plan.abandon_trigger, at)
        source = plan.states[case.state]
        route = plan.abandon_moves[case.state]
        tx = _Tx(case, at, plan.cancels)
        if route.dest in plan.states:
            return self._move(tx, source, ABANDON, route)
        tx.effects.append(route.effect)
        tx.state = ABANDONED
        for key in sorted(tx.timers):
            tx.cancel(key)
        tx.effects.append(plan.abandoned)
        return tx.finish(closed=True)

    def escalate(self, case: Case, level: str, at: float, reason: str = "manual") -> Step:
        """Raise a case by hand (a drill team or a coordinator decides to)."""
        if case.closed or at < case.updated:
            self._refuse(case, at)
        if level not in self._level_index:
            raise InvalidTrigger(f"unknown escalation level {level!r}; levels: "
                                 f"{', '.join(self.levels)}")
        if self._level_index[level] <= case.level:
            raise InvalidTrigger(f"case {case.incident.id} is already at "
                                 f"{self.levels[case.level]!r}; escalation only goes up")
        tx = _Tx(case, at, self.plan.cancels)
        self._escalate(tx, level, reason)
        return tx.finish()

    def deescalate(self, case: Case, level: str, at: float, reason: str = "manual") -> Step:
        """Lower a case by hand (a drill team or a coordinator decides it no longer needs
        the higher level). Escalation rules may raise it again later."""
        if case.closed or at < case.updated:
            self._refuse(case, at)
        if level not in self._level_index:
            raise InvalidTrigger(f"unknown escalation level {level!r}; levels: "
                                 f"{', '.join(self.levels)}")
        target = self._level_index[level]
        if target >= case.level:
            raise InvalidTrigger(f"case {case.incident.id} is at {self.levels[case.level]!r}; "
                                 "de-escalation only goes down")
        tx = _Tx(case, at, self.plan.cancels)
        tx.effects.append(Deescalated(self.levels[case.level], level, reason))
        tx.level = target
        return tx.finish()

    # -- internals ---------------------------------------------------------------------------
    @staticmethod
    def _refuse(case: Case, at: float) -> None:
        if case.closed:
            raise InvalidTrigger(f"case {case.incident.id} is closed ({case.state!r})")
        raise InvalidTrigger(f"case {case.incident.id}: time {at:g} is before its last "
                             f"step at {case.updated:g}")

    def _move(self, tx: _Tx, source: StatePlan, trigger: str, route: Route) -> Step:
        if source.leave_cancels:
            for key in source.leave_cancels:
                tx.cancel(key)
        tx.effects.append(route.effect)
        rules = self.plan.esc_trigger.get(trigger)
        if rules:
            counts = dict(tx.counts)
            counts[trigger] = counts.get(trigger, 0) + 1
            tx.counts = counts
            for rule in rules:
                if counts[trigger] == rule.count and (rule.pred is None
                                                      or rule.pred(tx.case.incident)):
                    self._escalate(tx, rule.to, rule.name)
        return self._enter(tx, self.plan.states[route.dest])

    def _enter(self, tx: _Tx, plan: StatePlan) -> Step:
        tx.state = plan.name
        if plan.quiet:
            if plan.work is not None:
                tx.effects.append(plan.work)
            return tx.finish()
        at = tx.at
        for ms in plan.milestones:
            if ms not in tx.met:
                self._meet(tx, ms)
        for key in plan.enter_cancels:
            tx.cancel(key)
        if plan.final:
            for key in sorted(tx.timers):
                tx.cancel(key)
            tx.effects.append(plan.closed)  # type: ignore[arg-type]
            return tx.finish(closed=True)
        incident = tx.case.incident
        deadline = self.timebase.deadline
        for key, after, _ in plan.timers:
            tx.arm(key, deadline(at, after))
        for rule in plan.esc_since:
            if rule.pred is None or rule.pred(incident):
                tx.arm(rule.key, deadline(at, rule.after))  # type: ignore[arg-type]
        for rule in plan.esc_enter:
            if rule.pred is None or rule.pred(incident):
                self._escalate(tx, rule.to, rule.name)
        for comm in plan.comm_enter:
            self._owe(tx, comm)
        if plan.work is not None:
            tx.effects.append(plan.work)
        return tx.finish()

    def _meet(self, tx: _Tx, ms: str) -> None:
        tx.met = tx.met | {ms}
        key = _SLA_KEY[ms]
        due = tx.timers.get(key)
        if due is not None:
            tx.cancel(key)
            tx.effects.append(milestone_met(ms, due, tx.at <= due))
        else:  # no target for this tier, or already breached
            tx.effects.append(milestone_met(ms, None, ms not in tx.breached))
        for key in self.plan.cancel_at_milestone.get(ms, ()):
            tx.cancel(key)

    def _escalate(self, tx: _Tx, to: str, rule: str) -> None:
        target = tx.level + 1 if to == "next" else self._level_index[to]
        target = min(target, len(self.levels) - 1)
        if target <= tx.level:
            return
        source = tx.level
        tx.level = target
        tx.effects.append(Escalated(self.levels[source], self.levels[target], rule))
        for i in range(source + 1, target + 1):
            for comm in self.plan.comm_level.get(self.levels[i], ()):
                self._owe(tx, comm)

    def _owe(self, tx: _Tx, comm: Comm) -> None:
        incident = tx.case.incident
        if comm.pred is not None and not comm.pred(incident):
            return
        due = self.timebase.deadline(tx.at, comm.deadline)
        context = _Context(incident, tx.state, self.levels[tx.level], self.playbook.name, due,
                           self.timebase, self._zone)
        tx.effects.append(message_owed(comm.name, comm.audience, due, comm.template, context))
        if comm.every is not None:
            tx.arm(comm.key, self.timebase.deadline(tx.at, comm.every))

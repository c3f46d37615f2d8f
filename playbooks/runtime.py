"""The clock-free playbook runtime: (case, trigger, time) -> (new case, effects).

One runtime serves three hosts: the SimPy model (simulated minutes), drills (simulated time
driven by a team) and the live desk (wall-clock minutes since an epoch). It never reads a clock
and never sleeps; deadlines are returned as `Arm`/`Cancel` effects for the host to keep, and
come back through `expire`. Cases are immutable, so a host can keep, compare and replay them.

Speed matters (a surge simulation fires millions of triggers), so the playbook is compiled once
into plain dictionaries: per state, trigger -> alternatives; per state, what entering it does.
`machines.py` builds the equivalent `transitions` machines; tests prove the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Mapping, NamedTuple

from zoneinfo import ZoneInfo

from incidents.model import MILESTONES, Incident
from incidents.sla import Duration, TimeBase
from playbooks.conditions import Predicate, compile_condition
from playbooks.effects import (Arm, Breached, Cancel, Closed, Effect, Escalated, MessageOwed,
                               MilestoneMet, Transitioned, WorkRequested)
from playbooks.errors import InvalidTrigger
from playbooks.schema import Obligation, Playbook

__all__ = ["Case", "Step", "Runtime", "DEFAULT_EPOCH"]

DEFAULT_EPOCH = datetime(2026, 1, 5, tzinfo=timezone.utc)
"""A Monday: the epoch used when a host does not give one."""


@dataclass(frozen=True, slots=True)
class Case:
    """One incident's position in its playbook. Never edited: each step makes a new one."""

    incident: Incident
    state: str
    level: int
    """Index into the playbook's escalation levels (0 = front line)."""
    opened: float
    updated: float
    timers: Mapping[str, float]
    """Armed deadlines: key -> due minute."""
    counts: Mapping[str, int] = field(default_factory=dict)
    met: frozenset[str] = frozenset()
    """SLA milestones reached."""
    breached: frozenset[str] = frozenset()
    """SLA milestones whose deadline passed before they were reached."""
    closed: bool = False


class Step(NamedTuple):
    """The result of one call: the new case and what the host must do."""

    case: Case
    effects: tuple[Effect, ...]


class _Comm(NamedTuple):
    name: str
    audience: str
    pred: Predicate | None
    deadline: Duration
    template: str
    every: Duration | None


class _EscRule(NamedTuple):
    name: str
    pred: Predicate | None
    to: str
    after: Duration | None
    count: int


class _Tx:
    """Mutable scratch space for one step; becomes a new immutable Case at the end."""

    __slots__ = ("case", "timers", "effects", "level", "met", "breached", "counts", "at",
                 "state")

    def __init__(self, case: Case, at: float) -> None:
        self.case = case
        self.timers = dict(case.timers)
        self.effects: list[Effect] = []
        self.level = case.level
        self.met = case.met
        self.breached = case.breached
        self.counts = case.counts
        self.at = at
        self.state = case.state

    def arm(self, key: str, due: float) -> None:
        if key in self.timers:
            self.effects.append(Cancel(key))
        self.timers[key] = due
        self.effects.append(Arm(key, due))

    def cancel(self, key: str) -> None:
        if key in self.timers:
            del self.timers[key]
            self.effects.append(Cancel(key))

    def finish(self, closed: bool = False) -> Step:
        case = Case(self.case.incident, self.state, self.level, self.case.opened, self.at,
                    self.timers, self.counts, self.met, self.breached, closed)
        return Step(case, tuple(self.effects))


class Runtime:
    """A compiled playbook. Thread-safe and shareable: it holds no per-case state."""

    def __init__(self, playbook: Playbook, *, epoch: datetime = DEFAULT_EPOCH) -> None:
        self.playbook = playbook
        self.timebase = TimeBase(epoch, playbook.calendar)
        self._zone = ZoneInfo(playbook.calendar.timezone)
        lc = playbook.lifecycle
        self.initial = lc.initial
        self.levels: tuple[str, ...] = tuple(playbook.escalation.levels)
        self._level_index = {name: i for i, name in enumerate(self.levels)}
        self.final = frozenset(n for n, s in lc.states.items() if s.final)
        self.table: dict[str, dict[str, tuple[tuple[Predicate | None, str], ...]]] = {}
        self._state_timers: dict[str, tuple[tuple[str, Duration, str], ...]] = {}
        self._work: dict[str, WorkRequested] = {}
        for name, st in lc.states.items():
            row: dict[str, tuple[tuple[Predicate | None, str], ...]] = {
                trig: ((None, out.to),) for trig, out in st.outcomes.items()}
            for trig, alts in st.on.items():
                row[trig] = tuple((compile_condition(a.when), a.to) for a in alts)
            self.table[name] = row
            self._state_timers[name] = tuple(
                (f"timer:{name}:{i}", t.after, t.fire) for i, t in enumerate(st.timers))
            if st.work is not None:
                w = st.work
                self._work[name] = WorkRequested(
                    name, w.role, w.skill, w.duration,
                    tuple((sku, use.qty, use.p) for sku, use in w.parts.items()))
        self._milestones_at: dict[str, tuple[str, ...]] = {}
        for ms, st_name in lc.milestones.items():
            self._milestones_at[st_name] = self._milestones_at.get(st_name, ()) + (ms,)
        self._sla = {tier: tuple((ms, d) for ms, d in playbook.sla.for_tier(tier).items()
                                 if ms in lc.milestones)
                     for tier in ("VIP", "tier1", "tier2")}
        self._compile_escalation()
        self._compile_comms()

    # -- compilation -------------------------------------------------------------------------
    def _compile_escalation(self) -> None:
        self._esc_opened: list[_EscRule] = []
        self._esc_since: dict[str, list[_EscRule]] = {}
        self._esc_breach: dict[str, list[_EscRule]] = {}
        self._esc_trigger: dict[str, list[_EscRule]] = {}
        self._esc_enter: dict[str, list[_EscRule]] = {}
        self._cancel_at_state: dict[str, list[str]] = {}
        self._cancel_at_ms: dict[str, list[str]] = {}
        self._cancel_on_leave: dict[str, list[str]] = {}
        for name, r in self.playbook.escalation.rules.items():
            rule = _EscRule(name, compile_condition(r.when), r.to, r.after, r.count)
            if r.after is not None:
                key = f"esc:{name}"
                if r.since == "opened":
                    self._esc_opened.append(rule)
                else:
                    self._esc_since.setdefault(r.since, []).append(rule)
                    self._cancel_on_leave.setdefault(r.since, []).append(key)
                if r.until is not None:
                    target = (self._cancel_at_ms if r.until in MILESTONES
                              and r.until not in self.table else self._cancel_at_state)
                    target.setdefault(r.until, []).append(key)
            elif r.on_breach is not None:
                self._esc_breach.setdefault(r.on_breach, []).append(rule)
            elif r.on_trigger is not None:
                self._esc_trigger.setdefault(r.on_trigger, []).append(rule)
            elif r.on_enter is not None:
                self._esc_enter.setdefault(r.on_enter, []).append(rule)

    def _compile_comms(self) -> None:
        self._comm_opened: list[_Comm] = []
        self._comm_enter: dict[str, list[_Comm]] = {}
        self._comm_level: dict[str, list[_Comm]] = {}
        self._comm_breach: dict[str, list[_Comm]] = {}
        self._comms: dict[str, _Comm] = {}
        for name, ob in self.playbook.communications.items():
            if ob.on.emergency is not None:
                continue  # operation-wide messages belong to the emergency runtime
            comm = _Comm(name, ob.audience, compile_condition(ob.when), ob.deadline, ob.template,
                         ob.repeat.every if ob.repeat else None)
            self._comms[name] = comm
            on = ob.on
            if on.opened:
                self._comm_opened.append(comm)
            elif on.enter is not None:
                self._comm_enter.setdefault(on.enter, []).append(comm)
            elif on.escalation is not None:
                self._comm_level.setdefault(on.escalation, []).append(comm)
            elif on.breach is not None:
                self._comm_breach.setdefault(on.breach, []).append(comm)
            if ob.repeat is not None:
                self._cancel_at_state.setdefault(ob.repeat.until, []).append(f"comm:{name}")

    # -- queries -----------------------------------------------------------------------------
    def triggers(self, case: Case) -> tuple[str, ...]:
        """Triggers the case's current state accepts (for menus and tests)."""
        return () if case.closed else tuple(self.table[case.state])

    def level_name(self, case: Case) -> str:
        return self.levels[case.level]

    def deadline(self, at: float, duration: Duration) -> float:
        """`at` plus a duration, through the playbook's business calendar when needed."""
        return self.timebase.deadline(at, duration)

    # -- steps -------------------------------------------------------------------------------
    def open(self, incident: Incident, at: float) -> Step:
        """Start a case at minute `at`: arm its SLA clocks, enter the initial state."""
        tx = _Tx(Case(incident, self.initial, 0, at, at, {}), at)
        tx.effects.append(Transitioned("open", None, self.initial))
        for ms, target in self._sla[incident.tier.value]:
            tx.arm(f"sla:{ms}", self.deadline(at, target))
        for rule in self._esc_opened:
            if rule.pred is None or rule.pred(incident):
                tx.arm(f"esc:{rule.name}", self.deadline(at, rule.after))  # type: ignore[arg-type]
        for comm in self._comm_opened:
            self._owe(tx, comm)
        return self._enter(tx, self.initial)

    def fire(self, case: Case, trigger: str, at: float) -> Step:
        """Apply a trigger at minute `at`; `InvalidTrigger` if the state does not accept it."""
        self._check(case, at)
        alts = self.table[case.state].get(trigger)
        if alts is None:
            accepted = ", ".join(self.table[case.state]) or "nothing"
            raise InvalidTrigger(f"case {case.incident.id}: state {case.state!r} does not accept "
                                 f"trigger {trigger!r} (it accepts: {accepted})")
        for pred, dest in alts:
            if pred is None or pred(case.incident):
                break
        else:
            raise InvalidTrigger(f"case {case.incident.id}: trigger {trigger!r} in state "
                                 f"{case.state!r} has no alternative for this incident")
        tx = _Tx(case, at)
        return self._move(tx, trigger, dest)

    def expire(self, case: Case, key: str, at: float) -> Step:
        """A deadline the host armed has come due: act on it."""
        self._check(case, at)
        due = case.timers.get(key)
        if due is None:
            raise InvalidTrigger(f"case {case.incident.id}: no deadline {key!r} is armed")
        if at < due - 1e-9:
            raise InvalidTrigger(f"case {case.incident.id}: deadline {key!r} is due at {due:g}, "
                                 f"not {at:g}")
        tx = _Tx(case, at)
        del tx.timers[key]
        kind, _, name = key.partition(":")
        if kind == "timer":
            fire = next(f for k, _, f in self._state_timers[case.state] if k == key)
            return self._move(tx, fire, self._timer_dest(case, fire))
        if kind == "sla":
            tx.effects.append(Breached(name, due))
            tx.breached = tx.breached | {name}
            for rule in self._esc_breach.get(name, ()):
                if rule.pred is None or rule.pred(case.incident):
                    self._escalate(tx, rule.to, rule.name)
            for comm in self._comm_breach.get(name, ()):
                self._owe(tx, comm)
        elif kind == "esc":
            rule = self.playbook.escalation.rules[name]
            self._escalate(tx, rule.to, name)
        elif kind == "comm":
            self._owe(tx, self._comms[name])
        return tx.finish()

    def escalate(self, case: Case, level: str, at: float, reason: str = "manual") -> Step:
        """Raise a case by hand (a drill team or a coordinator decides to)."""
        self._check(case, at)
        if level not in self._level_index:
            raise InvalidTrigger(f"unknown escalation level {level!r}; levels: "
                                 f"{', '.join(self.levels)}")
        if self._level_index[level] <= case.level:
            raise InvalidTrigger(f"case {case.incident.id} is already at "
                                 f"{self.levels[case.level]!r}; escalation only goes up")
        tx = _Tx(case, at)
        self._escalate(tx, level, reason)
        return tx.finish()

    # -- internals ---------------------------------------------------------------------------
    def _check(self, case: Case, at: float) -> None:
        if case.closed:
            raise InvalidTrigger(f"case {case.incident.id} is closed ({case.state!r})")
        if at < case.updated:
            raise InvalidTrigger(f"case {case.incident.id}: time {at:g} is before its last "
                                 f"step at {case.updated:g}")

    def _timer_dest(self, case: Case, trigger: str) -> str:
        for pred, dest in self.table[case.state][trigger]:
            if pred is None or pred(case.incident):
                return dest
        raise InvalidTrigger(f"case {case.incident.id}: timer trigger {trigger!r} has no "
                             "alternative for this incident")

    def _move(self, tx: _Tx, trigger: str, dest: str) -> Step:
        source = tx.state
        for key, _, _ in self._state_timers[source]:
            tx.cancel(key)
        for key in self._cancel_on_leave.get(source, ()):
            tx.cancel(key)
        tx.effects.append(Transitioned(trigger, source, dest))
        rules = self._esc_trigger.get(trigger)
        if rules:
            counts = dict(tx.counts)
            counts[trigger] = counts.get(trigger, 0) + 1
            tx.counts = counts
            for rule in rules:
                if counts[trigger] == rule.count and (rule.pred is None
                                                      or rule.pred(tx.case.incident)):
                    self._escalate(tx, rule.to, rule.name)
        return self._enter(tx, dest)

    def _enter(self, tx: _Tx, state: str) -> Step:
        tx.state = state
        at = tx.at
        incident = tx.case.incident
        for ms in self._milestones_at.get(state, ()):
            if ms not in tx.met:
                tx.met = tx.met | {ms}
                key = f"sla:{ms}"
                due = tx.timers.get(key)
                if due is not None:
                    tx.cancel(key)
                    tx.effects.append(MilestoneMet(ms, due, at <= due))
                else:  # no target for this tier, or already breached
                    tx.effects.append(MilestoneMet(ms, None, ms not in tx.breached))
                for key in self._cancel_at_ms.get(ms, ()):
                    tx.cancel(key)
        for key in self._cancel_at_state.get(state, ()):
            tx.cancel(key)
        if state in self.final:
            for key in sorted(tx.timers):
                tx.cancel(key)
            tx.effects.append(Closed(state))
            return tx.finish(closed=True)
        for key, after, _ in self._state_timers[state]:
            tx.arm(key, self.deadline(at, after))
        for rule in self._esc_since.get(state, ()):
            if rule.pred is None or rule.pred(incident):
                tx.arm(f"esc:{rule.name}", self.deadline(at, rule.after))  # type: ignore[arg-type]
        for rule in self._esc_enter.get(state, ()):
            if rule.pred is None or rule.pred(incident):
                self._escalate(tx, rule.to, rule.name)
        for comm in self._comm_enter.get(state, ()):
            self._owe(tx, comm)
        work = self._work.get(state)
        if work is not None:
            tx.effects.append(work)
        return tx.finish()

    def _escalate(self, tx: _Tx, to: str, rule: str) -> None:
        target = tx.level + 1 if to == "next" else self._level_index[to]
        target = min(target, len(self.levels) - 1)
        if target <= tx.level:
            return
        source = tx.level
        tx.level = target
        tx.effects.append(Escalated(self.levels[source], self.levels[target], rule))
        for i in range(source + 1, target + 1):
            for comm in self._comm_level.get(self.levels[i], ()):
                self._owe(tx, comm)

    def _owe(self, tx: _Tx, comm: _Comm) -> None:
        incident = tx.case.incident
        if comm.pred is not None and not comm.pred(incident):
            return
        due = self.deadline(tx.at, comm.deadline)
        tx.effects.append(MessageOwed(comm.name, comm.audience, due,
                                      self.render(comm.template, tx, due)))
        if comm.every is not None:
            tx.arm(f"comm:{comm.name}", self.deadline(tx.at, comm.every))

    def render(self, template: str, tx: _Tx, due: float) -> str:
        incident = tx.case.incident
        ctx: dict[str, object] = {}
        for name in type(incident).model_fields:
            value = getattr(incident, name)
            ctx[name] = value.value if isinstance(value, Enum) else value
        ctx.update(state=tx.state, level=self.levels[tx.level], playbook=self.playbook.name,
                   due=self.timebase.to_datetime(due).astimezone(self._zone)
                   .strftime("%Y-%m-%d %H:%M"))
        return template.format_map(ctx)

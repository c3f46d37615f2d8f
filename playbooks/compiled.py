"""A playbook compiled into per-state plans: everything the runtime needs, looked up once.

The runtime fires millions of triggers in a surge simulation. Interpreting the YAML model on
each one (which timers does this state arm? which rules watch this trigger?) would cost more
than the state change itself, so each state gets one `StatePlan` holding exactly the work to
do on leaving and on entering it, with immutable effect objects prebuilt where they never vary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from incidents.model import MILESTONES
from incidents.sla import Duration
from playbooks.conditions import Predicate, compile_condition
from playbooks.effects import Cancel, Closed, Transitioned, WorkRequested
from playbooks.schema import Playbook

__all__ = ["EscRule", "Comm", "Route", "StatePlan", "Plan", "compile_plan", "ABANDONED",
           "ABANDON"]

ABANDONED = "abandoned"
"""The state a case closes in when its customer gives up and the playbook names no other."""
ABANDON = "abandon"
"""The trigger name logged for a forced move of a customer who gave up."""


class EscRule(NamedTuple):
    name: str
    pred: Predicate | None
    to: str
    after: Duration | None
    count: int
    key: str = ""
    """The deadline key of a timed rule (`esc:<name>`), built once."""


class Comm(NamedTuple):
    name: str
    audience: str
    pred: Predicate | None
    deadline: Duration
    template: str
    every: Duration | None
    key: str = ""
    """The deadline key of a repeating message (`comm:<name>`), built once."""


class Route(NamedTuple):
    """One alternative of a trigger: taken if `pred` is None or holds for the incident."""

    pred: Predicate | None
    dest: str
    effect: Transitioned
    plain: bool = False
    """Nothing happens but the move (and the new state's work): the runtime's fast path."""
    effects: tuple = ()
    """The whole effect tuple of a plain move, built once."""
    closing: tuple = ()
    """A move into a final state that sets no milestone and counts no trigger: its whole
    effect tuple when the case holds no deadlines (nothing to cancel), built once."""


@dataclass(slots=True)
class StatePlan:
    """What leaving and entering one state does."""

    name: str
    final: bool
    routes: dict[str, tuple[Route, ...]] = field(default_factory=dict)
    leave_cancels: tuple[str, ...] = ()
    milestones: tuple[str, ...] = ()
    enter_cancels: tuple[str, ...] = ()
    timers: tuple[tuple[str, Duration, str], ...] = ()
    esc_since: tuple[EscRule, ...] = ()
    esc_enter: tuple[EscRule, ...] = ()
    comm_enter: tuple[Comm, ...] = ()
    work: WorkRequested | None = None
    closed: Closed | None = None
    quiet: bool = False
    """Entering does nothing but request the work: the runtime skips the rest."""


@dataclass(slots=True)
class Plan:
    """The whole compiled playbook."""

    states: dict[str, StatePlan]
    initial: str
    levels: tuple[str, ...]
    sla: dict[str, tuple[tuple[str, Duration, str], ...]]
    """tier -> (milestone, target, deadline key) for each milestone the tier has a target for."""
    esc_opened: tuple[EscRule, ...]
    esc_breach: dict[str, tuple[EscRule, ...]]
    esc_trigger: dict[str, tuple[EscRule, ...]]
    esc_rules: dict[str, EscRule]
    cancel_at_milestone: dict[str, tuple[str, ...]]
    comm_opened: tuple[Comm, ...]
    comm_level: dict[str, tuple[Comm, ...]]
    comm_breach: dict[str, tuple[Comm, ...]]
    comms: dict[str, Comm]
    cancels: dict[str, Cancel]
    """One shared Cancel effect per deadline key."""
    abandon_trigger: str | None = None
    """The trigger a customer who gives up waiting fires (`lifecycle.abandon.trigger`)."""
    abandon_moves: dict[str, Route] = field(default_factory=dict)
    """state -> the forced move of a case whose customer gave up there: to
    `lifecycle.abandon.to`, or to the closing pseudo-state ABANDONED."""
    abandoned: Closed = Closed("abandoned")


def _add(table: dict[str, tuple], key: str, item: object) -> None:
    table[key] = table.get(key, ()) + (item,)


def _finish_route(source: StatePlan, trigger: str, route: Route, states: dict[str, StatePlan],
                  esc_trigger: dict[str, tuple]) -> Route:
    dest = states[route.dest]
    plain = dest.quiet and not (source.leave_cancels or trigger in esc_trigger)
    effects = (route.effect,) + ((dest.work,) if dest.work is not None else ())
    closing = (dest.final and not dest.milestones and trigger not in esc_trigger)
    return route._replace(plain=plain, effects=effects if plain else (),
                          closing=(route.effect, dest.closed) if closing else ())


def compile_plan(pb: Playbook) -> Plan:
    """Compile a validated (and linted) playbook."""
    lc = pb.lifecycle
    states: dict[str, StatePlan] = {}
    for name, st in lc.states.items():
        plan = StatePlan(name, st.final)
        for trig, out in st.outcomes.items():
            plan.routes[trig] = (Route(None, out.to, Transitioned(trig, name, out.to)),)
        for trig, alts in st.on.items():
            plan.routes[trig] = tuple(Route(compile_condition(a.when), a.to,
                                            Transitioned(trig, name, a.to)) for a in alts)
        plan.timers = tuple((f"timer:{name}:{i}", t.after, t.fire) for i, t in enumerate(st.timers))
        plan.leave_cancels = tuple(k for k, _, _ in plan.timers)
        if st.work is not None:
            w = st.work
            plan.work = WorkRequested(name, w.role, w.skill, w.duration,
                                      tuple((sku, u.qty, u.p) for sku, u in w.parts.items()))
        if st.final:
            plan.closed = Closed(name)
        states[name] = plan
    for ms, st_name in lc.milestones.items():
        states[st_name].milestones += (ms,)

    esc_opened: list[EscRule] = []
    esc_breach: dict[str, tuple] = {}
    esc_trigger: dict[str, tuple] = {}
    esc_rules: dict[str, EscRule] = {}
    cancel_at_ms: dict[str, tuple] = {}
    for name, r in pb.escalation.rules.items():
        rule = EscRule(name, compile_condition(r.when), r.to, r.after, r.count, f"esc:{name}")
        esc_rules[name] = rule
        if r.after is not None:
            key = f"esc:{name}"
            if r.since == "opened":
                esc_opened.append(rule)
            else:
                states[r.since].esc_since += (rule,)
                states[r.since].leave_cancels += (key,)
            if r.until is not None:
                if r.until in MILESTONES and r.until not in states:
                    _add(cancel_at_ms, r.until, key)
                else:
                    states[r.until].enter_cancels += (key,)
        elif r.on_breach is not None:
            _add(esc_breach, r.on_breach, rule)
        elif r.on_trigger is not None:
            _add(esc_trigger, r.on_trigger, rule)
        elif r.on_enter is not None:
            states[r.on_enter].esc_enter += (rule,)

    comm_opened: list[Comm] = []
    comm_level: dict[str, tuple] = {}
    comm_breach: dict[str, tuple] = {}
    comms: dict[str, Comm] = {}
    for name, ob in pb.communications.items():
        if ob.on.emergency is not None:
            continue  # operation-wide messages belong to the emergency runtime
        comm = Comm(name, ob.audience, compile_condition(ob.when), ob.deadline, ob.template,
                    ob.repeat.every if ob.repeat else None, f"comm:{name}")
        comms[name] = comm
        on = ob.on
        if on.opened:
            comm_opened.append(comm)
        elif on.enter is not None:
            states[on.enter].comm_enter += (comm,)
        elif on.escalation is not None:
            _add(comm_level, on.escalation, comm)
        elif on.breach is not None:
            _add(comm_breach, on.breach, comm)
        if ob.repeat is not None:
            states[ob.repeat.until].enter_cancels += (f"comm:{name}",)

    for plan in states.values():
        plan.quiet = not (plan.final or plan.milestones or plan.enter_cancels or plan.timers
                          or plan.esc_since or plan.esc_enter or plan.comm_enter)
    for plan in states.values():
        for trig, routes in plan.routes.items():
            plan.routes[trig] = tuple(_finish_route(plan, trig, r, states, esc_trigger)
                                      for r in routes)

    abandon = getattr(lc, "abandon", None)
    target = abandon.to if abandon is not None else None
    moves = {name: Route(None, target or ABANDONED,
                         Transitioned(ABANDON, name, target or ABANDONED))
             for name, plan in states.items() if not plan.final}

    keys = [f"sla:{ms}" for ms in MILESTONES] + [f"esc:{n}" for n in esc_rules]
    keys += [f"comm:{n}" for n in comms] + [k for p in states.values() for k, _, _ in p.timers]
    return Plan(
        states=states, initial=lc.initial, levels=tuple(pb.escalation.levels),
        sla={tier: tuple((ms, d, f"sla:{ms}") for ms, d in pb.sla.for_tier(tier).items()
                         if ms in lc.milestones) for tier in ("VIP", "tier1", "tier2")},
        esc_opened=tuple(esc_opened), esc_breach=esc_breach, esc_trigger=esc_trigger,
        esc_rules=esc_rules, cancel_at_milestone=cancel_at_ms, comm_opened=tuple(comm_opened),
        comm_level=comm_level, comm_breach=comm_breach, comms=comms,
        cancels={k: Cancel(k) for k in keys},
        abandon_trigger=abandon.trigger if abandon is not None else None,
        abandon_moves=moves, abandoned=Closed(ABANDONED))

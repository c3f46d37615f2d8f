"""Semantic checks of a structurally valid playbook: the mistakes a schema cannot see.

A playbook is a contract a team relies on in an emergency; a state nothing leads to, a case
that can never finish, or a timer that fires a trigger nobody handles are bugs that would only
show at the worst moment. Each finding points at the line to fix.
"""

from __future__ import annotations

import string
from collections import deque
from typing import Any, Iterable

from incidents.model import INCIDENT_FIELDS, MILESTONES, Channel, Severity, Tier
from incidents.source import Diagnostic, Document, suggest
from playbooks.schema import Condition, Playbook

__all__ = ["semantic_diagnostics", "placeholders", "CASE_PLACEHOLDERS", "EMERGENCY_PLACEHOLDERS",
           "successors"]

CASE_PLACEHOLDERS = frozenset(INCIDENT_FIELDS) | {"state", "level", "due", "playbook"}
EMERGENCY_PLACEHOLDERS = frozenset({"level", "label", "due", "playbook", "open_backlog",
                                    "arrivals_per_hour", "sla_breaches_24h", "stock_outs",
                                    "complaints_24h", "escalated_cases"})
_NUMERIC = ("affected_customers",)
_ENUMS: dict[str, tuple[str, ...]] = {
    "tier": tuple(t.value for t in Tier),
    "severity": tuple(s.value for s in Severity),
    "channel": tuple(c.value for c in Channel),
}


def placeholders(template: str) -> list[str]:
    """Field names used in a `{placeholder}` template; raises ValueError on bad braces."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def successors(playbook: Playbook, state: str) -> set[str]:
    """States reachable in one transition from `state`."""
    spec = playbook.lifecycle.states[state]
    out = {o.to for o in spec.outcomes.values()}
    out.update(alt.to for alts in spec.on.values() for alt in alts)
    return out


class _Linter:
    def __init__(self, pb: Playbook, doc: Document) -> None:
        self.pb = pb
        self.doc = doc
        self.found: list[Diagnostic] = []
        self.states = pb.lifecycle.states

    def error(self, path: Iterable[str | int], message: str, key: bool = False) -> None:
        self.found.append(self.doc.diag(tuple(path), message, key=key))

    def warn(self, path: Iterable[str | int], message: str, key: bool = False) -> None:
        self.found.append(self.doc.diag(tuple(path), message, severity="warning", key=key))

    def ref(self, path: tuple[str | int, ...], value: str, known: Iterable[str], what: str) -> bool:
        known = list(known)
        if value in known:
            return True
        self.error(path, f"unknown {what} {value!r}{suggest(value, known)}")
        return False

    def run(self) -> list[Diagnostic]:
        self.lifecycle()
        self.reachability()
        self.triggers()
        self.escalation()
        self.emergency()
        self.resources()
        self.communications()
        return self.found

    # -- lifecycle ---------------------------------------------------------------------------
    def lifecycle(self) -> None:
        lc = self.pb.lifecycle
        base = ("lifecycle",)
        self.ref(base + ("initial",), lc.initial, self.states, "state")
        for name, st in self.states.items():
            here = base + ("states", name)
            for trig, outcome in st.outcomes.items():
                self.ref(here + ("outcomes", trig, "to"), outcome.to, self.states, "state")
            for trig, alts in st.on.items():
                for i, alt in enumerate(alts):
                    self.ref(here + ("on", trig, i, "to"), alt.to, self.states, "state")
                    self.condition(here + ("on", trig, i, "when"), alt.when)
                self.ambiguity(here, trig, alts)
                if trig in st.outcomes:
                    self.error(here + ("on", trig),
                               f"ambiguous transition: trigger {trig!r} of state {name!r} is "
                               "both a work outcome and an external trigger", key=True)
            if st.final:
                for field in ("work", "outcomes", "on"):
                    if getattr(st, field):
                        self.error(here + (field,), f"final state {name!r} cannot have {field}",
                                   key=True)
                if st.timers:
                    self.error(here + ("timers",), f"timer on final state {name!r}: it could "
                               "never be cancelled by leaving the state", key=True)
            elif not st.on and not st.outcomes:
                self.error(here, f"state {name!r} is not final and has no way out "
                           "(add `on:`, `outcomes:` or `final: true`)", key=True)
            if st.work is not None:
                w = st.work
                if self.ref(here + ("work", "role"), w.role, self.pb.roles, "role"):
                    skills = self.pb.roles[w.role].skills
                    if w.skill is not None and w.skill not in skills:
                        self.warn(here + ("work", "skill"),
                                  f"role {w.role!r} does not list skill {w.skill!r}")
                for sku in w.parts:
                    self.ref(here + ("work", "parts", sku), sku, self.pb.parts, "part")
        for ms, st_name in lc.milestones.items():
            self.ref(base + ("milestones", ms), st_name, self.states, "state")
        for tier in Tier:
            for ms in self.pb.sla.for_tier(tier):
                if ms not in lc.milestones:
                    self.warn(("sla", tier.value, ms),
                              f"SLA target {tier.value}.{ms} is never met: lifecycle.milestones "
                              f"does not say which state meets {ms!r}", key=True)
        if not any(st.final for st in self.states.values()):
            self.error(base + ("states",), "the lifecycle has no final state", key=True)
        self.abandon()

    def abandon(self) -> None:
        """`lifecycle.abandon`: a known state to go to, states with work to give up in, and a
        trigger each of them accepts (a customer giving up must never be an invalid move)."""
        ab = self.pb.lifecycle.abandon
        if ab is None:
            return
        here = ("lifecycle", "abandon")
        if ab.to is not None:
            self.ref(here + ("to",), ab.to, self.states, "state")
        waiting = [n for n, st in self.states.items() if st.work is not None]
        for i, name in enumerate(ab.states):
            if self.ref(here + ("states", i), name, self.states, "state") \
                    and self.states[name].work is None:
                self.error(here + ("states", i), f"state {name!r} has no work: nobody waits "
                           "for staff there")
        if ab.trigger is not None:
            for name in [s for s in (ab.states or waiting) if s in self.states]:
                accepted = self.states[name].on
                if ab.trigger not in accepted:
                    self.error(here + ("trigger",), f"abandon trigger {ab.trigger!r} is not "
                               f"accepted by state {name!r}, where a customer may give up "
                               f"(add it to its `on:`, or list fewer `states`)"
                               f"{suggest(ab.trigger, accepted)}")
                elif all(alt.when for alt in accepted[ab.trigger]):
                    self.error(here + ("trigger",), f"abandon trigger {ab.trigger!r} of state "
                               f"{name!r} has only conditional alternatives: a case matching "
                               "none would have nowhere to go")

    def ambiguity(self, here: tuple[str | int, ...], trig: str, alts: list[Any]) -> None:
        seen: list[Condition] = []
        for i, alt in enumerate(alts):
            if alt.when in seen or any(not earlier for earlier in seen):
                self.error(here + ("on", trig, i),
                           f"ambiguous transition: alternative {i + 1} of trigger {trig!r} can "
                           "never be taken (an earlier one matches the same incidents)")
            seen.append(alt.when)

    def reachability(self) -> None:
        lc = self.pb.lifecycle
        if lc.initial not in self.states:
            return
        reached = {lc.initial}
        queue = deque([lc.initial])
        while queue:
            for nxt in successors(self.pb, queue.popleft()) & self.states.keys():
                if nxt not in reached:
                    reached.add(nxt)
                    queue.append(nxt)
        for name in self.states:
            if name not in reached:
                self.error(("lifecycle", "states", name),
                           f"state {name!r} is unreachable from the initial state "
                           f"{lc.initial!r}", key=True)
        finals = {n for n, s in self.states.items() if s.final}
        stuck: dict[str, list[str]] = {}
        for tier in Tier:
            for name in self._cannot_finish(tier.value, reached, finals):
                stuck.setdefault(name, []).append(tier.value)
        for name, tiers in stuck.items():
            who = "a case" if len(tiers) == len(Tier) else f"a {'/'.join(tiers)} case"
            self.error(("lifecycle", "states", name),
                       f"{who} in state {name!r} can never reach a final state", key=True)

    def _cannot_finish(self, tier: str, reached: set[str], finals: set[str]) -> list[str]:
        """Reachable states from which an incident of `tier` can never get to a final state.

        Conditions on the tier are decided exactly (alternatives are tried in order, the
        first match wins); conditions on other fields are taken as "may match".
        """
        edges: dict[str, set[str]] = {}
        for name, st in self.states.items():
            out = {o.to for o in st.outcomes.values()}
            for alts in st.on.values():
                for alt in alts:
                    test = alt.when.get("tier")
                    if test is not None:
                        values = test if isinstance(test, list) else [test]
                        try:
                            matches = tier in {Tier(v).value for v in values}
                        except ValueError:
                            matches = False
                        if not matches:
                            continue
                    out.add(alt.to)
                    if set(alt.when) <= {"tier"}:
                        break  # this alternative surely matches: later ones are never tried
            edges[name] = out & self.states.keys()
        can_finish = set(finals)
        changed = True
        while changed:
            changed = False
            for name, out in edges.items():
                if name not in can_finish and out & can_finish:
                    can_finish.add(name)
                    changed = True
        return [n for n in self.states if n in reached and n not in can_finish
                and (self.states[n].on or self.states[n].outcomes)]

    def triggers(self) -> None:
        lc = self.pb.lifecycle
        events = set(lc.events)
        used: set[str] = set()
        for name, st in self.states.items():
            here = ("lifecycle", "states", name)
            timer_fires = {t.fire for t in st.timers}
            for i, timer in enumerate(st.timers):
                if timer.fire not in st.on:
                    self.error(here + ("timers", i, "fire"),
                               f"timer fires {timer.fire!r}, which state {name!r} does not "
                               f"accept{suggest(timer.fire, st.on)}")
                elif all(alt.when for alt in st.on[timer.fire]):
                    self.error(here + ("timers", i, "fire"),
                               f"timer fires {timer.fire!r}, whose alternatives are all "
                               "conditional: a case matching none would have nowhere to go "
                               "(add an alternative without `when`)")
            for trig in st.on:
                used.add(trig)
                if trig not in events and trig not in timer_fires:
                    self.error(here + ("on", trig),
                               f"trigger {trig!r} is never fired: declare it in lifecycle.events "
                               "or fire it from a timer of this state", key=True)
        for i, ev in enumerate(lc.events):
            if ev not in used:
                self.warn(("lifecycle", "events", i), f"event {ev!r} is accepted by no state")

    def condition(self, path: tuple[str | int, ...], cond: Condition) -> None:
        for field, expected in cond.items():
            if field not in INCIDENT_FIELDS:
                self.error(path + (field,), f"unknown incident field {field!r} in condition"
                           f"{suggest(field, INCIDENT_FIELDS)}", key=True)
                continue
            allowed = _ENUMS.get(field)
            values = expected if isinstance(expected, list) else [expected]
            if isinstance(expected, dict):
                if field not in _NUMERIC:
                    self.error(path + (field,), f"{field} is text: a range test (min/max) only "
                               f"works on {', '.join(_NUMERIC)}")
                elif set(expected) - {"min", "max"}:
                    self.error(path + (field,), "a range test takes only min and max")
                continue
            for v in values:
                if allowed is not None:
                    try:
                        ok = (Tier(v).value if field == "tier" else str(v)) in allowed
                    except ValueError:
                        ok = False
                    if not ok:
                        self.error(path + (field,), f"{field} {v!r} is not one of "
                                   f"{', '.join(allowed)}{suggest(str(v), allowed)}")

    # -- escalation and emergency ------------------------------------------------------------
    def escalation(self) -> None:
        esc = self.pb.escalation
        self.duplicates(("escalation", "levels"), esc.levels, "escalation level")
        triggers = {t for st in self.states.values() for t in (*st.on, *st.outcomes)}
        for name, rule in esc.rules.items():
            here = ("escalation", "rules", name)
            if rule.to != "next":
                self.ref(here + ("to",), rule.to, esc.levels, "escalation level")
            self.condition(here + ("when",), rule.when)
            if rule.since != "opened":
                if self.ref(here + ("since",), rule.since, self.states, "state") \
                        and self.states[rule.since].final:
                    self.error(here + ("since",), f"timer on final state {rule.since!r}")
            if rule.until is not None:
                if self.ref(here + ("until",), rule.until, [*MILESTONES, *self.states],
                            "milestone or state") and rule.until not in self.states:
                    self.milestone_used(here + ("until",), rule.until)
            if rule.on_trigger is not None:
                self.ref(here + ("on_trigger",), rule.on_trigger, triggers, "trigger")
            if rule.on_enter is not None:
                self.ref(here + ("on_enter",), rule.on_enter, self.states, "state")
            if rule.on_breach is not None:
                self.milestone_used(here + ("on_breach",), rule.on_breach)

    def milestone_used(self, path: tuple[str | int, ...], ms: str) -> None:
        if ms not in self.pb.lifecycle.milestones:
            self.error(path, f"milestone {ms!r} is never reached: lifecycle.milestones does not "
                       "name its state")

    def emergency(self) -> None:
        em = self.pb.emergency
        if em.normal in em.levels:
            self.error(("emergency", "normal"), f"{em.normal!r} is both the normal state and an "
                       "emergency level")

    def resources(self) -> None:
        res = self.pb.resources
        self.duplicates(("resources", "priority"), res.priority, "priority key")
        served: set[str] = set()
        for name, pool in res.pools.items():
            here = ("resources", "pools", name)
            self.ref(here + ("role",), pool.role, self.pb.roles, "role")
            for i, st in enumerate(pool.serves):
                if self.ref(here + ("serves", i), st, self.states, "state"):
                    if self.states[st].work is None:
                        self.error(here + ("serves", i), f"state {st!r} has no work to serve")
                    served.add(st)
        if res.pools:
            for st_name, st in self.states.items():
                if st.work is not None and st_name not in served:
                    self.warn(("lifecycle", "states", st_name, "work"),
                              f"no pool in resources.pools serves the work of {st_name!r}")
        for i, unlock in enumerate(res.unlocks):
            here = ("resources", "unlocks", i)
            self.ref(here + ("level",), unlock.level, self.pb.emergency.levels, "emergency level")
            if unlock.pool is not None:
                self.ref(here + ("pool",), unlock.pool, res.pools, "pool")

    # -- communications ----------------------------------------------------------------------
    def communications(self) -> None:
        esc_levels = self.pb.escalation.levels
        for name, ob in self.pb.communications.items():
            here = ("communications", name)
            trig = ob.on
            emergency_msg = trig.emergency is not None
            if trig.enter is not None:
                if self.ref(here + ("on", "enter"), trig.enter, self.states, "state") \
                        and self.states[trig.enter].final and ob.repeat is not None:
                    self.error(here + ("repeat",), "timer on final state: a message repeated "
                               f"from final state {trig.enter!r} would never stop")
            if trig.escalation is not None:
                self.ref(here + ("on", "escalation"), trig.escalation, esc_levels,
                         "escalation level")
            if trig.emergency is not None:
                self.ref(here + ("on", "emergency"), trig.emergency, self.pb.emergency.levels,
                         "emergency level")
            if trig.breach is not None:
                self.milestone_used(here + ("on", "breach"), trig.breach)
            if ob.repeat is not None:
                self.ref(here + ("repeat", "until"), ob.repeat.until, self.states, "state")
                if emergency_msg:
                    self.error(here + ("repeat",), "repeat is for case messages; emergency "
                               "messages are sent once per level change", key=True)
            self.condition(here + ("when",), ob.when)
            if emergency_msg and ob.when:
                self.error(here + ("when",), "`when` tests one incident; an emergency message "
                           "is about the whole operation and cannot use it", key=True)
            allowed = EMERGENCY_PLACEHOLDERS if emergency_msg else CASE_PLACEHOLDERS
            try:
                names = placeholders(ob.template)
            except ValueError as exc:
                self.error(here + ("template",), f"broken template: {exc}")
                continue
            for ph in names:
                if ph not in allowed:
                    self.error(here + ("template",), f"unknown placeholder {{{ph}}} in "
                               f"template{suggest(ph, allowed)}")

    def duplicates(self, path: tuple[str | int, ...], items: list[str], what: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item in seen:
                self.error(path + (i,), f"duplicate {what} {item!r}")
            seen.add(item)


def semantic_diagnostics(playbook: Playbook, doc: Document) -> list[Diagnostic]:
    """Every semantic error and warning in a structurally valid playbook."""
    return _Linter(playbook, doc).run()

"""Property tests of the runtime (hypothesis).

- No state outside the playbook is ever reached.
- Every armed deadline is fired or cancelled: the host's ledger of Arm/Cancel/expire always
  equals the case's timers, and a closed case holds none.
- The same trigger sequence always yields the same history.
- The compiled transition table agrees with a bare `transitions` machine built from the same
  playbook, on valid and invalid triggers alike.
Playbooks are both the bundled library and randomly generated ones.
"""

from __future__ import annotations

import random
from collections import deque

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from transitions import MachineError

from incidents.source import Document
from playbooks.effects import Arm, Cancel
from playbooks.errors import InvalidTrigger
from playbooks.lint import semantic_diagnostics
from playbooks.loader import library_files, load_playbook
from playbooks.machines import CaseModel, lifecycle_machine
from playbooks.runtime import Case, Runtime, Step
from playbooks.schema import Playbook
from tests.rt_helpers import EPOCH, incident

TIERS = ["VIP", "tier1", "tier2"]


@st.composite
def random_playbooks(draw: st.DrawFn, sparse: bool = False) -> Playbook:
    """A valid playbook: a chain to a final state (so all is reachable and can finish) plus
    random extra edges, conditional alternatives, outcomes, timers and escalation rules.

    `sparse`: SLA targets for only some tiers, no timed escalation and no messages, so that
    opening may arm nothing and cases may close holding no deadlines (the runtime's fast
    paths)."""
    n = draw(st.integers(2, 7))
    names = [f"s{i}" for i in range(n)] + ["end"]
    states: dict[str, dict] = {}
    events: set[str] = set()
    for i, name in enumerate(names[:-1]):
        spec: dict = {}
        if draw(st.booleans()):
            k = draw(st.integers(1, 3))
            targets = [names[i + 1]] + [draw(st.sampled_from(names)) for _ in range(k - 1)]
            spec["work"] = {"role": "r", "duration": "5m"}
            spec["outcomes"] = {f"o{i}_{j}": {"to": t, "p": 1.0 / k}
                                for j, t in enumerate(targets)}
            if abs(sum(o["p"] for o in spec["outcomes"].values()) - 1) > 1e-12:
                spec["outcomes"][f"o{i}_0"]["p"] += 1 - sum(
                    o["p"] for o in spec["outcomes"].values())
        else:
            trig = f"e{i}"
            events.add(trig)
            alts = []
            tiers = draw(st.lists(st.sampled_from(TIERS), unique=True, max_size=2))
            for tier in tiers:
                alts.append({"to": draw(st.sampled_from(names)), "when": {"tier": tier}})
            alts.append({"to": names[i + 1]})
            spec["on"] = {trig: alts}
            if draw(st.booleans()):
                spec["on"]["tick"] = [{"to": draw(st.sampled_from(names))}]
                spec["timers"] = [{"after": f"{draw(st.integers(1, 600))}m", "fire": "tick"}]
        states[name] = spec
    states["end"] = {"final": True}
    rules: dict[str, dict] = {
        "late": {"after": f"{draw(st.integers(1, 300))}m", "to": "next"},
        "breach": {"on_breach": "acknowledge", "to": "l2"},
    }
    sla_tiers = draw(st.lists(st.sampled_from(TIERS), unique=True)) if sparse else TIERS
    data = {
        "name": "random",
        "roles": {"r": {}},
        "sla": {t: {"acknowledge": f"{draw(st.integers(1, 500))}m"} for t in sla_tiers},
        "lifecycle": {"initial": "s0", "events": sorted(events),
                      "milestones": {"acknowledge": draw(st.sampled_from(names))},
                      "states": states},
        "escalation": {"levels": ["l0", "l1", "l2", "l3"], "rules": rules},
        "communications": {"upd": {"audience": "customer", "on": {"opened": True},
                                   "repeat": {"every": "90m", "until": "end"},
                                   "template": "{id} {state}"}},
    }
    if sparse:
        del data["communications"], rules["late"]
        if not sla_tiers:
            del rules["breach"]
    playbook = Playbook.model_validate(data)
    errors = [d for d in semantic_diagnostics(playbook, Document("<generated>", data))
              if d.severity == "error"]
    assume(not errors)  # the runtime only ever runs playbooks the linter accepts
    return playbook


def _all_triggers(pb: Playbook) -> list[str]:
    return sorted({t for s in pb.lifecycle.states.values() for t in (*s.on, *s.outcomes)}
                  | {"nonsense"})


class Ledger:
    """The host's view of deadlines, kept only from the effects the runtime returns."""

    def __init__(self) -> None:
        self.armed: dict[str, float] = {}
        self.arms = self.resolved = 0

    def apply(self, step: Step, expired: str | None = None) -> None:
        if expired is not None:
            assert self.armed.pop(expired) is not None
            self.resolved += 1
        for e in step.effects:
            if isinstance(e, Arm):
                assert e.key not in self.armed, f"{e.key} armed twice without a cancel"
                self.armed[e.key] = e.due
                self.arms += 1
            elif isinstance(e, Cancel):
                assert self.armed.pop(e.key, None) is not None, f"cancel of unarmed {e.key}"
                self.resolved += 1


def drive(rt: Runtime, actions: list[int], tier: str) -> tuple[list[Step], Ledger]:
    """Play a sequence of choices against the runtime; check invariants after every step."""
    pb = rt.playbook
    states = set(pb.lifecycle.states)
    triggers = _all_triggers(pb)
    step = rt.open(incident(tier=tier), 0.0)
    ledger = Ledger()
    ledger.apply(step)
    history = [step]
    t = 0.0
    model = CaseModel(step.case.incident)
    machine = lifecycle_machine(pb, model)
    for choice in actions:
        case = step.case
        if case.closed:
            break
        t += (choice % 7) * 13.0
        due_keys = sorted((d, k) for k, d in case.timers.items() if d <= t)
        if due_keys and choice % 3 == 0:
            due, key = due_keys[0]
            step = rt.expire(case, key, max(due, case.updated))
            ledger.apply(step, expired=key)
            t = max(t, step.case.updated)
            machine.set_state(step.case.state, model)  # a timer moved the case, not a trigger
        else:
            trigger = triggers[choice % len(triggers)]
            try:
                step = rt.fire(case, trigger, max(t, case.updated))
            except InvalidTrigger:
                # The reference machine must refuse it too (MachineError or a False result).
                try:
                    assert not model.trigger(trigger, incident=case.incident)
                except (MachineError, AttributeError):
                    pass
                continue
            ledger.apply(step)
            assert model.trigger(trigger, incident=case.incident) is True
            assert step.case.state == model.state, "runtime and transitions disagree"
        assert step.case.state in states
        stale = [k for k in step.case.timers
                 if k.startswith("timer:") and k.split(":")[1] != step.case.state]
        assert not stale, f"timers of states the case has left are still armed: {stale}"
        assert ledger.armed == dict(step.case.timers)
        history.append(step)
    return history, ledger


def finish(rt: Runtime, step: Step, ledger: Ledger) -> Step:
    """Walk a case to a final state along a shortest path of accepted triggers."""
    case = step.case
    at = case.updated
    while not case.closed:
        path = _path_to_final(rt, case)
        at += 1.0
        step = rt.fire(case, path, at)
        ledger.apply(step)
        case = step.case
    return step


def _path_to_final(rt: Runtime, case: Case) -> str:
    seen = {case.state}
    queue = deque([(case.state, None)])
    while queue:
        state, first = queue.popleft()
        if state in rt.final:
            assert first is not None
            return first
        for trig, alts in rt.table[state].items():
            for pred, dest in alts:
                if pred is None or pred(case.incident):
                    if dest not in seen:
                        seen.add(dest)
                        queue.append((dest, first or trig))
                    break
    raise AssertionError(f"no way to a final state from {case.state}")


COMMON = settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(pb=random_playbooks(), actions=st.lists(st.integers(0, 1000), max_size=40),
       tier=st.sampled_from(TIERS))
def test_random_playbooks_keep_invariants_and_match_transitions(
        pb: Playbook, actions: list[int], tier: str) -> None:
    rt = Runtime(pb, epoch=EPOCH)
    history, ledger = drive(rt, actions, tier)
    last = finish(rt, history[-1], ledger)
    assert last.case.closed and not last.case.timers and not ledger.armed
    assert ledger.arms == ledger.resolved


@pytest.mark.parametrize("path", library_files(), ids=lambda p: p.stem)
@COMMON
@given(actions=st.lists(st.integers(0, 1000), max_size=60), tier=st.sampled_from(TIERS))
def test_library_playbooks_keep_invariants(path, actions: list[int], tier: str) -> None:
    rt = _runtime(path)
    history, ledger = drive(rt, actions, tier)
    last = finish(rt, history[-1], ledger)
    assert last.case.closed and ledger.arms == ledger.resolved and not ledger.armed


@COMMON
@given(pb=random_playbooks(), actions=st.lists(st.integers(0, 1000), max_size=30),
       tier=st.sampled_from(TIERS))
def test_same_sequence_same_history(pb: Playbook, actions: list[int], tier: str) -> None:
    first, _ = drive(Runtime(pb, epoch=EPOCH), actions, tier)
    second, _ = drive(Runtime(pb, epoch=EPOCH), actions, tier)
    assert first == second


def test_random_walks_by_outcome_probability_end_in_final_states() -> None:
    """Seeded walks through every library playbook, choosing outcomes by their `p`."""
    rng = random.Random(7)
    for path in library_files():
        rt = _runtime(path)
        for i in range(50):
            step = rt.open(incident(id=f"W{i}", tier=rng.choice(TIERS)), 0.0)
            ledger = Ledger()
            ledger.apply(step)
            for _ in range(200):
                spec = rt.playbook.lifecycle.states[step.case.state]
                if step.case.closed or not spec.outcomes:
                    break
                trig = rng.choices(list(spec.outcomes),
                                   [o.p for o in spec.outcomes.values()])[0]
                step = rt.fire(step.case, trig, step.case.updated + rng.uniform(1, 60))
                ledger.apply(step)
            step = finish(rt, step, ledger)
            assert step.case.closed and not ledger.armed, path.name


_RUNTIMES: dict[str, Runtime] = {}


def _runtime(path) -> Runtime:
    if str(path) not in _RUNTIMES:
        _RUNTIMES[str(path)] = Runtime(load_playbook(path), epoch=EPOCH)
    return _RUNTIMES[str(path)]

"""A drill session: the simulated organisation under a team, stepped forward by a clock.

The session wraps a World (model/world.py) whose policy is the team (team.py): the front
line works every case by the playbook; the team decides what the playbook reserves for
command. `advance(to)` runs the model to a simulated minute (timed injects fire inside the
model's own event loop, at their minute); `act(action)` checks a decision and applies it at
the current minute, or refuses it with the reason and changes nothing. The session never
reads a clock and never sleeps: the app (or a script) decides when to advance. One seed and
one list of decisions at the same minutes give one event log, exactly: stepping the world in
other increments changes no event's order (World.advance), and every random draw belongs to
a case, a purpose or an inject (model/streams.py), never to the order of play.

The same session runs a drill's counterfactuals: `policy="autopilot"` or `"none"` with the
team's contingency injects fired at the same minutes (part 2 compares the three).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Literal

from playbooks.effects import Revoked, Unlocked
from playbooks.emergency import EmergencyRuntime, Posture
from playbooks.errors import InvalidTrigger
from simulation.drills.actions import (Acknowledge, Activate, AdHocInject, DeclareLevel,
                                       Deescalate, Escalate, FireInject, MoveCase, Note,
                                       OrderParts,
                                       Prioritise, PriorityRule, Send, describe)
from simulation.drills.team import TeamPolicy
from simulation.errors import SimulationError
from simulation.model.world import World
from simulation.results.metrics import compute
from simulation.scenario.dispatch import pool_skills
from simulation.scenario.drill import Drill, DrillInject
from simulation.scenario.loader import LoadedScenario
from incidents.source import suggest

__all__ = ["DrillSession", "Outcome", "Fired", "log_digest", "PolicyName", "COSTLY",
           "CARRY_MINUTES", "EXERCISE_ROLES"]

COSTLY = ("activate", "order_parts")
"""Decisions that cost money (the cost-plan rule looks at them)."""
CARRY_MINUTES = 30 * 1440.0
"""The longest carry-over after a drill's end: a month is enough for every case the bundled
drills leave open to close; what is still open then is priced as open past its deadline."""

EXERCISE_ROLES: dict[str, tuple[str, ...]] = {
    "controller": ("fire_inject", "adhoc_inject", "note"),
    "evaluator": ("note",)}
"""The exercise's own staff (HSEEP's controllers and evaluators), beside the drill's
roles: what each may record. They run the exercise; they take no decision of the team's
(an evaluator's note is an observation, a controller's note a control note)."""

PolicyName = Literal["team", "autopilot", "none"]
Recorder = Callable[[str, dict[str, Any], float | None], None]
"""Called with (event kind, payload, simulated minute) for everything a record keeps."""


@dataclass(frozen=True)
class Outcome:
    """What became of an action: taken (`ok`) or refused, and why; when, and by whom."""

    ok: bool
    message: str
    action: dict[str, Any]
    at: float
    wall: str
    role: str
    details: dict[str, Any] | None = None
    """What the decision resolved to (the unlock an `activate` picked, the audience of a
    message): read by the after-action review."""
    spent: float | None = None
    """For a decision that costs money (an unlock, a parts order): what the response had
    cost up to the moment it was taken (the cost-plan rule judges it by this)."""
    key: str | None = None
    """The action's idempotency key (a script's step, a screen's key press): a record
    holding it took the action already, so a resume never takes it twice."""


@dataclass
class Fired:
    """An inject that has fired: when, whether by hand, and when the team acknowledged it."""

    inject: DrillInject
    number: int
    at: float
    by_hand: bool
    acknowledged: float | None = None


@dataclass
class _Grant:
    unlock: int
    level: int


def log_digest(world: World) -> str:
    """A digest of the event log so far (events and the names they use): equal digests,
    equal logs."""
    cols = world.log.columns()
    h = hashlib.sha256()
    for name in ("t", "kind", "case", "a", "b", "x"):
        h.update(cols[name].tobytes())
    h.update("\x00".join(world.log.names.items).encode("utf-8"))
    return h.hexdigest()


class DrillSession:
    """One drill being played (see the module docstring)."""

    def __init__(self, loaded: LoadedScenario, seed: int = 1, *, policy: PolicyName = "team",
                 role: str | None = None, recorder: Recorder | None = None,
                 wall: Callable[[], datetime] | None = None) -> None:
        drill = loaded.scenario.drill
        if drill is None:
            raise SimulationError(f"{loaded.path or loaded.scenario.name}: error: scenario "
                                  f"{loaded.scenario.name!r} has no `drill:` section")
        self.loaded, self.seed, self.policy_name = loaded, seed, policy
        self.drill: Drill = drill
        sc = loaded.scenario
        lead = loaded.playbooks[next(iter(loaded.mix))]
        self.emergency = EmergencyRuntime(lead, epoch=sc.start) if lead.emergency.levels \
            else None
        self.team = TeamPolicy(self.emergency) if policy == "team" else None
        world = World(loaded, seed, self.team, None if policy == "team" else policy)
        self.world = world
        world.touched = set()
        if self.team is not None:
            world.boost = self.team.boost
            self.team.bind(lambda cid: world.table.tier[cid], lambda cid: world.table.kind[cid])
        self.end = min(drill.length.wall_minutes, world.end)
        self.injects = drill.all_injects()
        self.numbers = {inj.id: i for i, inj in enumerate(self.injects)}
        self.fired: dict[str, Fired] = {}
        self.outcomes: list[Outcome] = []
        self.notes: list[Outcome] = []
        self.grants: dict[int, _Grant] = {}
        self.role = role if role is not None else next(iter(drill.roles))
        self.recorder = recorder
        self._wall = wall or (lambda: datetime.now(timezone.utc))
        self._actor = self.role
        self._details = {}
        self.keys: dict[str, Outcome] = {}
        """Idempotency key -> what became of the action that carried it."""
        self.over = False
        """The drill has ended: no inject fires and no decision is taken any more."""
        self.ended_at: float | None = None
        """The minute the drill ended (its length, or earlier), once it has."""
        self.version = 0
        """Bumped whenever something a screen shows changes outside the model (an action,
        an inject)."""
        world.begin()
        for inject in drill.injects:
            at = inject.at.wall_minutes  # type: ignore[union-attr]
            world.env.timeout(at).callbacks.append(
                lambda _, inject=inject: self._fire(inject, by_hand=False))

    # -- the clock ---------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.world.env.now

    @property
    def finished(self) -> bool:
        return self.now >= self.end

    def advance(self, to: float) -> None:
        """Run the world up to simulated minute `to` (never past the drill's end); a record
        gets a clock mark for each simulated hour passed (so an interrupted drill resumes
        where it stood, not at its last decision)."""
        to = min(to, self.end)
        before = self.now
        if to > before:
            self.world.advance(to)
            if self.recorder is not None and int(to // 60) > int(before // 60):
                self.recorder("clock", {}, self.now)

    def spent(self) -> float:
        """What the response has cost so far (every cost `metrics` counts, the price of lost
        service included), measured now."""
        return float(compute(self.world.results())["costs"]["measured"]["total"])

    def carry_over(self, limit: float = CARRY_MINUTES) -> None:
        """End the drill now (if it has not ended) and carry what it left behind to its end:
        no new arrivals, no new decision, every open case followed until it closes (or
        `limit` minutes pass). The world's measured windows become the drill and the
        carry-over (model/world.py `carry_over`). A record is not written to: what happens
        after the end is a consequence of the drill, computed again by every review."""
        if self.over:
            return
        self.over = True
        self.ended_at = self.now
        recorder, self.recorder = self.recorder, None
        try:
            self.world.carry_over(limit)
        finally:
            self.recorder = recorder

    def next_inject_at(self) -> float | None:
        """When the next timed inject fires (None: no more)."""
        times = [i.at.wall_minutes for i in self.drill.injects  # type: ignore[union-attr]
                 if i.id not in self.fired and i.at.wall_minutes >= self.now]  # type: ignore
        return min(times, default=None)

    # -- injects -----------------------------------------------------------------------------
    def _fire(self, inject: DrillInject, by_hand: bool) -> None:
        if inject.id in self.fired or self.over:
            return
        number = self.numbers[inject.id]
        self.world.apply_effect(number, inject.effect)
        self.fired[inject.id] = Fired(inject, number, self.now, by_hand)
        self.version += 1
        if self.recorder is not None:
            self.recorder("inject", {"inject": inject.id, "by_hand": by_hand}, self.now)

    def unacknowledged(self) -> list[Fired]:
        return [f for f in self.fired.values() if f.acknowledged is None]

    # -- decisions ---------------------------------------------------------------------------
    def act(self, action: Any, *, role: str | None = None, key: str | None = None) -> Outcome:
        """Apply a decision now, or refuse it (nothing changes) with the reason. `key`: the
        action's idempotency key, kept in the record."""
        if key is not None and key in self.keys:
            return self.keys[key]  # taken (or refused) already: a retry changes nothing
        role = action.role or role or self.role
        wall = self._wall().isoformat(timespec="seconds")
        spent = None
        if self.over:
            ok, message = False, "the drill has ended"
        elif role in EXERCISE_ROLES and role not in self.drill.roles:
            ok, message = self._exercise(role, action)
        elif role not in self.drill.roles:
            ok, message = False, f"unknown role {role!r}{suggest(role, self.drill.roles)}"
        else:
            if action.kind in COSTLY:
                spent = self.spent()
            handler = getattr(self, f"_do_{action.kind}")
            self._actor = role
            self._details: dict[str, Any] = {}
            try:
                ok, message = handler(action)
            except InvalidTrigger as exc:  # the runtime refused the step: nothing changed
                ok, message = False, str(exc)
        outcome = Outcome(ok, message, action.model_dump(mode="json", exclude_none=True),
                          self.now, wall, role, dict(self._details) if ok else None,
                          spent if ok else None, key)
        self.outcomes.append(outcome)
        if key is not None:
            self.keys[key] = outcome
        if ok and action.kind == "note":
            self.notes.append(outcome)
        self.version += 1
        if self.recorder is not None:
            payload = {"action": outcome.action, "role": role, "ok": ok, "message": message,
                       "wall": wall, "details": outcome.details}
            if key is not None:
                payload["key"] = key
            if ok:
                payload["digest"] = log_digest(self.world)
            self.recorder("action", payload, self.now)
        return outcome

    def _exercise(self, role: str, action: Any) -> tuple[bool, str]:
        """A controller's or an evaluator's entry: only what that role may record."""
        if action.kind not in EXERCISE_ROLES[role]:
            return False, (f"the {role} runs the exercise and takes no decision of the "
                           f"team's ({action.kind}); the players do")
        self._actor = role
        self._details = {}
        try:
            return getattr(self, f"_do_{action.kind}")(action)
        except InvalidTrigger as exc:
            return False, str(exc)

    def _team(self) -> TeamPolicy:
        if self.team is None:
            raise InvalidTrigger(f"in this run the {self.policy_name} policy decides; "
                                 "a team's decisions are not taken")
        return self.team

    def _case(self, cid: int) -> Any:
        if cid >= len(self.world.cases):
            n = len(self.world.cases)
            raise InvalidTrigger(f"unknown case {cid} (" + (f"cases so far: 0-{n - 1})" if n
                                                             else "no case has opened yet)"))
        case = self.world.cases[cid]
        if case is None:
            raise InvalidTrigger(f"case {cid} is closed")
        return case

    def _level_index(self, name: str) -> int:
        if self.emergency is None:
            raise InvalidTrigger("the lead playbook has no emergency levels")
        return self.emergency.index(name)

    def _do_declare_level(self, a: DeclareLevel) -> tuple[bool, str]:
        team = self._team()
        target = self._level_index(a.level)
        current = team.posture.level
        if target == current:
            return False, f"the operation is already at {a.level}"
        assert self.emergency is not None
        world = self.world
        effects = self.emergency.change(current, target, world.signals(), self.now,
                                        unlocks=False)
        taken_back = [g for g in self.grants.values() if g.level > target]
        unlocks = self.emergency.playbook.resources.unlocks
        for g in taken_back:
            u = unlocks[g.unlock]
            effects += (Revoked(u.resource, u.level, u.pool, g.unlock),)
            del self.grants[g.unlock]
        world.emergency_effects(effects)
        if target < current:  # messages owed for the levels left are owed no more
            for msg, _ in list(world.operation_owed):
                ob = self._obligation(msg.obligation)
                owner = ob.on.emergency
                if owner is not None and self.emergency.index(owner) > target:
                    world.withdraw_operation_message(msg)
        team.posture = Posture(target, self.now)
        self._details = {"level": a.level, "revoked": [g.unlock for g in taken_back]}
        word = "raised" if target > current else "lowered"
        back = f"; taken back: {', '.join(self._unlock_name(g.unlock) for g in taken_back)}" \
            if taken_back else ""
        return True, f"emergency level {word} to {a.level}{back}"

    def _unlock_name(self, index: int) -> str:
        assert self.emergency is not None
        u = self.emergency.playbook.resources.unlocks[index]
        return f"{u.resource}" + (f" for {u.pool}" if u.pool else "") + f" ({u.level})"

    def _do_activate(self, a: Activate) -> tuple[bool, str]:
        team = self._team()
        if self.emergency is None:
            return False, "the lead playbook unlocks nothing"
        unlocks = self.emergency.playbook.resources.unlocks
        if a.unlock is not None:
            if a.unlock >= len(unlocks):
                return False, f"no unlock {a.unlock}: the playbook lists {len(unlocks)}"
            index = a.unlock
        else:
            matches = [i for i, u in enumerate(unlocks)
                       if u.resource == a.resource and (a.pool is None or u.pool == a.pool)]
            if not matches:
                return False, f"the playbook has no {a.resource} unlock" + (
                    f" for pool {a.pool!r}" if a.pool else "")
            rank = {i: self.emergency.index(unlocks[i].level) for i in matches}
            allowed = [i for i in matches if rank[i] <= team.posture.level]
            fresh = [i for i in allowed if i not in self.grants]
            # The highest level allowed and not yet active (the biggest crew); if none is
            # allowed, the lowest level that would allow one, to say what it needs.
            index = (max(fresh, key=rank.__getitem__) if fresh else
                     max(allowed, key=rank.__getitem__) if allowed else
                     min(matches, key=rank.__getitem__))
        u = unlocks[index]
        need = self.emergency.index(u.level)
        if need > team.posture.level:
            return False, (f"{self._unlock_name(index)} needs emergency level {u.level}; the "
                           f"operation is at {team.declared}")
        if index in self.grants:
            return False, f"{self._unlock_name(index)} is already active"
        available = self.emergency.timebase.deadline(self.now, u.delay)
        self.world.emergency_effects((Unlocked(u.resource, u.level, available, u.pool,
                                               u.headcount, u.hours_per_day, index),))
        self.grants[index] = _Grant(index, need)
        self._details = {"unlock": index, "resource": u.resource, "pool": u.pool,
                         "level": u.level}
        when = "now" if available <= self.now else f"in {available - self.now:g} min"
        return True, f"{self._unlock_name(index)} activated, available {when}"

    def _do_order_parts(self, a: OrderParts) -> tuple[bool, str]:
        self._team()
        stock = self.world.stock.get(a.sku)
        if stock is None:
            return False, f"unknown SKU {a.sku!r}{suggest(a.sku, self.world.stock)}"
        if stock.spec.lead_time is None:
            return False, f"{a.sku} has no supplier lead time in the scenario: it cannot be ordered"
        stock.order(a.qty)
        return True, f"ordered {a.qty} x {a.sku}"

    def _requeue_all(self) -> None:
        world = self.world
        for cid in list(world.waiting):
            world.requeue(cid, world.cases[cid])

    def _do_prioritise(self, a: Prioritise) -> tuple[bool, str]:
        team = self._team()
        world = self.world
        if a.case is not None:
            self._case(a.case)
            team.give(team.case_boost, a.case, a.undo)
            what = f"case {a.case}"
        elif a.tier is not None:
            team.give(team.tier_boost, ("VIP", "tier1", "tier2").index(a.tier.value), a.undo)
            what = f"{a.tier.value} cases"
        else:
            if a.case_kind not in world.kinds:
                hint = suggest(a.case_kind or "", world.kinds)
                return False, f"unknown kind {a.case_kind!r}{hint}"
            team.give(team.kind_boost, world.kinds.index(a.case_kind), a.undo)
            what = f"{a.case_kind} cases"
        self._requeue_all()
        return True, (f"{what} no longer moved forward" if a.undo else f"{what} moved forward")

    def _do_priority_rule(self, a: PriorityRule) -> tuple[bool, str]:
        team = self._team()
        team.order = tuple(a.order)
        world = self.world
        world.key = {k: team.priority(tuple(pb.resources.priority))
                     for k, pb in world.loaded.playbooks.items()}
        self._requeue_all()
        return True, f"waiting work now served by {', '.join(a.order)}"

    def _escalation(self, cid: int, level: str | None, up: bool) -> tuple[bool, str]:
        world = self.world
        case = self._case(cid)
        runtime = world.runtimes[world.case_kind[cid]]
        levels = runtime.levels
        if level is None:
            step = case.level + (1 if up else -1)
            if not 0 <= step < len(levels):
                return False, (f"case {cid} is already at the {'top' if up else 'bottom'} "
                               f"level ({levels[case.level]})")
            level = levels[step]
        reason = f"team:{self._actor}"
        try:
            result = (runtime.escalate if up else runtime.deescalate)(case, level, self.now,
                                                                      reason)
        except InvalidTrigger as exc:  # the runtime names the case by its record: say which
            message = str(exc).replace(f"case {case.incident.id}", f"case {cid}")
            return False, message
        world._wake(cid, world.apply(cid, result, self.now), self.now)
        return True, f"case {cid} {'escalated' if up else 'de-escalated'} to {level}"

    def _do_escalate(self, a: Escalate) -> tuple[bool, str]:
        self._team()
        return self._escalation(a.case, a.level, True)

    def _do_deescalate(self, a: Deescalate) -> tuple[bool, str]:
        self._team()
        return self._escalation(a.case, a.level, False)

    def _do_move_case(self, a: MoveCase) -> tuple[bool, str]:
        self._team()
        world = self.world
        case = self._case(a.case)
        pool = world.pools.get(a.pool)
        if pool is None:
            return False, f"unknown pool {a.pool!r}{suggest(a.pool, world.pools)}"
        rec = world.waiting.get(a.case)
        if rec is None:
            world.pinned[a.case] = a.pool
            return True, (f"case {a.case} is not waiting for staff now; {a.pool} will take its "
                          f"next work if it fills the role")
        job = rec[5]
        work = job[0]
        skills = pool_skills(pool.name, pool.spec, world.loaded.playbooks)
        if work.role not in pool.spec.roles or (work.skill and work.skill not in skills):
            need = f"role {work.role!r}" + (f" with skill {work.skill!r}" if work.skill else "")
            return False, f"pool {a.pool!r} cannot do the work of {case.state!r} (needs {need})"
        world.pinned[a.case] = a.pool
        world.requeue(a.case, case, world.pinned_queue(a.case, job))
        return True, f"case {a.case} moved to {a.pool}"

    def _obligation(self, name: str) -> Any:
        for pb in self.loaded.playbooks.values():
            if name in pb.communications:
                return pb.communications[name]
        names = [n for pb in self.loaded.playbooks.values() for n in pb.communications]
        raise InvalidTrigger(f"no message template {name!r}{suggest(name, names)}")

    def _do_send(self, a: Send) -> tuple[bool, str]:
        self._team()
        ob = self._obligation(a.obligation)
        world = self.world
        if a.case is not None:
            self._case(a.case)
        self._details = {"audience": ob.audience}
        owed = [(m, t) for m, t in world.operation_owed if m.obligation == a.obligation]
        if owed:
            msg = owed[0][0]
            late = "" if self.now <= msg.due else f" ({self.now - msg.due:.0f} min late)"
            world.send_operation_message(a.obligation, ob.audience, msg.due)
            return True, f"sent {a.obligation} to {ob.audience}{late}: {msg.text}"
        world.send_operation_message(a.obligation, ob.audience, None)
        return True, (f"sent {a.obligation} to {ob.audience} (not owed yet: on the team's "
                      "initiative)")

    def _do_acknowledge(self, a: Acknowledge) -> tuple[bool, str]:
        fired = self.fired.get(a.inject)
        if fired is None:
            known = [i.id for i in self.injects]
            if a.inject not in known:
                return False, f"unknown inject {a.inject!r}{suggest(a.inject, known)}"
            return False, f"inject {a.inject!r} has not come yet"
        if fired.acknowledged is not None:
            return False, f"inject {a.inject!r} was acknowledged at minute {fired.acknowledged:g}"
        fired.acknowledged = self.now
        return True, f"acknowledged {a.inject}: {fired.inject.subject}"

    def _do_note(self, a: Note) -> tuple[bool, str]:
        return True, ("observer note" if a.observer else "note") + (
            f" on {a.task}" if a.task else "")

    def _do_fire_inject(self, a: FireInject) -> tuple[bool, str]:
        inject = next((i for i in self.drill.contingency if i.id == a.inject), None)
        if inject is None:
            names = [i.id for i in self.drill.contingency]
            timed = any(i.id == a.inject for i in self.drill.injects)
            return False, (f"inject {a.inject!r} is timed: it fires by itself" if timed else
                           f"no contingency inject {a.inject!r}{suggest(a.inject, names)}")
        if a.inject in self.fired:
            return False, f"inject {a.inject!r} has fired already"
        self._fire(inject, by_hand=True)
        return True, f"fired {a.inject}: {inject.subject}"

    def _do_adhoc_inject(self, a: AdHocInject) -> tuple[bool, str]:
        if a.to not in self.drill.roles:
            return False, f"no role {a.to!r} to send it to{suggest(a.to, self.drill.roles)}"
        taken = {i.id for i in self.injects}
        n = 1 + sum(1 for i in self.injects if i.id.startswith("X"))
        while f"X{n}" in taken:
            n += 1
        inject = DrillInject.model_validate({"id": f"X{n}", "from": a.sender, "to": a.to,
                                             "method": a.method, "subject": a.subject,
                                             "message": a.message})
        self.numbers[inject.id] = len(self.injects)
        self.injects.append(inject)
        self._fire(inject, by_hand=True)
        self._details = {"inject": inject.id}
        return True, f"sent ad-hoc inject {inject.id} to {a.to}: {a.subject}"

    # -- what the team sees ------------------------------------------------------------------
    def level(self) -> dict[str, Any]:
        """The declared level, the autopilot's recommendation, and the unlocks by state."""
        if self.emergency is None:
            return {"levels": [], "declared": None, "recommended": None, "unlocks": []}
        declared = self.team.declared if self.team else None
        recommended = self.team.recommended if self.team else None
        unlocks = []
        current = self.team.posture.level if self.team else 0
        pending = self.world.unlocks.pending
        for i, u in enumerate(self.emergency.playbook.resources.unlocks):
            state = ("active" if i in self.world.unlocks.active else "coming"
                     if i in pending else "allowed" if self.emergency.index(u.level) <= current
                     else "locked")
            unlocks.append({"unlock": i, "name": self._unlock_name(i), "level": u.level,
                            "resource": u.resource, "pool": u.pool, "state": state})
        return {"levels": list(self.emergency.names), "declared": declared,
                "recommended": recommended, "unlocks": unlocks,
                "since": self.team.posture.since if self.team else None}

    def describe(self, action: Any) -> str:
        return describe(action)


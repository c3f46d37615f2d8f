"""Example action scripts for a drill, written from its MSEL: a good team, a late one, a bad one.

`muster drill example-script DRILL --style STYLE` prints one; the tests play them to check
that the score tells them apart (a score that cannot is worse than none):
- `good`: every action an inject expects, taken halfway to its deadline (the MSEL followed);
- `late`: the same actions, each late beyond its allowance (a team that does the right
  things too slowly: major challenges);
- `bad`: a team that does harm: it moves the lowest tier ahead of everyone (VIP customers
  served last) and serves the rest in arrival order, declares one level above the one asked
  for, late, and then neither activates what it allows nor sends the messages it owes; it
  orders parts late, acknowledges nothing and escalates nothing;
- `passive`: no decision at all (`actions: []`): the no-response counterfactual, exactly.
Every action of a script is played while it is written, and one the drill would refuse (an
unlock a level does not allow, a case already closed) is left out, so the script plays
through.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from simulation.drills.actions import Action
from simulation.drills.session import DrillSession
from simulation.errors import SimulationError
from simulation.scenario.loader import LoadedScenario

__all__ = ["STYLES", "Style", "example_script"]

Style = Literal["good", "late", "bad", "passive"]
STYLES: tuple[str, ...] = ("good", "late", "bad", "passive")
_ACTION = TypeAdapter(Action)
_TIERS = ("VIP", "tier1", "tier2")


def example_script(loaded: LoadedScenario, seed: int = 1, style: Style = "good") -> str:
    """A valid, commented script for the drill in the given style (module docstring)."""
    drill = loaded.scenario.drill
    if drill is None:
        raise SimulationError(f"{loaded.path or loaded.scenario.name}: error: no `drill:` "
                              "section")
    if style not in STYLES:
        raise SimulationError(f"unknown style {style!r}: {', '.join(STYLES)}")
    plan = [] if style == "passive" else _plan(loaded, style)
    plan.sort(key=lambda p: p[0])
    session = DrillSession(loaded, seed)
    lines = [f"# Action script for drill {loaded.scenario.name!r} ({drill.title}), seed {seed}"
             + ("" if style == "good" else f", style {style!r}") + ".",
             "# Play it: muster drill " + _drill_ref(loaded) + " --script THIS_FILE",
             "# Each action: `at` (simulated time from the start), the acting `role`, the",
             "# `kind` of decision and its arguments; see docs/drills.md.",
             "muster: 1", f"drill: {loaded.scenario.name}", f"seed: {seed}"]
    taken = []
    for at, body, why in plan:
        if at > session.end:
            continue
        session.advance(at)
        if body["kind"] in ("escalate", "deescalate"):
            target = _newest_case(session)
            if target is None:
                continue
            body["case"] = target
        try:
            action = _ACTION.validate_python(body)
        except ValidationError:
            continue  # an expectation no single action spells out (a `send` of any template)
        outcome = session.act(action)
        if not outcome.ok:
            continue  # e.g. an unlock a level above the one declared: not in the example
        args = ", ".join(f"{k}: {_yaml(v)}" for k, v in body.items())
        taken += [f"  # {why}", f"  - {{at: {_duration(at)}, {args}}}"]
    lines += ["actions:", *taken] if taken else ["actions: []"]
    return "\n".join(lines) + "\n"


def _plan(loaded: LoadedScenario, style: Style) -> list[tuple[float, dict[str, Any], str]]:
    """(minute, action body, why) of each decision the style takes, unsorted."""
    drill = loaded.scenario.drill
    assert drill is not None
    plan: list[tuple[float, dict[str, Any], str]] = []
    levels = _levels(loaded)
    if style == "bad":
        plan.append((60.0, {"kind": "priority_rule", "order": ["opened"]},
                     "bad: serve strictly in arrival order (VIP customers wait like everyone)"))
        plan.append((61.0, {"kind": "prioritise", "tier": _TIERS[-1]},
                     "bad: move the lowest tier ahead of everyone, VIP customers last"))
    for inject in drill.injects:
        fired = inject.at.wall_minutes  # type: ignore[union-attr]
        if style != "bad":
            plan.append((fired + 5, {"kind": "acknowledge", "inject": inject.id,
                                     "role": inject.to}, f"{inject.id}: {inject.subject}"))
        for exp in inject.expect:
            if exp.action in ("acknowledge", "move_case"):
                continue  # acknowledged above; a move needs a pool the example cannot guess
            within = exp.within.wall_minutes
            allowance = exp.allowance.wall_minutes if exp.allowance is not None else within / 2
            body: dict[str, Any] = {"kind": exp.action, "role": inject.to}
            for name in ("level", "resource", "sku", "obligation", "pool"):
                if getattr(exp, name) is not None:
                    body[name] = getattr(exp, name)
            body.update({"order_parts": {"qty": exp.qty or _order_size(loaded, exp.sku)},
                         "prioritise": {"tier": "VIP"},
                         "priority_rule": {"order": ["tier", "deadline"]},
                         "note": {"text": exp.task or inject.subject}}.get(exp.action, {}))
            why = exp.task or exp.action
            if style == "good":
                plan.append((fired + within / 2, body, why))
                continue
            late = fired + within + allowance + 60.0
            if style == "late":
                plan.append((late, body, f"late: {why}"))
                continue
            bad = _bad(body, levels)  # style "bad"
            if bad is not None:
                plan.append((late, bad, f"bad: {why}"))
    return plan


def _bad(body: dict[str, Any], levels: list[str]) -> dict[str, Any] | None:
    """What the bad team does instead of the expected action (None: nothing)."""
    kind = body["kind"]
    if kind == "declare_level" and body.get("level") in levels:
        higher = min(levels.index(body["level"]) + 1, len(levels) - 1)
        return {**body, "level": levels[higher]}
    if kind == "order_parts":
        return body  # the right order, late
    return None  # no unlock, no message, no escalation, no acknowledgement


def _levels(loaded: LoadedScenario) -> list[str]:
    lead = loaded.playbooks[next(iter(loaded.mix))]
    return [lead.emergency.normal, *lead.emergency.levels] if lead.emergency.levels else []


def _drill_ref(loaded: LoadedScenario) -> str:
    """How to name the drill on the command line: its bundled name, or its file."""
    from simulation.scenario.loader import scenarios_dir
    path = loaded.path
    if path is not None and path.parent.resolve() != scenarios_dir().resolve():
        return str(path)
    return loaded.scenario.name


def _order_size(loaded: LoadedScenario, sku: str | None) -> int:
    """A sensible order in an example: the part's reorder batch, else its order-up-to
    level, else its initial stock, else 100."""
    spec = loaded.scenario.parts.get(sku or "")
    if spec is None:
        return 100
    policy = spec.policy
    return int(policy.Q or policy.S or policy.level or spec.initial or 100)


def _newest_case(session: DrillSession) -> int | None:
    """The most recently opened open case with the highest tier (VIP first)."""
    world = session.world
    best = None
    for cid in range(len(world.cases) - 1, -1, -1):
        if world.cases[cid] is not None:
            if world.table.tier[cid] == 0:
                return cid
            best = best if best is not None else cid
    return best


def _duration(minutes: float) -> str:
    if minutes % 60 == 0:
        return f"{minutes / 60:g}h"
    return f"{minutes:g}m"


def _yaml(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    text = str(value)
    if any(c in text for c in ":{}[],#&*!|>'\"%@`") or text.strip() != text or not text:
        return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'
    return text

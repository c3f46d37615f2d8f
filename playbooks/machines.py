"""A playbook as `transitions` state machines: the reference semantics and the diagrams.

`transitions` is the well-known, well-tested meaning of "state machine" here: the lifecycle,
escalation and emergency-level machines are built from plain config dicts exactly as its docs
describe. The fast runtime (`runtime.py`) is property-tested against these machines, and the
diagrams of `muster playbook graph` are drawn by transitions' own GraphMachine.
"""

from __future__ import annotations

from typing import Any, Literal

from transitions import Machine
from transitions.extensions import GraphMachine

from incidents.model import Incident
from playbooks.conditions import compile_condition
from playbooks.schema import LevelCondition, Playbook

__all__ = ["CaseModel", "lifecycle_config", "escalation_config", "emergency_config",
           "lifecycle_machine", "graph_machine", "condition_text", "mermaid"]

Part = Literal["lifecycle", "escalation", "emergency"]


class CaseModel:
    """The model object a transitions machine drives: one incident."""

    def __init__(self, incident: Incident | None = None) -> None:
        self.incident = incident
        self.state: str = ""


def condition_text(when: dict[str, Any]) -> str:
    """`tier=VIP & severity=high|critical`: how a condition is shown on a diagram."""
    parts = []
    for field, value in when.items():
        if isinstance(value, dict):
            bounds = [f"{k} {v}" for k, v in value.items()]
            parts.append(f"{field} {' '.join(bounds)}")
        else:
            values = value if isinstance(value, list) else [value]
            parts.append(f"{field}={'|'.join(str(v) for v in values)}")
    return " & ".join(parts)


def _named_condition(when: dict[str, Any]) -> Any:
    pred = compile_condition(when)
    assert pred is not None

    def condition(incident: Incident | None = None, **_: Any) -> bool:
        return incident is not None and pred(incident)

    condition.__name__ = condition_text(when)
    return condition


def lifecycle_config(playbook: Playbook) -> dict[str, Any]:
    """States and transitions of the case lifecycle, in transitions' config format."""
    lc = playbook.lifecycle
    states: list[dict[str, Any]] = [{"name": name, "final": st.final}
                                    for name, st in lc.states.items()]
    transitions: list[dict[str, Any]] = []
    for name, st in lc.states.items():
        for trig, out in st.outcomes.items():
            transitions.append({"trigger": trig, "source": name, "dest": out.to})
        for trig, alts in st.on.items():
            for alt in alts:
                spec: dict[str, Any] = {"trigger": trig, "source": name, "dest": alt.to}
                if alt.when:
                    spec["conditions"] = [_named_condition(alt.when)]
                transitions.append(spec)
    return {"states": states, "transitions": transitions, "initial": lc.initial}


def escalation_config(playbook: Playbook) -> dict[str, Any]:
    """Escalation levels, with one transition per rule from every lower level."""
    levels = playbook.escalation.levels
    transitions: list[dict[str, Any]] = []
    for name, rule in playbook.escalation.rules.items():
        if rule.to == "next":
            for i in range(len(levels) - 1):
                transitions.append({"trigger": name, "source": levels[i], "dest": levels[i + 1]})
            continue
        target = levels.index(rule.to)
        for source in levels[:target]:
            transitions.append({"trigger": name, "source": source, "dest": rule.to})
    for i in range(len(levels) - 1):
        transitions.append({"trigger": "escalate", "source": levels[i], "dest": levels[i + 1]})
    return {"states": list(levels), "transitions": transitions, "initial": levels[0]}


def _level_text(cond: LevelCondition) -> str:
    def one(t: Any) -> str:
        return f"{t.signal} > {t.above:g}" if t.above is not None else f"{t.signal} < {t.below:g}"

    parts = []
    if cond.any:
        parts.append(" or ".join(one(t) for t in cond.any))
    if cond.all:
        parts.append(" and ".join(one(t) for t in cond.all))
    return "; ".join(parts)


def emergency_config(playbook: Playbook) -> dict[str, Any]:
    """Emergency levels: up on a level's entry test, one step down on its exit test."""
    em = playbook.emergency
    names = [em.normal, *em.levels]
    transitions: list[dict[str, Any]] = []
    for i, (name, level) in enumerate(em.levels.items(), start=1):
        transitions.append({"trigger": f"enter {name}: {_level_text(level.enter)}",
                            "source": names[:i], "dest": name})
        transitions.append({"trigger": f"exit {name}: {_level_text(level.exit)}",
                            "source": name, "dest": names[i - 1]})
    return {"states": names, "transitions": transitions, "initial": em.normal}


def _config(playbook: Playbook, part: Part) -> dict[str, Any]:
    return {"lifecycle": lifecycle_config, "escalation": escalation_config,
            "emergency": emergency_config}[part](playbook)


def lifecycle_machine(playbook: Playbook, model: CaseModel) -> Machine:
    """A bare transitions machine for one case: invalid triggers raise MachineError."""
    return Machine(model=model, auto_transitions=False, ignore_invalid_triggers=False,
                   **lifecycle_config(playbook))


def graph_machine(playbook: Playbook, part: Part, engine: Literal["mermaid", "graphviz"]) -> Any:
    """The graph of one machine of the playbook, drawn by transitions' GraphMachine."""
    model = CaseModel()
    GraphMachine(model=model, auto_transitions=False, show_conditions=True,
                 title=f"{playbook.name}: {part}", graph_engine=engine,
                 **_config(playbook, part))
    return model.get_graph()  # type: ignore[attr-defined]


def mermaid(playbook: Playbook, part: Part) -> str:
    """A Mermaid state diagram with ASCII node ids (s0, s1, ...) and the names as labels.

    transitions writes each state's name as its node id; Mermaid ids are safest as plain
    ASCII words, and playbook states may be Chinese or contain dashes, so they are renamed
    here, line by line, while the labels keep the names people wrote.
    """
    names = [st["name"] if isinstance(st, dict) else st
             for st in _config(playbook, part)["states"]]
    ids = {name: f"s{i}" for i, name in enumerate(names)}
    out = []
    for line in graph_machine(playbook, part, "mermaid").draw(None).splitlines():
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped.startswith("state ") and " as " in stripped:
            label, _, name = stripped[len("state "):].rpartition(" as ")
            line = f"{indent}state {label} as {ids.get(name, name)}"
        elif stripped.startswith("Class "):
            _, name, style = stripped.split(" ", 2)
            line = f"{indent}class {ids.get(name, name)} {style}"
        elif " --> " in stripped:
            source, _, rest = stripped.partition(" --> ")
            dest, sep, label = rest.partition(": ")
            line = f"{indent}{ids.get(source, source)} --> {ids.get(dest, dest)}{sep}{label}"
        out.append(line)
    return "\n".join(out) + "\n"

"""Runtime throughput: Muster's compiled runtime versus a bare `transitions` machine.

Both fire exactly the same trigger sequences: N incidents of a bundled playbook, each walked
from opening to a final state with outcomes drawn by their probabilities (seeded). The
reference is measured in the same run, on the same machine, so the ratio is what counts.

- muster: `Runtime.open` + `Runtime.fire` per trigger, with all effects (deadlines armed
  and cancelled, milestones, escalations, messages rendered, work requested).
- transitions: one bare `Machine` (auto_transitions off, invalid triggers raise) driving one
  model, reset to the initial state per incident; only state changes, no effects. This is
  the most favourable setup for transitions (no per-incident machine construction).

Run: python -m benchmarks.bench_runtime [--incidents N] [--playbook NAME] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from datetime import datetime, timedelta, timezone

from transitions import Machine

from incidents.model import Incident, Tier
from playbooks.loader import load_playbook
from playbooks.machines import CaseModel, lifecycle_config
from playbooks.runtime import Runtime
from playbooks.schema import Playbook

__all__ = ["workload", "run_muster", "run_transitions", "main"]


def workload(pb: Playbook, n: int, seed: int) -> tuple[list[Incident], list[list[str]]]:
    """N incidents and the trigger sequence each one fires (outcomes drawn by `p`)."""
    rng = random.Random(seed)
    epoch = datetime(2026, 1, 5, tzinfo=timezone.utc)
    tiers = [Tier.VIP, Tier.TIER1, Tier.TIER2]
    incidents, sequences = [], []
    states = pb.lifecycle.states
    for i in range(n):
        incidents.append(Incident(id=f"B{i}", kind="repair", tier=rng.choices(tiers, [1, 3, 6])[0],
                                  customer="客户", product="地板",
                                  opened_at=epoch + timedelta(minutes=i)))
        state, seq = pb.lifecycle.initial, []
        while not states[state].final:
            spec = states[state]
            if spec.outcomes:
                trig = rng.choices(list(spec.outcomes), [o.p for o in spec.outcomes.values()])[0]
                state = spec.outcomes[trig].to
            else:  # an external event: take the first alternative that has no condition
                trig, alts = next(iter(spec.on.items()))
                state = alts[-1].to
            seq.append(trig)
        sequences.append(seq)
    return incidents, sequences


def run_muster(rt: Runtime, incidents: list[Incident], sequences: list[list[str]]) -> float:
    """Seconds to open every incident and fire its triggers through the runtime."""
    gc.collect()
    start = time.perf_counter()
    fire = rt.fire
    for incident, seq in zip(incidents, sequences):
        case = rt.open(incident, 0.0).case
        t = 0.0
        for trig in seq:
            t += 5.0
            case = fire(case, trig, t).case
    return time.perf_counter() - start


def run_transitions(pb: Playbook, incidents: list[Incident], sequences: list[list[str]]) -> float:
    """Seconds for a bare transitions machine to fire the same triggers."""
    model = CaseModel()
    machine = Machine(model=model, auto_transitions=False, ignore_invalid_triggers=False,
                      **lifecycle_config(pb))
    initial = pb.lifecycle.initial
    gc.collect()
    start = time.perf_counter()
    trigger = model.trigger  # type: ignore[attr-defined]
    for incident, seq in zip(incidents, sequences):
        machine.set_state(initial, model)
        model.incident = incident
        for trig in seq:
            trigger(trig, incident=incident)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--playbook", default="standard-repair")
    parser.add_argument("--repeat", type=int, default=3, help="best of R runs each")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    pb = load_playbook(args.playbook)
    incidents, sequences = workload(pb, args.incidents, args.seed)
    triggers = sum(len(s) for s in sequences)
    rt = Runtime(pb)
    muster = min(run_muster(rt, incidents, sequences) for _ in range(args.repeat))
    bare = min(run_transitions(pb, incidents, sequences) for _ in range(args.repeat))
    print(f"playbook {pb.name}: {args.incidents:,} incidents, {triggers:,} triggers "
          f"(best of {args.repeat})")
    print(f"  muster runtime      {triggers / muster:>12,.0f} triggers/s  ({muster:.2f} s, "
          "with effects)")
    print(f"  bare transitions    {triggers / bare:>12,.0f} triggers/s  ({bare:.2f} s, "
          "state changes only)")
    ratio = bare / muster
    print(f"  speed-up            {ratio:>12.2f}x  (target: at least 2x) "
          f"{'OK' if ratio >= 2 else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()

"""The lagged offered-load plan: a closed-form hourly staffing to start from and compare with.

A planner's spreadsheet staffs each hour by a steady-state formula. Fed the hour's own
arrival rate it lags behind a surge: work that arrived in the last hour is still being
served. The modified-offered-load approximation (Jennings, Mandelbaum, Massey and Whitt,
Management Science 42(10), 1996) feeds the formula instead the load an infinite-server
system would carry at that moment, m(t) = E[work arrived before t still in service at t]:
for exponential work of mean E[S], dm/dt = lambda(t) - m(t) / E[S] (with customers who give
up while waiting, Erlang A then accounts for them). Each step's headcount is the smallest s
whose Erlang C (or, with patience, Erlang A) measure at arrival rate m / E[S] meets the
target. It is computed beside the iterative plan (hourly.py), starts it, and is drawn with
it: close to it where the load changes slowly, and it is the yardstick the iterative plan
must beat on steadiness.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from simulation.sizing.erlang import smallest_servers

__all__ = ["offered_load", "offered_load_plan"]


def offered_load(rate: Sequence[float], step: float, mean_work: float) -> np.ndarray:
    """Mean offered load m in each step: `rate` the work arriving per minute in each step
    (held constant within it), integrated minute by minute from an empty start."""
    decay = math.exp(-1.0 / mean_work)
    m, out = 0.0, []
    minutes = max(1, int(round(step)))
    for lam in rate:
        total = 0.0
        target = lam * mean_work
        for _ in range(minutes):  # exact for a constant rate over each minute
            m = target + (m - target) * decay
            total += m
        out.append(total / minutes)
    return np.array(out)


def offered_load_plan(rate: Sequence[float], step: float, mean_work: float, kind: str,
                      limit: float, tau: float = 0.0,
                      mean_patience: float | None = None) -> list[int]:
    """The smallest headcount per step meeting `kind <= limit` ("delay", "wait>" with
    `tau`, "abandonment") at the step's lagged offered load (module docstring)."""
    measure = {"delay": "delay", "wait>": "wait>", "abandonment": "abandonment"}[kind]
    model = "A" if mean_patience is not None else "C"
    plan = []
    for load in offered_load(rate, step, mean_work):
        if load <= 1e-9:
            plan.append(0)
            continue
        found = smallest_servers(model, measure, limit, load / mean_work, mean_work,  # type: ignore[arg-type]
                                 mean_patience, tau)
        plan.append(int(found) if found is not None else int(math.ceil(load * 2)))
    return plan

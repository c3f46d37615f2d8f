"""The warm-up is left out of every metric: waits, utilisation, stock.

Each scenario here starts with a surge that ends well inside its warm-up; after it the system
is the textbook one, so the metrics that `compute` reports (the warm-up left out) must match
theory computed here. Counting the warm-up in would drag in the surge's long waits, its full
utilisation and its stock-outs, far outside the tolerances (each test says by how much).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from simulation.model.world import run
from simulation.results.metrics import compute
from simulation.scenario.loader import load_scenario

PLAYBOOK = """\
name: one-part
roles: {{server: {{}}}}
parts: {{P1: {{name: part}}}}
sla: {{VIP: {{}}, tier1: {{}}, tier2: {{}}}}
lifecycle:
  initial: service
  states:
    service:
      work: {{role: server, duration: {{exponential: {service}m}}{parts}}}
      outcomes: {{served: done}}
    done: {{final: true}}
"""


def write(tmp: Path, playbook: str, scenario: str):
    (tmp / "one-part.yaml").write_text(playbook, encoding="utf-8")
    (tmp / "s.yaml").write_text(scenario, encoding="utf-8")
    return load_scenario(tmp / "s.yaml")


def erlang_c(lam: float, mean_service: float, c: int) -> tuple[float, float]:
    a = lam * mean_service
    rho = a / c
    head = sum(a ** k / math.factorial(k) for k in range(c))
    tail = a ** c / math.factorial(c) / (1 - rho)
    p_wait = tail / (head + tail)
    return p_wait, p_wait * mean_service / (c * (1 - rho))


def test_waits_and_utilisation_leave_the_warmup_out(tmp_path: Path) -> None:
    """M/M/3 at rho = 0.83 after a two-day surge at 1.5x (above capacity: a backlog of some
    140 customers that takes about three more days to clear), warm-up 7 days. With the
    warm-up counted the mean wait would be several times Erlang C's and the utilisation
    about 3 points higher."""
    rate, service, c = 10.0, 15.0, 3
    loaded = write(tmp_path, PLAYBOOK.format(service=service, parts=""), f"""\
name: warm
horizon: 37d
warmup: 7d
demand:
  base_rate: {rate}/h
  surges: [{{kind: step, start: 0d, factor: 1.5, duration: 2d}}]
mix:
  q: {{playbook: one-part.yaml, tiers: {{tier2: 1}}}}
staffing:
  servers: {{roles: [server], headcount: {c}}}
messages: {{role: null}}
""")
    _, w_theory = erlang_c(rate / 60.0, service, c)
    rho = rate / 60.0 * service / c
    waits, utils = [], []
    for seed in range(1, 7):
        m = compute(run(loaded, seed))
        waits.append(m["incidents"]["staff_wait"]["mean"])
        utils.append(m["utilisation"]["servers"]["arrivals"]["utilisation"])
    se = np.std(waits, ddof=1) / math.sqrt(len(waits))
    assert abs(np.mean(waits) - w_theory) <= max(4 * se, 0.05 * w_theory), (waits, w_theory)
    assert abs(np.mean(waits) - w_theory) <= 0.2 * w_theory
    assert abs(np.mean(utils) - rho) <= 0.012, (utils, rho)


def poisson_cdf(k: int, mean: float) -> float:
    return sum(math.exp(-mean) * mean ** i / math.factorial(i) for i in range(k + 1))


def test_stock_leaves_the_warmup_out(tmp_path: Path) -> None:
    """Base stock S = 6, lead time 8 h, Poisson demand 0.6/h: fill rate P(Poisson(4.8) <= 5)
    = 0.65. A tenfold surge in the first two days empties the shelf (fill rate near 0 for
    some 290 units); counted in, the fill rate would fall to about 0.4."""
    level, lead_hours, demand = 6, 8.0, 0.6
    loaded = write(tmp_path, PLAYBOOK.format(service=1, parts=", parts: {P1: 1.0}"), f"""\
name: warm-stock
horizon: 40d
warmup: 4d
demand:
  base_rate: {demand}/h
  surges: [{{kind: step, start: 0d, factor: 10, duration: 2d}}]
mix:
  q: {{playbook: one-part.yaml, tiers: {{tier2: 1}}}}
staffing:
  servers: {{roles: [server], headcount: 60}}
parts:
  P1: {{initial: {level}, policy: {{type: base_stock, level: {level}}}, lead_time: {lead_hours}h}}
messages: {{role: null}}
""")
    theory = poisson_cdf(level - 1, demand * lead_hours)
    fills, units = [], 0.0
    for seed in (1, 2, 3):
        s = compute(run(loaded, seed))["stock"]["P1"]["measured"]
        fills.append(s["fill_rate"])
        units += s["demand_units"]
    se = math.sqrt(theory * (1 - theory) / units)
    assert abs(np.mean(fills) - theory) <= max(4 * se, 0.02), (fills, theory)

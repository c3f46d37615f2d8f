"""Customers who give up waiting: Erlang A, and where an abandoned case goes.

Erlang A (M/M/c+M; Garnett, Mandelbaum and Reiman 2002) is a birth-death chain: arrivals at
rate lambda, departures at min(n, c) mu + max(n - c, 0) theta in state n, 1/theta the mean
patience. The test solves the chain itself (truncated where the tail is negligible) and
compares the simulated P(abandon) = theta E[Q] / lambda and the mean wait of all customers,
E[Q] / lambda (Little on the queue, abandoned waits included), on three cases, one loaded
far above capacity (offered load 1.4 c), where Erlang C has no answer at all.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from simulation.model.world import run
from simulation.results.metrics import compute
from simulation.scenario.loader import load_scenario, scenario_from_text


def erlang_a(lam: float, mean_service: float, c: int, mean_patience: float
             ) -> tuple[float, float, float]:
    """(P(abandon), mean wait of all customers, P(wait > 0)) from the birth-death chain;
    rates per minute."""
    mu, theta = 1.0 / mean_service, 1.0 / mean_patience
    logs, log_p, n = [0.0], 0.0, 0
    while True:  # log pi_n up to where the tail is far below double precision
        n += 1
        log_p += math.log(lam) - math.log(min(n, c) * mu + max(n - c, 0) * theta)
        logs.append(log_p)
        if n > c and log_p < max(logs) - 60:
            break
    top = max(logs)
    pi = np.exp(np.array(logs) - top)
    pi /= pi.sum()
    states = np.arange(len(pi))
    queue = float((np.maximum(states - c, 0) * pi).sum())
    return theta * queue / lam, queue / lam, float(pi[c:].sum())


def queue(rate: float, service: float, c: int, patience: float, days: int) -> str:
    return textwrap.dedent(f"""\
        name: erlang-a
        horizon: {days}d
        warmup: 1d
        queue:
          arrival_rate: {rate}/h
          service: {{exponential: {service}m}}
          servers: {c}
          patience: {{exponential: {patience}m}}
        service_level: [20s, 5m]
        """)


CASES = [  # arrivals/h, mean service (min), servers, mean patience (min), days, reps
    (10.0, 15.0, 3, 20.0, 30, 6),     # a = 2.5: rho 0.83
    (57.0, 10.0, 10, 10.0, 10, 6),    # a = 9.5, impatient customers
    (42.0, 10.0, 5, 30.0, 10, 6),     # a = 7 on 5 servers: 140% of capacity
]


@pytest.mark.parametrize("rate,service,c,patience,days,reps", CASES)
def test_abandonment_and_waits_match_erlang_a(rate: float, service: float, c: int,
                                              patience: float, days: int, reps: int) -> None:
    loaded = scenario_from_text(queue(rate, service, c, patience, days))
    p_ab, wait, _ = erlang_a(rate / 60.0, service, c, patience)
    abandons, waits = [], []
    for seed in range(1, reps + 1):
        every = compute(run(loaded, seed))["waiting"]["all"]
        abandons.append(every["abandonment"])
        waits.append(every["mean_wait_all"])
    se_a = np.std(abandons, ddof=1) / math.sqrt(reps)
    se_w = np.std(waits, ddof=1) / math.sqrt(reps)
    assert abs(np.mean(abandons) - p_ab) <= max(4 * se_a, 0.005), (np.mean(abandons), p_ab)
    assert abs(np.mean(abandons) - p_ab) <= 0.1 * p_ab + 0.002
    assert abs(np.mean(waits) - wait) <= max(4 * se_w, 0.02 * wait), (np.mean(waits), wait)
    assert abs(np.mean(waits) - wait) <= 0.1 * wait


def test_the_tolerance_would_catch_patience_ignored() -> None:
    """Without abandonment the first case is Erlang C (mean wait 16.9 min, not ~6), and the
    overloaded one has no steady state at all: the tolerances above are far tighter."""
    _, wait, _ = erlang_a(10.0 / 60.0, 15.0, 3, 20.0)
    a, c, mean_service = 2.5, 3, 15.0
    head = sum(a ** k / math.factorial(k) for k in range(c))
    tail = a ** c / math.factorial(c) / (1 - a / c)
    erlang_c_wait = tail / (head + tail) * mean_service / (c * (1 - a / c))
    assert erlang_c_wait > 2 * wait


PLAYBOOK = """\
name: give-up
roles: {{agent: {{}}, tech: {{}}}}
parts: {{P1: {{name: part}}}}
sla: {{VIP: {{}}, tier1: {{}}, tier2: {{}}}}
lifecycle:
  initial: call
  events: [cancel]
{abandon}
  states:
    call:
      work: {{role: agent, duration: 1m}}
      outcomes: {{taken: visit}}
      on: {{cancel: withdrawn}}
    visit:
      work: {{role: tech, duration: 2h, parts: {{P1: 1.0}}}}
      outcomes: {{fixed: done}}
      on: {{cancel: withdrawn}}
    withdrawn: {{final: true}}
    done: {{final: true}}
"""

SCENARIO = """\
name: give-up
horizon: 1d
drain: 3d
demand: {{base_rate: 6/h}}
mix:
  job:
    playbook: give-up.yaml
    tiers: {{tier2: 1}}
    patience: {{all: {{exponential: 30m}}, parts: {parts}}}
staffing:
  desk: {{roles: [agent], headcount: 20}}
  techs: {{roles: [tech], headcount: 1}}
parts:
  P1: {{initial: 0, policy: {{type: sQ, s: 0, Q: 50}}, lead_time: 12h}}
messages: {{role: null}}
"""


def closed_states(tmp: Path, abandon: str, parts: str = "false") -> dict[str, int]:
    (tmp / "give-up.yaml").write_text(PLAYBOOK.format(abandon=abandon), encoding="utf-8")
    (tmp / "s.yaml").write_text(SCENARIO.format(parts=parts), encoding="utf-8")
    results = run(load_scenario(tmp / "s.yaml"), 2)
    names = results.log.names.items
    closed = results.log.select("closed")
    out: dict[str, int] = {}
    for code in closed["a"].tolist():
        out[names[code]] = out.get(names[code], 0) + 1
    gave_up = results.log.select("abandoned")
    out["gave_up_in_" + "+".join(sorted({names[c] for c in gave_up["a"].tolist()}))] = int(
        gave_up["case"].size)
    return out


def test_without_an_abandon_rule_cases_close_as_abandoned(tmp_path: Path) -> None:
    """One technician for 6 jobs an hour of 2 h each: most customers give up waiting for
    the visit; the parts wait (12 h) does not count, so nobody gives up before the shelf is
    restocked and the staff queue forms."""
    out = closed_states(tmp_path, abandon="")
    assert out.get("abandoned", 0) > 50 and out.get("withdrawn", 0) == 0
    assert "gave_up_in_visit" in out  # only while waiting for staff, never at the desk


def test_the_playbook_names_where_a_case_goes(tmp_path: Path) -> None:
    by_state = closed_states(tmp_path, abandon="  abandon: {to: withdrawn}")
    by_trigger = closed_states(tmp_path, abandon="  abandon: {trigger: cancel}")
    for out in (by_state, by_trigger):
        assert out.get("withdrawn", 0) > 50 and out.get("abandoned", 0) == 0
    assert by_state == by_trigger  # the same customers give up, the same way


def test_the_clock_may_also_run_while_waiting_for_parts(tmp_path: Path) -> None:
    """With `parts: true` a 30-minute patience is mostly spent in the 12-hour parts wait:
    far more customers give up than when only the staff wait counts."""
    staff_only = closed_states(tmp_path, abandon="")["abandoned"]
    with_parts = closed_states(tmp_path, abandon="", parts="true")["abandoned"]
    assert with_parts > staff_only

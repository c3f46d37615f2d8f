"""The model checked against theory. Every expected value is computed here from formulas.

Tolerances (chosen to catch a wrong model, not to pass a noisy one):
- Erlang C: the mean wait and P(wait) of 10 independent replications; the simulated mean must
  lie within 4 standard errors (of the replication means) of the formula, AND within 15%
  (mean wait) / 0.04 absolute (P(wait)). One server more moves the mean wait by 68-97%, and a
  service 10% slower by more than 15%, in every case below (checked in
  `test_tolerances_would_catch_a_wrong_model`).
- Base-stock fill rate: within 4 binomial standard errors of P(Poisson(dL) <= S-1), and 0.03.
- Little's law: L (time-average of the sampled backlog) within 5% of lambda x W.
- Arrivals: the count within 4 Poisson standard deviations of the integrated rate.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from simulation.scenario.loader import scenario_from_text
from simulation.model.world import run

WARMUP_DAYS = 2


def erlang_c(lam: float, mean_service: float, c: int) -> tuple[float, float]:
    """(P(wait), mean wait in minutes) of M/M/c with arrival rate lam per minute."""
    a = lam * mean_service
    rho = a / c
    assert rho < 1
    head = sum(a ** k / math.factorial(k) for k in range(c))
    tail = a ** c / math.factorial(c) / (1 - rho)
    p_wait = tail / (head + tail)
    return p_wait, p_wait * mean_service / (c * (1 - rho))


def queue_scenario(rate_per_hour: float, mean_service: float, servers: int, days: int) -> str:
    return textwrap.dedent(f"""
        name: mmc
        horizon: {days}d
        warmup: {WARMUP_DAYS}d
        queue:
          arrival_rate: {rate_per_hour}/h
          service: {{exponential: {mean_service}m}}
          servers: {servers}
        """)


def measured(item: dict) -> dict[str, float]:
    """A pool's or stock's totals over the measured windows (after the warm-up)."""
    w = item["windows"]
    return {k: w["arrivals"][k] + w["drain"][k] for k in w["arrivals"]}


def waits(results) -> np.ndarray:
    """Minutes each customer opened after the warm-up waited for a server."""
    assigned = results.log.select("assigned")
    opened = results.cases.columns()["opened"]
    keep = opened[assigned["case"]] >= results.warmup
    return assigned["x"][keep]


CASES = [  # (arrivals per hour, mean service minutes, servers, days, replications)
    (10.0, 15.0, 3, 60, 10),   # rho = 0.83
    (20.0, 5.0, 2, 40, 10),    # rho = 0.83, two servers
    (30.0, 18.0, 10, 30, 10),  # rho = 0.90, ten servers
    (9.0, 6.0, 1, 120, 10),    # M/M/1, rho = 0.90: heavy load
]
REL = 0.15
"""Relative tolerance of the mean wait; a server more or fewer moves it by 68% or more."""


@pytest.mark.parametrize("rate,service,c,days,reps", CASES)
def test_mmc_matches_erlang_c(rate: float, service: float, c: int, days: int, reps: int) -> None:
    loaded = scenario_from_text(queue_scenario(rate, service, c, days))
    p_theory, w_theory = erlang_c(rate / 60.0, service, c)
    means, p_waits = [], []
    for seed in range(1, reps + 1):
        w = waits(run(loaded, seed))
        means.append(w.mean())
        p_waits.append((w > 1e-9).mean())
    se_w = np.std(means, ddof=1) / math.sqrt(reps)
    se_p = np.std(p_waits, ddof=1) / math.sqrt(reps)
    w_sim, p_sim = float(np.mean(means)), float(np.mean(p_waits))
    assert abs(w_sim - w_theory) <= 4 * se_w, (w_sim, w_theory, se_w)
    assert abs(w_sim - w_theory) <= REL * w_theory, (w_sim, w_theory)
    assert abs(p_sim - p_theory) <= max(4 * se_p, 0.005), (p_sim, p_theory, se_p)
    assert abs(p_sim - p_theory) <= 0.04, (p_sim, p_theory)


def test_tolerances_would_catch_a_wrong_model() -> None:
    """One server more, or service 10% slower, would fail the tolerance in every case."""
    for rate, service, c, _, _ in CASES:
        _, right = erlang_c(rate / 60.0, service, c)
        _, more = erlang_c(rate / 60.0, service, c + 1)
        assert abs(more - right) > 4 * REL * right
        if rate / 60.0 * service * 1.1 < c:
            _, slower = erlang_c(rate / 60.0, service * 1.1, c)
            assert abs(slower - right) > REL * right


def poisson_cdf(k: int, mean: float) -> float:
    return sum(math.exp(-mean) * mean ** i / math.factorial(i) for i in range(k + 1))


@pytest.mark.parametrize("level,lead_hours,start", [(3, 4.0, 1.0), (6, 8.0, 1.0),
                                                    (6, 8.0, 0.0), (4, 6.0, 3.0)])
def test_base_stock_fill_rate(level: int, lead_hours: float, start: float) -> None:
    """Poisson demand d, fixed lead time L, base stock S with backorders: an arriving demand
    finds stock iff fewer than S units are on order, so fill rate = P(Poisson(dL) <= S-1).

    The start (as a multiple of the level) does not matter after the warm-up: an empty shelf
    orders up to the level at once, a full one drifts down to it."""
    demand_per_hour = 0.6
    text = textwrap.dedent(f"""
        name: base-stock
        horizon: 120d
        warmup: 5d
        demand: {{base_rate: {demand_per_hour}/h}}
        mix:
          fix: {{playbook: one-part.yaml, tiers: {{tier2: 1}}}}
        staffing:
          bench: {{roles: [fitter], headcount: 50}}
        parts:
          P1:
            initial: {int(start * level)}
            policy: {{type: base_stock, level: {level}}}
            lead_time: {lead_hours}h
        messages: {{role: null}}
        """)
    playbook = textwrap.dedent("""
        name: one-part
        roles: {fitter: {}}
        parts: {P1: {name: part}}
        sla: {VIP: {}, tier1: {}, tier2: {}}
        lifecycle:
          initial: fit
          states:
            fit:
              work: {role: fitter, duration: 1m, parts: {P1: 1.0}}
              outcomes: {fitted: done}
            done: {final: true}
        """)
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "one-part.yaml").write_text(playbook, encoding="utf-8")
        (Path(tmp) / "s.yaml").write_text(text, encoding="utf-8")
        from simulation.scenario.loader import load_scenario
        loaded = load_scenario(Path(tmp) / "s.yaml")
        results = run(loaded, seed=3)
    stock = measured(results.stock["P1"])
    fill = stock["filled_units"] / stock["demand_units"]
    theory = poisson_cdf(level - 1, demand_per_hour * lead_hours)
    se = math.sqrt(theory * (1 - theory) / stock["demand_units"])
    assert abs(fill - theory) <= max(4 * se, 0.01) and abs(fill - theory) <= 0.03, (fill, theory)


def test_littles_law_on_the_event_log() -> None:
    loaded = scenario_from_text(queue_scenario(12.0, 20.0, 5, 30))
    results = run(loaded, seed=5)
    cases = results.cases.columns()
    opened, closed = cases["opened"], cases["closed"]
    window = (opened >= results.warmup) & ~np.isnan(closed)
    lam = window.sum() / ((results.horizon - results.warmup))  # arrivals per minute
    w = float(np.mean(closed[window] - opened[window]))       # minutes in system
    signals = results.log.select("signal")
    inside = (signals["t"] >= results.warmup) & (signals["t"] <= results.horizon)
    l_sampled = float(signals["a"][inside].mean())             # open cases, sampled hourly
    assert abs(l_sampled - lam * w) <= 0.05 * lam * w, (l_sampled, lam * w)


def test_arrivals_follow_the_integrated_rate_with_surge() -> None:
    from zoneinfo import ZoneInfo

    from simulation.model.arrivals import expected_arrivals
    text = textwrap.dedent("""
        name: surge
        horizon: 14d
        demand:
          base_rate: 6/h
          hourly: [1,1,1,1,1,1,2,3,4,4,4,3,3,4,4,3,2,2,1,1,1,1,1,1]
          weekly: [1.2, 1.1, 1, 1, 1, 0.4, 0.3]
          surges:
            - {kind: step, start: 3d, duration: 4d, factor: 3}
            - {kind: spike, start: 9d, factor: 4, decay: 12h}
        queue_free: true
        """)
    text = text.replace("queue_free: true\n", "")
    loaded = scenario_from_text(text + textwrap.dedent("""
        mix: {repair: {playbook: standard-repair}}
        staffing:
          desk: {roles: [agent], headcount: 30}
          techs: {roles: [technician, senior_technician], headcount: 40}
        messages: {role: null}
        """))
    sc = loaded.scenario
    expected = expected_arrivals(sc.demand, sc.horizon.wall_minutes, sc.start,
                                 ZoneInfo(loaded.calendar.timezone))
    results = run(loaded, seed=11)
    assert abs(results.arrivals - expected) <= 4 * math.sqrt(expected), (results.arrivals, expected)
    opened = results.cases.columns()["opened"]
    in_step = ((opened >= 3 * 1440) & (opened < 7 * 1440)).sum()
    step_expected = expected_arrivals(sc.demand, 7 * 1440, sc.start,
                                      ZoneInfo(loaded.calendar.timezone)) - expected_arrivals(
        sc.demand, 3 * 1440, sc.start, ZoneInfo(loaded.calendar.timezone))
    assert abs(in_step - step_expected) <= 4 * math.sqrt(step_expected)


def test_same_seed_same_log_and_replications_independent() -> None:
    loaded = scenario_from_text(queue_scenario(10.0, 15.0, 3, 10))
    a, b, c = run(loaded, 42), run(loaded, 42), run(loaded, 43)
    for col in ("t", "kind", "case", "a", "b", "x"):
        assert np.array_equal(a.log.columns()[col], b.log.columns()[col])
    assert not np.array_equal(a.log.columns()["t"][:1000], c.log.columns()["t"][:1000])
    # Hourly arrival counts of two replications are uncorrelated (|r| < 4/sqrt(n)).
    bins = np.arange(0, 10 * 1440 + 60, 60)
    ca = np.histogram(a.cases.columns()["opened"], bins)[0]
    cc = np.histogram(c.cases.columns()["opened"], bins)[0]
    r = np.corrcoef(ca, cc)[0, 1]
    assert abs(r) < 4 / math.sqrt(len(ca)), r


def test_server_utilisation_is_rho() -> None:
    """Busy time over on-duty time of the servers equals rho = lambda / (c mu)."""
    rate, service, c = 20.0, 12.0, 5  # rho = 0.8
    loaded = scenario_from_text(queue_scenario(rate, service, c, 60))
    values = []
    for seed in (1, 2, 3, 4):
        pool = measured(run(loaded, seed).pools["servers"])
        values.append(pool["busy_minutes"] / pool["on_duty_minutes"])
    rho = rate / 60.0 * service / c
    se = np.std(values, ddof=1) / math.sqrt(len(values))
    assert abs(np.mean(values) - rho) <= max(4 * se, 0.005) and abs(np.mean(values) - rho) < 0.02

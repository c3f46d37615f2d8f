"""Queue discipline checked against theory: who is served first, and in what order.

Every expected value is computed here from formulas:
- Non-preemptive priority M/M/c with equal service rates (Cobham 1954; e.g. Gross and Harris,
  "Fundamentals of Queueing Theory", section 3.4): class k (1 = highest) waits on average
  Wq_k = C(c, a) / (c mu (1 - s_{k-1}) (1 - s_k)), s_k = sum of lambda_i / (c mu) over i <= k,
  where C(c, a) is Erlang C's probability of waiting at the total offered load a.
- M/M/1 first come first served: P(Wq > 0) = rho, Wq | Wq > 0 ~ Exp(mu - lambda), so
  Var(Wq) = rho (2 - rho) / (mu - lambda)^2. Serving last in first out keeps the mean and
  multiplies E[Wq^2] by 1 / (1 - rho) (Kleinrock, "Queueing Systems" vol. 1, 3.x), so a
  variance test tells the two apart where a mean test cannot.

Each test would fail if its rule were broken: VIP-first reversed, escalated cases no longer
first under the autopilot, or first-come-first-served within a class turned into LIFO.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from simulation.model.world import run
from simulation.scenario.loader import load_scenario

WARMUP_DAYS = 3


def erlang_c_probability(a: float, c: int) -> float:
    rho = a / c
    head = sum(a ** k / math.factorial(k) for k in range(c))
    tail = a ** c / math.factorial(c) / (1 - rho)
    return tail / (head + tail)


def priority_waits(lams: list[float], mean_service: float, c: int) -> list[float]:
    """Mean waits of non-preemptive priority classes (highest first) in M/M/c."""
    mu = 1.0 / mean_service
    a = sum(lams) / mu
    p_wait = erlang_c_probability(a, c)
    out, s_prev = [], 0.0
    for lam in lams:
        s = s_prev + lam / (c * mu)
        out.append(p_wait / (c * mu * (1 - s_prev) * (1 - s)))
        s_prev = s
    return out


PLAYBOOK = """\
name: one-queue
roles: {{server: {{}}}}
sla: {{VIP: {{}}, tier1: {{}}, tier2: {{}}}}
lifecycle:
  initial: service
  states:
    service:
      work: {{role: server, duration: {{exponential: {service}m}}}}
      outcomes: {{served: done}}
    done: {{final: true}}
{extra}
"""

SCENARIO = """\
name: discipline
horizon: {days}d
warmup: {warmup}d
policy: {policy}
demand: {{base_rate: {rate}/h}}
mix:
  q: {{playbook: one-queue.yaml, tiers: {tiers}}}
staffing:
  servers: {{roles: [server], headcount: {servers}}}
messages: {{role: null}}
"""


def load(tmp: Path, *, rate: float, service: float, servers: int, days: int, tiers: str,
         extra: str, policy: str = "autopilot"):
    (tmp / "one-queue.yaml").write_text(PLAYBOOK.format(service=service, extra=extra),
                                        encoding="utf-8")
    (tmp / "s.yaml").write_text(SCENARIO.format(days=days, warmup=WARMUP_DAYS, policy=policy,
                                                rate=rate, tiers=tiers, servers=servers),
                                encoding="utf-8")
    return load_scenario(tmp / "s.yaml")


def waits_by_tier(results) -> dict[int, np.ndarray]:
    """Minutes each counted customer waited for a server, by tier index."""
    assigned = results.log.select("assigned")
    cols = results.cases.columns()
    keep = cols["opened"][assigned["case"]] >= results.warmup
    tier = cols["tier"][assigned["case"]][keep]
    x = assigned["x"][keep]
    return {t: x[tier == t] for t in (0, 1, 2)}


def replicated_means(loaded, reps: int) -> dict[int, tuple[float, float]]:
    """Per tier: mean over replications of the mean wait, and its standard error."""
    per: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for seed in range(1, reps + 1):
        for t, w in waits_by_tier(run(loaded, seed)).items():
            if w.size:
                per[t].append(float(w.mean()))
    return {t: (float(np.mean(v)), float(np.std(v, ddof=1) / math.sqrt(len(v))))
            for t, v in per.items() if len(v) > 1}


def close(sim: tuple[float, float], theory: float, rel: float) -> bool:
    mean, se = sim
    return abs(mean - theory) <= max(4 * se, 0.02 * theory) and abs(mean - theory) <= rel * theory


def test_vip_first_matches_the_priority_formula(tmp_path: Path) -> None:
    """c = 3, rho = 0.85, 30% VIP: VIP customers wait a fraction of what tier 2 waits; with
    the order reversed the VIP wait would be the larger one (about 4x the formula)."""
    rate, service, c, vip = 10.2, 15.0, 3, 0.3
    loaded = load(tmp_path, rate=rate, service=service, servers=c, days=80,
                  tiers="{VIP: 0.3, tier2: 0.7}", extra="resources: {priority: [tier, opened]}")
    lam = rate / 60.0
    w_vip, w_low = priority_waits([lam * vip, lam * (1 - vip)], service, c)
    sim = replicated_means(loaded, 8)
    assert close(sim[0], w_vip, 0.2), (sim[0], w_vip)
    assert close(sim[2], w_low, 0.15), (sim[2], w_low)
    assert w_low > 3 * w_vip  # the formula itself separates the classes widely


ESCALATE = """\
escalation:
  levels: [front_line, supervisor]
  rules:
    hot: {on_enter: service, when: {tier: tier1}, to: supervisor}
resources: {priority: [opened]}
"""


def test_autopilot_serves_escalated_cases_first(tmp_path: Path) -> None:
    """Tier 1 cases are escalated as they open; the playbook's own order ignores tiers.
    The autopilot serves escalated cases first (the priority formula, escalated = class 1);
    without a response (policy none) the queue is first come first served (Erlang C for
    everybody)."""
    rate, service, c, hot = 10.2, 15.0, 3, 0.3
    lam = rate / 60.0
    w_hot, w_cold = priority_waits([lam * hot, lam * (1 - hot)], service, c)
    a = lam * service
    w_fcfs = erlang_c_probability(a, c) * service / (c * (1 - a / c))
    auto = replicated_means(load(tmp_path, rate=rate, service=service, servers=c, days=80,
                                 tiers="{tier1: 0.3, tier2: 0.7}", extra=ESCALATE), 8)
    assert close(auto[1], w_hot, 0.2), (auto[1], w_hot)
    assert close(auto[2], w_cold, 0.15), (auto[2], w_cold)
    none = replicated_means(load(tmp_path, rate=rate, service=service, servers=c, days=80,
                                 tiers="{tier1: 0.3, tier2: 0.7}", extra=ESCALATE,
                                 policy="none"), 8)
    assert close(none[1], w_fcfs, 0.2) and close(none[2], w_fcfs, 0.15), (none, w_fcfs)


@pytest.mark.parametrize("order", ["[tier, opened]", "[tier]"])
def test_first_come_first_served_within_a_class(tmp_path: Path, order: str) -> None:
    """M/M/1 at rho = 0.7: the variance of the wait is rho (2 - rho) / (mu - lambda)^2 under
    first come first served; last in first out would keep the mean and more than triple
    E[Wq^2] (a variance about 4.4x larger). With `opened` in the order the key keeps the
    arrival order; without it, ties are broken by the order of queueing."""
    rate, service = 4.2, 10.0  # lambda = 0.07/min, mu = 0.1/min
    loaded = load(tmp_path, rate=rate, service=service, servers=1, days=60,
                  tiers="{tier2: 1}", extra=f"resources: {{priority: {order}}}")
    lam, mu = rate / 60.0, 1.0 / service
    rho = lam / mu
    mean_theory = rho / (mu - lam)
    var_theory = rho * (2 - rho) / (mu - lam) ** 2
    means, variances = [], []
    for seed in range(1, 9):
        w = waits_by_tier(run(loaded, seed))[2]
        means.append(w.mean())
        variances.append(w.var())
    se = np.std(variances, ddof=1) / math.sqrt(len(variances))
    assert abs(np.mean(means) - mean_theory) <= 0.12 * mean_theory, (np.mean(means), mean_theory)
    assert abs(np.mean(variances) - var_theory) <= max(4 * se, 0.05 * var_theory), (
        np.mean(variances), var_theory, se)
    assert abs(np.mean(variances) - var_theory) <= 0.2 * var_theory
    lifo = (2 * rho / (mu - lam) ** 2) / (1 - rho) - mean_theory ** 2
    assert lifo > 3 * var_theory  # the tolerance is far tighter than the LIFO difference


@pytest.mark.parametrize("policy", ["autopilot", "none"])
def test_escalation_while_waiting_moves_a_case_forward(tmp_path: Path, policy: str) -> None:
    """One server, busy; three cases queue (tier 2 at minutes 1 and 2, then tier 1 at 3).
    The tier 1 case is escalated 10 minutes after it opens, while it still waits. The
    autopilot serves it next (it is queued again under its new key); with no response it
    keeps its place, last."""
    extra = textwrap.dedent("""\
        escalation:
          levels: [front_line, supervisor]
          rules:
            late: {after: 10m, when: {tier: tier1}, to: supervisor}
        resources: {priority: [opened]}
        """)
    loaded = load(tmp_path, rate=0, service=60, servers=1, days=1, tiers="{tier2: 1}",
                  extra=extra, policy=policy)  # no random arrivals: only the cases below
    from incidents.model import Tier
    from simulation.model.world import World

    world = World(loaded, 1)
    world.begin()
    order = [(0.0, Tier.TIER2), (1.0, Tier.TIER2), (2.0, Tier.TIER2), (3.0, Tier.TIER1)]
    for at, tier in order:
        world.env.timeout(at).callbacks.append(
            lambda _, tier=tier: world.open_case("q", tier, world.env.now,
                                                 world.streams.cases.take()))
    world.advance(600.0)
    assigned = world.log.select("assigned")
    served = assigned["case"].tolist()
    assert served[0] == 0
    if policy == "autopilot":
        assert served[1:4] == [3, 1, 2], served
    else:
        assert served[1:4] == [1, 2, 3], served

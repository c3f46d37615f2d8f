"""The statistics a verdict rests on: sequential intervals, the error split over targets and
looks, too close to call; and the formulas beside the simulation (Erlang C, Erlang A,
square-root staffing), each against an independent computation written here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulation.sizing.erlang import erlang_a, erlang_c, smallest_servers, sqrt_staffing
from simulation.sizing.statistics import (combine, estimate, judge, look_schedule,
                                          tail_error)


def test_looks_double_and_end_at_the_cap() -> None:
    assert look_schedule(10, 160) == (10, 20, 40, 80, 160)
    assert look_schedule(10, 100) == (10, 20, 40, 80, 100)
    assert look_schedule(5, 5) == (5,)
    with pytest.raises(ValueError):
        look_schedule(1, 10)


def test_the_error_is_split_over_targets_and_looks() -> None:
    assert tail_error(0.95, 2, 5) == pytest.approx(0.005)
    assert tail_error(0.90, 1, 1) == pytest.approx(0.10)


def test_verdicts_from_intervals() -> None:
    est = estimate([0.96, 0.97, 0.98, 0.97, 0.96], 0.025)
    assert judge(est, ">=", 0.95, 0.01) == ("meets", "interval clear of the threshold")
    assert judge(est, ">=", 0.99, 0.001)[0] == "fails"
    assert judge(est, "<=", 0.99, 0.001)[0] == "meets"
    wide = estimate([0.90, 1.0, 0.94, 0.99, 0.92], 0.025)
    assert judge(wide, ">=", 0.95, 0.001)[0] == "undecided"
    assert judge(wide, ">=", 0.95, 0.001, final=True)[0] == "too close to call"
    assert judge(wide, ">=", 0.95, 0.5)[0] == "too close to call"  # within the tolerance
    assert judge(estimate([None, None], 0.025), ">=", 0.5, 0.1)[0] == "undecided"


def test_a_configuration_fails_on_one_target_and_meets_on_all() -> None:
    assert combine(["meets", "fails"]) == "fails"
    assert combine(["meets", "meets"]) == "meets"
    assert combine(["meets", "too close to call"]) == "too close to call"
    assert combine(["too close to call", "undecided"]) == "undecided"


def sequential(rng: np.random.Generator, mean: float, sd: float, threshold: float,
               targets: int, first: int = 10, cap: int = 160) -> str:
    """The search's decision rule on normal replications of one target."""
    looks = look_schedule(first, cap)
    tail = tail_error(0.95, targets, len(looks))
    values = rng.normal(mean, sd, cap)
    for n in looks:
        verdict, _ = judge(estimate(list(values[:n]), tail), ">=", threshold, 1e-9,
                           n == cap)
        if verdict != "undecided":
            return verdict
    return "undecided"


def test_the_sequential_rule_errs_less_often_than_promised() -> None:
    """A configuration whose true mean sits just on the wrong side of the threshold (a
    quarter of a replication's sd below it, where a decision is hardest) is declared to
    meet it in at most 5% of trials; the plain rule (a 95% interval at every look, no split
    over looks) errs more than that, which is why the split is there. 4000 trials: the
    binomial sd of a 5% rate is 0.34 points."""
    rng = np.random.default_rng(11)
    trials = 4000
    wrong = sum(sequential(rng, 0.95 - 0.01, 0.04, 0.95, 1) == "meets" for _ in range(trials))
    assert wrong / trials <= 0.05
    naive = 0
    for _ in range(trials):
        values = rng.normal(0.94, 0.04, 160)
        for n in look_schedule(10, 160):
            verdict, _ = judge(estimate(list(values[:n]), 0.025), ">=", 0.95, 1e-9)
            if verdict != "undecided":
                naive += verdict == "meets"
                break
    assert naive / trials > wrong / trials


def test_clear_cases_are_decided_at_the_first_look() -> None:
    rng = np.random.default_rng(3)
    assert sequential(rng, 0.99, 0.01, 0.95, 2) == "meets"
    assert sequential(rng, 0.80, 0.05, 0.95, 2) == "fails"


# -- formulas --------------------------------------------------------------------------------

def erlang_c_here(a: float, c: int) -> float:
    """P(wait) of M/M/c at offered load a, straight from the textbook sum."""
    head = sum(a ** k / math.factorial(k) for k in range(c))
    tail = a ** c / math.factorial(c) * c / (c - a)
    return tail / (head + tail)


def erlang_a_here(lam: float, mu: float, theta: float, c: int) -> tuple[float, float, float]:
    """(P(wait), P(abandon), mean wait of all) of M/M/c+M from its birth-death chain."""
    p = [1.0]
    for n in range(1, 4000):
        p.append(p[-1] * lam / (min(n, c) * mu + max(n - c, 0) * theta))
        if n > c + 50 and p[-1] < 1e-18 * max(p):
            break
    pi = np.array(p) / sum(p)
    q = sum(max(n - c, 0) * x for n, x in enumerate(pi))
    return float(pi[c:].sum()), theta * q / lam, q / lam


@pytest.mark.parametrize("lam,service,c", [(10 / 60, 15, 3), (1.0, 10, 12), (3.0, 10, 34)])
def test_erlang_c_matches_the_textbook(lam: float, service: float, c: int) -> None:
    m = erlang_c(lam, service, c)
    p = erlang_c_here(lam * service, c)
    assert m.delay == pytest.approx(p, rel=1e-9)
    assert m.asa == pytest.approx(p * service / (c - lam * service), rel=1e-9)
    tau = 7.0
    assert m.not_served_within(tau) == pytest.approx(
        p * math.exp(-(c / service - lam) * tau), rel=1e-6)
    assert not erlang_c(lam, service, int(lam * service)).stable


@pytest.mark.parametrize("lam,service,patience,c", [(10 / 60, 15, 20, 3), (2.0, 10, 30, 18),
                                                    (2.0, 10, 30, 12)])
def test_erlang_a_matches_the_birth_death_chain(lam: float, service: float, patience: float,
                                                c: int) -> None:
    m = erlang_a(lam, service, patience, c)
    delay, ab, wait = erlang_a_here(lam, 1 / service, 1 / patience, c)
    assert (m.delay, m.abandonment, m.mean_wait_all) == pytest.approx((delay, ab, wait),
                                                                      rel=1e-7)
    assert m.not_served_within(0.0) == pytest.approx(delay, rel=1e-7)
    # by the wait's definition: served within tau rises from 1 - delay to 1 - abandonment
    assert 1 - m.not_served_within(1e6) == pytest.approx(1 - ab, rel=1e-6)


def test_erlang_a_without_patience_is_erlang_c() -> None:
    a, c = erlang_a(1.0, 10, 1e9, 13), erlang_c(1.0, 10, 13)
    assert a.delay == pytest.approx(c.delay, rel=1e-5)
    assert a.not_served_within(5) == pytest.approx(c.not_served_within(5), rel=1e-4)


def test_smallest_servers_is_the_first_that_meets() -> None:
    for lam, target in ((1.0, 0.2), (3.0, 0.1), (0.2, 0.5)):
        c = smallest_servers("C", "delay", target, lam, 10)
        assert erlang_c_here(lam * 10, c) <= target < (
            erlang_c_here(lam * 10, c - 1) if c - 1 > lam * 10 else 1.0)
    c = smallest_servers("A", "abandonment", 0.05, 2.0, 10, 30)
    assert erlang_a_here(2.0, 0.1, 1 / 30, c)[1] <= 0.05 < erlang_a_here(2.0, 0.1, 1 / 30,
                                                                           c - 1)[1]


@pytest.mark.parametrize("load,alpha", [(20, 0.2), (100, 0.2), (400, 0.1), (100, 0.5)])
def test_square_root_staffing_is_right_or_one_off(load: float, alpha: float) -> None:
    """Borst, Mandelbaum and Reiman: square-root staffing with the Halfin-Whitt beta is
    optimal or one off over a wide range of loads."""
    exact = smallest_servers("C", "delay", alpha, load / 10, 10)
    n, beta = sqrt_staffing("delay", alpha, load / 10, 10)
    assert abs(n - exact) <= 1, (n, exact, beta)
    with_patience = smallest_servers("A", "delay", alpha, load / 10, 10, 20)
    n_a, _ = sqrt_staffing("delay", alpha, load / 10, 10, 20)
    assert abs(n_a - with_patience) <= 2, (n_a, with_patience)

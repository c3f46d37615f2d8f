"""Steady-state staffing formulas: Erlang C, Erlang A and square-root staffing.

- Erlang C (M/M/c): closed forms from the offered load A = lambda / mu.
- Erlang A (M/M/c+M; Garnett, Mandelbaum and Reiman 2002): the birth-death chain with birth
  rate lambda and death rate min(n, c) mu + max(n - c, 0) theta, solved numerically (in logs,
  truncated where the tail is below 1e-15), stable at any load. P(abandon) = theta E[Q] /
  lambda; the share not served within tau follows a waiting customer's place in line: at
  place k it moves up at rate c mu + (k - 1) theta and gives up at rate theta.
- Square-root staffing N = R + beta sqrt(R) (Borst, Mandelbaum and Reiman 2004), beta chosen
  so that the QED (Halfin-Whitt; with patience Garnett) diffusion meets the target; its
  delay probability is [1 + sqrt(r) h(beta / sqrt(r)) / h(-beta)]^-1 with r = theta / mu and
  h the normal hazard, which is Halfin-Whitt's [1 + beta Phi(beta) / phi(beta)]^-1 at r = 0.

Targets a formula can answer are queue measures: `delay` (P(wait > 0)), `wait>` (share not
served within tau), `asa`, `mean_wait_all`, `abandonment`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import erfcx
from scipy.stats import poisson

__all__ = ["QueueMeasures", "erlang_c", "erlang_a", "smallest_servers", "sqrt_staffing",
           "qed_measures", "Measure", "MAX_SERVERS"]

Measure = Literal["delay", "wait>", "asa", "mean_wait_all", "abandonment"]
MAX_SERVERS = 100_000
"""Largest staff a formula is asked about (the scenario language's headcount limit)."""
_TAIL = 1e-15


@dataclass(frozen=True)
class QueueMeasures:
    """Steady-state measures of one staffing level (waits in minutes)."""

    servers: int
    delay: float
    """P(an arriving customer waits at all), abandoning customers included."""
    abandonment: float
    asa: float
    """Mean wait of the customers served."""
    mean_wait_all: float
    """Mean wait of every arriving customer (E[Q] / lambda)."""
    stable: bool
    _tail: tuple[tuple[float, ...], tuple[float, ...], float, float, float] | None = None

    def not_served_within(self, tau: float) -> float:
        """Share of arriving customers not served within `tau` minutes (those who give up
        count as not served)."""
        if not self.stable:
            return 1.0
        assert self._tail is not None
        probs, served, rate, theta, _ = self._tail
        k = np.arange(1, len(probs) + 1)
        if theta <= 0:
            reach = poisson.sf(k - 1, rate * tau)  # P(Gamma(k, rate) <= tau)
        else:
            reach = _death_cdf(len(probs), rate, theta, tau)
        return float(1.0 - (1.0 - sum(probs)) - float(np.dot(probs, np.asarray(served) * reach)))

    def value(self, measure: Measure, tau: float = 0.0) -> float:
        if measure == "wait>":
            return self.not_served_within(tau)
        return float(getattr(self, measure))


def _death_cdf(places: int, rate: float, theta: float, tau: float) -> np.ndarray:
    """P(a customer at place k reaches a server within tau, were they never to give up),
    k = 1..places: a pure-death chain with rates rate + (k - 1) theta, solved for every
    start at once by uniformization (a Poisson mixture of the jump chain's steps)."""
    rates = rate + np.arange(places) * theta
    top = float(rates.max())
    if top <= 0 or tau <= 0:
        return np.zeros(places)
    move = rates / top
    mean = top * tau
    last = int(poisson.ppf(1.0 - 1e-13, mean)) + 1
    reached = np.zeros(places + 1)
    reached[0] = 1.0
    total = np.zeros(places)
    chunk = 4096
    for lo in range(0, last + 1, chunk):  # Poisson weights a chunk at a time
        weights = poisson.pmf(np.arange(lo, min(lo + chunk, last + 1)), mean)
        for j, w in enumerate(weights):
            if lo + j > 0:
                reached[1:] = move * reached[:-1] + (1.0 - move) * reached[1:]
            if reached[-1] > 1.0 - 1e-12:  # every start has arrived: the rest of the mass
                return np.clip(total + float(poisson.sf(lo + j - 1, mean)) * reached[1:],
                               0.0, 1.0)
            total += w * reached[1:]
    return np.clip(total, 0.0, 1.0)


def erlang_c(lam: float, mean_service: float, servers: int) -> QueueMeasures:
    """M/M/c: arrival rate `lam` per minute, mean service minutes, c servers."""
    a = lam * mean_service
    if servers <= a or servers < 1:
        inf = math.inf
        return QueueMeasures(servers, 1.0, 0.0, inf, inf, False)
    b = 1.0  # Erlang B by its recursion, then C from B
    for k in range(1, servers + 1):
        b = a * b / (k + a * b)
    rho = a / servers
    c = b / (1.0 - rho + rho * b)
    drain = servers / mean_service - lam
    wait = c / drain
    places = _places_c(c, rho)
    probs = tuple(float(c * (1 - rho) * rho ** (k - 1)) for k in range(1, places + 1))
    return QueueMeasures(servers, c, 0.0, wait, wait, True,
                         (probs, (1.0,) * places, servers / mean_service, 0.0, lam))


def _places_c(c: float, rho: float) -> int:
    if c <= _TAIL or rho <= 0:
        return 1
    return int(min(max(1, math.ceil(math.log(_TAIL / c) / math.log(rho))), 20_000))


def erlang_a(lam: float, mean_service: float, mean_patience: float,
             servers: int) -> QueueMeasures:
    """M/M/c+M from its birth-death chain (see the module notes)."""
    if mean_patience <= 0 or not math.isfinite(mean_patience):
        return erlang_c(lam, mean_service, servers)
    mu, theta = 1.0 / mean_service, 1.0 / mean_patience
    log_p = [0.0]
    n = 0
    while True:
        n += 1
        death = min(n, servers) * mu + max(n - servers, 0) * theta
        log_p.append(log_p[-1] + math.log(lam) - math.log(death))
        if n > servers and log_p[-1] - max(log_p) < math.log(_TAIL) and \
                log_p[-1] < log_p[-2]:
            break
        if n > 10 * MAX_SERVERS:
            break
    logs = np.asarray(log_p)
    p = np.exp(logs - logs.max())
    p /= p.sum()
    states = np.arange(len(p))
    queue = np.maximum(states - servers, 0)
    eq = float((queue * p).sum())
    delay = float(p[servers:].sum()) if servers < len(p) else 0.0
    abandonment = theta * eq / lam
    probs = p[servers:]  # place k = n - servers + 1 for n >= servers
    places = len(probs)
    rate = servers * mu
    j = np.arange(1, places + 1)
    step_ok = (rate + (j - 1) * theta) / (rate + j * theta)
    served = np.cumprod(step_ok)
    times = np.cumsum(1.0 / (rate + j * theta))
    served_wait = float((probs * served * times).sum())
    p_served = 1.0 - abandonment
    asa = served_wait / p_served if p_served > 0 else math.inf
    return QueueMeasures(servers, delay, abandonment, asa, eq / lam, True,
                         (tuple(probs.tolist()), tuple(served.tolist()), rate, theta, lam))


def _measures(model: Literal["C", "A"], lam: float, mean_service: float,
              mean_patience: float | None, servers: int) -> QueueMeasures:
    if model == "A" and mean_patience is not None:
        return erlang_a(lam, mean_service, mean_patience, servers)
    return erlang_c(lam, mean_service, servers)


def smallest_servers(model: Literal["C", "A"], measure: Measure, limit: float, lam: float,
                     mean_service: float, mean_patience: float | None = None,
                     tau: float = 0.0, higher_is_better: bool = False) -> int | None:
    """The fewest servers whose steady state meets `measure <= limit` (or `>= limit` when
    `higher_is_better`), by bisection (every measure is monotone in the servers); None if
    even MAX_SERVERS do not."""
    if lam <= 0:
        return 0

    def ok(c: int) -> bool:
        m = _measures(model, lam, mean_service, mean_patience, c)
        if not m.stable:
            return False
        v = m.value(measure, tau)
        return v >= limit if higher_is_better else v <= limit

    lo = max(1, int(lam * mean_service)) if model == "C" else 1
    if ok(lo):
        return lo
    hi = lo * 2
    while not ok(hi):
        if hi >= MAX_SERVERS:
            return None
        lo, hi = hi, min(hi * 2, MAX_SERVERS)
    while hi - lo > 1:  # ok(hi), not ok(lo)
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def qed_measures(beta: float, load: float, mean_service: float,
                 mean_patience: float | None = None) -> dict[str, float]:
    """The QED diffusion's delay probability, abandonment and mean wait of everyone at
    N = R + beta sqrt(R) (see the module notes)."""
    r = mean_service / mean_patience if mean_patience else 0.0
    i_minus = math.sqrt(math.pi / 2) * float(erfcx(-beta / math.sqrt(2)))
    if r > 0:
        i_plus = math.sqrt(math.pi / (2 * r)) * float(erfcx(beta / math.sqrt(2 * r)))
        ex_plus = (1 - beta * i_plus) / r
    elif beta > 0:
        i_plus, ex_plus = 1 / beta, 1 / beta ** 2
    else:
        return {"delay": 1.0, "abandonment": 0.0, "mean_wait_all": math.inf,
                "asa": math.inf}
    norm = i_minus + i_plus
    scale = math.sqrt(load) if load > 0 else 1.0
    wait_all = ex_plus / norm * mean_service / scale
    abandonment = r * ex_plus / norm / scale
    delay = i_plus / norm
    return {"delay": delay, "abandonment": abandonment, "mean_wait_all": wait_all,
            "asa": wait_all / max(1 - abandonment, 1e-12)}


def sqrt_staffing(measure: Measure, limit: float, lam: float, mean_service: float,
                  mean_patience: float | None = None, tau: float = 0.0,
                  higher_is_better: bool = False) -> tuple[int, float] | None:
    """(N, beta): square-root staffing N = ceil(R + beta sqrt(R)) with the smallest beta
    (to 0.001) whose QED approximation meets the target; a `wait>` target uses the
    Halfin-Whitt tail P(delay) exp(-beta sqrt(R) tau / E[S]), which ignores abandonment."""
    load = lam * mean_service
    if load <= 0:
        return 0, 0.0

    def value(beta: float) -> float:
        q = qed_measures(beta, load, mean_service, mean_patience)
        if measure == "wait>":
            if beta <= 0:
                return 1.0
            return q["delay"] * math.exp(-beta * math.sqrt(load) * tau / mean_service)
        return q[measure]

    def ok(beta: float) -> bool:
        v = value(beta)
        return v >= limit if higher_is_better else v <= limit

    lo, hi = (-6.0 if mean_patience else 1e-6), 12.0
    if not ok(hi):
        return None
    if ok(lo):
        hi = lo
    while hi - lo > 1e-3:
        mid = (lo + hi) / 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return max(0, math.ceil(load + hi * math.sqrt(load) - 1e-9)), hi

"""Deciding a target from replications, with an error rate that holds for the outputs sizing
meets: shares by a distribution-free confidence sequence, other measures by a checked t.

A configuration is simulated in looks: n0 replications, then twice as many, and so on up to
a cap (`look_schedule`). After each look every undecided target gets an interval for its
expected value; a target is decided when the interval lies wholly on one side of its
threshold. The promise: for each configuration, the verdict is wrong (says "meets" when the
expected value is on the failing side of the threshold, or "fails" when it is on the meeting
side) with probability at most 1 - confidence, whatever look it stopped at. The error is
split over the K targets (Bonferroni): each target's bound on its wrong side may err with
probability alpha = (1 - confidence) / K over all its looks. Two procedures keep that:

- **Shares** (attainment, abandonment, fill rate, a service level: values in [0, 1]): a
  confidence sequence by betting (Waudby-Smith and Ramdas, "Estimating means of bounded
  random variables by betting", JRSS B 86, 2024: the predictable plug-in bets, truncated at
  c/m). It assumes only that replications are independent draws in [0, 1]: no normality, no
  symmetry, no variance known. It holds at every n at once (Ville's inequality), so looks
  need no share of the error. A skewed share, the storm or stock-out kind where most
  replications sit at 97% and one in ten at 75%, fooled the Student t interval into "meets"
  at the first look in 37% of trials (ten replications with no bad one look tight); the
  sequence cannot be fooled that way, because it never claims what ten values in [0, 1]
  cannot show.
- **Other measures** (minutes, counts, money: no bound known in advance): Student t on the
  replications, each look leaving alpha / L in the wrong tail (L looks; Bonferroni over
  looks, since a t interval re-checked after every batch is not a sequence). It assumes the
  mean of the replications is close to normal; the assumption is checked at each look by
  the sample's skewness and kurtosis: beyond |skew| 0.5 or excess kurtosis 2 (which
  normal replications pass at 40 or more in about nine looks of ten, and heavy right tails,
  the kind that fool a t interval into a mean below its threshold, do not), the look decides
  nothing and the configuration gets more replications; at the cap such a target is too
  close to call ("the replications are too skewed to trust a t interval"). No interval
  can promise an error rate for every unbounded output (Bahadur and Savage, 1956): this one
  promises it for outputs whose replication mean is close to normal, checks that it looks
  so, and docs/sizing.md gives the rates measured on heavy tails.

A target whose interval still holds the threshold when the whole interval is narrower than
the target's tolerance is "too close to call": its value is known to sit within the
tolerance of the threshold, and no affordable number of replications will settle it. One
still undecided at the replication cap is reported the same way (with that reason); one cut
short by the time budget or Ctrl-C is "undecided". Neither is ever rounded to a verdict.
A verdict, once given, stands: later looks of the configuration do not judge it again.

The Monte Carlo error rates of both (normal, skewed-mixture and heavy-tailed outputs) are in
docs/sizing.md, and tests/test_sizing_stats.py keeps them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from scipy.stats import t as student_t

__all__ = ["Estimate", "Verdict", "look_schedule", "tail_error", "estimate", "judge",
           "combine", "VERDICTS", "betting_bounds", "SKEW_LIMIT", "KURTOSIS_LIMIT"]

Verdict = Literal["meets", "fails", "too close to call", "undecided"]
VERDICTS: tuple[Verdict, ...] = ("meets", "fails", "too close to call", "undecided")
SKEW_LIMIT = 0.5
KURTOSIS_LIMIT = 2.0
"""Beyond these (sample skewness in absolute value, excess kurtosis) a t interval is not
trusted to decide."""
_BET_CAP = 0.9
"""Bets are truncated at c / m (the wager never risks more than half the wealth)."""


@dataclass(frozen=True)
class Estimate:
    """Mean of the replications that have a value, and its interval (None: not yet)."""

    n: int
    mean: float | None
    sd: float | None
    low: float | None = None
    high: float | None = None
    method: str = "t"
    """"t", "betting" (a confidence sequence for a share) or "t, too skewed"."""

    @property
    def half_width(self) -> float | None:
        """Half the interval's width (it may sit off-centre for a share)."""
        return None if self.low is None or self.high is None else (self.high - self.low) / 2

    @property
    def trusted(self) -> bool:
        return self.method != "t, too skewed"


def look_schedule(first: int, cap: int) -> tuple[int, ...]:
    """Replications at each look: `first`, doubling, ending exactly at `cap`."""
    if first < 2:
        raise ValueError(f"the first look needs at least 2 replications, got {first}")
    if cap < first:
        raise ValueError(f"the replication cap ({cap}) is below the first look ({first})")
    looks = [first]
    while looks[-1] < cap:
        looks.append(min(looks[-1] * 2, cap))
    return tuple(looks)


def tail_error(confidence: float, targets: int, looks: int = 1) -> float:
    """The error one target's bound on its wrong side may make: (1 - confidence) / targets,
    over all its looks (a t interval spends it evenly over the `looks`: estimate)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return (1.0 - confidence) / max(targets, 1)


def _log_wealth(x: np.ndarray, m: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """log of prod_i (1 + min(lam_i, c / m) (x_i - m)) for each candidate mean m."""
    bet = np.minimum(lam[:, None], _BET_CAP / np.maximum(m[None, :], 1e-12))
    return np.log1p(bet * (x[:, None] - m[None, :])).sum(axis=0)


def _lower(x: np.ndarray, alpha: float) -> float:
    """The betting lower confidence bound for the mean of `x` (values in [0, 1])."""
    n = x.size
    i = np.arange(1, n + 1)
    mu = (0.5 + np.cumsum(x)) / (i + 1)
    var = (0.25 + np.cumsum((x - mu) ** 2)) / (i + 1)
    prev = np.concatenate([[0.25], var[:-1]])  # predictable: the estimate before x_i
    lam = np.sqrt(2 * math.log(1 / alpha) / (prev * i * np.log1p(i)))
    target = math.log(1 / alpha)
    lo, hi = 0.0, float(x.mean())  # the wealth at the mean itself cannot grow
    for _ in range(3):  # the wealth falls as m rises: a grid, then a finer one inside
        m = np.linspace(lo, hi, 65)
        grows = _log_wealth(x, m, lam) >= target
        if not grows[0]:
            return lo
        last = int(np.flatnonzero(grows)[-1])
        lo, hi = float(m[last]), float(m[min(last + 1, 64)])
    return lo


def betting_bounds(values: Sequence[float], alpha: float) -> tuple[float, float]:
    """Lower and upper confidence-sequence bounds for the mean of values in [0, 1], each
    side wrong with probability at most `alpha` at any n (module docstring)."""
    x = np.clip(np.asarray(values, dtype=float), 0.0, 1.0)
    return _lower(x, alpha), 1.0 - _lower(1.0 - x, alpha)


def estimate(values: Sequence[float | None], alpha: float, looks: int = 1, *,
             bounded: bool = False, nonnegative: bool = True) -> Estimate:
    """Mean and interval (module docstring). `alpha`: the error the bound on each side may
    make over all looks; `looks`: how many looks share it (t only); `bounded`: the values
    are shares in [0, 1] (a betting confidence sequence); `nonnegative`: the measure cannot
    be below 0 (minutes, counts, money), so neither is its interval. Replications without a
    value (None: e.g. nothing judged) are left out."""
    have = np.array([v for v in values if v is not None], dtype=float)
    n = int(have.size)
    if n == 0:
        return Estimate(0, None, None)
    mean = float(have.mean())
    if n < 2:
        return Estimate(n, mean, None)
    sd = float(have.std(ddof=1))
    if bounded:
        low, high = betting_bounds(have, alpha)
        return Estimate(n, mean, sd, max(0.0, low), min(1.0, high), "betting")
    half = float(student_t.ppf(1.0 - alpha / max(looks, 1), n - 1)) * sd / math.sqrt(n)
    method = "t"
    if n >= 3 and sd > 0:
        z = (have - mean) / have.std()
        if abs(float((z ** 3).mean())) > SKEW_LIMIT or float((z ** 4).mean()) - 3 > \
                KURTOSIS_LIMIT:
            method = "t, too skewed"
    return Estimate(n, mean, sd, max(mean - half, 0.0) if nonnegative else mean - half,
                    mean + half, method)


def judge(est: Estimate, op: str, threshold: float, tolerance: float,
          final: bool = False) -> tuple[Verdict, str]:
    """The verdict on one target from its estimate, and why. `final`: no more replications
    will come (the cap was reached): an open question becomes too close to call."""
    if est.low is None or est.high is None:
        return "undecided", "no value yet" if est.n == 0 else "one value so far"
    if not est.trusted:
        if final:
            return "too close to call", ("the replications are too skewed to trust a t "
                                         f"interval, even at the cap ({est.n})")
        return "undecided", "the replications are too skewed to trust a t interval yet"
    low, high = est.low, est.high
    good = low > threshold if op == ">=" else high < threshold
    bad = high < threshold if op == ">=" else low > threshold
    if good:
        return "meets", "interval clear of the threshold"
    if bad:
        return "fails", "interval clear of the threshold"
    if high - low <= tolerance:
        return "too close to call", (f"within the tolerance of the threshold "
                                     f"(interval narrower than {tolerance:g})")
    if final:
        return "too close to call", f"still open at the replication cap ({est.n})"
    return "undecided", "interval holds the threshold"


def combine(verdicts: Sequence[Verdict]) -> Verdict:
    """A configuration's verdict: it fails if any target fails, meets if all meet,
    otherwise too close to call if any target is, else undecided."""
    if "fails" in verdicts:
        return "fails"
    if all(v == "meets" for v in verdicts):
        return "meets"
    if "too close to call" in verdicts and "undecided" not in verdicts:
        return "too close to call"
    return "undecided"

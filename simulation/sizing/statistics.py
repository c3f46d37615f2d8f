"""Deciding a target from replications: sequential confidence intervals, error split by
Bonferroni over targets and over looks, and "too close to call".

A configuration is simulated in looks: n0 replications, then twice as many, and so on up
to a cap (`look_schedule`). After each look every undecided target gets a confidence
interval for its expected value; a target is decided when the interval excludes its
threshold. The error is split so that the verdict on a configuration holds at the stated
confidence whatever look it stopped at: with K targets and L possible looks, each look's
interval leaves alpha / (K L) in each tail. A wrong "meets" needs one target's interval to
land wholly on the wrong side at some look, which by the union bound happens with
probability at most K L alpha / (K L) = alpha (Bonferroni; conservative, and exact in what
it promises with repeated looks, which a plain 95% interval re-checked after every batch
is not).

A target whose interval still holds the threshold when the interval is narrower than the
target's tolerance is "too close to call": its value is known to sit within about the
tolerance of the threshold, and no affordable number of replications will settle it. One
still undecided at the replication cap is reported the same way (with that reason); one
cut short by the time budget or Ctrl-C is "undecided". Neither is ever rounded to a
verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from scipy.stats import t as student_t

__all__ = ["Estimate", "Verdict", "look_schedule", "tail_error", "estimate", "judge",
           "combine", "VERDICTS"]

Verdict = Literal["meets", "fails", "too close to call", "undecided"]
VERDICTS: tuple[Verdict, ...] = ("meets", "fails", "too close to call", "undecided")


@dataclass(frozen=True)
class Estimate:
    """Mean of the replications that have a value, and its confidence interval."""

    n: int
    mean: float | None
    sd: float | None
    half_width: float | None
    """Of the interval at the per-look level (None: fewer than two values)."""

    @property
    def low(self) -> float | None:
        return None if self.mean is None or self.half_width is None else \
            self.mean - self.half_width

    @property
    def high(self) -> float | None:
        return None if self.mean is None or self.half_width is None else \
            self.mean + self.half_width


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


def tail_error(confidence: float, targets: int, looks: int) -> float:
    """The error left in each tail of each interval: (1 - confidence) / (targets x looks)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return (1.0 - confidence) / (max(targets, 1) * max(looks, 1))


def estimate(values: Sequence[float | None], tail: float) -> Estimate:
    """Mean and the interval leaving `tail` in each tail (Student t; the replications are
    independent). Replications without a value (None: e.g. nothing judged) are left out."""
    have = np.array([v for v in values if v is not None], dtype=float)
    n = int(have.size)
    if n == 0:
        return Estimate(0, None, None, None)
    mean = float(have.mean())
    if n < 2:
        return Estimate(n, mean, None, None)
    sd = float(have.std(ddof=1))
    half = float(student_t.ppf(1.0 - tail, n - 1)) * sd / math.sqrt(n)
    return Estimate(n, mean, sd, half)


def judge(est: Estimate, op: str, threshold: float, tolerance: float,
          final: bool = False) -> tuple[Verdict, str]:
    """The verdict on one target from its estimate, and why. `final`: no more replications
    will come (the cap was reached): an open question becomes too close to call."""
    if est.mean is None or est.half_width is None:
        return "undecided", "no value yet" if est.n == 0 else "one value so far"
    low, high = est.mean - est.half_width, est.mean + est.half_width
    good_low = low > threshold if op == ">=" else high < threshold
    bad_side = high < threshold if op == ">=" else low > threshold
    if good_low:
        return "meets", "interval clear of the threshold"
    if bad_side:
        return "fails", "interval clear of the threshold"
    if est.half_width <= tolerance:
        return "too close to call", (f"within the tolerance of the threshold "
                                     f"(interval narrower than ±{tolerance:g})")
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

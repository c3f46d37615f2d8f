"""Your decisions on other days: the team's operation-level decisions replayed on other seeds.

One drill is one draw of the surge. A KPI that came out 0.3 points better than the autopilot
on the day played may be luck; the same decisions on twenty other days say whether it is.
The team's operation-level decisions (levels, unlocks, parts orders, messages, priority
rules, and the contingency injects the facilitator fired: everything but actions on single
cases, whose case numbers mean other customers on another day) are replayed at their
minutes on each of `days` other seeds, beside the autopilot and no response on the same
seed (common random numbers), each carried to its end as the drill was. For each KPI: the
mean paired difference (team - autopilot, team - no response) and its 95% interval.

The interval: Student's t on the paired differences, which assumes their mean is close to
normal. That holds for sums over hundreds of customers, but some KPIs meet a few large
swings (a stock-out on one day, a handful of VIP customers lost), so the sample's skewness
is checked: beyond 1 in absolute value the t interval would miss on the long side, and the
bias-corrected and accelerated (BCa) bootstrap interval is used instead (scipy, a fixed
seed, so one drill always gives the same interval). Either is clipped to the difference's
range (a share's difference lies in [-1, 1]). Differences whose interval holds 0 are noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from simulation.drills.counterfactual import counterfactual, replay_decisions
from simulation.drills.scoring import KPI_LABELS, kpis, metrics
from simulation.drills.session import DrillSession
from simulation.results.replications import replication_seed, t_quantile
from simulation.scenario.loader import LoadedScenario, scenario_from_text

__all__ = ["OPERATION_KINDS", "DEFAULT_DAYS", "Difference", "OtherDays", "operation_decisions",
           "one_day", "other_days", "SKEW_LIMIT", "Progress"]

OPERATION_KINDS = ("declare_level", "activate", "order_parts", "send", "priority_rule",
                   "prioritise", "fire_inject", "adhoc_inject")
DEFAULT_DAYS = 20
SKEW_LIMIT = 1.0
"""Beyond this sample skewness the t interval is replaced by the BCa bootstrap."""
Decision = tuple[float, dict[str, Any], str | None]
Progress = Callable[[int, int], None]
"""Called with (days done, days in all)."""


@dataclass(frozen=True)
class Difference:
    """One KPI's paired difference over the other days."""

    key: str
    n: int
    mean: float | None
    low: float | None
    high: float | None
    method: str
    """"t" or "BCa (skewed)"."""

    @property
    def real(self) -> bool:
        """Whether the interval leaves out zero: a difference, not noise."""
        return self.low is not None and self.high is not None and (self.low > 0 or
                                                                   self.high < 0)


@dataclass(frozen=True)
class OtherDays:
    seeds: tuple[int, ...]
    vs_autopilot: dict[str, Difference]
    vs_none: dict[str, Difference]
    refused: int
    """Decisions refused on some day (an unlock its level did not allow there, say)."""
    runs: tuple[dict[str, dict[str, float | None]], ...]


def operation_decisions(session: DrillSession) -> list[Decision]:
    """The decisions taken that act on the operation, not on one case (module docstring)."""
    out: list[Decision] = []
    for o in session.outcomes:
        kind = o.action.get("kind")
        if not o.ok or kind not in OPERATION_KINDS:
            continue
        if kind == "prioritise" and o.action.get("case") is not None:
            continue
        out.append((o.at, o.action, o.role))
    return out


def one_day(source: LoadedScenario | tuple[str, str], seed: int, decisions: list[Decision],
            until: float) -> dict[str, Any]:
    """The team's decisions, the autopilot and no response on one seed, each carried to its
    end: their KPIs, and how many of the decisions the day refused."""
    loaded = source if isinstance(source, LoadedScenario) else scenario_from_text(
        source[0], file=source[1], base=Path(source[1]).parent)
    team = replay_decisions(loaded, seed, decisions, until)
    refused = sum(1 for o in team.outcomes if not o.ok)
    team.carry_over()
    fired = [(minute, body["inject"] if body.get("kind") == "fire_inject" else body)
             for minute, body, _ in decisions
             if body.get("kind") in ("fire_inject", "adhoc_inject")]
    out: dict[str, Any] = {"team": kpis(team, metrics(team)), "refused": refused}
    for policy in ("autopilot", "none"):
        out[policy] = counterfactual(loaded, seed, policy, fired, until).kpis
    return out


def _interval(d: np.ndarray, unit: str) -> tuple[float, float, str]:
    n = d.size
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else 0.0
    if sd == 0.0:
        return mean, mean, "t"
    skew = float(((d - mean) ** 3).mean() / (d.std() ** 3)) if d.std() > 0 else 0.0
    if abs(skew) <= SKEW_LIMIT or n < 5:
        half = t_quantile(n - 1) * sd / math.sqrt(n)
        low, high, method = mean - half, mean + half, "t"
    else:
        from scipy.stats import bootstrap
        res = bootstrap((d,), np.mean, confidence_level=0.95, method="BCa",
                        n_resamples=2000, random_state=np.random.default_rng(12345))
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (math.isfinite(low) and math.isfinite(high)):  # a degenerate resample
            half = t_quantile(n - 1) * sd / math.sqrt(n)
            low, high = mean - half, mean + half
        method = "BCa (skewed)"
    if unit == "share":
        low, high = max(low, -1.0), min(high, 1.0)
    return low, high, method


def _differences(runs: list[dict[str, Any]], other: str) -> dict[str, Difference]:
    out = {}
    for key, (_, unit) in KPI_LABELS.items():
        pairs = [(r["team"].get(key), r[other].get(key)) for r in runs]
        d = np.array([a - b for a, b in pairs if a is not None and b is not None], dtype=float)
        if d.size == 0:
            out[key] = Difference(key, 0, None, None, None, "-")
            continue
        low, high, method = _interval(d, unit) if d.size > 1 else (None, None, "-")
        out[key] = Difference(key, int(d.size), float(d.mean()), low, high, method)
    return out


def other_days(session: DrillSession, days: int = DEFAULT_DAYS, *, runner: Any = None,
               progress: Progress | None = None, text: str | None = None) -> OtherDays:
    """Replay the drill's operation-level decisions on `days` other seeds (module
    docstring). `runner`: a sizing executor (executors.py) to run the days in parallel;
    None runs them here, one after another. `text`: the scenario's text as played (a
    record's copy), sent to the workers instead of the file. The days are the seeds
    `replication_seed(seed, i)`, i = 0..days-1, children of the drill's seed and never the
    seed itself; the results do not depend on the runner or its workers."""
    if days < 2:
        raise ValueError(f"days must be at least 2 (an interval needs two), got {days}")
    until = session.ended_at if session.ended_at is not None else session.now
    decisions = operation_decisions(session)
    seeds = tuple(replication_seed(session.seed, i) for i in range(days))
    loaded = session.loaded
    source: Any = loaded
    path = str(loaded.path) if loaded.path is not None else "<drill>"
    if text is not None:
        source = (text, path)
    elif runner is not None and loaded.path is not None and loaded.path.is_file():
        source = (loaded.path.read_text(encoding="utf-8"), path)
    results: dict[int, dict[str, Any]] = {}
    if runner is None:
        for i, s in enumerate(seeds):
            results[i] = one_day(source, s, decisions, until)
            if progress is not None:
                progress(i + 1, days)
    else:
        for i, s in enumerate(seeds):
            runner.submit(i, one_day, source, s, decisions, until)
        while len(results) < days:
            for key, value in runner.collect(0.5):
                results[key] = value
                if progress is not None:
                    progress(len(results), days)
    runs = [results[i] for i in range(days)]
    return OtherDays(seeds, _differences(runs, "autopilot"), _differences(runs, "none"),
                     sum(r["refused"] for r in runs), tuple(
                         {k: r[k] for k in ("team", "autopilot", "none")} for r in runs))

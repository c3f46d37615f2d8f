"""Independent replications of a scenario, and their summary with confidence intervals.

One run of a stochastic model is one draw; a planner needs the mean and how sure it is.
Replication i always gets the seed `SeedSequence(seed).spawn(reps)[i]`, whatever the number
of worker processes, so `--workers 8` gives exactly the numbers `--workers 1` gives, only
sooner. Workers send back the metric dicts (small), never the event logs (large).
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from simulation.scenario.loader import LoadedScenario, load_scenario
from simulation.results.metrics import compute
from simulation.model.world import Results, run

__all__ = ["Replications", "replicate", "replication_seeds", "summarise", "t_quantile"]

Progress = Callable[[int, int], None]

# Two-sided 95% Student t quantiles t(0.975, df) for df = 1..29; df >= 30 uses 1.96.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045)


def t_quantile(df: int) -> float:
    """The 97.5% quantile of Student's t with `df` degrees of freedom (1.96 from df 30)."""
    if df < 1:
        raise ValueError(f"df must be at least 1, got {df}")
    return _T975[df - 1] if df < 30 else 1.96


@dataclass(frozen=True)
class Replications:
    """Metric dicts of every replication (in replication order), their seeds and summary,
    and the full results of replication 0 (for its event log and time-series plots)."""

    seed: int
    seeds: tuple[int, ...]
    metrics: tuple[dict[str, Any], ...]
    summary: dict[str, Any]
    first: Results


def replication_seeds(seed: int, reps: int) -> tuple[int, ...]:
    """The integer seed of each replication: independent streams from one master seed."""
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    return tuple(int(ss.generate_state(1)[0]) for ss in np.random.SeedSequence(seed).spawn(reps))


def _worker(source: Path | LoadedScenario, seed: int) -> dict[str, Any]:
    """One replication in a worker process: load (once per process), run, measure."""
    loaded = source if isinstance(source, LoadedScenario) else _cached(source)
    return compute(run(loaded, seed))


@cache
def _cached(path: Path) -> LoadedScenario:
    """The scenario at `path`, loaded once per worker process (workers are fresh per call
    of `replicate`, so an edited file is read again next time)."""
    return load_scenario(path)


def replicate(loaded: LoadedScenario, seed: int, reps: int, *, workers: int = 1,
              progress: Progress | None = None) -> Replications:
    """Run `reps` replications (in `workers` processes) and summarise them.

    Replication 0 always runs in this process, so its full `Results` (event log and all) are
    at hand for the report without shipping a log between processes.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    seeds = replication_seeds(seed, reps)
    metrics: list[dict[str, Any] | None] = [None] * reps
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, reps)

    if progress is not None:
        progress(0, reps)
    first = run(loaded, seeds[0])
    metrics[0] = compute(first)
    tick()
    if reps > 1 and workers > 1:
        # A scenario from a file is reloaded by path in each worker (cheap, and every name
        # resolves there as here); one built from text travels pickled.
        source: Path | LoadedScenario = loaded.path.resolve() if loaded.path else loaded
        with ProcessPoolExecutor(max_workers=min(workers, reps - 1)) as pool:
            futures = {pool.submit(_worker, source, s): i for i, s in enumerate(seeds) if i}
            for future in as_completed(futures):
                metrics[futures[future]] = future.result()
                tick()
    else:
        for i in range(1, reps):
            metrics[i] = compute(run(loaded, seeds[i]))
            tick()
    final = tuple(m for m in metrics if m is not None)
    return Replications(seed=seed, seeds=seeds, metrics=final, summary=summarise(list(final)),
                        first=first)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _stat(values: list[float | None]) -> dict[str, Any]:
    """Mean, sample sd and 95% CI half-width of the values that exist (None: undefined in
    that replication, e.g. an attainment with nothing judged)."""
    have = np.array([v for v in values if v is not None], dtype=float)
    n = int(have.size)
    mean = float(have.mean()) if n else None
    sd = float(have.std(ddof=1)) if n > 1 else None
    half = t_quantile(n - 1) * sd / math.sqrt(n) if sd is not None else None
    return {"mean": mean, "sd": sd, "half_width": half, "n": n, "values": values}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The replications' metric dicts folded into one of the same shape.

    A numeric leaf becomes {mean, sd, half_width (95% CI, Student t), n, values}; a nested
    dict is folded key by key (the union of the keys: a key missing from a replication counts
    as None there); anything else (time series, names, timelines) is kept from replication 0,
    since series of different replications need not share time points.
    """
    if not runs:
        raise ValueError("nothing to summarise: no replications")
    return _fold(runs)


def _fold(items: list[Any]) -> Any:
    present = [x for x in items if x is not None]
    if present and all(isinstance(x, dict) for x in present):
        keys: list[str] = []
        for x in present:
            keys += [k for k in x if k not in keys]
        return {k: _fold([x.get(k) if isinstance(x, dict) else None for x in items])
                for k in keys}
    if present and all(_is_number(x) for x in present):
        return _stat([float(x) if x is not None else None for x in items])
    if not present:
        return _stat(list(items))  # undefined in every replication: still a stat, all None
    return items[0] if items[0] is not None else present[0]

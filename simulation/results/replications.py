"""Independent replications of a scenario, and their summary with confidence intervals.

One run of a stochastic model is one draw; a planner needs the mean and how sure it is.
Replication i always gets the seed `SeedSequence(seed).spawn(reps)[i]` (made one at a time,
as it is needed), whatever the number of worker processes, so `--workers 8` gives exactly the
numbers `--workers 1` gives, only sooner. Workers send back the metric dicts (small), never
the event logs (large). A comparison runs each replication under both policies on the same
seed: the runs share arrivals, case attributes and work times (model/streams.py), so the
paired differences measure the policies, not the luck of the draw.
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import signal
from collections import deque
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from simulation.scenario.loader import LoadedScenario, load_scenario
from simulation.results.metrics import compute
from simulation.model.world import Results, run

__all__ = ["Replications", "replicate", "replication_seed", "replication_seeds", "summarise",
           "difference", "t_quantile"]

Progress = Callable[[float, int], None]

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
    and the full results of replication 0 (for its event log and time-series plots).

    With a comparison (`replicate(..., compare="none")`), `baseline` holds the same
    replications run under the other policy on the same seeds (common random numbers), and
    `difference` the summary of the paired differences, this policy minus the baseline, per
    metric: a CI of a difference of paired runs is far narrower than the two CIs apart."""

    seed: int
    seeds: tuple[int, ...]
    metrics: tuple[dict[str, Any], ...]
    summary: dict[str, Any]
    first: Results
    baseline: Replications | None = None
    difference: dict[str, Any] | None = None


def replication_seed(seed: int, i: int) -> int:
    """The integer seed of replication `i`: the `i`-th child of `SeedSequence(seed)`, made
    on its own (what `spawn` makes), so a million replications need no list of seeds."""
    return int(np.random.SeedSequence(seed, spawn_key=(i,)).generate_state(1)[0])


def replication_seeds(seed: int, reps: int) -> tuple[int, ...]:
    """The integer seed of each replication: independent streams from one master seed."""
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    return tuple(replication_seed(seed, i) for i in range(reps))


def _quiet() -> None:
    """Worker processes leave Ctrl-C to the parent, which stops them (no tracebacks)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _put(into: queue.SimpleQueue, key: tuple[int, int], value: Any) -> None:
    into.put((key, value))


def _worker(source: Path | LoadedScenario, seed: int, policy: str | None) -> dict[str, Any]:
    """One replication in a worker process: load (once per process), run, measure."""
    loaded = source if isinstance(source, LoadedScenario) else _cached(source)
    return compute(run(loaded, seed, policy_name=policy))


@cache
def _cached(path: Path) -> LoadedScenario:
    """The scenario at `path`, loaded once per worker process (workers are fresh per call
    of `replicate`, so an edited file is read again next time)."""
    return load_scenario(path)


def replicate(loaded: LoadedScenario, seed: int, reps: int, *, workers: int = 1,
              progress: Progress | None = None, policy: str | None = None,
              compare: str | None = None) -> Replications:
    """Run `reps` replications (in `workers` processes) and summarise them.

    `policy` overrides the scenario's decision policy; `compare` runs every replication a
    second time under that policy, on the same seed. Replication 0 always runs in this
    process, so its full `Results` (event log and all) are at hand for the report without
    shipping a log between processes. `progress(done, total)` is called as work completes
    (`done` may be fractional while replication 0 runs). Ctrl-C (KeyboardInterrupt) stops
    the workers at once and propagates; nothing is returned.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    policies = [policy] + ([compare] if compare is not None else [])
    total = reps * len(policies)
    tasks = [(i, k) for i in range(reps) for k in range(len(policies))]
    metrics: dict[tuple[int, int], dict[str, Any]] = {}
    done = 0.0

    def tick(amount: float = 1.0) -> None:
        nonlocal done
        done += amount
        if progress is not None:
            progress(min(done, float(total)), total)

    if progress is not None:
        progress(0.0, total)
    seen = 0.0

    def partial_run(fraction: float) -> None:
        nonlocal seen
        tick(fraction - seen)
        seen = fraction

    first = run(loaded, replication_seed(seed, 0), policy_name=policy,
                progress=partial_run if progress is not None else None)
    metrics[(0, 0)] = compute(first)
    tick(1.0 - seen)
    rest = tasks[1:]
    if rest and workers > 1:
        # A scenario from a file is reloaded by path in each worker (cheap, and every name
        # resolves there as here); one built from text travels pickled.
        source: Path | LoadedScenario = loaded.path.resolve() if loaded.path else loaded
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(min(workers, len(rest)), initializer=_quiet)
        arrived: queue.SimpleQueue[tuple[tuple[int, int], Any]] = queue.SimpleQueue()
        try:
            pending, running = deque(rest), 0
            while pending or running:
                while pending and running < 2 * workers:  # seeds made as they are used
                    key = pending.popleft()
                    pool.apply_async(_worker, (source, replication_seed(seed, key[0]),
                                               policies[key[1]]),
                                     callback=partial(_put, arrived, key),
                                     error_callback=partial(_put, arrived, key))
                    running += 1
                try:
                    key, value = arrived.get(timeout=0.5)  # wakes for Ctrl-C now and then
                except queue.Empty:
                    continue
                running -= 1
                if isinstance(value, BaseException):
                    raise value
                metrics[key] = value
                tick()
            pool.close()
        finally:
            pool.terminate()
            pool.join()
    else:
        for i, k in rest:
            metrics[(i, k)] = compute(run(loaded, replication_seed(seed, i),
                                          policy_name=policies[k]))
            tick()
    seeds = replication_seeds(seed, reps)
    runs = [metrics[(i, 0)] for i in range(reps)]
    if compare is None:
        return Replications(seed=seed, seeds=seeds, metrics=tuple(runs),
                            summary=summarise(runs), first=first)
    other = [metrics[(i, 1)] for i in range(reps)]
    baseline = Replications(seed=seed, seeds=seeds, metrics=tuple(other),
                            summary=summarise(other), first=first)
    return Replications(seed=seed, seeds=seeds, metrics=tuple(runs), summary=summarise(runs),
                        first=first, baseline=baseline,
                        difference=summarise([difference(a, b) for a, b in zip(runs, other)]))


def difference(a: Any, b: Any) -> Any:
    """`a` minus `b`, leaf by leaf, for two metric dicts of the same shape: numbers subtract
    (None where either is None), dicts recurse over the keys of both, anything else (names,
    series) is dropped (None)."""
    if isinstance(a, dict) or isinstance(b, dict):
        a = a if isinstance(a, dict) else {}
        b = b if isinstance(b, dict) else {}
        return {k: difference(a.get(k), b.get(k)) for k in [*a, *(k for k in b if k not in a)]}
    if _is_number(a) and _is_number(b):
        return float(a) - float(b)
    return None


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

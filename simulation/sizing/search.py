"""The cheapest configuration that meets every target: cheapest first, using monotonicity.

Configurations are every combination of the varies' levels, sorted by planned cost
(variants.py; cost is known before simulating). More of any resource never makes a target's
expected value worse (for targets that say so: `>=` on a higher-is-better metric, `<=` on a
lower-is-better one), so:
- a configuration with no more of anything than one that fails also fails (implied), and
  one with no more than a too-close-to-call one is at best too close;
- one with at least as much as a feasible one costs at least as much: never the answer.
The next configuration simulated is the one that settles most of the undecided cheaper
candidates either way (the larger of the two outcomes' smaller share), which for one
resource is the middle of the range: a bisection. The search ends when every configuration
cheaper than the cheapest known feasible one is settled. `--grid` simulates every
configuration (all at once, keeping every worker busy) and checks monotonicity instead of
assuming it; a target that is not monotone in the resources forces it.

Each configuration is decided by sequential looks (statistics.py). Replication i of every
configuration uses seed `replication_seed(seed, i)`: common random numbers, so every
configuration meets the same customers, and one seed gives one answer on any executor with
any number of workers. Tasks batch replications to about half a second each, split evenly
over the workers (`_chunks`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Callable, Sequence

import numpy as np
from scipy.stats import t as student_t

from simulation.errors import SimulationError
from simulation.model.world import run
from simulation.results.replications import replication_seed
from simulation.scenario.loader import LoadedScenario
from simulation.sizing.cache import ReplicationCache
from simulation.sizing.executors import Runner, base_of
from simulation.sizing.measures import COST_PARTS, measure
from simulation.sizing.spec import MAX_CONFIGS, Knob, Target
from simulation.sizing.statistics import (Estimate, Verdict, combine, estimate, judge,
                                          look_schedule, tail_error)
from simulation.sizing.variants import DEFAULT_HOLDING_RATE, configure, planned_cost

__all__ = ["Problem", "Config", "Evaluation", "Outcome", "search", "replicate_batch",
           "COST_NAMES", "TASK_SECONDS", "Progress"]

COST_NAMES = tuple(f"costs.measured.{part}" for part in COST_PARTS)
TASK_SECONDS = 0.5
"""Aim for tasks of at least this many seconds: a Dask task costs about a millisecond of
scheduling, a process-pool task a little less; half a second keeps that under 1%."""

Progress = Callable[[int, int, str], None]
"""Called with (replications done, replications planned so far, what is running)."""


@dataclass(frozen=True)
class Problem:
    """A sizing question: the scenario, the resources that vary, the targets, how sure."""

    base: LoadedScenario
    knobs: tuple[Knob, ...]
    targets: tuple[Target, ...]
    confidence: float = 0.95
    first: int = 10
    cap: int = 160
    seed: int = 1
    holding_rate: float = DEFAULT_HOLDING_RATE
    grid: bool = False

    @property
    def monotone(self) -> bool:
        return all(t.monotone for t in self.targets)


@dataclass(frozen=True)
class Config:
    index: int
    levels: tuple[float, ...]
    cost: dict[str, float]
    key: str

    def label(self, knobs: Sequence[Knob]) -> str:
        return ", ".join(f"{_short(k)}={k.show(v)}" for k, v in zip(knobs, self.levels))


def _short(knob: Knob) -> str:
    return knob.path.removeprefix("staffing.").removeprefix("parts.")


@dataclass
class Evaluation:
    """What is known of one configuration."""

    config: Config
    values: dict[int, dict[str, Any]] = field(default_factory=dict)
    look: int = -1
    """Index of the current look in the schedule (-1: not started)."""
    estimates: dict[str, Estimate] = field(default_factory=dict)
    verdicts: dict[str, tuple[Verdict, str]] = field(default_factory=dict)
    verdict: Verdict = "undecided"
    done: bool = False
    implied: str = ""
    """Why its verdict follows from another configuration's (not simulated)."""
    note: str = ""

    @property
    def n(self) -> int:
        return len(self.values)

    def cost_estimate(self) -> Estimate:
        # in replication order, not the order they came back: the same sums to the last bit
        totals = [sum(float(self.values[i].get(name) or 0.0) for name in COST_NAMES)
                  for i in sorted(self.values)]
        return estimate(totals, 0.025)  # a plain 95% interval: the run cost is shown, not judged


@dataclass
class Outcome:
    problem: Problem
    configs: list[Config]
    evaluations: dict[int, Evaluation]
    answer: Evaluation | None
    mode: str
    replications: int
    """Replications used (simulated or from the cache)."""
    simulated: int
    seconds: float
    stopped: str = ""
    """Why the search stopped early ("time budget", "interrupted"), or ""."""
    notes: list[str] = field(default_factory=list)
    busy: float = 0.0
    """Seconds the workers spent simulating (the replications' own times)."""


def replicate_batch(shared: Any, knobs: tuple[Knob, ...], levels: tuple[float, ...],
                    items: list[tuple[int, int]], names: list[str]
                    ) -> list[tuple[int, dict[str, float | None], float]]:
    """Worker: replications (index, seed) of one configuration -> (index, the values of
    `names`, seconds it took)."""
    loaded = configure(base_of(shared), knobs, levels)
    out = []
    for i, seed in items:
        start = time.perf_counter()
        values = measure(run(loaded, seed), names)
        out.append((i, values, time.perf_counter() - start))
    return out


def build_configs(problem: Problem) -> list[Config]:
    """Every combination of levels, cheapest first (ties: fewer resources first)."""
    count = math.prod(len(k.values) for k in problem.knobs)
    if count > MAX_CONFIGS:
        raise SimulationError(f"--vary: {count:,} configurations is more than the limit of "
                              f"{MAX_CONFIGS:,}; narrow the ranges or use coarser steps")
    made = []
    for levels in product(*(k.values for k in problem.knobs)):
        try:
            loaded = configure(problem.base, problem.knobs, levels)
        except SimulationError as exc:
            label = ", ".join(f"{k.path}={k.show(v)}" for k, v in zip(problem.knobs, levels))
            raise SimulationError(f"--vary: the configuration {label} is not a valid "
                                  f"scenario: {exc}") from None
        cost = planned_cost(loaded, problem.knobs, problem.holding_rate)
        key = ";".join(f"{k.path}={k.show(v)}" for k, v in zip(problem.knobs, levels))
        made.append((cost["total"], tuple(levels), cost, key))
    made.sort(key=lambda m: (round(m[0], 6), m[1]))
    return [Config(i, levels, cost, key) for i, (_, levels, cost, key) in enumerate(made)]


class _Engine:
    """Runs the looks of configurations on a runner, keeping it busy."""

    def __init__(self, problem: Problem, configs: list[Config], runner: Runner,
                 cache: ReplicationCache, progress: Progress | None,
                 deadline: float | None) -> None:
        self.p = problem
        self.keys = {c.index: c.key for c in configs}
        self.runner = runner
        self.cache = cache
        self.progress = progress
        self.deadline = deadline
        self.schedule = look_schedule(problem.first, problem.cap)
        self.alpha = tail_error(problem.confidence, len(problem.targets))
        self.looks = len(self.schedule)
        self.names = [t.metric for t in problem.targets] + list(COST_NAMES)
        self.shared = runner.share(problem.base)
        self.seconds_per_rep: float | None = None
        self.active: dict[int, Evaluation] = {}
        self.outstanding: dict[int, int] = {}
        """Configuration -> replications submitted and not yet back."""
        self.done_reps = 0
        self.planned_reps = 0
        self.simulated = 0
        self.busy = 0.0
        self.task = 0
        self.label = ""

    # -- looks -------------------------------------------------------------------------------
    def start(self, ev: Evaluation) -> None:
        self.active[ev.config.index] = ev
        self._next_look(ev)

    def _next_look(self, ev: Evaluation) -> None:
        ev.look += 1
        want = self.schedule[ev.look]
        have = set(ev.values)
        missing = []
        for i in range(want):
            if i in have:
                continue
            cached = self.cache.get(ev.config.key, i, self.names)
            if cached is not None:
                ev.values[i] = cached
            else:
                missing.append(i)
        self.planned_reps += want - len(have)
        self.done_reps += want - len(have) - len(missing)
        if not missing:
            self._judge(ev)
            return
        for chunk in _chunks(missing, self.runner.workers, self.seconds_per_rep):
            items = [(i, replication_seed(self.p.seed, i)) for i in chunk]
            self.task += 1
            self.runner.submit((ev.config.index, self.task), replicate_batch, self.shared,
                               self.p.knobs, ev.config.levels, items, self.names)
        self.outstanding[ev.config.index] = self.outstanding.get(ev.config.index, 0) + \
            len(missing)

    def _judge(self, ev: Evaluation) -> None:
        n = self.schedule[ev.look]
        final = n >= self.p.cap
        for t in self.p.targets:
            if t.metric in ev.verdicts and ev.verdicts[t.metric][0] in ("meets", "fails",
                                                                        "too close to call"):
                continue
            est = self._estimate(t, [ev.values[i].get(t.metric) for i in range(n)])
            ev.estimates[t.metric] = est
            ev.verdicts[t.metric] = judge(est, t.op, t.threshold, t.tolerance, final)
        ev.verdict = combine([ev.verdicts[t.metric][0] for t in self.p.targets])
        if ev.verdict in ("meets", "fails", "too close to call") or final:
            ev.done = True
            self.active.pop(ev.config.index, None)
        else:
            self._next_look(ev)

    def _estimate(self, target: Target, values: list[Any]) -> Estimate:
        """A share gets the betting confidence sequence (valid at every look), anything else
        a checked t interval with the error split over the looks (statistics.py)."""
        return estimate(values, self.alpha, self.looks, bounded=target.info.unit == "share")

    # -- the loop ----------------------------------------------------------------------------
    def pump(self) -> None:
        """Wait for results, file them, judge completed looks; raises TimeoutError when
        the time budget runs out."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimeoutError
        for (index, _), batch in self.runner.collect(0.2):
            ev = self.active.get(index)
            for i, values, seconds in batch:
                self.cache.put(self.keys[index], i, values)
                self.simulated += 1
                self.busy += seconds
                self.done_reps += 1
                self.seconds_per_rep = seconds if self.seconds_per_rep is None else \
                    0.8 * self.seconds_per_rep + 0.2 * seconds
                if ev is not None:
                    ev.values[i] = values
            self.outstanding[index] -= len(batch)
            if ev is not None and self.outstanding[index] == 0:
                self._judge(ev)
        if self.progress is not None:
            self.progress(self.done_reps, max(self.planned_reps, 1), self.label)

    def partial(self, ev: Evaluation, why: str) -> None:
        """Estimates from whatever replications came back before a stop; the verdict stays
        undecided (a look off the schedule would spend error the split never gave it)."""
        have = sorted(ev.values)
        for t in self.p.targets:
            if ev.verdicts.get(t.metric, ("undecided", ""))[0] == "undecided":
                ev.estimates[t.metric] = self._estimate(t, [ev.values[i].get(t.metric)
                                                            for i in have])
                ev.verdicts[t.metric] = ("undecided", why)
        ev.verdict = combine([ev.verdicts[t.metric][0] for t in self.p.targets])
        ev.note = f"{why} after {ev.n} replications"

    def run(self, evs: Sequence[Evaluation]) -> None:
        for ev in evs:
            self.start(ev)
        while self.active:
            self.pump()


def _chunks(missing: list[int], workers: int, seconds_per_rep: float | None) -> list[list[int]]:
    """Split a look's replications into tasks of about TASK_SECONDS, in a multiple of the
    workers and as even as possible: a look waits for its last task, so 5 tasks of 2 on 2
    workers would leave one idle for a whole task (4 tasks of 3, 3, 2, 2 finish together)."""
    if seconds_per_rep is None:  # the first look: one replication a task, to measure them
        return [[i] for i in missing]
    per_task = max(1, math.ceil(TASK_SECONDS / max(seconds_per_rep, 1e-6)))
    rounds = max(1, round(len(missing) / (workers * per_task)))
    count = min(len(missing), rounds * workers)
    return [part.tolist() for part in np.array_split(np.array(missing, dtype=int), count)]


def _leq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.all(a <= b, axis=-1)


def search(problem: Problem, runner: Runner, cache: ReplicationCache, *,
           progress: Progress | None = None, budget: float | None = None,
           configs: list[Config] | None = None) -> Outcome:
    """Answer the sizing question (see the module notes). Ctrl-C and the time budget stop
    it early with what is known (`Outcome.stopped`); finished replications are in `cache`."""
    started = time.monotonic()
    configs = configs if configs is not None else build_configs(problem)
    evals = {c.index: Evaluation(c) for c in configs}
    grid = problem.grid or not problem.monotone or len(configs) == 1
    notes: list[str] = []
    if not problem.monotone and not problem.grid:
        odd = [t.text for t in problem.targets if not t.monotone]
        notes.append(f"target(s) {', '.join(odd)} may not improve with more resources, so "
                     f"every configuration was simulated (as with --grid)")
    engine = _Engine(problem, configs, runner, cache, progress,
                     started + budget if budget is not None else None)
    levels = np.array([c.levels for c in configs], dtype=float)
    stopped = ""
    try:
        if grid:
            engine.label = f"all {len(configs)} configurations"
            engine.run([evals[c.index] for c in configs])
        else:
            while True:
                probe = _choose(configs, evals, levels)
                if probe is None:
                    break
                engine.label = probe.config.label(problem.knobs)
                engine.run([probe])
    except TimeoutError:
        stopped = "time budget"
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        if stopped:
            runner.cancel()
        cache.close()
    if stopped:
        for ev in evals.values():
            if not ev.done and ev.values:
                engine.partial(ev, f"stopped ({stopped})")
    if not grid:
        _imply(configs, evals, levels)
    answer = next((evals[c.index] for c in configs
                   if evals[c.index].done and not evals[c.index].implied
                   and evals[c.index].verdict == "meets"), None)
    notes += _monotonicity(problem, configs, evals, levels)
    used = sum(ev.n for ev in evals.values())
    return Outcome(problem, configs, evals, answer, "grid" if grid else "monotone search",
                   used, engine.simulated, time.monotonic() - started, stopped, notes,
                   engine.busy)


def _settled(configs: list[Config], evals: dict[int, Evaluation],
             levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per configuration: settled below (no more of anything than one that fails or is
    too close), settled above (at least as much of everything as one that meets)."""
    n = len(configs)
    low = np.zeros(n, bool)
    high = np.zeros(n, bool)
    for c in configs:
        ev = evals[c.index]
        if not ev.done or ev.implied:
            continue
        if ev.verdict in ("fails", "too close to call"):
            low |= _leq(levels, levels[c.index])
        elif ev.verdict == "meets":
            high |= _leq(levels[c.index], levels)
    return low, high


def _choose(configs: list[Config], evals: dict[int, Evaluation],
            levels: np.ndarray) -> Evaluation | None:
    """The next configuration to simulate, or None when the answer is settled.

    Configurations are indexed cheapest first (equal costs: fewer resources first), so
    "cheaper" is "smaller index"; the candidates are the unsettled ones cheaper than the
    cheapest known feasible one."""
    low, high = _settled(configs, evals, levels)
    best = min((c.index for c in configs if evals[c.index].done
                and evals[c.index].verdict == "meets"), default=len(configs))
    rank = np.arange(len(configs))
    done = np.array([evals[c.index].done for c in configs])  # e.g. no value at the cap
    open_ = np.flatnonzero(~low & ~high & ~done & (rank < best))
    if open_.size == 0:
        return None
    if open_.size == 1:
        return evals[int(open_[0])]
    sub = open_ if open_.size <= 600 else open_[np.linspace(0, open_.size - 1, 600)
                                                .round().astype(int)]
    lv = levels[open_]
    scores = []
    for i in sub:
        if_meets = int((open_ >= i).sum())
        if_fails = int(_leq(lv, levels[i]).sum())
        scores.append((min(if_meets, if_fails), -int(i)))
    return evals[-max(scores)[1]]


def _imply(configs: list[Config], evals: dict[int, Evaluation], levels: np.ndarray) -> None:
    """Give the configurations the search did not simulate the verdict monotonicity
    implies, with the configuration it follows from."""
    done = [c for c in configs if evals[c.index].done and not evals[c.index].implied]
    for c in configs:
        ev = evals[c.index]
        if ev.done or ev.n:
            continue
        for d in done:
            other = evals[d.index]
            if other.verdict in ("fails", "too close to call") and \
                    bool(_leq(levels[c.index], levels[d.index])):
                ev.verdict = "fails" if other.verdict == "fails" else "too close to call"
                ev.implied = f"no more of anything than {d.key} ({other.verdict})"
                ev.done = True
                break
            if other.verdict == "meets" and bool(_leq(levels[d.index], levels[c.index])):
                ev.verdict = "meets"
                ev.implied = f"at least as much of everything as {d.key} (meets)"
                ev.done = True
                break


def _monotonicity(problem: Problem, configs: list[Config], evals: dict[int, Evaluation],
                  levels: np.ndarray) -> list[str]:
    """Where more resources did worse on a target, at most three, with the figures: the
    search checks the assumption it uses on the path it took; the grid checks it everywhere.

    Two simulated configurations, one with at least as much of everything as the other, are
    compared on the replications both ran (the same seeds: common random numbers, so the
    difference is the resources', not luck's): more resources did worse when the paired
    difference's 99% t interval lies wholly on the worse side. That catches a slope the
    verdicts alone hide (two configurations both too close to call, the bigger one lower),
    and a pair where one meets and the other fails."""
    out: list[str] = []
    ran = [c for c in configs if evals[c.index].n >= 2 and not evals[c.index].implied]
    for t in problem.targets:
        if not t.monotone:
            continue
        sign = 1.0 if t.op == ">=" else -1.0  # higher is better for >=
        for a in ran:
            for b in ran:
                if b.index == a.index or not bool(_leq(levels[a.index], levels[b.index])):
                    continue
                worse = _paired_worse(evals[a.index], evals[b.index], t.metric, sign)
                if worse is None:
                    continue
                out.append(f"not monotone: {b.key} has at least as much of everything as "
                           f"{a.key} but does worse on {t.text}: {worse}; the search assumes "
                           f"more resources never do worse: check the answer with --grid")
                if len(out) >= 3:
                    return out
    return out


def _paired_worse(small: Evaluation, big: Evaluation, metric: str, sign: float) -> str | None:
    """The paired difference big - small when it is significantly on the worse side."""
    common = sorted(set(small.values) & set(big.values))
    pairs = [(big.values[i].get(metric), small.values[i].get(metric)) for i in common]
    d = np.array([x - y for x, y in pairs if x is not None and y is not None], dtype=float)
    if d.size < 5:
        return None
    half = float(student_t.ppf(0.995, d.size - 1)) * float(d.std(ddof=1)) / math.sqrt(d.size)
    mean = float(d.mean())
    if sign * mean + half >= 0:  # the interval reaches the better side: no evidence
        return None
    return (f"paired difference {mean:+.4g} [{mean - half:+.4g}, {mean + half:+.4g}] over "
            f"{d.size} common replications")

"""Hour-by-hour staffing through a surge: the iterative staffing algorithm, verified.

Feldman, Mandelbaum, Massey and Whitt (Management Science 54(2), 2008): simulate with the
current plan (the first time: the pool's shifts, to measure the work arriving and its mean
work time; then the lagged offered-load plan of offered.py, a closed-form plan that already
follows the load, so the loop starts near its answer); in each step set the headcount to
the smallest s with P(N(t) >= s) <= alpha, N(t) being the number of the pool's pieces of
work in the system (in service by the pool, or waiting in a queue the pool may serve) as
simulated; repeat until the plan stops changing.
At the fixed point the delay probability of each step is at most alpha (an arrival finds
N(t) people's worth of work, PASTA), whatever the arrival rate did; steady-state formulas
only say this for a rate that holds still.

Targets (the pool's work, step by step):
- `delay <= a`: the algorithm as published.
- `wait.p(>T) <= b` (not served within T): the smallest s with
  sum_n P(N = n) P(Poisson(s T / E[S]) <= n - s) <= b: a customer finding n >= s waits for
  n - s + 1 service completions at rate s / E[S] (exponential work; abandonment ignored).
- `abandonment <= p`: the smallest s with theta E[(N - s)+] / lambda <= p (Erlang A's
  P(abandon) = theta E[Q] / lambda), lambda the step's rate of work and 1 / theta the mean
  patience of the scenario's customers.
The distribution of N in a step is its time-average over the step, pooled over the
replications; every iteration uses the same seeds (common random numbers), so the map from
plan to plan is deterministic. The map is antitone (more staff, less in the system, fewer
staff asked for), so without abandonment and at high load it can overshoot for ever: a plan
too small in a surge builds a queue that asks for a huge plan, which empties the queue and
asks for a small one. So a step whose change reverses direction (it overshot) moves from
then on only halfway, rounded up, from its plan to what the simulation asks for; the other
steps keep the plain update. Should the plans still cycle, the step-wise maximum of the
cycle is taken. The loop also ends once no step
changes by more than one person (the larger of the two plans is kept), or once the plan's
person-hours have moved less than 2% three iterations running (the step-wise mean of those
plans, rounded up, is kept): the last persons would only trade places with the noise of the
estimate. Once every step moves by at most two people, each iteration doubles its
replications (up to four times `--reps`), so what is left to move is the algorithm's, not
the noise's. The algorithm keeps its formula's measure, which assumes exponential work served
first come first served and sees the step's average, not the backlog an hour inherits at
its start; so the plan is then checked by simulation on seeds of its own, and a step whose
whole 95% interval lies above the target gets one more person, and so does the step before
it if it had fewer (the backlog a step inherits builds there), up to three rounds. The
plan is finally verified on fresh seeds: the
target's measure for the work that started waiting in each step, with a 95% interval (a
ratio estimator over replications). Waits that neither ended in service nor in giving up (a
case moved on while its work waited) leave no trace in the log and are not counted.

The plan is then rounded to the pool's shift blocks (its shifts, day by day; a
round-the-clock pool gets 8-hour blocks): the fewest person-hours whose blocks cover each
step's headcount (an integer program), with its cost against the current shifts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Literal, Sequence
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.stats import poisson

from simulation.errors import SimulationError
from simulation.model.world import run
from simulation.results.common import LogView
from simulation.results.replications import replication_seed
from simulation.scenario.loader import LoadedScenario
from simulation.scenario.model import parse_days
from simulation.sizing.executors import Runner, base_of
from simulation.sizing.measures import wait_metric, waits_of
from simulation.sizing.offered import offered_load_plan
from simulation.sizing.spec import Target
from simulation.sizing.variants import hourly_schedule, pool_spec, week_minute, with_plan

__all__ = ["HourlyGoal", "HourlyPlan", "Block", "hourly_goal", "occupancy", "step_counts",
           "plan_batch", "iterate", "shift_blocks", "round_to_blocks", "mean_patience",
           "VERIFY_OFFSET", "REPAIR_OFFSET"]

VERIFY_OFFSET = 1_000_000
"""Verification replications use seed indices from here: fresh customers, not the ones the
plan was fitted to."""

REPAIR_OFFSET = 2_000_000
"""Seeds of the repair rounds: neither the fitting seeds nor the final verification's."""
REPAIR_ROUNDS = 3
MAX_REPS_FACTOR = 4
"""Once the plan moves by at most two people in every step (noise, not the algorithm), each
iteration uses twice the replications, up to this many times `--reps`."""
SETTLE_RUN, SETTLE_SHARE = 3, 0.02
"""The plan has settled when its person-hours move less than 2% three iterations running:
what still changes is the noise of the estimate (10 replications a step)."""

Kind = Literal["delay", "wait>", "abandonment"]


@dataclass(frozen=True)
class HourlyGoal:
    """The target an hourly plan keeps in every step, for one pool's work."""

    pool: str
    kind: Kind
    limit: float
    tau: float = 0.0
    patience: float | None = None
    """Mean patience in minutes (abandonment targets)."""
    text: str = ""


def mean_patience(loaded: LoadedScenario) -> float | None:
    """Mean patience of the scenario's customers, averaging give-up rates over kinds and
    tiers by their shares (a tier that never gives up adds rate 0); None if nobody does."""
    sc = loaded.scenario
    rate, weight = 0.0, 0.0
    shares = {k: e.share for k, e in loaded.mix.items()}
    total_share = sum(shares.values()) or 1.0
    for kind, entry in loaded.mix.items():
        spec = entry.patience if sc.queue is None else sc.queue.patience
        tiers = {getattr(t, "value", t): w for t, w in entry.tiers.items()}
        tier_total = sum(tiers.values()) or 1.0
        for tier, w in tiers.items():
            share = shares[kind] / total_share * w / tier_total
            dist = spec.for_tier(tier) if spec is not None else None
            if dist is not None and dist.mean > 0:
                rate += share / dist.mean
            weight += share
    return weight / rate if rate > 0 else None


def hourly_goal(target: Target, pool: str, loaded: LoadedScenario) -> HourlyGoal:
    """The hourly form of a target, or SimulationError if it has none."""
    name = target.metric
    if name.startswith("pool."):
        if not name.startswith(f"pool.{pool}."):
            raise SimulationError(f"--target {target.text!r}: an hourly plan for {pool!r} "
                                  f"keeps a measure of {pool!r}'s work, not another pool's")
        name = name[len(f"pool.{pool}."):]
    name = name.removeprefix("waiting.all.")
    if target.op != "<=":
        raise SimulationError(f"--target {target.text!r}: an hourly plan keeps a measure at "
                              f"or below a limit (delay, wait.p(>T), abandonment), with <=")
    if name == "delay":
        return HourlyGoal(pool, "delay", target.threshold, text=target.text)
    if name.startswith("wait.p(>"):
        found = wait_metric(name, loaded)
        assert found is not None
        return HourlyGoal(pool, "wait>", target.threshold, tau=found[1], text=target.text)
    if name == "abandonment":
        patience = mean_patience(loaded)
        if patience is None:
            raise SimulationError(f"--target {target.text!r}: customers never give up in "
                                  f"this scenario (no patience), so abandonment is always 0")
        return HourlyGoal(pool, "abandonment", target.threshold, patience=patience,
                          text=target.text)
    raise SimulationError(f"--target {target.text!r}: an hourly plan keeps a queue measure "
                          f"of the pool's work in every hour: 'delay <= 0.2', "
                          f"'wait.p(>20m) <= 0.2' or 'abandonment <= 0.05'")


# -- measuring a run ------------------------------------------------------------------------

def occupancy(results: Any, pool: str, step: float, steps: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minutes the pool's work in the system N(t) spent at each level in each step, as
    sparse (step, level, minutes) arrays: in service by the pool (assigned, until done),
    plus waiting in a queue the pool may serve."""
    log = LogView(results.log)
    code = log.code(pool)
    times, deltas = [], []
    for kind, sign in (("assigned", 1.0), ("work_done", -1.0)):
        ev = log(kind)
        mine = ev["a"] == code
        times.append(ev["t"][mine])
        deltas.append(np.full(int(mine.sum()), sign))
    waits = waits_of(results, log, counted_only=False)
    queued = waits.eligible[pool] & (waits.wait > 1e-9)
    times += [waits.start[queued], waits.start[queued] + waits.wait[queued]]
    deltas += [np.ones(int(queued.sum())), -np.ones(int(queued.sum()))]
    end = steps * step
    edges = np.arange(steps + 1) * step
    t = np.concatenate([*times, edges])
    d = np.concatenate([*deltas, np.zeros(edges.size)])
    order = np.lexsort((d, t))  # at one instant, departures first
    t, d = t[order], d[order]
    level = np.cumsum(d)
    span = np.diff(np.append(t, end))
    keep = (span > 0) & (t < end)
    idx = np.minimum((t[keep] // step).astype(np.int64), steps - 1)
    lv = np.maximum(level[keep].astype(np.int64), 0)
    key = idx * (int(lv.max()) + 1 if lv.size else 1) + lv
    width = int(lv.max()) + 1 if lv.size else 1
    uniq, inv = np.unique(key, return_inverse=True)
    minutes = np.bincount(inv, weights=span[keep])
    return uniq // width, uniq % width, minutes


def step_counts(results: Any, pool: str, step: float, steps: int,
                tau: float) -> dict[str, np.ndarray]:
    """Per step, the pool's pieces of work that started waiting in it: offered, delayed
    (waited at all, or gave up), late (not served within tau), abandoned."""
    waits = waits_of(results, None, counted_only=False)
    mine = waits.eligible[pool]
    start, wait, served = waits.start[mine], waits.wait[mine], waits.served[mine]
    idx = np.clip((start // step).astype(np.int64), 0, steps - 1)

    def count(flag: np.ndarray) -> np.ndarray:
        return np.bincount(idx[flag], minlength=steps)[:steps]

    every = np.ones(idx.shape, bool)
    return {"offered": count(every), "delayed": count((wait > 1e-9) | ~served),
            "late": count(~(served & (wait <= tau + 1e-9))), "abandoned": count(~served)}


def plan_batch(shared: Any, pool: str, step: float, counts: tuple[int, ...] | None,
               items: list[tuple[int, int]], tau: float, steps: int) -> list[dict[str, Any]]:
    """Worker: replications of the scenario with `counts` as the pool's plan (None: its
    shifts as they are) -> occupancy, step counts and the pool's work minutes."""
    loaded = base_of(shared)
    if counts is not None:
        loaded = with_plan(loaded, pool, step, counts)
    out = []
    for i, seed in items:
        start = time.perf_counter()
        results = run(loaded, seed)
        occ = occupancy(results, pool, step, steps)
        done = results.log.select("work_done")
        mine = done["a"] == results.log.names.index.get(pool, -1)
        out.append({"i": i, "occ": occ, "counts": step_counts(results, pool, step, steps, tau),
                    "work_minutes": float(done["x"][mine].sum()),
                    "jobs": int(mine.sum()), "seconds": time.perf_counter() - start})
    return out


# -- the algorithm --------------------------------------------------------------------------

def _tail_table(records: list[dict[str, Any]], steps: int) -> np.ndarray:
    """(steps x levels) share of time at each level, pooled over the replications."""
    top = max((int(r["occ"][1].max()) for r in records if r["occ"][1].size), default=0)
    hist = np.zeros((steps, top + 1))
    for r in records:
        s, lv, m = r["occ"]
        np.add.at(hist, (s, lv), m)
    total = hist.sum(axis=1, keepdims=True)
    return np.divide(hist, total, out=np.zeros_like(hist), where=total > 0)


def _staffing(goal: HourlyGoal, dist: np.ndarray, rate: float, mean_work: float) -> int:
    """The smallest s keeping the goal for one step, given P(N = n) = dist[n] and the
    step's rate of work per minute (every measure falls as s grows)."""
    if dist.size <= 1 or dist[1:].sum() <= 0:
        return 0
    tail = np.append(np.cumsum(dist[::-1])[::-1], 0.0)  # tail[s] = P(N >= s)
    limit = goal.limit + 1e-12
    if goal.kind == "delay" or (goal.kind == "abandonment" and rate <= 0):
        return int(np.argmax(tail <= limit))
    if goal.kind == "abandonment":
        excess = np.append(np.cumsum(tail[:0:-1])[::-1], 0.0)  # E[(N - s)+]
        value = excess / (goal.patience or math.inf) / rate
        return int(np.argmax(value <= limit))
    levels = np.arange(dist.size)

    def late(s: int) -> float:
        ahead = levels - s
        reach = poisson.cdf(np.maximum(ahead, 0), s * goal.tau / mean_work)
        return float((dist * np.where(ahead >= 0, reach, 0.0)).sum())

    lo, hi = 0, dist.size  # late(0) counts everyone; late(size) == 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if late(mid) <= limit:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass
class HourlyPlan:
    """What `iterate` found: the plan by step, how it got there and how it held up."""

    goal: HourlyGoal
    step: float
    plans: list[list[int]]
    """Every iteration's plan; the last is the answer."""
    converged: str
    current: list[float]
    """The pool's current scheduled headcount by step (mean over the step)."""
    offered: np.ndarray
    """Mean pieces of the pool's work starting per step (the load's arrivals)."""
    verification: dict[str, np.ndarray] = field(default_factory=dict)
    """Per step: estimate, half-width (95%), offered count (mean per replication)."""
    proposal: dict[str, Any] = field(default_factory=dict)
    lagged: list[int] = field(default_factory=list)
    """The lagged offered-load plan (offered.py) the iteration started from."""
    lagged_verification: dict[str, np.ndarray] = field(default_factory=dict)
    """Its verification on the plan's fresh seeds (when proposals are verified)."""
    replications: int = 0
    seconds: float = 0.0

    @property
    def plan(self) -> list[int]:
        return self.plans[-1]


def _gather(runner: Runner, shared: Any, goal: HourlyGoal, step: float, steps: int,
            counts: Sequence[int] | None, indices: Sequence[int], seed: int,
            progress: Callable[[int], None] | None) -> list[dict[str, Any]]:
    """Run the replications `indices` of one plan on the runner, batched."""
    per_task = max(1, math.ceil(len(indices) / max(runner.workers, 1) / 2))
    plan = tuple(int(c) for c in counts) if counts is not None else None
    for k in range(0, len(indices), per_task):
        chunk = [(i, replication_seed(seed, i)) for i in indices[k:k + per_task]]
        runner.submit(k, plan_batch, shared, goal.pool, step, plan, chunk, goal.tau, steps)
    out: list[dict[str, Any]] = []
    while len(out) < len(indices):
        for _, batch in runner.collect(0.2):
            out += batch
            if progress is not None:
                progress(len(batch))
    return sorted(out, key=lambda r: r["i"])


def _verify(goal: HourlyGoal, records: list[dict[str, Any]], steps: int) -> dict[str, np.ndarray]:
    """Per step: the target's measure for the work that started waiting in it, pooled
    over replications (ratio estimator, 95% interval from the replications' spread)."""
    field_name = {"delay": "delayed", "wait>": "late", "abandonment": "abandoned"}[goal.kind]
    y = np.array([r["counts"][field_name] for r in records], dtype=float)
    n = np.array([r["counts"]["offered"] for r in records], dtype=float)
    reps = max(len(records), 1)
    tot_n = n.sum(axis=0)
    est = np.divide(y.sum(axis=0), tot_n, out=np.full(steps, np.nan), where=tot_n > 0)
    resid = y - np.nan_to_num(est) * n
    var = (resid ** 2).sum(axis=0) / max(reps * (reps - 1), 1)
    mean_n = tot_n / reps
    half = 1.96 * np.sqrt(var) / np.where(mean_n > 0, mean_n, np.nan)
    return {"estimate": est, "half_width": half, "offered": mean_n}


def iterate(base: LoadedScenario, goal: HourlyGoal, runner: Runner, *, step: float = 60.0,
            reps: int = 10, verify_reps: int = 20, max_iterations: int = 20, seed: int = 1,
            progress: Callable[[int, int, str], None] | None = None,
            verify_proposal: bool = True, fixed: bool = False) -> HourlyPlan:
    """The iterative staffing algorithm for one pool (see the module notes).

    `fixed`: do not iterate; verify the pool's current schedule as it is (what a plan is
    compared with)."""
    started = time.monotonic()
    sc = base.scenario
    end = sc.horizon.wall_minutes + sc.drain.wall_minutes
    steps = max(1, math.ceil(end / step - 1e-9))
    spec = pool_spec(base, goal.pool)
    current = hourly_schedule(base, spec, steps, step)
    shared = runner.share(base)
    done = [0]
    planned = [reps * 2]

    def tick(label: str) -> Callable[[int], None]:
        def inner(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(done[0], planned[0], label)
        return inner

    plan = [int(math.ceil(c - 1e-9)) for c in current]
    plans: list[list[int]] = []
    records: list[dict[str, Any]] = []
    converged = f"not converged after {max_iterations} iterations (the last plan is used)"
    damped = ""
    moved: list[float] = []
    swing = np.zeros(steps, dtype=bool)
    last = np.zeros(steps, dtype=int)
    if fixed:
        plans.append(plan)
        converged = "the current schedule, not iterated"
    lagged: list[int] = []
    base_reps = reps
    for it in range(1, 0 if fixed else max_iterations + 1):
        records = _gather(runner, shared, goal, step, steps, plan, range(reps), seed,
                          tick(f"iteration {it}"))
        table = _tail_table(records, steps)
        counts = np.array([r["counts"]["offered"] for r in records], dtype=float).mean(axis=0)
        jobs = sum(r["jobs"] for r in records)
        mean_work = sum(r["work_minutes"] for r in records) / jobs if jobs else 1.0
        if not lagged:  # the work measured: the lagged offered-load plan starts the loop
            lagged = offered_load_plan(counts / step, step, mean_work, goal.kind, goal.limit,
                                       goal.tau, goal.patience)
            plans.append(plan)
            plan = list(lagged)
            planned[0] += reps
            continue
        new = [_staffing(goal, table[k], counts[k] / step, mean_work) for k in range(steps)]
        plans.append(plan)
        if new == plan:
            converged = f"converged in {it} iteration(s)" + damped
            break
        delta = np.asarray(new) - np.asarray(plan)
        if it > 1 and np.abs(delta).max() <= 1:
            plan = [max(a, b) for a, b in zip(plan, new)]
            plans.append(plan)
            converged = (f"converged to within one person in {it} iteration(s)" + damped
                         + ": the larger of the last two plans, step by step")
            break
        swing |= delta * last < 0  # this step overshot the other way: it oscillates
        if swing.any() and not damped:
            damped = f" (damped where the plain algorithm overshot, from iteration {it})"
        halfway = np.maximum(plan, new) - np.abs(delta) // 2  # halfway, rounded up
        new = [int(x) for x in np.where(swing, halfway, new)]
        if new in plans:
            cycle = plans[plans.index(new):]
            plan = [max(col) for col in zip(*cycle)]
            plans.append(plan)
            converged = (f"cycled between {len(cycle)} plans after {it} iterations: the "
                         f"step-wise maximum is used")
            break
        moved.append(abs(sum(new) - sum(plan)) / max(sum(plan), 1))
        if len(moved) >= SETTLE_RUN and max(moved[-SETTLE_RUN:]) < SETTLE_SHARE:
            plans.append(new)
            plan = [int(math.ceil(sum(col) / len(col) - 1e-9)) for col in zip(*plans[-SETTLE_RUN:])]
            plans.append(plan)
            converged = (f"settled within the noise of the estimate after {it} iterations "
                         f"(person-hours moved less than {SETTLE_SHARE:.0%} {SETTLE_RUN} "
                         f"times running): the step-wise mean, rounded up, of the last "
                         f"{SETTLE_RUN} plans" + damped)
            break
        last = np.asarray(new) - np.asarray(plan)
        if np.abs(last).max() <= 2 and reps < MAX_REPS_FACTOR * base_reps:
            reps *= 2  # the plan moves only by noise now: estimate it on more replications
        plan = new
        planned[0] += reps
    if not plans:  # no iteration asked for: the current schedule is where repair starts
        plans.append(plan)
    repaired: list[int] = []
    for r in range(0 if fixed else REPAIR_ROUNDS):
        planned[0] += verify_reps
        first = REPAIR_OFFSET + r * verify_reps
        probe = _verify(goal, _gather(runner, shared, goal, step, steps, plan,
                                      range(first, first + verify_reps), seed,
                                      tick(f"checking, round {r + 1}")), steps)
        above = np.flatnonzero(probe["estimate"] - probe["half_width"] > goal.limit)
        if above.size == 0:
            break
        bump = set(above.tolist())  # and the step before, if it had fewer: the backlog
        bump |= {k - 1 for k in above.tolist() if k > 0 and plan[k - 1] < plan[k]}  # builds there
        plan = [c + 1 if k in bump else c for k, c in enumerate(plan)]
        plans.append(plan)
        repaired.append(int(above.size))
    if repaired:
        converged += (f"; then {sum(repaired)} step(s) clearly over the target on seeds of "
                      f"their own got one more person ({len(repaired)} round(s))")
    planned[0] += verify_reps
    check = _gather(runner, shared, goal, step, steps, plan,
                    range(VERIFY_OFFSET, VERIFY_OFFSET + verify_reps), seed, tick("verifying"))
    offered = np.array([r["counts"]["offered"] for r in check], dtype=float).mean(axis=0)
    result = HourlyPlan(goal, step, plans, converged, current, offered,
                        _verify(goal, check, steps))
    result.lagged = lagged
    if lagged and verify_proposal:  # the closed-form yardstick, on the same fresh seeds
        planned[0] += verify_reps
        result.lagged_verification = _verify(goal, _gather(
            runner, shared, goal, step, steps, lagged,
            range(VERIFY_OFFSET, VERIFY_OFFSET + verify_reps), seed,
            tick("verifying the offered-load plan")), steps)
    proposal = round_to_blocks(base, goal.pool, plan, step)
    if proposal.get("plan") and verify_proposal:
        planned[0] += verify_reps
        again = _gather(runner, shared, goal, step, steps, proposal["plan"],
                        range(VERIFY_OFFSET, VERIFY_OFFSET + verify_reps), seed,
                        tick("verifying the shift proposal"))
        proposal["verification"] = _verify(goal, again, steps)
    result.proposal = proposal
    result.replications = done[0]
    result.seconds = time.monotonic() - started
    return result


# -- shift blocks ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    """One shift on one day: model minutes [start, end)."""

    start: float
    end: float
    label: str


def shift_blocks(loaded: LoadedScenario, pool: str, end: float) -> list[Block]:
    """The pool's shifts laid out day by day over [0, end) (a round-the-clock pool: 8-hour
    blocks from local midnight)."""
    spec = pool_spec(loaded, pool)
    shifts = [(parse_days(s.days), s.start.hour * 60 + s.start.minute,
               s.end.hour * 60 + s.end.minute) for s in spec.shifts]
    if not shifts:
        shifts = [(frozenset(range(7)), b, (b + 480) % 1440) for b in (0, 480, 960)]
    m0 = week_minute(loaded)
    first_day = -((m0 % 1440))  # model minute of local midnight on day 0
    start_local = loaded.scenario.start.astimezone(ZoneInfo(loaded.calendar.timezone))
    out: list[Block] = []
    day = -1  # a shift that began the evening before minute 0 may still be on
    while first_day + day * 1440 < end:
        midnight = first_day + day * 1440
        weekday = int(((m0 + midnight) // 1440) % 7)
        date = (start_local + timedelta(minutes=midnight)).date()
        for days, begin, finish in shifts:
            if weekday not in days:
                continue
            length = 1440 if begin == finish else (finish - begin) % 1440
            a, b = midnight + begin, midnight + begin + length
            if b > 0 and a < end:
                out.append(Block(a, b, f"{date:%Y-%m-%d %a} {begin // 60:02d}:{begin % 60:02d}"
                                       f"-{finish // 60:02d}:{finish % 60:02d}"))
        day += 1
    return out


def round_to_blocks(loaded: LoadedScenario, pool: str, plan: Sequence[int],
                    step: float) -> dict[str, Any]:
    """The fewest person-hours of shift blocks covering the plan in every step a block
    covers (at least half of it); steps no block covers are reported, not staffed."""
    steps = len(plan)
    end = steps * step
    blocks = shift_blocks(loaded, pool, end)
    need = np.asarray(plan, dtype=float)
    cover = np.zeros((steps, len(blocks)))
    for j, b in enumerate(blocks):
        for k in range(max(0, int(b.start // step)), min(steps, int(math.ceil(b.end / step)))):
            overlap = min(b.end, (k + 1) * step) - max(b.start, k * step)
            if overlap >= step / 2:
                cover[k, j] = 1.0
    covered = cover.sum(axis=1) > 0
    rows = np.flatnonzero(covered & (need > 0))
    spec = pool_spec(loaded, pool)
    hours = np.array([(b.end - b.start) / 60 for b in blocks])
    counts = np.zeros(len(blocks))
    if rows.size and blocks:
        res = milp(c=hours, constraints=LinearConstraint(cover[rows], need[rows], np.inf),
                   integrality=np.ones(len(blocks)), bounds=Bounds(0, np.inf))
        if res.x is None:
            raise SimulationError(f"rounding the plan of {pool!r} to its shift blocks failed: "
                                  f"{res.message}")
        counts = np.round(res.x)
    staffed = (cover @ counts).astype(int)
    wage = spec.wage_per_hour
    uncovered = ~covered & (need > 0)
    return {
        "blocks": [{"block": b.label, "start": b.start, "end": b.end, "headcount": int(c)}
                   for b, c in zip(blocks, counts)],
        "plan": [int(x) for x in staffed],
        "person_hours": float((counts * hours).sum()),
        "cost": float((counts * hours).sum() * wage),
        "uncovered_steps": int(uncovered.sum()),
        "uncovered_person_hours": float(need[uncovered].sum() * step / 60),
    }

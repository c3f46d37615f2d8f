"""Sizing speed: the fewest field technicians for a VIP SLA through the 3x recall surge.

The question of issue 10: "the fewest field technicians (现场技术组) so that VIP acknowledge
attainment is at least 95% through the bundled 3x recall surge (defective-batch-surge),
decided within one technician at 95% confidence". Acknowledge is the desk's milestone
(客服组 registers the case; technicians come after it), so that target is met by any crew,
which the first measurement shows; the benchmark then asks the closest question technicians
decide: VIP *initial plan* attainment (the plan follows the technician's inspection).

Measured in the same run, on this machine:
1. The literal question at the smallest crew of the range: already met (uninformative).
2. Wall time of the monotone search on 现场技术组.headcount=10..30 (goal: under 30 s),
   replications used, the answer and the verdict one technician below it.
3. Replications the full grid needs at the same confidence (the grid reuses the search's
   replications, which are the same by construction, and simulates the rest).
4. Parallel efficiency of the local process pool: one batch of replications on 1 process
   and on every core (goal: 85% or more), start-up excluded; and the search's own
   utilisation (simulating seconds / (wall x workers)).
5. Dask overhead per task: empty tasks on a LocalCluster, and the same batch of
   replications on Dask against the local pool.

Run: python -m benchmarks.bench_sizing [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

from simulation.results.replications import replication_seed
from simulation.scenario.loader import load_scenario
from simulation.sizing.executors import DaskRunner, LocalPool, Runner, SerialRunner, cpu_count
from simulation.sizing.search import replicate_batch
from simulation.sizing.session import answer, plan_question
from simulation.sizing.output import answer_lines

__all__ = ["main", "batch_seconds", "empty"]

SCENARIO = "defective-batch-surge"
POOL = "现场技术组"
VARY = f"staffing.{POOL}.headcount=10..30"
LITERAL = "VIP.acknowledge.attainment >= 95%"
MEANINGFUL = "VIP.initial_plan.attainment >= 95%"


def empty(x: int) -> int:
    """A task that does nothing (Dask's own cost per task)."""
    return x


def spin(n: int) -> float:
    """A CPU-bound loop: what one core gives a Python process here, with no simulation."""
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - start


def ceiling(runner: Runner, cores: int, n: int = 4_000_000, per_core: int = 4) -> float:
    """Parallel efficiency of a pure CPU loop on this runner: the machine's own ceiling
    (a shared or throttled machine gives less than 100% to any program)."""
    serial = sum(spin(n) for _ in range(per_core * cores))
    start = time.perf_counter()
    for k in range(per_core * cores):
        runner.submit(k, spin, n)
    got = 0
    while got < per_core * cores:
        got += len(runner.collect(0.1))
    return serial / (cores * (time.perf_counter() - start))


def batch_seconds(runner: Runner, loaded, knobs, levels, reps: int, per_task: int) -> float:
    """Seconds to run `reps` replications in tasks of `per_task` on a runner."""
    shared = runner.share(loaded)
    start = time.perf_counter()
    for k in range(0, reps, per_task):
        items = [(i, replication_seed(7, i)) for i in range(k, min(k + per_task, reps))]
        runner.submit(k, replicate_batch, shared, knobs, levels, items, [MEANINGFUL_METRIC])
    done = 0
    while done < reps:
        for _, batch in runner.collect(0.1):
            done += len(batch)
    return time.perf_counter() - start


MEANINGFUL_METRIC = "sla.VIP.initial_plan.attainment"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the full grid")
    args = parser.parse_args(argv)
    loaded = load_scenario(SCENARIO)
    cores = cpu_count()
    report: dict = {"cores": cores}
    print(f"{SCENARIO}: {cores} core(s)")

    # 1. the literal question at the smallest crew
    literal = plan_question(loaded, [LITERAL], [f"staffing.{POOL}.headcount=10"])
    start = time.perf_counter()
    low = answer(literal, SerialRunner(), None).outcome
    ev = low.evaluations[0]
    est = ev.estimates[literal.targets[0].metric]
    print(f"1. literal target {LITERAL!r} with only 10 technicians: {est.mean:.2%} over "
          f"{est.n} replications ({ev.verdict}); technicians do not drive acknowledge "
          f"({time.perf_counter() - start:.1f} s)")
    report["literal_at_10"] = {"mean": est.mean, "n": est.n, "verdict": ev.verdict}

    # 2. the search, from a cold start on every core (pool start-up included)
    problem = plan_question(loaded, [MEANINGFUL], [VARY])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        pool = LocalPool(cores)
        try:
            sized = answer(problem, pool, out).outcome
        finally:
            pool.close()
        wall = time.perf_counter() - start
        assert sized is not None
        for line in answer_lines(sized):
            print("   " + line)
        level = sized.answer.config.levels[0] if sized.answer else None
        below = next((e for e in sized.evaluations.values()
                      if level is not None and e.config.levels[0] == level - 1), None)
        print(f"2. monotone search: {wall:.1f} s wall (goal < 30 s), {sized.replications} "
              f"replications of {sum(1 for e in sized.evaluations.values() if e.n)} "
              f"configurations; answer {POOL} = {level}, {level - 1 if level else '-'} "
              f"{below.verdict if below else '-'}")
        util = sized.busy / (sized.seconds * cores) if sized.seconds else 0.0
        report["search"] = {"wall_seconds": wall, "replications": sized.replications,
                            "answer": level, "below": below.verdict if below else None,
                            "utilisation": util, "seconds_per_replication":
                            sized.busy / max(sized.simulated, 1)}

        # 3. the full grid at the same confidence (reusing the search's replications)
        if not args.quick:
            grid_problem = plan_question(loaded, [MEANINGFUL], [VARY], grid=True)
            pool = LocalPool(cores)
            try:
                grid = answer(grid_problem, pool, out).outcome
            finally:
                pool.close()
            assert grid is not None
            g_level = grid.answer.config.levels[0] if grid.answer else None
            print(f"3. full grid: {grid.replications} replications (search: "
                  f"{sized.replications}, {grid.replications / sized.replications:.1f}x "
                  f"fewer searching); grid answer {g_level}")
            report["grid"] = {"replications": grid.replications, "answer": g_level}

    # 4. parallel efficiency of the local pool on one batch (start-up excluded)
    knobs = problem.knobs
    reps = 8 * cores
    serial = batch_seconds(SerialRunner(), loaded, knobs, (14,), reps, 1)
    pool = LocalPool(cores)
    try:
        batch_seconds(pool, loaded, knobs, (14,), cores, 1)  # workers load the scenario
        parallel = batch_seconds(pool, loaded, knobs, (14,), reps, 1)
        machine = ceiling(pool, cores)
    finally:
        pool.close()
    efficiency = serial / (cores * parallel)
    print(f"4. local pool: {reps} replications {serial:.1f} s on 1 process, {parallel:.1f} s on "
          f"{cores}: parallel efficiency {efficiency:.0%} (goal >= 85%); a bare CPU loop on the "
          f"same pool reaches {machine:.0%} on this machine now (its ceiling), so the pool "
          f"keeps {efficiency / machine:.0%} of what the machine gives; the search kept its "
          f"workers {util:.0%} busy (its looks wait for their last replication)")
    report["pool"] = {"serial_seconds": serial, "parallel_seconds": parallel,
                      "efficiency": efficiency, "machine_ceiling": machine}

    # 5. Dask: empty tasks, and the same batch against the local pool
    dask = DaskRunner(None, cores)
    try:
        n = 400
        start = time.perf_counter()
        for k in range(n):
            dask.submit(k, empty, k)
        got = 0
        while got < n:
            got += len(dask.collect(0.1))
        per_empty = (time.perf_counter() - start) / n
        batch_seconds(dask, loaded, knobs, (14,), cores, 1)  # scatter and warm up
        on_dask = batch_seconds(dask, loaded, knobs, (14,), reps, 1)
    finally:
        dask.close()
    per_task = (on_dask - parallel) / reps
    print(f"5. Dask LocalCluster: {per_empty * 1e3:.2f} ms per empty task ({n} submitted at "
          f"once); the batch took {on_dask:.1f} s on Dask against {parallel:.1f} s on the "
          f"local pool: {per_task * 1e3:+.0f} ms per task of about "
          f"{serial / reps:.2f} s ({per_task / (serial / reps):+.1%})")
    report["dask"] = {"empty_task_ms": per_empty * 1e3, "batch_seconds": on_dask,
                      "overhead_per_task_ms": per_task * 1e3}
    print(json.dumps(report, ensure_ascii=False, default=lambda x: None if x is None
                     or (isinstance(x, float) and math.isnan(x)) else x))


if __name__ == "__main__":
    main()

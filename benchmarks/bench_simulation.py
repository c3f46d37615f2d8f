"""Simulation speed and memory against the targets of issue 14, measured in one run.

1. The textbook M/M/c queue three ways, same arrival rate, service time, servers, horizon:
   Muster (a `queue:` scenario through the whole model: playbook runtime, case table, event
   log), a minimal hand-written SimPy model (a source process and `simpy.Resource`), and Ciw.
   Targets: Muster at most 0.8x the hand-written SimPy time, so Ciw at least 2x Muster's; at
   c = 9 always, and with `--sweep` at c = 1, 3, 9 and 30 servers at the same load.
2. One replication of the recall surge (defective-batch-surge.yaml, `run(loaded, seed)`):
   at least 2x faster than the code before issue 14 (commit f03798a). With `--before DIR`
   (a checkout or `git archive` of that commit) both run here, in turn, each in a child
   process, and the ratio is printed; without it, the seconds per replication are printed
   beside the figure measured on the 2-core test machine (`RECALL_BEFORE`).
3. Incidents per second of the default scenario (normal-week), target at least 20,000.
4. Peak memory of a one-million-incident run of the default scenario, measured in a child
   process (ru_maxrss) so nothing else in this process counts (target: under 1 GiB).

Times are CPU seconds of the process doing the work (`time.process_time`), the best of
several runs taken in turn (A B C A B C ...), so that a slow spell of a shared machine falls
on all of them alike and another program's time is not counted as ours; each model runs in
a child process of its own (`Worker`). Ratios also show the median of the per-round ratios:
when best and median disagree, the machine was noisy.

Run: python -m benchmarks.bench_simulation [--quick] [--sweep] [--before DIR] [--no-memory]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import simpy

from simulation.scenario.loader import (DEFAULT_SCENARIO, load_scenario, scenario_from_text,
                                        scenarios_dir)
from simulation.model.world import run

__all__ = ["handwritten_simpy", "ciw_queue", "muster_queue", "interleaved", "Worker", "sweep",
           "recall", "main", "QUEUE_RATIO", "CIW_RATIO", "RECALL_SPEEDUP", "RATE", "MEMORY_BYTES",
           "RECALL_BEFORE"]

LAM_PER_HOUR, MEAN_SERVICE, SERVERS = 30.0, 15.0, 9  # rho = 0.83
QUEUE_RATIO = 0.8
"""Target: Muster's time per customer at most this times the hand-written SimPy model's."""
CIW_RATIO = 2.0
"""Target: Ciw's time per customer at least this times Muster's."""
RECALL_SPEEDUP = 2.0
"""Target: a recall replication at least this many times faster than before issue 14."""
RATE = 20_000
"""Target: incidents per CPU second on the default scenario."""
MEMORY_BYTES = 2**30
"""Target: peak memory of a one-million-incident run below 1 GiB."""
RECALL_BEFORE = 0.60
"""CPU seconds of one recall replication (seed 1..3, best) at commit f03798a on the 2-core
test machine, measured interleaved with the code after issue 14 (see the issue's notes)."""
RECALL = "defective-batch-surge.yaml"

Result = tuple[float, int]
"""CPU seconds and customers (or incidents) of one run."""


def handwritten_simpy(days: float, seed: int, servers: int = SERVERS,
                      lam_per_hour: float = LAM_PER_HOUR) -> Result:
    """The smallest honest SimPy model of the queue: CPU seconds, customers served."""
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=servers)
    rng = random.Random(seed)
    waits: list[float] = []
    lam = lam_per_hour / 60.0

    def customer(env: simpy.Environment):  # type: ignore[no-untyped-def]
        arrived = env.now
        with server.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(1.0 / MEAN_SERVICE))

    def source(env: simpy.Environment):  # type: ignore[no-untyped-def]
        while True:
            yield env.timeout(rng.expovariate(lam))
            env.process(customer(env))

    gc.collect()
    start = time.process_time()
    env.process(source(env))
    env.run(until=days * 1440)
    return time.process_time() - start, len(waits)


def ciw_queue(days: float, seed: int, servers: int = SERVERS,
              lam_per_hour: float = LAM_PER_HOUR) -> Result:
    import ciw
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam_per_hour / 60.0)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / MEAN_SERVICE)],
        number_of_servers=[servers])
    ciw.seed(seed)
    gc.collect()
    start = time.process_time()
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(days * 1440)
    return time.process_time() - start, len(sim.get_all_records())


def muster_queue(days: float, seed: int, servers: int = SERVERS,
                 lam_per_hour: float = LAM_PER_HOUR) -> Result:
    loaded = scenario_from_text(textwrap.dedent(f"""
        name: bench-mmc
        horizon: {days}d
        queue:
          arrival_rate: {lam_per_hour}/h
          service: {{exponential: {MEAN_SERVICE}m}}
          servers: {servers}
        """))
    gc.collect()
    start = time.process_time()
    results = run(loaded, seed)
    return time.process_time() - start, results.arrivals


WORKER = """
import sys
from benchmarks import bench_simulation as b
fn = getattr(b, sys.argv[1])
for line in sys.stdin:
    days, seed, servers, lam = line.split()
    fn(0.2, 0)  # first use of this shape: what a cold start costs is not the model's
    seconds, customers = fn(float(days), int(seed), int(servers), float(lam))
    print(seconds, customers, flush=True)
"""


class Worker:
    """A child process that runs one model (a function of this module) on request.

    Each model runs in a process of its own: in one process, what one model leaves in
    memory changed the next one's time by up to a third (the same SimPy model measured
    17 to 40 us a customer depending on what ran before it on the 2-core test machine)."""

    def __init__(self, name: str) -> None:
        root = Path(__file__).resolve().parents[1]
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, name], cwd=root,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self, days: float, seed: int, servers: int, lam: float) -> Result:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{days} {seed} {servers} {lam}\n")
        self.proc.stdin.flush()
        seconds, customers = self.proc.stdout.readline().split()
        return float(seconds), int(customers)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def interleaved(names: tuple[str, ...], days: float, servers: int, lam: float,
                repeat: int) -> list[list[float]]:
    """CPU seconds per customer of each model (a function of this module, each in a worker
    process of its own) in each round, runs taken in turn (A B C A B C ...) so that a slow
    spell of a shared machine falls on all of them alike."""
    workers = [Worker(name) for name in names]
    runs: list[list[float]] = [[] for _ in names]
    try:
        for seed in range(1, repeat + 1):
            for i, worker in enumerate(workers):
                seconds, customers = worker(days, seed, servers, lam)
                runs[i].append(seconds / customers)
    finally:
        for worker in workers:
            worker.close()
    return runs


def _ratio(a: list[float], b: list[float]) -> tuple[float, float]:
    """(best of a / best of b, median of the per-round ratios a/b)."""
    return min(a) / min(b), statistics.median(x / y for x, y in zip(a, b))


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def queue_line(servers: int, days: float, repeat: int) -> bool:
    """One queue shape at the same load (rho = 0.83): microseconds per customer and both
    ratios against their targets; whether both were met."""
    lam = LAM_PER_HOUR * servers / SERVERS
    simpy_, muster, ciw = interleaved(("handwritten_simpy", "muster_queue", "ciw_queue"),
                                      days * SERVERS / servers, servers, lam, repeat)
    r1, m1 = _ratio(muster, simpy_)
    r2, m2 = _ratio(ciw, muster)
    ok = r1 <= QUEUE_RATIO and r2 >= CIW_RATIO
    print(f"  c={servers:<3d} us/customer: SimPy {min(simpy_) * 1e6:5.1f}  Muster "
          f"{min(muster) * 1e6:5.1f}  Ciw {min(ciw) * 1e6:5.1f}   Muster/SimPy {r1:4.2f}x "
          f"(median {m1:4.2f}, target <= {QUEUE_RATIO:g}) {_verdict(r1 <= QUEUE_RATIO)}   "
          f"Ciw/Muster {r2:4.2f}x (median {m2:4.2f}, target >= {CIW_RATIO:g}) "
          f"{_verdict(r2 >= CIW_RATIO)}")
    return ok


def sweep(days: float, repeat: int) -> None:
    """The queue at the same load (rho = 0.83) with 1, 3, 9 and 30 servers, each line with
    about as many customers."""
    print(f"Textbook queue, rho = 0.83, mean service {MEAN_SERVICE:g} min, about "
          f"{days * 24 * LAM_PER_HOUR:,.0f} customers a line (best of {repeat}, CPU time):")
    for servers in (1, 3, 9, 30):
        queue_line(servers, days, repeat)


RECALL_CHILD = """
import json, sys, time
from simulation.scenario.loader import load_scenario
from simulation.model.world import run
loaded = load_scenario(sys.argv[1])
run(loaded, 99)  # first use: imports and caches that are not the replication's
out = []
for seed in map(int, sys.argv[2:]):
    start = time.process_time()
    results = run(loaded, seed)
    out.append((time.process_time() - start, results.arrivals))
print(json.dumps(out))
"""


def _recall_child(root: Path, seed: int) -> float:
    """CPU seconds of one recall replication by the code in `root`, in a child process
    (the code is imported from `root`: its own scenarios and model)."""
    scenario = root / "simulation" / "scenarios" / RECALL
    out = subprocess.run([sys.executable, "-c", RECALL_CHILD, str(scenario), str(seed)],
                         cwd=root, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])[0][0])


def recall(repeat: int, before: Path | None) -> None:
    """The recall replication: seconds now, and the speed-up over the code before."""
    here = Path(__file__).resolve().parents[1]
    if before is None:
        loaded = load_scenario(scenarios_dir() / RECALL)
        run(loaded, 99)
        now = []
        for seed in range(1, repeat + 1):
            gc.collect()
            start = time.process_time()
            run(loaded, seed)
            now.append(time.process_time() - start)
        speedup = RECALL_BEFORE / min(now)
        print(f"recall surge, one replication: {min(now):.3f} s CPU (best of {repeat}); "
              f"before issue 14 {RECALL_BEFORE:.3f} s on the test machine: {speedup:.2f}x "
              f"(target >= {RECALL_SPEEDUP:g}x; --before DIR measures it here) "
              f"{_verdict(speedup >= RECALL_SPEEDUP)}")
        return
    then, now = [], []
    for seed in range(1, repeat + 1):  # in turn, each in a fresh child process
        then.append(_recall_child(before.resolve(), seed))
        now.append(_recall_child(here, seed))
    speedup, median = _ratio(then, now)
    print(f"recall surge, one replication (best of {repeat}, CPU time, in turn): before "
          f"{min(then):.3f} s, now {min(now):.3f} s: {speedup:.2f}x faster (median "
          f"{median:.2f}; target >= {RECALL_SPEEDUP:g}x) {_verdict(speedup >= RECALL_SPEEDUP)}")


def default_rate(repeat: int) -> tuple[float, int, str]:
    """The best incidents per CPU second over `repeat` seeds: (seconds, incidents) of it."""
    loaded = load_scenario(DEFAULT_SCENARIO)
    run(loaded, 99)
    runs = []
    for seed in range(1, repeat + 1):
        gc.collect()
        start = time.process_time()
        results = run(loaded, seed)
        runs.append((time.process_time() - start, results.arrivals))
    seconds, incidents = max(runs, key=lambda r: r[1] / r[0])
    return seconds, incidents, loaded.scenario.name


MEMORY_CHILD = """
import json, resource, sys
from simulation.scenario.loader import DEFAULT_SCENARIO, load_scenario
from simulation.model.world import run
from simulation.scenario.model import Demand
loaded = load_scenario(DEFAULT_SCENARIO)
target = int(sys.argv[1])
sc = loaded.scenario
days = sc.horizon.wall_minutes / 1440
rate = target / (days * 24)
scale = rate / sc.demand.base_rate
demand = sc.demand.model_copy(update={"base_rate": sc.demand.base_rate * scale})
staffing = {name: spec.model_copy(update={
    "headcount": None if spec.headcount is None else max(1, round(spec.headcount * scale)),
    "shifts": [s.model_copy(update={"headcount": max(1, round(s.headcount * scale))})
               for s in spec.shifts]}) for name, spec in loaded.staffing.items()}
parts = {sku: p.model_copy(update={"initial": int(p.initial * scale)})
         for sku, p in sc.parts.items()}
scenario = sc.model_copy(update={"demand": demand, "parts": parts})
import dataclasses
loaded = dataclasses.replace(loaded, scenario=scenario, staffing=staffing)
results = run(loaded, 1)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"incidents": results.arrivals, "events": len(results.log), "peak_bytes": peak}))
"""


def peak_memory(incidents: int) -> dict[str, float]:
    """Run a scaled default scenario of about `incidents` incidents in a child process."""
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(incidents)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter runs, 100k incidents for memory (no memory verdict)")
    parser.add_argument("--days", type=float, default=None, help="queue horizon in days at c=9")
    parser.add_argument("--sweep", action="store_true",
                        help="the queue with 1, 3, 9 and 30 servers at the same load")
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout of commit f03798a: time its recall replication here")
    parser.add_argument("--no-memory", action="store_true",
                        help="leave out the memory run (minutes for a million incidents)")
    args = parser.parse_args(argv)
    days = args.days or (10.0 if args.quick else 40.0)
    repeat = 3 if args.quick else 5
    if args.sweep:
        sweep(days, repeat)
    else:
        print(f"M/M/{SERVERS} queue, {LAM_PER_HOUR:g}/h, mean service {MEAN_SERVICE:g} min, "
              f"{days:g} days (best of {repeat}, CPU time):")
        queue_line(SERVERS, days, repeat)
    recall(repeat, args.before)
    t_default, n_default, name = default_rate(repeat)
    rate = n_default / t_default
    print(f"default scenario {name}: {n_default:,} incidents in {t_default:.3f} s CPU = "
          f"{rate:,.0f} incidents/s (target >= {RATE:,}) {_verdict(rate >= RATE)}")
    if args.no_memory:
        return
    target = 100_000 if args.quick else 1_000_000
    mem = peak_memory(target)
    gib = mem["peak_bytes"] / 2**30
    verdict = _verdict(mem["peak_bytes"] < MEMORY_BYTES) if not args.quick else "(--quick)"
    print(f"memory: {mem['incidents']:,.0f} incidents, {mem['events']:,.0f} events, peak "
          f"{gib:.2f} GiB (target for a million: < 1 GiB) {verdict}")


if __name__ == "__main__":
    main()

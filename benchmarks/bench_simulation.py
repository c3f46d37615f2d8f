"""Simulation speed and memory, as ratios against references measured in the same run.

1. The textbook M/M/c queue three ways, same arrival rate, service time, servers, horizon:
   Muster (a `queue:` scenario through the whole model: playbook runtime, SLA clocks, event
   log), a minimal hand-written SimPy model (a source process and `simpy.Resource`), and Ciw.
   Targets: Muster at most 1.5x the hand-written SimPy time, at least 2x faster than Ciw.
2. Incidents per second on the default bundled scenario (target: at least 10,000 on one core).
3. Peak memory of a one-million-incident run of the default scenario, measured in a child
   process (ru_maxrss) so nothing else in this process counts (target: under 2 GB).

Run: python -m benchmarks.bench_simulation [--quick] [--sweep]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import textwrap
import time
from functools import partial
from typing import Callable

import simpy

from simulation.scenario.loader import DEFAULT_SCENARIO, load_scenario, scenario_from_text
from simulation.model.world import run

__all__ = ["handwritten_simpy", "ciw_queue", "muster_queue", "interleaved", "sweep", "main"]

LAM_PER_HOUR, MEAN_SERVICE, SERVERS = 30.0, 15.0, 9  # rho = 0.83


def handwritten_simpy(days: float, seed: int, servers: int = SERVERS,
                      lam_per_hour: float = LAM_PER_HOUR) -> tuple[float, int]:
    """The smallest honest SimPy model of the queue: seconds, customers served."""
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
    start = time.perf_counter()
    env.process(source(env))
    env.run(until=days * 1440)
    return time.perf_counter() - start, len(waits)


def ciw_queue(days: float, seed: int, servers: int = SERVERS,
              lam_per_hour: float = LAM_PER_HOUR) -> tuple[float, int]:
    import ciw
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam_per_hour / 60.0)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / MEAN_SERVICE)],
        number_of_servers=[servers])
    ciw.seed(seed)
    gc.collect()
    start = time.perf_counter()
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(days * 1440)
    return time.perf_counter() - start, len(sim.get_all_records())


def muster_queue(days: float, seed: int, servers: int = SERVERS,
                 lam_per_hour: float = LAM_PER_HOUR) -> tuple[float, int]:
    loaded = scenario_from_text(textwrap.dedent(f"""
        name: bench-mmc
        horizon: {days}d
        queue:
          arrival_rate: {lam_per_hour}/h
          service: {{exponential: {MEAN_SERVICE}m}}
          servers: {servers}
        """))
    gc.collect()
    start = time.perf_counter()
    results = run(loaded, seed)
    return time.perf_counter() - start, results.arrivals


def interleaved(fns: tuple[Callable[[float, int], tuple[float, int]], ...], days: float,
                repeat: int) -> list[tuple[float, int]]:
    """Best time and first count of each model, runs taken in turn (A B C A B C ...) so that
    a slow spell of a shared machine falls on all of them alike rather than on one."""
    runs: list[list[tuple[float, int]]] = [[] for _ in fns]
    for seed in range(1, repeat + 1):
        for i, fn in enumerate(fns):
            runs[i].append(fn(days, seed))
    return [(min(t for t, _ in r), r[0][1]) for r in runs]


def default_rate(repeat: int) -> tuple[float, int, str]:
    """The best incidents-per-second over `repeat` seeds: (seconds, incidents) of that run."""
    loaded = load_scenario(DEFAULT_SCENARIO)
    runs = []
    for seed in range(1, repeat + 1):
        gc.collect()
        start = time.perf_counter()
        results = run(loaded, seed)
        runs.append((time.perf_counter() - start, results.arrivals))
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


def sweep(days: float, repeat: int) -> None:
    """The queue at the same load (rho = 0.83) with more or fewer servers: how the ratios
    depend on the shape of the queue, each line with about as many customers."""
    print("  by number of servers (same load, about as many customers):")
    for servers in (1, 3, 9, 30):
        lam = LAM_PER_HOUR * servers / SERVERS
        fns = tuple(partial(fn, servers=servers, lam_per_hour=lam)
                    for fn in (handwritten_simpy, muster_queue, ciw_queue))
        (ts, ns), (tm, nm), (tc, nc) = interleaved(fns, days * SERVERS / servers, repeat)
        print(f"  c={servers:<3d} us/customer: SimPy {ts / ns * 1e6:5.1f}  Muster "
              f"{tm / nm * 1e6:5.1f}  Ciw {tc / nc * 1e6:5.1f}   Muster / SimPy {tm / ts:4.2f}x"
              f"  Ciw / Muster {tc / tm:4.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, 100k for memory")
    parser.add_argument("--days", type=float, default=None, help="queue horizon in days")
    parser.add_argument("--sweep", action="store_true",
                        help="also the queue with 1, 3, 9 and 30 servers at the same load")
    args = parser.parse_args(argv)
    days = args.days or (10.0 if args.quick else 40.0)
    repeat = 3 if args.quick else 5
    print(f"M/M/{SERVERS} queue, {LAM_PER_HOUR:g}/h, mean service {MEAN_SERVICE:g} min, "
          f"{days:g} days (best of {repeat})")
    (t_simpy, n_simpy), (t_muster, n_muster), (t_ciw, n_ciw) = interleaved(
        (handwritten_simpy, muster_queue, ciw_queue), days, repeat)
    print(f"  hand-written SimPy {t_simpy:7.2f} s  {n_simpy / t_simpy:>10,.0f} customers/s")
    print(f"  Muster scenario    {t_muster:7.2f} s  {n_muster / t_muster:>10,.0f} incidents/s")
    print(f"  Ciw                {t_ciw:7.2f} s  {n_ciw / t_ciw:>10,.0f} customers/s")
    r1, r2 = t_muster / t_simpy, t_ciw / t_muster
    print(f"  Muster / SimPy     {r1:7.2f}x  (target <= 1.5x) {'OK' if r1 <= 1.5 else 'MISSED'}")
    print(f"  Ciw / Muster       {r2:7.2f}x  (target >= 2x)   {'OK' if r2 >= 2 else 'MISSED'}")
    if args.sweep:
        sweep(days, repeat)
    t_default, n_default, name = default_rate(repeat)
    rate = n_default / t_default
    print(f"default scenario {name}: {n_default:,} incidents in {t_default:.2f} s = "
          f"{rate:,.0f} incidents/s (target >= 10,000) {'OK' if rate >= 10_000 else 'MISSED'}")
    target = 100_000 if args.quick else 1_000_000
    mem = peak_memory(target)
    gib = mem["peak_bytes"] / 2**30
    print(f"memory: {mem['incidents']:,.0f} incidents, {mem['events']:,.0f} events, peak "
          f"{gib:.2f} GiB (target < 2 GB) {'OK' if mem['peak_bytes'] < 2e9 else 'MISSED'}")


if __name__ == "__main__":
    main()

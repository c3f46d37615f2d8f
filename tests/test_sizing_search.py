"""The search against theory and against itself: on stationary textbook queues the answer
is the Erlang C (and, with patience, the Erlang A) answer computed here; the monotone
search agrees with the grid; common random numbers hold across configurations; one seed
gives one answer on every executor, a real Dask LocalCluster included; finished
replications survive Ctrl-C and a rerun resumes from them.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simulation.model.world import run
from simulation.results.metrics import compute
from simulation.scenario.loader import load_scenario, scenario_from_text
from simulation.sizing.cache import CACHE_FILE
from simulation.sizing.executors import DaskRunner, LocalPool, SerialRunner
from simulation.sizing.search import COST_NAMES, TASK_SECONDS, Config, Evaluation, Outcome, _chunks
from simulation.sizing.session import answer, plan_question
from simulation.sizing.spec import parse_vary
from simulation.sizing.variants import configure, with_scenario


def queue(rate_per_hour: float, service: float, servers: int, patience: float | None = None,
          days: float = 1.0) -> str:
    extra = f"\n  patience: {{exponential: {patience}m}}" if patience else ""
    return textwrap.dedent(f"""\
        name: q
        horizon: {days}d
        warmup: 2h
        queue:
          arrival_rate: {rate_per_hour}/h
          service: {{exponential: {service}m}}
          servers: {servers}""") + extra + "\n"


def erlang_c_delay(lam: float, service: float, c: int) -> float:
    """P(wait) of M/M/c (textbook sum); 1 when the queue is unstable."""
    a = lam * service
    if c <= a:
        return 1.0
    head = sum(a ** k / math.factorial(k) for k in range(c))
    tail = a ** c / math.factorial(c) * c / (c - a)
    return tail / (head + tail)


def erlang_a_abandonment(lam: float, service: float, patience: float, c: int) -> float:
    """P(abandon) of M/M/c+M from its birth-death chain: theta E[Q] / lambda."""
    mu, theta = 1 / service, 1 / patience
    p = [1.0]
    for n in range(1, 2000):
        p.append(p[-1] * lam / (min(n, c) * mu + max(n - c, 0) * theta))
    pi = np.array(p) / sum(p)
    return theta * sum(max(n - c, 0) * x for n, x in enumerate(pi)) / lam


def solve(text: str, targets: list[str], varies: list[str], runner=None, out=None,
          **kw) -> Outcome:
    loaded = scenario_from_text(text)
    problem = plan_question(loaded, targets, varies, **kw)
    sizing = answer(problem, runner or SerialRunner(), out)
    assert sizing.outcome is not None
    return sizing.outcome


def level(outcome: Outcome) -> float | None:
    return outcome.answer.config.levels[0] if outcome.answer is not None else None


def test_stationary_queue_answer_is_the_erlang_c_answer() -> None:
    """M/M/c, 60 arrivals an hour, 10-minute service (load 10), target P(wait) <= 35%.
    The answer must be the exact Erlang C answer: 13 servers wait with probability 0.285
    and 12 with 0.449, so one server either way moves the delay probability across the
    target by at least 0.065, far outside what the decided intervals allow."""
    lam, service, alpha = 1.0, 10.0, 0.35
    expected = next(c for c in range(1, 100) if erlang_c_delay(lam, service, c) <= alpha)
    assert erlang_c_delay(lam, service, expected) < alpha - 0.05
    assert erlang_c_delay(lam, service, expected - 1) > alpha + 0.05
    outcome = solve(queue(60, service, 12), [f"delay <= {alpha}"], ["queue.servers=5..30"])
    assert level(outcome) == expected
    below = outcome.evaluations[outcome.answer.config.index - 1]
    assert below.verdict == "fails"
    assert outcome.mode == "monotone search"
    assert sum(1 for e in outcome.evaluations.values() if e.n) <= 6  # a bisection of 26


def test_with_patience_the_answer_is_the_erlang_a_answer() -> None:
    """M/M/c+M, 24 an hour, 10-minute service, 20-minute mean patience, target P(abandon)
    <= 5%: Erlang A asks for 6 servers (abandonment 0.034; 5 servers: 0.078). The simulated
    answer must be exactly that; Erlang C cannot even express the target (nobody abandons).
    A share is judged by a distribution-free confidence sequence, which needs about 3 /
    margin replications to tell 3.4% from 5% (about 200): the cap is raised to 640."""
    lam, service, patience = 0.4, 10.0, 20.0
    expected = next(c for c in range(1, 50)
                    if erlang_a_abandonment(lam, service, patience, c) <= 0.05)
    assert erlang_a_abandonment(lam, service, patience, expected) < 0.04
    assert erlang_a_abandonment(lam, service, patience, expected - 1) > 0.07
    outcome = solve(queue(24, service, 6, patience, days=2), ["abandonment <= 5%"],
                    ["queue.servers=1..15"], cap=640)
    assert level(outcome) == expected


def test_the_monotone_search_agrees_with_the_grid() -> None:
    """Same question both ways: the same answer, far fewer replications searching, and every
    configuration the search settled by monotonicity has the verdict the grid simulated."""
    text = queue(60, 10.0, 12)
    args = (["delay <= 0.35"], ["queue.servers=8..20"])
    searched = solve(text, *args)
    grid = solve(text, *args, grid=True)
    assert grid.mode == "grid" and searched.mode == "monotone search"
    assert level(searched) == level(grid) is not None
    assert searched.replications < grid.replications / 2
    for index, ev in searched.evaluations.items():
        if ev.implied:
            assert ev.verdict == grid.evaluations[index].verdict, ev.config.key
    assert not grid.notes  # the grid found nothing non-monotone


def test_two_resources_search_and_grid_agree(tmp_path: Path) -> None:
    """Staff and stock together (a repair needs one part, restocked one for one with a
    4-hour lead time): the cheapest pair meeting a waiting target and a fill-rate target
    is the same by monotone search over the 2-D grid as by simulating all 12 pairs. The
    load is 4 fitters' worth and 32 parts are used in a lead time: 7 fitters wait 18% of
    the time (6: 37%), and a base stock of 48 fills 99% (36: 66%), so the answer is (7, 48)
    with every neighbour well clear of its target. (The grid starts at 5 fitters and 36
    parts: the lower corners, 4 fitters and 24 parts, fail both targets by far more and
    only cost time to simulate.)"""
    (tmp_path / "repair.yaml").write_text(textwrap.dedent("""\
        name: repair
        title: One repair stage needing a part
        kinds: [repair]
        calendar: {name: "24/7", timezone: UTC, working_hours: "mon-sun 00:00-24:00"}
        sla: {VIP: {}, tier1: {}, tier2: {}}
        roles: {fitter: {description: fits the part}}
        parts: {P1: {name: part, unit_cost: 50}}
        lifecycle:
          initial: fix
          states:
            fix:
              work: {role: fitter, duration: {exponential: 30m}, parts: {P1: {qty: 1, p: 1.0}}}
              outcomes: {fixed: done}
            done: {final: true}
        resources: {priority: [opened], pools: {fitters: {role: fitter, serves: [fix]}}}
        """), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(textwrap.dedent("""\
        name: two
        horizon: 2d
        warmup: 4h
        start: 2026-03-02T00:00:00+00:00
        demand: {base_rate: 8/h}
        mix: {repair: {playbook: repair.yaml, tiers: {tier2: 1}}}
        staffing: {fitters: {roles: [fitter], headcount: 6, wage_per_hour: 30}}
        parts:
          P1: {initial: 40, policy: {type: base_stock, level: 40}, lead_time: 4h}
        messages: {role: null}
        """), encoding="utf-8")
    loaded = load_scenario(tmp_path / "s.yaml")
    targets = ["delay <= 0.28", "stock.P1.fill_rate >= 0.9"]
    varies = ["staffing.fitters.headcount=5..8", "parts.P1.policy.level=36,48,60"]
    searched = answer(plan_question(loaded, targets, varies), SerialRunner(), None).outcome
    grid = answer(plan_question(loaded, targets, varies, grid=True), SerialRunner(),
                  None).outcome
    assert searched.answer is not None and grid.answer is not None
    assert searched.answer.config.levels == grid.answer.config.levels == (7, 48)
    assert searched.replications < grid.replications
    assert len(grid.configs) == 12


def test_common_random_numbers_across_staffing_levels() -> None:
    """One seed, two field crews: the very same customers arrive at the very same minutes,
    and VIP initial-plan attainment is never worse with the bigger crew on any seed."""
    base = load_scenario("defective-batch-surge")
    sc = base.scenario
    short = with_scenario(base, sc.model_copy(update={
        "horizon": type(sc.horizon).parse("5d"), "drain": type(sc.drain).parse("1d")}))
    knob = parse_vary("staffing.现场技术组.headcount=9,16", short)
    small, big = (configure(short, [knob], [v]) for v in (9, 16))
    worse = 0
    for seed in range(1, 6):
        a, b = run(small, seed), run(big, seed)
        assert np.array_equal(a.cases.columns()["opened"], b.cases.columns()["opened"])
        assert np.array_equal(a.cases.columns()["tier"], b.cases.columns()["tier"])
        att_a = compute(a)["sla"]["VIP"]["initial_plan"]["attainment"]
        att_b = compute(b)["sla"]["VIP"]["initial_plan"]["attainment"]
        worse += att_b < att_a
    assert worse == 0


def fingerprint(outcome: Outcome) -> list[tuple]:
    """Everything an evaluation reports, to the last bit (a sum taken in the order results
    came back would differ in its last digits from one executor to another)."""
    def exact(e) -> tuple:
        return (e.n, e.mean, e.sd, e.half_width)
    return [(ev.config.key, ev.n, ev.verdict, tuple(exact(e) for e in ev.estimates.values()),
             exact(ev.cost_estimate()))
            for ev in outcome.evaluations.values() if ev.n]


def test_one_seed_one_answer_on_every_executor_a_real_dask_cluster_included() -> None:
    """The serial runner, a 2-process local pool and a real Dask LocalCluster (started
    here, closed after) give identical evaluations: same configurations simulated, same
    replication counts, the same estimates and costs to the last bit."""
    text = queue(60, 10.0, 12)
    args = (["delay <= 0.35"], ["queue.servers=8..20"])
    serial = solve(text, *args)
    pool = LocalPool(2)
    try:
        local = solve(text, *args, runner=pool)
    finally:
        pool.close()
    dask = DaskRunner(None, workers=2)
    try:
        assert dask.name == "dask LocalCluster" and dask.workers == 2
        on_dask = solve(text, *args, runner=dask)
    finally:
        dask.close()
    assert fingerprint(serial) == fingerprint(local) == fingerprint(on_dask)
    assert level(serial) == level(local) == level(on_dask) == 13


class Interrupting(SerialRunner):
    """A serial runner whose user presses Ctrl-C after `after` tasks."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.left = after

    def collect(self, timeout: float):
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return super().collect(timeout)


def test_ctrl_c_keeps_finished_replications_and_a_rerun_resumes(tmp_path: Path) -> None:
    text = queue(60, 10.0, 12)
    args = (["delay <= 0.35"], ["queue.servers=8..20"])
    full = solve(text, *args)
    assert level(full) == 13  # the Erlang C answer (the first test): a sound baseline
    stopped = solve(text, *args, runner=Interrupting(7), out=tmp_path)
    assert stopped.stopped == "interrupted" and stopped.simulated == 7
    lines = (tmp_path / CACHE_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 7 and all(json.loads(line)["values"] for line in lines)
    resumed = solve(text, *args, out=tmp_path)
    assert resumed.simulated == full.simulated - 7
    assert fingerprint(resumed) == fingerprint(full)
    again = solve(text, *args, out=tmp_path)
    assert again.simulated == 0 and fingerprint(again) == fingerprint(full)
    other_seed = solve(text, *args, out=tmp_path, seed=2)
    assert other_seed.simulated > 0  # another seed is another question


def test_a_time_budget_stops_with_what_is_known() -> None:
    loaded = scenario_from_text(queue(60, 10.0, 12))
    problem = plan_question(loaded, ["delay <= 0.35"], ["queue.servers=8..20"])
    outcome = answer(problem, SerialRunner(), None, budget=0.0).outcome
    assert outcome.stopped == "time budget"
    assert outcome.answer is None


def test_no_feasible_configuration_names_the_target_and_the_closest() -> None:
    from simulation.sizing.output import answer_lines, closest
    outcome = solve(queue(60, 10.0, 12), ["delay <= 0.35"], ["queue.servers=5..11"])
    assert outcome.answer is None
    near, target = closest(outcome)
    assert near.config.levels == (11,) and target.metric == "delay"
    text = "\n".join(answer_lines(outcome))
    assert "No configuration in the range meets every target" in text
    assert "queue.servers=11" in text and "delay" in text


def test_a_target_that_more_staff_does_not_help_forces_the_grid() -> None:
    outcome = solve(queue(60, 10.0, 12), ["delay >= 0.2"], ["queue.servers=12..14"])
    assert outcome.mode == "grid"
    assert any("may not improve with more resources" in n for n in outcome.notes)
    assert level(outcome) == 12  # 12 servers wait 45% of the time, more servers less


@given(st.integers(1, 400), st.integers(1, 16), st.floats(1e-4, 5.0))
def test_a_look_is_split_evenly_over_the_workers(missing: int, workers: int,
                                                 seconds: float) -> None:
    """A look waits for its last task: every replication once, in order, in a multiple of
    the workers (or one replication a task), sizes differing by at most one, none much longer
    than a task should be unless the workers need it."""
    items = list(range(100, 100 + missing))
    chunks = _chunks(items, workers, seconds)
    assert [i for c in chunks for i in c] == items
    sizes = [len(c) for c in chunks]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    assert len(chunks) % workers == 0 or max(sizes) == 1  # else: one a task is the best
    per_task = max(1, math.ceil(TASK_SECONDS / seconds))
    assert max(sizes) <= 2 * per_task or len(chunks) <= workers
    assert _chunks(items, workers, None) == [[i] for i in items]


def test_costs_are_combined_in_replication_order_not_arrival_order() -> None:
    """Workers return replications in any order; the cost estimate must not depend on it
    (floating-point sums do: 1e16 + 1 - 1e16 + 1 is 1 one way and 0 the other)."""
    costs = [1e16, 1.0, -1e16, 1.0, 3.0, 7.5]
    config = Config(0, (1.0,), {"total": 0.0}, "x=1")
    in_order, backwards = Evaluation(config), Evaluation(config)
    for i in range(len(costs)):
        in_order.values[i] = {COST_NAMES[0]: costs[i]}
    for i in reversed(range(len(costs))):
        backwards.values[i] = {COST_NAMES[0]: costs[i]}
    a, b = in_order.cost_estimate(), backwards.cost_estimate()
    assert (a.n, a.mean, a.sd, a.half_width) == (b.n, b.mean, b.sd, b.half_width)

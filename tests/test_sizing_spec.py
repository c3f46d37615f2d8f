"""Sizing questions as written: targets, varies, the metric catalogue, variants and cost.

Every refusal names the nearest valid name; the catalogue matches what a real run
measures; a variant is the scenario with exactly one thing changed; the planned cost equals
the wages a run pays when nothing reactive (overtime, contractors) is unlocked.
"""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from simulation.errors import SimulationError
from simulation.model.world import run
from simulation.results.metrics import compute
from simulation.scenario.loader import QUEUE_POOL, bundled_scenarios, load_scenario, \
    scenario_from_text
from simulation.sizing.measures import catalogue, is_queue_metric, measure, resolve_metric
from simulation.sizing.spec import parse_target, parse_vary
from simulation.sizing.variants import (configure, planned_cost, with_plan, with_scenario)

SURGE = load_scenario("defective-batch-surge")
QUEUE = scenario_from_text(textwrap.dedent("""
    name: q
    horizon: 1d
    queue: {arrival_rate: 30/h, service: {exponential: 10m}, servers: 6}
    """))


def short(loaded, days: float = 1.0):
    """The scenario cut to `days` of arrivals and no drain: a quick run for shape checks."""
    sc = loaded.scenario.model_copy(update={
        "horizon": type(loaded.scenario.horizon).parse(f"{days}d"),
        "drain": type(loaded.scenario.drain).parse("0m"),
        "warmup": type(loaded.scenario.warmup).parse("0m")})
    return with_scenario(loaded, sc)


# -- targets --------------------------------------------------------------------------------

@pytest.mark.parametrize("text,metric,op,threshold", [
    ("VIP.acknowledge.attainment >= 95%", "sla.VIP.acknowledge.attainment", ">=", 0.95),
    ("abandonment <= 0.05", "waiting.all.abandonment", "<=", 0.05),
    ("stock.FLR-OAK-1210.fill_rate >= 0.95", "stock.FLR-OAK-1210.measured.fill_rate", ">=",
     0.95),
    ("asa <= 2h", "waiting.all.asa", "<=", 120.0),
    ("wait.p(>20m) <= 0.2", "wait.p(>20m)", "<=", 0.2),
    ("pool.现场技术组.wait.p(>4小时) ≤ 20%", "pool.现场技术组.wait.p(>4h)", "<=", 0.2),
    ("VIP.delay<=10%", "VIP.delay", "<=", 0.1),
])
def test_targets_read_metric_comparison_and_units(text: str, metric: str, op: str,
                                                  threshold: float) -> None:
    t = parse_target(text, SURGE)
    assert (t.metric, t.op) == (metric, op)
    assert t.threshold == pytest.approx(threshold)


def test_a_tolerance_may_be_given_and_defaults_by_unit() -> None:
    assert parse_target("asa <= 2h ± 5m", SURGE).tolerance == pytest.approx(5.0)
    assert parse_target("abandonment <= 5% +- 0.5%", SURGE).tolerance == pytest.approx(0.005)
    assert parse_target("abandonment <= 5%", SURGE).tolerance == pytest.approx(0.01)
    assert parse_target("asa <= 2h", SURGE).tolerance == pytest.approx(1.2)


@pytest.mark.parametrize("text,expect", [
    ("VIP.acknowlege.attainment >= 95%", "did you mean 'VIP.acknowledge.attainment'?"),
    ("abandonmnet <= 5%", "did you mean 'abandonment'?"),
    ("pool.客服.delay <= 0.1", "did you mean 'pool.客服组.delay'?"),
    ("abandonment <= 2h", "is not a share"),
    ("abandonment <= 5", "a share is between 0 and 1"),
    ("asa <= 95%", "is a time"),
    ("wait.p(>soon) <= 0.1", "cannot read the wait threshold 'soon'"),
    ("VIP.acknowledge.attainment", "write METRIC >= VALUE"),
    ("abandonment <= 5% ± 0", "tolerance must be more than zero"),
])
def test_bad_targets_are_refused_with_the_nearest_name(text: str, expect: str) -> None:
    with pytest.raises(SimulationError) as info:
        parse_target(text, SURGE)
    assert expect in str(info.value)
    assert text in str(info.value)


def test_direction_says_whether_more_resources_help() -> None:
    assert parse_target("VIP.acknowledge.attainment >= 95%", SURGE).monotone
    assert parse_target("abandonment <= 5%", SURGE).monotone
    assert not parse_target("abandonment >= 5%", SURGE).monotone
    assert not parse_target("utilisation.现场技术组 >= 80%", SURGE).monotone


# -- varies ---------------------------------------------------------------------------------

def test_varies_read_ranges_steps_and_lists() -> None:
    assert parse_vary("staffing.现场技术组.headcount=10..13", SURGE).values == (10, 11, 12, 13)
    assert parse_vary("parts.FLR-OAK-1210.initial=2000..10000:4000",
                      SURGE).values == (2000, 6000, 10000)
    assert parse_vary("staffing.现场技术组.overtime_hours_per_day=0,1.5,3",
                      SURGE).values == (0.0, 1.5, 3.0)
    assert parse_vary("queue.servers=3,5,4", QUEUE).values == (3, 4, 5)


@pytest.mark.parametrize("text,expect", [
    ("staffing.现场技术.headcount=10..30", "did you mean 'staffing.现场技术组.headcount'?"),
    ("parts.FLR-OAK-1210.inital=1..3", "did you mean 'parts.FLR-OAK-1210.initial'?"),
    ("staffing.现场技术组.headcount=30..10", "runs backwards"),
    ("staffing.现场技术组.headcount=1.5..3", "whole numbers"),
    ("staffing.现场技术组.headcount=1..3:0", "step must be more than zero"),
    ("staffing.现场技术组.headcount", "write PATH=LOW..HIGH"),
    ("staffing.现场技术组.overtime_hours_per_day=0..20", "between 0 and 12"),
    ("parts.FLR-OAK-1210.policy.S=1..3", "did you mean"),  # an sQ policy has no S
])
def test_bad_varies_are_refused_with_the_nearest_path(text: str, expect: str) -> None:
    with pytest.raises(SimulationError) as info:
        parse_vary(text, SURGE)
    assert expect in str(info.value)


# -- the catalogue against a real run -------------------------------------------------------

@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_every_catalogued_metric_is_measured_by_a_real_run(path) -> None:
    """Each name --list-metrics prints resolves to a number (or None: undefined in this
    run) in a real replication; a name compute() does not produce would come back as a
    missing key, which this test tells apart from None."""
    loaded = short(load_scenario(path))
    results = run(loaded, 3)
    tree = compute(results)
    names = [n.replace("(>T)", "(>20m)") for n in catalogue(loaded)]
    values = measure(results, names)
    for name in names:
        if is_queue_metric(name):
            continue
        node = tree
        rest = name
        while rest:  # keys may contain dots (pool and SKU names): match real keys
            key = next(k for k in sorted(node, key=len, reverse=True)
                       if rest == k or rest.startswith(f"{k}."))
            node, rest = node[key], rest[len(key) + 1:]
        assert node is None or isinstance(node, (int, float)), name
        assert values[name] == (None if node is None else pytest.approx(float(node))), name
    assert resolve_metric("abandonment", loaded) is not None


def test_queue_measures_match_the_waits_in_the_log() -> None:
    results = run(short(QUEUE, 2), 5)
    assigned = results.log.select("assigned")
    waits = assigned["x"]
    got = measure(results, ["delay", "wait.p(>5m)", f"pool.{QUEUE_POOL}.asa"])
    assert got["delay"] == pytest.approx(float((waits > 1e-9).mean()))
    assert got["wait.p(>5m)"] == pytest.approx(float((waits > 5 + 1e-9).mean()))
    assert got[f"pool.{QUEUE_POOL}.asa"] == pytest.approx(float(waits.mean()))


def test_a_customer_who_gives_up_was_delayed_and_not_served_in_time() -> None:
    """With patience: of every wait that ended (served or given up), delay counts the ones
    that waited at all and every one given up; wait.p(>T) every one not served within T."""
    impatient = scenario_from_text(textwrap.dedent("""
        name: q
        horizon: 2d
        queue: {arrival_rate: 40/h, service: {exponential: 10m}, servers: 6,
                patience: {exponential: 5m}}
        """))
    results = run(impatient, 4)
    served = results.log.select("assigned")["x"]
    gave_up = results.log.select("abandoned")["x"]
    assert gave_up.size > 50
    got = measure(results, ["delay", "wait.p(>2m)", "pool.servers.abandonment"])
    total = served.size + gave_up.size
    assert got["delay"] == pytest.approx(((served > 1e-9).sum() + gave_up.size) / total)
    assert got["wait.p(>2m)"] == pytest.approx(((served > 2 + 1e-9).sum() + gave_up.size)
                                               / total)
    assert got["pool.servers.abandonment"] == pytest.approx(gave_up.size / total)


# -- variants -------------------------------------------------------------------------------

def test_with_scenario_rebuilds_staffing_without_reloading_playbooks() -> None:
    sc = QUEUE.scenario
    more = with_scenario(QUEUE, sc.model_copy(update={"queue": sc.queue.model_copy(
        update={"servers": 9})}))
    assert more.staffing[QUEUE_POOL].headcount == 9
    kind = next(iter(QUEUE.playbooks))
    assert more.playbooks[kind] is QUEUE.playbooks[kind]
    assert more.mix == QUEUE.mix
    pools = dict(SURGE.scenario.staffing)
    pools["财务组"] = pools["财务组"].model_copy(update={"wage_per_hour": 99.0})
    changed = with_scenario(SURGE, SURGE.scenario.model_copy(update={"staffing": pools}))
    assert changed.staffing["财务组"].wage_per_hour == 99.0
    assert changed.staffing == dict(changed.scenario.staffing)
    assert all(changed.playbooks[k] is SURGE.playbooks[k] for k in SURGE.playbooks)
    # and it runs: the model reads the effective staffing
    results = run(short(more), 1)
    assert results.pools[QUEUE_POOL]["windows"]["arrivals"]["capacity_minutes"] == \
        pytest.approx(9 * 1440)


def test_a_plan_on_the_textbook_pool_is_kept_when_servers_change() -> None:
    planned = with_plan(QUEUE, QUEUE_POOL, 60, [2] * 24)
    again = configure(planned, [parse_vary("queue.servers=3", planned)], [3])
    assert again.staffing[QUEUE_POOL].plan is not None
    assert again.staffing[QUEUE_POOL].headcount == 3


def test_headcount_scales_every_shift_of_a_pool_on_shifts() -> None:
    knob = parse_vary("staffing.现场技术组.headcount=10", SURGE)
    pool = configure(SURGE, [knob], [10]).staffing["现场技术组"]
    assert [s.headcount for s in pool.shifts] == [10, 7]  # 18 -> 10, 12 -> 6.67 -> 7
    assert configure(SURGE, [knob], [10]).scenario.staffing["现场技术组"] == pool


def test_a_crew_sets_the_grants_and_the_schedule_of_a_contractor_pool() -> None:
    knob = parse_vary("staffing.合作服务商.crew=4", SURGE)
    loaded = configure(SURGE, [knob], [4])
    assert [s.headcount for s in loaded.staffing["合作服务商"].shifts] == [4]
    grants = [u for u in loaded.playbooks["recall"].resources.unlocks
              if u.resource == "contractors"]
    assert grants and all(u.headcount == 0 for u in grants)  # 0: the whole schedule
    assert SURGE.playbooks["recall"].resources.unlocks[2].headcount == 6  # base untouched


def test_an_invalid_policy_level_is_refused() -> None:
    knob = parse_vary("parts.SKIRT-80.policy.s=1600", SURGE)  # S is 1500
    with pytest.raises(SimulationError, match="must be above s"):
        configure(SURGE, [knob], [1600])


def test_planned_wages_equal_the_wages_a_run_pays_with_nothing_unlocked() -> None:
    """With the baseline policy no emergency level unlocks overtime or contractors, so the
    run's wages are exactly the schedule's person-hours times the wages; the planned cost
    computes them from the schedule alone."""
    base = short(SURGE, 3)
    base = with_scenario(base, base.scenario.model_copy(update={
        "policy": "none", "warmup": type(base.scenario.warmup).parse("1d")}))
    knob = parse_vary("staffing.现场技术组.headcount=12", base)
    loaded = configure(base, [knob], [12])
    tree = compute(run(loaded, 2))
    runs = tree["costs"]["measured"]
    overrun = sum(p["measured"]["overrun_minutes"] / 60 * loaded.staffing[n].wage_per_hour
                  for n, p in tree["utilisation"].items() if not loaded.staffing[n].contractor)
    cost = planned_cost(loaded, [knob])
    assert runs["contractors"] == 0.0
    assert cost["wages"] == pytest.approx(runs["wages"], rel=1e-9)
    assert runs["overtime"] == pytest.approx(overrun * 1.5, rel=1e-9)  # only jobs finishing late
    cheaper = planned_cost(configure(base, [knob], [11]), [knob])
    assert cheaper["total"] < cost["total"]


def test_parts_held_cost_grows_with_the_stock_committed() -> None:
    knob = parse_vary("parts.FLR-OAK-1210.initial=2000,20000", SURGE)
    low = planned_cost(configure(SURGE, [knob], [2000]), [knob], holding_rate=0.25)
    high = planned_cost(configure(SURGE, [knob], [20000]), [knob], holding_rate=0.25)
    days = (SURGE.scenario.horizon.wall_minutes + SURGE.scenario.drain.wall_minutes) / 1440
    # 2000 is below the (s, Q) position s + Q = 14000, which is then what is committed
    assert high["parts_held"] - low["parts_held"] == pytest.approx(
        (20000 - 14000) * 45.0 * 0.25 * days / 365)
    assert dataclasses.replace(SURGE).staffing == SURGE.staffing

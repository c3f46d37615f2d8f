"""Metrics of one replication (`simulation.results.metrics`) and their summary over replications
(`simulation.results.replications`).

The metric tests build a small event log and case table by hand, so every expected number is
worked out here from the events themselves, never read back from the code under test. The
replication tests run a tiny textbook queue to check that seeds, not worker counts, decide
the results.
"""

from __future__ import annotations

import json
import math
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest

from incidents.model import SlaTargets, Tier
from incidents.sla import Duration
from simulation.model.eventlog import CaseTable, EventLog
from simulation.scenario.loader import scenario_from_text
from simulation.results.metrics import STOCK_POINTS, compute, stats
from simulation.model.world import Results, run
from simulation.results.replications import replicate, replication_seeds, summarise, t_quantile
from simulation.scenario.model import Costs

C = EventLog.code
VIP, TIER1, TIER2 = 0, 1, 2


def hand_results(charged: str = "ordered", playbook: object | None = None) -> Results:
    """Five cases (case 0 opened during the warmup), with every kind of event metrics read.

    warmup 10, horizon 100, end 200. Counted cases:
      1 VIP   opened 20, closed  80: acknowledged on time after 10 min
      2 VIP   opened 30, closed 130: acknowledgement breached at 45, met late after 30 min
      3 tier1 opened 40, still open: acknowledgement breached at 60, never met
      4 tier2 opened 50, closed 150: acknowledged on time after 20 min
    Case 0 (VIP, opened 0) meets, breaches, escalates, is owed messages and complains: none
    of it may count.
    """
    log, cases = EventLog(), CaseTable()
    n = log.names
    ack, resolve = n("acknowledge"), n("resolve")
    sup, reg, front = n("supervisor"), n("regional_centre"), n("front_line")
    ack_msg, brief = n("ack"), n("briefing")
    customer, management = n("customer"), n("management")
    sku = n("HINGE-01")
    normal, iv = n("normal"), n("IV")
    desk = n("desk")
    for tier, opened, closed in ((VIP, 0, 90), (VIP, 20, 80), (VIP, 30, 130),
                                 (TIER1, 40, None), (TIER2, 50, 150)):
        cid = cases.add(0, tier, opened)
        log.add(opened, C("opened"), cid, 0, tier)
        if closed is not None:
            cases.closed[cid] = closed
    ev = [
        (5, "milestone", 0, ack, 1, 5.0), (8, "breach", 0, resolve, 0, 8.0),
        (30, "milestone", 1, ack, 1, 10.0),
        (45, "breach", 2, ack, 0, 45.0), (60, "milestone", 2, ack, 0, 30.0),
        (60, "breach", 3, ack, 0, 60.0),
        (70, "milestone", 4, ack, 1, 20.0),
        (2, "assigned", 0, desk, ack, 99.0), (35, "assigned", 1, desk, ack, 5.0),
        (50, "assigned", 2, desk, ack, 15.0),
        (6, "escalated", 0, sup, front, 0.0), (31, "escalated", 1, sup, front, 0.0),
        (46, "escalated", 2, sup, front, 0.0), (90, "escalated", 2, reg, sup, 0.0),
        (3, "message_owed", 0, ack_msg, customer, 33.0),
        (25, "message_owed", 1, ack_msg, customer, 55.0),
        (35, "message_owed", 2, ack_msg, customer, 65.0),
        (50, "message_owed", -1, brief, management, 170.0),
        (40, "message_sent", 1, ack_msg, 1, 55.0), (70, "message_sent", 2, ack_msg, 0, 65.0),
        (100, "message_sent", -1, brief, 1, 170.0), (20, "message_sent", 0, ack_msg, 1, 33.0),
        (4, "complaint", 0, 3, 0, 0.0), (50, "complaint", 4, 3, 0, 0.0),
        (10, "stock", -1, sku, -2, 1.0), (20, "stock", -1, sku, -1, 0.0),
        (45, "stock", -1, sku, 5, 5.0),  # a receipt, logged before it fills a backorder of 2
        (45, "parts_wait", 2, sku, 2, 20.0), (60, "stock", -1, sku, -1, 2.0),
        (50, "level", -1, iv, normal, 0.0), (120, "level", -1, normal, iv, 0.0),
        (60, "signal", -1, 3, 2, 0.0), (120, "signal", -1, 2, 1, 0.0),
        (180, "signal", -1, 1, 0, 0.0),
        (7, "abandoned", 0, ack, VIP, 6.0), (55, "abandoned", 3, ack, TIER1, 12.0),
    ]
    for t, kind, case, a, b, x in sorted(ev, key=lambda e: e[0]):
        log.add(t, C(kind), case, a, b, x)
    scenario = SimpleNamespace(name="hand", costs=Costs(
        overtime_premium=0.5, contractor_rate=50.0,
        sla_penalty={Tier.VIP: 100.0, Tier.TIER1: 10.0}, lost_customer={Tier.TIER1: 7.0},
        open_past_deadline={Tier.TIER1: 3.0}, holding_rate=0.5, parts_charged=charged),
        service_level=[Duration.parse("20m"), Duration.parse("10m")])

    def pool(warmup: tuple, arrivals: tuple, drain: tuple) -> dict:
        keys = ("busy_minutes", "on_duty_minutes", "capacity_minutes", "overtime_minutes",
                "overrun_minutes")
        return {w: dict(zip(keys, map(float, v)))
                for w, v in (("warmup", warmup), ("arrivals", arrivals), ("drain", drain))}

    def part(warmup: tuple, arrivals: tuple, drain: tuple) -> dict:
        keys = ("demand_units", "filled_units", "consumed_units", "out_minutes", "transfers",
                "transfer_cost", "ordered_units", "held_unit_minutes")
        return {w: dict(zip(keys, map(float, v)))
                for w, v in (("warmup", warmup), ("arrivals", arrivals), ("drain", drain))}

    return Results(
        scenario=SimpleNamespace(scenario=scenario, playbooks={"repair": playbook}
                                 if playbook is not None else {}), seed=7, log=log,
        cases=cases, kinds=("repair",),
        pools={"desk": {"wage_per_hour": 20.0, "contractor": False, "windows": pool(
                   (10, 20, 20, 0, 0), (200, 300, 280, 40, 20), (100, 140, 120, 20, 20))},
               "temps": {"wage_per_hour": 0.0, "contractor": True, "windows": pool(
                   (0, 0, 0, 0, 0), (0, 80, 80, 0, 0), (0, 40, 40, 0, 0))}},
        stock={"HINGE-01": {"on_hand": 2, "unit_cost": 5.0, "initial": 3, "reorder_point": 1.0,
                            "windows": part((2, 2, 2, 0, 0, 0, 4, 50),
                                            (6, 4, 6, 25, 1, 40, 10, 600),
                                            (4, 4, 3, 0, 0, 0, 5, 300))}},
        horizon=100.0, end=200.0, warmup=10.0, arrivals=5, open_at_end=1)


@pytest.fixture(scope="module")
def m() -> dict:
    return compute(hand_results())


def test_sla_attainment_counts_on_time_against_failed(m: dict) -> None:
    vip = m["sla"]["VIP"]["acknowledge"]
    assert (vip["on_time"], vip["failed"], vip["breached"], vip["judged"]) == (1, 1, 1, 2)
    assert vip["attainment"] == pytest.approx(0.5)
    assert m["sla"]["tier1"]["acknowledge"]["attainment"] == 0.0  # breached, never met
    assert m["sla"]["tier2"]["acknowledge"]["attainment"] == 1.0


def test_warmup_cases_are_not_judged(m: dict) -> None:
    # Case 0's resolve breach is the only resolve event: nothing is left to judge.
    resolve = m["sla"]["VIP"]["resolve"]
    assert (resolve["judged"], resolve["breached"], resolve["attainment"]) == (0, 0, None)


def test_time_to_milestone_statistics(m: dict) -> None:
    # VIP acknowledgements after 10 and 30 minutes; numpy's linear percentiles.
    assert m["times"]["VIP"]["acknowledge"] == {"n": 2, "mean": 20.0, "p50": 20.0,
                                                "p90": 28.0, "p95": 29.0}
    assert m["times"]["tier1"]["acknowledge"]["n"] == 0


def test_stats_of_an_empty_sample_are_none() -> None:
    assert stats(np.array([])) == {"n": 0, "mean": None, "p50": None, "p90": None, "p95": None}


def test_incident_counts(m: dict) -> None:
    inc = m["incidents"]
    assert (inc["opened"], inc["closed"], inc["open_at_end"]) == (4, 3, 1)
    assert inc["abandoned"] == 1                                   # case 3, not case 0
    assert inc["mean_time_in_system"] == pytest.approx((60 + 100 + 100) / 3)
    assert (inc["staff_wait"]["n"], inc["staff_wait"]["mean"]) == (2, 10.0)  # not case 0's 99


def test_littles_law_from_two_measurements(m: dict) -> None:
    """Over [warm-up 10, horizon 100): the backlog sampled inside it (3, at minute 60)
    against the arrival rate (4 cases in 90 minutes) times their mean stay (60, 100, 160
    open until the end at 200, 100)."""
    lit = m["little"]
    assert (lit["L_sampled"], lit["samples"]) == (3.0, 1)
    assert lit["arrival_rate_per_minute"] == pytest.approx(4 / 90)
    assert lit["mean_time_in_system"] == pytest.approx(105.0)
    assert lit["lambda_w"] == pytest.approx(4 / 90 * 105)
    assert lit["gap"] == pytest.approx((3 - 4 / 90 * 105) / (4 / 90 * 105))


def test_waits_abandonment_and_service_level(m: dict) -> None:
    """Counted waits: VIP served after 5 and 15 min; tier 1 gave up after 12 min. Case 0's
    wait of 99 and its abandonment (warm-up) do not count."""
    w = m["waiting"]
    vip, t1, every = w["VIP"], w["tier1"], w["all"]
    assert (vip["offered"], vip["served"], vip["abandoned"], vip["asa"]) == (2, 2, 0, 10.0)
    assert vip["service_level"] == {"10m": 0.5, "20m": 1.0}
    assert (t1["offered"], t1["abandoned"], t1["abandonment"], t1["asa"]) == (1, 1, 1.0, None)
    assert t1["service_level"] == {"10m": 0.0, "20m": 0.0}         # gave up: not served
    assert (t1["cases_abandoned"], t1["case_abandonment"]) == (1, 1.0)
    assert every["abandonment"] == pytest.approx(1 / 3)
    assert every["mean_wait_all"] == pytest.approx((5 + 15 + 12) / 3)
    assert every["service_level"] == {"10m": pytest.approx(1 / 3), "20m": pytest.approx(2 / 3)}
    assert every["case_abandonment"] == pytest.approx(1 / 4)
    assert w["tier2"]["offered"] == 0 and w["tier2"]["abandonment"] is None


def test_backlog_series_from_signals(m: dict) -> None:
    assert m["backlog"] == {"minute": [60.0, 120.0, 180.0], "open": [3, 2, 1],
                            "arrivals": [2, 1, 0], "arrivals_per_hour": [2.0, 1.0, 0.0]}


def test_utilisation_by_window_leaves_the_warmup_out(m: dict) -> None:
    desk = m["utilisation"]["desk"]
    assert desk["arrivals"]["utilisation"] == pytest.approx(200 / 300)
    assert desk["drain"]["utilisation"] == pytest.approx(100 / 140)
    assert desk["measured"]["utilisation"] == pytest.approx(300 / 440)  # not (310 / 460)
    assert desk["measured"]["overrun_minutes"] == 40.0
    assert m["utilisation"]["temps"]["measured"]["utilisation"] == 0.0


def test_stock_fill_rate_and_level_rebuilt_from_movements(m: dict) -> None:
    s = m["stock"]["HINGE-01"]
    assert s["measured"]["fill_rate"] == pytest.approx(0.8)        # 8 of 10, not 10 of 12
    assert s["arrivals"]["fill_rate"] == pytest.approx(4 / 6)
    assert s["measured"]["out_minutes"] == 25.0
    assert s["arrivals"]["out_share"] == pytest.approx(25 / 90)
    # 3 -2 -> 1, -1 -> 0, +5 then 2 to a backorder -> 3, -1 -> 2 (the end total).
    assert s["series"] == {"minute": [0.0, 10.0, 20.0, 45.0, 60.0],
                           "on_hand": [3.0, 1.0, 0.0, 3.0, 2.0]}
    assert s["series"]["on_hand"][-1] == s["on_hand_end"]


def test_long_stock_series_keep_their_dips() -> None:
    r = hand_results()
    code = r.log.names("HINGE-01")
    level = 2  # where the hand-built movements leave it
    for i in range(3 * STOCK_POINTS):  # alternately out and back, every 0.03 minutes
        step = -level if i % 2 == 0 else 3
        level += step
        r.log.add(100 + i * 0.03, C("stock"), -1, code, step, float(level))
    series = compute(r)["stock"]["HINGE-01"]["series"]
    assert len(series["minute"]) <= STOCK_POINTS
    assert min(series["on_hand"][1:]) == 0.0  # the stock-outs survive the reduction


def test_escalations_by_level(m: dict) -> None:
    assert m["escalations"] == {"by_level": {"supervisor": 2, "regional_centre": 1},
                                "total": 3, "cases": 2}


def test_emergency_timeline(m: dict) -> None:
    em = m["emergency"]
    assert em["timeline"] == [{"minute": 50.0, "level": "IV"},
                              {"minute": 120.0, "level": "normal"}]
    assert (em["changes"], em["max_level"], em["max_rank"]) == (2, "IV", 1)
    assert em["minutes_at_level"] == {"normal": 50.0 + 80.0, "IV": 70.0}


def test_communications_per_audience(m: dict) -> None:
    com = m["communications"]
    assert (com["owed"], com["sent"], com["on_time"]) == (3, 3, 2)
    assert com["on_time_share"] == pytest.approx(2 / 3)
    assert com["by_audience"]["customer"] == {"owed": 2, "sent": 2, "on_time": 1,
                                              "unowed": 0, "on_time_share": 0.5}
    assert com["by_audience"]["management"]["on_time_share"] == 1.0


def test_complaints(m: dict) -> None:
    assert m["complaints"] == {"generated": 1, "per_1000_incidents": 250.0}


def test_costs_by_window(m: dict) -> None:
    c = m["costs"]["measured"]
    # scheduled minus overtime, not paid twice: (280 - 40) + (120 - 20) = 340 minutes at 20
    assert c["wages"] == pytest.approx(340 / 60 * 20)
    # overtime 40 + 20 and overrun 20 + 20 minutes at 20 x 1.5
    assert c["overtime"] == pytest.approx(100 / 60 * 20 * 1.5)
    assert c["contractors"] == pytest.approx(120 / 60 * 50)
    assert c["parts"] == pytest.approx((10 + 5) * 5.0)            # charged when ordered
    holding = (600 + 300) / (365 * 1440) * 5.0 * 0.5              # unit-minutes x cost x rate
    assert c["holding"] == pytest.approx(holding)
    assert c["transfers"] == pytest.approx(40.0)
    assert c["sla_penalties_by_tier"] == {"VIP": 100.0, "tier1": 10.0, "tier2": 0.0}
    # case 3 (tier 1) gave up at 55: a lost customer; still open at the end, breached at 60
    assert c["lost_customers"] == 7.0 and c["lost_customers_by_tier"]["tier1"] == 7.0
    assert (c["open_past_deadline"], c["open_past_deadline_cases"]) == (3.0, 1)
    assert m["costs"]["arrivals"]["open_past_deadline"] == 0.0    # booked at the end
    assert c["total"] == pytest.approx(340 / 3 + 50 + 100 + 75 + holding + 40 + 110 + 7 + 3)
    parts = ("wages", "overtime", "contractors", "parts", "holding", "transfers",
             "sla_penalties", "lost_customers", "open_past_deadline")
    assert sum(c[k] for k in parts) == pytest.approx(c["total"])  # every cost is shown
    drain = m["costs"]["drain"]
    assert drain["sla_penalties"] == 0.0 and drain["transfers"] == 0.0
    assert drain["total"] + m["costs"]["arrivals"]["total"] == pytest.approx(c["total"])


def test_parts_charged_when_fitted() -> None:
    c = compute(hand_results("used"))["costs"]["measured"]
    assert c["parts"] == pytest.approx((6 + 3) * 5.0)             # consumed, not ordered


def test_a_lost_customer_misses_every_milestone_it_had_not_met() -> None:
    """With a playbook giving tier 1 time limits for acknowledge and resolve: case 3 gave
    up at 55 with its acknowledgement already breached, so it is judged failed for
    acknowledge (as before) and missed for resolve (never met, never breached); the
    served-only figure leaves it out."""
    pb = SimpleNamespace(
        sla=SlaTargets(VIP={"acknowledge": Duration.parse("1h")},
                       tier1={"acknowledge": Duration.parse("1h"),
                              "resolve": Duration.parse("1d")},
                       tier2={"acknowledge": Duration.parse("1h")}),
        lifecycle=SimpleNamespace(milestones={"acknowledge": "a", "resolve": "r"},
                                  abandon=None),
        escalation=SimpleNamespace(levels=["front_line", "supervisor", "regional_centre"]),
        communications={}, emergency=SimpleNamespace(normal="normal", levels={"IV": None}))
    m = compute(hand_results(playbook=pb))
    resolve = m["sla"]["tier1"]["resolve"]
    assert (resolve["judged"], resolve["lost"], resolve["on_time"]) == (1, 1, 0)
    assert resolve["attainment"] == 0.0 and resolve["attainment_served"] is None
    ack = m["sla"]["tier1"]["acknowledge"]
    assert (ack["judged"], ack["failed"], ack["lost"]) == (1, 1, 0)
    assert m["sla"]["VIP"]["resolve"]["judged"] == 0              # VIP has no resolve limit
    assert (m["incidents"]["lost"], m["incidents"]["lost_by_tier"]["tier1"]) == (1, 1)
    assert m["incidents"]["lost_share"] == pytest.approx(1 / 4)


def test_metrics_are_json(m: dict) -> None:
    assert json.loads(json.dumps(m, allow_nan=False)) == m


# -- summaries ---------------------------------------------------------------------------------

def test_t_quantiles() -> None:
    assert t_quantile(1) == 12.706
    assert t_quantile(4) == 2.776
    assert t_quantile(29) == 2.045
    assert t_quantile(30) == 1.96


def test_summarise_mean_sd_and_confidence_interval() -> None:
    runs = [{"a": {"x": v, "label": f"r{v}", "series": [v, v]}} for v in (1, 2, 3, 4)]
    s = summarise(runs)
    sd = math.sqrt(((1.5 ** 2) * 2 + (0.5 ** 2) * 2) / 3)
    assert s["a"]["x"]["mean"] == 2.5
    assert s["a"]["x"]["sd"] == pytest.approx(sd)
    assert s["a"]["x"]["half_width"] == pytest.approx(3.182 * sd / 2)
    assert s["a"]["x"]["values"] == [1.0, 2.0, 3.0, 4.0]
    assert s["a"]["label"] == "r1" and s["a"]["series"] == [1, 1]  # kept from replication 1


def test_summarise_uses_normal_quantile_from_30_values() -> None:
    s = summarise([{"x": float(v)} for v in range(31)])
    assert s["x"]["half_width"] == pytest.approx(1.96 * s["x"]["sd"] / math.sqrt(31))


def test_summarise_skips_undefined_values() -> None:
    s = summarise([{"x": None}, {"x": 0.5}, {"x": 1.0}, {}])
    assert (s["x"]["n"], s["x"]["mean"]) == (2, 0.75)
    assert s["x"]["values"] == [None, 0.5, 1.0, None]
    one = summarise([{"x": 0.5}])["x"]
    assert (one["mean"], one["sd"], one["half_width"]) == (0.5, None, None)


# -- replications ------------------------------------------------------------------------------

QUEUE = textwrap.dedent("""\
    muster: 1
    name: tiny-queue
    horizon: 2d
    drain: 6h
    warmup: 2h
    queue: {arrival_rate: 5/h, service: {exponential: 10m}, servers: 1}
    """)


def test_replication_seeds_are_spawned_and_distinct() -> None:
    seeds = replication_seeds(3, 4)
    assert seeds == replication_seeds(3, 4) and len(set(seeds)) == 4
    assert seeds[:2] == replication_seeds(3, 2)  # more replications extend, never reshuffle
    assert seeds[0] == int(np.random.SeedSequence(3).spawn(4)[0].generate_state(1)[0])


def test_replicate_is_the_same_with_one_or_two_workers() -> None:
    loaded = scenario_from_text(QUEUE)
    calls: list[tuple[int, int]] = []
    one = replicate(loaded, 11, 3, workers=1, progress=lambda d, t: calls.append((d, t)))
    two = replicate(loaded, 11, 3, workers=2)
    assert one.summary == two.summary
    assert [m["run"]["seed"] for m in one.metrics] == list(replication_seeds(11, 3))
    assert calls[-1] == (3, 3)
    arrivals = one.summary["run"]["arrivals"]["values"]
    assert len(set(arrivals)) > 1  # the replications are not copies of one run
    other = replicate(loaded, 12, 3)
    assert other.summary["run"]["arrivals"]["values"] != arrivals


def test_real_run_is_consistent() -> None:
    """On a real run: the rebuilt stock level ends at the stock total, and nothing judged
    exceeds what was opened."""
    loaded = scenario_from_text(textwrap.dedent("""\
        muster: 1
        name: tiny-repair
        horizon: 1d
        drain: 12h
        warmup: 1h
        demand: {base_rate: 4/h}
        mix:
          repair: {playbook: standard-repair}
        staffing:
          desk: {roles: [agent], headcount: 2, wage_per_hour: 30}
          techs: {roles: [technician], headcount: 2, wage_per_hour: 45}
        parts:
          HINGE-01: {initial: 2, policy: {type: sS, s: 1, S: 4}, lead_time: 6h}
          BOARD-03: {initial: 1, policy: {type: sQ, s: 0, Q: 3}, lead_time: 4h}
        """))
    results = run(loaded, 5)
    m = compute(results)
    inc = m["incidents"]
    for sku, s in m["stock"].items():
        assert s["series"]["on_hand"][-1] == results.stock[sku]["on_hand"], sku
        assert min(s["series"]["on_hand"]) >= 0, sku
    for tier in m["sla"].values():
        for cell in tier.values():
            assert cell["judged"] <= inc["opened"]

"""Bad scenario and playbook input: a located error at the edge, never a crash or a hang.

Each test writes one mistake into a file that is otherwise fine, and checks both the loader
(the package's error, with the line and column of the mistake) and the command line
(`muster simulate FILE` or `muster playbook lint FILE`: exit status 2, `FILE:LINE:COL: error:`
lines, no traceback). Positions are computed from the YAML text, never typed in by hand.
The random mutations of every bundled file are in test_inputs_fuzz.py.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from incidents.source import MAX_DEPTH, DiagnosticError, parse_document
from playbooks.errors import PlaybookError
from playbooks.loader import load_playbook
from simulation.errors import SimulationError
from simulation.scenario.loader import load_scenario, scenario_from_text
from simulation.scenario.model import (MAX_HEADCOUNT, MAX_PEAK_ARRIVALS, MAX_RATE_PER_HOUR,
                                       MAX_RUN_DAYS, MAX_SURGE_FACTOR, MAX_UNITS)
from tests.cli_helpers import run_cli
from tests.conftest import base_playbook, line_of, mutate

LOCATED = re.compile(r"^.+:\d+:\d+: (error|warning): .+$")

QUEUE = textwrap.dedent("""\
    name: q
    horizon: 1d
    queue: {arrival_rate: 10/h, service: {exponential: 15m}, servers: 3}
    """)

# A scenario with every section that holds numbers; loads with no errors.
FULL = textwrap.dedent("""\
    name: full
    horizon: 2d
    drain: 1d
    signal_interval: 1h
    demand:
      base_rate: 2/h
      hourly: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
      weekly: [1, 1, 1, 1, 1, 1, 1]
      surges:
        - {kind: spike, start: 1d, factor: 3, decay: 6h}
        - {kind: step, start: 30h, factor: 2, duration: 2h}
        - {kind: ramp, start: 36h, factor: 2, duration: 2h, hold: 1h}
    mix:
      repair:
        playbook: standard-repair
        tiers: {VIP: 0.05, tier1: 0.25, tier2: 0.70}
        products:
          - {name: door, sku: D-1, share: 2}
        events:
          no_answer: 2d
    staffing:
      service_desk:
        roles: [agent]
        shifts:
          - {days: daily, start: "08:00", end: "20:00", headcount: 3}
        wage_per_hour: 40
      field_technicians:
        roles: [technician]
        headcount: 4
    parts:
      HINGE-01: {initial: 10, policy: {type: sS, s: 5, S: 20}, lead_time: 2d, transfer_cost: 5}
      SEAL-02: {initial: 10, policy: {type: sQ, s: 5, Q: 10}, lead_time: 2d}
      BOARD-03: {initial: 10, policy: {type: base_stock, level: 10}, lead_time: 2d}
    costs:
      overtime_premium: 0.5
      contractor_rate: 60
      sla_penalty: {VIP: 500, tier1: 100, tier2: 50}
    injects:
      - {at: 12h, kind: staff_absence, pool: service_desk, headcount: 1, duration: 4h}
      - {at: 1d, kind: stock_loss, sku: HINGE-01, qty: 5}
      - {at: 20h, kind: demand_spike, factor: 2, duration: 1h}
      - {at: 22h, kind: crm_outage, duration: 1h, slowdown: 2}
    """)


# -- helpers ---------------------------------------------------------------------------------

cli = run_cli


def position(text: str, needle: str, target: str | None = None) -> tuple[int, int]:
    """(line, col) of `target` (default `needle`) on the one line holding `needle`."""
    line = line_of(text, needle)
    return line, text.splitlines()[line - 1].index(target or needle) + 1


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
            where: tuple[int, int], *fragments: str) -> str:
    """`text` as a scenario fails to load, and `muster simulate` exits 2, each with an error
    at `where` whose message holds every fragment. Returns that message."""
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SimulationError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert lines and all(LOCATED.match(line) for line in lines), lines
    prefix = f"{path}:{where[0]}:{where[1]}: error: "
    hits = [line for line in lines if line.startswith(prefix)
            and all(f in line for f in fragments)]
    assert hits, f"no error at {where} with {fragments}:\n" + "\n".join(lines)
    code, out, err = cli(capsys, "simulate", path, "--reps", "1", "--out", tmp_path / "out")
    assert code == 2, out + err
    assert hits[0] in err.splitlines(), err
    assert all(LOCATED.match(line) for line in err.splitlines() if line.strip()), err
    assert not (tmp_path / "out").exists()
    return hits[0]


def lint_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                 where: tuple[int, int], *fragments: str) -> None:
    """`text` as a playbook fails to load, and `muster playbook lint` exits 2, with an error
    at `where` holding every fragment."""
    path = tmp_path / "playbook.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlaybookError) as info:
        load_playbook(path)
    lines = str(info.value).splitlines()
    assert lines and all(LOCATED.match(line) for line in lines), lines
    prefix = f"{path}:{where[0]}:{where[1]}: error: "
    assert any(line.startswith(prefix) and all(f in line for f in fragments)
               for line in lines), f"no error at {where} with {fragments}:\n" + "\n".join(lines)
    code, out, err = cli(capsys, "playbook", "lint", path)
    assert code == 2, out + err
    assert any(line.startswith(prefix) for line in out.splitlines()), out


def test_the_bases_load(tmp_path: Path) -> None:
    scenario_from_text(QUEUE, "q.yaml", base=tmp_path)
    loaded = scenario_from_text(FULL, "full.yaml", base=tmp_path)
    assert not loaded.warnings, loaded.warnings
    load_playbook(_write(tmp_path, base_playbook(extra=True)))


def _write(tmp_path: Path, text: str, name: str = "playbook.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- 1. infinity and NaN ---------------------------------------------------------------------

@pytest.mark.parametrize("old, new, target", [
    ("arrival_rate: 10/h", "arrival_rate: .inf", ".inf"),
    ("arrival_rate: 10/h", "arrival_rate: .nan", ".nan"),
    ("arrival_rate: 10/h", "arrival_rate: -.inf", "-.inf"),
])
def test_queue_rate_must_be_finite(tmp_path: Path, capsys, old: str, new: str,
                                   target: str) -> None:
    text = mutate(QUEUE, old, new)
    refused(tmp_path, capsys, text, position(text, "queue:", target), "queue.arrival_rate",
            "finite")


@pytest.mark.parametrize("old, new, needle, target, path", [
    ("base_rate: 2/h", "base_rate: .inf", "base_rate", ".inf", "demand.base_rate"),
    ("hourly: [1,", "hourly: [.nan,", "hourly:", ".nan", "demand.hourly.0"),
    ("weekly: [1, 1, 1,", "weekly: [1, 1, -.inf,", "weekly:", "-.inf", "demand.weekly.2"),
    ("factor: 3,", "factor: .nan,", "kind: spike", ".nan", "demand.surges.0.factor"),
    ("tier1: 0.25, tier2", "tier1: .nan, tier2", "tiers:", ".nan", "mix.repair.tiers.tier1"),
    ("share: 2}", "share: .inf}", "name: door", ".inf", "mix.repair.products.0.share"),
    ("overtime_premium: 0.5", "overtime_premium: .nan", "overtime_premium", ".nan",
     "costs.overtime_premium"),
    ("slowdown: 2}", "slowdown: .inf}", "kind: crm_outage", ".inf", "injects.3.slowdown"),
    ("factor: 2, duration: 1h}", "factor: .inf, duration: 1h}", "kind: demand_spike", ".inf",
     "injects.2.factor"),
])
def test_scenario_floats_must_be_finite(tmp_path: Path, capsys, old: str, new: str, needle: str,
                                        target: str, path: str) -> None:
    text = mutate(FULL, old, new)
    refused(tmp_path, capsys, text, position(text, needle, target), path, "finite")


@pytest.mark.parametrize("old, new, needle, target", [
    ("above: 50}", "above: .nan}", "above:", ".nan"),
    ("below: 20}", "below: -.inf}", "below:", "-.inf"),
    ("hours_per_day: 2}", "hours_per_day: .nan}", "hours_per_day", ".nan"),
    ("HINGE-01: {name: Cabinet hinge}", "HINGE-01: {name: Cabinet hinge, unit_cost: .inf}",
     "unit_cost", ".inf"),
    ("fixed: {to: closed, p: 0.8}", "fixed: {to: closed, p: .nan}", "fixed: {to", ".nan"),
    ("parts: {HINGE-01: 0.5}", "parts: {HINGE-01: {p: .nan}}", "parts: {HINGE", ".nan"),
])
def test_playbook_floats_must_be_finite(tmp_path: Path, capsys, old: str, new: str, needle: str,
                                        target: str) -> None:
    text = mutate(base_playbook(extra=True), old, new)
    lint_refused(tmp_path, capsys, text, position(text, needle, target), "finite")


def test_a_range_bound_may_be_a_huge_integer(tmp_path: Path) -> None:
    text = mutate(base_playbook(), "        route: repair", "        route: [{to: repair, when: "
                  f"{{affected_customers: {{min: {'9' * 400}}}}}}}, {{to: closed}}]")
    assert load_playbook(_write(tmp_path, text)).name == "mini"


@pytest.mark.parametrize("condition, fragment", [
    ("{affected_customers: {min: .nan}}", "range bound must be a finite number"),
    ("{affected_customers: {max: abc}}", "range bound must be a finite number"),
    ("{customer: [[a]]}", "not a list inside a list"),
    ("{affected_customers: [.inf]}", "not a finite number"),
    ("{affected_customers: {min: true}}", "range bound must be a finite number"),
])
def test_conditions_hold_only_values_a_predicate_can_use(tmp_path: Path, capsys, condition: str,
                                                          fragment: str) -> None:
    text = mutate(base_playbook(), "        route: repair",
                  f"        route: [{{to: repair, when: {condition}}}, {{to: closed}}]")
    lint_refused(tmp_path, capsys, text, position(text, "route: [", condition), fragment)


# -- 2. costs are finite and not negative ----------------------------------------------------

@pytest.mark.parametrize("old, new, needle, target, fragment", [
    ("wage_per_hour: 40", "wage_per_hour: .inf", "wage_per_hour", ".inf", "finite"),
    ("VIP: 500,", "VIP: .nan,", "sla_penalty", ".nan", "finite"),
    ("tier1: 100,", "tier1: -100,", "sla_penalty", "-100", "greater than or equal to 0"),
    ("contractor_rate: 60", "contractor_rate: 1e308", "contractor_rate", "1e308",
     "less than or equal to 1000000000"),
    ("transfer_cost: 5}", "transfer_cost: -5}", "transfer_cost", "-5", "greater than or equal"),
])
def test_costs_are_finite_and_not_negative(tmp_path: Path, capsys, old: str, new: str,
                                           needle: str, target: str, fragment: str) -> None:
    text = mutate(FULL, old, new)
    refused(tmp_path, capsys, text, position(text, needle, target), fragment)


# -- 3. surges that divide by zero or last no time -------------------------------------------

@pytest.mark.parametrize("zero", ["0m", "1e-300"])
@pytest.mark.parametrize("old, new, needle, fragment", [
    ("decay: 6h}", "decay: ZERO}", "kind: spike",
     "demand.surges.0.decay: a spike's decay must be at least 1 second"),
    ("duration: 2h}", "duration: ZERO}", "kind: step",
     "demand.surges.1.duration: a step surge's duration must be at least 1 second"),
    ("duration: 2h, hold", "duration: ZERO, hold", "kind: ramp",
     "demand.surges.2.duration: a ramp surge's duration must be at least 1 second"),
    ("factor: 2, duration: 1h}", "factor: 2, duration: ZERO}", "kind: demand_spike",
     "injects.2.duration: a demand_spike inject needs a duration of at least 1 second"),
])
def test_surges_need_time(tmp_path: Path, capsys, old: str, new: str, needle: str,
                          fragment: str, zero: str) -> None:
    """Zero divides by zero; next to nothing overflows the same division. Located at the
    value itself, with the field named."""
    text = mutate(FULL, old, new.replace("ZERO", zero))
    refused(tmp_path, capsys, text, position(text, needle, zero), fragment)
    assert scenario_from_text(mutate(FULL, old, new.replace("ZERO", "1s")), "ok.yaml")


# -- 4. limits that name the option ----------------------------------------------------------

def test_huge_horizon_is_refused_naming_the_limit(tmp_path: Path, capsys) -> None:
    text = mutate(QUEUE, "horizon: 1d", "horizon: 100000d")
    refused(tmp_path, capsys, text, position(text, "horizon:", "100000d"), "horizon:",
            f"limit of {MAX_RUN_DAYS} days")


def test_horizon_and_drain_together_are_limited(tmp_path: Path, capsys) -> None:
    text = mutate(FULL, "drain: 1d", f"drain: {MAX_RUN_DAYS - 1}d")
    refused(tmp_path, capsys, text, position(text, "horizon:", "2d"), "horizon: horizon + drain",
            f"limit of {MAX_RUN_DAYS} days")
    ok = mutate(FULL, "drain: 1d", f"drain: {MAX_RUN_DAYS - 2}d")
    assert scenario_from_text(ok, "ok.yaml").scenario.drain.wall_minutes > 0


def test_signal_interval_at_least_a_minute(tmp_path: Path, capsys) -> None:
    text = mutate(FULL, "signal_interval: 1h", "signal_interval: 0.001m")
    refused(tmp_path, capsys, text, position(text, "signal_interval", "0.001m"),
            "signal_interval: must be at least 1 minute")
    assert scenario_from_text(mutate(FULL, "signal_interval: 1h", "signal_interval: 60s"),
                              "ok.yaml").scenario.signal_interval.wall_minutes == 1


@pytest.mark.parametrize("text, old, new, needle, target, fragment", [
    (FULL, "base_rate: 2/h", "base_rate: 100001", "base_rate", "100001",
     f"more than the limit of {MAX_RATE_PER_HOUR:,.0f} per hour"),
    (FULL, "base_rate: 2/h", "base_rate: 2000/min", "base_rate", "2000/min",
     "120000 arrivals per hour is more than the limit"),
    (QUEUE, "arrival_rate: 10/h", "arrival_rate: 3000000/d", "queue:", "3000000/d",
     "queue.arrival_rate: 125000 arrivals per hour"),
    (FULL, "factor: 3,", f"factor: {MAX_SURGE_FACTOR + 1:g},", "kind: spike", "1001",
     "less than or equal to 1000"),
    (FULL, "factor: 2, duration: 1h}", "factor: 1001, duration: 1h}", "kind: demand_spike",
     "1001", "injects.2.factor"),
    (FULL, "headcount: 4", f"headcount: {MAX_HEADCOUNT + 1}", "headcount: 1000", "1000",
     "less than or equal to 100000"),
    (FULL, "headcount: 3}", "headcount: 100001}", "headcount: 100001", "100001",
     "staffing.service_desk.shifts.0.headcount"),
    (QUEUE, "servers: 3", "servers: 100001", "queue:", "100001", "queue.servers"),
    (FULL, "{initial: 10, policy: {type: sS", f"{{initial: {MAX_UNITS + 1}, policy: {{type: sS",
     "HINGE-01:", "1000000001", "parts.HINGE-01.initial"),
    (FULL, "s: 5, S: 20", "s: 5, S: 10000000000", "HINGE-01:", "10000000000",
     "parts.HINGE-01.policy.S"),
    (FULL, "Q: 10}", "Q: 99999999999999999999}", "SEAL-02:", "99999999999999999999",
     "parts.SEAL-02.policy.Q"),
    (FULL, "level: 10}", "level: 1e10}", "BOARD-03:", "1e10", "policy.level"),
    (FULL, "qty: 5}", "qty: 1000000001}", "kind: stock_loss", "1000000001", "injects.1.qty"),
    (FULL, "headcount: 1, duration: 4h}", "headcount: 100001, duration: 4h}",
     "kind: staff_absence", "100001", "injects.0.headcount"),
    (FULL, "slowdown: 2}", "slowdown: 1001}", "kind: crm_outage", "1001", "injects.3.slowdown"),
    (FULL, "share: 2}", "share: 1e7}", "name: door", "1e7", "products.0.share"),
    (FULL, "wage_per_hour: 40", "wage_per_hour: 1e10", "wage_per_hour", "1e10",
     "less than or equal to 1000000000"),
])
def test_limits_are_refused_at_the_value(tmp_path: Path, capsys, text: str, old: str, new: str,
                                         needle: str, target: str, fragment: str) -> None:
    text = mutate(text, old, new)
    refused(tmp_path, capsys, text, position(text, needle, target), fragment)


def test_a_rate_with_hundreds_of_digits_is_refused(tmp_path: Path, capsys) -> None:
    huge = "9" * 400  # YAML reads an int; float() of it overflows
    text = mutate(FULL, "base_rate: 2/h", f"base_rate: {huge}")
    refused(tmp_path, capsys, text, position(text, "base_rate", huge),
            "demand.base_rate: the rate is more than the limit of 100,000 per hour")


def test_replay_window_is_limited(tmp_path: Path, capsys) -> None:
    text = mutate(FULL, "  base_rate: 2/h\n", "  replay: {file: log.csv, days: 1e308}\n")
    refused(tmp_path, capsys, text, position(text, "replay:", "1e308"), "demand.replay.days",
            f"less than or equal to {MAX_RUN_DAYS}")


def test_peak_demand_over_the_horizon_is_limited(tmp_path: Path, capsys) -> None:
    """Each figure is in range, but every surge at once over the horizon is far too much."""
    text = mutate(FULL, "base_rate: 2/h", "base_rate: 100000")
    text = mutate(text, "horizon: 2d", "horizon: 3000d")
    message = refused(tmp_path, capsys, text, position(text, "base_rate", "100000"),
                      "demand.base_rate: at its peak", f"the limit is {MAX_PEAK_ARRIVALS:,}")
    assert "2,400,000 arrivals per hour" in message  # 100000 x 3 x 2 x 2 x 2 (the spike)


def test_the_peak_check_leaves_the_other_checks_alone(tmp_path: Path) -> None:
    text = mutate(FULL, "drain: 1d", "drain: 1d\nwarmup: 3d")
    loaded = scenario_from_text(text, "warm.yaml", base=tmp_path)
    assert [d.message for d in loaded.warnings] == [
        "warmup (3d) covers the whole horizon (2d): no incident would be measured"]


def test_start_must_be_a_sane_year(tmp_path: Path, capsys) -> None:
    text = "start: 9999-12-31T00:00:00+00:00\n" + QUEUE
    refused(tmp_path, capsys, text, position(text, "start:", "9999"),
            "start must be in the years 1900 to 2999")


def test_replay_start_must_be_a_sane_year(tmp_path: Path, capsys) -> None:
    text = mutate(FULL, "  base_rate: 2/h\n",
                  "  replay: {file: log.csv, start: 9999-12-30T00:00:00+00:00}\n")
    refused(tmp_path, capsys, text, position(text, "replay:", "9999"),
            "demand.replay.start: start must be in the years 1900 to 2999, got 9999")


def test_durations_are_limited_everywhere(tmp_path: Path, capsys) -> None:
    text = mutate(FULL, "no_answer: 2d", "no_answer: 3661d")
    refused(tmp_path, capsys, text, position(text, "no_answer", "3661d"),
            "mix.repair.events.no_answer", "at most 3660 days")
    pb = mutate(base_playbook(), "{after: 2h, fire: timeout}",
                "{after: 99999 working days, fire: timeout}")
    lint_refused(tmp_path, capsys, pb, position(pb, "fire: timeout", "99999"),
                 "limit of 3660 days")


def test_message_repeats_at_most_every_minute(tmp_path: Path, capsys) -> None:
    pb = mutate(base_playbook(extra=True), "    on: {enter: triage}\n",
                "    on: {enter: triage}\n    repeat: {every: 0m, until: closed}\n")
    lint_refused(tmp_path, capsys, pb, position(pb, "repeat:", "0m"),
                 "cannot repeat more often than every 1 minute")


@pytest.mark.parametrize("field, value", [("count", "1000001"), ("qty", "10000000000"),
                                          ("headcount", "100001")])
def test_playbook_counts_are_limited(tmp_path: Path, capsys, field: str, value: str) -> None:
    pb = base_playbook(extra=True)
    if field == "count":
        pb = mutate(pb, "late: {after: 4h, to: supervisor}",
                    f"late: {{on_trigger: taken, count: {value}, to: supervisor}}")
    elif field == "qty":
        pb = mutate(pb, "parts: {HINGE-01: 0.5}", f"parts: {{HINGE-01: {{qty: {value}}}}}")
    else:
        pb = mutate(pb, "hours_per_day: 2}", f"hours_per_day: 2, headcount: {value}}}")
    lint_refused(tmp_path, capsys, pb, position(pb, f"{field}: {value}", value),
                 "less than or equal to")


def test_a_cycle_that_takes_no_time_is_refused(tmp_path: Path, capsys) -> None:
    """Timers or events of no length between two states would loop forever at one instant."""
    pb = textwrap.dedent("""\
        name: loop
        lifecycle:
          initial: a
          events: [go, back]
          states:
            a:
              on: {go: b}
            b:
              on: {back: a, tick: done}
              timers: [{after: 1d, fire: tick}]
            done: {final: true}
        """)
    _write(tmp_path, pb, "loop.yaml")
    text = textwrap.dedent("""\
        name: loop
        horizon: 1d
        messages: {role: null}
        mix: {looping: {playbook: loop.yaml, events: {go: 0m, back: 0.5s}}}
        """)
    refused(tmp_path, capsys, text, position(text, "mix:", "looping"),
            "cases could go round states a -> b -> a", "without the clock moving")
    ok = text.replace("back: 0.5s", "back: 5s")
    assert scenario_from_text(ok, str(tmp_path / "ok.yaml")).scenario.name == "loop"


# -- 5. deep nesting -------------------------------------------------------------------------

def _deep_values(depth: int) -> dict[str, tuple[str, str]]:
    """Ways to nest `depth` levels as the value of `name` (text, the first character of the
    level that goes past MAX_DEPTH, counting the document's mapping as level 1)."""
    inner = " " * (depth + 2)
    return {
        "flow lists": ("[" * depth + "]" * depth, "["),
        "flow mappings": ("{a: " * depth + "1" + "}" * depth, "{"),
        "block mappings": ("\n" + "".join(" " * (i + 2) + "a:\n" for i in range(depth))
                           + inner + "1", "a"),
        "block lists": ("\n" + "".join(" " * (i + 2) + "-\n" for i in range(depth))
                        + inner + "1", "-"),
    }


def _deep_position(text: str, opener: str) -> tuple[int, int]:
    """Where the (MAX_DEPTH + 1)-th level opens in `text` (one level per opener)."""
    levels = 1
    for n, line in enumerate(text.splitlines(), start=1):
        for col, char in enumerate(line, start=1):
            if line[col - 1:].startswith(opener) and (opener != "a" or line[col:col + 1] == ":"):
                levels += 1
                if levels > MAX_DEPTH:
                    return n, col
    raise AssertionError("not deep enough")


@pytest.mark.parametrize("style", list(_deep_values(1)))
def test_deep_nesting_in_a_scenario_is_a_located_error(tmp_path: Path, capsys,
                                                       style: str) -> None:
    value, opener = _deep_values(400)[style]
    text = mutate(QUEUE, "name: q", f"name: {value}")
    refused(tmp_path, capsys, text, _deep_position(text, opener),
            f"nested more than {MAX_DEPTH} levels deep", f"the limit is {MAX_DEPTH}")


@pytest.mark.parametrize("style", list(_deep_values(1)))
def test_deep_nesting_in_a_playbook_is_a_located_error(tmp_path: Path, capsys,
                                                       style: str) -> None:
    value, opener = _deep_values(400)[style]
    text = mutate(base_playbook(), "title: Minimal test playbook", f"title: {value}")
    lint_refused(tmp_path, capsys, text, _deep_position(text, opener),
                 f"nested more than {MAX_DEPTH} levels deep")


@pytest.mark.parametrize("style", list(_deep_values(1)))
def test_nesting_up_to_the_limit_is_read(style: str) -> None:
    value, _ = _deep_values(MAX_DEPTH - 1)[style]
    data = parse_document(f"name: {value}\n", "ok.yaml").data
    depth, node = 1, data["name"]
    while isinstance(node, (list, dict)):
        depth += 1
        if not node:
            break
        node = node[0] if isinstance(node, list) else node["a"]
    assert depth == MAX_DEPTH
    value, opener = _deep_values(MAX_DEPTH)[style]
    with pytest.raises(DiagnosticError, match=f"the limit is {MAX_DEPTH}"):
        parse_document(f"name: {value}\n", "deep.yaml")


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_very_deep_nesting_is_refused_without_recursing(depth: int) -> None:
    with pytest.raises(DiagnosticError) as info:
        parse_document("a: " + "[" * depth + "]" * depth + "\n", "deep.yaml")
    assert str(info.value).startswith(f"deep.yaml:1:{4 + MAX_DEPTH - 1}: error: values nested")


def test_aliases_cannot_stack_nesting_past_the_limit() -> None:
    text = "x0: &a0 [1]\n" + "".join(f"x{i}: &a{i} [[[[[[[[[[*a{i - 1}]]]]]]]]]]\n"
                                   for i in range(1, 100))
    with pytest.raises(DiagnosticError) as info:
        parse_document(text, "alias.yaml")
    first = info.value.diagnostics[0]
    assert "counting what aliases (*) repeat" in first.message
    assert first.line < 10


def test_a_long_chain_of_merge_keys_does_not_recurse() -> None:
    """Each anchor merges the one before; the value holding the chain is never built (a
    duplicate key), so the merge at the end flattens the whole chain at once."""
    text = "x0: &a0 {k: 1}\n" + "".join(f"x: &a{i} {{<<: *a{i - 1}}}\n" for i in range(1, 2000))
    text += "y: {<<: *a1999}\n"
    with pytest.raises(DiagnosticError) as info:
        parse_document(text, "merge.yaml")
    assert all("duplicate key 'x'" in d.message for d in info.value.diagnostics)


# -- 6. broken files stay located ------------------------------------------------------------

@pytest.mark.parametrize("content, where, fragment", [
    (QUEUE[:QUEUE.index("service")], (3, len("queue: {arrival_rate: 10/h, ") + 1),
     "invalid YAML"),
    (b"\x00\x01\x02\xff binary", (1, 1), "binary file"),
    (b"name: caf\xe9\nhorizon: 1d\n", (1, 1), "not valid UTF-8"),
    (mutate(QUEUE, "horizon:", "horizn:"), (2, 1), "did you mean 'horizon'"),
], ids=["truncated", "binary", "latin1", "misspelt"])
def test_broken_files_give_located_errors(tmp_path: Path, capsys, content: str | bytes,
                                          where: tuple[int, int], fragment: str) -> None:
    path = tmp_path / "scenario.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SimulationError) as info:
        load_scenario(path)
    prefix = f"{path}:{where[0]}:{where[1]}: error: "
    assert any(line.startswith(prefix) and fragment in line
               for line in str(info.value).splitlines()), str(info.value)
    code, _, err = cli(capsys, "simulate", path, "--out", tmp_path / "out")
    assert code == 2 and any(line.startswith(prefix) for line in err.splitlines()), err
    assert all(LOCATED.match(line) for line in err.splitlines()), err


def test_a_line_break_inside_a_message_stays_on_one_line(tmp_path: Path, capsys) -> None:
    text = QUEUE + '"bad\\nkey\\u2028here": 1\n'
    message = refused(tmp_path, capsys, text, position(text, '"bad'), "unknown key")
    assert "bad\\nkey\\u2028here" in message

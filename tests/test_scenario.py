"""Scenario loading (`simulation/loader.py`) and cross-reference checks (`scenario_check.py`).

Every check starts from BASE, a small scenario that loads with no errors and no warnings, and
changes ONE thing, so the finding it expects can only come from that change. Expected lines
and columns are computed from the YAML text, never typed in by hand.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from incidents.model import Tier
from incidents.source import Diagnostic
from simulation.errors import SimulationError
from simulation.scenario.loader import (DEFAULT_SCENARIO, LoadedScenario, bundled_scenarios,
                               load_scenario, queue_playbook, resolve_scenario,
                               scenario_from_text, scenarios_dir)
from simulation.scenario.model import Queue
from tests.conftest import base_playbook, col_of, finding, line_of, mutate

BASE = textwrap.dedent("""\
    name: mini
    horizon: 2d
    demand:
      base_rate: 2/h
      surges:
        - {kind: step, start: 1d, factor: 2, duration: 6h}
    mix:
      repair:
        playbook: standard-repair
        events:
          no_answer: 2d
    staffing:
      service_desk:
        roles: [agent]
        shifts:
          - {days: mon-fri, start: "09:00", end: "18:00", headcount: 3}
      field_technicians:
        roles: [technician]
        headcount: 4
    parts:
      HINGE-01: {initial: 10}
      SEAL-02: {initial: 10}
      BOARD-03: {initial: 10}
    injects:
      - {at: 12h, kind: staff_absence, pool: service_desk, headcount: 1, duration: 4h}
      - {at: 1d, kind: stock_loss, sku: HINGE-01, qty: 5}
    """)


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def findings(tmp_path: Path, text: str) -> list[Diagnostic]:
    """Every error of a scenario that fails, or every warning of one that loads."""
    path = write(tmp_path, text)
    try:
        return list(load_scenario(path).warnings)
    except SimulationError as exc:
        assert exc.diagnostics, "a SimulationError without diagnostics is not located"
        return exc.diagnostics


def at(d: Diagnostic, text: str, needle: str, col_needle: str | None = None) -> None:
    """`d` is located on the line holding `needle` (and at `col_needle` on it, if given)."""
    assert d.line == line_of(text, needle), str(d)
    if col_needle is not None:
        line = text.splitlines()[d.line - 1]
        assert d.col == line.index(col_needle) + 1, str(d)


# -- the base and the bundled scenarios ------------------------------------------------------

def test_base_loads_clean(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, BASE))
    assert loaded.warnings == ()
    assert set(loaded.playbooks) == {"repair"}
    assert loaded.playbooks["repair"].name == "standard-repair"
    assert loaded.calendar == loaded.playbooks["repair"].calendar
    assert loaded.replay is None
    assert loaded.path == tmp_path / "scenario.yaml"


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_bundled_scenario_loads_with_no_errors_and_no_warnings(path: Path) -> None:
    loaded = load_scenario(path)
    assert loaded.warnings == ()
    assert loaded.scenario.name == path.stem


def test_bundled_scenarios_are_the_promised_ones() -> None:
    stems = {p.stem for p in bundled_scenarios()}
    assert {"normal-week", "defective-batch-surge", "regional-storm", "parts-shortage",
            "textbook-mmc"} <= stems
    assert DEFAULT_SCENARIO in stems


@pytest.mark.parametrize("scenario, playbook", [
    ("normal-week", "standard-repair"), ("defective-batch-surge", "defective-batch-recall"),
    ("regional-storm", "storm-flood-surge"), ("parts-shortage", "parts-shortage")])
def test_bundled_scenario_uses_its_playbook_first(scenario: str, playbook: str) -> None:
    # The first mix playbook runs the emergency levels, so it must be the matching one.
    loaded = load_scenario(scenario)
    assert next(iter(loaded.playbooks.values())).name == playbook


def test_default_scenario_is_a_normal_week_of_realistic_size() -> None:
    from zoneinfo import ZoneInfo

    import numpy as np

    from simulation.model.arrivals import expected_arrivals, rate_at
    loaded = load_scenario(DEFAULT_SCENARIO)
    sc = loaded.scenario
    zone = ZoneInfo(loaded.calendar.timezone)
    week = sc.horizon.wall_minutes
    assert 1000 <= expected_arrivals(sc.demand, week, sc.start, zone) <= 1500
    peak = rate_at(sc.demand, np.arange(0.0, week, 10.0), sc.start, zone).max()
    assert 8 <= peak <= 15
    assert {e.playbook for e in loaded.mix.values()} == {"standard-repair", "vip-complaint"}
    assert sc.complaints.probability == pytest.approx(0.2)
    assert loaded.calendar.timezone == "Asia/Shanghai"


def test_resolve_bundled_by_stem_and_unknown_name_suggests() -> None:
    assert resolve_scenario("normal-week") == scenarios_dir() / "normal-week.yaml"
    with pytest.raises(SimulationError) as info:
        resolve_scenario("normal-weak")
    assert "did you mean 'normal-week'" in str(info.value)
    assert info.value.diagnostics[0].line == 1


def test_scenario_from_text_matches_the_file(tmp_path: Path) -> None:
    loaded = scenario_from_text(BASE, "inline.yaml", base=tmp_path)
    assert isinstance(loaded, LoadedScenario)
    assert loaded.path is None
    assert loaded.mix.keys() == {"repair"}
    with pytest.raises(SimulationError) as info:
        scenario_from_text(mutate(BASE, "horizon: 2d", "horizon: 0h"), "inline.yaml")
    assert str(info.value).startswith(f"inline.yaml:{line_of(BASE, 'horizon:')}:")


# -- structure errors are located ------------------------------------------------------------

@pytest.mark.parametrize("old, new, needle, fragment", [
    ("horizon: 2d", "horizon: 0h", "horizon:", "horizon: must be longer than zero"),
    ("horizon: 2d", "horizon: 2 working days", "horizon:", "wall-clock"),
    ("base_rate: 2/h", "base_rate: -2", "base_rate:", "greater than or equal to 0"),
    ("base_rate: 2/h", "base_rate: lots", "base_rate:", "cannot read rate"),
    ("headcount: 4", "headcount: many", "headcount: many", "integer"),
    ("{initial: 10}\n  SEAL", "{initial: -1}\n  SEAL", "initial: -1", "greater than or equal"),
    ("  field_technicians:\n    roles", "  field_technicians:\n    rolez", "rolez",
     "did you mean 'roles'"),
])
def test_schema_errors_come_out_located(tmp_path: Path, old: str, new: str, needle: str,
                                        fragment: str) -> None:
    text = BASE.replace(old, new, 1)
    assert text != BASE
    d = finding(findings(tmp_path, text), fragment)
    at(d, text, needle)


def test_queue_with_mix_is_located_at_queue(tmp_path: Path) -> None:
    text = BASE + "queue: {arrival_rate: 1, service: 5m, servers: 1}\n"
    d = finding(findings(tmp_path, text), "no mix or staffing")
    at(d, text, "queue:", "{arrival_rate")


def test_not_a_mapping(tmp_path: Path) -> None:
    d = finding(findings(tmp_path, "- a\n- b\n"), "must be a YAML mapping")
    assert (d.line, d.col) == (1, 1)


# -- cross-reference checks ------------------------------------------------------------------

def test_unknown_playbook_suggests_bundled_name(tmp_path: Path) -> None:
    text = mutate(BASE, "playbook: standard-repair", "playbook: standard-repiar")
    d = finding(findings(tmp_path, text), "unknown playbook 'standard-repiar'")
    assert "did you mean 'standard-repair'" in d.message
    at(d, text, "playbook:", "standard-repiar")


def test_missing_playbook_file(tmp_path: Path) -> None:
    text = mutate(BASE, "playbook: standard-repair", "playbook: ./nope.yaml")
    d = finding(findings(tmp_path, text), "does not exist")
    at(d, text, "playbook:")


def test_errors_inside_a_playbook_keep_its_own_file_and_line(tmp_path: Path) -> None:
    bad = mutate(base_playbook(), "initial: new", "initial: nwe")
    (tmp_path / "mini.yaml").write_text(bad, encoding="utf-8")
    text = mutate(BASE, "playbook: standard-repair", "playbook: mini.yaml")
    found = findings(tmp_path, text)
    inner = finding(found, "unknown state 'nwe'")
    assert inner.file == str(tmp_path / "mini.yaml")
    assert inner.line == line_of(bad, "initial: nwe")
    outer = finding(found, "cannot be used")
    assert outer.file == str(tmp_path / "scenario.yaml")
    at(outer, text, "playbook: mini.yaml")


def test_role_no_pool_fills_and_pool_role_nobody_uses(tmp_path: Path) -> None:
    text = mutate(BASE, "roles: [technician]", "roles: [technican]")
    found = findings(tmp_path, text)
    need = finding(found, "playbook 'standard-repair' needs role 'technician'")
    assert "which no pool in staffing fills" in need.message
    at(need, text, "  repair:", "repair")
    unused = finding(found, "fills role 'technican', which no playbook in the mix uses")
    assert "did you mean 'technician'" in unused.message
    at(unused, text, "roles: [technican]", "technican")


def test_declared_role_without_work_is_fine_beside_a_working_one(tmp_path: Path) -> None:
    # standard-repair declares senior_technician (and pools it) but gives it no work.
    text = mutate(BASE, "roles: [technician]", "roles: [technician, senior_technician]")
    assert load_scenario(write(tmp_path, text)).warnings == ()


def test_pool_of_only_roles_without_work_is_never_busy(tmp_path: Path) -> None:
    extra = "  seniors: {roles: [senior_technician], headcount: 2}\n"
    text = mutate(BASE, "parts:\n  HINGE", extra + "parts:\n  HINGE")
    d = finding(findings(tmp_path, text), "pool 'seniors' fills only roles no work", "warning")
    assert "never be busy" in d.message
    at(d, text, "seniors:", "[senior_technician]")


def test_scenario_part_no_playbook_uses(tmp_path: Path) -> None:
    text = mutate(BASE, "  BOARD-03: {initial: 10}\n",
                  "  BOARD-03: {initial: 10}\n  HINGE-02: {initial: 5}\n")
    d = finding(findings(tmp_path, text), "part 'HINGE-02' is used by no playbook")
    assert "did you mean 'HINGE-01'" in d.message
    at(d, text, "HINGE-02:", "HINGE-02")


def test_playbook_part_without_stock_is_unlimited_with_warning(tmp_path: Path) -> None:
    text = mutate(BASE, "  BOARD-03: {initial: 10}\n", "")
    found = findings(tmp_path, text)
    d = finding(found, "uses part 'BOARD-03'", "warning")
    assert "treated as unlimited stock" in d.message
    at(d, text, "playbook: standard-repair")
    assert all(x.severity == "warning" for x in found)


def test_part_probability_zero_makes_the_part_unused(tmp_path: Path) -> None:
    text = mutate(BASE, "  BOARD-03: {initial: 10}\n", "")
    text = mutate(text, "    events:\n", "    parts: {BOARD-03: 0}\n    events:\n")
    assert load_scenario(write(tmp_path, text)).warnings == ()


def test_mix_part_override_unknown_to_the_playbook(tmp_path: Path) -> None:
    text = mutate(BASE, "    events:\n", "    parts: {HINGE-1: 0.5}\n    events:\n")
    d = finding(findings(tmp_path, text), "part 'HINGE-1' is not used by the work")
    assert "did you mean 'HINGE-01'" in d.message
    at(d, text, "parts: {HINGE-1", "HINGE-1")


def test_mix_part_override_must_be_a_probability(tmp_path: Path) -> None:
    text = mutate(BASE, "    events:\n", "    parts: {HINGE-01: 1.5}\n    events:\n")
    d = finding(findings(tmp_path, text), "mix.repair.parts.HINGE-01: Input should be less than or equal to 1")
    at(d, text, "parts: {HINGE-01: 1.5}", "1.5")


def test_unknown_event_suggests(tmp_path: Path) -> None:
    text = mutate(BASE, "no_answer: 2d", "no_anser: 2d")
    d = finding(findings(tmp_path, text), "event 'no_anser' is accepted by no state")
    assert "did you mean 'no_answer'" in d.message
    at(d, text, "no_anser:", "no_anser")


@pytest.mark.parametrize("old, new, fragment, suggestion", [
    ("pool: service_desk", "pool: service_dsk", "unknown pool 'service_dsk'", "service_desk"),
    ("sku: HINGE-01", "sku: HINGE-1", "unknown SKU 'HINGE-1'", "HINGE-01"),
])
def test_inject_pool_and_sku_must_exist(tmp_path: Path, old: str, new: str, fragment: str,
                                        suggestion: str) -> None:
    text = mutate(BASE, old, new)
    d = finding(findings(tmp_path, text), fragment)
    assert f"did you mean {suggestion!r}" in d.message
    at(d, text, new, new.split(": ")[1])


def test_complaints_need_their_kind_in_the_mix(tmp_path: Path) -> None:
    text = BASE + "complaints: {probability: 0.2, kind: complaint}\n"
    d = finding(findings(tmp_path, text), "complaints follow mix kind 'complaint'")
    at(d, text, "complaints:", "complaint}")
    quiet = BASE + "complaints: {probability: 0, kind: complaint}\n"
    assert load_scenario(write(tmp_path, quiet)).warnings == ()


def test_empty_shift(tmp_path: Path) -> None:
    text = mutate(BASE, 'start: "09:00", end: "18:00"', 'start: "09:00", end: "09:00"')
    found = findings(tmp_path, text)
    d = finding(found, "empty shift")
    at(d, text, 'end: "09:00"', "{days")
    # Its only shift is empty, so the pool is never on duty either.
    finding(found, "pool 'service_desk' has zero headcount at every hour")


def test_all_day_shift_is_not_empty(tmp_path: Path) -> None:
    text = mutate(BASE, 'start: "09:00", end: "18:00"', 'start: "00:00", end: "00:00"')
    assert load_scenario(write(tmp_path, text)).warnings == ()


def test_pool_with_zero_headcount_at_every_hour(tmp_path: Path) -> None:
    text = mutate(BASE, "headcount: 4", "headcount: 0")
    d = finding(findings(tmp_path, text), "pool 'field_technicians' has zero headcount")
    at(d, text, "  field_technicians:", "field_technicians")


def test_contractor_pool_nobody_unlocks_is_never_on_duty(tmp_path: Path) -> None:
    # standard-repair unlocks contractors for field technicians only, not for the desk.
    extra = "  desk_temps:\n    roles: [agent]\n    contractor: true\n    headcount: 5\n"
    text = mutate(BASE, "parts:\n  HINGE", extra + "parts:\n  HINGE")
    d = finding(findings(tmp_path, text), "pool 'desk_temps' fills 'agent'")
    assert "never on duty" in d.message and "unlocks contractors" in d.message
    at(d, text, "desk_temps:", "desk_temps")


def test_contractor_pool_of_an_unlocked_role_is_fine(tmp_path: Path) -> None:
    extra = "  partners:\n    roles: [technician]\n    contractor: true\n    headcount: 5\n"
    text = mutate(BASE, "parts:\n  HINGE", extra + "parts:\n  HINGE")
    assert load_scenario(write(tmp_path, text)).warnings == ()


def test_unlock_naming_a_pool_staffing_lacks(tmp_path: Path) -> None:
    text = mutate(BASE, "  field_technicians:\n", "  technicians:\n")
    d = finding(findings(tmp_path, text), "unlocks contractors for pool 'field_technicians'",
                "warning")
    assert "staffing lacks" in d.message
    at(d, text, "playbook: standard-repair")


@pytest.mark.parametrize("old, new, needle", [
    ("start: 1d, factor: 2", "start: 3d, factor: 2", "start: 3d"),
    ("at: 1d, kind: stock_loss", "at: 2d, kind: stock_loss", "at: 2d"),
])
def test_surge_or_inject_after_the_horizon(tmp_path: Path, old: str, new: str,
                                           needle: str) -> None:
    text = mutate(BASE, old, new)
    d = finding(findings(tmp_path, text), "starts after the horizon", "warning")
    at(d, text, needle, needle.split(": ")[1])


def test_naive_date_time_is_refused(tmp_path: Path) -> None:
    text = mutate(BASE, "start: 1d, factor: 2", "start: 2026-03-03T08:00:00, factor: 2")
    d = finding(findings(tmp_path, text), "needs a time zone")
    at(d, text, "start: 2026-03-03", "2026-03-03")


def test_state_waiting_for_events_nobody_fires(tmp_path: Path) -> None:
    pb = base_playbook()
    block = ("        route: repair\n        timeout: closed\n"
             "      timers:\n        - {after: 2h, fire: timeout}\n")
    assert pb.count(block) == 1
    pb = pb.replace(block, "        route: repair\n        cancel: closed\n")
    (tmp_path / "mini.yaml").write_text(pb, encoding="utf-8")
    text = textwrap.dedent("""\
        name: waiting
        horizon: 1d
        mix:
          mini:
            playbook: mini.yaml
        staffing:
          desk: {roles: [agent], headcount: 2}
        parts:
          HINGE-01: {initial: 5}
        """)
    d = finding(findings(tmp_path, text), "cases in state 'triage'", "warning")
    assert "wait for events ['route', 'cancel'] that the scenario never fires" in d.message
    at(d, text, "  mini:", "mini")
    fired = mutate(text, "playbook: mini.yaml\n", "playbook: mini.yaml\n    events: {route: 1h}\n")
    assert load_scenario(write(tmp_path, fired)).warnings == ()


def test_every_error_is_listed_at_once(tmp_path: Path) -> None:
    text = mutate(BASE, "pool: service_desk", "pool: nobody")
    text = mutate(text, "sku: HINGE-01", "sku: NOTHING")
    text = mutate(text, "headcount: 4", "headcount: 0")
    with pytest.raises(SimulationError) as info:
        load_scenario(write(tmp_path, text))
    messages = [d.message for d in info.value.diagnostics]
    assert len(messages) == 3, messages
    lines = [d.line for d in info.value.diagnostics]
    assert lines == sorted(lines)


def test_queue_arrival_rate_must_be_positive(tmp_path: Path) -> None:
    text = "name: q\nhorizon: 1d\nqueue: {arrival_rate: -3, service: 5m, servers: 2}\n"
    d = finding(findings(tmp_path, text), "queue.arrival_rate: Input should be greater than 0")
    at(d, text, "queue:", "-3")


# -- the textbook queue ----------------------------------------------------------------------

def test_queue_scenario_is_a_one_state_playbook_and_a_servers_pool() -> None:
    loaded = load_scenario("textbook-mmc")
    assert loaded.mix.keys() == {"queue"}
    assert loaded.mix["queue"].tiers == {Tier.TIER2: 1.0}
    pool = loaded.staffing["servers"]
    assert pool.roles == ["server"] and pool.headcount == 3
    pb = loaded.playbooks["queue"]
    assert pb.name == "textbook-queue"
    states = pb.lifecycle.states
    assert pb.lifecycle.initial == "service" and set(states) == {"service", "done"}
    assert states["service"].work.role == "server"
    assert states["service"].work.duration.mean == pytest.approx(15.0)
    assert states["service"].outcomes["served"].to == "done" and states["done"].final
    assert loaded.scenario.queue.arrival_rate == pytest.approx(10.0)


def test_queue_playbook_arms_no_deadlines_and_lints_clean() -> None:
    from incidents.source import Document
    from playbooks.lint import semantic_diagnostics
    pb = queue_playbook(Queue(arrival_rate=10, service={"exponential": "15m"}, servers=3))
    assert all(pb.sla.for_tier(t) == {} for t in Tier)
    assert not pb.escalation.rules and not pb.emergency.levels and not pb.communications
    assert semantic_diagnostics(pb, Document("q", {})) == []


# -- replay ----------------------------------------------------------------------------------

CSV = textwrap.dedent("""\
    number,opened_at
    A,01/03/2016 00:00
    B,02/03/2016 10:00
    B,02/03/2016 10:00
    C,02/03/2016 10:30
    D,02/03/2016 11:00
    E,02/03/2016 12:00
    F,03/03/2016 09:00
    G,04/03/2016 12:00
    """)

REPLAY = textwrap.dedent("""\
    name: replayed
    horizon: 1d
    demand:
      replay:
        file: log.csv
        days: 1
    mix:
      repair: {playbook: standard-repair}
    staffing:
      desk: {roles: [agent], headcount: 2}
      field_technicians: {roles: [technician], headcount: 2}
    parts:
      HINGE-01: {initial: 10}
      SEAL-02: {initial: 10}
      BOARD-03: {initial: 10}
    """)


def test_replay_takes_the_busiest_window_one_arrival_per_id(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text(CSV, encoding="utf-8")
    loaded = load_scenario(write(tmp_path, REPLAY))
    # Busiest day-long window: from 2 March 10:00 (B..F, five incidents; B is on two rows).
    assert loaded.replay == (0.0, 30.0, 60.0, 120.0, 23 * 60.0)
    assert loaded.warnings == ()


def test_replay_with_a_start_is_shifted_and_cut_at_the_horizon(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text(CSV, encoding="utf-8")
    text = mutate(REPLAY, "days: 1", "days: 5\n    start: 2016-03-02T10:30:00")
    loaded = load_scenario(write(tmp_path, text))
    # C, D, E, F are within the 1-day horizon of the start; G (2 days later) is past it.
    assert loaded.replay == (0.0, 30.0, 90.0, 22.5 * 60)


@pytest.mark.parametrize("csv, fragment, csv_line", [
    (None, "no such file", None),
    ("number,opend_at\nA,01/03/2016 00:00\n", "did you mean 'opend_at'", 1),
    ("number,opened_at\nA,01/03/2016 00:00\nB,yesterday\n", "cannot read 'yesterday'", 3),
])
def test_replay_problems_are_located_at_the_file_key(tmp_path: Path, csv: str | None,
                                                     fragment: str, csv_line: int | None) -> None:
    if csv is not None:
        (tmp_path / "log.csv").write_text(csv, encoding="utf-8")
    d = finding(findings(tmp_path, REPLAY), fragment)
    at(d, REPLAY, "file: log.csv", "log.csv")
    assert "cannot replay 'log.csv'" in d.message
    if csv_line is not None:
        assert f"log.csv:{csv_line}:" in d.message  # the reader's own FILE:LINE is kept


# -- Chinese names ---------------------------------------------------------------------------

CHINESE = textwrap.dedent("""\
    name: 召回演练
    title: 华东区域召回
    horizon: 3d
    mix:
      召回:
        playbook: defective-batch-recall
        region: 华东
        products:
          - {name: 实木复合地板（橡木）, sku: FLR-OAK-1210, batch: 批次-0117}
    staffing:
      客服组: {roles: [agent], headcount: 4}
      现场技术组: {roles: [technician], headcount: 6}
      财务组: {roles: [finance], headcount: 1}
    parts:
      FLR-OAK-1210: {initial: 500}
      SKIRT-80: {initial: 50}
      UNDERLAY-02: {initial: 20}
    """)


def test_chinese_names_in_kinds_pools_products_and_regions(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, CHINESE))
    assert loaded.warnings == ()
    assert loaded.mix["召回"].products[0].name == "实木复合地板（橡木）"
    assert loaded.mix["召回"].region == "华东"
    assert set(loaded.staffing) == {"客服组", "现场技术组", "财务组"}


def test_chinese_names_are_located_by_character_column(tmp_path: Path) -> None:
    text = CHINESE + "injects:\n  - {at: 1d, kind: staff_absence, pool: 客服, headcount: 1}\n"
    d = finding(findings(tmp_path, text), "unknown pool '客服'")
    assert d.line == line_of(text, "pool: 客服")
    assert d.col == col_of(text, "客服,")

"""The two scenario keys calibration writes: a weekday-by-hour `demand.profile` and
`mix.<kind>.durations` (a state's work time set by the scenario instead of the playbook).

Expected values come from the scenario text itself: the profile's share of arrivals in a cell
is its weight over the week's total, and the Poisson count of a cell over W weeks has sd
sqrt(mean); tolerances are 4 sd (a correct implementation fails one check with p ~ 6e-5;
the draws are seeded).
"""

from __future__ import annotations

import math
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from incidents.distributions import LogNormal
from simulation.errors import SimulationError
from simulation.model.arrivals import draw_arrivals, expected_arrivals
from simulation.scenario.loader import load_scenario
from simulation.scenario.model import Demand
from tests.conftest import line_of

FRIDAY_CLOSES = [[0.0] * 8 + [4.0] * 10 + [1.0] * 6 for _ in range(4)] + \
    [[0.0] * 8 + [4.0] * 6 + [0.0] * 10] + [[0.0] * 24, [0.0] * 20 + [2.0] * 4]

SCENARIO = textwrap.dedent("""\
    name: calls
    start: 2024-01-01T00:00:00+00:00
    horizon: 1d
    calendar: {timezone: UTC}
    demand: {base_rate: 20}
    mix:
      calls:
        playbook: contact-service
        tiers: {tier2: 1}
        durations: {service: {lognormal: {mean: 3m, sd: 2m}}}
    staffing:
      agents: {roles: [agent], headcount: 3}
    messages: {role: null}
    """)


def test_profile_shapes_each_weekday_on_its_own() -> None:
    demand = Demand(base_rate=10.0, profile=FRIDAY_CLOSES)
    weights = np.array(FRIDAY_CLOSES)
    assert np.isclose(np.mean(demand.profile), 1.0)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)  # a Monday
    weeks = 40
    t = draw_arrivals(demand, weeks * 10080.0, start, ZoneInfo("UTC"), np.random.default_rng(5))
    counts = np.bincount((t // 60).astype(int) % 168, minlength=168).reshape(7, 24)
    expected = 10.0 * weights / weights.mean() * weeks
    assert counts[weights == 0].sum() == 0  # a closed Friday afternoon gets nobody
    sd = np.sqrt(np.maximum(expected, 1.0))
    assert np.all(np.abs(counts - expected) < 4.0 * sd)
    mean = expected_arrivals(demand, 10080.0, start, ZoneInfo("UTC"))
    assert mean == pytest.approx(10.0 * 168, rel=1e-9)  # base rate x hours: mean weight 1


@pytest.mark.parametrize("profile, message", [
    ([[1.0] * 24] * 6, "needs 7 rows"),
    ([[1.0] * 24] * 6 + [[1.0] * 23], "needs 7 rows"),
    ([[0.0] * 24] * 7, "not all zero"),
])
def test_profile_shape_is_checked(profile: list[list[float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Demand(profile=profile)


def test_profile_and_hourly_are_not_both_given(tmp_path: Path) -> None:
    text = SCENARIO.replace("demand: {base_rate: 20}", "demand:\n  base_rate: 20\n"
                            f"  hourly: {[1] * 24}\n  profile: {[[1] * 24] * 7}")
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SimulationError, match="either profile") as info:
        load_scenario(path)
    assert info.value.diagnostics[0].line == line_of(text, "base_rate: 20")  # in demand


def test_durations_set_the_work_time_of_a_state(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    loaded = load_scenario(path)
    work = loaded.playbooks["calls"].lifecycle.states["service"].work
    assert work is not None and work.duration == LogNormal(3.0, 2.0)


def test_durations_of_a_state_without_work_is_located(tmp_path: Path) -> None:
    text = SCENARIO.replace("durations: {service:", "durations: {servise:")
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SimulationError) as info:
        load_scenario(path)
    (d,) = info.value.diagnostics
    assert d.line == line_of(text, "servise")
    assert "no state 'servise'" in d.message and "did you mean 'service'" in d.message
    text = SCENARIO.replace("durations: {service:", "durations: {done:")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SimulationError, match="does no work in state 'done'"):
        load_scenario(path)


def test_simulated_service_follows_the_scenario_not_the_playbook(tmp_path: Path) -> None:
    """The playbook says exponential 3 min (sd 3); the scenario lognormal 3 min, sd 2 min.
    The sd of n = ~480 draws is within 4 SE of 2 (SE of a lognormal sd ~ sd x 1.1 / sqrt(n)
    at this shape), far from 3."""
    from simulation.model.world import run
    from simulation.results.common import LogView

    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    res = run(load_scenario(path), 3)
    done = LogView(res.log)("work_done")["x"]
    assert done.size > 300
    assert abs(done.std() - 2.0) < 4 * 2.0 * 1.1 / math.sqrt(done.size)

"""The textbook `queue:` shorthand honours `demand:`'s shape (profiles, surges), and refuses
a second rate: a 100/h queue with a surge used to open flat 100/h, silently."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from simulation.errors import SimulationError
from simulation.model.world import run
from simulation.scenario.loader import scenario_from_text

QUEUE = """\
name: q
start: 2026-03-02T00:00:00+00:00
horizon: 1d
queue: {arrival_rate: 100/h, service: {exponential: 1m}, servers: 50}
"""


def _arrivals(extra: str, seed: int) -> np.ndarray:
    loaded = scenario_from_text(QUEUE + textwrap.dedent(extra))
    results = run(loaded, seed)
    return results.cases.columns()["opened"]


def test_a_step_surge_adds_its_arrivals() -> None:
    """100/h for 24 h plus a 3x step for 6 h: 100 x 24 + 200 x 6 = 3,600 expected; Poisson,
    so the count over 4 seeds (14,400 expected, sd 120) lands within 4 sd, and the surge's
    hours carry three times the rate of the others."""
    extra = "demand:\n  surges:\n    - {kind: step, start: 6h, factor: 3, duration: 6h}\n"
    opened = np.concatenate([_arrivals(extra, s) for s in range(1, 5)])
    assert abs(opened.size - 14_400) <= 4 * 120, opened.size
    inside = ((opened >= 360) & (opened < 720)).sum() / 4 / 6      # per hour, in the surge
    outside = ((opened < 360) | (opened >= 720)).sum() / 4 / 18
    assert inside / outside == pytest.approx(3.0, rel=0.1)


def test_an_hourly_profile_shapes_the_queue() -> None:
    """Weights 3 for hours 0-11 and 1 for 12-23 (normalised to mean 1): 150/h then 50/h."""
    extra = "demand:\n  hourly: [" + ", ".join(["3"] * 12 + ["1"] * 12) + "]\n"
    opened = np.concatenate([_arrivals(extra, s) for s in range(1, 4)])
    morning, evening = (opened < 720).sum(), (opened >= 720).sum()
    assert morning / evening == pytest.approx(3.0, rel=0.1)
    assert abs(opened.size - 3 * 2400) <= 4 * np.sqrt(3 * 2400)


@pytest.mark.parametrize(("extra", "words"), [
    ("demand: {base_rate: 50/h}\n", "the rate is queue.arrival_rate"),
    ("demand: {replay: {file: x.csv}}\n", "draws its arrivals"),
])
def test_a_second_rate_beside_a_queue_is_refused_at_its_line(extra: str, words: str) -> None:
    with pytest.raises(SimulationError) as info:
        scenario_from_text(QUEUE + extra, file="q.yaml")
    text = str(info.value)
    assert text.startswith("q.yaml:5:") and words in text, text

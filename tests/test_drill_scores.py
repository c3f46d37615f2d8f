"""The bundled drills tell a good team from a passive one and a harmful one, on seeds 1 to 5.

A property of the drills and the score together, so a later change to the model, the costs
or the scoring cannot quietly undo it (the recall once scored a team that did nothing at
about 50, and the MSEL followed to the letter below no response). On every seed: no response
is clearly worse than the playbook's autopilot on every outcome part the drill can move; the
MSEL followed (`example-script --style good`) scores at least 85; a passive team (no
response, event for event) scores at most 40 (0, in fact); a deliberately bad team (`--style
bad`: wrong level, late orders, VIP last, owed messages unsent) scores clearly below the
passive one.
"""

from __future__ import annotations

import pathlib

import pytest

from simulation.drills.counterfactual import counterfactuals
from simulation.drills.examples import example_script
from simulation.drills.script import load_script, play
from simulation.drills.scoring import score
from simulation.scenario.loader import load_scenario

PLACED = {"drill-recall": {"service", "customers_lost", "cost", "communications"},
          "drill-storm": {"service", "customers_lost", "cost", "communications"},
          "drill-parts": {"service", "cost", "communications"}}
"""The outcome parts each drill's decisions can move (no customer gives up in the parts
drill: nobody waits for staff long, they wait for parts)."""
MARGIN = 5.0


def _scored(loaded, seed: int, style: str, tmp: pathlib.Path, others=None):
    path = tmp / f"{style}.yaml"
    path.write_text(example_script(loaded, seed, style), encoding="utf-8")  # type: ignore
    session = play(loaded, load_script(path), seed, strict=False)
    session.carry_over()
    others = others if others is not None else counterfactuals(session)
    return score(session, others), others


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("drill", sorted(PLACED))
def test_scores_rank_good_passive_and_bad_teams(drill: str, seed: int,
                                                tmp_path: pathlib.Path) -> None:
    loaded = load_scenario(drill)
    good, others = _scored(loaded, seed, "good", tmp_path)
    placed = {k for k, p in good.placements.items() if p.value is not None}
    assert placed == PLACED[drill], {k: p.note for k, p in good.placements.items()}
    for part in placed:
        p = good.placements[part]
        assert p.autopilot > p.none, (part, p)                 # no response is worse
    passive = score(others["none"].session, others)            # the passive team's run
    bad, _ = _scored(loaded, seed, "bad", tmp_path, others)
    assert good.total >= 85, good.parts
    assert passive.total <= 40
    assert bad.total <= passive.total - MARGIN, bad.parts

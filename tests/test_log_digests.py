"""One seed, one event log: the bundled scenarios and drills against digests recorded before
the model's hot path was rewritten for speed (issue 14).

The model promises that a seed gives one exact run. Speeding it up (deciding at set-up what a
scenario needs, drawing common random numbers in blocks, scheduling callbacks differently,
writing the log another way) must not move a single event: this test runs every bundled
scenario and plays every bundled drill's example script, and compares SHA-256 digests of the
event log (its columns and interned names, as `simulation.drills.session.log_digest`) and of
the metrics `compute()` derives from it against `log_digests.json`, written by the version
before the rewrite. An intended change of the log would have to re-record the file, and say
why, in its own commit.

Re-record (only for an intended, explained change): MUSTER_RECORD_DIGESTS=1 pytest this file,
serially (no -n: the workers would each write the file).

Beside the plain runs: the recall surge without the autopilot (policy `none`), and the
textbook queue with impatient customers (the patience path, which no plain bundled run takes
without the playbook's escalations too). Seed 2 of every scenario is stepped to a fixed minute
in uneven increments, so the digest also checks that stepping never changes the order.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from simulation.drills.examples import example_script
from simulation.drills.script import load_script, play
from simulation.drills.session import log_digest
from simulation.model.world import World
from simulation.results.metrics import compute
from simulation.scenario.loader import LoadedScenario, load_scenario, scenario_from_text

HERE = Path(__file__).parent
RECORD = HERE / "log_digests.json"
BUNDLED = sorted((HERE.parent / "simulation" / "scenarios").glob("*.yaml"))
DRILLS = [p for p in BUNDLED if p.name.startswith("drill-")]
STEPPED_TO = 2 * 1440.0
"""Seed 2 runs to this minute (two days) in uneven steps, to keep the test short."""
STEP = 97.3
"""Minutes per step of the stepped runs: not a divisor of anything the scenarios use."""

PATIENT_QUEUE = textwrap.dedent("""\
    name: patient-queue
    horizon: 5d
    warmup: 1d
    queue:
      arrival_rate: 13/h
      service: {exponential: 15m}
      servers: 3
      patience: {exponential: 20m}
    """)

_recorded: dict[str, str] = json.loads(RECORD.read_text()) if RECORD.exists() else {}
_RECORDING = os.environ.get("MUSTER_RECORD_DIGESTS") == "1"


def _check(name: str, digest: str) -> None:
    if _RECORDING:
        _recorded[name] = digest
        RECORD.write_text(json.dumps(dict(sorted(_recorded.items())), indent=1) + "\n")
        return
    assert name in _recorded, f"no recorded digest for {name}"
    assert digest == _recorded[name], f"{name}: the event log or its metrics changed"


def _plain(value: Any) -> Any:
    """Metrics as canonical JSON values: floats by their exact repr (NaN and infinities as
    text, so json never has to spell them)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return repr(value) if not math.isfinite(value) else value.hex()
    if hasattr(value, "item"):  # a numpy scalar
        return _plain(value.item())
    return value


def metrics_digest(world: World) -> str:
    text = json.dumps(_plain(compute(world.results())), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _full(loaded: LoadedScenario, name: str, **kw: Any) -> None:
    world = World(loaded, 1, **kw)
    world.advance(world.end)
    _check(f"{name}/seed1/log", log_digest(world))
    _check(f"{name}/seed1/metrics", metrics_digest(world))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_a_full_run_keeps_its_log_and_metrics(path: Path) -> None:
    _full(load_scenario(path), path.stem)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_a_stepped_run_keeps_its_log(path: Path) -> None:
    world = World(load_scenario(path), 2)
    to = min(STEPPED_TO, world.end)
    at = 0.0
    while at < to:
        at = min(at + STEP, to)
        world.advance(at)
        assert world.env.now == at
    _check(f"{path.stem}/seed2/stepped", log_digest(world))


def test_the_recall_surge_without_the_autopilot_keeps_its_log() -> None:
    loaded = load_scenario(HERE.parent / "simulation" / "scenarios" / "defective-batch-surge.yaml")
    _full(loaded, "defective-batch-surge/none", policy_name="none")


def test_impatient_customers_keep_their_log() -> None:
    _full(scenario_from_text(PATIENT_QUEUE), "patient-queue")


@pytest.mark.parametrize("path", DRILLS, ids=lambda p: p.stem)
def test_a_played_drill_keeps_its_log(path: Path, tmp_path: Path) -> None:
    loaded = load_scenario(path)
    script_path = tmp_path / "good.yaml"
    script_path.write_text(example_script(loaded, 1, "good"), encoding="utf-8")
    session = play(loaded, load_script(script_path), 1, strict=False)
    _check(f"{path.stem}/drill-good/played", log_digest(session.world))
    session.carry_over()
    _check(f"{path.stem}/drill-good/carried", log_digest(session.world))

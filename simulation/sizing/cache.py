"""Finished replications kept on disk, so that rerunning with the same `--out` resumes.

One JSON line per replication: the scenario's hash, the master seed, the configuration's
key and the replication index, and the values it produced. A line is written (and flushed)
as soon as its replication comes back, so Ctrl-C, a crash or a time budget loses nothing
that finished. A replication is reused only when the scenario (with its playbooks), the
seed, the configuration and the model's version (and Muster's) are the same and it holds
every value now wanted; an edited scenario, a new seed or an upgrade simply misses.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from simulation.model import MODEL_VERSION
from simulation.results.common import muster_version
from simulation.scenario.loader import LoadedScenario

__all__ = ["ReplicationCache", "scenario_hash", "CACHE_FILE", "CACHE_VERSION"]

CACHE_FILE = "replications.jsonl"
CACHE_VERSION = 1
"""Bumped whenever what a replication measures changes meaning."""


def scenario_hash(loaded: LoadedScenario) -> str:
    """A fingerprint of everything a run depends on: the scenario, its playbooks, the
    effective staffing and mix, replayed arrivals."""
    parts = {
        "v": CACHE_VERSION,
        "model": MODEL_VERSION,
        "muster": muster_version(),
        "scenario": loaded.scenario.model_dump(mode="json"),
        "playbooks": {k: pb.model_dump(mode="json") for k, pb in loaded.playbooks.items()},
        "staffing": {k: p.model_dump(mode="json") for k, p in loaded.staffing.items()},
        "mix": {k: m.model_dump(mode="json") for k, m in loaded.mix.items()},
        "replay": list(loaded.replay) if loaded.replay is not None else None,
    }
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


class ReplicationCache:
    """Replications of one scenario and seed, in memory and (with a folder) on disk."""

    def __init__(self, folder: Path | None, scenario: str, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.path = folder / CACHE_FILE if folder is not None else None
        self._values: dict[tuple[str, int], dict[str, Any]] = {}
        if self.path is not None and self.path.is_file():
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut short by a crash: that replication reruns
                    if isinstance(rec, dict) and rec.get("scenario") == scenario and \
                            rec.get("seed") == seed and isinstance(rec.get("values"), dict):
                        self._values[(str(rec["config"]), int(rec["i"]))] = rec["values"]
        self.loaded = len(self._values)
        self._fh = None

    def get(self, config: str, i: int, wanted: Iterable[str]) -> dict[str, Any] | None:
        values = self._values.get((config, i))
        if values is None or any(name not in values for name in wanted):
            return None
        return values

    def put(self, config: str, i: int, values: dict[str, Any]) -> None:
        self._values[(config, i)] = values
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(json.dumps({"scenario": self.scenario, "seed": self.seed,
                                   "config": config, "i": i, "values": values},
                                  ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

"""What every metric module shares: a per-kind view of the event log and small statistics."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.model.eventlog import KINDS, EventLog

if TYPE_CHECKING:
    from simulation.model.world import Results

__all__ = ["TIERS", "STOCK_POINTS", "LogView", "stats", "share", "case_mask", "playbooks",
           "level_order", "muster_version", "lost_cases"]

TIERS = ("VIP", "tier1", "tier2")
"""Tier names in the order of the case table's tier index."""

STOCK_POINTS = 2000
"""Longest stock-level series kept per SKU; longer ones are reduced to per-bin minima, so a
short stock-out still shows as a dip to zero."""


def stats(values: np.ndarray) -> dict[str, float | int | None]:
    """n, mean, p50, p90 and p95 of a sample (None when the sample is empty)."""
    n = int(values.size)
    if n == 0:
        return {"n": 0, "mean": None, "p50": None, "p90": None, "p95": None}
    p50, p90, p95 = np.percentile(values, [50, 90, 95])
    return {"n": n, "mean": float(values.mean()), "p50": float(p50), "p90": float(p90),
            "p95": float(p95)}


def share(num: float, den: float) -> float | None:
    return float(num) / float(den) if den > 0 else None


def playbooks(results: Results) -> list[Any]:
    return list(getattr(results.scenario, "playbooks", {}).values())


def level_order(results: Results) -> list[str]:
    """Emergency level names, normal first then least to most severe (the lead playbook's)."""
    pbs = getattr(results.scenario, "playbooks", {})
    lead = pbs.get(results.kinds[0]) if results.kinds else None
    if lead is None:
        return ["normal"]
    return [lead.emergency.normal, *lead.emergency.levels]


class LogView:
    """The log's columns, read per kind on demand (one pass over the kind column each), so
    each metric touches only its own events."""

    def __init__(self, log: EventLog) -> None:
        self._cols = log.columns()
        self._kind = self._cols.pop("kind")
        self.names = log.names.items
        self._index = log.names.index
        self._cache: dict[str, dict[str, np.ndarray]] = {}

    def code(self, name: str) -> int:
        """The interned index of a name; -1 if the run never used it (matches nothing)."""
        return self._index.get(name, -1)

    def __call__(self, kind: str) -> dict[str, np.ndarray]:
        if kind not in self._cache:
            idx = np.flatnonzero(self._kind == KINDS.index(kind))
            self._cache[kind] = {k: v[idx] for k, v in self._cols.items()}
        return self._cache[kind]




def case_mask(case: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """Events of counted cases (operation-wide events, case -1, are not case events)."""
    ok = case >= 0
    out = np.zeros(case.shape, dtype=bool)
    out[ok] = counted[case[ok]]
    return out


def lost_cases(results: Results, log: LogView, cases: dict[str, np.ndarray]) -> np.ndarray:
    """Per case, the minute its customer was lost (NaN: not lost).

    A customer is lost when the case ends because they gave up waiting (an `abandoned`
    event) or withdrew it (the playbook's abandon trigger fired, by patience or by an
    outside event such as a cancellation). Every metric that judges service counts these
    customers as missed, and costs price them: a run must never look better for losing
    the customers it could not serve."""
    kind_of = cases["kind"]
    lost = np.full(kind_of.shape, np.nan)
    gave_up = log("abandoned")
    times, ids = [gave_up["t"]], [gave_up["case"]]
    pbs = getattr(results.scenario, "playbooks", {})
    state = log("state")
    if state["case"].size:
        for k, kind in enumerate(results.kinds):
            abandon = getattr(getattr(pbs.get(kind), "lifecycle", None), "abandon", None)
            trigger = getattr(abandon, "trigger", None)
            code = log.code(trigger) if trigger else -1
            if code < 0:
                continue
            hit = (state["b"] == code) & (kind_of[state["case"]] == k)
            times.append(state["t"][hit])
            ids.append(state["case"][hit])
    t, c = np.concatenate(times), np.concatenate(ids).astype(np.int64)
    if c.size:
        order = np.argsort(-t, kind="stable")  # the earliest minute is written last: kept
        lost[c[order]] = t[order]
    return lost


def muster_version() -> str:
    """The installed Muster's version, written into every report and drill record."""
    try:
        return version("muster")
    except PackageNotFoundError:
        return "0+unknown"

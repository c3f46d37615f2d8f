"""What a target can name: every metric of a run, and the queue measures sizing adds.

A target is a constraint on the expected value of one number a replication produces. Most
come from `results.metrics.compute` (SLA attainment, waits per tier, stock fill rate, ...);
the catalogue lists their dotted paths for a given scenario (its tiers, milestones, pools,
SKUs, service-level thresholds), built from the scenario rather than from a run so that
`--list-metrics` costs nothing, and checked against a real `compute()` output in the tests.

Sizing adds the queue measures an Erlang calculator speaks in, which `compute` does not give
per pool: the share of work that waited at all (`delay`), the share not served within a
time (`wait.p(>20m)`), and per pool (the work of the queues a pool may serve) the same plus
`asa` and `abandonment`. They are read from the event log: every piece of work that queued
ended its wait served (`assigned`, x = minutes waited; 0 if started at once) or abandoned
(`abandoned`, x = minutes waited), so both carry the wait's start, t - x.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from incidents.sla import Duration
from simulation.results.common import TIERS, LogView, case_mask
from simulation.results.metrics import compute
from simulation.results.waiting import service_levels, threshold_label
from simulation.scenario.dispatch import eligible_pools
from incidents.source import suggest
from simulation.scenario.loader import LoadedScenario

if TYPE_CHECKING:
    from simulation.model.world import Results

__all__ = ["suggest_metric", "MetricInfo", "Unit", "catalogue", "aliases", "resolve_metric",
           "measure",
           "work_pools", "COST_PARTS", "wait_metric", "WAIT_RE", "Waits", "waits_of",
           "is_queue_metric"]

Unit = Literal["share", "minutes", "number", "money"]
Better = Literal["higher", "lower"]

COST_PARTS = ("wages", "overtime", "contractors", "parts", "transfers")
"""The resource costs a run reports (measured window); SLA penalties are not among them:
targets are constraints, not prices."""

WAIT_RE = re.compile(r"^(?P<scope>.*?)\.?wait\.p\(\s*>\s*(?P<tau>[^)]*?)\s*\)$")
"""`wait.p(>20m)`, `VIP.wait.p(>2h)`, `pool.NAME.wait.p(>4h)`."""

WINDOWS = ("arrivals", "drain", "measured")


@dataclass(frozen=True)
class MetricInfo:
    """One metric a target can use: its unit, which way is better (None: neither, so no
    search may assume that more resources improve it), and a line of help."""

    name: str
    unit: Unit
    better: Better | None
    help: str


def _milestones(loaded: LoadedScenario) -> list[str]:
    seen: list[str] = []
    for pb in loaded.playbooks.values():
        for ms in pb.lifecycle.milestones:
            if ms not in seen:
                seen.append(ms)
    return seen


def _thresholds(loaded: LoadedScenario) -> list[str]:
    return [label for label, _ in service_levels(loaded.scenario.service_level)]


def catalogue(loaded: LoadedScenario) -> dict[str, MetricInfo]:
    """Every metric path a target can name for this scenario (canonical names), in the
    order `--list-metrics` prints them. `wait.p(>T)` families take any duration T and are
    listed with T written as `T`."""
    out: dict[str, MetricInfo] = {}

    def add(name: str, unit: Unit, better: Better | None, text: str) -> None:
        out[name] = MetricInfo(name, unit, better, text)

    for tier in TIERS:
        for ms in _milestones(loaded):
            add(f"sla.{tier}.{ms}.attainment", "share", "higher",
                f"share of {tier} cases meeting the {ms} SLA time")
            for stat in ("mean", "p50", "p90", "p95"):
                add(f"times.{tier}.{ms}.{stat}", "minutes", "lower",
                    f"{stat} time from opening to {ms}, {tier}")
    for scope in (*TIERS, "all"):
        who = "all tiers" if scope == "all" else scope
        add(f"waiting.{scope}.abandonment", "share", "lower",
            f"share of waits for staff that ended in the customer giving up ({who})")
        add(f"waiting.{scope}.case_abandonment", "share", "lower",
            f"share of cases whose customer gave up ({who})")
        add(f"waiting.{scope}.asa", "minutes", "lower",
            f"average speed of answer: mean wait of served work ({who})")
        add(f"waiting.{scope}.mean_wait_all", "minutes", "lower",
            f"mean wait of all work offered, abandoned included ({who})")
        for stat in ("mean", "p50", "p90", "p95"):
            add(f"waiting.{scope}.wait.{stat}", "minutes", "lower",
                f"{stat} wait of served work ({who})")
        for label in _thresholds(loaded):
            add(f"waiting.{scope}.service_level.{label}", "share", "higher",
                f"share of work served within {label} ({who})")
        prefix = "" if scope == "all" else f"{scope}."
        add(f"{prefix}delay", "share", "lower", f"share of work that waited at all ({who})")
        add(f"{prefix}wait.p(>T)", "share", "lower",
            f"share of work not served within T, e.g. 20m ({who})")
    for pool in loaded.staffing:
        add(f"pool.{pool}.delay", "share", "lower",
            "share of the work this pool may serve that waited at all")
        add(f"pool.{pool}.wait.p(>T)", "share", "lower",
            "share of the work this pool may serve not served within T")
        add(f"pool.{pool}.asa", "minutes", "lower",
            "mean wait of the served work this pool may serve")
        add(f"pool.{pool}.abandonment", "share", "lower",
            "share of the waits for this pool's work that ended in giving up")
        for window in WINDOWS:
            add(f"utilisation.{pool}.{window}.utilisation", "share", None,
                f"busy / on-duty time of {pool} ({window} window)")
    for sku in loaded.scenario.parts:
        for window in WINDOWS:
            add(f"stock.{sku}.{window}.fill_rate", "share", "higher",
                f"units of {sku} filled from the shelf at once / units asked for ({window})")
            add(f"stock.{sku}.{window}.out_minutes", "minutes", "lower",
                f"minutes {sku} was out of stock ({window})")
            add(f"stock.{sku}.{window}.out_share", "share", "lower",
                f"share of the time {sku} was out of stock ({window})")
    for window in WINDOWS:
        for part in (*COST_PARTS, "sla_penalties", "total"):
            add(f"costs.{window}.{part}", "money", None, f"{part} cost ({window} window)")
    add("incidents.open_at_end", "number", "lower", "cases still open at the end of the run")
    add("incidents.abandoned", "number", "lower", "cases whose customer gave up")
    add("incidents.mean_time_in_system", "minutes", "lower", "mean minutes open to closed")
    for stat in ("mean", "p50", "p90", "p95"):
        add(f"incidents.staff_wait.{stat}", "minutes", "lower",
            f"{stat} wait for staff of each piece of served work")
    add("escalations.total", "number", "lower", "escalation events")
    add("escalations.cases", "number", "lower", "cases escalated at least once")
    add("emergency.max_rank", "number", "lower", "highest emergency level reached (0: none)")
    add("communications.on_time_share", "share", "higher", "messages sent by their due time")
    add("complaints.generated", "number", "lower", "complaints opened")
    add("complaints.per_1000_incidents", "number", "lower", "complaints per 1000 incidents")
    return out


def aliases(loaded: LoadedScenario) -> dict[str, str]:
    """Short names people write -> canonical names: `VIP.acknowledge.attainment`,
    `abandonment`, `asa`, `VIP.abandonment`, `stock.SKU.fill_rate` (the measured window),
    `utilisation.POOL` (while incidents arrive), `cost` (measured resource cost)."""
    out: dict[str, str] = {}
    for tier in TIERS:
        for ms in _milestones(loaded):
            out[f"{tier}.{ms}.attainment"] = f"sla.{tier}.{ms}.attainment"
            out[f"{tier}.{ms}"] = f"sla.{tier}.{ms}.attainment"
    for scope in (*TIERS, "all"):
        prefix = "" if scope == "all" else f"{scope}."
        for name in ("abandonment", "asa", "mean_wait_all"):
            out[f"{prefix}{name}"] = f"waiting.{scope}.{name}"
        for label in _thresholds(loaded):
            out[f"{prefix}service_level.{label}"] = f"waiting.{scope}.service_level.{label}"
    for pool in loaded.staffing:
        out[f"utilisation.{pool}"] = f"utilisation.{pool}.arrivals.utilisation"
    for sku in loaded.scenario.parts:
        for name in ("fill_rate", "out_minutes", "out_share"):
            out[f"stock.{sku}.{name}"] = f"stock.{sku}.measured.{name}"
    return out


def wait_metric(name: str, loaded: LoadedScenario) -> tuple[str, float] | None:
    """(canonical family, minutes) of a `...wait.p(>T)` name, or None if it is not one.
    Raises ValueError for an unreadable T."""
    m = WAIT_RE.match(name)
    if m is None:
        return None
    scope = m["scope"]
    tau_text = m["tau"]
    try:
        tau = Duration.parse(tau_text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot read the wait threshold {tau_text!r} in {name!r}: write "
                         f"a time such as 20s, 20m or 2h") from exc
    if tau.is_working:
        raise ValueError(f"{name!r}: a wait threshold is wall-clock time, not working time")
    family = f"{scope}.wait.p(>T)" if scope else "wait.p(>T)"
    return family, tau.wall_minutes


def resolve_metric(name: str, loaded: LoadedScenario) -> tuple[str, MetricInfo] | None:
    """The canonical name and info of what `name` means, or None when nothing matches.
    A `wait.p(>T)` name keeps its threshold, written canonically (`wait.p(>20m)`)."""
    table = catalogue(loaded)
    name = name.strip()
    name = aliases(loaded).get(name, name)
    if name in table and "(>T)" not in name:
        return name, table[name]
    written = _service_level_as_written(name, loaded)
    if written is not None:
        return written, table[written]
    found = wait_metric(name, loaded)
    if found is None:
        return None
    family, tau = found
    if family not in table:
        return None
    canonical = family.replace("(>T)", f"(>{threshold_label(tau)})")
    info = table[family]
    return canonical, MetricInfo(canonical, info.unit, info.better, info.help)


def _service_level_as_written(name: str, loaded: LoadedScenario) -> str | None:
    """`service_level.1m` for a threshold the scenario writes `60s` (any spelling of the
    same time): the canonical name, or None."""
    head, dot, tail = name.rpartition("service_level.")
    if not dot:
        return None
    try:
        minutes = Duration.parse(tail).wall_minutes
    except (ValueError, TypeError):
        return None
    for label, m in service_levels(loaded.scenario.service_level):
        if abs(m - minutes) < 1e-9:
            again = aliases(loaded).get(f"{head}service_level.{label}",
                                        f"{head}service_level.{label}")
            return again if again in catalogue(loaded) else None
    return None


def suggest_metric(name: str, loaded: LoadedScenario) -> str:
    """A "did you mean" for a metric name, parameterised ones included: `wiat.p(>20s)`
    and `tier3.wait.p(>20s)` are compared as the family they would belong to
    (`wait.p(>T)`, `tier2.wait.p(>T)`) and suggested with the user's own threshold."""
    names = [*catalogue(loaded), *aliases(loaded)]
    m = re.match(r"^(?P<head>.*?)\(\s*>\s*(?P<tau>[^)]*?)\s*\)$", name.strip())
    if m is None:
        return suggest(name, [n for n in names if "(>T)" not in n])
    family = f"{m['head']}(>T)"
    hint = suggest(family, [n for n in names if "(>T)" in n])
    return hint.replace("(>T)", f"(>{m['tau']})")


def work_pools(loaded: LoadedScenario) -> dict[tuple[str, str], tuple[str, ...]]:
    """(kind, state) -> the pools that may do that state's work (the queue it waits in)."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for kind, pb in loaded.playbooks.items():
        for state, st in pb.lifecycle.states.items():
            if st.work is not None:
                out[(kind, state)] = tuple(eligible_pools(
                    pb, state, st.work.role, st.work.skill, loaded.staffing, loaded.playbooks))
    return out


@dataclass(frozen=True)
class Waits:
    """Every ended wait of counted cases: its start minute, length, how it ended, the
    case's tier, and whether each pool may serve it."""

    start: np.ndarray
    wait: np.ndarray
    served: np.ndarray
    tier: np.ndarray
    eligible: dict[str, np.ndarray]


def waits_of(results: Results, log: LogView | None = None, counted_only: bool = True) -> Waits:
    """The waits of a run (see `Waits`); `counted_only`: cases opened after the warm-up."""
    log = log or LogView(results.log)
    cases = results.cases.columns()
    counted = cases["opened"] >= results.warmup if counted_only else \
        np.ones(len(cases["opened"]), dtype=bool)
    served, gave_up = log("assigned"), log("abandoned")
    ks, ka = case_mask(served["case"], counted), case_mask(gave_up["case"], counted)
    case = np.concatenate([served["case"][ks], gave_up["case"][ka]]).astype(np.int64)
    state = np.concatenate([served["b"][ks], gave_up["a"][ka]]).astype(np.int64)
    t = np.concatenate([served["t"][ks], gave_up["t"][ka]])
    wait = np.concatenate([served["x"][ks], gave_up["x"][ka]])
    is_served = np.concatenate([np.ones(int(ks.sum()), bool), np.zeros(int(ka.sum()), bool)])
    kind = cases["kind"].astype(np.int64)[case] if case.size else case
    tier = cases["tier"].astype(np.int64)[case] if case.size else case
    kinds = list(results.kinds)
    names = log.names
    queues = work_pools(results.scenario)
    eligible: dict[str, np.ndarray] = {}
    for pool in results.scenario.staffing:
        table = np.zeros((max(len(kinds), 1), max(len(names), 1)), dtype=bool)
        for (k, s), pools in queues.items():
            code = log.code(s)
            if pool in pools and code >= 0 and k in kinds:
                table[kinds.index(k), code] = True
        eligible[pool] = table[kind, state] if case.size else np.zeros(0, bool)
    return Waits(start=t - wait, wait=wait, served=is_served, tier=tier, eligible=eligible)


def is_queue_metric(name: str) -> bool:
    """Whether a canonical name is one of the queue measures sizing reads from the log."""
    return name.startswith("pool.") or "wait.p(" in name or \
        name in ("delay", *(f"{tier}.delay" for tier in TIERS))


def _share(flag: np.ndarray) -> float | None:
    return float(flag.mean()) if flag.size else None


def _queue_value(name: str, w: Waits) -> float | None:
    """One sizing queue measure (`delay`, `wait.p(>T)`, `pool.P.asa`, ...) from the waits."""
    parts = name.split(".")
    mask = np.ones(w.wait.shape, dtype=bool)
    rest = name
    if parts[0] == "pool":
        pool = next(p for p in sorted(w.eligible, key=len, reverse=True)
                    if name.startswith(f"pool.{p}."))
        mask = w.eligible[pool]
        rest = name[len(f"pool.{pool}."):]
    elif parts[0] in TIERS:
        mask = w.tier == TIERS.index(parts[0])
        rest = name[len(parts[0]) + 1:]
    wait, served = w.wait[mask], w.served[mask]
    if rest == "delay":
        return _share((wait > 1e-9) | ~served)
    if rest == "asa":
        return float(wait[served].mean()) if served.any() else None
    if rest == "abandonment":
        return _share(~served)
    m = WAIT_RE.match(rest)
    if m is None:
        raise KeyError(name)
    tau = Duration.parse(m["tau"]).wall_minutes
    return _share(~(served & (wait <= tau + 1e-9)))


def _lookup(tree: dict[str, Any], name: str) -> Any:
    """A value of the metrics dict by canonical dotted name; the keys after the root may
    contain dots (pool and SKU names), so each level is matched against its real keys."""
    node: Any = tree
    rest = name
    while rest:
        if not isinstance(node, dict):
            return None
        key = next((k for k in sorted(node, key=len, reverse=True)
                    if rest == k or rest.startswith(f"{k}.")), None)
        if key is None:
            return None
        node = node[key]
        rest = rest[len(key) + 1:]
    return node


def measure(results: Results, names: list[str]) -> dict[str, float | None]:
    """The value of each canonical metric name in one replication (None: undefined there,
    e.g. an attainment with nothing judged)."""
    tree = compute(results)
    log = LogView(results.log)
    waits: Waits | None = None
    out: dict[str, float | None] = {}
    for name in names:
        value: Any
        if is_queue_metric(name):
            waits = waits or waits_of(results, log)
            value = _queue_value(name, waits)
        else:
            value = _lookup(tree, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out[name] = None
        else:
            out[name] = float(value) if math.isfinite(float(value)) else None
    return out

"""What a planner writes: targets (`VIP.acknowledge.attainment >= 95%`) and varies
(`staffing.现场技术组.headcount=10..30`), parsed and checked against the scenario.

Every mistake is refused here, before anything runs, with the nearest valid names: a
misspelt metric or path, a value in the wrong unit (`abandonment <= 2h`), a share written as
95 rather than 95% or 0.95, an empty or endless range.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from incidents.model import MAX_HEADCOUNT, MAX_UNITS
from incidents.sla import Duration
from incidents.source import suggest
from simulation.errors import SimulationError
from simulation.results.waiting import threshold_label
from simulation.scenario.loader import LoadedScenario
from simulation.sizing.measures import (MetricInfo, resolve_metric,
                                        suggest_metric)

__all__ = ["Target", "Knob", "parse_target", "parse_vary", "vary_paths", "MAX_CONFIGS",
           "KnobKind", "format_value"]

MAX_CONFIGS = 10_000
"""Most configurations one question may span (the product of the varies' ranges)."""

KnobKind = Literal["headcount", "shift", "overtime", "crew", "initial", "policy", "servers"]

_OPS = {">=": ">=", "≥": ">=", "=>": ">=", ">": ">=", "<=": "<=", "≤": "<=", "=<": "<=",
        "<": "<="}


@dataclass(frozen=True)
class Target:
    """A constraint on the expected value of one metric: `metric op threshold`; estimates
    within `tolerance` of the threshold are too close to call."""

    text: str
    metric: str
    info: MetricInfo
    op: Literal[">=", "<="]
    threshold: float
    tolerance: float

    @property
    def monotone(self) -> bool:
        """Whether more resources can only help: `>=` on a higher-is-better metric, or
        `<=` on a lower-is-better one."""
        return (self.op == ">=" and self.info.better == "higher") or \
            (self.op == "<=" and self.info.better == "lower")

    def show(self, value: float | None) -> str:
        return format_value(value, self.info.unit)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.show(self.threshold)}"


def format_value(value: float | None, unit: str) -> str:
    """A value as people read it: shares in %, minutes as a duration, money rounded."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "share":
        return f"{100 * value:.2f}%"
    if unit == "minutes":
        return threshold_label(value) if value > 0 and \
            float(round(value * 60, 6)).is_integer() else f"{value:.1f}m"
    if unit == "money":
        return f"{value:,.0f}"
    return f"{value:g}"


def _amount(text: str, info: MetricInfo, where: str) -> float:
    """A threshold or tolerance in the metric's unit: 95% or 0.95 for shares, 2h or 120
    (minutes) for times, a number otherwise."""
    text = text.strip()
    if not text:
        raise SimulationError(f"{where}: missing value")
    if info.unit == "share":
        try:
            value = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError:
            raise SimulationError(f"{where}: {text!r} is not a share: write 95% or "
                                  f"0.95") from None
        if not 0.0 <= value <= 1.0 or not math.isfinite(value):
            raise SimulationError(f"{where}: a share is between 0 and 1 (0% and 100%), "
                                  f"got {text!r}; write 95% or 0.95")
        return value
    if info.unit == "minutes":
        if text.endswith("%"):
            raise SimulationError(f"{where}: {info.name} is a time: write e.g. 20m or 2h, "
                                  f"not {text!r}")
        try:
            duration = Duration.parse(text)
        except (ValueError, TypeError) as exc:
            raise SimulationError(f"{where}: cannot read {text!r} as a time: write e.g. "
                                  f"45s, 20m, 2h or 1.5d ({exc})") from None
        if duration.is_working:
            raise SimulationError(f"{where}: give wall-clock time, not working time")
        return duration.wall_minutes
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise SimulationError(f"{where}: {text!r} is not a number ({info.name} is a "
                              f"{'sum of money' if info.unit == 'money' else 'count'})") \
            from None
    if not math.isfinite(value):
        raise SimulationError(f"{where}: {text!r} is not a finite number")
    return value


def default_tolerance(info: MetricInfo, threshold: float) -> float:
    """One percentage point for shares, 1% of the threshold otherwise (at least 1e-9)."""
    if info.unit == "share":
        return 0.01
    return max(abs(threshold) * 0.01, 1e-9)


def _split_target(text: str) -> dict[str, str] | None:
    """metric, op, value and tolerance of a target: the comparison is the first operator
    outside parentheses (`wait.p(>20m) <= 0.2` compares at `<=`)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth or ch not in "<>=≥≤":
            continue
        op = text[i:i + 2] if text[i:i + 2] in _OPS else ch
        if op not in _OPS:
            return None
        rest = text[i + len(op):]
        value, tol = (re.split(r"±|\+/-|\+-", rest, maxsplit=1) + [""])[:2]
        metric = text[:i].strip()
        if not metric or not value.strip():
            return None
        return {"metric": metric, "op": op, "value": value.strip(), "tol": tol.strip()}
    return None


def parse_target(text: str, loaded: LoadedScenario) -> Target:
    """`METRIC OP VALUE [± TOLERANCE]`, e.g. `VIP.acknowledge.attainment >= 95%`,
    `asa <= 2h`, `wait.p(>20m) <= 0.2 ± 0.5%`."""
    where = f"--target {text!r}"
    m = _split_target(text)
    if m is None:
        raise SimulationError(f"{where}: write METRIC >= VALUE or METRIC <= VALUE, e.g. "
                              f"'VIP.acknowledge.attainment >= 95%' or 'asa <= 2h'")
    name = m["metric"]
    try:
        found = resolve_metric(name, loaded)
    except ValueError as exc:
        raise SimulationError(f"{where}: {exc}") from None
    if found is None:
        raise SimulationError(f"{where}: unknown metric {name!r}"
                              f"{suggest_metric(name, loaded)}; "
                              f"`muster size SCENARIO --list-metrics` lists every one")
    metric, info = found
    threshold = _amount(m["value"], info, where)
    tolerance = _amount(m["tol"], info, where) if m["tol"] else \
        default_tolerance(info, threshold)
    if tolerance <= 0:
        raise SimulationError(f"{where}: the tolerance must be more than zero")
    op: Literal[">=", "<="] = ">=" if _OPS[m["op"]] == ">=" else "<="
    return Target(text=text.strip(), metric=metric, info=info, op=op, threshold=threshold,
                  tolerance=tolerance)


@dataclass(frozen=True)
class Knob:
    """One resource that varies: where it is in the scenario and the levels to try
    (ascending). More of any knob is more resource: more people, hours or units."""

    path: str
    kind: KnobKind
    name: str
    """The pool or SKU."""
    values: tuple[float, ...]
    index: int = -1
    """The shift (kind `shift`)."""
    param: str = ""
    """The policy parameter (kind `policy`): s, S, Q or level."""
    integer: bool = True

    def show(self, value: float) -> str:
        return f"{int(value)}" if self.integer else f"{value:g}"


def vary_paths(loaded: LoadedScenario) -> dict[str, tuple[KnobKind, str, int, str, bool]]:
    """Every path a vary can name in this scenario -> (kind, pool or SKU, shift index,
    policy parameter, integer values)."""
    out: dict[str, tuple[KnobKind, str, int, str, bool]] = {}
    sc = loaded.scenario
    if sc.queue is not None:
        out["queue.servers"] = ("servers", "servers", -1, "", True)
    for pool, spec in sc.staffing.items():
        if spec.contractor:
            out[f"staffing.{pool}.crew"] = ("crew", pool, -1, "", True)
            continue
        out[f"staffing.{pool}.headcount"] = ("headcount", pool, -1, "", True)
        for i, _ in enumerate(spec.shifts):
            out[f"staffing.{pool}.shifts.{i}.headcount"] = ("shift", pool, i, "", True)
        out[f"staffing.{pool}.overtime_hours_per_day"] = ("overtime", pool, -1, "", False)
    for sku, part in sc.parts.items():
        out[f"parts.{sku}.initial"] = ("initial", sku, -1, "", True)
        for param in {"sS": ("s", "S"), "sQ": ("s", "Q"), "base_stock": ("level",),
                      "none": ()}[part.policy.type]:
            out[f"parts.{sku}.policy.{param}"] = ("policy", sku, -1, param, True)
    return out


_LIMITS: dict[str, tuple[float, float]] = {
    "headcount": (0, MAX_HEADCOUNT), "shift": (0, MAX_HEADCOUNT), "crew": (0, MAX_HEADCOUNT),
    "servers": (1, MAX_HEADCOUNT), "overtime": (0, 12), "initial": (0, MAX_UNITS),
    "policy": (0, MAX_UNITS)}


def _numbers(text: str, integer: bool, where: str) -> tuple[float, ...]:
    """`A..B`, `A..B:STEP`, `A,B,C` or `A` -> the ascending levels."""
    text = text.strip()

    def num(part: str) -> float:
        try:
            value = float(part.strip().replace("_", ""))
        except ValueError:
            raise SimulationError(f"{where}: {part.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise SimulationError(f"{where}: {part.strip()!r} is not a finite number")
        if integer and not value.is_integer():
            raise SimulationError(f"{where}: this takes whole numbers, not {part.strip()!r}")
        return value

    if ".." in text:
        span, _, step_text = text.partition(":")
        lo_text, _, hi_text = span.partition("..")
        lo, hi = num(lo_text), num(hi_text)
        step = num(step_text) if step_text else 1.0
        if step <= 0:
            raise SimulationError(f"{where}: the step must be more than zero")
        if hi < lo:
            raise SimulationError(f"{where}: the range {text} runs backwards; write LOW..HIGH")
        count = math.floor((hi - lo) / step + 1e-9) + 1
        if count > MAX_CONFIGS:
            raise SimulationError(f"{where}: {count:,} levels is more than the limit of "
                                  f"{MAX_CONFIGS:,}; use a coarser step (A..B:STEP)")
        values = [lo + k * step for k in range(count)]
        return tuple(round(v) if integer else round(v, 9) for v in values)
    values = sorted({num(p) for p in text.split(",") if p.strip()})
    if not values:
        raise SimulationError(f"{where}: no levels given; write A..B, A..B:STEP or A,B,C")
    return tuple(values)


def parse_vary(text: str, loaded: LoadedScenario) -> Knob:
    """`PATH=LEVELS`, e.g. `staffing.现场技术组.headcount=10..30`,
    `parts.FLR-OAK-1210.initial=2000..10000:1000`, `queue.servers=2,3,4`."""
    where = f"--vary {text!r}"
    path, eq, levels = text.partition("=")
    path = path.strip()
    if not eq or not levels.strip():
        raise SimulationError(f"{where}: write PATH=LOW..HIGH[:STEP] or PATH=A,B,C, e.g. "
                              f"staffing.POOL.headcount=10..30")
    paths = vary_paths(loaded)
    if path not in paths:
        raise SimulationError(f"{where}: cannot vary {path!r}{suggest(path, paths)}; "
                              f"`muster size SCENARIO --list-metrics` lists the paths this "
                              f"scenario has")
    kind, name, index, param, integer = paths[path]
    values = _numbers(levels, integer, where)
    lo, hi = _LIMITS[kind]
    bad = [v for v in values if not lo <= v <= hi]
    if bad:
        raise SimulationError(f"{where}: {path} must be between {lo:g} and {hi:g}, got "
                              f"{bad[0]:g}")
    return Knob(path=path, kind=kind, name=name, values=values, index=index, param=param,
                integer=integer)

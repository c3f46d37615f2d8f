"""The report's figures: PNG files drawn with matplotlib, headless.

Figures are built with the object API (`matplotlib.figure.Figure`, rendered by Agg), never
pyplot: no display is needed, no global figure state is left behind, and plotting from a
worker thread is safe. Fonts: SKU, product, pool and state names may be Chinese, so the first
CJK font found is put right after the default one, which matplotlib falls back to glyph by
glyph; on a machine without one the names still plot (as boxes), and nothing crashes or
warns.

Each plot reads the summary of the replications (means with 95% confidence half-widths);
time series come from replication 1, since the replications' samples need not line up.
"""

from __future__ import annotations

import logging
import re
import warnings
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from simulation.model.arrivals import _offset, rate_at, surge_factor
from simulation.scenario.loader import LoadedScenario
from simulation.results.metrics import TIERS
from simulation.scenario.model import Demand, Surge

__all__ = ["CJK_FONTS", "make_plots", "surge_spans", "cjk_font"]

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
             "SimHei", "Microsoft YaHei", "PingFang SC", "Source Han Sans SC")
_CJK_FILE = re.compile(r"(?i)(noto\w*cjk|notosanssc|wqy|simhei|msyh|pingfang|sourcehansans)")
SURGE_THRESHOLD = 1.05
"""A period is shaded as a surge where the demand multiplier exceeds this."""
TIER_COLOURS = {"VIP": "#b2182b", "tier1": "#ef8a62", "tier2": "#67a9cf"}
DPI = 110


@cache
def cjk_font() -> str | None:
    """The first installed font that can show Chinese, or None (looked up once a process).

    matplotlib caches its font list on first use, so a CJK font installed since then is
    not in it; the system font folders are searched once for one and added.
    """
    def known() -> str | None:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in installed), None)

    found = known()
    if found is None:
        for path in font_manager.findSystemFonts():
            if _CJK_FILE.search(Path(path).name):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue  # unreadable font file: try the next
        found = known()
    return found


@contextmanager
def _style() -> Iterator[None]:
    """Plot settings for this module only (rc_context), CJK font first when there is one."""
    font = cjk_font()  # after DejaVu (shipped with matplotlib): CJK glyphs fall back to it
    families = ["DejaVu Sans", *([font] if font else [])]
    rc = {"font.family": families, "axes.grid": True,
          "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
          "font.size": 9}
    fm_log = logging.getLogger("matplotlib.font_manager")
    level = fm_log.level
    fm_log.setLevel(logging.ERROR)  # "findfont: ..." chatter when a family is missing
    try:
        with matplotlib.rc_context(rc), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Glyph .* missing from font")
            warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
            yield
    finally:
        fm_log.setLevel(level)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def _mean(stat: Any) -> float:
    return float(stat["mean"]) if isinstance(stat, dict) and stat.get("mean") is not None \
        else float("nan")


def _half(stat: Any) -> float:
    return float(stat["half_width"]) if isinstance(stat, dict) and \
        stat.get("half_width") is not None else 0.0


def _time_axis(end: float) -> tuple[float, str]:
    """Divisor and label for model minutes: hours for short runs, days for long ones."""
    return (60.0, "hours since scenario start") if end <= 4 * 1440 else \
        (1440.0, "days since scenario start")


# -- surges ----------------------------------------------------------------------------------

def _demand_model(loaded: LoadedScenario) -> tuple[Demand, list[Surge]] | None:
    """The demand the model draws arrivals from, as `model.run` builds it (None: replayed
    history, which has no rate and no surges)."""
    sc = loaded.scenario
    if loaded.replay is not None:
        return None
    spikes = [Surge(kind="step", start=i.at, factor=i.factor, duration=i.duration)
              for i in sc.injects if i.kind == "demand_spike"]
    demand = sc.demand if sc.queue is None else Demand(base_rate=sc.queue.arrival_rate)
    return demand, spikes


def surge_spans(loaded: LoadedScenario, end: float) -> list[tuple[float, float]]:
    """[start, end) model-minute spans before `end` (the horizon: later, nobody arrives)
    where surges and demand spikes multiply the rate by more than SURGE_THRESHOLD (to a
    one-minute resolution)."""
    model = _demand_model(loaded)
    surges = [*model[0].surges, *model[1]] if model else []
    if not surges or end <= 0:
        return []
    t = np.arange(0.0, end, 1.0)
    factor = np.ones_like(t)
    for s in surges:
        factor *= surge_factor(s, t, loaded.scenario.start)
    high = np.concatenate([[False], factor > SURGE_THRESHOLD, [False]])
    edges = np.flatnonzero(high[1:] != high[:-1])
    return [(float(t[a]), float(t[b - 1] + 1.0)) for a, b in zip(edges[::2], edges[1::2])]


def _shade(ax: Axes, spans: list[tuple[float, float]], unit: float, label: bool) -> None:
    for i, (a, b) in enumerate(spans):
        ax.axvspan(a / unit, b / unit, color="#fdb863", alpha=0.3, lw=0,
                   label="surge (demand x > 1.05)" if label and i == 0 else None)


# -- the plots -------------------------------------------------------------------------------

def _demand(out: Path, loaded: LoadedScenario, summary: dict[str, Any]) -> Path | None:
    backlog = summary["backlog"]
    minutes = np.asarray(backlog["minute"], dtype=float)
    if minutes.size == 0:
        return None
    end = float(_mean(summary["run"]["end_minutes"]))
    unit, label = _time_axis(end)
    spans = surge_spans(loaded, float(_mean(summary["run"]["horizon_minutes"])))
    fig = Figure(figsize=(10, 6.2))
    top, bottom = fig.subplots(2, 1, sharex=True)
    width = np.diff(np.concatenate([[0.0], minutes]))
    top.bar((minutes - width) / unit, backlog["arrivals_per_hour"], width=width / unit,
            align="edge", color="#4393c3", alpha=0.8, label="arrivals (replication 1)")
    model = _demand_model(loaded)
    if model is not None:
        grid = np.linspace(0.0, float(_mean(summary["run"]["horizon_minutes"])), 1200)
        rate = rate_at(model[0], grid, loaded.scenario.start,
                       ZoneInfo(loaded.calendar.timezone), model[1])
        top.plot(grid / unit, rate, color="#053061", lw=1.2, label="expected rate")
    _shade(top, spans, unit, label=True)
    top.set_ylabel("arrivals per hour")
    top.set_title("Incident arrivals per hour, with surge periods shaded" if spans else
                  "Incident arrivals per hour (no surge in this scenario)")
    top.legend(loc="upper right", fontsize=8)
    bottom.step(minutes / unit, backlog["open"], where="post", color="#b2182b", lw=1.2,
                label="open incidents (replication 1)")
    _shade(bottom, spans, unit, label=False)
    for i, inject in enumerate(j for j in loaded.scenario.injects if j.kind != "demand_spike"):
        at = _offset(inject.at, loaded.scenario.start)
        bottom.axvline(at / unit, color="#762a83", ls=":", lw=1.2,
                       label="inject (absence, stock loss, outage)" if i == 0 else None)
    horizon = float(_mean(summary["run"]["horizon_minutes"]))
    if horizon < end:
        bottom.axvline(horizon / unit, color="grey", ls="--", lw=1, label="arrivals stop")
    bottom.set_ylabel("open incidents (count)")
    bottom.set_xlabel(label)
    bottom.set_title("Open backlog over time")
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return _save(fig, out / "demand.png")


def _sla(out: Path, summary: dict[str, Any]) -> Path | None:
    sla = summary["sla"]
    milestones = [ms for ms in next(iter(sla.values()), {})
                  if any(_mean(sla[t][ms]["judged"]) > 0 for t in sla)]
    if not milestones:
        return None
    fig = Figure(figsize=(max(6.0, 1.9 * len(milestones) + 2), 4.2))
    ax = fig.subplots()
    x = np.arange(len(milestones))
    width = 0.8 / len(TIERS)
    for i, tier in enumerate(TIERS):
        means = np.array([100 * _mean(sla[tier][ms]["attainment"]) for ms in milestones])
        halves = np.array([100 * _half(sla[tier][ms]["attainment"]) for ms in milestones])
        # The interval is clipped to 0..100%: a share cannot leave it.
        err = np.nan_to_num(np.vstack([np.minimum(halves, means), np.minimum(halves, 100 - means)]))
        ax.bar(x + (i - 1) * width, means, width, yerr=err, capsize=3,
               color=TIER_COLOURS[tier], label=tier, error_kw={"lw": 1})
        for xi, mean, up in zip(x + (i - 1) * width, means, err[1]):
            if np.isnan(mean):  # near-equal bars need the number; kept clear of the CI
                continue
            tall = mean >= 25
            ax.text(xi, 3 if tall else mean + up + 1, f"{mean:.1f}", rotation=90, ha="center",
                    va="bottom", fontsize=7, color="white" if tall else "black")
    ax.set_xticks(x, [ms.replace("_", " ") for ms in milestones])
    ax.set_axisbelow(True)
    ax.set_ylim(0, 108)
    ax.set_ylabel("milestones met on time (%)")
    ax.set_xlabel("milestone")
    ax.set_title("SLA attainment per tier and milestone (mean, 95% CI)")
    ax.legend(title="tier", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return _save(fig, out / "sla.png")


def _utilisation(out: Path, summary: dict[str, Any]) -> Path | None:
    pools = summary["utilisation"]
    if not pools:
        return None
    names = list(pools)
    means = [100 * _mean(pools[p]["utilisation"]) for p in names]
    halves = [100 * _half(pools[p]["utilisation"]) for p in names]
    fig = Figure(figsize=(8, 0.5 * len(names) + 1.6))
    ax = fig.subplots()
    y = np.arange(len(names))
    ax.barh(y, np.nan_to_num(means), xerr=halves, capsize=3, color="#4393c3",
            error_kw={"lw": 1})
    ax.set_axisbelow(True)
    ticks = [f"{p}\n(never on duty)" if np.isnan(m) else f"{p}\n{m:.0f}%"
             for p, m in zip(names, means)]
    ax.set_yticks(y, ticks)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("busy share of on-duty staff time (%)")
    ax.set_title("Staff utilisation per pool (mean, 95% CI)")
    fig.tight_layout()
    return _save(fig, out / "utilisation.png")


def _part_names(loaded: LoadedScenario) -> dict[str, str]:
    names: dict[str, str] = {}
    for pb in loaded.playbooks.values():
        for sku, part in pb.parts.items():
            names.setdefault(sku, part.name)
    for entry in loaded.mix.values():
        for p in entry.products:
            if p.sku:
                names.setdefault(p.sku, p.name)
    return names


def _stock(out: Path, loaded: LoadedScenario, summary: dict[str, Any]) -> Path | None:
    stock = summary["stock"]
    if not stock:
        return None
    end = float(_mean(summary["run"]["end_minutes"]))
    unit, label = _time_axis(end)
    names = _part_names(loaded)
    cols = 1 if len(stock) == 1 else 2
    rows = (len(stock) + cols - 1) // cols
    fig = Figure(figsize=(10 if cols == 2 else 8, 2.8 * rows + 0.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (sku, s) in zip(axes, stock.items()):
        t = np.asarray(s["series"]["minute"], dtype=float)
        level = np.asarray(s["series"]["on_hand"], dtype=float)
        ax.step(np.append(t, end) / unit, np.append(level, level[-1] if level.size else 0),
                where="post", color="#2166ac", lw=1.2, label="units on hand")
        if _mean(s["reorder_point"]) > 0:  # 0: no reorder policy, nothing to draw
            ax.axhline(_mean(s["reorder_point"]), color="#d6604d", ls="--", lw=1,
                       label="reorder point")
        title = [sku] + ([names[sku]] if names.get(sku, sku) != sku else [])
        fill = _mean(s["fill_rate"])
        if not np.isnan(fill):
            title.append(f"fill rate {fill:.0%} (mean)")
        ax.set_title(" · ".join(title), fontsize=9)
        ax.set_ylabel("units on hand")
        ax.set_ylim(0, max(float(level.max(initial=0.0)), _mean(s["reorder_point"]), 1.0) * 1.1)
        ax.set_xlim(0, end / unit)
        ax.set_xlabel(label)
    for ax in axes[len(stock):]:
        ax.set_visible(False)
    legend: dict[str, Any] = {}
    for ax in axes[:len(stock)]:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(text, handle)
    handles, labels = list(legend.values()), list(legend)
    fig.suptitle("Stock level per SKU over time (replication 1)", fontsize=11)
    fig.legend(handles, labels, loc="outside lower center", fontsize=8, ncols=2)
    return _save(fig, out / "stock.png")


COST_LABELS = {"wages": "wages", "contractors": "contractors", "overtime": "overtime",
               "parts": "parts", "transfers": "parts transfers", "sla_penalties": "SLA penalties"}


def _costs(out: Path, summary: dict[str, Any]) -> Path | None:
    costs = summary["costs"]
    if not _mean(costs["total"]):
        return None  # nothing costed: an empty chart says nothing
    keys = list(COST_LABELS)
    means = [_mean(costs[k]) for k in keys]
    halves = [_half(costs[k]) for k in keys]
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    x = np.arange(len(keys))
    ax.bar(x, means, yerr=halves, capsize=3, color="#878787", error_kw={"lw": 1})
    for xi, m, h in zip(x, means, halves):  # above the error bar, not through it
        ax.annotate(f"{m:,.0f}", (xi, m + h), xytext=(0, 3), textcoords="offset points",
                    ha="center", fontsize=8)
    ax.set_xticks(x, [COST_LABELS[k] for k in keys])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_axisbelow(True)
    ax.set_ylabel("cost over the run (currency units)")
    ax.set_title(f"Cost breakdown per replication (mean, 95% CI); total "
                 f"{_mean(costs['total']):,.0f}")
    ax.margins(y=0.15)
    fig.tight_layout()
    return _save(fig, out / "costs.png")


def _emergency(out: Path, loaded: LoadedScenario, summary: dict[str, Any]) -> Path | None:
    em = summary["emergency"]
    timeline = em["timeline"]
    if not timeline:
        return None
    levels: list[str] = list(em["levels"])
    end = float(_mean(summary["run"]["end_minutes"]))
    unit, label = _time_axis(end)
    t = [0.0, *(e["minute"] for e in timeline), end]
    ranks = [0, *(levels.index(e["level"]) for e in timeline)]
    ranks.append(ranks[-1])
    fig = Figure(figsize=(10, 3.2))
    ax = fig.subplots()
    ax.step(np.asarray(t) / unit, ranks, where="post", color="#b2182b", lw=1.6)
    ax.fill_between(np.asarray(t) / unit, ranks, step="post", color="#b2182b", alpha=0.15)
    labels = {}
    lead = loaded.playbooks.get(next(iter(loaded.mix), ""))
    if lead is not None:
        labels = {name: spec.label for name, spec in lead.emergency.levels.items()}
    ax.set_yticks(range(len(levels)),
                  [f"{lv} ({labels[lv]})" if labels.get(lv) else lv for lv in levels])
    ax.set_ylim(-0.2, len(levels) - 0.6)
    ax.set_xlim(0, end / unit)
    ax.set_ylabel("emergency level")
    ax.set_xlabel(label)
    ax.set_title("Operation-wide emergency level over time (replication 1)")
    fig.tight_layout()
    return _save(fig, out / "emergency.png")


def make_plots(out_dir: Path, loaded: LoadedScenario, summary: dict[str, Any]) -> list[Path]:
    """Draw every plot the data supports into `out_dir`; the PNGs written, in report order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with _style():
        made = [_demand(out_dir, loaded, summary), _sla(out_dir, summary),
                _utilisation(out_dir, summary), _stock(out_dir, loaded, summary),
                _costs(out_dir, summary), _emergency(out_dir, loaded, summary)]
    return [p for p in made if p is not None]

"""Sizing's figures: a metric against the resource level with its interval band and the
target line, a heatmap for two resources, cost against the metric, and the hourly plan.

Drawn with the object API (no pyplot state) in the report's plot style
(`simulation.results.plots.plot_style`: DejaVu, then a CJK font, so pool and SKU names in
Chinese render; SVG text kept as text). Each figure is written as PNG and SVG. Characters no
font has are reported once, through `warn`, as the report does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from simulation.results.plots import figure_texts, missing_glyphs, plot_style, save_figure
from simulation.sizing.output import frontier
from simulation.sizing.search import Evaluation, Outcome

__all__ = ["sizing_plots", "hourly_plot", "VERDICT_COLOURS"]

VERDICT_COLOURS = {"meets": "#1a9850", "fails": "#d73027", "too close to call": "#fdae61",
                   "undecided": "#999999"}
DPI = 110


def _save(fig: Figure, out: Path, stem: str, texts: list[str]) -> list[Path]:
    """Write the figure as the report does; remember its texts for the missing-glyph check
    (after saving: tick labels exist once drawn)."""
    written = save_figure(fig, out, stem)
    texts += figure_texts(fig)
    return written


def _scale(unit: str) -> tuple[float, str]:
    return (100.0, "%") if unit == "share" else (1.0, " min" if unit == "minutes" else "")


def _series(outcome: Outcome, knob: int, fixed: dict[int, float],
            metric: str) -> tuple[np.ndarray, ...]:
    """Simulated configurations with the other knobs at `fixed`, along knob `knob`."""
    rows: list[tuple[float, float, float, str]] = []
    for ev in frontier(outcome, simulated_only=True):
        lv = ev.config.levels
        if any(lv[j] != v for j, v in fixed.items()):
            continue
        est = ev.estimates.get(metric)
        if est is None or est.mean is None:
            continue
        rows.append((lv[knob], est.mean,
                     est.low if est.low is not None else est.mean,
                     est.high if est.high is not None else est.mean,
                     ev.verdicts.get(metric, ("undecided",))[0]))
    rows.sort()
    if not rows:
        return (np.zeros(0),) * 5
    x, m, lo, hi, v = zip(*rows)
    return np.array(x), np.array(m), np.array(lo), np.array(hi), np.array(v)


def _metric_plot(outcome: Outcome) -> Figure:
    p = outcome.problem
    knobs = p.knobs
    k0 = 0
    others: list[dict[int, float]] = [{}]
    if len(knobs) > 1:
        second = sorted({ev.config.levels[1] for ev in frontier(outcome, True)})
        pick = second if len(second) <= 5 else [second[int(i)] for i in
                                                np.linspace(0, len(second) - 1, 5).round()]
        others = [{1: v} for v in pick]
    fig = Figure(figsize=(7.5, 3.2 * len(p.targets)))
    axes = fig.subplots(len(p.targets), 1, squeeze=False)[:, 0]
    for ax, t in zip(axes, p.targets):
        factor, unit = _scale(t.info.unit)
        for fixed in others:
            x, m, lo, hi, v = _series(outcome, k0, fixed, t.metric)
            if not x.size:
                continue
            label = ", ".join(f"{knobs[j].path.split('.')[-2]}={knobs[j].show(val)}"
                              for j, val in fixed.items()) or None
            line = ax.plot(x, m * factor, marker="", lw=1.2, label=label)[0]
            ax.fill_between(x, lo * factor, hi * factor, alpha=0.18,  # within the range
                            color=line.get_color(), lw=0)
            for verdict in VERDICT_COLOURS:
                sel = v == verdict
                if sel.any():
                    ax.scatter(x[sel], m[sel] * factor, color=VERDICT_COLOURS[verdict], s=28,
                               zorder=3, label=verdict if fixed is others[0] else None)
        ax.axhline(t.threshold * factor, color="black", ls="--", lw=1,
                   label=f"target {t.op} {t.show(t.threshold)}")
        if outcome.answer is not None:
            ax.axvline(outcome.answer.config.levels[k0], color=VERDICT_COLOURS["meets"],
                       ls=":", lw=1.2, label="answer")
        ax.set_xlabel(knobs[k0].path)
        if knobs[k0].integer:  # people and units come in whole numbers
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"{t.metric}{' (' + unit.strip() + ')' if unit.strip() else ''}")
        ax.set_title(f"{t.metric} against {knobs[k0].path} (simultaneous "
                     f"{p.confidence:.0%} intervals)", fontsize=9)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def _heatmap(outcome: Outcome) -> Figure:
    p = outcome.problem
    xs, ys = p.knobs[0].values, p.knobs[1].values
    codes = {"meets": 0, "too close to call": 1, "fails": 2, "undecided": 3}
    grid = np.full((len(ys), len(xs)), np.nan)
    implied = np.zeros((len(ys), len(xs)), dtype=bool)
    fig = Figure(figsize=(max(6.0, 0.45 * len(xs) + 2), max(3.5, 0.35 * len(ys) + 1.5)))
    ax = fig.subplots()
    first = p.targets[0]
    factor, _ = _scale(first.info.unit)
    for ev in outcome.evaluations.values():
        if not (ev.done or ev.n):
            continue
        i, j = ys.index(ev.config.levels[1]), xs.index(ev.config.levels[0])
        grid[i, j] = codes[ev.verdict]
        implied[i, j] = bool(ev.implied)
        est = ev.estimates.get(first.metric)
        text = f"{est.mean * factor:.3g}" if est is not None and est.mean is not None else \
            ("·" if ev.implied else "")
        ax.text(j, i, text, ha="center", va="center", fontsize=6)
    cmap = matplotlib.colors.ListedColormap([VERDICT_COLOURS[v] for v in codes])
    ax.imshow(np.where(implied, np.nan, grid), cmap=cmap, vmin=-0.5, vmax=3.5, origin="lower",
              aspect="auto", alpha=0.8)
    ax.imshow(np.where(implied, grid, np.nan), cmap=cmap, vmin=-0.5, vmax=3.5, origin="lower",
              aspect="auto", alpha=0.3)
    ax.set_xticks(range(len(xs)), [p.knobs[0].show(v) for v in xs], fontsize=7, rotation=90)
    ax.set_yticks(range(len(ys)), [p.knobs[1].show(v) for v in ys], fontsize=7)
    ax.set_xlabel(p.knobs[0].path)
    ax.set_ylabel(p.knobs[1].path)
    ax.grid(False)
    ax.set_title(f"Verdict per configuration: green meets, orange too close to call, red "
                 f"fails; pale with a dot: settled by monotonicity (orange: at best too close); "
                 f"blank: costlier than the answer, not needed\nnumbers: {first.metric}",
                 fontsize=8)
    fig.tight_layout()
    return fig


def _cost_plot(outcome: Outcome) -> Figure:
    p = outcome.problem
    fig = Figure(figsize=(7.5, 3.2 * len(p.targets)))
    axes = fig.subplots(len(p.targets), 1, squeeze=False)[:, 0]
    sims: list[Evaluation] = frontier(outcome, simulated_only=True)
    for ax, t in zip(axes, p.targets):
        factor, unit = _scale(t.info.unit)
        for verdict, colour in VERDICT_COLOURS.items():
            pts = [(ev.config.cost["total"], ev.estimates[t.metric])
                   for ev in sims if ev.verdict == verdict and t.metric in ev.estimates
                   and ev.estimates[t.metric].mean is not None]
            if pts:
                means = [e.mean * factor for _, e in pts]
                below = [(e.mean - (e.low if e.low is not None else e.mean)) * factor
                         for _, e in pts]
                above = [((e.high if e.high is not None else e.mean) - e.mean) * factor
                         for _, e in pts]
                ax.errorbar([c for c, _ in pts], means, yerr=[below, above], fmt="o",
                            color=colour, ms=5, capsize=2, label=verdict)
        ax.axhline(t.threshold * factor, color="black", ls="--", lw=1, label="target")
        if outcome.answer is not None:
            ax.axvline(outcome.answer.config.cost["total"], color=VERDICT_COLOURS["meets"],
                       ls=":", label="answer")
        ax.set_xlabel("planned cost")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_ylabel(f"{t.metric}{' (' + unit.strip() + ')' if unit.strip() else ''}")
        ax.set_title(f"Cost against {t.metric}, each simulated configuration", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _warn(texts: list[str], warn: Callable[[str], None] | None) -> None:
    missing = missing_glyphs(texts, list(matplotlib.rcParams["font.family"]))
    if missing and warn is not None:
        warn(f"plots: no installed font has a glyph for {' '.join(missing[:10])}; they are "
             f"drawn as boxes in the PNG plots (the SVG plots leave them to the browser)")


def sizing_plots(out: Path, outcome: Outcome,
                 warn: Callable[[str], None] | None = None) -> list[Path]:
    """metric.png (metric against the first resource), heatmap.png (two resources),
    cost.png (cost against each metric), each with its SVG; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    texts: list[str] = []
    if not frontier(outcome, simulated_only=True):
        return written
    with plot_style():
        written += _save(_metric_plot(outcome), out, "metric", texts)
        if len(outcome.problem.knobs) == 2:
            written += _save(_heatmap(outcome), out, "heatmap", texts)
        written += _save(_cost_plot(outcome), out, "cost", texts)
        _warn(texts, warn)
    return written


def hourly_plot(out: Path, data: dict[str, Any], start_label: str,
                warn: Callable[[str], None] | None = None) -> list[Path]:
    """hourly.png: the plan, the current shifts and the shift proposal against the work
    arriving; below, the verified measure per step with its band and the target."""
    out.mkdir(parents=True, exist_ok=True)
    step = data["step_minutes"]
    n = len(data["plan"])
    x = np.arange(n + 1) * step / 1440.0
    texts: list[str] = []
    with plot_style():
        fig = Figure(figsize=(10, 6.5))
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        def stairs(ax: Any, values: Sequence[float], **kw: Any) -> None:
            ax.stairs(np.asarray(values, dtype=float), x, baseline=None, **kw)
        stairs(top, data["current"], color="#999999", lw=1.2, label="current shifts")
        stairs(top, data["plan"], color="#2166ac", lw=1.4, label="hourly plan (iterative)")
        if data.get("offered_load_plan"):
            stairs(top, data["offered_load_plan"], color="#762a83", lw=0.9, ls=":",
                   label="lagged offered-load plan (Erlang, closed form)")
        if data["proposal"].get("plan"):
            stairs(top, data["proposal"]["plan"], color="#1a9850", lw=1.0, ls="--",
                   label="shift proposal")
        top.set_ylabel(f"{data['pool']} on duty")
        top.yaxis.set_major_locator(MaxNLocator(integer=True))  # people, not fractions
        twin = top.twinx()
        stairs(twin, np.asarray(data["offered"]) * 60.0 / step, color="#d6604d", lw=0.8,
               alpha=0.6, fill=False, label="work arriving per hour")
        twin.set_ylabel("work arriving per hour")
        lines = top.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        top.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="upper right")
        status = data["converged"].split(" (")[0].split(";")[0].split(":")[0]  # the gist
        top.set_title(f"{data['pool']}: hourly staffing for {data['target']} ({status})",
                      fontsize=9)
        v = data["verification"]
        est = np.asarray(v["estimate"], dtype=float)
        half = np.nan_to_num(np.asarray(v["half_width"], dtype=float))
        mid = (x[:-1] + x[1:]) / 2
        band_lo, band_hi = np.clip(est - half, 0.0, 1.0), np.clip(est + half, 0.0, 1.0)
        bottom.fill_between(mid, band_lo, band_hi, color="#2166ac", alpha=0.2, lw=0)
        bottom.plot(mid, est, color="#2166ac", lw=0.8, label="verified, fresh seeds")
        other = data.get("offered_load_verification")
        if other:
            bottom.plot(mid, np.asarray(other["estimate"], dtype=float), color="#762a83",
                        lw=0.8, ls=":", label="offered-load plan, same seeds")
        bottom.axhline(data["limit"], color="black", ls="--", lw=1, label="target")
        bottom.set_ylabel({"delay": "P(wait)", "wait>": "not served in time",
                           "abandonment": "abandonment"}[data["kind"]])
        bottom.set_xlabel(f"days since {start_label}")
        bottom.set_ylim(0, min(1.0, max(0.05, float(np.nanmax(band_hi))
                                        if np.isfinite(est).any() else 1.0) * 1.1))
        bottom.legend(fontsize=7, loc="upper right")
        fig.tight_layout()
        written = _save(fig, out, "hourly", texts)
        _warn(texts, warn)
    return written

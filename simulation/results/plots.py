"""The report's figures: PNG and SVG files drawn with matplotlib, headless.

Figures are built with the object API (`matplotlib.figure.Figure`, rendered by Agg), never
pyplot: no display is needed, no global figure state is left behind, and plotting from a
worker thread is safe.

Fonts: scenario, pool, SKU and state names are often Chinese, and DejaVu (matplotlib's own
font) has no CJK glyphs, so a CJK font goes right after DejaVu in the font list (matplotlib
falls back glyph by glyph): the first installed system font that covers Chinese, else the
Noto Sans CJK SC file that the `mplfonts` package ships (added to matplotlib's font list in
memory; nothing is written into matplotlib's folders). A character no font has would be
drawn as a box; that is never silent: `make_plots` reports it in one line, with the fix.
Each plot is also written as SVG with its text kept as text, so a browser draws the names
with its own fonts whatever this machine has.

Each plot reads the summary of the replications (means with 95% confidence half-widths);
time series come from replication 1, since the replications' samples need not line up.
"""

from __future__ import annotations

import logging
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib
import numpy as np
from matplotlib import font_manager, ft2font
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MultipleLocator

from simulation.model.arrivals import _offset, rate_at, surge_factor
from simulation.results.format import COST_LABELS
from simulation.results.metrics import TIERS
from simulation.scenario.loader import LoadedScenario
from simulation.scenario.model import Demand, Surge

__all__ = ["CJK_FONTS", "PLOT_NAMES", "PlotWarning", "REFERENCE_ATTAINMENT", "cjk_font", "draw",
           "figure_texts", "font_families", "make_plots", "missing_glyphs", "plot_style",
           "save_figure", "surge_spans"]

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimHei",
             "Noto Sans CJK TC", "Noto Sans CJK JP")
"""CJK fonts tried first, in this order; any other installed font that covers CJK_SAMPLE
comes after them."""
CJK_SAMPLE = "中文汉字组级别处理"
"""Characters a font must have to count as a CJK font for these plots."""
BUNDLED_FONT = ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf")
"""(package, file) of the CJK font used when the system has none (a core dependency)."""
NO_CJK_FONT = ("plots: no CJK font found, so Chinese names ({sample}) are drawn as empty boxes "
               "in the PNG plots (the SVG plots show them in a browser); install a CJK font "
               "such as Debian's fonts-noto-cjk, or pip install mplfonts")
PLOT_NAMES = ("demand", "sla", "utilisation", "stock", "costs", "emergency")
"""Every plot, by file stem, in report order: each is written as STEM.png and STEM.svg."""
REFERENCE_ATTAINMENT = (90.0, 95.0)
"""Attainment levels (%) drawn on the SLA plot for reference. Scenarios and playbooks set SLA
targets as times, never a share of milestones to meet on time, so there is no attainment
target to draw; the lines are labelled as reference levels, not as a target."""
SURGE_THRESHOLD = 1.05
"""A period is shaded as a surge where the demand multiplier exceeds this."""
TIER_COLOURS = {"VIP": "#b2182b", "tier1": "#ef8a62", "tier2": "#67a9cf"}
DPI = 110


class PlotWarning(UserWarning):
    """A plot came out worse than it should (characters without a glyph); raised as a Python
    warning only when the caller of `make_plots` gave no `warn` function."""


# -- fonts -----------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _face(path: str, index: int) -> ft2font.FT2Font | None:
    """One face of a font file, without matplotlib's fallback fonts (its Last Resort font
    has a box for every character, which would make any font look complete); None when the
    file cannot be read. Few are kept: each holds its file open, and a scan of the system's
    fonts opens them all."""
    try:
        return ft2font.FT2Font(path, face_index=index)
    except (OSError, RuntimeError, ValueError):
        return None  # unreadable or not a font: it covers nothing


def _covers(path: str, index: int, text: str) -> bool:
    face = _face(path, index)
    return face is not None and all(face.get_char_index(ord(ch)) != 0 for ch in text)


def _system_cjk_font() -> str | None:
    """The family of the first installed font (CJK_FONTS first) that covers CJK_SAMPLE.

    matplotlib caches its font list on first use, so a font installed since then is not in
    it: the system font folders are searched for fonts it does not know yet, and those that
    cover CJK are added (in memory). Fonts shipped inside matplotlib are skipped: none is a
    CJK font, and its Last Resort font fakes a glyph for everything.
    """
    own = str(Path(matplotlib.get_data_path()).resolve())

    def scan() -> str | None:
        entries = [e for e in font_manager.fontManager.ttflist
                   if not str(Path(e.fname).resolve()).startswith(own)]
        rank = {name: i for i, name in enumerate(CJK_FONTS)}
        entries.sort(key=lambda e: rank.get(e.name, len(rank)))  # stable: file order kept
        return next((e.name for e in entries
                     if _covers(e.fname, getattr(e, "index", 0), CJK_SAMPLE)), None)

    found = scan()
    if found is None:
        known = {str(Path(e.fname).resolve()) for e in font_manager.fontManager.ttflist}
        fresh = [path for path in font_manager.findSystemFonts()
                 if str(Path(path).resolve()) not in known and _covers(path, 0, CJK_SAMPLE)]
        for path in fresh:
            font_manager.fontManager.addfont(path)
        found = scan() if fresh else None
    return found


def _bundled_cjk_font() -> str | None:
    """The family of the CJK font shipped by the `mplfonts` package, added to matplotlib's
    font list in memory; None when the package or its font file is not there. mplfonts' own
    set-up is not used: it copies fonts and an rc file into matplotlib's folders."""
    package, name = BUNDLED_FONT
    try:
        found = resources.files(package).joinpath(name)
    except ModuleNotFoundError:
        return None
    if not isinstance(found, Path) or not found.is_file():  # e.g. inside a zip: no path
        return None
    path = str(found)
    if not _covers(path, 0, CJK_SAMPLE):
        return None
    if all(e.fname != path for e in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


@cache
def cjk_font() -> str | None:
    """The family of the CJK font the plots use, or None when there is none (looked up once
    a process): an installed system font first, else the one the mplfonts package ships."""
    return _system_cjk_font() or _bundled_cjk_font()


def font_families() -> list[str]:
    """The plots' font.family: DejaVu first (matplotlib's own, for Latin text and digits),
    then the CJK font when there is one, which matplotlib falls back to glyph by glyph."""
    font = cjk_font()
    return ["DejaVu Sans", *([font] if font else [])]


def missing_glyphs(texts: Iterable[str], families: list[str] | None = None) -> list[str]:
    """The characters of `texts` that no font of `families` (default: the plots' fonts) has
    a glyph for, in order of first appearance: matplotlib would draw each as a box. Each
    family counts as the one file matplotlib picks for it, as when it falls back glyph by
    glyph along font.family."""
    faces: list[tuple[str, int]] = []
    for family in families if families is not None else font_families():
        try:
            found = font_manager.findfont(font_manager.FontProperties(family=family),
                                          fallback_to_default=False)
        except ValueError:
            continue  # a family that is not installed covers nothing
        faces.append((str(found), int(getattr(found, "face_index", 0))))
    seen: dict[str, None] = {}
    for text in texts:
        for ch in text:
            if ch not in seen and not ch.isspace() and unicodedata.category(ch)[0] != "C" \
                    and not any(_covers(path, index, ch) for path, index in faces):
                seen[ch] = None
    return list(seen)


def _is_cjk(ch: str) -> bool:
    """Wide or full-width East Asian text (Han, kana, hangul, full-width punctuation)."""
    return unicodedata.east_asian_width(ch) in ("W", "F") and unicodedata.category(ch) != "So"


def _glyph_warning(missing: list[str], texts: list[str]) -> str | None:
    """One line for the characters drawn as boxes (None: there are none)."""
    if not missing:
        return None
    if cjk_font() is None and any(_is_cjk(ch) for ch in missing):
        runs = ("".join(ch if _is_cjk(ch) else " " for ch in text).split() for text in texts)
        sample = next((run[0] for run in runs if run), "")  # the first Chinese word drawn
        return NO_CJK_FONT.format(sample=f"e.g. {sample[:12]}")
    shown = " ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
    return (f"plots: no installed font has a glyph for {len(missing)} character(s) ({shown}); "
            f"they are drawn as boxes in the PNG plots (the SVG plots leave them to the "
            f"browser)")


@contextmanager
def plot_style() -> Iterator[None]:
    """Plot settings for this module only (rc_context): the fonts, text kept as text in SVG.

    The font list ends with the generic sans-serif (DejaVu again here), so that an SVG
    asks a browser without these fonts for a sans-serif font of its own. matplotlib's
    per-glyph warnings are silenced: `make_plots` reports missing glyphs in one line
    instead of one warning per character and figure.
    """
    rc = {"font.family": [*font_families(), "sans-serif"], "font.sans-serif": ["DejaVu Sans"],
          "svg.fonttype": "none", "svg.hashsalt": "muster",
          "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
          "axes.spines.right": False, "font.size": 9}
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


def save_figure(fig: Figure, out: Path, stem: str) -> list[Path]:
    """STEM.png and STEM.svg (text as text, no date: the same run gives the same file).

    Both are cut to the figure's tight box, measured once: `bbox_inches="tight"` would draw
    the whole figure an extra time per file just to measure it (a report saves dozens)."""
    png, svg = out / f"{stem}.png", out / f"{stem}.svg"
    fig.set_dpi(DPI)  # measured at the resolution the PNG is drawn at
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    box = fig.get_tightbbox(canvas.get_renderer()).padded(
        matplotlib.rcParams["savefig.pad_inches"])
    fig.savefig(png, dpi=DPI, bbox_inches=box)
    fig.savefig(svg, bbox_inches=box, metadata={"Date": None})
    return [png, svg]


def figure_texts(fig: Figure) -> list[str]:
    """Every text drawn on the figure (titles, labels, ticks, legends, annotations)."""
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


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
    demand = sc.arrival_demand()
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

def _demand(loaded: LoadedScenario, summary: dict[str, Any]) -> Figure | None:
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
    return fig


def _share_label(percent: float) -> str:
    """A percentage to one decimal, or to two (rounded down) where one decimal would read
    100.0 for a share below 100%: 99.96 is "99.96", never "100.0"."""
    text = f"{percent:.1f}"
    return f"{np.floor(percent * 100) / 100:.2f}" if text == "100.0" and percent < 100 else text


def _sla(summary: dict[str, Any]) -> Figure | None:
    """Attainment per tier and milestone as points with their 95% CI, each labelled to one
    decimal. Points, not bars: a share needs no zero baseline, so the axis can start just
    below the lowest interval (or reference line) and 97.7% stands clear of 100%."""
    sla = summary["sla"]
    milestones = [ms for ms in next(iter(sla.values()), {})
                  if any(_mean(sla[t][ms]["judged"]) > 0 for t in sla)]
    if not milestones:
        return None
    fig = Figure(figsize=(max(6.5, 2.3 * len(milestones) + 2.6), 4.6))
    ax = fig.subplots()
    x = np.arange(len(milestones))
    step = 0.27
    lows = [min(REFERENCE_ATTAINMENT)]
    for i, tier in enumerate(TIERS):
        means = np.array([100 * _mean(sla[tier][ms]["attainment"]) for ms in milestones])
        halves = np.array([100 * _half(sla[tier][ms]["attainment"]) for ms in milestones])
        # The interval is clipped to 0..100%: a share cannot leave it.
        low, high = np.clip(means - halves, 0, 100), np.clip(means + halves, 0, 100)
        xs, have = x + (i - 1) * step, ~np.isnan(means)
        lows += low[have].tolist()
        ax.errorbar(xs[have], means[have], yerr=np.vstack([means - low, high - means])[:, have],
                    fmt="o", ms=6, capsize=4, lw=1.3, color=TIER_COLOURS[tier], label=tier,
                    zorder=3)
        for xi, mean, top in zip(xs, means, high):
            if np.isnan(mean):  # no milestone of this tier judged: say so, draw nothing
                ax.annotate("n/a", (xi, 0), xycoords=("data", "axes fraction"),
                            xytext=(0, 3), textcoords="offset points", ha="center",
                            fontsize=7, color="grey")
                continue
            ax.annotate(_share_label(mean), (xi, top), xytext=(0, 4), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7.5, color=TIER_COLOURS[tier])
    for level, dash in zip(REFERENCE_ATTAINMENT, ("--", ":")):
        ax.axhline(level, color="#4d4d4d", ls=dash, lw=1, zorder=1,
                   label=f"reference {level:g}% (no attainment target set)")
    for edge in x[1:] - 0.5:  # keeps each milestone's three tiers together
        ax.axvline(edge, color="#bdbdbd", lw=0.8, zorder=0)
    bottom = max(0.0, 5.0 * np.floor((min(lows) - 3.0) / 5.0))
    ax.set_ylim(bottom, 100.0 + 0.12 * (100.0 - bottom))  # room for the labels above 100
    ax.yaxis.set_major_locator(MultipleLocator(5.0 if bottom >= 60 else 10.0))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%" if v <= 100 else ""))
    ax.set_xticks(x, [ms.replace("_", " ") for ms in milestones])
    ax.set_xlim(-0.5, len(milestones) - 0.5)
    ax.grid(axis="x", visible=False)
    ax.set_axisbelow(True)
    ax.set_ylabel("milestones met on time")
    ax.set_xlabel("milestone")
    ax.set_title("SLA attainment per tier and milestone (mean, 95% CI)"
                 if int(summary["run"]["arrivals"]["n"]) != 1 else
                 "SLA attainment per tier and milestone (one replication: no CI)")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] not in TIERS)  # tiers first
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper left",
              bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return fig


def _utilisation(summary: dict[str, Any]) -> Figure | None:
    """Busy share per pool, while incidents arrive and in the drain after the horizon."""
    pools = summary["utilisation"]
    if not pools:
        return None
    names = list(pools)
    fig = Figure(figsize=(8, 0.7 * len(names) + 1.8))
    ax = fig.subplots()
    y = np.arange(len(names))
    ticks = []
    for offset, window, colour, text in ((-0.2, "arrivals", "#2166ac", "while incidents arrive"),
                                         (0.2, "drain", "#92c5de", "drain after the horizon")):
        means = np.array([100 * _mean(pools[p][window]["utilisation"]) for p in names])
        halves = [100 * _half(pools[p][window]["utilisation"]) for p in names]
        ax.barh(y + offset, np.nan_to_num(means), height=0.4, xerr=halves, capsize=2,
                color=colour, error_kw={"lw": 1}, label=text)
        for yi, m, h in zip(y + offset, means, halves):  # past the error bar, not on it
            if not np.isnan(m):
                ax.annotate(f"{m:.0f}%", (min(m + (h or 0.0), 100.0), yi), xytext=(4, 0),
                            textcoords="offset points", va="center", fontsize=7)
    for p in names:
        never = np.isnan(_mean(pools[p]["measured"]["utilisation"]))
        ticks.append(f"{p}\n(never on duty)" if never else p)
    ax.set_axisbelow(True)
    ax.set_yticks(y, ticks)
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.set_xlabel("busy share of on-duty staff time (%); on duty includes overrun past a "
                  "shift's end")
    ax.set_title("Staff utilisation per pool (mean, 95% CI)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


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


def _stock(loaded: LoadedScenario, summary: dict[str, Any]) -> Figure | None:
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
        fill = _mean(s["measured"]["fill_rate"])
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
    return fig


def _costs(summary: dict[str, Any]) -> Figure | None:
    """Cost by kind, while incidents arrive and in the drain (after the warm-up)."""
    costs = summary["costs"]
    if not _mean(costs["measured"]["total"]):
        return None  # nothing costed: an empty chart says nothing
    keys = list(COST_LABELS)
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    x = np.arange(len(keys))
    for offset, window, colour, text in ((-0.2, "arrivals", "#4d4d4d", "while incidents arrive"),
                                         (0.2, "drain", "#bababa", "drain after the horizon")):
        means = [_mean(costs[window][k]) for k in keys]
        halves = [_half(costs[window][k]) for k in keys]
        ax.bar(x + offset, means, width=0.4, yerr=halves, capsize=2, color=colour,
               error_kw={"lw": 1}, label=text)
        for xi, m, h in zip(x + offset, means, halves):  # above the error bar, not through it
            if m:
                ax.annotate(f"{m:,.0f}", (xi, m + h), xytext=(0, 3), textcoords="offset points",
                            ha="center", fontsize=6, rotation=90)
    ax.set_xticks(x, [COST_LABELS[k] for k in keys])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_axisbelow(True)
    ax.set_ylabel("cost (currency units)")
    ax.set_title(f"Cost per replication (mean, 95% CI); total after the warm-up "
                 f"{_mean(costs['measured']['total']):,.0f}")
    ax.legend(fontsize=8)
    ax.margins(y=0.25)
    ax.set_ylim(bottom=0)  # margins would push the axis below zero: no cost is negative
    fig.tight_layout()
    return fig


def _emergency(loaded: LoadedScenario, summary: dict[str, Any]) -> Figure | None:
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
    return fig


def make_plots(out_dir: Path, loaded: LoadedScenario, summary: dict[str, Any], *,
               warn: Callable[[str], None] | None = None) -> list[Path]:
    """Draw every plot the data supports into `out_dir`; the files written, in report order,
    each plot's PNG followed by its SVG.

    `warn` receives at most one line, when some text was drawn as boxes (no CJK font, or a
    character no font has); without `warn` that line is raised as a PlotWarning.
    """
    builders: dict[str, Callable[[], Figure | None]] = {
        "demand": lambda: _demand(loaded, summary), "sla": lambda: _sla(summary),
        "utilisation": lambda: _utilisation(summary), "stock": lambda: _stock(loaded, summary),
        "costs": lambda: _costs(summary), "emergency": lambda: _emergency(loaded, summary)}
    return draw(out_dir, [(stem, builders[stem]) for stem in PLOT_NAMES], warn=warn)


def draw(out_dir: Path, figures: list[tuple[str, Callable[[], Figure | None]]], *,
         warn: Callable[[str], None] | None = None) -> list[Path]:
    """Build and save figures (PNG and SVG, in this module's style and fonts) into `out_dir`
    by stem; a builder may return None (nothing to draw). One warning line at most, as in
    `make_plots`. Other reports (a drill's after-action review) draw through here too."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    texts: list[str] = []
    with plot_style():
        for stem, build in figures:
            fig = build()
            if fig is not None:
                written += save_figure(fig, out_dir, stem)
                texts += figure_texts(fig)  # after saving: tick labels exist once drawn
        missing = missing_glyphs(texts, list(matplotlib.rcParams["font.family"]))
    line = _glyph_warning(missing, texts)
    if line is not None:
        if warn is None:
            warnings.warn(line, PlotWarning, stacklevel=2)
        else:
            warn(line)
    return written

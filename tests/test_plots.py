"""The report's plots (`simulation.results.plots`): Chinese names drawn with a font that has
them, SVG copies with text kept as text, one clear warning when no CJK font exists, and an
SLA plot on which 97.7% and 100% look different.

A tiny scenario with a Chinese pool and product name is simulated once for the module; the
SLA plot is also fed a hand-made summary, so its numbers are known here.
"""

from __future__ import annotations

import re
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from matplotlib import font_manager, ft2font
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from simulation.results import plots
from simulation.results.metrics import TIERS
from simulation.results.replications import replicate
from simulation.results.report import PLOT_FILES
from simulation.scenario.loader import LoadedScenario, scenario_from_text

POOL = "客服组"
TECHS = "现场技术组"
PRODUCT = "实木复合地板（橡木）"
LABELS = [POOL, TECHS, PRODUCT, "紧急级别 II（橙色）"]
SCENARIO = textwrap.dedent(f"""\
    muster: 1
    name: plots-test
    title: 图表测试
    horizon: 1d
    drain: 12h
    demand: {{base_rate: 2/h}}
    mix:
      repair:
        playbook: standard-repair
        products: [{{name: {PRODUCT}, sku: BOARD-03}}]
    staffing:
      {POOL}: {{roles: [agent], headcount: 3, wage_per_hour: 30}}
      {TECHS}: {{roles: [technician], headcount: 4, wage_per_hour: 45}}
    parts:
      BOARD-03: {{initial: 3, policy: {{type: sQ, s: 1, Q: 4}}, lead_time: 8h}}
    """)


@pytest.fixture(scope="module")
def simulated() -> tuple[LoadedScenario, dict[str, Any]]:
    loaded = scenario_from_text(SCENARIO)
    return loaded, replicate(loaded, 7, 2).summary


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Font lookup forced to fail: no system CJK font and no bundled one."""
    monkeypatch.setattr(plots, "_system_cjk_font", lambda: None)
    monkeypatch.setattr(plots, "_bundled_cjk_font", lambda: None)
    plots.cjk_font.cache_clear()
    yield
    plots.cjk_font.cache_clear()  # the next caller looks the real fonts up again


def _font_file(family: str) -> font_manager.FontPath:
    return font_manager.findfont(font_manager.FontProperties(family=family),
                                 fallback_to_default=False)


def _chinese_figure() -> Figure:
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.barh([0, 1], [3, 5])
    ax.set_yticks([0, 1], LABELS[:2])
    ax.set_title(LABELS[2])
    ax.set_xlabel(LABELS[3])
    return fig


# -- fonts -------------------------------------------------------------------------------------

def test_the_chosen_font_has_every_chinese_glyph() -> None:
    family = plots.cjk_font()
    assert family is not None, "no CJK font, though mplfonts is a core dependency"
    found = _font_file(family)
    face = ft2font.FT2Font(str(found), face_index=getattr(found, "face_index", 0))
    chars = {ch for label in LABELS for ch in label if not ch.isspace()}
    assert {ch for ch in chars if face.get_char_index(ord(ch)) == 0} == set()
    assert plots.missing_glyphs(LABELS) == []


def test_labels_render_with_the_chosen_font_and_no_missing_glyph(tmp_path: Path) -> None:
    with plots.plot_style():  # text takes its font properties when it is made
        fig = _chinese_figure()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # matplotlib warns for every glyph it lacks
            fig.savefig(tmp_path / "labels.png")
    title = fig.axes[0].title
    assert title.get_text() == LABELS[2]
    # DejaVu for Latin text, then the CJK font that matplotlib falls back to glyph by glyph.
    assert title.get_fontfamily()[:2] == ["DejaVu Sans", plots.cjk_font()]


def test_without_a_cjk_font_the_same_labels_would_be_boxes(tmp_path: Path,
                                                            no_cjk_font: None) -> None:
    assert plots.cjk_font() is None and plots.font_families() == ["DejaVu Sans"]
    assert set(plots.missing_glyphs([POOL])) == set(POOL)
    with plots.plot_style(), warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="missing from font"):
            _chinese_figure().savefig(tmp_path / "boxes.png")


def test_the_bundled_font_is_used_when_the_system_has_none(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots, "_system_cjk_font", lambda: None)
    plots.cjk_font.cache_clear()
    try:
        assert plots.cjk_font() == "Noto Sans CJK SC"
        assert Path(_font_file("Noto Sans CJK SC")).name == "NotoSansCJKsc-Regular.otf"
        assert plots.missing_glyphs(LABELS) == []
    finally:
        plots.cjk_font.cache_clear()


def test_a_character_no_font_has_is_named() -> None:
    assert plots.missing_glyphs(["ok 𓀀 客服"]) == ["𓀀"]


# -- make_plots --------------------------------------------------------------------------------

def test_every_plot_is_written_as_png_and_svg_without_a_missing_glyph(
        simulated: tuple[LoadedScenario, dict[str, Any]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    loaded, summary = simulated
    said: list[str] = []
    # plot_style silences matplotlib's per-glyph warnings; here they must not even occur.
    monkeypatch.setattr(warnings, "filterwarnings", lambda *args, **kwargs: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = plots.make_plots(tmp_path, loaded, summary, warn=said.append)
    assert said == []  # a CJK font is there: nothing drawn as boxes
    names = [p.name for p in written]
    pngs = [n for n in names if n.endswith(".png")]
    assert {"demand.png", "sla.png", "utilisation.png"} <= set(pngs)
    assert names == [f"{Path(n).stem}.{ext}" for n in pngs for ext in ("png", "svg")]
    assert set(names) <= set(PLOT_FILES)
    assert set(PLOT_FILES) == {f"{s}.{e}" for s in plots.PLOT_NAMES for e in ("png", "svg")}


def test_svg_keeps_chinese_names_as_text(simulated: tuple[LoadedScenario, dict[str, Any]],
                                         tmp_path: Path) -> None:
    loaded, summary = simulated
    plots.make_plots(tmp_path, loaded, summary, warn=lambda line: None)
    svg = (tmp_path / "utilisation.svg").read_text(encoding="utf-8")
    texts = re.findall(r"<text\b([^>]*)>([^<]*)</text>", svg)
    assert POOL in [body for _, body in texts] and TECHS in [body for _, body in texts]
    style = next(attrs for attrs, body in texts if body == POOL)
    assert f"'{plots.cjk_font()}'" in style and "sans-serif" in style
    assert 'id="DejaVuSans-' not in svg  # no text drawn as glyph outlines
    sla = (tmp_path / "sla.svg").read_text(encoding="utf-8")
    assert ">SLA attainment per tier and milestone (mean, 95% CI)</text>" in sla


def test_no_cjk_font_gives_one_warning_with_the_fix(
        simulated: tuple[LoadedScenario, dict[str, Any]], tmp_path: Path,
        no_cjk_font: None) -> None:
    loaded, summary = simulated
    said: list[str] = []
    written = plots.make_plots(tmp_path, loaded, summary, warn=said.append)
    assert "utilisation.png" in {p.name for p in written}  # still drawn
    assert len(said) == 1, said
    assert "no CJK font" in said[0] and "fonts-noto-cjk" in said[0] \
        and "pip install mplfonts" in said[0]
    with pytest.warns(plots.PlotWarning, match="no CJK font"):
        plots.make_plots(tmp_path, loaded, summary)  # no warn function: a Python warning


# -- the SLA plot ------------------------------------------------------------------------------

def _sla_summary(cells: dict[tuple[str, str], tuple[float, float] | None]) -> dict[str, Any]:
    """A summary with only what the SLA plot reads; None: nothing judged for that cell."""
    sla: dict[str, dict[str, Any]] = {}
    for (tier, ms), value in cells.items():
        mean, half = value if value is not None else (None, None)
        sla.setdefault(tier, {})[ms] = {
            "attainment": {"mean": mean, "half_width": half},
            "judged": {"mean": 0.0 if value is None else 40.0}}
    return {"run": {"arrivals": {"n": 5}}, "sla": sla}


def test_sla_plot_tells_97_7_from_100_with_ci_and_reference_lines() -> None:
    summary = _sla_summary({
        ("VIP", "acknowledge"): (0.977, 0.012), ("tier1", "acknowledge"): (1.0, 0.0),
        ("tier2", "acknowledge"): (0.991, 0.004), ("VIP", "resolve"): (0.95, 0.03),
        ("tier1", "resolve"): (0.9996, 0.0004), ("tier2", "resolve"): None})
    with plots.plot_style():
        fig = plots._sla(summary)
    assert fig is not None
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert sorted(texts) == sorted(["97.7", "100.0", "99.1", "95.0", "99.96", "n/a"])
    low, high = ax.get_ylim()
    assert 80 <= low <= 92 and high > 100  # zoomed on the data, with room above 100%
    # 97.7% and 100% sit at least 10% of the axis height apart.
    assert (100 - 97.7) / (high - low) > 0.1
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [c.get_label() for c in bars] == list(TIERS) and all(c.has_yerr for c in bars)
    refs = [line for line in ax.get_lines() if line.get_label().startswith("reference")]
    assert sorted(line.get_ydata()[0] for line in refs) == [90.0, 95.0]
    assert all("no attainment target" in line.get_label() for line in refs)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == list(TIERS) and "reference 95% (no attainment target set)" in legend


def test_sla_plot_axis_reaches_down_to_a_low_attainment() -> None:
    summary = _sla_summary({(t, "resolve"): (0.42, 0.05) for t in TIERS})
    with plots.plot_style():
        fig = plots._sla(summary)
    assert fig is not None
    low, high = fig.axes[0].get_ylim()
    assert low <= 37 and high > 100

"""The simulation report (`simulation.results.report`, `simulation.results.plots`) and `muster simulate`.

A tiny scenario (one day, a few dozen repair cases) keeps every test fast; its product and
one staff pool have Chinese names, which must come through to report.md unchanged. The
command is mounted on a local typer app exactly as tui/cli.py mounts it, and driven with
typer's CliRunner: exit status, output, files written, and never a traceback.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from simulation.scenario.loader import scenario_from_text
from simulation.results.plots import surge_spans
from simulation.results.replications import replicate
from simulation.results.report import OWN_FILES, write_report
from tui.simulate_cmd import simulate

PRODUCT = "实木复合地板"
POOL = "客服中心"
TINY = textwrap.dedent(f"""\
    muster: 1
    name: tiny-report
    title: Tiny report test
    horizon: 1d
    drain: 12h
    demand:
      base_rate: 2/h
      surges: [{{kind: step, start: 6h, factor: 2, duration: 4h}}]
    mix:
      repair:
        playbook: standard-repair
        products: [{{name: {PRODUCT}, sku: BOARD-03}}]
    staffing:
      {POOL}: {{roles: [agent], headcount: 3, wage_per_hour: 30}}
      techs: {{roles: [technician], headcount: 4, wage_per_hour: 45}}
    parts:
      BOARD-03: {{initial: 3, policy: {{type: sQ, s: 1, Q: 4}}, lead_time: 8h}}
    costs: {{sla_penalty: {{VIP: 500, tier1: 100, tier2: 20}}}}
    """)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A report written into a folder that already holds someone else's file and a stale
    plot of a name the report owns."""
    out = tmp_path_factory.mktemp("report")
    (out / "notes.txt").write_text("mine, keep", encoding="utf-8")
    (out / "emergency.png").write_bytes(b"stale")
    loaded = scenario_from_text(TINY)
    result = replicate(loaded, 4, 2)
    return out, write_report(out, loaded, result.summary, result.first, seed=4)


def test_report_writes_its_files(written: tuple[Path, list[Path]]) -> None:
    out, paths = written
    names = {p.name for p in paths}
    assert {"results.json", "events.csv.gz", "report.md", "demand.png", "sla.png",
            "utilisation.png", "stock.png", "costs.png"} <= names
    assert names <= set(OWN_FILES)
    assert all(p.parent == out and p.stat().st_size > 0 for p in paths)


def test_report_leaves_other_files_and_drops_stale_plots(written: tuple[Path, list[Path]]) -> None:
    out, paths = written
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine, keep"
    # One quiet day never raises the emergency level: no timeline to draw, none left over.
    assert "emergency.png" not in {p.name for p in paths}
    assert not (out / "emergency.png").exists()


def test_plots_are_png_files(written: tuple[Path, list[Path]]) -> None:
    _, paths = written
    plots = [p for p in paths if p.suffix == ".png"]
    assert plots
    for p in plots:
        data = p.read_bytes()
        assert data[:8] == PNG and len(data) > 1000, p.name


def test_report_markdown_covers_tiers_plots_and_chinese_names(
        written: tuple[Path, list[Path]]) -> None:
    out, paths = written
    text = (out / "report.md").read_text(encoding="utf-8")
    for tier in ("VIP", "tier1", "tier2"):
        assert re.search(rf"^\| {tier} \|", text, re.M), tier  # a row of the SLA table
    for p in paths:
        if p.suffix == ".png":
            assert f"]({p.name})" in text, p.name
    linked = set(re.findall(r"\]\(([^)]+\.png)\)", text))
    assert linked <= {p.name for p in paths}  # no link to a plot that was not drawn
    assert PRODUCT in text and POOL in text
    assert re.search(r"VIP acknowledgement within target: \d+\.\d%", text)


def test_results_json(written: tuple[Path, list[Path]]) -> None:
    out, _ = written
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert {"muster_version", "scenario", "seed", "reps", "replication_seeds",
            "summary"} <= set(doc)
    assert (doc["scenario"], doc["seed"], doc["reps"]) == ("tiny-report", 4, 2)
    ack = doc["summary"]["sla"]["VIP"]["acknowledge"]["attainment"]
    assert set(ack) == {"mean", "sd", "half_width", "n", "values"} and len(ack["values"]) == 2
    assert POOL in doc["summary"]["utilisation"]


def test_event_log_is_gzipped_csv(written: tuple[Path, list[Path]]) -> None:
    import gzip

    out, _ = written
    with gzip.open(out / "events.csv.gz", "rt", encoding="utf-8") as fh:
        head = [next(fh) for _ in range(3)]
    assert head[0].strip() == "minute,event,case,a,b,x"


def test_surge_spans_cover_the_surge_and_demand_spikes() -> None:
    loaded = scenario_from_text(TINY)
    assert surge_spans(loaded, 24 * 60) == [(360.0, 600.0)]  # 6h for 4h, [start, end)
    spiked = scenario_from_text(TINY + textwrap.dedent("""\
        injects:
          - {at: 12h, kind: demand_spike, factor: 1.04, duration: 1h}
          - {at: 15h, kind: demand_spike, factor: 3, duration: 30m}
          - {at: 23h, kind: demand_spike, factor: 3, duration: 3h}
        """))
    # x1.04 is no surge; a spike running past the horizon is cut there.
    assert surge_spans(spiked, 24 * 60) == [(360.0, 600.0), (900.0, 930.0), (1380.0, 1440.0)]


def test_plots_without_a_cjk_font_fall_back_silently(
        written: tuple[Path, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from simulation.results import plots

    out, _ = written
    summary = json.loads((out / "results.json").read_text(encoding="utf-8"))["summary"]
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing-glyph warning would fail here
        drawn = plots.make_plots(tmp_path, scenario_from_text(TINY), summary)
    assert "utilisation.png" in {p.name for p in drawn}  # the Chinese pool name is on it


# -- the command -------------------------------------------------------------------------------

def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """A group, so `simulate` is a subcommand as in tui/cli.py."""

    app.command("simulate")(simulate)
    return app


def invoke(*args: str | Path):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(_app(), [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_simulate_runs_and_writes(scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("simulate", scenario_file, "--reps", "2", "--seed", "3", "--out", out)
    assert result.exit_code == 0, result.output
    for name in ("results.json", "events.csv.gz", "report.md", "sla.png"):
        assert (out / name).is_file(), name
        assert str(out / name) in result.output
    assert "SLA attainment" in result.output and "total cost" in result.output
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["seed"] == 3


def test_simulate_default_folder(scenario_file: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("simulate", scenario_file, "--reps", "1")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "muster-out" / "tiny-report" / "report.md").is_file()


@pytest.mark.parametrize(("option", "value"), [("--reps", "0"), ("--reps", "-3"),
                                               ("--workers", "0"), ("--seed", "-1"),
                                               ("--reps", "many")])
def test_simulate_refuses_bad_numbers(scenario_file: Path, tmp_path: Path, option: str,
                                      value: str) -> None:
    result = invoke("simulate", scenario_file, option, value, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert option in result.output
    assert not (tmp_path / "o").exists()


def test_simulate_unknown_scenario(tmp_path: Path) -> None:
    result = invoke("simulate", "no-such-scenario", "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert "no-such-scenario" in result.output and "bundled" in result.output


def test_simulate_bad_scenario_file_is_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.replace("horizon: 1d", "horizn: 1d"), encoding="utf-8")
    result = invoke("simulate", bad, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert re.search(rf"^{re.escape(str(bad))}:\d+:\d+: error: ", result.output, re.M), \
        result.output
    assert not (tmp_path / "o").exists()


def test_simulate_refuses_a_file_as_output_folder(scenario_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("do not touch", encoding="utf-8")
    result = invoke("simulate", scenario_file, "--reps", "1", "--out", target)
    assert result.exit_code == 2
    assert "--out" in result.output
    assert target.read_text(encoding="utf-8") == "do not touch"


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
            "utilisation.png", "stock.png", "costs.png", "demand.svg", "sla.svg",
            "utilisation.svg", "stock.svg", "costs.svg"} <= names
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


def test_report_passes_the_plot_warning_on(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from simulation.results import plots

    loaded = scenario_from_text(TINY)
    result = replicate(loaded, 4, 1)
    monkeypatch.setattr(plots, "cjk_font", lambda: None)  # no CJK font anywhere
    said: list[str] = []
    paths = write_report(tmp_path, loaded, result.summary, result.first, warn=said.append)
    assert "utilisation.png" in {p.name for p in paths}  # drawn all the same
    assert len(said) == 1 and "no CJK font" in said[0] and "\n" not in said[0]
    assert f"(e.g. {POOL})" in said[0]  # the first Chinese name drawn: the pool's


def _ranked(ranks: list[int]):  # type: ignore[no-untyped-def]
    """Replications of TINY whose highest emergency ranks are `ranks`, re-summarised: one
    quiet day raises no level, so the ranks are set by hand (standard-repair's levels are
    normal, IV, III, II, I)."""
    from simulation.results.replications import Replications, summarise

    loaded = scenario_from_text(TINY)
    result = replicate(loaded, 4, len(ranks))
    metrics = []
    for m, rank in zip(result.metrics, ranks):
        em = dict(m["emergency"], max_rank=rank)
        em["max_level"] = em["levels"][rank]
        metrics.append(dict(m, emergency=em))
    summary = summarise(metrics)
    return loaded, Replications(result.seed, result.seeds, tuple(metrics), summary,
                                result.first)


def test_emergency_level_counts_the_replications_that_reached_it(tmp_path: Path) -> None:
    from rich.console import Console

    from tui.simulate_cmd import show

    loaded, result = _ranked([3, 1, 0])  # II in one replication, IV in another, none in one
    assert result.summary["emergency"]["levels"][3] == "II"
    console = Console(record=True, width=300)
    show(result, console, {"II": "orange", "IV": "blue"})
    text = console.export_text()
    assert re.search(r"max emergency level\s*│\s*II \(orange\) reached in 1 of 3 "
                     r"replications; some level raised in 2 of 3", text), text
    write_report(tmp_path, loaded, result.summary, result.first)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert ("- Highest emergency level: II (orange), reached in 1 of 3 replications; some "
            "level raised in 2 of 3.") in report


def test_emergency_level_never_raised() -> None:
    from rich.console import Console

    from tui.simulate_cmd import show

    _, result = _ranked([0, 0])
    console = Console(record=True, width=300)
    show(result, console)
    assert re.search(r"max emergency level\s*│\s*normal \(no level raised\)",
                     console.export_text())


def test_simulate_prints_the_plot_warning_once(scenario_file: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from simulation.results import plots

    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    result = invoke("simulate", scenario_file, "--reps", "1", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert result.output.count("no CJK font") == 1
    assert "fonts-noto-cjk" in result.output and "pip install mplfonts" in result.output


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
    assert "SLA attainment" in result.output and "cost with the drain" in result.output
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



def test_simulate_compare_none_reports_what_the_response_is_worth(scenario_file: Path,
                                                                   tmp_path: Path) -> None:
    """`--compare none`: each KPI under both policies and the paired difference, in the
    terminal, report.md and results.json; the difference of each replication is exactly
    this policy's value minus the baseline's on the same seed."""
    out = tmp_path / "cmp"
    result = invoke("simulate", scenario_file, "--reps", "3", "--out", out, "--compare", "none")
    assert result.exit_code == 0, result.output
    assert "What the response is worth" in result.output
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## What the response is worth (autopilot against none)" in report
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    cmp = doc["comparison"]
    assert (cmp["policy"], cmp["baseline_policy"]) == ("autopilot", "none")
    mine = doc["summary"]["incidents"]["staff_wait"]["mean"]["values"]
    base = cmp["baseline"]["incidents"]["staff_wait"]["mean"]["values"]
    diff = cmp["difference"]["incidents"]["staff_wait"]["mean"]["values"]
    assert diff == pytest.approx([a - b for a, b in zip(mine, base)])
    assert cmp["baseline"]["run"]["policy"] == "none"
    assert doc["summary"]["run"]["arrivals"]["values"] == cmp["baseline"]["run"]["arrivals"][
        "values"]  # the same seeds: the same arrivals


def test_simulate_refuses_an_unwritable_folder_before_running(scenario_file: Path,
                                                               tmp_path: Path) -> None:
    """A folder nobody may create files in (/sys refuses even root), and one below a file:
    refused at once, before any replication runs, and nothing is created."""
    result = invoke("simulate", scenario_file, "--reps", "1", "--out", "/sys/muster-out")
    assert result.exit_code == 2
    assert "--out is not writable" in result.output and "simulating" not in result.output
    assert not Path("/sys/muster-out").exists()
    plain = tmp_path / "plain.txt"
    plain.write_text("keep", encoding="utf-8")
    result = invoke("simulate", scenario_file, "--reps", "1", "--out", plain / "sub" / "out")
    assert result.exit_code == 2 and "is a file" in result.output
    assert plain.read_text(encoding="utf-8") == "keep"

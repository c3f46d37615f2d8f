"""`muster backtest` and what follows it: a stationary generated log is forecast within the
band; the report, plots and forecast scenario are written; bad input exits 2 and writes
nothing; the calibrated scenario runs with `muster simulate`, `muster size` and `muster size
--plan hourly` as it is.

The log: three weeks of a 2-agent centre (about 800 calls a week, the agents two-thirds
busy at the peak) with the same rates, staff, service and patience every week
(tests/calls_helpers.py), so a forecast of week 3 from weeks 1-2 should hold the actual
week-3 figures within its spread (4 sd of the replications: see the test). The log is
small so that a fold (a calibration and its runs) takes seconds: the point here is the
machinery and its agreement with a stationary truth, not precision (test_calibrate_fit.py
checks that).
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from simulation.calibration.contacts import Period, read_contacts
from tests.calls_helpers import centre, generate, write_bank_tsv
from tests.cli_helpers import run_cli
from tui.cli import main

TRAIN = "2024-01-01..2024-01-14"
FORECAST = "2024-01-15..2024-01-21"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    c = centre(weeks=3, level=0.6, agents=2)
    path = tmp_path_factory.mktemp("bt") / "calls.tsv"
    write_bank_tsv(c, generate(c, np.random.default_rng(31)), path, phantoms=4)
    return path


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")


@pytest.fixture(scope="module")
def reported(log: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """One backtest through the command, shared by the tests below (a calibration and its
    runs cost seconds): 20 replications, the explanation included, a Chinese file name."""
    folder = tmp_path_factory.mktemp("reported")
    named = folder / "呼叫中心.tsv"
    named.write_bytes(log.read_bytes())
    out = folder / "bt"
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(stdout), \
            contextlib.redirect_stderr(stderr):
        mp.setenv("COLUMNS", "220")
        try:  # what run_cli does, without capsys (a function-scoped fixture)
            main([str(a) for a in ("backtest", named, "--train", TRAIN, "--forecast",
                                   FORECAST, "--reps", "20", "--seed", "4", "--out", out)])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    assert code == 0 and "Traceback" not in stderr.getvalue(), stderr.getvalue()
    return out, stdout.getvalue(), stderr.getvalue()


def test_a_stationary_log_is_forecast_within_the_band(reported) -> None:
    out, _, _ = reported
    (fold,) = json.loads((out / "backtest.json").read_text(encoding="utf-8"))["folds"]
    rows = {r["key"]: r for r in fold["rows"]}
    assert set(rows) == {"arrivals", "mean_wait", "within:20", "within:60", "abandonment"}
    for key, r in rows.items():
        # Within 4 sd of the replications (the 95% band is about 2 sd: five figures each
        # inside it would fail a correct forecast one seed in five; 4 sd, one in 10^4).
        sims = np.array([run[key] for run in fold["replications"]])
        assert abs(r["actual"] - sims.mean()) < 4 * sims.std(ddof=1), (key, r)
        assert r["low"] <= r["muster"] <= r["high"], key
    # arrivals: the forecast is the training weeks' mean per weekday (no trend here)
    assert rows["arrivals"]["muster"] == pytest.approx(rows["arrivals"]["naive"], rel=1e-9)
    assert all(0.0 <= r["low"] <= r["high"] <= 1.0 for k, r in rows.items()
               if k.startswith("within") or k == "abandonment")


def test_the_command_prints_the_table_and_writes_report_plots_and_scenario(
        capsys, reported, tmp_path: Path) -> None:
    out, stdout, err = reported
    assert "plots:" not in err  # no character drawn as a box
    assert "呼叫中心" in (out / "fold1-daily.svg").read_text(encoding="utf-8")
    for text in ("Fold 1: trained on 2024-01-01..2024-01-14", "mean wait", "abandonment",
                 "answered within 20s", "naive", "What the training days could not know"):
        assert text in stdout
    for name in ("backtest.md", "backtest.json", "fold1-daily.png", "fold1-daily.svg",
                 "fold1-hourly.png", "fold1-forecast.yaml"):
        assert (out / name).is_file(), name
    md = (out / "backtest.md").read_text(encoding="utf-8")
    assert "| mean wait |" in md and "Poisson floor" in md and "Per day" in md
    data = json.loads((out / "backtest.json").read_text(encoding="utf-8"))
    (fold,) = data["folds"]
    assert fold["forecast"] == FORECAST and len(fold["explain"]) == 5
    # the last step of the explanation refits availability on the forecast days themselves:
    # their own inputs reproduce their own mean wait (to the fit's tolerance and noise)
    last = fold["explain"][-1]["figures"]["mean_wait"]
    assert abs(last / fold["actual"]["mean_wait"] - 1) < 0.2
    code, stdout, err = run_cli(capsys, "simulate", out / "fold1-forecast.yaml", "--reps", "2",
                                "--out", tmp_path / "sim")
    assert code == 0, err


def test_rolling_folds_cover_the_log(capsys, wide, log: Path, tmp_path: Path) -> None:
    out = tmp_path / "roll"
    code, stdout, err = run_cli(capsys, "backtest", log, "--train", "2024-01-01..2024-01-07",
                                "--forecast", "2024-01-08..2024-01-14", "--rolling",
                                "--reps", "4", "--quick", "--out", out)
    assert code == 0, err
    data = json.loads((out / "backtest.json").read_text(encoding="utf-8"))
    assert [f["forecast"] for f in data["folds"]] == ["2024-01-08..2024-01-14", FORECAST]
    assert "Across the 2 folds" in (out / "backtest.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["--train", TRAIN, "--forecast", "2024-03-01..2024-03-07"], "is after the log"),
    (["--train", TRAIN, "--forecast", "2024-01-10..2024-01-16"], "must start after --train"),
    (["--train", "2024-01-14..2024-01-01"], "ends before it starts"),
    (["--train", TRAIN, "--forecast", FORECAST, "--staffing", "roster"], "--staffing 'roster'"),
    (["--train", TRAIN, "--forecast", FORECAST, "--drop", "outcome"], "--drop 'outcome'"),
    (["--train", TRAIN, "--forecast", FORECAST, "--service-level", "soon"], "--service-level"),
    (["--arrival", "q_start", "--time", "q_start"], "--arrival and --time both name"),
])
def test_bad_input_exits_2_and_writes_nothing(capsys, log: Path, tmp_path: Path,
                                              argv: list[str], message: str) -> None:
    out = tmp_path / "never"
    code, _, err = run_cli(capsys, "backtest", log, *argv, "--out", out)
    assert code == 2 and message in err, err
    assert not out.exists()


def test_an_out_folder_of_other_files_is_refused(capsys, log: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    code, _, err = run_cli(capsys, "backtest", log, "--train", TRAIN, "--forecast", FORECAST,
                           "--out", out)
    assert code == 2 and "holds files a backtest did not write (notes.txt)" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_the_calibrated_scenario_is_sized_as_it_is(capsys, wide, log: Path,
                                                   tmp_path: Path) -> None:
    """One forecast day keeps sizing quick; the pool `agents` is an ordinary pool. The agent
    column is renamed to text Rich would read as markup and emoji: printed as written."""
    scenario = tmp_path / "calls.yaml"
    renamed = tmp_path / "renamed.tsv"
    odd = "坐席[bold]:smile:"
    renamed.write_bytes(log.read_bytes().replace(b"\tserver\r\n", f"\t{odd}\r\n".encode()))
    code, out, err = run_cli(capsys, "calibrate", renamed, "--train", TRAIN, "--forecast",
                             "2024-01-15..2024-01-15", "--column", f"agent={odd}",
                             "--out", scenario)
    assert code == 0, err
    assert odd in out
    code, out, err = run_cli(capsys, "size", scenario, "-t", "abandonment <= 20%", "-v",
                             "staffing.agents.headcount=1..5", "--workers", "1", "--out",
                             tmp_path / "size")
    assert code == 0, err
    assert "Cheapest configuration" in out
    code, out, err = run_cli(capsys, "size", scenario, "--plan", "hourly", "--pool", "agents",
                             "-t", "wait.p(>1m) <= 0.3", "--step", "6h", "--reps", "4",
                             "--workers", "1", "--out", tmp_path / "hourly")
    assert code == 0, err
    assert "Hourly plan for agents" in out


def test_the_simulated_figures_are_waiting_py_s(log: Path, tmp_path: Path) -> None:
    """The backtest's figures of a run are results/waiting.py's own, so the definitions
    stated for the log are the simulator's (and stay so if waiting.py changes)."""
    from simulation.calibration.build import Model, load_data, scenario_data
    from simulation.calibration.measure import simulated_figures
    from simulation.calibration.profile import fit_profile
    from simulation.calibration.service import fit_patience, fit_times
    from simulation.calibration.staffing import presence
    from simulation.model.world import run
    from simulation.results.metrics import compute

    contacts = read_contacts(str(log))
    week = Period(date(2024, 1, 1), date(2024, 1, 7))
    c = contacts.between(week)
    model = Model(kind="calls", source=log.name, tz="UTC", train=week,
                  profile=fit_profile(contacts, week), service=fit_times(c.service[c.served]),
                  patience=fit_patience(c.wait[c.offered], c.abandoned[c.offered]),
                  weekly_presence=presence(contacts, week).weekly, availability=0.9,
                  thresholds=(20.0, 60.0))
    loaded = load_data(scenario_data(model, Period(date(2024, 1, 8), date(2024, 1, 14))))
    results = run(loaded, 5)
    mine = simulated_figures(results, 7, [20.0, 60.0], "calls")
    theirs = compute(results)["waiting"]["all"]
    assert mine["offered"] == theirs["offered"]
    assert mine["mean_wait"] == pytest.approx(theirs["mean_wait_all"] * 60, rel=1e-12)
    assert mine["abandonment"] == pytest.approx(theirs["abandonment"], rel=1e-12)
    assert mine["within"][20.0] == pytest.approx(theirs["service_level"]["20s"], rel=1e-12)
    assert mine["within"][60.0] == pytest.approx(theirs["service_level"]["1m"], rel=1e-12)

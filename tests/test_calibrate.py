"""Tests for simulation.calibration.fit and `muster calibrate`, on synthetic logs with a known truth.

The synthetic log is a Poisson process: each hour of each day gets Poisson(base x hourly[h]
x weekly[d] x surge) arrivals, placed uniformly within the hour (seeded numpy Generator).

Tolerances are 4 standard errors (a correct fit fails a single check with p ~ 6e-5; the data
are seeded, so a pass is reproducible). With N arrivals in all, Lambda_h the expected
arrivals in hour h of the day over the whole log and Lambda_d those on weekday d:
  base rate   = N / hours          SE ~ base / sqrt(N)
  hourly[h]   = 24 N_h / N         SE ~ hourly[h] x sqrt(1/Lambda_h + 1/N)
  weekly[d]   ~ N_d / mean         SE ~ weekly[d] x sqrt(1/Lambda_d + 1/N)
  surge factor = observed/expected SE ~ factor x sqrt(1/observed + 1/N)
The 168 cells of the 7x24 matrix, checked together, get 5 SE. Resolve-time MLEs:
mu SE = sigma/sqrt(n), sigma SE = sigma/sqrt(2n), exponential mean SE = mean/sqrt(n).
"""

from __future__ import annotations

import csv
import math
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from typer.testing import CliRunner

from incidents.distributions import LogNormal, parse_distribution
from simulation.calibration.fit import (
    ATTRIBUTION,
    calibrate,
    fit_resolve_times,
    write_fragment,
)
from simulation.errors import SimulationError
from simulation.scenario.history import EXCERPT
from simulation.scenario.model import Demand
from tui.calibrate_cmd import calibrate as calibrate_cmd

Z = 4.0
START = date(2024, 1, 1)  # a Monday
WEEKS = 8
BASE = 8.0
HOURLY = np.array([0.3] * 7 + [1.0, 2.0, 2.4, 2.4, 2.0, 1.4, 1.8, 2.0, 1.8, 1.4]
                  + [0.9, 0.6, 0.4] + [0.3] * 4)
HOURLY = HOURLY / HOURLY.mean()
WEEKLY = np.array([1.3, 1.2, 1.2, 1.1, 1.0, 0.6, 0.6])
WEEKLY = WEEKLY / WEEKLY.mean()
LN_MU, LN_SIGMA = 6.0, 1.1


def expected_per_hour(surge: dict[int, float] | None = None) -> np.ndarray:
    """[day, hour] expected arrivals of the synthetic process."""
    days = WEEKS * 7
    rate = BASE * np.outer(WEEKLY[np.arange(days) % 7], HOURLY)
    for day, factor in (surge or {}).items():
        rate[day] *= factor
    return rate


def write_log(path: Path, rng: np.random.Generator, rate: np.ndarray,
              resolve: str = "lognormal") -> int:
    """A ServiceNow-like event log: 1-3 rows per incident, times as 'd/m/Y H:M'."""
    rows = []
    n = 0
    for day in range(rate.shape[0]):
        for hour in range(24):
            for _ in range(rng.poisson(rate[day, hour])):
                opened = datetime.combine(START, datetime.min.time()) + timedelta(
                    days=day, hours=hour, minutes=int(rng.integers(60)))
                minutes = (rng.lognormal(LN_MU, LN_SIGMA) if resolve == "lognormal"
                           else rng.exponential(300.0))
                resolved = opened + timedelta(minutes=round(minutes) or 1)
                fmt = lambda t: f"{t.day}/{t.month}/{t.year} {t:%H:%M}"  # noqa: E731
                for state in ("New", "Active", "Resolved")[: int(rng.integers(1, 4))]:
                    rows.append([f"INC{n:07d}", state, fmt(opened), fmt(resolved), "?"])
                n += 1
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["number", "incident_state", "opened_at", "resolved_at", "closed_at"])
        writer.writerows(rows)
    return n


@pytest.fixture(scope="module")
def steady(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    rate = expected_per_hour()
    path = tmp_path_factory.mktemp("steady") / "steady.csv"
    write_log(path, np.random.default_rng(20240101), rate)
    return path, rate


def test_profile_recovers_the_true_one(steady: tuple[Path, np.ndarray]) -> None:
    path, rate = steady
    cal = calibrate(path)
    a = cal.arrivals
    n = a.arrivals
    assert cal.incidents == n and a.outside == 0
    assert (a.first, a.last) == (START, START + timedelta(days=WEEKS * 7 - 1))
    assert a.surges == ()
    assert abs(a.base_rate - BASE) < Z * BASE / math.sqrt(n)
    per_hour = rate.sum(axis=0)
    for h in range(24):
        se = HOURLY[h] * math.sqrt(1 / per_hour[h] + 1 / n)
        assert abs(a.hourly[h] - HOURLY[h]) < Z * se, f"hour {h}"
    per_day = rate.sum(axis=1)
    for d in range(7):
        se = WEEKLY[d] * math.sqrt(1 / per_day[d::7].sum() + 1 / n)
        assert abs(a.weekly[d] - WEEKLY[d]) < Z * se, f"weekday {d}"
    assert np.mean(a.hourly) == pytest.approx(1.0) and np.mean(a.weekly) == pytest.approx(1.0)
    # the 7x24 report matrix: each cell's mean arrivals per hour, SE sqrt(rate / weeks); 5 SE
    # here, as 168 cells of small, skewed counts are checked at once
    true = BASE * np.outer(WEEKLY, HOURLY)
    assert np.all(np.abs(np.array(a.matrix) - true) < 5.0 * np.sqrt(true / WEEKS))


def test_a_3x_surge_over_4_days_is_found(tmp_path: Path) -> None:
    days = {30: 3.0, 31: 3.0, 32: 3.0, 33: 3.0}  # Wed 31 Jan .. Sat 3 Feb 2024
    rate = expected_per_hour(days)
    write_log(tmp_path / "surge.csv", np.random.default_rng(7), rate)
    a = calibrate(tmp_path / "surge.csv").arrivals
    (surge,) = a.surges
    assert (surge.start, surge.end, surge.days) == (date(2024, 1, 31), date(2024, 2, 3), 4)
    observed = rate[30:34].sum()
    assert abs(surge.factor - 3.0) < Z * 3.0 * math.sqrt(1 / observed + 1 / a.arrivals)
    assert surge.peak >= surge.factor
    # the surge days are left out of the profile, so the base rate is still the true one
    assert abs(a.base_rate - BASE) < Z * BASE / math.sqrt(a.arrivals)


def test_lognormal_resolve_times_are_recovered_and_preferred() -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    fit = fit_resolve_times(rng.lognormal(LN_MU, LN_SIGMA, n))
    assert fit.family == "lognormal"
    assert abs(fit.mu - LN_MU) < Z * LN_SIGMA / math.sqrt(n)
    assert abs(fit.sigma - LN_SIGMA) < Z * LN_SIGMA / math.sqrt(2 * n)
    assert fit.loglik_lognormal > fit.loglik_exponential
    assert fit.mean == pytest.approx(math.exp(fit.mu + fit.sigma**2 / 2))
    # what the fragment says must rebuild the fitted mu and sigma
    rebuilt = LogNormal(fit.mean, fit.sd)
    assert rebuilt.mu == pytest.approx(fit.mu) and rebuilt.sigma == pytest.approx(fit.sigma)


def test_exponential_resolve_times_prefer_the_exponential() -> None:
    rng = np.random.default_rng(12)
    n = 20_000
    fit = fit_resolve_times(rng.exponential(300.0, n))
    assert fit.family == "exponential"
    assert abs(fit.mean - 300.0) < Z * 300.0 / math.sqrt(n)
    assert fit.sd == fit.mean
    assert fit.loglik_exponential > fit.loglik_lognormal


def test_resolve_times_drop_unresolved_and_non_positive() -> None:
    fit = fit_resolve_times([math.nan, 0.0, -5.0, 10.0, 20.0, 40.0])
    assert (fit.n, fit.dropped) == (3, 3)
    assert fit.sample_mean == pytest.approx(70 / 3) and fit.p50 == 20.0
    with pytest.raises(SimulationError, match="at least 2 positive"):
        fit_resolve_times([math.nan, 5.0])


def test_end_to_end_resolve_fit_from_a_log(steady: tuple[Path, np.ndarray]) -> None:
    r = calibrate(steady[0]).resolve
    assert r.family == "lognormal" and r.dropped == 0
    assert abs(r.mu - LN_MU) < Z * LN_SIGMA / math.sqrt(r.n) + 0.01  # + minute rounding
    assert r.p50 == pytest.approx(math.exp(LN_MU), rel=0.1)


def test_fragment_has_exactly_the_agreed_shape(steady: tuple[Path, np.ndarray]) -> None:
    cal = calibrate(steady[0])
    frag = cal.to_scenario_fragment()
    assert list(frag) == ["demand", "calibration"]
    assert list(frag["demand"]) == ["base_rate", "hourly", "weekly", "surges"]
    assert list(frag["calibration"]) == ["source", "incidents", "period", "busiest_week",
                                         "resolve_time", "resolve_time_stats"]
    c = frag["calibration"]
    assert c["source"] == "steady.csv" and c["incidents"] == cal.incidents
    assert c["period"] == ["2024-01-01", "2024-02-25"]
    assert list(c["resolve_time"]) == ["lognormal"]
    assert parse_distribution(c["resolve_time"]).mean == pytest.approx(cal.resolve.mean, rel=1e-3)
    assert set(c["resolve_time_stats"]) == {"mean", "p50", "p90", "n"}
    demand = Demand(**frag["demand"])  # the scenario language accepts it as written
    assert demand.base_rate == pytest.approx(cal.arrivals.base_rate, abs=1e-4)
    assert len(demand.hourly or []) == 24 and len(demand.weekly or []) == 7


def test_write_fragment_round_trips_under_an_attributed_header(
        steady: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    cal = calibrate(steady[0])
    out = write_fragment(cal, tmp_path / "cal.yaml")
    text = out.read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert f"# {ATTRIBUTION}" in header and any("steady.csv" in h for h in header)
    assert yaml.safe_load(text) == cal.to_scenario_fragment()
    with pytest.raises(SimulationError, match="cannot write"):
        write_fragment(cal, tmp_path / "no" / "such" / "dir.yaml")


def test_surges_become_step_surges_the_scenario_accepts(tmp_path: Path) -> None:
    write_log(tmp_path / "s.csv", np.random.default_rng(3),
              expected_per_hour({15: 2.5, 16: 2.5}))
    frag = calibrate(tmp_path / "s.csv").to_scenario_fragment()
    (surge,) = frag["demand"]["surges"]
    assert surge["kind"] == "step" and surge["start"] == "2024-01-16"
    assert surge["duration"] == "2d" and 2.0 < surge["factor"] < 3.0
    assert Demand(**frag["demand"]).surges[0].factor == surge["factor"]


def test_stragglers_outside_the_dense_period_are_ignored(tmp_path: Path) -> None:
    rate = expected_per_hour()
    path = tmp_path / "tail.csv"
    write_log(path, np.random.default_rng(5), rate)
    with path.open("a", encoding="utf-8") as fh:  # two tickets months later
        fh.write("LATE1,New,1/6/2024 10:00,1/6/2024 11:00,?\nLATE2,New,9/9/2024 10:00,?,?\n")
    a = calibrate(path).arrivals
    assert a.last == START + timedelta(days=WEEKS * 7 - 1) and a.outside == 2


def test_calibrate_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("number,opened_at\nA,1/1/2020 00:00\n", encoding="utf-8")
    with pytest.raises(SimulationError) as info:
        calibrate(path)
    assert info.value.diagnostics[0].line == 1
    assert "resolution column 'resolved_at'" in str(info.value)
    path.write_text("number,opened_at,resolved_at\nA,1/1/2020 00:00,?\n", encoding="utf-8")
    with pytest.raises(SimulationError, match=r"log\.csv:1:1: error: resolved_at: need"):
        calibrate(path)


def test_shipped_excerpt_calibrates() -> None:
    cal = calibrate(EXCERPT)
    a = cal.arrivals
    assert cal.incidents == 3931 and a.base_rate > 0
    assert (a.busiest_start, a.busiest_arrivals) == (date(2016, 3, 2), 2377)
    assert (a.first, a.last) == (date(2016, 2, 29), date(2016, 3, 13))
    assert max(a.weekly[:5]) > 5 * max(a.weekly[5:])  # a weekday service desk
    assert cal.resolve.n > 3000


# --- the command -----------------------------------------------------------------------------


def cli() -> typer.Typer:
    """A tiny app that mounts the command the way tui/cli.py does."""
    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("calibrate")(calibrate_cmd)

    @app.callback()
    def root() -> None:
        """Test root, so that `calibrate` stays a subcommand."""

    return app


def test_command_prints_tables_and_writes_the_fragment(tmp_path: Path) -> None:
    out, frag = tmp_path / "calibrated.yaml", tmp_path / "frag.yaml"
    result = CliRunner().invoke(cli(), ["calibrate", str(EXCERPT), "--out", str(out),
                                        "--fragment", str(frag)])
    assert result.exit_code == 0, result.output
    for text in ("base rate", "Mon", "Surges", "Resolve time", "Trend", f"wrote {out}"):
        assert text in result.output
    assert yaml.safe_load(frag.read_text(encoding="utf-8"))["calibration"]["incidents"] == 3931
    from simulation.scenario.loader import load_scenario
    loaded = load_scenario(out)
    # trained on the whole excerpt (29 Feb..13 Mar 2016), it runs the week after
    assert loaded.scenario.start.date().isoformat() == "2016-03-14"
    assert loaded.scenario.demand.base_rate > 0 and loaded.scenario.demand.replay is None
    assert loaded.scenario.demand.profile is not None


def test_replayed_scenario_reproduces_the_log_day_by_day(tmp_path: Path) -> None:
    import csv
    from datetime import datetime

    import numpy as np

    from simulation.scenario.loader import load_scenario
    out = tmp_path / "replay.yaml"
    result = CliRunner().invoke(cli(), ["calibrate", str(EXCERPT), "--out", str(out),
                                        "--replay", "--base", "normal-week",
                                        "--forecast", "2016-03-02..2016-03-08"])
    assert result.exit_code == 0, result.output
    loaded = load_scenario(out)
    replayed = np.histogram(loaded.replay, np.arange(0, 8 * 1440, 1440))[0]
    with EXCERPT.open(encoding="utf-8") as fh:
        opened = {row["number"]: datetime.strptime(row["opened_at"], "%d/%m/%Y %H:%M")
                  for row in csv.DictReader(fh)}
    start = datetime(2016, 3, 2)
    real = [sum(1 for t in opened.values() if 0 <= (t - start).total_seconds() / 86400 - d < 1)
            for d in range(7)]
    assert replayed.tolist() == real


def test_command_bad_column_exits_2_with_a_located_line(tmp_path: Path) -> None:
    out = tmp_path / "frag.yaml"
    result = CliRunner().invoke(cli(), ["calibrate", str(EXCERPT), "--opened", "opened",
                                        "--out", str(out)])
    assert result.exit_code == 2
    assert f"{EXCERPT}:1:1: error: no column 'opened' (for arrival) (did you mean " \
        "'opened_at'?)" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_command_per_row_and_format_options(tmp_path: Path) -> None:
    log = tmp_path / "iso.csv"
    rows = [f"2024-01-0{1 + i % 7}T{9 + i % 8:02d}:{i % 60:02d},2024-01-0{1 + i % 7}T18:00"
            for i in range(30)]
    log.write_text("t,done\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli(), ["calibrate", str(log), "--opened", "t", "--resolved",
                                        "done", "--id", "", "--format", "iso",
                                        "--out", str(tmp_path / "f.yaml")])
    assert result.exit_code == 0, result.output
    assert "30 tickets read" in result.output


def test_command_counts_unreadable_incidents_once(tmp_path: Path) -> None:
    """Two tickets on five rows, every time unreadable: 2 of 2 tickets (100%), never
    "5 of 2 tickets (250%)" from counting each bad row against distinct tickets."""
    log = tmp_path / "bad.csv"
    log.write_text("number,opened_at,resolved_at\n" + "A,junk,bad\n" * 3 + "B,junk,bad\n" * 2,
                   encoding="utf-8")
    result = CliRunner().invoke(cli(), ["calibrate", str(log), "--out",
                                        str(tmp_path / "c.yaml"), "--format", "%d/%m/%Y %H:%M"])
    assert result.exit_code == 2, result.output
    assert "2 of 2 tickets unreadable (100.0%" in result.output, result.output
    assert "200.0%" not in result.output

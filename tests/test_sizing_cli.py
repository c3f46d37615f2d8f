"""`muster size` at the command line: bad input exits 2 with the nearest valid names and no
traceback; a question answers with a table, files and plots (Chinese names drawn); an
hourly plan writes its table, CSVs and plot; exit 1 when nothing in the range meets.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli


run = run_cli


@pytest.fixture
def wide(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")


@pytest.fixture
def queue_file(tmp_path: Path) -> Path:
    path = tmp_path / "q.yaml"
    path.write_text(textwrap.dedent("""\
        name: q
        horizon: 1d
        warmup: 2h
        queue: {arrival_rate: 60/h, service: {exponential: 10m}, servers: 12}
        """), encoding="utf-8")
    return path


@pytest.mark.parametrize("argv,expect", [
    (["--target", "VIP.acknowlege.attainment >= 95%", "--vary",
      "staffing.现场技术组.headcount=10..30"], "did you mean 'VIP.acknowledge.attainment'?"),
    (["--target", "VIP.acknowledge.attainment >= 95%", "--vary",
      "staffing.现场技术.headcount=10..30"], "did you mean 'staffing.现场技术组.headcount'?"),
    (["--target", "abandonment <= 2h", "--vary", "staffing.现场技术组.headcount=10..30"],
     "is not a share"),
    (["--target", "abandonment <= 5%"], "give at least one resource to vary"),
    (["--vary", "staffing.现场技术组.headcount=10..30"], "give at least one target"),
    (["-t", "abandonment <= 5%", "-v", "staffing.现场技术组.headcount=10..30",
      "--confidence", "2"], "--confidence"),
    (["-t", "abandonment <= 5%", "-v", "staffing.现场技术组.headcount=10..30",
      "--cluster", "big"], "only 'local'"),
    (["-t", "abandonment <= 5%", "-v", "staffing.现场技术组.headcount=10..30",
      "--scheduler", "10.0.0.5"], "give the scheduler's address"),
    (["-t", "abandonment <= 5%", "-v", "staffing.现场技术组.headcount=10..30",
      "--budget", "soon"], "--budget"),
    (["--plan", "hourly", "-t", "delay <= 0.2"], "--pool"),
    (["--plan", "hourly", "--pool", "客服", "-t", "delay <= 0.2"], "did you mean '客服组'?"),
    (["--plan", "hourly", "--pool", "客服组", "-t", "VIP.acknowledge.attainment >= 90%"],
     "an hourly plan keeps"),
    (["-t", "abandonment <= 5%", "-v", "staffing.现场技术组.headcount=1..100000"],
     "more than the limit"),
])
def test_bad_input_exits_2_with_one_clear_line(capsys, argv: list[str], expect: str) -> None:
    code, out, err = run(capsys, "size", "defective-batch-surge", *argv)
    assert code == 2, (out, err)
    assert expect in err, err


def test_an_unknown_scenario_and_an_out_that_is_a_file_exit_2(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "size", "defective-batch-surg", "-t", "abandonment <= 5%")
    assert code == 2 and "defective-batch-surge" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "size", "defective-batch-surge", "-t", "abandonment <= 5%",
                       "-v", "staffing.现场技术组.headcount=10..12", "--out", blocker)
    assert code == 2 and "must be a folder" in err


def test_list_metrics_names_metrics_and_paths_of_the_scenario(capsys, wide) -> None:
    code, out, _ = run(capsys, "size", "defective-batch-surge", "--list-metrics")
    assert code == 0
    for name in ("sla.VIP.acknowledge.attainment", "pool.现场技术组.wait.p(>T)",
                 "stock.FLR-OAK-1210.measured.fill_rate", "VIP.acknowledge.attainment",
                 "staffing.现场技术组.headcount", "parts.FLR-OAK-1210.initial",
                 "staffing.合作服务商.crew"):
        assert name in out, name


def test_a_question_answers_with_a_table_files_and_plots(capsys, wide, queue_file,
                                                         tmp_path) -> None:
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "size", queue_file, "-t", "delay <= 0.35", "-v",
                         "queue.servers=8..20", "--workers", "1", "--out", out_dir)
    assert code == 0, err
    assert "Cheapest configuration meeting every target at 95% confidence: " \
           "queue.servers=13" in out
    assert "Erlang C" in out and "square-root" in out
    data = json.loads((out_dir / "sizing.json").read_text(encoding="utf-8"))
    assert data["answer"]["configuration"] == {"queue.servers": 13}
    erlang = [f for f in data["theory"][0]["formulas"] if f["method"] == "Erlang C"]
    assert {f["level"] for f in erlang} == {13}  # stationary: peak hour = average hour
    for name in ("frontier.csv", "metric.png", "cost.png", "replications.jsonl"):
        assert (out_dir / name).is_file(), name
    again = run(capsys, "size", queue_file, "-t", "delay <= 0.35", "-v",
                "queue.servers=8..20", "--workers", "1", "--out", out_dir, "--quick")
    assert again[0] == 0 and "(0 simulated now)" in again[1]


def test_nothing_in_range_exits_1_naming_the_target_and_the_closest(capsys, wide,
                                                                     queue_file,
                                                                     tmp_path) -> None:
    code, out, _ = run(capsys, "size", queue_file, "-t", "delay <= 0.35", "-v",
                       "queue.servers=8..11", "--workers", "1", "--out", tmp_path / "o",
                       "--quick")
    assert code == 1
    assert "No configuration in the range meets every target" in out
    assert "the target that fails: delay <= 35.00%" in out and "queue.servers=11" in out


def test_two_resources_draw_a_heatmap_with_chinese_names(capsys, wide, tmp_path) -> None:
    (tmp_path / "stage.yaml").write_text(textwrap.dedent("""\
        name: stage
        title: 维修
        kinds: [维修]
        calendar: {name: "24/7", timezone: UTC, working_hours: "mon-sun 00:00-24:00"}
        sla: {VIP: {}, tier1: {}, tier2: {}}
        roles: {技师: {description: 维修技师}}
        parts: {配件-01: {name: 配件, unit_cost: 20}}
        lifecycle:
          initial: 维修中
          states:
            维修中:
              work: {role: 技师, duration: {exponential: 30m}, parts: {配件-01: {qty: 1, p: 1.0}}}
              outcomes: {完成: 结束}
            结束: {final: true}
        resources: {priority: [opened], pools: {技师组: {role: 技师, serves: [维修中]}}}
        """), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(textwrap.dedent("""\
        name: 两种资源
        horizon: 1d
        start: 2026-03-02T00:00:00+00:00
        demand: {base_rate: 8/h}
        mix: {维修: {playbook: stage.yaml, tiers: {tier2: 1}}}
        staffing: {技师组: {roles: [技师], headcount: 6, wage_per_hour: 30}}
        parts:
          配件-01: {initial: 40, policy: {type: base_stock, level: 40}, lead_time: 4h}
        messages: {role: null}
        """), encoding="utf-8")
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "size", tmp_path / "s.yaml", "-t", "delay <= 0.3",
                         "-t", "stock.配件-01.fill_rate >= 90%",
                         "-v", "staffing.技师组.headcount=5..8",
                         "-v", "parts.配件-01.policy.level=24,48", "--workers", "1",
                         "--first", "4", "--max-reps", "8", "--grid",
                         "--out", out_dir)
    assert code in (0, 1), err
    assert (out_dir / "heatmap.png").is_file() and (out_dir / "heatmap.svg").is_file()
    assert "plots:" not in err  # no character was drawn as a box
    assert "技师组" in (out_dir / "heatmap.svg").read_text(encoding="utf-8")


def test_an_hourly_plan_writes_its_table_csvs_and_plot(capsys, wide, tmp_path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(textwrap.dedent("""\
        name: q
        horizon: 1d
        queue: {arrival_rate: 12/h, service: {exponential: 10m}, servers: 8}
        """), encoding="utf-8")
    out_dir = tmp_path / "h"
    code, out, err = run(capsys, "size", path, "--plan", "hourly", "--pool", "servers",
                         "-t", "wait.p(>20m) <= 0.1", "--step", "6h", "--reps", "4",
                         "--workers", "1", "--out", out_dir)
    assert code == 0, err
    assert "Hourly plan for servers" in out and "shift proposal" in out
    rows = (out_dir / "hourly.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("step,start,work_arriving,current,plan,proposal") and \
        len(rows) == 5
    for name in ("shifts.csv", "hourly.json", "hourly.png"):
        assert (out_dir / name).is_file(), name

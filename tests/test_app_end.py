"""The Textual app at the end of a drill and on the home screen's records (pilot tests): the
drill end, the score screen, a drill played to its end, resuming, reports.

Same harness as tests/test_app.py (tests/app_helpers.py): a wall clock the test moves by
hand, the bundled recall drill, assertions on the drill itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from incidents.store import EventStore
from simulation.drills.actions import Note
from simulation.drills.record import load_record
from simulation.drills.session import DrillSession
from simulation.scenario.loader import load_scenario
from tests.app_helpers import (SIZE, ManualClock, app_fixture, clock_fixture,  # noqa: F401
                               jump, log_text, pilot_test, recall_only, settle, start, until)
from simulation.drills.scoring import KPI_LABELS
from tui.app import MusterApp, make_app
from tui.screens.score import DAY_KPIS
from tui.screens import DrillScreen, HomeScreen, PastDrillScreen, ReportScreen, ScoreScreen


# -- the end -----------------------------------------------------------------------------------

@pilot_test
async def test_end_the_drill_closes_its_record(app: MusterApp, tmp_path: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("n")  # "keep playing"
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("q", "y")
        await pilot.pause()
        assert isinstance(app.screen, ScoreScreen)
        sid = screen.recorder.stream_id  # type: ignore[union-attr]
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
    with EventStore.open(tmp_path / "records" / "drills.sqlite", create=False) as store:
        record = load_record(store, sid)
        scores = list(store.events(sid, kinds="score"))
    assert record.end is not None and record.end["reason"] == "ended by the team"
    assert len(scores) == 1  # the review finished before going home, and saved the score


@pilot_test
async def test_the_score_screen_rates_the_drill_and_writes_the_report(
        app: MusterApp, tmp_path: Path) -> None:
    """Jump to M1 (level IV expected within 2 h), declare IV at once, end: the score screen
    lists every critical task with its rating (M1's on time: P), the KPIs beside the
    counterfactuals, and the report path."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await jump(pilot, screen)
        assert "M1" in screen.session.fired
        await pilot.press("d", "enter")
        await pilot.pause()
        assert screen.session.team.declared == "IV"
        await pilot.press("q", "y")
        await pilot.pause()
        score = app.screen
        assert isinstance(score, ScoreScreen)
        await score.workers.wait_for_complete()
        await pilot.pause()
        assert score.review is not None
        ratings = score.query_one("#ratings", DataTable)
        assert ratings.row_count == len(score.review.score.tasks) > 0
        rating = str(ratings.get_cell("M1.1", "rating"))
        assert rating.startswith("P"), rating
        tasks = score.review.score.tasks
        detail = score.query_one("#rating-detail", Static)
        assert tasks[0].title in str(detail.render())          # the first task in full
        assert all(e.text in str(detail.render()) for e in tasks[0].evidence)
        await pilot.press("down")                                # arrows browse the tasks
        await pilot.pause()
        assert tasks[1].title in str(detail.render())
        assert all(e.text in str(detail.render()) for e in tasks[1].evidence)
        kpis = score.query_one("#kpis", DataTable)
        assert kpis.row_count == len(KPI_LABELS)
        parts = score.query_one("#parts", DataTable)
        assert parts.row_count == len(score.review.score.parts)
        status = str(score.query_one("#score-status", Static).render())
        assert f"Score {score.review.score.total:.1f}" in status
        assert "ended early: 8 timed injects not reached" in status  # only M1 came
        for _ in range(400):                          # the other days: their own worker
            if score.review.days is not None and score.query_one("#days").row_count:
                break
            await score.workers.wait_for_complete()
            await pilot.pause()
        assert score.query_one("#days", DataTable).row_count == len(DAY_KPIS)
        assert "other days" in str(score.query_one("#days-status", Static).render())
        sid = screen.recorder.stream_id  # type: ignore[union-attr]
        report = tmp_path / "out" / "drills" / sid[:8] / "after-action.md"
        assert report.is_file() and "召回" in report.read_text(encoding="utf-8")
        await pilot.press("h")                       # home: the training record has it
        await pilot.pause()
        home = app.screen
        assert isinstance(home, HomeScreen)
        await home.workers.wait_for_complete()
        await pilot.press("t")
        await pilot.pause()
        training = home.query_one("#training-table", DataTable)
        assert training.row_count == 1
        assert str(training.get_cell(sid, "score")) == \
            f"{score.review.score.total:.1f} (ended early)"     # only M1 of 8 came
        note = str(home.query_one("#training-note", Static).render())
        assert "fewer" not in note and "in the last twelve months" in note  # 1 of 4 a year


@pilot_test
async def test_a_drill_played_to_its_end(app: MusterApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("4", "space")
        clock.now += screen.session.end * 60 / 360 + 1
        await until(pilot, lambda: isinstance(app.screen, ScoreScreen))
        assert isinstance(app.screen, ScoreScreen)
        assert screen.session.finished
        record = load_record(screen.recorder.store,  # type: ignore[union-attr]
                             screen.recorder.stream_id)  # type: ignore[union-attr]
        assert record.end is not None and record.end["reason"] == "finished"


# -- records and reports from the home screen ---------------------------------------------------

@pilot_test
async def test_resume_an_interrupted_drill_from_home(tmp_path: Path,
                                                     clock: ManualClock) -> None:
    store = tmp_path / "records" / "drills.sqlite"
    first = make_app(store=store, out_dir=tmp_path / "out", drills=recall_only, clock=clock,
                     tick=0.05, running=False, review_days=2)
    async with first.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await jump(pilot, screen)
        screen.act(Note(text="before the crash"))
        minute = screen.session.now
    second = make_app(store=store, out_dir=tmp_path / "out", drills=recall_only, clock=clock,
                      tick=0.05, running=False, review_days=2)
    async with second.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await second.workers.wait_for_complete()
        await pilot.pause()
        table = second.screen.query_one("#past-table", DataTable)
        assert table.row_count == 1
        assert "interrupted" in str(table.get_cell(next(iter(table.rows)), "state"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(second.screen, PastDrillScreen)
        await pilot.press("r")
        await second.workers.wait_for_complete()
        await pilot.pause()
        resumed = second.screen
        assert isinstance(resumed, DrillScreen)
        assert resumed.paused
        assert resumed.session.now == pytest.approx(minute)
        assert [n.action["text"] for n in resumed.session.notes] == ["before the crash"]
        assert "before the crash" not in log_text(resumed)  # notes log as "note"
        assert "note" in log_text(resumed)


@pilot_test
async def test_open_a_report_s_key_findings(tmp_path: Path, clock: ManualClock) -> None:
    folder = tmp_path / "out" / "recall-week"
    folder.mkdir(parents=True)
    (folder / "report.md").write_text(
        "# 召回周报告\n\n## What was simulated\n\nthree days\n\n## Key findings\n\n"
        "- VIP 响应按时率 97%\n\n## SLA attainment\n\ntable\n", encoding="utf-8")
    app = make_app(store=tmp_path / "none.sqlite", out_dir=tmp_path / "out",
                   drills=recall_only, clock=clock, running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        report = app.screen
        assert isinstance(report, ReportScreen)
        text = report.query_one("#report-text").source  # type: ignore[attr-defined]
        assert "VIP 响应按时率 97%" in text and "three days" not in text
        await pilot.press("f")
        await pilot.pause()
        assert "three days" in report.query_one("#report-text").source  # type: ignore


@pilot_test
async def test_run_drill_app_opens_on_the_drill(clock: ManualClock) -> None:
    session = DrillSession(load_scenario("drill-recall"), 1)
    session.advance(90)
    app = make_app(session=session, clock=clock, running=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, DrillScreen)
        assert app.screen.session is session and app.screen.paused
        assert isinstance(app.screen_stack[-2], HomeScreen), "home lies under the drill"
        clock.now += 60
        await settle(pilot)
        assert session.now == 90, "a resumed drill waits for space"


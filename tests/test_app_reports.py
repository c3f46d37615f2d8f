"""The home screen's Reports, Past drills and Training record tabs (issue 19's defects: the
Reports tab said "No report under muster-out yet" beside three after-action reports, past
drills showed no scores, the training record's Chinese row lost its score), and the
timeline plot's labels kept apart."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Markdown, Static

from incidents.store import EventStore
from simulation.drills.aar import _rows_apart
from simulation.drills.catalog import bundled_drills
from simulation.drills.record import start_record
from simulation.drills.review import save_score
from simulation.drills.scoring import Score
from simulation.drills.screenviews import past_drills, reports
from simulation.drills.session import DrillSession
from simulation.scenario.loader import load_scenario
from tests.app_helpers import pilot_test, until
from tui.app import make_app
from tui.screens import HomeScreen


def _scored_store(path: Path) -> str:
    loaded = load_scenario("drill-recall")
    with EventStore.open(path) as store:
        recorder = start_record(store, loaded, 1, team="华东指挥部")
        session = DrillSession(loaded, 1, recorder=recorder)
        session.advance(60)
        recorder.finish(session)
        save_score(store, recorder.stream_id, Score(71.5, {"tasks": 80.0, "service": None},
                                                    {"tasks": 40.0, "service": 20.0}))
        return recorder.stream_id


def _reports(out: Path) -> None:
    (out / "drills" / "abcd1234").mkdir(parents=True)
    (out / "drills" / "abcd1234" / "after-action.md").write_text(
        "# After-action report: 台风应急演练\n\n## Overview\n", encoding="utf-8")
    (out / "sim").mkdir()
    (out / "sim" / "report.md").write_text("# sim\n", encoding="utf-8")


def test_reports_and_past_drills_as_data(tmp_path: Path) -> None:
    _reports(tmp_path / "out")
    found = reports(tmp_path / "out")
    assert {(r.kind, r.name) for r in found} == {
        ("simulation", "sim"), ("after-action", "drill abcd1234: 台风应急演练")}
    sid = _scored_store(tmp_path / "d.sqlite")
    (past,) = past_drills(tmp_path / "d.sqlite")
    assert past.id == sid and past.score == 71.5
    assert past.parts_text() == "tasks 80  service -"


@pilot_test
async def test_the_home_tabs_show_reports_scores_and_parts(tmp_path: Path) -> None:
    _reports(tmp_path / "out")
    _scored_store(tmp_path / "d.sqlite")
    recall = [d for d in bundled_drills() if d.name == "drill-recall"]
    app = make_app(store=tmp_path / "d.sqlite", out_dir=tmp_path / "out",
                   drills=lambda: recall, running=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen)
                    and app.screen.query_one("#reports-table", DataTable).row_count == 2)
        home = app.screen
        note = str(home.query_one("#reports-note", Static).content)
        assert "2 report(s)" in note
        past = home.query_one("#past-table", DataTable)
        row = past.get_row_at(0)
        assert "71.5" in [str(c) for c in row] and "tasks 80  service -" in [str(c) for c in row]
        training = home.query_one("#training-table", DataTable)
        await until(pilot, lambda: training.row_count == 1)
        cells = [str(c) for c in training.get_row_at(0)]
        assert cells.index("71.5") < cells.index("实木复合地板批次召回应急演练"), \
            "the score comes before the long Chinese title, which a narrow table cuts"
        # The Help tab's guide is built when first shown, and then it is there to read.
        scroll = home.query_one("#help-scroll")
        assert not scroll.children, "the guide is built on every start again"
        await pilot.press("h")
        await until(pilot, lambda: bool(scroll.query(Markdown)))
        assert "drill" in scroll.query_one(Markdown).source and scroll.has_focus


def test_timeline_labels_never_share_a_row_when_close() -> None:
    rows = _rows_apart([1.0, 1.1, 1.2, 5.0, 5.05], gap=0.5)
    assert rows[:3] == [0, 1, 2] and rows[3] == 0 and rows[4] == 1

"""What the app's screens show, without Textual: screenviews.py, and the `muster` front door.

The board model must agree with views.board (the one rule of what the board is) after any
number of incremental updates; countdowns change colour exactly at their thresholds; the
home lists read the record store and the output folder as they are.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidents.store import EventStore
from simulation.drills import screenviews
from simulation.drills.actions import DeclareLevel, Escalate, Prioritise
from simulation.drills.record import start_record
from simulation.drills.screenviews import (
    BoardModel,
    countdown,
    duration_text,
    join_cjk_lines,
    key_findings,
    level_choices,
    obligation_choices,
    past_drills,
    playbook_overview,
    reports,
    unlock_choices,
)
from simulation.drills.session import DrillSession
from simulation.drills.views import SORT_KEYS, board, communications, open_cases
from simulation.scenario.loader import load_scenario
from tests.conftest import base_playbook
from tui.cli import main


@pytest.fixture(scope="module")
def loaded():  # type: ignore[no-untyped-def]
    return load_scenario("drill-recall")


def fixed_wall() -> datetime:
    return datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- the board ---------------------------------------------------------------------------------

def test_board_model_agrees_with_views_board_as_the_drill_moves(loaded) -> None:  # type: ignore
    session = DrillSession(loaded, 1, wall=fixed_wall)
    model = BoardModel(session)
    checked = 0
    steps = ((300, None), (700, DeclareLevel(level="III")), (900, Prioritise(tier="VIP")),
             (1500, None), (2200, Prioritise(case_kind="recall")))
    for minute, action in steps:
        session.advance(minute)
        for act in (False, True):
            if act:
                if action is None:
                    continue
                assert session.act(action).ok  # then compare at once: no model step between
            model.sync()
            for sort in SORT_KEYS:
                for filters in ({}, {"tier": "VIP"}, {"state": "检测"}, {"text": "waiting"}):
                    got = model.page(sort=sort, limit=50, **filters)  # type: ignore[arg-type]
                    want = board(session, sort=sort, limit=50,
                                 **filters)  # type: ignore[arg-type]
                    assert got == want, (minute, act, sort, filters)
                    checked += 1
    assert checked == 8 * len(SORT_KEYS) * 4
    assert all(r.boosted for r in model.rows.values()), "the last boost reached every row"


def test_board_model_recomputes_only_changed_cases(loaded) -> None:  # type: ignore
    session = DrillSession(loaded, 1, wall=fixed_wall)
    model = BoardModel(session)
    session.advance(600)
    assert model.sync() is True
    assert model.sync() is False, "nothing changed since the last sync"
    session.advance(601)
    moved = model.sync()
    assert moved == bool(model.changed)
    assert set(model.rows) == set(open_cases(session))
    cid = next(iter(model.rows))
    assert session.act(Escalate(case=cid)).ok
    assert model.sync() is True
    assert model.rows[cid].level == session.world.runtimes["recall"].levels[1]


def test_board_pages(loaded) -> None:  # type: ignore
    session = DrillSession(loaded, 1, wall=fixed_wall)
    session.advance(2000)
    model = BoardModel(session)
    model.sync()
    first, total = model.page(limit=10)
    second, _ = model.page(offset=10, limit=10)
    assert total == len(open_cases(session)) > 20
    assert len(first) == len(second) == 10 and not {r.case for r in first} & \
        {r.case for r in second}
    reverse, _ = model.page(limit=10, reverse=True, sort="case")
    assert [r.case for r in reverse] == sorted(model.rows, reverse=True)[:10]


@pytest.mark.parametrize(("left", "text", "urgency"), [
    (-0.5, "-0m", "late"), (-61, "-1h01m", "late"), (0, "0m", "urgent"),
    (59.9, "59m", "urgent"), (60, "1h00m", "soon"), (239.9, "3h59m", "soon"),
    (240, "4h00m", ""), (1500, "1d01h", ""),
])
def test_countdown_thresholds(left: float, text: str, urgency: str) -> None:
    assert countdown(1000 + left, 1000) == (text, urgency)


def test_countdown_without_deadline_and_durations() -> None:
    assert countdown(None, 5) == ("", "")
    assert [duration_text(m) for m in (0, 59, 60, 1439, 1440, 4320)] == \
        ["0m", "59m", "1h00m", "23h59m", "1d00h", "3d00h"]


# -- form choices ------------------------------------------------------------------------------

def test_level_choices_mark_the_recommendation_but_default_above_declared(loaded) -> None:  # type: ignore
    session = DrillSession(loaded, 1, wall=fixed_wall)
    session.advance(1500)
    info = session.level()
    assert info["recommended"] != info["declared"] == "normal"
    choices, default = level_choices(session)
    assert default == "IV", "the level above the declared one, never the recommendation"
    labels = dict((v, label) for label, v in choices)
    assert "recommended" in labels[info["recommended"]]
    assert "declared" in labels["normal"]
    unlocks, first = unlock_choices(session)
    assert first == 0 and all("[locked]" in label for label, _ in unlocks)
    session.act(DeclareLevel(level="III"))
    _, default = level_choices(session)
    assert default == "II"


def test_owed_messages_come_first(loaded) -> None:  # type: ignore
    session = DrillSession(loaded, 1, wall=fixed_wall)
    session.advance(400)
    session.act(DeclareLevel(level="III"))
    owed = [r.obligation for r in communications(session)]
    choices = obligation_choices(session)
    assert owed and [v for _, v in choices[:len(owed)]] == owed
    assert all("[owed" in label for label, _ in choices[:len(owed)])
    names = [v for _, v in choices]
    assert len(names) == len(set(names)), "each template once"
    every = {n for pb in loaded.playbooks.values() for n in pb.communications}
    assert set(names) == every


# -- text --------------------------------------------------------------------------------------

def test_join_cjk_lines_keeps_paragraphs_and_latin_breaks() -> None:
    text = "批次的地板\n含水率超标。\n\n第二段\nEnglish line\nnext"
    assert join_cjk_lines(text) == "批次的地板含水率超标。\n\n第二段\nEnglish line\nnext"


def test_key_findings(tmp_path: Path) -> None:
    report = tmp_path / "run" / "report.md"
    report.parent.mkdir()
    report.write_text("# Run\n\n## What was simulated\n\nx\n\n## Key findings\n\n- one\n- two"
                      "\n\n## SLA attainment\n\ny\n", encoding="utf-8")
    assert key_findings(report) == "# Run\n\n## Key findings\n\n- one\n- two\n"
    report.write_text("# Other\n\nno sections\n", encoding="utf-8")
    assert key_findings(report) == "# Other\n\nno sections\n"


# -- the home lists ----------------------------------------------------------------------------

def test_past_drills_and_their_state(tmp_path: Path, loaded) -> None:  # type: ignore
    path = tmp_path / "drills.sqlite"
    assert past_drills(path) == []
    with EventStore.open(path) as store:
        done = start_record(store, loaded, 3, team="甲队")
        session = DrillSession(loaded, 3, recorder=done, wall=fixed_wall)
        session.advance(60)
        done.finish(session, "ended by the team")
        start_record(store, loaded, 4, team="乙队")  # interrupted: no end
    drills = past_drills(path)
    assert [(d.team, d.seed, d.ended) for d in drills] == \
        [("乙队", 4, ""), ("甲队", 3, "ended by the team")]
    assert drills[1].events > drills[0].events == 1


def test_reports_newest_first(tmp_path: Path) -> None:
    assert reports(tmp_path / "missing") == []
    for name, mtime in (("old", 1_000_000), ("new", 2_000_000)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.md").write_text("# r\n", encoding="utf-8")
        os.utime(tmp_path / name / "report.md", (mtime, mtime))
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    assert [r.name for r in reports(tmp_path)] == ["new", "old"]


def test_the_playbook_overview_checks_an_edited_file_again(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The overview keeps a file's row while the file is unchanged (the home screen asks on
    every return), and checks it again once it is edited, even to the same size."""
    book = tmp_path / "mini.yaml"
    book.write_text(base_playbook(), encoding="utf-8")
    monkeypatch.setattr(screenviews, "library_files", lambda: [book])
    (row,) = playbook_overview()
    assert (row.name, row.check, row.ok) == ("mini", "ok", True)
    assert playbook_overview()[0] is row, "an unchanged file is linted again"
    broken = base_playbook().replace("initial: new", "initial: xxx")
    assert len(broken) == len(base_playbook())
    book.write_text(broken, encoding="utf-8")
    (again,) = playbook_overview()
    assert not again.ok and again.check.endswith("error(s)"), again


# -- the front door ----------------------------------------------------------------------------

def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_muster_prints_the_overview_when_not_a_terminal(capsys, monkeypatch) -> None:  # type: ignore
    opened: list[bool] = []
    monkeypatch.setattr("tui.app.run_app", lambda: opened.append(True))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert _run([]) == 0
    assert "bundled playbooks" in capsys.readouterr().out and not opened


def test_muster_opens_the_app_in_a_terminal_unless_plain(capsys, monkeypatch) -> None:  # type: ignore
    opened: list[bool] = []
    monkeypatch.setattr("tui.app.run_app", lambda: opened.append(True))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert _run([]) == 0
    assert opened == [True] and "bundled playbooks" not in capsys.readouterr().out
    assert _run(["--plain"]) == 0
    assert opened == [True] and "bundled playbooks" in capsys.readouterr().out

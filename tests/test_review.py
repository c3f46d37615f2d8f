"""The after-action review: ratings worked out by hand, counterfactuals, report, training record.

Each rating below is derived in the test from the rule in docs/drills.md and the minutes of
the drill (when an inject fired, when a level's condition first held), never read back from
a previous run.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from incidents.store import EventStore
from simulation.drills.actions import Acknowledge, DeclareLevel, Note, Send
from simulation.drills.aar import write
from simulation.drills.catalog import bundled_drills
from simulation.drills.counterfactual import counterfactual, counterfactuals, worth
from simulation.drills.record import start_record
from simulation.drills.review import review_record, review_session
from simulation.drills.ratings import RATING_POINTS
from simulation.drills.scoring import score
from simulation.drills.session import DrillSession
from simulation.drills.training import cadence_warnings, training_record, trends
from simulation.results.plots import missing_glyphs
from simulation.scenario.loader import load_scenario


@pytest.fixture(scope="module")
def loaded():
    return load_scenario("drill-recall")


def _task(result, task_id):
    return next(t for t in result.tasks if t.id == task_id)


def test_ratings_worked_out_by_hand(loaded) -> None:
    """M8 (CRM outage, at 2 d) expects an acknowledgement within 30 min; M1 (at 30 min)
    expects level IV within 2 h (allowance 1 h); M6 (at 20 h) expects the public statement
    within 6 h. Taken: M8 acknowledged 20 min after it fired -> P; level IV declared 2 h 40
    after M1 (late, within the allowance) -> S; the public statement never sent -> U;
    level III declared 50 min after its condition first held, with 30 min allowed and a
    30 min allowance -> S."""
    session = DrillSession(loaded, 1)
    session.advance(30 + 160)                                    # M1 fired at 30
    assert session.act(DeclareLevel(level="IV")).ok
    session.advance(2 * 1440)                                    # M8 fires at 2 d
    session.advance(2 * 1440 + 20)
    assert session.act(Acknowledge(inject="M8")).ok
    held_iii = next(at for at, level in session.team.history if level >= 2)
    assert held_iii < 2 * 1440 + 20, "the surge raises level III's condition by day 2"
    session.advance(2 * 1440 + 30)
    session.advance(max(held_iii + 50, session.now))
    late_by = session.now - held_iii
    assert session.act(DeclareLevel(level="III")).ok
    session.advance(session.end)
    result = score(session)
    assert _task(result, "M8.1").rating == "P"
    assert _task(result, "M1.1").rating == "S" and "allowance" in _task(result, "M1.1").reason
    assert _task(result, "M6.1").rating == "U"                   # 公开告知 never sent
    expected_iii = "S" if 30 < late_by <= 60 else "M" if late_by > 60 else "P"
    assert _task(result, "level.III").rating == expected_iii
    evidence = " ".join(e.text for e in _task(result, "M8.1").evidence)
    assert "acknowledged M8" in evidence and "20 min after the inject" in evidence


@pytest.mark.parametrize("lower_first", [False, True])
def test_a_level_already_declared_when_the_inject_comes_counts_at_once(loaded,
                                                                        lower_first: bool
                                                                        ) -> None:
    """M4 (at 18 h) expects level III within 2 h. A team that declared III at 1 h and is
    still at III when M4 comes did it: P, its evidence the standing declaration. One that
    went back to IV before M4 did not (and never raises it again): U."""
    session = DrillSession(loaded, 1)
    session.advance(60)
    assert session.act(DeclareLevel(level="III")).ok
    if lower_first:
        session.advance(120)
        assert session.act(DeclareLevel(level="IV")).ok
    session.advance(18 * 60 + 60)
    assert "M4" in session.fired
    session.advance(18 * 60 + 180)                               # past due + allowance
    task = _task(score(session), "M4.1")
    if lower_first:
        assert task.rating == "U"
    else:
        assert task.rating == "P" and task.reason == "already in force when the inject came"
        assert "before the inject" in " ".join(e.text for e in task.evidence)


def test_a_drill_ended_early_says_which_injects_its_score_never_asked(loaded,
                                                                      tmp_path: Path) -> None:
    """Ended after M1 (at 30 min): M2..M9 never came, so their tasks were never asked; the
    score says so, and so does the report. Played to its end, nothing is left out."""
    early = DrillSession(loaded, 1)
    early.advance(60)
    result = score(early)
    timed = [i.id for i in loaded.scenario.drill.injects]
    assert result.unplayed == tuple(i for i in timed if i != "M1") and len(timed) == 9
    assert "8 timed injects not reached (M2, M3" in result.coverage()
    review = review_session(early)
    paths = write(tmp_path, review, {"id": "x"})
    report = next(p for p in paths if p.suffix == ".md").read_text(encoding="utf-8")
    assert "the drill ended early: 8 timed injects not reached" in report
    full = DrillSession(loaded, 1)
    full.advance(full.end)
    assert score(full).unplayed == () and score(full).coverage() == ""


def test_the_score_is_the_weighted_mean_of_its_parts(loaded) -> None:
    played = DrillSession(loaded, 2)
    played.advance(60)
    played.act(DeclareLevel(level="IV"))
    played.advance(played.end)
    review = review_session(played)
    result = review.score
    rated = [t for t in result.tasks if t.source in ("inject", "level", "message")
             and t.rating is not None]
    tasks = sum(RATING_POINTS[t.rating] for t in rated) / len(rated)
    assert result.parts["tasks"] == pytest.approx(tasks)
    w = result.weights
    parts = {k: v for k, v in result.parts.items() if v is not None and w[k] > 0}
    assert set(parts) >= {"tasks", "service", "customers_lost", "cost"}
    expected = sum(parts[k] * w[k] for k in parts) / sum(w[k] for k in parts)
    assert result.total == pytest.approx(round(expected, 1))
    alone = score(review.session)                                # no counterfactuals
    assert {k for k, v in alone.parts.items() if v is not None} == {"tasks"}
    assert alone.total == pytest.approx(round(alone.parts["tasks"], 1))


@pytest.mark.parametrize("drill", [d.name for d in bundled_drills()])
def test_the_autopilot_does_no_worse_than_no_response(drill: str) -> None:
    """Same drill, same seeds: the playbook's autopilot keeps SLA attainment at least as
    high as no response at all, on every bundled drill."""
    loaded = load_scenario(drill)
    for seed in (1, 2, 3):
        auto = counterfactual(loaded, seed, "autopilot", [])
        none = counterfactual(loaded, seed, "none", [])
        a, n = auto.kpis["attainment"], none.kpis["attainment"]
        assert a is not None and n is not None
        assert a >= n - 1e-9, (drill, seed, a, n)


def test_counterfactuals_share_the_surge(loaded) -> None:
    """The two counterfactuals see the same customers: the same arrivals before the drill's
    end as the team's run, whatever they decided (complaints aside, which breaches cause)."""
    session = DrillSession(loaded, 4)
    session.advance(session.end)
    others = counterfactuals(session)

    def arrivals(s: DrillSession) -> int:
        return s.world.results().arrivals

    assert arrivals(others["autopilot"].session) == arrivals(others["none"].session) \
        == arrivals(session)
    diff = worth(others["autopilot"].kpis, others["none"].kpis)
    assert diff["contractors"] is not None and diff["contractors"] >= 0


def test_the_report_keeps_chinese_names_and_has_its_plots(loaded, tmp_path: Path) -> None:
    with EventStore.open(tmp_path / "r.sqlite") as store:
        recorder = start_record(store, loaded, 1, team="华东服务中心指挥部",
                                participants=[{"name": "王芳", "role": "incident_commander"}])
        session = DrillSession(loaded, 1, recorder=recorder)
        session.advance(60)
        session.act(DeclareLevel(level="IV"))
        session.act(Note(text="仓库电话占线，改用微信联系", task="M3.1", observer=True))
        session.advance(session.end)
        recorder.finish(session)
        review, paths = review_record(store, recorder.stream_id, tmp_path / "aar")
        scored = [e for e in store.events(recorder.stream_id, kinds="score")]
    md = (tmp_path / "aar" / "after-action.md").read_text(encoding="utf-8")
    page = (tmp_path / "aar" / "after-action.html").read_text(encoding="utf-8")
    for text in ("实木复合地板批次召回应急演练", "华东服务中心指挥部", "王芳", "应急指挥",
                 "仓库电话占线，改用微信联系", "## Improvement plan",
                 "## What your decisions were worth"):
        assert text in md, text
    assert "仓库电话占线" in page and "<table>" in page and 'charset="utf-8"' in page
    assert re.search(r"\| 发布公众告知 \| .* \| U \(unable", md)  # never sent: in the plan
    for name in ("timeline.png", "timeline.svg", "kpis.png", "kpis.svg"):
        assert (tmp_path / "aar" / name).stat().st_size > 1000, name
    svg = (tmp_path / "aar" / "timeline.svg").read_text(encoding="utf-8")
    assert "实木复合地板批次召回应急演练" in svg                 # text kept as text
    assert missing_glyphs(["实木复合地板批次召回应急演练"]) == []
    assert len(scored) == 1 and scored[0].payload["total"] == review.score.total


def test_training_record_trend_and_cadence(tmp_path: Path) -> None:
    """Three drills of known dates and scores: listed oldest first, the trend per team in
    time order, and both teams behind the four drills a year on 2026-06-01."""
    with EventStore.open(tmp_path / "r.sqlite") as store:
        for team, when, total in (("A 组", "2026-05-02", 72.5), ("B 组", "2025-02-01", 80.0),
                                  ("A 组", "2026-01-10", 60.0)):
            sid = store.new_stream("drill", {"format": 1, "scenario": "drill-recall",
                                             "title": "召回演练", "team": team,
                                             "started": f"{when}T09:00:00+00:00"})
            store.append(sid, "end", {"reason": "finished", "digest": "x"})
            store.append(sid, "score", {"total": total})
        early = store.new_stream("drill", {"format": 1, "scenario": "drill-recall",
                                           "team": "A 组",
                                           "started": "2025-05-10T09:00:00+00:00"})
        store.append(early, "end", {"reason": "ended by the team", "digest": "x"})
        store.append(early, "score", {"total": 100.0, "unplayed": ["M2", "M3"]})
        unscored = store.new_stream("drill", {"format": 1, "scenario": "drill-recall",
                                              "team": "A 组",
                                              "started": "2026-05-20T09:00:00+00:00"})
        rows = training_record(store)
        only_b = training_record(store, team="B 组")
    assert [(r.team, r.score) for r in rows] == [("B 组", 80.0), ("A 组", 100.0),
                                                 ("A 组", 60.0), ("A 组", 72.5), ("A 组", None)]
    assert rows[-1].id == unscored and not rows[-1].finished
    assert [r.score_label() for r in rows] == ["80.0", "100.0 (ended early)", "60.0", "72.5",
                                               "unfinished"]
    assert {k: [s for _, s in v] for k, v in trends(rows).items()} == {
        "B 组": [80.0], "A 组": [60.0, 72.5]}  # the drill ended early is no point of a trend
    assert [r.team for r in only_b] == ["B 组"]
    warnings = cadence_warnings(rows, today=date(2026, 6, 1))
    assert warnings == [
        "team 'A 组' has drilled 3 times in the last twelve months; the service standard "
        "asks for at least 4",
        "team 'B 组' has drilled 0 times in the last twelve months; the service standard "
        "asks for at least 4"]


def test_cadence_counts_only_the_last_twelve_months() -> None:
    from simulation.drills.training import TrainingRow
    old = datetime(2025, 1, 1, tzinfo=timezone.utc)
    recent = [datetime(2026, m, 1, tzinfo=timezone.utc) for m in (2, 5, 8, 11)]
    rows = [TrainingRow(str(i), d, "drill", "t", "C", 50.0, True)
            for i, d in enumerate([old, *recent])]
    assert cadence_warnings(rows, today=date(2026, 12, 1)) == []
    assert cadence_warnings(rows[:-1], today=date(2026, 12, 1)) == [
        "team 'C' has drilled 3 times in the last twelve months; the service standard asks "
        "for at least 4"]


def test_review_session_runs_both_counterfactuals(loaded) -> None:
    session = DrillSession(loaded, 6)
    session.advance(600)
    session.act(DeclareLevel(level="IV"))
    session.act(Send(obligation="公开告知"))
    session.advance(900)  # stopped early: the counterfactuals end at the same minute
    review = review_session(session)
    assert set(review.others) == {"autopilot", "none"}
    assert session.now == 900 and not session.over  # the played session is left alone
    for run in (review.session, *(c.session for c in review.others.values())):
        assert run.ended_at == 900 and run.world.horizon == 900
        assert run.world.open_count == 0                        # carried until all closed
    assert review.score.kpis["cost"] is not None

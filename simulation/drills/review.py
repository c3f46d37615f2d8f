"""Review a drill: rebuild it, carry it to its end, run its counterfactuals, rate, score, report.

The decisions are the evidence: the drill is rebuilt from them (from its record, or from
the live session's list) by the same rule a replay uses (counterfactual.replay_decisions),
so a review can be made any time later, by anyone, and always says the same; the session
that was played is never changed by it. The rebuilt drill and both counterfactuals are then
carried past the drill's end until every open case has closed (session.py `carry_over`).
The score is appended to the record (a "score" event: records are only ever appended to)
for the training record, which lists drills without replaying them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from incidents.store import EventStore
from simulation.drills.aar import areas_of, write
from simulation.drills.exercise import extras, raise_items
from simulation.drills.counterfactual import (Counterfactual, counterfactuals,
                                              replay_decisions)
from simulation.drills.otherdays import DEFAULT_DAYS, OtherDays, Progress, other_days
from simulation.drills.record import load_record, rebuild
from simulation.drills.scoring import Score, metrics, score
from simulation.drills.session import DrillSession

__all__ = ["Review", "rebuild_session", "review_session", "review_record", "save_score",
           "with_exercise"]


@dataclass
class Review:
    session: DrillSession
    """The drill rebuilt from its decisions and carried to its end."""
    score: Score
    others: dict[str, Counterfactual]
    days: OtherDays | None = None
    """The team's decisions on other days (otherdays.py), once computed."""


def rebuild_session(played: DrillSession) -> DrillSession:
    """A fresh copy of a played (or stopped) drill: its decisions at their minutes, up to the
    minute it stands at."""
    session = replay_decisions(played.loaded, played.seed,
                               [(o.at, o.action, o.role) for o in played.outcomes], played.now)
    return session


def review_session(played: DrillSession) -> Review:
    """The review of a played (or stopped) drill session: rebuilt, carried to its end, its
    counterfactuals, its score. The played session is left as it was."""
    return _review(rebuild_session(played))


def _review(session: DrillSession) -> Review:
    session.carry_over()
    m = metrics(session)
    others = counterfactuals(session)
    return Review(session, score(session, others, m=m), others)


def _replayed(store: EventStore, stream_id: str) -> tuple[DrillSession, dict[str, Any]]:
    record = load_record(store, stream_id)
    session = replay_decisions(rebuild(record), int(record.header["seed"]),
                               [(minute, body, role) for minute, body, _, _, role, _
                                in record.actions], record.clock)
    return session, dict(record.header, id=stream_id)


def save_score(store: EventStore, stream_id: str, result: Score) -> None:
    """Append the score to the record (once per review; the latest counts)."""
    store.append(stream_id, "score", {
        "total": result.total, "parts": result.parts, "weights": result.weights,
        "ratings": {t.id: t.rating for t in result.tasks if t.rating is not None},
        "kpis": result.kpis, "unplayed": list(result.unplayed)},
        sim_minute=None)


def with_exercise(store: EventStore, stream_id: str, review: Review,
                  header: dict[str, Any]) -> dict[str, Any]:
    """The header the report is written from, with what the exercise's people added (the
    hot wash, the evaluators' ratings, the improvement items): the review's areas for
    improvement are raised as items first, and earlier items this drill rated again are
    marked tested. A read-only store adds what it holds and raises nothing."""
    if not store.readonly:
        raise_items(store, stream_id, review.session.loaded.scenario.name, areas_of(review),
                    {t.id: t.rating for t in review.score.tasks})
    return {**header, **extras(store, stream_id)}


def review_record(store: EventStore, stream_id: str, out_dir: Path, *,
                  warn: Callable[[str], None] | None = None, days: int = DEFAULT_DAYS,
                  runner: Any = None, progress: Progress | None = None
                  ) -> tuple[Review, list[Path]]:
    """Review a recorded drill and write its after-action report into `out_dir`; with
    `days` (0: none), the decisions on that many other days too (`runner`: run them in
    parallel; `progress`: told of each day done)."""
    session, header = _replayed(store, stream_id)
    review = _review(session)
    if days:
        review.days = other_days(review.session, days, runner=runner, progress=progress,
                                 text=header["scenario_text"])
    header = with_exercise(store, stream_id, review, header)
    paths = write(out_dir, review, header, warn=warn)
    save_score(store, stream_id, review.score)
    return review, paths

"""Review a drill: replay its record, run its counterfactuals, rate, score, report.

The record is the evidence: the drill is rebuilt from it and replayed exactly (record.py),
so a review can be made any time later, by anyone, and always says the same. The score is
appended to the record (a "score" event: records are only ever appended to) for the training
record, which lists drills without replaying them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from incidents.store import EventStore
from simulation.drills.aar import write
from simulation.drills.counterfactual import Counterfactual, counterfactuals
from simulation.drills.record import _action, load_record, rebuild
from simulation.drills.scoring import Score, score
from simulation.drills.session import DrillSession, Outcome

__all__ = ["Review", "review_session", "review_record", "save_score"]


@dataclass
class Review:
    session: DrillSession
    score: Score
    others: dict[str, Counterfactual]


def review_session(session: DrillSession) -> Review:
    """Counterfactuals and the score of a played (or stopped) drill session."""
    others = counterfactuals(session)
    result = score(session, baseline_cost=others["autopilot"].kpis["cost"])
    return Review(session, result, others)


def _replayed(store: EventStore, stream_id: str) -> tuple[DrillSession, dict]:
    record = load_record(store, stream_id)
    session = DrillSession(rebuild(record), int(record.header["seed"]))
    for minute, body, _, _, role in record.actions:
        session.advance(minute)
        session.act(_action(body), role=role or None)
    session.advance(record.clock)
    header = dict(record.header, id=stream_id)
    return session, header


def save_score(store: EventStore, stream_id: str, result: Score) -> None:
    """Append the score to the record (once per review; the latest counts)."""
    store.append(stream_id, "score", {
        "total": result.total, "parts": result.parts, "weights": result.weights,
        "ratings": {t.id: t.rating for t in result.tasks}, "kpis": result.kpis,
        "unplayed": list(result.unplayed)},
        sim_minute=None)


def review_record(store: EventStore, stream_id: str, out_dir: Path, *,
                  warn: Callable[[str], None] | None = None) -> tuple[Review, list[Path]]:
    """Review a recorded drill and write its after-action report into `out_dir`."""
    session, header = _replayed(store, stream_id)
    review = review_session(session)
    notes: list[Outcome] = session.notes
    paths = write(out_dir, session, review.score, review.others, header, notes, warn=warn)
    save_score(store, stream_id, review.score)
    return review, paths

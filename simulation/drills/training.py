"""The training record: which team drilled when, on what, and how it scored.

The service standard asks for emergency drills and training at least four times a year and
records kept at least three years. Each drill's record (record.py) holds its header (drill,
team, start) and, once reviewed, its score; this module reads them back without replaying
anything, and says which teams are behind the standard's cadence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from incidents.store import EventStore
from simulation.drills.record import STREAM_KIND

__all__ = ["TrainingRow", "training_record", "trends", "cadence_warnings", "DRILLS_PER_YEAR"]

DRILLS_PER_YEAR = 4
"""The standard's minimum: emergency drills and training at least four times a year."""


@dataclass(frozen=True)
class TrainingRow:
    id: str
    started: datetime
    drill: str
    title: str
    team: str
    score: float | None
    finished: bool
    unplayed: int = 0
    """Timed injects the drill never reached (ended early): its score rates only part of it."""

    def score_label(self) -> str:
        """The score as the training record shows it, or why there is none."""
        if self.score is None:
            return "not reviewed" if self.finished else "unfinished"
        return f"{self.score:.1f}" + (" (ended early)" if self.unplayed else "")


def training_record(store: EventStore, team: str | None = None) -> list[TrainingRow]:
    """Every drill in the store (of `team`, if given), oldest first."""
    rows = []
    for info in store.streams(STREAM_KIND):
        h = info.header
        name = h.get("team") or "(no team)"
        if team is not None and name != team:
            continue
        score, finished, unplayed = None, False, 0
        for ev in store.events(info.id, kinds=("score", "end")):
            if ev.kind == "score":
                score = float(ev.payload["total"])
                unplayed = len(ev.payload.get("unplayed") or ())
            else:
                finished = ev.payload.get("reason") == "finished"
        started = datetime.fromisoformat(h["started"]) if h.get("started") else info.created
        rows.append(TrainingRow(info.id, started, str(h.get("scenario", "")),
                                str(h.get("title", "")), name, score, finished, unplayed))
    return sorted(rows, key=lambda r: r.started)


def trends(rows: list[TrainingRow]) -> dict[str, list[tuple[datetime, float]]]:
    """Per team, its scored drills in time order: the score trend. A drill ended early is
    left out: its score rates only the part that was played."""
    out: dict[str, list[tuple[datetime, float]]] = {}
    for r in rows:
        if r.score is not None and not r.unplayed:
            out.setdefault(r.team, []).append((r.started, r.score))
    return out


def cadence_warnings(rows: list[TrainingRow], today: date | None = None) -> list[str]:
    """Teams with fewer drills in the last twelve months than the standard's four."""
    today = today or date.today()
    since = today - timedelta(days=365)
    counts: dict[str, int] = {}
    for r in rows:
        counts.setdefault(r.team, 0)
        if r.started.date() > since:
            counts[r.team] += 1
    return [f"team {team!r} has drilled {n} time{'s' if n != 1 else ''} in the last twelve "
            f"months; the service standard asks for at least {DRILLS_PER_YEAR}"
            for team, n in sorted(counts.items()) if n < DRILLS_PER_YEAR]

"""What the controller's and the evaluators' seats show: the MSEL, the EEG, the timeline.

Players see the injects that reached them (screenviews.inject_feed), never the MSEL ahead of
time. The controller sees every row of the MSEL with its state (to come, fired, a
contingency inject waiting aside, an ad-hoc inject written during play) and the timeline of
the record. Evaluators see each critical task with its exercise evaluation guide: the
objective and capability it serves, what is expected and by when, and the evaluators' rating
so far. Plain data, as screenviews is, so tests read the same facts the screens show.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulation.drills.screenviews import duration_text, role_title, sim_time_at
from simulation.drills.seats import EvaluatorRating
from simulation.drills.session import DrillSession

__all__ = ["MselRow", "msel_rows", "EegRow", "eeg_rows", "timeline_rows"]


@dataclass(frozen=True)
class MselRow:
    """One row of the master scenario events list, as the controller sees it."""

    id: str
    when: str
    """Its time ("+2h00m"), "contingency" or "ad hoc"."""
    to: str
    method: str
    subject: str
    state: str
    """"to come", "fired HH:MM", "waiting (contingency)"."""
    expects: int
    fired: bool
    contingency: bool


def msel_rows(session: DrillSession) -> list[MselRow]:
    """Every inject of the drill, timed ones in time order, then contingency injects, then
    those written during play (ad hoc)."""
    drill = session.drill
    out: list[MselRow] = []
    timed = sorted(drill.injects, key=lambda i: i.at.wall_minutes)  # type: ignore[union-attr]
    for group, injects in (("timed", timed), ("contingency", drill.contingency),
                           ("adhoc", [i for i in session.injects
                                      if i not in drill.injects and i not in drill.contingency])):
        for i in injects:
            f = session.fired.get(i.id)
            when = ("+" + duration_text(i.at.wall_minutes) if i.at is not None  # type: ignore
                    else "contingency" if group == "contingency" else "ad hoc")
            state = (f"fired {sim_time_at(session, f.at):%a %H:%M}" if f is not None else
                     "waiting (contingency)" if group == "contingency" else "to come")
            out.append(MselRow(i.id, when, role_title(session, i.to), i.method, i.subject,
                               state, len(i.expect), f is not None, group == "contingency"))
    return out


@dataclass(frozen=True)
class EegRow:
    """One critical task with its exercise evaluation guide and the evaluators' rating."""

    task: str
    objective: str
    capability: str
    text: str
    expected: str
    due: str
    rating: str
    by: str
    note: str
    version: int
    """The task's rating stream version (what a new rating must expect)."""


def eeg_rows(session: DrillSession, ratings: dict[str, EvaluatorRating]) -> list[EegRow]:
    """Every critical task the MSEL names (each expectation of each inject, contingency ones
    included), then the groups the playbook implies (levels, messages, service), each with
    the evaluators' latest rating."""
    drill = session.drill
    rows: list[EegRow] = []

    def add(task: str, objective: str, text: str, expected: str, due: str) -> None:
        spec = drill.objectives.get(objective)
        r = ratings.get(task)
        rows.append(EegRow(task, f"{objective}: {spec.title}" if spec else objective or "-",
                           spec.capability if spec else "", text, expected, due,
                           r.rating if r else "", r.by if r else "", r.note if r else "",
                           r.version if r else 0))

    for inject in drill.all_injects():
        fired = session.fired.get(inject.id)
        for j, exp in enumerate(inject.expect):
            within = exp.within.wall_minutes
            allowance = exp.allowance.wall_minutes if exp.allowance is not None \
                else within / 2
            due = (f"{sim_time_at(session, fired.at + within):%a %H:%M} "
                   f"(+{duration_text(allowance)} allowance)" if fired is not None else
                   f"{duration_text(within)} after {inject.id}")
            args = [f"{k}={getattr(exp, k)}" for k in ("level", "resource", "sku", "audience",
                                                       "obligation", "pool", "qty")
                    if getattr(exp, k) is not None]
            add(f"{inject.id}.{j + 1}", exp.objective or "", exp.task or exp.action,
                f"{exp.action}({', '.join(args)}) by {role_title(session, inject.to)}", due)
    rules = drill.scoring.objectives
    add("levels", rules.get("levels", "levels"), "emergency levels declared in time",
        "declare_level", f"within {duration_text(drill.scoring.level_within.wall_minutes)} of "
        "its condition")
    add("communications", rules.get("communications", "communications"),
        "owed messages sent on time", "send", "each by its due time")
    add("service", rules.get("service", "service"), "SLA attainment per tier",
        "(outcome)", "through the drill")
    return rows


def timeline_rows(session: DrillSession) -> list[tuple[float, str]]:
    """The record as the controller follows it: injects and decisions (with who took them),
    oldest first."""
    rows: list[tuple[float, str]] = []
    for f in session.fired.values():
        rows.append((f.at, f"inject {f.inject.id} -> {role_title(session, f.inject.to)}: "
                           f"{f.inject.subject}"))
    for o in session.outcomes:
        who = o.action.get("by") or role_title(session, o.role)
        rows.append((o.at, f"{who}: {'' if o.ok else 'REFUSED '}{o.message}"))
    rows.sort(key=lambda r: r[0])
    return rows

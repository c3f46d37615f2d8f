"""The score screen at the end of a drill: ratings with their evidence, the KPIs beside the
autopilot's and no response's, and where the after-action report was written.

The review (simulation/drills/review.py: counterfactual runs, ratings, score) and the report
take a few seconds, so they run in a thread worker; the screen shows what was played at once
and fills in the score when the review is done. The screen holds no rule: it renders the
review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Markdown, Static
from textual.worker import get_current_worker

from simulation.drills.aar import write
from simulation.drills.counterfactual import worth
from simulation.drills.exercise import extras
from simulation.drills.format import fmt_kpi, interval_text, measure_text
from simulation.drills.otherdays import DEFAULT_DAYS, other_days
from simulation.drills.ratings import RATING_WORDS
from simulation.drills.record import DrillRecorder
from simulation.drills.review import Review, review_session, save_score, with_exercise
from simulation.drills.scoring import KPI_LABELS
from simulation.drills.screenviews import elapsed_text, level_label, sim_time
from simulation.drills.seats import SeatLink
from simulation.drills.session import DrillSession
from simulation.errors import SimulationError
from simulation.sizing.executors import make_runner
from tui.messages import GoHome
from tui.widgets.keyfooter import KeyFooter

__all__ = ["ScoreScreen"]

RATING_STYLE = {"P": "bold green", "S": "yellow", "M": "bold dark_orange", "U": "bold red"}
RATING_SHORT = {"P": "no challenges", "S": "some challenges", "M": "major challenges",
                "U": "unable"}
"""HSEEP's ratings in a few words (the detail below a task says them in full)."""
DAY_KPIS = ("service", "customers_lost", "cost", "attainment", "time_to_acknowledge",
            "messages_on_time")
"""The KPIs the screen shows for the other days (the report has them all)."""


class _Stopped(Exception):
    """The screen was left while the other days ran: stop them."""


class ScoreScreen(Screen[None]):
    """Shown when a drill ends (played to its end, or ended by the team)."""

    DEFAULT_CSS = """
    ScoreScreen #score { padding: 0 2; }
    ScoreScreen DataTable { height: auto; margin-bottom: 1; }
    ScoreScreen #ratings { max-height: 16; }
    ScoreScreen #score-buttons { height: auto; align-horizontal: right; }
    ScoreScreen #score-buttons Button { margin-left: 1; }
    ScoreScreen #score-status { color: $text-muted; margin-bottom: 1; }
    ScoreScreen #rating-detail { height: auto; margin-bottom: 1; padding: 0 1;
                                 border-left: thick $accent; }
    """

    BINDINGS = [Binding("h", "home", "Home"), Binding("w", "hotwash", "Hot wash"),
                Binding("q", "app.quit", "Quit")]

    def __init__(self, session: DrillSession, recorder: DrillRecorder | None, reason: str,
                 out_dir: Path, days: int = DEFAULT_DAYS, link: SeatLink | None = None) -> None:
        super().__init__()
        self.link = link
        """The seat, at a seated drill: its hot wash is answered here."""
        self.session, self.recorder, self.reason = session, recorder, reason
        self.out_dir = out_dir
        self.writes = link is None or link.owner
        """Whether this terminal writes the report (at a seated drill: the clock owner's;
        the others show the score and take the hot wash)."""
        self.days = days if self.writes else 0
        """Other days to replay the decisions on (0: none)."""
        self.review: Review | None = None
        self.paths: list[Path] = []

    def summary(self) -> str:
        s = self.session
        taken = sum(o.ok for o in s.outcomes)
        acked = sum(f.acknowledged is not None for f in s.fired.values())
        return "\n".join([
            f"# Drill ended: {self.reason}", "", f"**{s.drill.title}**", "",
            f"- simulated clock: {sim_time(s)} ({elapsed_text(s)})",
            f"- decisions: {taken} taken, {len(s.outcomes) - taken} refused; notes: "
            f"{len(s.notes)}",
            f"- injects: {len(s.fired)} fired, {acked} acknowledged",
            f"- emergency level at the end: "
            f"{level_label(s, s.team.declared) if s.team else '-'}"])

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="score"):
            yield Markdown(self.summary(), id="score-summary")
            yield Static("Rating the drill: replaying the same surge with the autopilot and "
                         "with no response...", id="score-status")
            yield DataTable(id="parts", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="ratings", cursor_type="row", zebra_stripes=True)
            yield Static("", id="rating-detail")
            yield DataTable(id="kpis", cursor_type="row", zebra_stripes=True)
            yield Static("", id="days-status")
            yield DataTable(id="days", cursor_type="row", zebra_stripes=True)
            yield Markdown("", id="score-files")
            with Horizontal(id="score-buttons"):
                yield Button("Home (h)", variant="primary", id="score-home")
                yield Button("Quit (q)", id="score-quit")
        yield KeyFooter()

    def on_mount(self) -> None:
        ratings = self.query_one("#ratings", DataTable)
        width = max(self.app.size.width - 8, 60)
        for col, w in (("rating", 18), ("task", max(width * 2 // 5 - 16, 20)),
                       ("done by", 22), ("why", None)):
            ratings.add_column(col, key=col, width=w)
        parts = self.query_one("#parts", DataTable)
        for col in ("part", "score", "weight", "team / autopilot / no response"):
            parts.add_column(col, key=col)
        kpis = self.query_one("#kpis", DataTable)
        for col in ("KPI", "your team", "autopilot", "no response", "team - autopilot",
                    "team - no response"):
            kpis.add_column(col, key=col)
        days = self.query_one("#days", DataTable)
        for col in ("KPI", "team - autopilot (95%)", "team - no response (95%)"):
            days.add_column(col, key=col)
        self.query_one("#score-home").focus()
        self.folder = self.out_dir / "drills" / "unrecorded"
        self.run_review()
        if self.link is not None and self.writes:
            self.set_interval(2.0, self.watch_store)

    @work(thread=True, exclusive=True, group="review")
    def run_review(self) -> None:
        """Review, report and record the score, off the UI thread; then the decisions on
        other days in a worker of their own (leaving the screen stops it)."""
        review = review_session(self.session)
        header = self._header()
        if self.recorder is not None and self.writes:
            header = with_exercise(self.recorder.store, self.recorder.stream_id, review,
                                   header)
        folder = self.out_dir / "drills" / (header["id"][:8] or "unrecorded")
        self.folder = folder
        paths = write(folder, review, header) if self.writes else []
        if self.recorder is not None and self.writes:
            save_score(self.recorder.store, self.recorder.stream_id, review.score)
        self.app.call_from_thread(self._show, review, paths)
        if self.days:
            self.app.call_from_thread(self.run_days, review, header, folder)

    @work(thread=True, exclusive=True, group="days")
    def run_days(self, review: Review, header: dict[str, Any], folder: Path) -> None:
        """The team's decisions on other days (simulation/drills/otherdays.py), with
        progress; the report is written again with them."""
        worker = get_current_worker()
        try:
            runner = make_runner(workers=None)
        except (OSError, ValueError):  # no worker processes here: run the days in this thread
            runner = None

        def tick(done: int, total: int) -> None:
            if worker.is_cancelled:
                raise _Stopped
            self.app.call_from_thread(self._days_progress, done, total)

        try:
            review.days = other_days(review.session, self.days, runner=runner, progress=tick,
                                     text=header.get("scenario_text"))
        except _Stopped:
            return
        finally:
            if runner is not None:
                runner.close()
        write(folder, review, header)
        self.app.call_from_thread(self._show_days, review)

    def _days_progress(self, done: int, total: int) -> None:
        self.query_one("#days-status", Static).update(
            f"Your decisions on other days: {done} of {total} days replayed...")

    def _show_days(self, review: Review) -> None:
        days = review.days
        if days is None:
            return
        self.query_one("#days-status", Static).update(Text.assemble(
            ("Your decisions on other days", "bold"),
            f": the operation-level decisions replayed on {len(days.seeds)} other seeds, "
            "beside the autopilot and no response on each (mean paired difference, 95% "
            "interval; 'noise' where it holds 0). The report now includes them."))
        table = self.query_one("#days", DataTable)
        for key in DAY_KPIS:
            table.add_row(KPI_LABELS[key][0], interval_text(key, days.vs_autopilot[key]),
                          interval_text(key, days.vs_none[key]), key=key)

    def _header(self) -> dict[str, Any]:
        if self.recorder is not None:
            header = dict(self.recorder.store.header(self.recorder.stream_id))
            header["id"] = self.recorder.stream_id
            return header
        s = self.session
        return {"id": "", "team": s.drill.team, "seed": s.seed, "participants": [],
                "started": "-", "muster_version": "-"}

    def _show(self, review: Review, paths: list[Path]) -> None:
        self.review, self.paths = review, paths
        score = review.score
        status = Text.assemble(("Score ", "bold"), (f"{score.total:.1f}", "bold cyan"),
                               "   (no response scores 0, the playbook's autopilot 100; "
                               "below 0 the decisions did harm)")
        if score.coverage():
            status.append(f"\nThe drill {score.coverage()}.", style="yellow")
        self.query_one("#score-status", Static).update(status)
        parts = self.query_one("#parts", DataTable)
        for part, value in score.parts.items():
            p = score.placements.get(part)
            parts.add_row(part, "left out" if value is None else f"{value:.0f}",
                          f"{score.weights.get(part, 0):g}", "critical tasks" if p is None else
                          f"{measure_text(part, p.team)} / {measure_text(part, p.autopilot)} / "
                          f"{measure_text(part, p.none)}: {p.note}", key=part)
        ratings = self.query_one("#ratings", DataTable)
        for t in score.tasks:
            rating = (Text(f"{t.rating} {RATING_SHORT[t.rating]}", style=RATING_STYLE[t.rating])
                      if t.rating else Text("not rated", style="dim"))
            ratings.add_row(rating, t.title, t.actor or "-", t.reason, key=t.id)
        if score.tasks:
            self._detail(score.tasks[0].id)
            ratings.focus()  # arrows browse the tasks, each with its evidence below
        kpis = self.query_one("#kpis", DataTable)
        auto, none = review.others["autopilot"].kpis, review.others["none"].kpis
        for key, (label, _) in KPI_LABELS.items():
            team = score.kpis.get(key)
            kpis.add_row(label, fmt_kpi(key, team), fmt_kpi(key, auto.get(key)),
                         fmt_kpi(key, none.get(key)),
                         fmt_kpi(key, worth({key: team}, {key: auto.get(key)})[key], True),
                         fmt_kpi(key, worth({key: team}, {key: none.get(key)})[key], True),
                         key=key)
        lines = ["## After-action report", ""]
        lines += [f"- `{p}`" for p in paths if p.suffix in (".md", ".html")]
        if not self.writes:
            lines += ["The clock owner's terminal writes the report (with everyone's hot "
                      "wash)."]
        lines += ["", "**w**: the hot wash (what went well, what to improve): it goes into "
                      "the record and the report."]
        if self.recorder is not None:
            store, sid = self.recorder.store.path, self.recorder.stream_id
            lines += ["", f"Recorded in `{store}` as drill `{sid[:8]}` (score saved). "
                      f"Check that it reproduces exactly: `muster drill replay {store} "
                      f"--id {sid[:8]}`; write the report again: `muster report {store} "
                      f"--id {sid[:8]}`."]
        self.query_one("#score-files", Markdown).update("\n".join(lines))

    @on(DataTable.RowHighlighted, "#ratings")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._detail(event.row_key.value)

    def _detail(self, task_id: str) -> None:
        """The highlighted task in full: its objective, why it got its rating, and every
        piece of evidence with its time (the table keeps one line a task)."""
        if self.review is None:
            return
        task = next((t for t in self.review.score.tasks if t.id == task_id), None)
        if task is None:
            return
        objectives = self.session.drill.objectives
        title = objectives[task.objective].title if task.objective in objectives \
            else task.objective
        by = f"; done by {task.actor}" if task.actor else ""
        text = Text.assemble((task.title, "bold"), f"  ({title}; to {task.role}{by})\n",
                             (f"{task.rating} {RATING_WORDS[task.rating]}",
                              RATING_STYLE[task.rating]) if task.rating else
                             ("not rated", "dim"), f": {task.reason}")
        for e in task.evidence:
            text.append(f"\n  • {e.text}")
        self.query_one("#rating-detail", Static).update(text)

    @on(Button.Pressed, "#score-home")
    async def action_home(self) -> None:
        if self.review is None:  # the review writes into the record: let it finish first
            self.notify("Finishing the review first...", timeout=3)
            await self.workers.wait_for_complete()
        self.workers.cancel_group(self, "days")  # the other days are worth no wait
        self.post_message(GoHome())

    def action_hotwash(self) -> None:
        """The hot wash: what went well and what to improve, from this seat's person (or a
        name typed at a single terminal); appended to the drill's record after its end."""
        from simulation.drills.exercise import record_hotwash
        from tui.screens.forms import ActionForm, FormField
        store = self.recorder.store if self.recorder is not None else \
            self.link.store if self.link is not None else None
        sid = self.recorder.stream_id if self.recorder is not None else \
            self.link.stream_id if self.link is not None else None
        if store is None or sid is None:
            self.notify("this drill was not recorded: no hot wash to keep", severity="warning")
            return
        seat = self.link.seat if self.link is not None else None
        fields = [] if seat is not None else [FormField("by", "Your name"),
                                               FormField("role", "Your role", tuple(
                                                   (r.title, k) for k, r in
                                                   self.session.drill.roles.items()),
                                                   next(iter(self.session.drill.roles)))]
        fields += [FormField("went_well", "What went well", optional=True),
                   FormField("to_improve", "What to improve", optional=True)]

        def build(v: dict[str, Any]) -> dict[str, str]:
            by = seat.person if seat is not None else (v.get("by") or "")
            role = seat.role if seat is not None else str(v.get("role") or "")
            if not by:
                raise ValueError("your name: who answers")
            if not (v.get("went_well") or v.get("to_improve")):
                raise ValueError("say what went well or what to improve (or both)")
            return {"by": by, "role": role, "went_well": v.get("went_well") or "",
                    "to_improve": v.get("to_improve") or ""}

        def answered(v: dict[str, str] | None) -> None:
            if v is None:
                return
            try:
                record_hotwash(store, sid, **v)
            except (SimulationError, ValueError) as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            self.notify("recorded in the drill's record" + (
                "; the report is written again with it" if self.writes else
                "; the clock owner's report takes it in"), title="Hot wash", timeout=5)
            if self.writes and self.review is not None:
                self.rewrite()
        self.app.push_screen(ActionForm("Hot wash", fields, build,
                                        "Right after the drill, while it is fresh: each "
                                        "participant, per role."), answered)

    @work(thread=True, exclusive=True, group="rewrite")
    def rewrite(self) -> None:
        """Write the report again (a hot wash or an evaluator's rating came in)."""
        if self.review is None or self.recorder is None:
            return
        header = {**self._header(), **extras(self.recorder.store, self.recorder.stream_id)}
        write(self.folder, self.review, header)

    def watch_store(self) -> None:
        """At a seated drill, the owner's report follows the others' hot wash answers."""
        if self.link is None or not self.writes or self.review is None:
            return
        if self.link.store.changed():
            self.rewrite()

    @on(Button.Pressed, "#score-quit")
    def _quit(self) -> None:
        self.app.exit()

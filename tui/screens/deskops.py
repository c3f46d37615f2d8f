"""The live desk's commands on an operation and on the queue (mixed into DeskScreen).

The level, roles, tasks, updates and notes of the operation on screen; bulk actions over the
queue as selected; choosing the operation, the queue and the filter; importing cases; the
review and the drill made from the operation. Each opens a form and hands the call to the
screen's `run` (one worker, one action at a time): no rule lives here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from textual import work
from textual.markup import escape as plain

from desk.desk import Desk
from desk.operation import service as ops
from desk.queues import Selection, parse_filter, select
from tui.screens.deskcase import ReviewScreen
from tui.screens.deskforms import (Call, bulk_call, bulk_form, filter_form, import_form,
                                   open_op_form, operation_form, queue_options,
                                   update_fields_form)
from tui.screens.forms import ActionForm, ConfirmScreen, FormField

__all__ = ["DeskOperationCommands"]


class DeskOperationCommands:
    """Mixed into DeskScreen, which provides the attributes and methods declared here."""

    desk: Desk | None
    operation: str | None
    selection: Selection
    operator: str
    out_dir: Path
    db: Path | str
    app: Any
    Outcome: Any
    notify: Callable[..., None]
    post_message: Callable[..., Any]
    refresh_views: Callable[[], None]
    run: Callable[[Call, str], None]
    _form: Callable[[ActionForm, str], None]

    def _operation_view(self) -> Any:
        desk = self.desk
        if desk is None or self.operation not in desk.model.operations:
            self.notify("No operation on screen: press o to open or choose one.", markup=False)
            return None
        return desk.model.operations[self.operation]

    def _op_command(self, name: str) -> None:
        op = self._operation_view()
        if op is None or self.desk is None:
            return
        advice = ""
        if name == "level":
            advice = ops.recommended_level(self.desk, op.id)[0]
        with self.desk.lock:
            form = operation_form("note" if name == "op_note" else name, op, self.operator,
                                  advice)
        if form is None:
            self.notify(f"Nothing to {name} in {op.id}.", markup=False)
            return
        if name == "update":
            def kind_chosen(kind: Any) -> None:
                if kind is not None and self.desk is not None:
                    draft = ops.update_draft(self.desk, op.id, kind)
                    self._form(update_fields_form(op.id, kind, draft), "Update sent")
            self.app.push_screen(form, kind_chosen)
            return
        self._form(form, name.replace("_", " "))

    def command_level(self) -> None:
        self._op_command("level")

    def command_role(self) -> None:
        self._op_command("role")

    def command_task(self) -> None:
        self._op_command("task")

    def command_done(self) -> None:
        self._op_command("done")

    def command_update(self) -> None:
        self._op_command("update")

    def command_op_note(self) -> None:
        self._op_command("op_note")

    def command_bulk(self) -> None:
        ids = list(self._selected_ids())
        if not ids:
            self.notify("The queue is empty: nothing to act on.", markup=False)
            return
        described = self.selection.describe()

        def chosen(result: Any) -> None:
            if result is None:
                return
            _, values, k = result

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self.run(bulk_call(ids, values, k), f"Bulk {values['action']}")
            self.app.push_screen(ConfirmScreen(plain(f"{values['action']} {len(ids)} case(s) "
                                                     f"of {described}?"), yes="Do it",
                                               no="Cancel"), confirmed)
        self.app.push_screen(bulk_form(described, len(ids)), chosen)

    def _selected_ids(self) -> list[str]:
        desk = self.desk
        if desk is None:
            return []
        with desk.lock:
            return [v.id for v in select(desk.model, self.selection, me=self.operator,
                                         now=desk.minute())]

    def command_operation(self) -> None:
        desk = self.desk
        if desk is None:
            return
        with desk.lock:
            options = [(f"{o.id}: {o.title} ({o.level_label})", o.id)
                       for o in desk.model.operations.values()]
        options += [("every case, of every operation", ""), ("open a new operation...", "+")]
        form = ActionForm("which operation", [FormField("op", "Operation", tuple(options),
                                                         value=self.operation or "")],
                          lambda v: v["op"])

        def chosen(op: Any) -> None:
            if op == "+":
                self._form(open_op_form(self.operator), "Operation opened")
            elif op is not None:
                self.operation = op or None
                self.selection = Selection(queue=self.selection.queue, operation=self.operation)
                self.refresh_views()
        self.app.push_screen(form, chosen)

    def command_queue(self) -> None:
        form = ActionForm("which queue", [FormField("queue", "Queue", queue_options(),
                                                    value=self.selection.queue)],
                          lambda v: v["queue"])
        self.app.push_screen(form, lambda q: q is not None and self.action_queue(q))

    def action_queue(self, name: str) -> None:
        self.selection = replace(self.selection, queue=name)
        self.refresh_views()

    def command_filter(self) -> None:
        current = " ".join(f"{k}={v}" for k, v in vars(self.selection).items()
                           if k not in ("queue", "operation", "text") and v) + \
            (" " + self.selection.text if self.selection.text else "")

        def chosen(text: Any) -> None:
            if text is None:
                return
            try:
                self.selection = parse_filter(text, Selection(queue=self.selection.queue,
                                                              operation=self.operation),
                                              self.desk.where if self.desk else str(self.db))
            except ValueError as exc:
                self.notify(str(exc).split(": error: ", 1)[-1], severity="error", markup=False)
                return
            self.refresh_views()
        self.app.push_screen(filter_form(current.strip()), chosen)

    def command_import(self) -> None:
        self._form(import_form(self.operation), "Imported")

    def command_review(self) -> None:
        if self._operation_view() is not None:
            self.review_worker(self.operation)

    @work(thread=True, exclusive=True, group="desk-review", exit_on_error=False)
    def review_worker(self, op_id: str) -> None:
        from desk.review import review
        from tui.live_review import write_review
        desk = self.desk
        if desk is None:
            return
        with desk.lock:
            result = review(desk.model, op_id, desk.now())
        folder = self.out_dir / "review" / op_id
        write_review(result, folder)
        self.app.call_from_thread(self.app.push_screen, ReviewScreen(folder / "review.md"))

    def command_drill(self) -> None:
        if self._operation_view() is not None:
            self.drill_worker(self.operation)

    @work(thread=True, exclusive=True, group="desk-drill", exit_on_error=False)
    def drill_worker(self, op_id: str) -> None:
        from desk.drill_source import operation_source
        from simulation.drills.catalog import DrillInfo
        from simulation.drills.from_live import write_drill
        from simulation.scenario.loader import load_scenario
        from tui.messages import OpenBriefing
        desk = self.desk
        if desk is None:
            return
        with desk.lock:
            source = operation_source(desk.model, op_id, desk.now())
        folder = self.out_dir / "from-live" / op_id
        folder.mkdir(parents=True, exist_ok=True)
        try:
            path = folder / "drill.yaml"
            write_drill(source, path)
            loaded = load_scenario(path)
        except ValueError as exc:
            self.post_message(self.Outcome(str(exc), False, "No drill"))
            return
        d = loaded.scenario.drill
        assert d is not None
        info = DrillInfo(loaded.scenario.name, d.title, path, d.length.wall_minutes, d.speed,
                         len(d.injects), len(d.contingency), d.briefing, d.team)
        self.post_message(self.Outcome(f"wrote {path}", True, "Drill made"))
        self.app.call_from_thread(self.app.post_message, OpenBriefing(info))

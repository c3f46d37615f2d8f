"""The desk's forms: each asks for an action's arguments and returns the call to make.

A form is built on the UI thread from what the desk shows (the case as it was when the key was
pressed: its version is the one the action is decided on, and a fresh idempotency key is made
for the gesture); submitting returns a `Call`, a function of the desk that the desk screen
runs in a worker, off the UI thread. Nothing here decides whether an action is allowed: the
services do, and the screen shows their refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desk.case import service as cases
from desk.case.projection import CaseView
from desk.clock import instant, local_text
from desk.desk import Desk
from desk.operation import service as ops
from desk.operation.events import ROLES, UPDATE_KINDS
from desk.operation.projection import OperationView
from desk.queues import QUEUES
from playbooks.loader import library_files
from tui.screens.forms import ActionForm, FormField

__all__ = ["Call", "case_form", "operation_form", "bulk_form", "import_form", "open_op_form",
           "filter_form", "update_fields_form", "key"]

Call = Callable[[Desk], Any]
"""What the screen runs in a worker: desk -> a Done (or BulkDone, ImportDone...)."""


def key(what: str) -> str:
    """A fresh idempotency key for one gesture."""
    return f"{what}:{uuid.uuid4().hex}"


def _need(values: dict[str, Any], name: str, label: str) -> str:
    text = (values.get(name) or "").strip()
    if not text:
        raise ValueError(f"{label}: give one")
    return text


def case_form(kind: str, view: CaseView, me: str) -> ActionForm | None:
    """The form of an action on one case (None: the action needs no form)."""
    cid, version, k = view.id, view.version, key(kind)
    title = f"{kind} case {cid} ({view.state}, {view.level})"  # users' and playbooks'
    # text: ActionForm shows its title and note as plain Text, never as markup
    rt = view.book.runtime
    if kind == "fire":
        table = rt.table.get(view.state, {})
        options = tuple((f"{t} → {routes[0][1]}", t) for t, routes in table.items())
        return ActionForm(title, [FormField("trigger", "Step", options)],
                          lambda v: lambda d: cases.fire(d, cid, v["trigger"], expected=version,
                                                         key=k))
    if kind == "assign":
        return ActionForm(title, [FormField("owner", "Owner (empty: nobody)", value=me)],
                          lambda v: lambda d: cases.assign(d, cid, v["owner"] or "",
                                                           expected=version, key=k))
    if kind == "escalate":
        above = rt.levels[view.case.level + 1:]
        if not above:
            return None
        return ActionForm(title, [FormField("level", "Escalate to", tuple((lv, lv) for lv in
                                                                          above)),
                                  FormField("reason", "Why", value="manual")],
                          lambda v: lambda d: cases.escalate(
                              d, cid, v["level"], _need(v, "reason", "Why"), expected=version,
                              key=k))
    if kind == "note":
        return ActionForm(f"note on case {cid}", [FormField("text", "Note")],
                          lambda v: (lambda text: lambda d: cases.note(d, cid, text, key=k))(
                              _need(v, "text", "Note")))
    if kind == "send":
        owed = sorted(view.owed, key=lambda o: o.due)
        if not owed:
            return None
        options = tuple((f"{o.obligation} ({o.audience}) by "
                         f"{local_text(instant(o.due), view.book.zone)}", o.obligation)
                        for o in owed)
        return ActionForm(title, [FormField("obligation", "Message", options),
                                  FormField("text", "Words (empty: the playbook's)",
                                            optional=True)],
                          lambda v: lambda d: cases.send(d, cid, v["obligation"], v["text"],
                                                         expected=version, key=k),
                          note=owed[0].text)
    if kind == "resolve":
        return ActionForm(title, [FormField("resolution", "Resolution (what was done)")],
                          lambda v: lambda d: cases.resolve(d, cid, v["resolution"] or "",
                                                            expected=version, key=k))
    return None


def operation_form(kind: str, op: OperationView, me: str, advice: str = "") -> ActionForm | None:
    oid, version, k = op.id, op.version, key(kind)
    if kind == "level":
        names = op.book.emergency.names
        options = tuple((f"{n}" + (" (now)" if i == op.level else "")
                         + (" (the playbook advises)" if n == advice and i != op.level else ""),
                         n) for i, n in enumerate(names))
        return ActionForm(f"emergency level of {oid} (now {op.level_label})",
                          [FormField("level", "Level", options, value=advice or None),
                           FormField("reason", "Why (goes on the timeline)")],
                          lambda v: (lambda reason: lambda d: ops.declare_level(
                              d, oid, v["level"], reason, expected=version, key=k))(
                              _need(v, "reason", "Why")))
    if kind == "role":
        return ActionForm(f"roles of {oid}",
                          [FormField("role", "Role", tuple((t, r) for r, t in ROLES.items())),
                           FormField("person", "Person (empty: leave the role empty)", value=me),
                           FormField("summary", "Handoff summary (needed for the lead)",
                                     optional=True)],
                          lambda v: lambda d: ops.take_role(d, oid, v["role"], v["person"] or "",
                                                            v["summary"] or "", expected=version,
                                                            key=k))
    if kind == "task":
        return ActionForm(f"new task in {oid}",
                          [FormField("title", "Task"), FormField("owner", "Owner", value=me),
                           FormField("due", "Due (2h, or 2026-03-02 16:00)", optional=True),
                           FormField("remind", "Remind before", value="15m")],
                          lambda v: (lambda title: lambda d: ops.add_task(
                              d, oid, title, v["owner"] or me, due=v["due"],
                              remind=v["remind"] or "15m", key=k))(_need(v, "title", "Task")))
    if kind == "done":
        open_tasks = [t for t in op.tasks.values() if t.done_at is None]
        if not open_tasks:
            return None
        return ActionForm(f"a task of {oid} done",
                          [FormField("task", "Task", tuple((f"{t.id} {t.title} ({t.owner})",
                                                            t.id) for t in open_tasks)),
                           FormField("note", "Note", optional=True)],
                          lambda v: lambda d: ops.task_done(d, oid, v["task"], v["note"] or "",
                                                            key=k))
    if kind == "update":
        return ActionForm(f"status update of {oid}",
                          [FormField("kind", "Kind", tuple((t, u) for u, (_, t) in
                                                           UPDATE_KINDS.items()))],
                          lambda v: v["kind"])
    if kind == "note":
        return ActionForm(f"note on operation {oid}", [FormField("text", "Note")],
                          lambda v: (lambda text: lambda d: ops.note(d, oid, text, key=k))(
                              _need(v, "text", "Note")))
    return None


def update_fields_form(oid: str, kind: str, draft: dict[str, str]) -> ActionForm:
    """The second step of an update: its words, pre-filled with the context."""
    k = key("update")
    if kind == "tactical":
        fields = [FormField("conditions", "Conditions", value=draft["conditions"]),
                  FormField("actions", "Actions", value=draft["actions"], optional=True),
                  FormField("needs", "Needs", value=draft["needs"], optional=True)]
    else:
        fields = [FormField("text", "Text", value=draft["text"])]
    return ActionForm(f"{UPDATE_KINDS[kind][1]} of {oid}", fields,
                      lambda v: lambda d: ops.update(
                          d, oid, kind, conditions=v.get("conditions") or "",
                          actions=v.get("actions") or "", needs=v.get("needs") or "",
                          text=v.get("text") or "", key=k))


def bulk_form(selection: str, count: int) -> ActionForm:
    k = key("bulk")
    return ActionForm(
        f"one action over {count} case(s): {selection}",
        [FormField("action", "Action", tuple((a, a) for a in cases.BULK_ACTIONS)),
         FormField("arg", "Owner / level / message (empty: the next level, the first owed)",
                   optional=True),
         FormField("text", "Reason or words", optional=True)],
        lambda v: ("bulk", v, k),
        note="Cases the action does not apply to are skipped and listed; the rest are "
             "written at once, or none of them if one changed meanwhile.")


def bulk_call(ids: list[str], values: dict[str, Any], k: str) -> Call:
    action, arg, text = values["action"], values["arg"] or "", values["text"] or ""
    return lambda d: cases.bulk(
        d, ids, action, owner=arg if action == "assign" else "",
        level=arg or None if action == "escalate" else None,
        reason=text or "bulk", obligation=arg or None if action == "send" else None,
        text=text, key=k)


def import_form(operation: str | None) -> ActionForm:
    from desk.importer import import_file, parse_columns
    return ActionForm(
        "import cases from a CSV file (a CRM export)",
        [FormField("path", "File"), FormField("operation", "Into operation (empty: none)",
                                              value=operation, optional=True),
         FormField("kind", "Kind of every case without a kind column", value="recall",
                   optional=True),
         FormField("columns", "Columns (id=工单号 opened=创建时间 ...)", optional=True)],
        lambda v: (lambda path, cols: lambda d: import_file(
            d, Path(path).expanduser(), operation=v["operation"], kind=v["kind"],
            columns=parse_columns(cols, path)))(_need(v, "path", "File"),
                                                (v["columns"] or "").split()),
        note="Default columns: id, opened, tier, kind, customer, batch. Every row is checked "
             "first; a bad one stops the import, naming its line.")


def open_op_form(me: str) -> ActionForm:
    names = tuple((p.stem, p.stem) for p in library_files())
    k = key("open-op")
    return ActionForm("open an operation (an emergency that groups cases)",
                      [FormField("id", "Id (e.g. R2026-03)"), FormField("title", "Title"),
                       FormField("playbook", "Playbook", names,
                                 value="defective-batch-recall"),
                       FormField("lead", "Incident lead", value=me)],
                      lambda v: (lambda oid, title: lambda d: ops.open_operation(
                          d, oid, title, v["playbook"], lead=v["lead"] or me, key=k))(
                          _need(v, "id", "Id"), _need(v, "title", "Title")))


def filter_form(text: str) -> ActionForm:
    return ActionForm("filter the queue",
                      [FormField("text", "key=value words (batch region state tier level pool "
                                         "playbook owner kind) and search words",
                                 value=text, optional=True)],
                      lambda v: v["text"] or "")


def queue_options() -> tuple[tuple[str, str], ...]:
    return tuple((f"{name}: {what}", name) for name, what in QUEUES.items())

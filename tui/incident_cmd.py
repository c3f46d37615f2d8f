"""`muster incident ...` and `muster operation ...`: the live desk from scripts and chat bots.

    muster incident open ID --kind recall [--tier VIP] [--customer NAME] [--operation OP]
    muster incident ack|assign|escalate|fire|note|send|resolve CASE ...
    muster incident list [--queue breaching] [--filter "batch=B2026-0117"]   (read-only)
    muster incident show CASE                                                (read-only)
    muster incident bulk ACTION --filter "batch=B2026-0117" [--operation OP]
    muster operation open ID TITLE --playbook NAME;  level OP LEVEL --reason TEXT
    muster operation update OP KIND ...;  role|task|done|note|close|list|show ...

Every command takes `--db` and `--as`, prints one line (or `--json`), and exits 2 with a clear
message on a closed case, an unknown case, a stale version (`--expect-version`, the version a
script decided on), a foreign or damaged file; nothing is written then. `--key` makes a retry
idempotent: the same key twice is applied once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

import typer

from tui.live_common import (as_option, db_option, emit_json, guarded, json_option, open_desk,
                             say, table)

if TYPE_CHECKING:
    from desk.case.service import Done
    from desk.queues import Selection
# desk/ (pydantic models, the playbook runtime) is imported when a command runs, not when
# `muster` starts: every command below imports what it needs.

__all__ = ["incident_app", "operation_app"]

incident_app = typer.Typer(help="Cases on the live desk, from scripts: open, acknowledge, "
                                "assign, escalate, note, resolve, list, show.",
                           no_args_is_help=True, pretty_exceptions_enable=False)
operation_app = typer.Typer(help="Operations on the live desk: open, level, update, roles, "
                                 "tasks, close.", no_args_is_help=True,
                            pretty_exceptions_enable=False)

EXPECT_HELP = "The case's version the decision was taken on; refused if it has moved."
QUEUE_HELP = "all, mine, breaching, unassigned, vip, escalated, closed"
UPDATE_HELP = "tactical, management, public"
BULK_HELP = "assign, escalate, send, close, ack, note"
KEY_HELP = "An idempotency key: the same key again is applied once."


def _done(result: Done, as_json: bool) -> None:
    if as_json:
        emit_json({"subject": result.subject, "message": result.message,
                   "written": result.written, "repeated": result.repeated,
                   "version": result.version})
    else:
        say(result.message)


# -- incident --------------------------------------------------------------------------------

@incident_app.command("open")
@guarded
def open_cmd(case_id: str = typer.Argument(..., metavar="ID"),
             kind: str = typer.Option(..., "--kind", help="recall, repair, complaint..."),
             tier: str = typer.Option("tier2", "--tier", help="VIP, tier1 or tier2."),
             customer: str = typer.Option("", "--customer", show_default="none"),
             batch: str = typer.Option("", "--batch", show_default="none"), region: str = typer.Option("", "--region", show_default="none"),
             product: str = typer.Option("", "--product", show_default="none"),
             opened: str | None = typer.Option(None, "--opened", help="When it was opened "
                                               "(ISO; default now)."),
             operation: str | None = typer.Option(None, "--operation"),
             playbook: str | None = typer.Option(None, "--playbook", help="Default: the "
                                                 "operation's, else the bundled one for the "
                                                 "kind."),
             key: str | None = typer.Option(None, "--key", help=KEY_HELP),
             db: Path | None = db_option(), who: str | None = as_option(),
             as_json: bool = json_option()) -> None:
    """Open a case (a phone call, a script)."""
    from desk.case import service as cases
    from desk.clock import parse_time
    from desk.errors import DeskError
    from incidents.model import Incident
    from pydantic import ValidationError
    with open_desk(db, who, create=True) as desk:
        when = desk.now() if opened is None else parse_time(opened, "--opened")
        try:
            incident = Incident(id=case_id, kind=kind, tier=tier, customer=customer,
                                batch=batch, region=region, product=product, opened_at=when)
        except ValidationError as exc:
            raise DeskError(str(desk.where), "; ".join(
                f"--{e['loc'][0] if e['loc'] else '?'}: {e['msg']}"
                for e in exc.errors())) from None
        _done(cases.open_case(desk, incident, playbook=playbook, operation=operation,
                              source="cli", key=key), as_json)


@incident_app.command("ack")
@guarded
def ack_cmd(case: str = typer.Argument(..., metavar="CASE"),
            expect: int | None = typer.Option(None, "--expect-version", help=EXPECT_HELP),
            key: str | None = typer.Option(None, "--key", help=KEY_HELP),
            db: Path | None = db_option(), who: str | None = as_option(),
            as_json: bool = json_option()) -> None:
    """Acknowledge: the step into the playbook's acknowledge milestone."""
    from desk.case import service as cases
    with open_desk(db, who) as desk:
        _done(cases.ack(desk, case, expected=expect, key=key), as_json)


@incident_app.command("fire")
@guarded
def fire_cmd(case: str = typer.Argument(..., metavar="CASE"),
             trigger: str = typer.Argument(..., metavar="TRIGGER"),
             expect: int | None = typer.Option(None, "--expect-version", help=EXPECT_HELP),
             key: str | None = typer.Option(None, "--key", help=KEY_HELP),
             db: Path | None = db_option(), who: str | None = as_option(),
             as_json: bool = json_option()) -> None:
    """Fire a playbook trigger: a step of the case's lifecycle."""
    from desk.case import service as cases
    with open_desk(db, who) as desk:
        _done(cases.fire(desk, case, trigger, expected=expect, key=key), as_json)


@incident_app.command("assign")
@guarded
def assign_cmd(case: str = typer.Argument(..., metavar="CASE"),
               owner: str = typer.Argument(..., metavar="OWNER", help="'' to unassign."),
               expect: int | None = typer.Option(None, "--expect-version", help=EXPECT_HELP),
               key: str | None = typer.Option(None, "--key", help=KEY_HELP),
               db: Path | None = db_option(), who: str | None = as_option(),
               as_json: bool = json_option()) -> None:
    """Give the case to someone."""
    from desk.case import service as cases
    with open_desk(db, who) as desk:
        _done(cases.assign(desk, case, owner, expected=expect, key=key), as_json)


@incident_app.command("escalate")
@guarded
def escalate_cmd(case: str = typer.Argument(..., metavar="CASE"),
                 level: str | None = typer.Option(None, "--level", help="Default: the next "
                                                  "level up."),
                 reason: str = typer.Option("manual", "--reason"),
                 expect: int | None = typer.Option(None, "--expect-version", help=EXPECT_HELP),
                 key: str | None = typer.Option(None, "--key", help=KEY_HELP),
                 db: Path | None = db_option(), who: str | None = as_option(),
                 as_json: bool = json_option()) -> None:
    """Escalate the case to a chosen level (default: the next one)."""
    from desk.case import service as cases
    with open_desk(db, who) as desk:
        _done(cases.escalate(desk, case, level, reason, expected=expect, key=key), as_json)


@incident_app.command("note")
@guarded
def note_cmd(case: str = typer.Argument(..., metavar="CASE"),
             text: str = typer.Argument(..., metavar="TEXT"),
             key: str | None = typer.Option(None, "--key", help=KEY_HELP),
             db: Path | None = db_option(), who: str | None = as_option(),
             as_json: bool = json_option()) -> None:
    """Add a note to the case's timeline."""
    from desk.case import service as cases
    with open_desk(db, who) as desk:
        _done(cases.note(desk, case, text, key=key), as_json)


@incident_app.command("send")
@guarded
def send_cmd(case: str = typer.Argument(..., metavar="CASE"),
             obligation: str | None = typer.Option(None, "--obligation", help="Default: the "
                                                   "message due first."),
             text: str | None = typer.Option(None, "--text", help="Default: the playbook's "
                                             "words."),
             expect: int | None = typer.Option(None, "--expect-version", help=EXPECT_HELP),
             key: str | None = typer.Option(None, "--key", help=KEY_HELP),
             db: Path | None = db_option(), who: str | None = as_option(),
             as_json: bool = json_option()) -> None:
    """Send a message the case owes (a customer update, an internal handover)."""
    from desk.case import service as cases
    with open_desk(db, who) as desk:
        _done(cases.send(desk, case, obligation, text, expected=expect, key=key), as_json)


@incident_app.command("resolve")
@guarded
def resolve_cmd(case: str = typer.Argument(..., metavar="CASE"),
                resolution: str = typer.Option("", "--resolution", show_default="none", help="What was done."),
                expect: int | None = typer.Option(None, "--expect-version", help=EXPECT_HELP),
                key: str | None = typer.Option(None, "--key", help=KEY_HELP),
                db: Path | None = db_option(), who: str | None = as_option(),
                as_json: bool = json_option()) -> None:
    """Resolve and close the case along its playbook's most likely path."""
    from desk.case import service as cases
    with open_desk(db, who) as desk:
        _done(cases.resolve(desk, case, resolution, expected=expect, key=key), as_json)


def _selection(desk: Any, queue: str, operation: str | None, filter_: str) -> Selection:
    from desk.queues import Selection, parse_filter
    return parse_filter(filter_, Selection(queue=queue, operation=operation), str(desk.where))


@incident_app.command("list")
@guarded
def list_cmd(queue: str = typer.Option("all", "--queue", help=QUEUE_HELP),
             operation: str | None = typer.Option(None, "--operation"),
             filter_: str = typer.Option("", "--filter", show_default="none", help="key=value words (tier, pool, "
                                         "playbook, level, state, batch, region, owner, kind) "
                                         "and search words."),
             limit: int = typer.Option(200, "--limit", min=1),
             db: Path | None = db_option(), who: str | None = as_option(),
             as_json: bool = json_option()) -> None:
    """The cases of a queue, most pressing first (read-only)."""
    from desk.export import case_record
    from desk.queues import case_row, select
    with open_desk(db, who, readonly=True) as desk:
        sel = _selection(desk, queue, operation, filter_)
        views = select(desk.model, sel, me=desk.operator, now=desk.minute())
        if as_json:
            emit_json([case_record(v) for v in views[:limit]])
            return
        now = desk.minute()
        rows = [case_row(v, now) for v in views[:limit]]
        table(f"{sel.describe()}: {len(views)} case(s)",
              ("case", "tier", "customer", "state", "level", "owner", "next", "left", "batch"),
              [(r.id, r.tier, r.customer, r.state, r.level, r.owner, r.next, r.left, r.batch)
               for r in rows])


@incident_app.command("show")
@guarded
def show_cmd(case: str = typer.Argument(..., metavar="CASE"),
             db: Path | None = db_option(), who: str | None = as_option(),
             as_json: bool = json_option()) -> None:
    """One case: its state, deadlines, owed messages and timeline (read-only)."""
    from desk.clock import instant, local_text
    from desk.export import case_record
    with open_desk(db, who, readonly=True) as desk:
        view = desk.model.case(case)
        record = case_record(view)
        entries = desk.model.timeline.of(case)
        if as_json:
            emit_json({**record, "timeline": [{"at": e.at.isoformat(), "by": e.actor,
                                               "text": e.text} for e in entries]})
            return
        zone = view.book.zone
        inc = view.incident
        say(f"case {inc.id} (version {view.version}): {inc.tier.value} {inc.customer} "
            f"{inc.kind}, batch {inc.batch or '-'}, region {inc.region or '-'}")
        say(f"playbook {view.book.name}: state {view.state}, level {view.level}, owner "
            f"{view.owner or '-'}" + (", closed" if view.closed else ""))
        for key_, due in sorted(view.case.timers.items(), key=lambda kv: kv[1]):
            say(f"  due {local_text(instant(due), zone, date=True)}: {key_}")
        for owed in view.owed:
            say(f"  owed by {local_text(instant(owed.due), zone, date=True)}: "
                f"{owed.obligation} ({owed.audience}): {owed.text}")
        for e in entries:
            say(f"{local_text(e.at, zone, date=True)} {e.actor}: {e.text}")


@incident_app.command("bulk")
@guarded
def bulk_cmd(action: str = typer.Argument(..., metavar="ACTION",
                                          help=BULK_HELP),
             queue: str = typer.Option("all", "--queue", help=QUEUE_HELP),
             operation: str | None = typer.Option(None, "--operation"),
             filter_: str = typer.Option("", "--filter", show_default="none", help="The selection (as in list)."),
             owner: str = typer.Option("", "--owner", show_default="none"), level: str | None = typer.Option(
                 None, "--level"), reason: str = typer.Option("bulk", "--reason"),
             obligation: str | None = typer.Option(None, "--obligation"),
             text: str = typer.Option("", "--text", show_default="none"),
             key: str | None = typer.Option(None, "--key", help=KEY_HELP),
             db: Path | None = db_option(), who: str | None = as_option(),
             as_json: bool = json_option()) -> None:
    """One action over every case of a selection (assign, escalate, send, close, ack, note)."""
    from desk.case import service as cases
    from desk.queues import select
    with open_desk(db, who) as desk:
        sel = _selection(desk, queue, operation, filter_)
        ids = [v.id for v in select(desk.model, sel, me=desk.operator, now=desk.minute())]
        result = cases.bulk(desk, ids, action, owner=owner, level=level, reason=reason,
                            obligation=obligation, text=text, key=key)
        if as_json:
            emit_json({"done": result.done, "skipped": [{"case": c, "why": w}
                                                        for c, w in result.skipped],
                       "written": result.written})
            return
        say(f"{action} over {sel.describe()}: {result.message}")
        for case_id, why in result.skipped[:20]:
            say(f"  skipped {case_id}: {why}")


# -- operation -------------------------------------------------------------------------------

@operation_app.command("open")
@guarded
def op_open(op_id: str = typer.Argument(..., metavar="ID"),
            title: str = typer.Argument(..., metavar="TITLE"),
            playbook: str = typer.Option(..., "--playbook", help="A bundled playbook or a "
                                         "file."),
            lead: str | None = typer.Option(None, "--lead", help="Default: whoever opens it."),
            summary: str = typer.Option("", "--summary", show_default="none"),
            cadence: list[str] = typer.Option([], "--cadence", show_default="none", help="KIND=DURATION, e.g. "
                                              "tactical=1h (tactical, management, public)."),
            opened: str | None = typer.Option(None, "--opened", help="When it began (ISO)."),
            key: str | None = typer.Option(None, "--key", help=KEY_HELP),
            db: Path | None = db_option(), who: str | None = as_option(),
            as_json: bool = json_option()) -> None:
    """Open an operation: an emergency that groups cases."""
    from desk.clock import parse_time
    from desk.operation import service as ops
    with open_desk(db, who, create=True) as desk:
        pairs = dict(_pair(c, "--cadence", str(desk.where)) for c in cadence)
        when = None if opened is None else parse_time(opened, "--opened")
        _done(ops.open_operation(desk, op_id, title, playbook, lead=lead, summary=summary,
                                 cadence=pairs, opened_at=when, key=key), as_json)


def _pair(text: str, option: str, where: str) -> tuple[str, str]:
    from desk.errors import DeskError
    name, eq, value = text.partition("=")
    if not eq or not value.strip():
        raise DeskError(where, f"{option} {text!r}: write NAME=VALUE")
    return name.strip(), value.strip()


@operation_app.command("level")
@guarded
def op_level(op_id: str = typer.Argument(..., metavar="OPERATION"),
             level: str = typer.Argument(..., metavar="LEVEL"),
             reason: str = typer.Option(..., "--reason", help="Why (it goes on the timeline)."),
             expect: int | None = typer.Option(None, "--expect-version", help=EXPECT_HELP),
             key: str | None = typer.Option(None, "--key", help=KEY_HELP),
             db: Path | None = db_option(), who: str | None = as_option(),
             as_json: bool = json_option()) -> None:
    """Declare the emergency level, with the reason."""
    from desk.operation import service as ops
    with open_desk(db, who) as desk:
        _done(ops.declare_level(desk, op_id, level, reason, expected=expect, key=key), as_json)


@operation_app.command("update")
@guarded
def op_update(op_id: str = typer.Argument(..., metavar="OPERATION"),
              kind: str = typer.Argument(..., metavar="KIND", help=UPDATE_HELP),
              conditions: str = typer.Option("", "--conditions", show_default="none"),
              actions: str = typer.Option("", "--actions", show_default="none"),
              needs: str = typer.Option("", "--needs", show_default="none"), text: str = typer.Option("", "--text", show_default="none"),
              key: str | None = typer.Option(None, "--key", help=KEY_HELP),
              db: Path | None = db_option(), who: str | None = as_option(),
              as_json: bool = json_option()) -> None:
    """Send a status update: tactical (conditions, actions, needs), management or public."""
    from desk.operation import service as ops
    with open_desk(db, who) as desk:
        _done(ops.update(desk, op_id, kind, conditions=conditions, actions=actions,
                         needs=needs, text=text, key=key), as_json)


@operation_app.command("role")
@guarded
def op_role(op_id: str = typer.Argument(..., metavar="OPERATION"),
            role: str = typer.Argument(..., metavar="ROLE",
                                       help="lead, communications, resources, scribe"),
            person: str = typer.Argument(..., metavar="PERSON"),
            summary: str = typer.Option("", "--summary", show_default="none", help="The handoff: what the new "
                                        "holder takes on (needed for the lead)."),
            key: str | None = typer.Option(None, "--key", help=KEY_HELP),
            db: Path | None = db_option(), who: str | None = as_option(),
            as_json: bool = json_option()) -> None:
    """Give a role to someone; from someone else, a handoff."""
    from desk.operation import service as ops
    with open_desk(db, who) as desk:
        _done(ops.take_role(desk, op_id, role, person, summary, key=key), as_json)


@operation_app.command("task")
@guarded
def op_task(op_id: str = typer.Argument(..., metavar="OPERATION"),
            title: str = typer.Argument(..., metavar="TITLE"),
            owner: str = typer.Option(..., "--owner"),
            due: str | None = typer.Option(None, "--due", help="ISO time, or in: 2h."),
            remind: str = typer.Option("15m", "--remind", help="How long before it is due."),
            case: str | None = typer.Option(None, "--case", help="The case it follows up."),
            key: str | None = typer.Option(None, "--key", help=KEY_HELP),
            db: Path | None = db_option(), who: str | None = as_option(),
            as_json: bool = json_option()) -> None:
    """Add a task with an owner, a due time and a reminder."""
    from desk.operation import service as ops
    with open_desk(db, who) as desk:
        _done(ops.add_task(desk, op_id, title, owner, due=due, remind=remind, case=case,
                           key=key), as_json)


@operation_app.command("done")
@guarded
def op_done(op_id: str = typer.Argument(..., metavar="OPERATION"),
            task: str = typer.Argument(..., metavar="TASK"),
            note: str = typer.Option("", "--note", show_default="none"),
            key: str | None = typer.Option(None, "--key", help=KEY_HELP),
            db: Path | None = db_option(), who: str | None = as_option(),
            as_json: bool = json_option()) -> None:
    """Mark a task done."""
    from desk.operation import service as ops
    with open_desk(db, who) as desk:
        _done(ops.task_done(desk, op_id, task, note, key=key), as_json)


@operation_app.command("note")
@guarded
def op_note(op_id: str = typer.Argument(..., metavar="OPERATION"),
            text: str = typer.Argument(..., metavar="TEXT"),
            key: str | None = typer.Option(None, "--key", help=KEY_HELP),
            db: Path | None = db_option(), who: str | None = as_option(),
            as_json: bool = json_option()) -> None:
    """Add a note to the operation's timeline."""
    from desk.operation import service as ops
    with open_desk(db, who) as desk:
        _done(ops.note(desk, op_id, text, key=key), as_json)


@operation_app.command("close")
@guarded
def op_close(op_id: str = typer.Argument(..., metavar="OPERATION"),
             summary: str = typer.Option(..., "--summary"),
             expect: int | None = typer.Option(None, "--expect-version", help=EXPECT_HELP),
             key: str | None = typer.Option(None, "--key", help=KEY_HELP),
             db: Path | None = db_option(), who: str | None = as_option(),
             as_json: bool = json_option()) -> None:
    """Close the operation with a summary."""
    from desk.operation import service as ops
    with open_desk(db, who) as desk:
        _done(ops.close(desk, op_id, summary, expected=expect, key=key), as_json)


@operation_app.command("list")
@guarded
def op_list(db: Path | None = db_option(), who: str | None = as_option(),
            as_json: bool = json_option()) -> None:
    """Every operation (read-only)."""
    from desk.clock import instant, local_text
    from desk.export import operation_record
    with open_desk(db, who, readonly=True) as desk:
        views = list(desk.model.operations.values())
        if as_json:
            emit_json([operation_record(op) for op in views])
            return
        table(f"{len(views)} operation(s)", ("id", "title", "playbook", "level", "lead",
                                             "cases", "open", "closed"),
              [(op.id, op.title, op.book.name, op.level_label, op.lead, len(op.cases),
                len(desk.model.cases_of(op.id)),
                "" if op.closed_at is None else local_text(instant(op.closed_at),
                                                           op.book.zone, date=True))
               for op in views])


@operation_app.command("show")
@guarded
def op_show(op_id: str = typer.Argument(..., metavar="OPERATION"),
            db: Path | None = db_option(), who: str | None = as_option(),
            as_json: bool = json_option()) -> None:
    """One operation: level, roles, updates due, tasks, timeline (read-only)."""
    from desk.clock import instant, local_text
    from desk.export import operation_record
    from desk.operation.events import UPDATE_KINDS
    with open_desk(db, who, readonly=True) as desk:
        op = desk.model.operation(op_id)
        if as_json:
            emit_json(operation_record(op))
            return
        zone = op.book.zone
        say(f"operation {op.id} (version {op.version}): {op.title}; playbook {op.book.name}; "
            f"level {op.level_label}; {len(op.cases)} cases")
        for role, holder in op.roles.items():
            say(f"  {role}: {holder.person}")
        for kind in UPDATE_KINDS:
            due = op.update_due(kind)
            if due is not None:
                say(f"  {UPDATE_KINDS[kind][1]} due {local_text(instant(due), zone, date=True)}")
        for task in op.tasks.values():
            say(f"  task {task.id} ({task.owner}): {task.title}"
                + (" - done" if task.done_at is not None else ""))
        for e in desk.model.timeline.of(op_id):
            say(f"{local_text(e.at, zone, date=True)} {e.actor}: {e.text}")

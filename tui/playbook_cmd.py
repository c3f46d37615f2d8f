"""`muster playbook ...`: lint, show and graph playbooks."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.text import Text

from tui.boundary import console as make_console
from rich.table import Table

from incidents.model import Tier
from incidents.source import Diagnostic
from playbooks.loader import check_file, library_files, load_playbook, resolve_playbook
from playbooks.machines import condition_text, emergency_config, graph_machine, mermaid
from playbooks.schema import Playbook

__all__ = ["playbook_app"]

playbook_app = typer.Typer(help="Check, inspect and draw playbooks.", no_args_is_help=True,
                           pretty_exceptions_enable=False)


class Format(str, Enum):
    mermaid = "mermaid"
    dot = "dot"


class PartChoice(str, Enum):
    lifecycle = "lifecycle"
    escalation = "escalation"
    emergency = "emergency"
    all = "all"


@playbook_app.command("lint")
def lint(
    files: list[str] = typer.Argument(..., metavar="FILES",
                                      help="Playbook files (or bundled playbook names)."),
    strict: bool = typer.Option(False, "--strict/--no-strict",
                                help="Treat warnings as errors (exit 2)."),
) -> None:
    """Check playbooks; print FILE:LINE:COL: error|warning: message. Exit 2 on errors."""
    out = make_console(soft_wrap=True)
    err = make_console(stderr=True, soft_wrap=True)
    errors = warnings = 0
    for name in files:
        try:
            path = resolve_playbook(name)
        except ValueError as exc:
            found = getattr(exc, "diagnostics", []) or [Diagnostic(name, 1, 1, "error", str(exc))]
        else:
            _, found = check_file(path)
        for d in found:
            out.print(str(d), markup=False)
        errors += sum(d.severity == "error" for d in found)
        warnings += sum(d.severity == "warning" for d in found)
    n = len(files)
    err.print(f"{n} file{'s' * (n != 1)} checked: {errors} error(s), {warnings} warning(s)",
              markup=False)
    if errors or (strict and warnings):
        raise typer.Exit(2)


@playbook_app.command("list")
def list_() -> None:
    """List the bundled playbooks."""
    for path in library_files():
        typer.echo(f"{path.stem}\t{path}")


@playbook_app.command("show")
def show(playbook: str = typer.Argument(..., metavar="PLAYBOOK",
                                        help="A playbook file or bundled name.")) -> None:
    """Tables of states, transitions, timers, escalation and obligations."""
    pb = load_playbook(playbook)
    console = make_console()
    console.print(Text.assemble((pb.name, "bold"), f"  {pb.title}"))
    if pb.description:
        console.print(pb.description.strip(), highlight=False, markup=False)
    console.print(f"calendar: {pb.calendar.timezone}; kinds: {', '.join(pb.kinds) or '-'}; "
                  f"source: {pb.source or '-'}", highlight=False, markup=False)
    for table in (_states(pb), _transitions(pb), _timers(pb), _escalation(pb),
                  _emergency(pb), _obligations(pb)):
        if table.row_count:
            console.print(table)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def _states(pb: Playbook) -> Table:
    t = _table("States", "state", "kind", "work (role, minutes)", "parts", "milestone")
    met = {st: ms for ms, st in pb.lifecycle.milestones.items()}
    for name, st in pb.lifecycle.states.items():
        kind = "final" if st.final else ("initial" if name == pb.lifecycle.initial else "")
        work = parts = ""
        if st.work is not None:
            work = f"{st.work.role}: {st.work.duration!r} (mean {st.work.duration.mean:.0f})"
            parts = ", ".join(f"{sku} x{u.qty} p={u.p:g}" for sku, u in st.work.parts.items())
        t.add_row(name, kind, work, parts, met.get(name, ""))
    return t


def _transitions(pb: Playbook) -> Table:
    t = _table("Transitions", "from", "trigger", "to", "p / condition", "fired by")
    events = set(pb.lifecycle.events)
    for name, st in pb.lifecycle.states.items():
        for trig, out in st.outcomes.items():
            t.add_row(name, trig, out.to, f"p={out.p:g}", "work done")
        timer_fires = {tm.fire for tm in st.timers}
        for trig, alts in st.on.items():
            by = "timer" if trig in timer_fires else ("event" if trig in events else "")
            for alt in alts:
                t.add_row(name, trig, alt.to, condition_text(alt.when) or "always", by)
    return t


def _timers(pb: Playbook) -> Table:
    t = _table("Timers and SLA deadlines", "timer", "armed", "after", "then")
    for tier in Tier:
        for ms, d in pb.sla.for_tier(tier).items():
            t.add_row(f"SLA {ms} ({tier.value})", "on opening", str(d),
                      f"breach unless {pb.lifecycle.milestones.get(ms, '?')} is reached")
    for name, st in pb.lifecycle.states.items():
        for tm in st.timers:
            t.add_row(f"state {name}", f"on entering {name}", str(tm.after), f"fire {tm.fire}")
    for name, rule in pb.escalation.rules.items():
        if rule.after is not None:
            cond = f" if {condition_text(rule.when)}" if rule.when else ""
            stop = rule.until or "closed"
            if rule.since != "opened":
                stop += f" or it leaves {rule.since}"
            t.add_row(f"escalation {name}", f"since {rule.since}{cond}", str(rule.after),
                      f"escalate to {rule.to} unless {stop}")
    return t


def _escalation(pb: Playbook) -> Table:
    t = _table(f"Escalation ({' -> '.join(pb.escalation.levels)})", "rule", "when", "to")
    for name, r in pb.escalation.rules.items():
        if r.after is not None:
            what = f"{r.after} after {r.since}, unless {r.until or 'closed'}"
        elif r.on_breach is not None:
            what = f"SLA breach: {r.on_breach}"
        elif r.on_trigger is not None:
            what = f"{r.on_trigger} fired {r.count} time(s)"
        else:
            what = f"entering {r.on_enter}"
        if r.when:
            what += f" [{condition_text(r.when)}]"
        t.add_row(name, what, r.to)
    return t


def _emergency(pb: Playbook) -> Table:
    t = _table("Emergency levels", "level", "label", "enter / exit", "hold", "unlocks")
    labels = {tr["dest"]: tr["trigger"] for tr in emergency_config(pb)["transitions"]
              if tr["trigger"].startswith("enter")}
    exits = {tr["source"]: tr["trigger"] for tr in emergency_config(pb)["transitions"]
             if tr["trigger"].startswith("exit")}
    for name, lvl in pb.emergency.levels.items():
        unlocks = ", ".join(
            f"{u.resource}{f' +{u.headcount}' if u.headcount else ''} after {u.delay}"
            for u in pb.resources.unlocks if u.level == name)
        t.add_row(name, lvl.label, f"{labels[name]}\n{exits[name]}", str(lvl.hold), unlocks)
    return t


def _obligations(pb: Playbook) -> Table:
    t = _table("Communications", "obligation", "audience", "on", "deadline", "repeat", "template")
    for name, ob in pb.communications.items():
        on = next(f"{k} {v}" if v is not True else k
                  for k, v in ob.on.model_dump().items() if v not in (None, False))
        repeat = f"every {ob.repeat.every} until {ob.repeat.until}" if ob.repeat else ""
        if ob.when:
            on += f" [{condition_text(ob.when)}]"
        t.add_row(name, ob.audience, on, str(ob.deadline), repeat, ob.template)
    return t


@playbook_app.command("graph")
def graph(
    playbook: str = typer.Argument(..., metavar="PLAYBOOK",
                                   help="A playbook file or bundled name."),
    fmt: Format = typer.Option(Format.mermaid, "--format", "-f", help="Diagram language."),
    part: PartChoice = typer.Option(PartChoice.all, "--part", "-p",
                                    help="Which machine to draw."),
    output: Path | None = typer.Option(None, "--output", "-o", show_default="stdout",
                                       help="Write the diagram to this file."),
) -> None:
    """State diagrams of the lifecycle, escalation and emergency levels."""
    pb = load_playbook(playbook)
    parts = ["lifecycle", "escalation", "emergency"] if part is PartChoice.all else [part.value]
    if not pb.emergency.levels and part is PartChoice.all:
        parts.remove("emergency")
    chunks = []
    for p in parts:
        if fmt is Format.dot:
            chunks.append(graph_machine(pb, p, "graphviz").source)  # type: ignore[arg-type]
        else:
            text = mermaid(pb, p)  # type: ignore[arg-type]
            chunks.append(f"```mermaid\n{text.strip()}\n```" if len(parts) > 1 else text)
    text = "\n\n".join(chunks) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)

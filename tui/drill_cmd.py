"""`muster drill ...`: play a drill headless, list the bundled drills, replay and resume records.

    muster drill SCENARIO --script ACTIONS.yaml [--record PATH] [--seed N]
    muster drill list
    muster drill example-script DRILL [--seed N]
    muster drill replay RECORD [--id ID]
    muster drill resume RECORD [--id ID] [--script ACTIONS.yaml]

The interactive drill is the app's (`muster`, then "Start a drill"); these commands play the
same engine without the screen (scripts, tests, trainers comparing strategies) and check
records. Every user error ends as located lines on stderr and exit status 2.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from incidents.store import EventStore
from simulation.drills.catalog import bundled_drills
from simulation.drills.examples import STYLES, example_script
from simulation.drills.record import (DEFAULT_STORE, check_resumable, load_record,
                                     open_record, rebuild, replay, resume, start_record)
from simulation.drills.script import load_script, play, take_rest
from simulation.drills.session import DrillSession
from simulation.drills.views import resources
from simulation.errors import SimulationError
from tui.boundary import fail, console as make_console
from simulation.scenario.loader import load_scenario

__all__ = ["drill_app"]

drill_app = typer.Typer(help="Play drills without the screen, list them, replay and resume "
                             "records (`muster` opens the app to play one live).",
                        no_args_is_help=True, pretty_exceptions_enable=False)


@drill_app.command("play", hidden=True)
def play_cmd(
    scenario: str = typer.Argument(..., metavar="SCENARIO",
                                   help="A bundled drill (see `muster drill list`) or a drill "
                                        "scenario file."),
    script: Path | None = typer.Option(None, "--script", help="Play headless with the "
                                       "team's decisions (YAML; `muster drill example-script "
                                       "DRILL` writes one).", show_default="none"),
    seat: str | None = typer.Option(None, "--seat", help="Take a seat at the drill in the "
                                    "app: controller, evaluator or player. Several terminals "
                                    "share one record (--record); the first seat owns the "
                                    "clock.", show_default="none"),
    person: str | None = typer.Option(None, "--as", help="Who sits at the seat (the report "
                                      "names who acted).", show_default="the login name"),
    role: str | None = typer.Option(None, "--role", help="A player's drill role.",
                                    show_default="the participants list's, else the first"),
    new: bool = typer.Option(False, "--new/--no-new", help="Start a new seated drill even if one of "
                             "this drill is in play in the record store."),
    record: Path | None = typer.Option(None, "--record", help="Record the drill in this "
                                       "store (default: no record; seats: "
                                       "muster-out/drills.sqlite).",
                                       show_default="no record"),
    seed: int | None = typer.Option(None, "--seed", min=0,
                                    help="Seed (default: the script's, else 1).",
                                    show_default="the script's, else 1"),
) -> None:
    """Play a drill headless (--script), or take a seat at it in the app (--seat)."""
    console = make_console()
    if seat is not None or script is None:
        _seat(scenario, seat, person, role, record, seed, new, script)
        return
    try:
        loaded = load_scenario(scenario)
        if loaded.scenario.drill is None:
            raise SimulationError(f"{loaded.path}: error: scenario {loaded.scenario.name!r} "
                                  "has no `drill:` section (bundled drills: "
                                  f"{', '.join(d.name for d in bundled_drills())})")
        actions = load_script(script)
        if actions.drill is not None and actions.drill != loaded.scenario.name:
            raise SimulationError(f"{actions.file}:1:1: error: this script was written for "
                                  f"drill {actions.drill!r}, not {loaded.scenario.name!r}")
        run_seed = seed if seed is not None else (actions.seed if actions.seed is not None
                                                  else 1)
        session = play(loaded, actions, run_seed)  # refused decisions stop here, unrecorded
        recorder = None
        if record is not None:
            with EventStore.open(record) as store:
                recorder = start_record(store, loaded, run_seed, source="script")
                session = play(loaded, actions, run_seed, recorder=recorder, strict=False)
                recorder.finish(session)
    except (SimulationError, ValueError) as exc:  # bad input of any layer: located lines
        raise fail(exc) from None
    _summary(session, console)
    if record is not None and recorder is not None:
        console.print(f"recorded drill {recorder.stream_id[:8]} in {record}", soft_wrap=True)


def _seat(scenario: str, seat: str | None, person: str | None, role: str | None,
          record: Path | None, seed: int | None, new: bool, script: Path | None) -> None:
    """Take a seat at a drill (simulation/drills/seats.py) and open the app on it."""
    from simulation.drills.seats import SEATS, Seat, open_seat, seat_role
    from tui.live_common import default_operator
    try:
        if script is not None:
            raise ValueError("--script plays headless; --seat opens the app: give one")
        if seat is None:
            raise ValueError("give --script ACTIONS.yaml (headless) or --seat "
                             f"{'|'.join(SEATS)} (in the app)")
        if seat not in SEATS:
            raise ValueError(f"--seat: no seat {seat!r}; seats: {', '.join(SEATS)}")
        name = (person if person is not None else default_operator()).strip()
        if not name or not name.isprintable() or len(name) > 80:
            raise ValueError(f"--as: a name of 1 to 80 printable characters, not {person!r}")
        if role is not None and seat != "player":
            raise ValueError(f"--role: only a player acts in a drill role, not the {seat}")
        loaded = load_scenario(scenario)
        if loaded.scenario.drill is None:
            raise SimulationError(f"{loaded.path}: error: scenario {loaded.scenario.name!r} "
                                  "has no `drill:` section (bundled drills: "
                                  f"{', '.join(d.name for d in bundled_drills())})")
        acting = seat_role(seat, role, loaded, name)
        link = open_seat(record or DEFAULT_STORE, loaded, Seat(seat, name, acting),
                         seed=seed if seed is not None else 1, new=new)
    except (SimulationError, ValueError) as exc:
        raise fail(exc) from None
    from tui.app import run_seat_app  # Textual only when it is needed
    try:
        run_seat_app(link)
    finally:
        link.store.close()


def _summary(session: DrillSession, console: Console) -> None:
    taken = sum(1 for o in session.outcomes if o.ok)
    table = Table(title=f"{session.drill.title}: {taken} decisions taken, "
                        f"{len(session.fired)} injects fired", title_justify="left")
    table.add_column("minute", justify="right")
    table.add_column("role")
    table.add_column("decision")
    table.add_column("outcome")
    for o in session.outcomes:
        table.add_row(f"{o.at:g}", o.role, o.action.get("kind", ""),
                      o.message if o.ok else f"refused: {o.message}")
    console.print(table)
    signals = session.world.signals()
    pools, parts = resources(session)
    console.print(f"at the end (minute {session.now:g}): open backlog "
                  f"{signals['open_backlog']:.0f}, emergency level "
                  f"{session.team.declared if session.team else '-'} (recommended "
                  f"{session.team.recommended if session.team else '-'}), "
                  f"{sum(p.busy for p in pools)} staff busy, stock-outs "
                  f"{sum(1 for p in parts if p.on_hand == 0)}", markup=False)


@drill_app.command("list")
def list_cmd() -> None:
    """The bundled drills: name, title, simulated length, speed and playing time."""
    table = Table(title="Bundled drills", title_justify="left")
    for col in ("name", "title", "simulated", "speed", "playing time", "injects"):
        table.add_column(col, overflow="fold")
    for d in bundled_drills():
        table.add_row(d.name, d.title, f"{d.length_minutes / 1440:g} d", f"{d.speed:g}x",
                      f"{d.playing_minutes:.0f} min", f"{d.injects} (+{d.contingency})")
    make_console().print(table)


@drill_app.command("example-script")
def example_cmd(
    drill: str = typer.Argument(..., metavar="DRILL", help="A bundled drill or a drill file."),
    seed: int = typer.Option(1, "--seed", min=0, help="Seed the example is checked on."),
    style: str = typer.Option("good", "--style", help="good: the MSEL followed; late: the "
                              "same actions too late; bad: a team that does harm (wrong "
                              "level, late and oversized orders, VIP not first, no "
                              "messages); passive: no decision at all."),
) -> None:
    """Print a valid, commented action script for a drill (its MSEL's expected actions)."""
    if style not in STYLES:
        raise fail(ValueError(f"--style: unknown style {style!r}; styles: "
                              f"{', '.join(STYLES)}")) from None
    try:
        loaded = load_scenario(drill)
        text = example_script(loaded, seed, style)  # type: ignore[arg-type]
    except SimulationError as exc:
        raise fail(exc) from None
    typer.echo(text, nl=False)


@drill_app.command("replay")
def replay_cmd(
    record: str = typer.Argument(str(DEFAULT_STORE), metavar="RECORD",
                                 help="A record store file, or a drill id in the default "
                                      "store."),
    stream: str | None = typer.Option(None, "--id", help="Which drill of the store (an id or "
                                      "its first characters; default: the latest)."),
) -> None:
    """Re-run a recorded drill and check that it reproduces the event log exactly."""
    try:
        store, sid = open_record(record, stream, readonly=True)
        try:
            report = replay(store, sid)
        finally:
            store.close()
    except (SimulationError, ValueError) as exc:
        raise fail(exc) from None
    console = make_console()
    if report.matches:
        console.print(f"drill {sid[:8]}: reproduced exactly ({report.checked} event-log "
                      f"digests match){'; ' + report.problem if report.problem else ''}",
                      markup=False)
        return
    console.print(f"drill {sid[:8]}: does NOT reproduce: {report.problem}", markup=False)
    raise typer.Exit(1)


@drill_app.command("resume")
def resume_cmd(
    record: str = typer.Argument(str(DEFAULT_STORE), metavar="RECORD",
                                 help="A record store file, or a drill id in the default "
                                      "store."),
    stream: str | None = typer.Option(None, "--id", help="Which drill (default: the latest)."),
    script: Path | None = typer.Option(None, "--script", help="Play the rest headless with "
                                       "these decisions (those after the resume point).",
                                       show_default="open the app"),
) -> None:
    """Continue an interrupted drill: every decision taken before is kept."""
    try:
        store, sid = open_record(record, stream, readonly=True)
        try:  # refused (ended, damaged) before the file is opened for writing
            check_resumable(store, sid)
        finally:
            store.close()
        steps = load_script(script) if script is not None else None  # so is a bad script
        store, sid = open_record(record, sid)
        try:
            session, recorder = resume(store, sid)
            if steps is None:
                from tui.app import run_drill_app  # Textual only when it is needed
                run_drill_app(session, recorder)
                return
            assert steps is not None
            take_rest(session, steps)
            recorder.finish(session)
        finally:
            store.close()
    except (SimulationError, ValueError) as exc:
        raise fail(exc) from None
    _summary(session, make_console())


@drill_app.command("hotwash")
def hotwash_cmd(
    record: str = typer.Argument(str(DEFAULT_STORE), metavar="RECORD",
                                 help="A record store file, or a drill id in the default "
                                      "store."),
    stream: str | None = typer.Option(None, "--id", help="Which drill (default: the latest)."),
    person: str = typer.Option(..., "--as", help="Who answers."),
    role: str = typer.Option(..., "--role", help="The answerer's role: a drill role, "
                             "controller or evaluator."),
    went_well: str = typer.Option("", "--went-well", show_default="(none)", help="What went well."),
    improve: str = typer.Option("", "--improve", show_default="(none)", help="What to improve."),
) -> None:
    """Record a participant's hot wash for an ended drill (the report includes it)."""
    from simulation.drills.exercise import record_hotwash
    from simulation.drills.session import EXERCISE_ROLES
    try:
        store, sid = open_record(record, stream, readonly=True)  # refused: nothing written
        try:
            recorded = load_record(store, sid)
            ended = recorded.end is not None
        finally:
            store.close()
        if not ended:
            raise SimulationError(f"{record}: error: drill {sid[:8]} has not ended: the hot "
                                  "wash comes after the end")
        drill = rebuild(recorded).scenario.drill
        known = [*(drill.roles if drill is not None else ()), *EXERCISE_ROLES]
        if role not in known:
            raise ValueError(f"--role: no role {role!r} in this drill; roles: "
                             f"{', '.join(known)}")
        store, sid = open_record(record, sid)
        try:
            new = record_hotwash(store, sid, by=person, role=role, went_well=went_well,
                                 to_improve=improve)
        finally:
            store.close()
    except (SimulationError, ValueError) as exc:
        raise fail(exc) from None
    make_console().print(f"drill {sid[:8]}: hot wash of {person} ({role}) "
                         + ("recorded" if new else "already recorded (nothing changed)")
                         + f"; `muster report {record} --id {sid[:8]}` writes the report "
                           "with it", markup=False, soft_wrap=True)

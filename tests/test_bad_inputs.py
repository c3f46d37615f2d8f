"""Inputs that once gave a traceback, an emoji or a silent wrong answer: each now refused with
a located message, exit status 2, nothing changed on disk (issue 14's list)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from incidents.store import EventStore
from simulation.drills.actions import DeclareLevel
from simulation.drills.record import start_record
from simulation.drills.session import DrillSession
from simulation.scenario.loader import load_scenario
from tests.cli_helpers import run_cli as run


def _script(tmp_path: Path, body: str, pad: int = 0) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text("#\n" * pad + body, encoding="utf-8")
    return path


def test_a_location_on_line_100_prints_as_written(capsys, tmp_path: Path) -> None:
    """Rich turned `:100:` into an emoji (file.yaml💯20) in every command."""
    path = _script(tmp_path, "actions:\n  - {at: 1h, kind: declare_levle, level: IV}\n",
                   pad=98)
    code, out, err = run(capsys, "drill", "drill-recall", "--script", path)
    assert code == 2 and f"{path}:100:" in err and "💯" not in out + err


def test_text_from_files_is_not_rich_markup(capsys, tmp_path: Path) -> None:
    path = _script(tmp_path, "actions:\n  - {at: 1h, kind: '[bold]x[/bold] :smile:'}\n")
    code, _, err = run(capsys, "drill", "drill-recall", "--script", path)
    assert code == 2 and "[bold]x[/bold] :smile:" in err and "😄" not in err


@pytest.mark.parametrize(("action", "where", "words"), [
    ("{at: 1h, kind: [note]}", ":2:", "unknown action ['note']"),
    ("{at: 1h, kind: {a: 1}}", ":2:", "unknown action {'a': 1}"),
    ("{at: 1h, kind: order_parts, sku: FLR-OAK-1210, qty: true}", ":2:", "qty"),
    ("{at: 1h, kind: order_parts, sku: FLR-OAK-1210, qty: 2.5}", ":2:", "qty"),
    ("{at: 1h, kind: escalate, case: '3'}", ":2:", "case"),
    ("{at: 1h, kind: note, text: x, observer: 1}", ":2:", "observer"),
])
def test_values_of_the_wrong_type_are_refused(capsys, tmp_path: Path, action: str, where: str,
                                              words: str) -> None:
    path = _script(tmp_path, f"actions:\n  - {action}\n")
    store = tmp_path / "r.sqlite"
    code, _, err = run(capsys, "drill", "drill-recall", "--script", path, "--record", store)
    assert code == 2 and f"{path}{where}" in err and words in err, err
    assert not store.exists()


@pytest.mark.parametrize("version", ["2", "one", "true", "1.0"])
def test_an_unknown_script_version_is_refused(capsys, tmp_path: Path, version: str) -> None:
    path = _script(tmp_path, f"muster: {version}\nactions: []\n")
    code, _, err = run(capsys, "drill", "drill-recall", "--script", path)
    assert code == 2 and f"{path}:1:" in err and "version 1" in err


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("command", ["replay", "resume", "report"])
def test_a_damaged_record_is_refused_and_left_as_it_was(capsys, tmp_path: Path,
                                                         command: str) -> None:
    """An action edited to `{}`: a located refusal naming the event, never a KeyError; the
    file is unchanged."""
    loaded = load_scenario("drill-parts")
    path = tmp_path / "r.sqlite"
    with EventStore.open(path) as store:
        recorder = start_record(store, loaded, 1)
        session = DrillSession(loaded, 1, recorder=recorder)
        session.advance(60)
        session.act(DeclareLevel(level="IV"))
        header = store.header(recorder.stream_id)
        forged = store.new_stream("drill", header)
        for ev in store.events(recorder.stream_id):
            if ev.kind != "header":
                payload = dict(ev.payload, action={}) if ev.kind == "action" else ev.payload
                store.append(forged, ev.kind, payload, sim_minute=ev.sim_minute)
    before = _digest(path)
    argv = ("report", path, "--id", forged[:8], "--days", "0") if command == "report" else (
        "drill", command, path, "--id", forged[:8])
    code, _, err = run(capsys, *argv)
    assert code == 2 and f"drill {forged[:8]}, event " in err and "unknown action" in err, err
    assert _digest(path) == before


def test_an_interrupted_simulate_leaves_the_previous_report_whole(capsys, tmp_path: Path,
                                                                 monkeypatch) -> None:
    out = tmp_path / "out"
    code, _, err = run(capsys, "simulate", "textbook-mmc", "--reps", "2", "--out", out)
    assert code == 0, err
    files = {p.name: _digest(p) for p in out.iterdir()}
    import simulation.results.plots as plots

    def stop(*_: object, **__: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the new report is being written

    monkeypatch.setattr(plots, "make_plots", stop)
    code, _, err = run(capsys, "simulate", "textbook-mmc", "--reps", "2", "--seed", "9",
                       "--out", out)
    assert code == 130 and "still the previous run's, whole" in err
    assert {p.name: _digest(p) for p in out.iterdir()} == files
    assert not list(tmp_path.glob(".out.writing-*"))           # nothing half-written left

"""`muster drill ...`, `muster report` and `muster drills list` from the command line.

Run through the real entry point (`tui.cli.main`) with arguments, as a user types them: exit
status, output, files written, and never a traceback. Bad input (a script with an unknown
action, a decision the drill refuses, a damaged or foreign record) exits 2 with a located
message and leaves every file as it was.
"""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from tests.cli_helpers import run_cli


run = run_cli


def test_list_shows_the_bundled_drills(capsys) -> None:
    code, out, _ = run(capsys, "drill", "list")
    assert code == 0 and "drill-recall" in out and "72 min" in out


def test_example_script_plays_headless_records_replays_and_reports(capsys, tmp_path) -> None:
    code, text, _ = run(capsys, "drill", "example-script", "drill-recall")
    assert code == 0 and text.startswith("# Action script for drill 'drill-recall'")
    script = tmp_path / "actions.yaml"
    script.write_text(text, encoding="utf-8")
    store = tmp_path / "records.sqlite"
    code, out, err = run(capsys, "drill", "drill-recall", "--script", script, "--record", store)
    assert code == 0, err
    assert "recorded drill" in out and "decisions taken" in out
    drill_id = out.split("recorded drill ")[1].split()[0]
    code, out, _ = run(capsys, "drill", "replay", store)
    assert code == 0 and "reproduced exactly" in out
    code, out, err = run(capsys, "report", store, "--out", tmp_path / "aar")
    assert code == 0, err
    assert "score" in out and (tmp_path / "aar" / "after-action.html").is_file()
    code, out, _ = run(capsys, "drills", "list", "--store", store)
    assert code == 0 and drill_id in out and "华东服务中心指挥部" in out.replace("\n", "")
    assert "warning:" in out  # one drill a year is behind the standard's four


def test_a_bad_script_exits_2_at_its_line(capsys, tmp_path) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text("actions:\n  - {at: 1h, kind: declare_levle, level: IV}\n",
                      encoding="utf-8")
    code, _, err = run(capsys, "drill", "drill-recall", "--script", script)
    assert code == 2
    assert err.startswith(f"{script}:2:") and "did you mean 'declare_level'" in err


def test_a_refused_decision_exits_2_and_records_nothing(capsys, tmp_path) -> None:
    script = tmp_path / "refused.yaml"
    script.write_text("actions:\n  - {at: 1h, kind: activate, resource: contractors}\n",
                      encoding="utf-8")
    store = tmp_path / "r.sqlite"
    code, _, err = run(capsys, "drill", "drill-recall", "--script", script, "--record", store)
    assert code == 2 and f"{script}:2:" in err and "needs emergency level III" in err
    assert not store.exists()  # refused before anything was written


def test_a_scenario_without_a_drill_is_refused(capsys, tmp_path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text("actions: []\n", encoding="utf-8")
    code, _, err = run(capsys, "drill", "normal-week", "--script", script)
    assert code == 2 and "has no `drill:` section" in err and "drill-recall" in err


@pytest.mark.parametrize("damage", ["truncated", "foreign", "junk", "newer"])
def test_bad_records_are_refused_and_left_untouched(capsys, tmp_path, damage: str) -> None:
    path = tmp_path / "r.sqlite"
    if damage == "foreign":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    elif damage == "junk":
        path.write_bytes(b"not a database at all" * 100)
    else:
        script = tmp_path / "a.yaml"
        script.write_text("actions:\n  - {at: 1h, kind: declare_level, level: IV}\n",
                          encoding="utf-8")
        code, _, _ = run(capsys, "drill", "drill-recall", "--script", script, "--record", path)
        assert code == 0
        if damage == "truncated":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        else:
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA user_version = 9")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for command in (("drill", "replay", path), ("report", path, "--out", tmp_path / "o"),
                    ("drill", "resume", path, "--script", tmp_path / "none.yaml")):
        code, _, err = run(capsys, *command)
        assert code == 2, (command, err)
        assert err.startswith(f"{path}: error: "), err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not (tmp_path / "o").exists()


def test_resume_continues_an_interrupted_drill(capsys, tmp_path) -> None:
    """A record without an end (the terminal closed) resumes headless with the rest of the
    script; the decisions taken before are kept and the record then replays exactly."""
    from incidents.store import EventStore
    from simulation.drills.actions import DeclareLevel
    from simulation.drills.record import start_record
    from simulation.drills.session import DrillSession
    from simulation.scenario.loader import load_scenario

    loaded = load_scenario("drill-recall")
    path = tmp_path / "r.sqlite"
    with EventStore.open(path) as store:
        recorder = start_record(store, loaded, 3)
        session = DrillSession(loaded, 3, recorder=recorder)
        session.advance(60)
        session.act(DeclareLevel(level="IV"))
        session.advance(400)
    rest = tmp_path / "rest.yaml"
    rest.write_text("actions:\n  - {at: 1h, kind: declare_level, level: IV}\n"
                    "  - {at: 10h, kind: declare_level, level: III}\n", encoding="utf-8")
    code, out, err = run(capsys, "drill", "resume", path, "--script", rest)
    assert code == 0, err
    assert "emergency level raised to IV" in out and "emergency level raised to III" in out
    code, out, _ = run(capsys, "drill", "replay", path)
    assert code == 0 and "reproduced exactly" in out


def test_a_missing_record_file_is_named_not_taken_for_a_drill_id(capsys, tmp_path,
                                                                  monkeypatch) -> None:
    """A path that does not exist was looked up as a drill id in the default store ("no drill
    record 'x.sqlite'"); a bare id still is."""
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "a.yaml"
    script.write_text("actions:\n  - {at: 1h, kind: declare_level, level: IV}\n",
                      encoding="utf-8")
    (tmp_path / "muster-out").mkdir()
    code, _, err = run(capsys, "drill", "drill-recall", "--script", script,
                       "--record", "muster-out/drills.sqlite")
    assert code == 0, err
    for missing in ("missing.sqlite", "old/drills"):
        code, _, err = run(capsys, "drill", "replay", missing)
        assert code == 2 and err.startswith(f"{missing}: error: no such store file"), err
    code, _, err = run(capsys, "drill", "replay", "zzzz")
    assert code == 2 and "no drill record 'zzzz'" in err, err

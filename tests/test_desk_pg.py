"""Desks on a PostgreSQL server: what a server brings (the desk's rules themselves run on
both back ends through the `desk`, `db` and `live_url` fixtures of the other desk tests).

- Two desks in two processes see each other's actions, and a decision one of them took on a
  version the other has moved is refused (both back ends: `live_url`).
- Two desks noticing the same deadlines at the same instant write each one once.
- A desk whose connections are dropped (pg_terminate_backend) catches up, and writes again.
- The desk screen says OFFLINE while the server is down, refuses actions meanwhile, and says
  LIVE once it is back and has read what it missed.
- `muster live migrate` to the server and back, event for event: counts and digests, the same
  desk on every copy; again, nothing copied; into another history, refused untouched.
- The commands take a server's URL (and MUSTER_DB); a bad one is one line, without the
  password, exit 2.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from desk.case import service as cases
from desk.desk import Desk
from desk.errors import Conflict
from desk.export import export
from desk.operation import service as ops
from incidents.store import open_store
from incidents.store_copy import history
from incidents.store_pg import PgStore

from tests.app_helpers import pilot_test
from tests.backends import PrivateServer, eventually, psql
from tests.cli_helpers import run_cli
from tests.desk_helpers import WallClock, caught_up, open_recall
from tests.store_helpers import SPAWN
from tests.test_desk_app import SIZE, desk_app, notes, opened, timeline, until


# -- two desks, two processes -----------------------------------------------------------------

def _second_desk(url: str, folder: str) -> None:
    """李强's desk in a process of its own: acts, waits to see 王芳's answer, then moves a
    case 王芳 is deciding on. Each step is told by a file, waited for by a condition."""
    where = Path(folder)
    with Desk.open(url, operator="李强", clock=WallClock()) as desk:
        cases.ack(desk, "RC-0001")
        cases.assign(desk, "RC-0002", "李强")
        cases.note(desk, "RC-0003", "李强：已联系仓库")
        (where / "acted").write_text(str(desk.store.position()), encoding="utf-8")
        eventually(lambda: desk.poll() is not None and any(
            e.text.endswith("王芳：收到") for e in desk.model.timeline), "王芳's answer", 60)
        (where / "saw").write_text("王芳：收到", encoding="utf-8")
        eventually(lambda: (where / "go").exists(), "the go-ahead", 60)
        cases.assign(desk, "RC-0004", "李强")
        (where / "moved").write_text("", encoding="utf-8")


def test_two_desks_in_two_processes_see_each_other_and_conflict(live_url: str,
                                                                tmp_path: Path) -> None:
    clock = WallClock()
    with Desk.open(live_url, operator="王芳", clock=clock) as desk:
        open_recall(desk, 10)
        decided_on = desk.model.case("RC-0004").version
        other = SPAWN.Process(target=_second_desk, args=(live_url, str(tmp_path)))
        other.start()
        try:
            eventually(lambda: (tmp_path / "acted").exists() or not other.is_alive(),
                       "李强 acted", 120)
            seen = caught_up(desk, int((tmp_path / "acted").read_text()))
            assert {"RC-0001", "RC-0002", "RC-0003"} <= seen.cases
            assert "acknowledge" in desk.model.case("RC-0001").met
            assert desk.model.case("RC-0002").owner == "李强"
            assert [e.actor for e in desk.model.timeline][-3:] == ["李强"] * 3
            cases.note(desk, "RC-0003", "王芳：收到")
            eventually(lambda: (tmp_path / "saw").exists() or not other.is_alive(),
                       "李强's desk shows the answer", 120)
            (tmp_path / "go").touch()
            eventually(lambda: (tmp_path / "moved").exists() or not other.is_alive(),
                       "李强 took RC-0004", 120)
            with pytest.raises(Conflict, match="case RC-0004 changed meanwhile"):
                cases.ack(desk, "RC-0004", expected=decided_on)  # decided before 李强 moved it
            assert desk.model.case("RC-0004").owner == "李强"  # refused, and it shows why
            assert [e.kind for e in desk.store.events("case:RC-0004", after=1)] == ["assigned"]
        finally:
            other.join(60)
        assert other.exitcode == 0


def test_two_desks_noticing_deadlines_at_once_write_each_once(live_url: str) -> None:
    clock = WallClock()
    with Desk.open(live_url, operator="王芳", clock=clock) as one, \
            Desk.open(live_url, operator="李强", clock=clock) as two:
        open_recall(one, 30)
        caught_up(two)
        clock.advance(hours=30)  # every case past its deadlines: many to write, by both
        barrier = threading.Barrier(2)
        counts: list[int] = []
        errors: list[BaseException] = []

        def tick(desk: Desk) -> None:
            try:
                barrier.wait()
                counts.append(desk.tick())
            except BaseException as exc:  # reported below, with the test's failure
                errors.append(exc)

        threads = [threading.Thread(target=tick, args=(d,)) for d in (one, two)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        caught_up(one)
        expired = [(e.stream_id, e.payload["deadline"], e.payload["due"])
                   for e in one.store.since() if e.kind == "expired"]
        assert sum(counts) == len(expired) > 30
        assert len(set(expired)) == len(expired)  # never one deadline twice
        assert one.tick() + two.tick() == 0


# -- a dropped connection, a server away -----------------------------------------------------

def _drop(server: str, desk: Desk) -> int:
    store = desk.store
    assert isinstance(store, PgStore)
    return len(psql(server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                            "application_name = %s", (store.application_name,)))


def test_a_desk_whose_connections_are_dropped_catches_up(pg_server: str, pg_url: str) -> None:
    clock = WallClock()
    with Desk.open(pg_url, operator="王芳", clock=clock) as one, \
            Desk.open(pg_url, operator="李强", clock=clock) as two:
        open_recall(one, 5)
        caught_up(one)  # its listener is up
        caught_up(two)
        assert _drop(pg_server, one) == 2
        cases.note(two, "RC-0001", "断线期间的备注")
        ops.declare_level(two, "R1", "IV", "断线期间升级")
        caught_up(one, two.store.position())
        assert one.model.operation("R1").level_name == "IV"
        assert any(e.text.endswith("断线期间的备注") for e in one.model.timeline)
        _drop(pg_server, one)
        cases.note(one, "RC-0002", "重连后的备注")  # nothing was sent on the dead one: done
        caught_up(two, one.store.position())
        assert any(e.text.endswith("重连后的备注") for e in two.model.timeline)


@pilot_test
async def test_the_desk_says_offline_refuses_actions_and_comes_back(
        private_pg: PrivateServer, tmp_path: Path) -> None:
    url = private_pg.url
    password = re.match(r"postgresql://[^:]+:([^@]+)@", url)
    assert password is not None
    clock = WallClock()
    with Desk.open(url, operator="王芳", clock=clock) as desk:
        open_recall(desk, 5)
    app = desk_app(url, "王芳", clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)

        def bar() -> str:
            return str(screen.query_one("#desk-bar").render())

        assert bar().startswith(" LIVE ") and password.group(1) not in bar()
        private_pg.halt()
        await until(pilot, lambda: bar().startswith(" OFFLINE "), "the desk says so", 1500)
        assert "reconnecting: cannot connect to the server" in bar()
        await until(pilot, lambda: any(n.title == "The database server cannot be reached"
                                       for n in app._notifications), "the warning")
        await pilot.press("a")  # refused at once: nothing is tried, nothing written
        await until(pilot, lambda: any(n.startswith("Nothing was done: the database server "
                                                    "cannot be reached") for n in notes(app)),
                    "the refusal")
        private_pg.start()
        await until(pilot, lambda: bar().startswith(" LIVE "), "back on the server", 3000)
        with Desk.open(url, operator="李强", clock=clock) as other:
            cases.note(other, "RC-0001", "服务器恢复后的备注")
        await until(pilot, lambda: any("服务器恢复后的备注" in t for t in timeline(screen)),
                    "another desk's note shows")
        await pilot.press("a")
        await until(pilot, lambda: any("acknowledged" in n for n in notes(app)), "acted")
    with open_store(url, readonly=True) as store:
        acks = [e for e in store.since() if e.kind == "fired" and e.actor == "王芳"]
        assert len(acks) == 1  # the refused key press wrote nothing


# -- moving between back ends ---------------------------------------------------------------

def _coordinated(path: Path) -> str:
    clock = WallClock()
    with Desk.open(path, operator="王芳", clock=clock) as desk:
        ids = open_recall(desk, 40)
        ops.declare_level(desk, "R1", "III", "来电激增")
        ops.take_role(desk, "R1", "lead", "李强", "交接：VIP 回电 3 件")
        ops.add_task(desk, "R1", "联系仓库调拨", "张伟", due="2h")
        cases.bulk(desk, ids[:10], "escalate", reason="批量升级")
        cases.note(desk, ids[11], "客户要求周末上门 🚚")
        clock.advance(hours=3)
        desk.tick()
        return export(desk.model, "json")


def _desk_json(url: str) -> str:
    with Desk.open(url, operator="x", clock=WallClock(), readonly=True) as desk:
        return export(desk.model, "json")


def test_migrate_to_the_server_and_back_event_for_event(capsys: pytest.CaptureFixture[str],
                                                        pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite"
    shown = _coordinated(source)
    with open_store(source, readonly=True) as store:
        original = history(store)
    code, out, err = run_cli(capsys, "live", "migrate", "--from", f"sqlite:{source}", "--to",
                             pg_url, "--json")
    assert code == 0, err
    done = json.loads(out)
    assert (done["copied"], done["kept"], done["events"], done["streams"]) == \
        (original.events, 0, original.events, original.streams)
    assert done["digest"] == f"sha256:{original.digest}"
    assert ":" not in done["target"].split("@")[0].removeprefix("postgresql://")  # no password
    assert _desk_json(pg_url) == shown
    code, out, _ = run_cli(capsys, "live", "migrate", "--from", f"sqlite:{source}", "--to",
                           pg_url)
    assert code == 0 and f"nothing to copy ({original.events:,} were there already" in out
    back = tmp_path / "back.sqlite"
    code, out, err = run_cli(capsys, "live", "migrate", "--from", pg_url, "--to",
                             f"sqlite:{back}")
    assert code == 0 and f"sha256:{original.digest[:16]}: the same history" in out, err
    with open_store(back, readonly=True) as store:
        assert history(store) == original
    assert _desk_json(str(back)) == shown
    with Desk.open(pg_url, operator="李强", clock=WallClock()) as desk:
        cases.note(desk, "RC-0001", "只在服务器上")  # the server's history moves on
        position = desk.store.position()
    code, _, err = run_cli(capsys, "live", "migrate", "--from", f"sqlite:{source}", "--to",
                           pg_url)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "holds another history than" in err and "nothing was written" in err
    with open_store(pg_url, readonly=True) as store:
        assert store.position() == position
    code, _, err = run_cli(capsys, "live", "migrate", "--from", f"sqlite:{tmp_path}/none.db",
                           "--to", pg_url)
    assert code == 2 and "no such store file" in err


def test_commands_take_a_server_url_and_refuse_a_bad_one(capsys: pytest.CaptureFixture[str],
                                                         pg_url: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(capsys, "operation", "open", "R1", "批次召回", "--playbook",
                             "defective-batch-recall", "--db", pg_url, "--as", "王芳")
    assert code == 0, err
    code, _, err = run_cli(capsys, "incident", "open", "RC-1", "--kind", "recall", "--tier",
                           "VIP", "--customer", "赵女士", "--operation", "R1", "--db", pg_url)
    assert code == 0, err
    monkeypatch.setenv("MUSTER_DB", pg_url)
    code, out, err = run_cli(capsys, "incident", "list", "--json")
    assert code == 0, err
    assert [c["id"] for c in json.loads(out)] == ["RC-1"]
    copy = tmp_path / "backup.sqlite"  # a server store backs up into a checked SQLite file
    code, out, err = run_cli(capsys, "live", "backup", copy)
    assert code == 0 and out.startswith(f"backed up 4 events to {copy}"), err
    assert _desk_json(str(copy)) == _desk_json(pg_url)
    secret = "s3cret-pw"
    bad = f"postgresql://muster:{secret}@127.0.0.1:1/muster"
    for argv in (("incident", "list", "--db", bad), ("live", "export", "--db", bad),
                 ("live", "migrate", "--from", bad, "--to", pg_url)):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert err.startswith("postgresql://muster@127.0.0.1:1/muster: error: cannot connect")
        assert len(err.strip().splitlines()) == 1 and secret not in out + err

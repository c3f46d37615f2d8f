"""`muster incident ...`, `muster operation ...` and `muster live ...` as scripts use them.

Run through the real entry point with arguments: exit status, output (`--json` parsed),
files written, never a traceback. Every refusal (a closed, unknown or stale case, a foreign,
damaged or newer database, a missing playbook, a CSV with a bad row) exits 2 with a message
naming the file (and row), and leaves the database byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli

run = run_cli


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def side(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name + "-"))


def write_cases(path: Path, n: int, extra: str = "") -> Path:
    """`n` recall cases opened a minute apart up to now (the commands run on the real
    clock: these cases' deadlines lie ahead), every tenth VIP."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    lines = ["id,opened,tier,kind,customer,batch"]
    for i in range(n):
        tier = "VIP" if i % 10 == 0 else "tier2"
        opened = (now - timedelta(minutes=n - i)).isoformat()
        lines.append(f"RC-{i:04d},{opened},{tier},recall,客户{i},B2026-0117")
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


@pytest.fixture
def db(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    path = tmp_path / "live.sqlite"
    code, _, err = run(capsys, "operation", "open", "R1", "批次 B2026-0117 召回", "--playbook",
                       "defective-batch-recall", "--db", path, "--as", "王芳")
    assert code == 0, err
    code, out, err = run(capsys, "live", "import", write_cases(tmp_path / "cases.csv", 30),
                         "--operation", "R1", "--db", path, "--as", "王芳")
    assert code == 0 and out.strip() == f"{tmp_path / 'cases.csv'}: imported 30 case(s)", err
    return path


def test_a_script_coordinates_cases_with_json(capsys: pytest.CaptureFixture[str],
                                              db: Path) -> None:
    def call(*argv: object) -> dict:
        code, out, err = run(capsys, *argv, "--db", db, "--as", "李强", "--json")
        assert code == 0, err
        return json.loads(out)

    assert call("incident", "ack", "RC-0001")["message"] == \
        "RC-0001: acknowledged: 受理 (接待 → 登记)"
    assert call("incident", "assign", "RC-0002", "张伟")["written"] == 1
    assert call("incident", "escalate", "RC-0002", "--reason", "客户投诉")["version"] >= 3
    assert call("incident", "note", "RC-0002", "客户要求周末上门")["written"] == 1  # no catch-up
    assert call("incident", "send", "RC-0000")["message"].startswith("RC-0000: sent VIP专线回电")
    assert call("incident", "resolve", "RC-0003", "--resolution", "已更换")["written"] >= 1
    listed = call("incident", "list", "--queue", "all")
    assert len(listed) == 29 and listed[0]["id"] != "RC-0003"
    shown = call("incident", "show", "RC-0002")
    assert shown["owner"] == "张伟" and shown["level"] == "主管"
    assert [e["by"] for e in shown["timeline"]][-3:] == ["李强", "李强", "李强"]
    assert call("operation", "level", "R1", "III", "--reason", "来电激增")["written"] == 1
    assert call("operation", "role", "R1", "lead", "李强", "--summary", "接手")["written"] == 1
    task = call("operation", "task", "R1", "联系仓库", "--owner", "张伟", "--due", "2h")
    assert task["subject"].startswith("T")
    assert call("operation", "done", "R1", task["subject"])["written"] == 1
    assert call("operation", "update", "R1", "management", "--text", "积压 29 件")["written"] == 1
    bulk = call("incident", "bulk", "escalate", "--filter", "batch=B2026-0117", "--operation",
                "R1", "--reason", "批量升级")
    assert len(bulk["done"]) == 29 and bulk["written"] == 29  # every open case, one level up
    again = call("incident", "ack", "RC-0005", "--key", "bot-42")
    assert call("incident", "ack", "RC-0005", "--key", "bot-42")["repeated"] is True
    assert again["written"] == 1
    ops = call("operation", "show", "R1")
    assert ops["level"] == "III" and [r["person"] for r in ops["roles"]] == ["王芳", "李强"]


@pytest.mark.parametrize("argv, message", [
    (("incident", "ack", "RC-0009"), "case RC-0009 is closed"),
    (("incident", "note", "RC-0009", "x"), "case RC-0009 is closed"),
    (("incident", "ack", "RC-9999"), "no case 'RC-9999' on this desk"),
    (("incident", "escalate", "RC-0001", "--expect-version", "2"), None),  # the right version
    (("incident", "assign", "RC-0001", "x", "--expect-version", "7"),
     "case RC-0001 changed meanwhile (it is at version 2, the action was decided on version "
     "7)"),
    (("operation", "level", "R9", "III", "--reason", "x"), "no operation 'R9'"),
    (("operation", "open", "R2", "x", "--playbook", "no-such-playbook"),
     "no-such-playbook:1:1: error: no such file or bundled playbook"),
    (("incident", "open", "X-1", "--kind", "nonsense"),
     "no bundled playbook serves cases of kind 'nonsense'"),
    (("incident", "open", "X-1", "--kind", "recall", "--tier", "gold"), "--tier: Input should"),
])
def test_refusals_exit_2_and_change_nothing(capsys: pytest.CaptureFixture[str], db: Path,
                                            argv: tuple[str, ...], message: str | None) -> None:
    run(capsys, "incident", "resolve", "RC-0009", "--db", db)
    run(capsys, "incident", "ack", "RC-0001", "--db", db)
    before = digest(db)
    code, out, err = run(capsys, *argv, "--db", db, "--as", "王芳")
    if message is None:
        assert code == 0, err
        return
    assert code == 2 and message in err and err.startswith(str(db) if "no-such" not in message
                                                           else "no-such"), err
    assert len(err.strip().splitlines()) == 1
    assert digest(db) == before


@pytest.mark.parametrize("damage", ["foreign", "corrupt", "newer", "text"])
def test_a_bad_database_is_refused_untouched(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             damage: str) -> None:
    path = tmp_path / "live.sqlite"
    if damage == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        conn.close()
        expected = "is a SQLite database but not a Muster event store"
    elif damage == "text":
        path.write_text("名称,电话\n王芳,138\n", encoding="utf-8")
        expected = "not a SQLite database"
    else:
        run(capsys, "operation", "open", "R1", "召回", "--playbook", "defective-batch-recall",
            "--db", path)
        if damage == "corrupt":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2 + 7])
            expected = "is damaged or truncated"
        else:
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA user_version = 99")
            conn.close()
            expected = "written by a newer Muster (schema 99)"
    before = digest(path)
    for argv in (("incident", "list"), ("incident", "ack", "RC-1"), ("live", "export"),
                 ("live", "import", write_cases(tmp_path / "c.csv", 2)),
                 ("operation", "open", "R2", "x", "--playbook", "defective-batch-recall")):
        code, _, err = run(capsys, *argv, "--db", path)
        assert code == 2 and err.startswith(f"{path}: error: ") and expected in err, (argv, err)
    assert digest(path) == before and side(path) == []


def test_a_missing_database_is_not_created_by_a_command_that_needs_one(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite"
    for argv in (("incident", "ack", "RC-1"), ("incident", "list"), ("live", "export")):
        code, _, err = run(capsys, *argv, "--db", path)
        assert code == 2 and f"{path}: error: no such store file" in err
    assert list(tmp_path.iterdir()) == []


def test_a_csv_with_bad_rows_names_file_and_row(capsys: pytest.CaptureFixture[str],
                                                db: Path, tmp_path: Path) -> None:
    bad = write_cases(tmp_path / "bad.csv", 98,
                      "RC-X,2026-13-45 08:00,VIP,recall,某,B1\n"
                      "RC-Y,2026-03-02 08:00,gold,recall,某,B1\n")
    before = digest(db)
    code, out, err = run(capsys, "live", "import", bad, "--db", db, "--operation", "R1")
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0] == (f"{bad}:100: error: column 'opened': '2026-13-45 08:00' is not a time "
                        "in ISO 8601 (2026-03-02 09:15)")  # :100: stays :100: (no emoji)
    assert lines[1].startswith(f"{bad}:101: error: column 'tier': Input should be")
    assert digest(db) == before
    mapped = tmp_path / "crm.csv"
    mapped.write_text("工单号,创建时间,客户,批次\n召回-1,2026-03-02T09:00:00+08:00,王芳,B9\n"
                      "召回-2,2026-03-02 09:05,李强,B9\n", encoding="utf-8")
    code, out, err = run(capsys, "live", "import", mapped, "--db", db, "--kind", "recall",
                         "--column", "id=工单号", "--column", "opened=创建时间", "--column",
                         "customer=客户", "--column", "batch=批次", "--json")
    assert code == 0 and json.loads(out) == {"imported": 2, "skipped": 0, "rows": 2}, err
    code, out, _ = run(capsys, "live", "import", mapped, "--db", db, "--kind", "recall",
                       "--column", "id=工单号", "--column", "opened=创建时间")
    assert code == 0 and "imported 0 case(s); 2 already on the desk, skipped" in out
    code, _, err = run(capsys, "live", "import", mapped, "--db", db, "--column", "id=工单号")
    assert code == 2 and f"{mapped}:1: error: no column 'opened'" in err and "'kind'" in err
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("id,opened,kind\n客-1,2026-03-02 09:00,recall\n".encode("gbk"))
    code, _, err = run(capsys, "live", "import", gbk, "--db", db)
    assert code == 2 and f"{gbk}:2: error: not utf-8-sig text" in err and "--encoding gbk" in err
    code, out, err = run(capsys, "live", "import", gbk, "--db", db, "--encoding", "gbk")
    assert code == 0, err


def test_export_backup_sample_and_review(capsys: pytest.CaptureFixture[str], db: Path,
                                         tmp_path: Path) -> None:
    for i in range(0, 30, 2):
        run(capsys, "incident", "resolve", f"RC-{i:04d}", "--db", db)
    code, out, _ = run(capsys, "live", "export", "--format", "json", "--db", db)
    data = json.loads(out)
    assert code == 0 and len(data["cases"]) == 30 and data["operations"][0]["id"] == "R1"
    assert data["retention_days"] == 1096
    code, out, _ = run(capsys, "live", "export", "--format", "csv", "--db", db)
    assert out.splitlines()[0].startswith("id,opened,tier,kind,customer,batch")
    assert len(out.splitlines()) == 31 and "客户3" in out
    # The group's --db reaches the subcommand (it was ignored: the default store was read).
    code, grouped, err = run(capsys, "live", "--db", db, "export", "--format", "csv")
    assert (code, grouped) == (0, out), err
    code, _, err = run(capsys, "live", "--db", tmp_path / "none.sqlite", "export")
    assert code == 2 and err.startswith(f"{tmp_path / 'none.sqlite'}: error: "), err
    code, out, _ = run(capsys, "live", "export", "--format", "csv", "--what", "timeline",
                       "--db", db)
    assert out.splitlines()[0] == "seq,at,by,subject,operation,kind,text"
    code, out, _ = run(capsys, "live", "export", "--format", "md", "--out",
                       tmp_path / "e.md", "--db", db)
    assert code == 0 and "## Operation R1: 批次 B2026-0117 召回" in \
        (tmp_path / "e.md").read_text(encoding="utf-8")
    before = digest(db)
    code, out, err = run(capsys, "live", "backup", tmp_path / "copy.sqlite", "--db", db)
    assert code == 0 and "backed up" in out, err
    assert digest(db) == before
    code, out, _ = run(capsys, "incident", "list", "--db", tmp_path / "copy.sqlite", "--json")
    assert len(json.loads(out)) == 15
    code, _, err = run(capsys, "live", "backup", tmp_path / "copy.sqlite", "--db", db)
    assert code == 2 and "already exists" in err
    month = json.loads(run(capsys, "live", "export", "--db", db)[1])["cases"][0]["closed"][:7]
    first = run(capsys, "live", "sample", "--month", month, "--db", db, "--json")[1]
    again = run(capsys, "live", "sample", "--month", month, "--db", db, "--json")[1]
    assert json.loads(first) == json.loads(again)  # reproducible
    assert len(json.loads(first)["cases"]) == 1 and json.loads(first)["closed"] == 15
    other = json.loads(run(capsys, "live", "sample", "--month", month, "--seed", "7",
                           "--share", "0.5", "--db", db, "--json")[1])
    assert len(other["cases"]) == 8
    code, out, err = run(capsys, "live", "review", "R1", "--out", tmp_path / "review",
                         "--penalty", "VIP=800", "--db", db)
    assert code == 0, err
    text = (tmp_path / "review" / "review.md").read_text(encoding="utf-8")
    assert text.startswith("# Post-incident review: 批次 B2026-0117 召回")
    assert "| acknowledge | VIP |" in text and "![" in text
    assert (tmp_path / "review" / "timeline.png").stat().st_size > 0


def test_an_operation_becomes_a_drill_that_plays(capsys: pytest.CaptureFixture[str], db: Path,
                                                 tmp_path: Path) -> None:
    run(capsys, "operation", "level", "R1", "IV", "--reason", "召回公告发布", "--db", db)
    run(capsys, "operation", "level", "R1", "III", "--reason", "积压超过 200 件", "--db", db)
    run(capsys, "operation", "update", "R1", "management", "--text", "积压 30 件", "--db", db)
    drill = tmp_path / "drill.yaml"
    code, out, err = run(capsys, "live", "to-drill", "R1", "--out", drill, "--db", db)
    assert code == 0 and "30 cases, 3 key events" in out, err
    assert (tmp_path / "drill.arrivals.csv").read_text(encoding="utf-8").count("\n") == 31
    code, script, err = run(capsys, "drill", "example-script", drill)
    assert code == 0, err
    actions = tmp_path / "actions.yaml"
    actions.write_text(script, encoding="utf-8")
    code, out, err = run(capsys, "drill", drill, "--script", actions, "--record",
                         tmp_path / "drills.sqlite")
    assert code == 0 and "emergency level raised to III" in out and "sent" in out, err
    code, _, err = run(capsys, "live", "to-drill", "R9", "--out", drill, "--db", db)
    assert code == 2 and "no operation 'R9'" in err

"""Reading logs as they come (calibration/logs.py, columns.py, contacts.py).

Expected values come from the generated calls themselves (tests/calls_helpers.py) or from
the few rows a test writes: the same calls read from the bank's tab-separated export and from
an ISO CSV must give the same contacts; a call that queued at 23:59:50 and was answered at
0:00:10 waited 20 seconds.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from simulation.calibration.columns import EPOCH, LogOptions
from simulation.calibration.contacts import read_contacts
from simulation.errors import SimulationError
from tests.calls_helpers import centre, generate, write_bank_tsv, write_iso_csv
from tests.cli_helpers import run_cli

HEAD = ("vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\t"
        "q_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver")


def row(n: int, day: str, entry: str, q: tuple[str, str], ser: tuple[str, str],
        outcome: str = "AGENT", server: str = "DORIT") -> str:
    return "\t".join(["AA0101", str(n), "0", "0", "PS", day, entry, entry, "0", q[0], q[1],
                      "0", outcome, ser[0], ser[1], "0", server])


def served_at_once(n: int, start: str, end: str, day: str = "990201") -> str:
    return row(n, day, start, ("0:00:00", "0:00:00"), (start, end))


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list]:
    c = centre(weeks=1, agents=3)
    made = generate(c, np.random.default_rng(11))
    folder = tmp_path_factory.mktemp("logs")
    tsv, csv = folder / "bank.tsv", folder / "calls.csv"
    write_bank_tsv(c, made, tsv, phantoms=7, vru_hangups=9)
    write_iso_csv(c, made, csv)
    return tsv, csv, made


def test_the_bank_export_and_an_iso_csv_give_the_same_calls(calls) -> None:
    tsv, csv, made = calls
    assert tsv.read_bytes().count(b"\r\n") == len(made) + 16 + 1  # CRLF, as the bank's
    a, b = read_contacts(str(tsv)), read_contacts(str(csv))
    assert a.kind == b.kind == "calls" and len(a) == len(b) == len(made)
    truth = np.array(sorted(c.arrival for c in made)) + (EPOCH.date().toordinal() * 0)
    start = (datetime(2024, 1, 1) - EPOCH).total_seconds()
    assert np.allclose(a.arrival - start, np.round(truth), atol=1.0)
    assert np.allclose(a.arrival, b.arrival, atol=1.0)
    assert np.allclose(a.wait, b.wait, atol=2.0)
    assert (a.served == b.served).all() and (a.abandoned == b.abandoned).all()
    assert a.abandoned.sum() == sum(not c.served for c in made)
    assert "tab-separated (sniffed)" in a.notes[0] and "comma-separated" in b.notes[0]
    assert any("7 rows with outcome 'PHANTOM'" in n for n in a.notes)
    assert any("9 rows never reached the queue" in n for n in a.notes)
    assert any("'NO_SERVER'" in n and "nobody" in n for n in a.notes)
    assert a.read_as["date"] == "date (%y%m%d)" and a.read_as["queue_start"] == \
        "q_start (H:MM:SS)"
    assert len(a.agents) == 3 and (a.agent[a.served] >= 0).all()


def test_times_of_day_roll_over_midnight(tmp_path: Path) -> None:
    lines = [HEAD] + [served_at_once(i, f"9:{i:02d}:00", f"9:{i:02d}:30") for i in range(6)]
    lines += [row(90, "990201", "23:59:40", ("23:59:50", "0:00:10"), ("0:00:10", "0:02:10")),
              row(91, "990201", "23:59:59", ("0:00:03", "0:00:13"), ("0:00:13", "0:01:13")),
              row(92, "990201", "23:58:00", ("23:58:10", "0:00:40"), ("0:00:00", "0:00:00"),
                  "HANG", "NO_SERVER")]
    path = tmp_path / "night.tsv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    c = read_contacts(str(path))
    night = c.take(c.line >= 8)
    feb1 = (datetime(1999, 2, 1) - EPOCH).total_seconds()
    assert list(night.arrival - feb1) == [23 * 3600 + 58 * 60 + 10, 23 * 3600 + 59 * 60 + 50,
                                          86400 + 3]
    assert list(night.wait) == [150.0, 20.0, 10.0]
    assert list(night.served) == [False, True, True]
    assert night.service[1:].tolist() == [120.0, 60.0]


def test_dates_and_times_apart_with_formats(tmp_path: Path) -> None:
    path = tmp_path / "apart.csv"
    path.write_text("day;when;answered;done;agent\n"
                    + "".join(f"0{d}/02/1999;10:0{i};10:0{i + 1};10:0{i + 3};A{i}\n"
                              for d in (1, 2) for i in range(5)), encoding="utf-8")
    opts = LogOptions(columns={"date": "day", "arrival": "when", "service_start": "answered",
                               "service_end": "done"}, date_format="%d/%m/%Y")
    c = read_contacts(str(path), opts)
    assert c.kind == "calls" and len(c) == 10
    assert c.span.first == date(1999, 2, 1) and c.span.last == date(1999, 2, 2)
    assert set(c.wait.tolist()) == {60.0} and set(c.service.tolist()) == {120.0}
    assert c.read_as["date"] == "day (%d/%m/%Y)"


XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <global scope="event"><string key="concept:name" value="__INVALID__"/></global>
  {traces}
</log>
"""


def test_an_xes_log_gives_tickets_first_event_to_last(tmp_path: Path) -> None:
    traces = []
    for k in range(12):
        events = "".join(
            f'<event><string key="concept:name" value="{name}"/>'
            f'<date key="time:timestamp" value="2024-03-0{1 + k % 5}T{9 + h:02d}:00:00.000+01:00"/>'
            f'<string key="org:resource" value="R{k % 3}"/></event>\n'
            for name, h in (("open", 0), ("assign", 1), ("resolve", 2 + k % 3)))
        traces.append(f'<trace><string key="concept:name" value="T{k}"/>\n{events}</trace>')
    path = tmp_path / "tickets.xes"
    path.write_text(XES.format(traces="\n".join(traces)), encoding="utf-8")
    c = read_contacts(str(path))
    assert c.kind == "tickets" and len(c) == 12
    assert sorted(c.service.tolist()) == sorted((2 + k % 3) * 3600.0 for k in range(12))
    first = (datetime(2024, 3, 1, 8) - EPOCH).total_seconds()  # 09:00+01:00 is 08:00 UTC
    assert c.arrival.min() == first
    assert c.read_as["id"] == "case" and "XES" in c.notes[0]


def test_a_missing_column_names_the_columns_of_a_tsv_one_by_one(calls) -> None:
    tsv = calls[0]
    with pytest.raises(SimulationError) as info:
        read_contacts(str(tsv), LogOptions(columns={"service_start": "ser_strat"}))
    (d,) = info.value.diagnostics
    assert (d.file, d.line, d.col) == (str(tsv), 1, 1)
    assert "no column 'ser_strat' (for service_start) (did you mean 'ser_start'?)" in d.message
    assert "the header has 17 columns: 'vru+line', 'call_id'," in d.message
    assert "\t" not in d.message  # never the whole header as one "column name"


def test_a_wrong_delimiter_says_the_header_is_one_column(calls) -> None:
    with pytest.raises(SimulationError) as info:
        read_contacts(str(calls[0]), LogOptions(delimiter="comma"))
    message = str(info.value)
    assert "reads as one column" in message and "tabs inside it" in message
    assert "--delimiter" in message and "\t" not in message


def test_an_unreadable_value_is_located_at_its_line_column_and_row(calls,
                                                                   tmp_path: Path) -> None:
    original = calls[0].read_bytes().decode().split("\r\n")
    lines = original[:]
    bad = [5, 6, 7, 40, 41, 42, 43] + list(range(100, 130))  # data rows, over 1%
    for i in bad:
        cells = lines[i].split("\t")
        cells[13] = "9:6x:00"
        lines[i] = "\t".join(cells)
    path = tmp_path / "bad.tsv"
    path.write_bytes("\r\n".join(lines).encode())
    with pytest.raises(SimulationError) as info:
        read_contacts(str(path))
    first = info.value.diagnostics[0]
    col = len("\t".join(lines[5].split("\t")[:13])) + 2
    assert (first.line, first.col) == (6, col)
    assert first.message.startswith("column 'ser_start', row 5: cannot read '9:6x:00' as a "
                                    "time of day")
    assert "37 of" in info.value.diagnostics[-1].message and "unreadable" in \
        info.value.diagnostics[-1].message
    few = lines[:]
    for i in bad[1:]:
        few[i] = original[i]
    path.write_bytes("\r\n".join(few).encode())
    c = read_contacts(str(path))  # one bad row of many: skipped with a located warning
    (w,) = c.warnings
    assert w.severity == "warning" and w.line == 6 and "skipped" in w.message


def test_drop_leaves_rows_out_and_names_an_unknown_value(calls) -> None:
    tsv = calls[0]
    c = read_contacts(str(tsv), LogOptions(drop=(("outcome", "HANG"),)))
    assert c.abandoned.sum() == 0 and any("with outcome = HANG left out" in n for n in c.notes)
    c = read_contacts(str(tsv), LogOptions(drop=(("outcome", "PHANTM"),)))
    (w,) = c.warnings
    assert "no row has 'PHANTM'" in w.message and "did you mean 'PHANTOM'" in w.message
    with pytest.raises(SimulationError, match="no column 'outcom'"):
        read_contacts(str(tsv), LogOptions(drop=(("outcom", "PHANTOM"),)))


def test_the_command_exits_2_with_the_located_line_and_writes_nothing(
        capsys, calls, tmp_path: Path) -> None:
    out = tmp_path / "c.yaml"
    code, _, err = run_cli(capsys, "calibrate", calls[0], "--column", "agent=servr",
                           "--out", out)
    assert code == 2 and f"{calls[0]}:1:1: error: no column 'servr'" in err
    assert not out.exists()
    code, _, err = run_cli(capsys, "calibrate", calls[0], "--train", "2024-01-01", "--out", out)
    assert code == 2 and "--train '2024-01-01': write --train FROM..TO" in err
    code, _, err = run_cli(capsys, "calibrate", calls[0], "--tz", "Mars/Olympus", "--out", out)
    assert code == 2 and "unknown time zone 'Mars/Olympus'" in err
    assert not out.exists()

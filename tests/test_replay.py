"""Tests for simulation.scenario.history: formats, containers, dedupe by id, windowing, located errors.

Every file is written by the test itself (tmp_path); expected line numbers are counted from
the rows written, never typed in by hand. The shipped excerpt is the only bundled input.
"""

from __future__ import annotations

import csv
import gzip
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from simulation.errors import SimulationError
from simulation.scenario.history import (
    EXCERPT,
    arrival_minutes,
    busiest_week,
    read_events,
    read_timestamps,
)

UTC = timezone.utc
HEADER = ["number", "incident_state", "opened_at", "resolved_at"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def event_rows() -> list[list[str]]:
    """Three incidents on six rows, written out of time order."""
    return [
        ["INC2", "New", "3/3/2016 10:05", "?"],
        ["INC1", "New", "29/2/2016 01:16", "?"],
        ["INC1", "Active", "29/2/2016 01:16", "?"],
        ["INC1", "Resolved", "29/2/2016 01:16", "29/2/2016 11:29"],
        ["INC3", "New", "1/3/2016 23:59", "2/3/2016 00:10"],
        ["INC2", "Closed", "3/3/2016 10:05", "4/3/2016 08:00"],
    ]


# --- formats and containers ------------------------------------------------------------------


def test_default_format_dedupes_by_id_and_sorts(tmp_path: Path) -> None:
    got = read_timestamps(write_csv(tmp_path / "log.csv", event_rows()))
    assert got == [datetime(2016, 2, 29, 1, 16, tzinfo=UTC),
                   datetime(2016, 3, 1, 23, 59, tzinfo=UTC),
                   datetime(2016, 3, 3, 10, 5, tzinfo=UTC)]


def test_without_id_column_every_row_is_an_arrival(tmp_path: Path) -> None:
    got = read_timestamps(write_csv(tmp_path / "log.csv", event_rows()), id_column=None)
    assert len(got) == 6
    assert got == sorted(got)
    assert got.count(datetime(2016, 2, 29, 1, 16, tzinfo=UTC)) == 3


def test_resolution_is_the_last_non_missing_value(tmp_path: Path) -> None:
    ev = read_events(write_csv(tmp_path / "log.csv", event_rows()), resolved="resolved_at")
    assert ev.rows == 6
    assert ev.resolved == [datetime(2016, 2, 29, 11, 29, tzinfo=UTC),
                           datetime(2016, 3, 2, 0, 10, tzinfo=UTC),
                           datetime(2016, 3, 4, 8, 0, tzinfo=UTC)]


def test_iso_with_offsets_and_configurable_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "iso.csv", [
        ["a", "2024-05-01T10:00:00+02:00"],
        ["b", "2024-05-01T07:30:00Z"],
        ["c", "2024-05-01 09:00"],
    ], header=["ticket", "created"])
    got = read_timestamps(path, column="created", fmt="iso", id_column="ticket")
    assert got == [datetime(2024, 5, 1, 7, 30, tzinfo=UTC),
                   datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
                   datetime(2024, 5, 1, 9, 0, tzinfo=UTC)]


def test_epoch_seconds(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "epoch.csv", [["x", "86400"], ["y", "0.5"]],
                     header=["id", "t"])
    got = read_timestamps(path, column="t", fmt="epoch", id_column=None)
    assert got == [datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
                   datetime(1970, 1, 2, tzinfo=UTC)]


def test_naive_times_are_local_to_tz(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", [["a", "x", "1/7/2024 10:00", "?"]])
    (got,) = read_timestamps(path, tz="Europe/Madrid")
    assert got.tzinfo == ZoneInfo("Europe/Madrid")
    assert got.astimezone(UTC) == datetime(2024, 7, 1, 8, 0, tzinfo=UTC)  # CEST = UTC+2


@pytest.mark.parametrize("container", ["zip", "gz"])
def test_zip_and_gz_read_like_plain(tmp_path: Path, container: str) -> None:
    plain = write_csv(tmp_path / "log.csv", event_rows())
    if container == "zip":
        packed = tmp_path / "log.zip"
        with zipfile.ZipFile(packed, "w") as archive:
            archive.write(plain, "inner/events.csv")
    else:
        packed = tmp_path / "log.csv.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_timestamps(packed) == read_timestamps(plain)


def test_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text("\ufeffnumber,opened_at\nA,1/1/2020 00:00\n", encoding="utf-8")
    assert read_timestamps(path) == [datetime(2020, 1, 1, tzinfo=UTC)]


# --- errors ------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match=r"nope\.csv: no such file"):
        read_timestamps(tmp_path / "nope.csv")


def test_missing_column_lists_columns_and_suggests(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", event_rows())
    with pytest.raises(SimulationError) as info:
        read_timestamps(path, column="opened")
    (d,) = info.value.diagnostics
    assert (d.file, d.line) == (str(path), 1)
    assert "did you mean 'opened_at'?" in d.message
    assert "number, incident_state, opened_at, resolved_at" in d.message


def test_missing_id_column_is_located(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", event_rows())
    with pytest.raises(SimulationError, match=r"log\.csv:1:1: error: no id column 'nmber'"):
        read_timestamps(path, id_column="nmber")


def test_unreadable_timestamp_names_file_line_column_value(tmp_path: Path) -> None:
    rows = event_rows()
    rows[4][2] = "31/2/2016 08:00"  # no 31 February; data row 5 is file line 6
    path = write_csv(tmp_path / "log.csv", rows)
    with pytest.raises(SimulationError) as info:
        read_timestamps(path)
    first = info.value.diagnostics[0]
    assert (first.file, first.line, first.severity) == (str(path), 6, "error")
    assert "opened_at" in first.message and "'31/2/2016 08:00'" in first.message
    assert str(first).startswith(f"{path}:6:1: error: opened_at: cannot read")


def test_many_bad_rows_list_the_first_few_and_count_the_rest(tmp_path: Path) -> None:
    rows = [[f"INC{i}", "New", "junk" if i % 2 else "1/3/2016 10:00", "?"] for i in range(40)]
    path = write_csv(tmp_path / "log.csv", rows)
    with pytest.raises(SimulationError) as info:
        read_timestamps(path)
    diags = info.value.diagnostics
    assert [d.line for d in diags[:5]] == [3, 5, 7, 9, 11]  # odd i -> line i + 2
    assert "... and 15 more" in diags[-1].message and "20 of 40 incidents" in diags[-1].message


def test_at_most_one_percent_bad_is_skipped_with_a_located_warning(tmp_path: Path) -> None:
    rows = [[f"INC{i}", "New", "1/3/2016 10:00", "?"] for i in range(200)]
    rows[99][2] = "?"  # missing: counted as unreadable, 1 of 200 = 0.5%
    rows[150][2] = "25:99"  # 2 of 200 = 1%: still skipped
    ev = read_events(write_csv(tmp_path / "log.csv", rows))
    assert len(ev.opened) == 198
    assert [(w.line, w.severity) for w in ev.warnings] == [(101, "warning"), (152, "warning")]
    assert "missing value" in ev.warnings[0].message and "'25:99'" in ev.warnings[1].message
    rows[10][2] = "x"  # 3 of 200 = 1.5%: an error
    with pytest.raises(SimulationError):
        read_events(write_csv(tmp_path / "log.csv", rows))


def test_unreadable_share_counts_incidents_not_bad_values(tmp_path: Path) -> None:
    """An incident whose opening and resolution times are both unreadable, on many rows, is
    one unreadable incident: 2 of 200 (1%) are skipped, not refused as 4 bad values."""
    rows = [[f"INC{i}", "New", "1/3/2016 10:00", "1/3/2016 12:00"] for i in range(200)]
    rows += [["INC7", "Active", "soon", "later"]] * 5 + [["INC9", "Active", "x", "y"]] * 3
    rows[7][2:] = rows[9][2:] = ["soon", "later"]
    ev = read_events(write_csv(tmp_path / "log.csv", rows), resolved="resolved_at")
    assert len(ev.opened) == 198
    assert len(ev.warnings) == 4  # both bad values of both incidents, each located
    rows[11][2] = "?"  # a third incident: 1.5%, refused, and the count says 3 of 200
    with pytest.raises(SimulationError) as info:
        read_events(write_csv(tmp_path / "log.csv", rows), resolved="resolved_at")
    assert "3 of 200 incidents unreadable (1.5%" in info.value.diagnostics[-1].message


def test_empty_results_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="no arrivals"):
        read_timestamps(write_csv(tmp_path / "header_only.csv", []))
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(SimulationError, match="empty file"):
        read_timestamps(empty)


def test_bad_format_zone_and_archive(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", event_rows())
    with pytest.raises(SimulationError, match="neither a strptime pattern"):
        read_timestamps(path, fmt="dd/mm/yyyy")
    with pytest.raises(SimulationError, match="unknown time zone 'Mars/Olympus'"):
        read_timestamps(path, tz="Mars/Olympus")
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.write(path, "a.csv")
        archive.write(path, "b.csv")
    with pytest.raises(SimulationError, match="exactly one CSV file; found a.csv, b.csv"):
        read_timestamps(two)
    fake = tmp_path / "fake.zip"
    fake.write_text("not a zip", encoding="utf-8")
    with pytest.raises(SimulationError, match="not a readable .zip"):
        read_timestamps(fake)


def test_not_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("number,opened_at\nA,1/1/2020 00:00\nB,caf\xe9\n".encode("latin-1"))
    with pytest.raises(SimulationError, match="not UTF-8"):
        read_timestamps(path)


# --- windowing -----------------------------------------------------------------------------


def test_arrival_minutes_window_is_half_open() -> None:
    start = datetime(2016, 3, 1, tzinfo=UTC)
    stamps = [start - timedelta(minutes=1), start, start + timedelta(hours=1, minutes=30),
              start + timedelta(days=1) - timedelta(seconds=30), start + timedelta(days=1)]
    assert arrival_minutes(stamps, start, 1) == [0.0, 90.0, 1439.5]
    assert arrival_minutes(stamps, start, None) == [0.0, 90.0, 1439.5, 1440.0]
    assert arrival_minutes(stamps, start, 0.5) == [0.0, 90.0]


def test_arrival_minutes_naive_start_takes_the_timestamps_zone() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    stamps = [datetime(2024, 1, 1, 9, 0, tzinfo=zone)]
    assert arrival_minutes(stamps, datetime(2024, 1, 1, 8, 0), 1) == [60.0]
    with pytest.raises(SimulationError, match="days must be"):
        arrival_minutes(stamps, datetime(2024, 1, 1), 0)
    with pytest.raises(SimulationError, match="has a time zone"):
        arrival_minutes([datetime(2024, 1, 1)], datetime(2024, 1, 1, tzinfo=UTC), 1)


def test_busiest_week_counts_seven_calendar_days() -> None:
    day0 = datetime(2024, 1, 1, 12, tzinfo=UTC)
    counts = [1, 1, 1, 1, 1, 1, 1, 5, 0, 0, 0, 0, 0, 0, 3]  # 14 days later: 3 more
    stamps = [day0 + timedelta(days=d) for d, c in enumerate(counts) for _ in range(c)]
    assert busiest_week(stamps) == (date(2024, 1, 2), 11)  # days 1..7: six 1s and the 5
    with pytest.raises(SimulationError):
        busiest_week([])


# --- a big log and the shipped excerpt -------------------------------------------------------


def test_a_141k_row_event_log_gives_one_arrival_per_incident(tmp_path: Path) -> None:
    """A log the size of the ServiceNow export: six rows per incident, one arrival each,
    in order, none lost or repeated."""
    path = tmp_path / "big.csv"
    base = datetime(2016, 3, 1)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["number", "incident_state", "active", "opened_at", "sys_updated_at",
                         "priority", "category", "contact_type", "resolved_at", "closed_at"])
        for i in range(141_712):
            inc = i // 6
            t = (base + timedelta(minutes=7 * inc)).strftime("%d/%m/%Y %H:%M")
            writer.writerow([f"INC{inc:07d}", "Active", "true", t, t, "3 - Moderate",
                             "Category 55", "Phone", t, t])
    ev = read_events(path, resolved="resolved_at")
    incidents = 141_712 // 6 + 1
    assert (ev.rows, len(ev.opened), ev.warnings) == (141_712, incidents, [])
    assert ev.opened == [(base + timedelta(minutes=7 * k)).replace(tzinfo=UTC)
                         for k in range(incidents)]
    assert ev.resolved == ev.opened


def test_shipped_excerpt_replays_sorted_arrivals() -> None:
    assert EXCERPT.stat().st_size < 400_000
    stamps = read_timestamps(EXCERPT)
    assert len(stamps) == 3931
    assert all(a <= b for a, b in zip(stamps, stamps[1:]))
    assert stamps[0].date() >= date(2016, 2, 29) and stamps[-1].date() <= date(2016, 3, 13)
    week = arrival_minutes(stamps, datetime(2016, 3, 2), 7)
    assert len(week) == busiest_week(stamps)[1] == 2377
    assert 0 <= week[0] and week[-1] < 7 * 1440

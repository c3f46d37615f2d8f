"""The event log keeps every event, in order, whether it sits in the write buffer or has been
moved into the typed columns; readers always see everything written so far."""

from __future__ import annotations

import gzip
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.model.eventlog import KINDS, EventLog

events = st.tuples(
    st.floats(0, 1e7, allow_nan=False), st.integers(0, len(KINDS) - 1),
    st.integers(-1, 2**31 - 1), st.integers(-2**31, 2**31 - 1), st.integers(-2**31, 2**31 - 1),
    st.floats(-1e9, 1e9, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(events, max_size=80), flush_after=st.sets(st.integers(0, 80)))
def test_columns_hold_every_event_in_order_across_flushes(rows, flush_after) -> None:
    log = EventLog()
    for i, row in enumerate(rows):
        if i % 2:
            log.add(*row)
        else:
            log.push(row)  # the hot-path write
        if i in flush_after:
            log.flush()
        assert len(log) == i + 1
    cols = log.columns()
    expected = np.array(rows, dtype=np.float64).reshape(-1, 6)
    assert np.array_equal(cols["t"], expected[:, 0])
    for j, name in enumerate(("kind", "case", "a", "b"), start=1):
        assert cols[name].dtype == np.int32
        assert np.array_equal(cols[name], expected[:, j].astype(np.int64))
    assert np.array_equal(cols["x"], expected[:, 5])
    assert len(log) == len(rows) and not log.buffer


def test_rows_and_csv_read_buffered_events(tmp_path) -> None:
    log = EventLog()
    state, trig = log.names("已受理"), log.names("received")
    log.add(1.5, EventLog.code("state"), 7, state, trig)
    log.flush()
    log.push((2.5, EventLog.code("closed"), 7, state, 0, 1.0))  # still in the buffer
    assert [r[1] for r in log.rows()] == ["state", "closed"]
    log.push((3.0, EventLog.code("signal"), -1, 4, 2, 0.0))
    path = tmp_path / "events.csv.gz"
    log.write_csv(path)
    lines = gzip.open(path, "rt", encoding="utf-8").read().splitlines()
    assert lines[1] == "1.500,state,7,已受理,received,0.000"
    assert lines[2].startswith("2.500,closed,7,已受理,0,")
    assert lines[3] == "3.000,signal,-1,4,2,0.000"


def test_a_long_run_of_writes_survives_many_flushes() -> None:
    rng = random.Random(3)
    log = EventLog()
    rows = [(rng.random() * 1e5, rng.randrange(len(KINDS)), i, rng.randrange(100), -1,
             rng.random()) for i in range(50_000)]
    for i, row in enumerate(rows):
        log.push(row)
        if i % 7919 == 0:
            log.flush()
    assert np.array_equal(log.columns()["case"], np.arange(50_000))
    assert np.array_equal(log.columns()["t"], np.array([r[0] for r in rows]))

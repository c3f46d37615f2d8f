"""Random numbers split by purpose, so that runs compared on one seed share them.

A planner compares configurations (more technicians, a bigger shelf, the autopilot against no
response) on the same seed and reads the difference. That difference is only sharp if both
runs face the same customers doing the same things: the same arrivals, and for the k-th
arrival the same kind, tier and product, the same work times, the same outcomes. With one
shared generator consumed in event order, the first case served in a different order shifts
every later draw and the two runs drift apart (Law, "Simulation Modeling and Analysis",
common random numbers: synchronise by purpose).

So every case gets its own row of uniforms, drawn in bulk with numpy in arrival order (or in
complaint order for complaints, which only some runs open), and consumes it through inverse
transforms: `Distribution.quantile(u)`. Rows are read in place in blocks of `CHUNK` rows
(`Rows`): a case keeps its block and a cursor, no list of its own. Path draws (kind, tier,
product, durations, outcomes, parts, outside events) take the row from its end; patience
draws read its first `PATIENCE` slots, which path draws never reach, so a case that waits in
one run and not in the other still draws its work times from the same slots. A case that outgrows its row (long rework
loops) continues on a shared spill generator. Stock lead times and message writing times
have generators of their own.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect
from typing import Any, Sequence, TypeVar

import numpy as np

__all__ = ["ROW", "ATTRIBUTES", "PATIENCE", "Rows", "Streams", "python_random", "pick",
           "row_width"]

T = TypeVar("T")

ROW = 64
"""Most uniforms per case: rows are sized to the scenario's playbooks (`row_width`)."""
ATTRIBUTES = 3
"""The first path draws of a case: its kind, tier and product."""
PATIENCE = 2
"""Slots at the start of a row kept for patience draws (one per wait for staff)."""

CHUNK = 256
"""Rows drawn at once (one numpy call per block)."""


def pick(items: Sequence[T], cumulative: list[float], u: float) -> T:
    """One of `items`, weighted by their `cumulative` weights, for a uniform `u` (the inverse
    transform of the discrete distribution: monotone in `u`)."""
    return items[min(bisect(cumulative, u * cumulative[-1]), len(items) - 1)]


def row_width(loaded: Any) -> int:
    """Uniforms a case of this scenario needs along a path that visits every state once:
    its attributes, per state with work a duration, an outcome (if there is a choice) and
    each part it may need, per outside event the scenario fires a delay, and a few patience
    slots. Rework loops run past it onto the spill generator. A pure function of the
    scenario, so every run compared on a seed uses the same rows."""
    widest = 0
    for kind, entry in loaded.mix.items():
        need = ATTRIBUTES + PATIENCE
        for st in loaded.playbooks[kind].lifecycle.states.values():
            if st.work is not None:
                need += 1 + (len(st.outcomes) > 1)
                need += sum(1 for sku, use in st.work.parts.items()
                            if 0.0 < entry.parts.get(sku, use.p) < 1.0)
            need += sum(1 for trigger in st.on if trigger in entry.events)
        widest = max(widest, need)
    return max(ATTRIBUTES + PATIENCE + 1, min(widest, ROW))


def python_random(seq: np.random.SeedSequence) -> random.Random:
    """A `random.Random` seeded with 128 bits of a seed sequence."""
    return random.Random(int.from_bytes(seq.generate_state(4, np.uint32).tobytes(), "little"))


class Rows:
    """Rows of uniforms in [0, 1), handed out in order, drawn a block at a time.

    A block is one flat array of `CHUNK` rows (one numpy call); a row is a slice of it that
    is never copied: `take` hands out the block and the index of the row's first uniform,
    and the model reads the row in place (World.u). Rows used to be built as a list each (a
    2-D `tolist`) and trimmed as they were consumed; the values, and so every draw, are the
    same: numpy fills a block in row order whatever its shape.

    Memory: a block lives while any of its cases is open, so a few long cases keep whole
    blocks; as typed arrays (8 bytes a uniform, not a 24-byte float and an 8-byte pointer)
    the blocks of every case opened over the last days take less than lists of the open
    cases' rows did."""

    __slots__ = ("_gen", "block", "next", "width")

    def __init__(self, seq: np.random.SeedSequence, width: int) -> None:
        self._gen = np.random.Generator(np.random.PCG64(seq))
        self.block: array[float] = array("d")
        """The current block: rows of `width` uniforms, one after another (8 bytes each: a
        block stays alive as long as one of its cases is open)."""
        self.next = 0
        """Index in `block` of the next row's first uniform."""
        self.width = width

    def take(self) -> tuple[array[float], int]:
        """The next row: (its block, the index of its first uniform). The row is
        `block[i:i + width]`; the caller keeps the block as long as it reads the row."""
        i = self.next
        if i == len(self.block):
            i = self.refill()
        self.next = i + self.width
        return self.block, i

    def refill(self) -> int:
        """Draw the next block (the current one is used up); the index of its first row."""
        self.block = array("d", self._gen.random(CHUNK * self.width).tobytes())
        return 0


class Streams:
    """The generators of one replication, each from its own child of the seed.

    `arrivals` draws arrival times (numpy); `cases` and `complaints` hand out case rows;
    `spill` continues cases that outgrow their row; `stock` draws supplier lead times;
    `messages` draws message-writing times; `complain` decides who complains.
    """

    __slots__ = ("arrivals", "cases", "complaints", "spill", "stock", "messages", "complain")

    def __init__(self, seed: int, width: int = ROW) -> None:
        (arrivals, cases, complaints, spill, stock, messages,
         complain) = np.random.SeedSequence(seed).spawn(7)
        self.arrivals = np.random.Generator(np.random.PCG64(arrivals))
        self.cases = Rows(cases, width)
        self.complaints = Rows(complaints, width)
        self.spill = python_random(spill)
        self.stock = python_random(stock)
        self.messages = python_random(messages)
        self.complain = python_random(complain)

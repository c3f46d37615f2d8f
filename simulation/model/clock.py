"""The model's events on SimPy's own event queue, at the least a SimPy event costs.

A case needs two events on the calendar (its arrival and the end of each job) and a run has
hundreds of thousands of cases. A `simpy.Timeout` with a callback costs an Event object built
through `Timeout.__init__` and `Environment.schedule`, a callback list and a `partial` per
event; and `Environment.step` is a method call per event behind `peek`. Here:

- `Call` is the least `Environment.step` needs of an event: `callbacks` (any iterable of
  callables, here often one shared tuple) and `_ok`. It goes into `env._queue` as SimPy
  schedules a Timeout: `(now + delay, NORMAL, next(env._eid), event)`, so it keeps its place
  among SimPy's own events (shift processes, a drill's inject timeouts) exactly as a Timeout
  scheduled at the same moment would. A subclass carries its own fields instead of a
  `partial` (`JobEnd`).
- `run_until(env, to)` is `Environment.step` written out in a loop, for every event due at or
  before `to` (the same pop, the same callbacks, the same crash on a failed event).

This leans on SimPy's internals (`_queue`, `_now`, `_eid`, `_ok`), stable through SimPy 4;
the digests of `tests/test_log_digests.py` would tell if a SimPy release moved them.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any, Callable, Iterable

import simpy
from simpy.events import NORMAL

__all__ = ["Call", "JobEnd", "call_at", "call_in", "run_until"]


class Call:
    """An event on SimPy's queue that only runs its callbacks (each called with it)."""

    __slots__ = ("callbacks",)
    _ok = True
    """Never failed: `Environment.step` checks it after the callbacks."""

    callbacks: Iterable[Callable[[Any], None]] | None
    """Set after construction (`Call()` then assignments: a Python `__init__` would cost
    more than the rest of making the event)."""


class JobEnd(Call):
    """The end of a job: the case, its job record, the case's version when it started, the
    member's pool and the minutes worked (read by `Work._done`)."""

    __slots__ = ("cid", "job", "version", "pool", "minutes")


def call_in(env: simpy.Environment, delay: float, fn: Callable[[Any], None]) -> None:
    """Call `fn(event)` after `delay` minutes, where `env.timeout(delay)` would fire."""
    event = Call()
    event.callbacks = (fn,)
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), event))  # noqa: SLF001


def call_at(env: simpy.Environment, at: float, event: Call) -> None:
    """Put a prepared event on the queue for minute `at` (computed by the caller as SimPy
    would: `now + delay`)."""
    heappush(env._queue, (at, NORMAL, next(env._eid), event))  # noqa: SLF001


def run_until(env: simpy.Environment, to: float) -> None:
    """Process every event due at or before `to`, in SimPy's order (Environment.step)."""
    queue = env._queue  # noqa: SLF001
    while queue and queue[0][0] <= to:
        env._now, _, _, event = heappop(queue)  # noqa: SLF001
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):  # noqa: SLF001
            exc = type(event._value)(*event._value.args)  # noqa: SLF001
            exc.__cause__ = event._value  # noqa: SLF001
            raise exc

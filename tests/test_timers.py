"""The timer wheel fires every live deadline exactly once, at its due time, in due order."""

from __future__ import annotations

import random

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.model.timers import TimerWheel


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["arm", "cancel", "wait"]), st.integers(0, 30),
                              st.floats(0, 500, allow_nan=False)), max_size=120))
def test_live_deadlines_fire_once_at_their_time(ops: list[tuple[str, int, float]]) -> None:
    """Against a reference: a re-arm replaces the key's deadline, a cancel drops it, and
    every deadline still armed fires once, at its due time, earliest first (ties: first armed)."""
    env = simpy.Environment()
    fired: list[tuple[float, int, str]] = []
    wheel = TimerWheel(env, lambda case, key: fired.append((env.now, case, key)))
    armed: dict[tuple[int, str], tuple[float, int]] = {}
    expected: list[tuple[float, int, int, str]] = []
    order = 0

    def settle(now: float) -> None:
        for k, (due, seq) in sorted(armed.items(), key=lambda kv: kv[1]):
            if due <= now:
                expected.append((due, seq, *k))
                del armed[k]

    def driver(env: simpy.Environment):  # type: ignore[no-untyped-def]
        nonlocal order
        for op, case, x in ops:
            key = f"k{case % 3}"
            if op == "arm":
                order += 1
                wheel.arm(case, key, env.now + x)
                armed[(case, key)] = (env.now + x, order)
            elif op == "cancel":
                wheel.cancel(case, key)
                armed.pop((case, key), None)
            else:
                yield env.timeout(x / 10)
                settle(env.now)

    env.process(driver(env))
    env.run()
    settle(float("inf"))
    expected.sort()
    assert [f[1:] for f in fired] == [e[2:] for e in expected]
    assert all(abs(f[0] - e[0]) < 1e-9 for f, e in zip(fired, expected))


def test_sweep_keeps_memory_bounded() -> None:
    env = simpy.Environment()
    wheel = TimerWheel(env, lambda case, key: None)
    rng = random.Random(1)
    for i in range(20_000):
        wheel.arm(i, "sla", rng.uniform(100, 1000))
        wheel.cancel(i, "sla")
    assert len(wheel.heap) <= 2 * 1024 + 2 and not wheel.live

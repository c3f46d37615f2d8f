"""Call logs generated from a known call centre, for the calibration and backtest tests.

An independent event-driven simulation (heapq, not Muster's model), so that calibration is
checked against a truth it did not write itself: Poisson arrivals at `rate[weekday][hour]`
per hour, named agents on duty per weekday and hour, each taking the longest-idle free agent
(as ACDs do, so every agent on duty is seen serving), first come first served, lognormal
service, and patience (exponential or Weibull): a caller still waiting when it runs out hangs
up. `available` < 1 lets only round(available x on duty) agents serve at any moment (never
more calls in service than that), the others on breaks that rotate every 10 minutes, so
everyone on duty is still seen serving in the hour: the availability factor should come back
as that share.

The log is written the way the bank's export is (tab-separated, CRLF, date YYMMDD, times of
day H:MM:SS rolling over midnight, 0:00:00 for "no value", outcome AGENT / HANG / PHANTOM,
agent NO_SERVER), or as a CSV with ISO timestamps.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

__all__ = ["Centre", "Call", "generate", "write_bank_tsv", "write_iso_csv", "OPEN_HOURS",
           "centre"]

OPEN_HOURS = range(7, 22)


@dataclass(frozen=True)
class Centre:
    """The known truth: rates and agents per weekday and hour, service and patience."""

    start: date
    weeks: int
    rate: np.ndarray
    """[weekday, hour] arrivals per hour."""
    staff: np.ndarray
    """[weekday, hour] agents on duty (integers)."""
    service_mu: float
    service_sigma: float
    """Lognormal service time in seconds: exp(mu + sigma Z)."""
    patience: tuple[str, float, float] = ("exponential", 300.0, 1.0)
    """("exponential", mean, _) or ("weibull", scale, shape), seconds."""
    available: float = 1.0
    trend: float = 0.0
    """Weekly growth of the rate (0.1 = +10% a week)."""


@dataclass
class Call:
    arrival: float
    """Seconds since the centre's first midnight."""
    wait: float = 0.0
    served: bool = False
    start: float | None = None
    end: float | None = None
    agent: int = -1
    queued: bool = False
    patience: float = math.inf
    done: bool = field(default=False, repr=False)


def centre(weeks: int = 3, level: float = 1.0, agents: int = 6, **kw: object) -> Centre:
    """A small weekday centre: busier mornings, a Friday that closes at 14:00, no weekend;
    `agents` on duty while open."""
    shape = np.array([0.6, 1.0, 1.3, 1.3, 1.2, 1.0, 1.1, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7, 0.6,
                      0.5])
    rate = np.zeros((7, 24))
    staff = np.zeros((7, 24), dtype=int)
    for d in range(5):
        for i, h in enumerate(OPEN_HOURS):
            if d == 4 and h >= 14:
                continue
            rate[d, h] = 20.0 * level * shape[i]
            staff[d, h] = agents
    return Centre(start=date(2024, 1, 1), weeks=weeks, rate=rate, staff=staff,
                  service_mu=math.log(300.0) - 0.5 * 0.8**2, service_sigma=0.8,
                  **kw)  # type: ignore[arg-type]


def _patience(c: Centre, rng: np.random.Generator) -> float:
    kind, a, b = c.patience
    if kind == "exponential":
        return float(rng.exponential(a))
    return float(a * rng.weibull(b))


def generate(c: Centre, rng: np.random.Generator) -> list[Call]:
    """Every call of the centre's weeks, in arrival order (see the module notes)."""
    calls: list[Call] = []
    for day in range(c.weeks * 7):
        growth = (1 + c.trend) ** (day / 7.0)
        for h in range(24):
            lam = c.rate[day % 7, h] * growth
            for _ in range(rng.poisson(lam)):
                calls.append(Call(arrival=day * 86400 + h * 3600 + float(rng.uniform(0, 3600))))
    calls.sort(key=lambda x: x.arrival)
    for call in calls:
        call.patience = _patience(c, rng)
    events: list[tuple[float, int, str, int]] = []
    seq = 0

    def push(t: float, kind: str, i: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, kind, i))

    for i, call in enumerate(calls):
        push(call.arrival, "arrive", i)
    slot = 600.0 if c.available < 1 else 3600.0
    for k in range(int(c.weeks * 7 * 86400 / slot) + 1):
        push(k * slot, "staff", k)
    active: set[int] = set()  # agents free for calls now (on duty, not on a break)
    busy: set[int] = set()
    idle: deque[int] = deque()
    queue: deque[int] = deque()

    limit = [0]  # calls that may be in service at once (the available agents)

    def serve(t: float) -> None:
        while queue and idle and len(busy) < limit[0]:
            i = queue.popleft()
            if calls[i].done:
                continue
            start(t, i, idle.popleft())

    def start(t: float, i: int, agent: int) -> None:
        call = calls[i]
        call.done, call.served, call.agent = True, True, agent
        call.start, call.wait = t, t - call.arrival
        call.end = t + float(np.exp(c.service_mu + c.service_sigma * rng.standard_normal()))
        busy.add(agent)
        push(call.end, "end", i)

    while events:
        t, _, kind, i = heapq.heappop(events)
        if kind == "staff":
            day, hour = divmod(int(t // 3600), 24)
            on = int(c.staff[day % 7, hour]) if day < c.weeks * 7 else 0
            k = limit[0] = int(round(on * c.available))
            first = (i * k) % on if on else 0  # breaks rotate through the agents
            active = {(first + j) % on for j in range(k)} if on else set()
            idle = deque(a for a in idle if a in active)
            idle.extend(sorted(a for a in active if a not in busy and a not in idle))
            serve(t)
        elif kind == "arrive":
            if idle and len(busy) < limit[0]:
                start(t, i, idle.popleft())
            else:
                calls[i].queued = True
                queue.append(i)
                push(t + calls[i].patience, "renege", i)
        elif kind == "renege":
            call = calls[i]
            if not call.done:
                call.done, call.wait = True, call.patience
        elif kind == "end":
            agent = calls[i].agent
            busy.discard(agent)
            if agent in active:
                idle.append(agent)
                serve(t)
    return calls


def _clock(seconds: float) -> str:
    s = int(round(seconds)) % 86400
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def write_bank_tsv(c: Centre, calls: list[Call], path: Path, phantoms: int = 0,
                   vru_hangups: int = 0) -> None:
    """The bank's export format (module notes); `phantoms` PHANTOM rows and `vru_hangups`
    calls that hung up before queueing are added, to be left out by the reader."""
    head = ["vru+line", "call_id", "customer_id", "priority", "type", "date", "vru_entry",
            "vru_exit", "vru_time", "q_start", "q_exit", "q_time", "outcome", "ser_start",
            "ser_exit", "ser_time", "server"]
    lines = ["\t".join(head)]
    for n, call in enumerate(calls):
        day = c.start + timedelta(days=int(call.arrival // 86400))
        entry = call.arrival - 8.0
        queued = call.queued
        row = ["AA0101", str(n), "0", "0", "PS", day.strftime("%y%m%d"), _clock(entry),
               _clock(call.arrival), "8",
               _clock(call.arrival) if queued else "0:00:00",
               _clock(call.arrival + call.wait) if queued else "0:00:00",
               str(int(round(call.wait))) if queued else "0",
               "AGENT" if call.served else "HANG",
               _clock(call.start) if call.start is not None else "0:00:00",
               _clock(call.end) if call.end is not None else "0:00:00",
               str(int(round(call.end - call.start))) if call.end is not None else "0",
               f"AGENT{call.agent:02d}" if call.served else "NO_SERVER"]
        lines.append("\t".join(row))
    rng = np.random.default_rng(99)
    for k in range(phantoms + vru_hangups):
        day = c.start + timedelta(days=int(rng.integers(0, c.weeks * 7)))
        t = float(rng.uniform(9, 17) * 3600)
        outcome = "PHANTOM" if k < phantoms else "HANG"
        lines.append("\t".join(["AA0101", str(10**6 + k), "0", "0", "PS", day.strftime("%y%m%d"),
                                _clock(t), _clock(t + 5), "5", "0:00:00", "0:00:00", "0",
                                outcome, "0:00:00", "0:00:00", "0", "NO_SERVER"]))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))


def write_iso_csv(c: Centre, calls: list[Call], path: Path) -> None:
    """The same calls as a CSV of ISO timestamps: arrived, answered, gave_up, ended, agent."""
    base = datetime.combine(c.start, datetime.min.time())

    def iso(s: float | None) -> str:
        return "" if s is None else (base + timedelta(seconds=s)).isoformat(timespec="seconds")

    lines = ["call,arrived,answered,gave_up,ended,agent"]
    for n, call in enumerate(calls):
        gave_up = None if call.served else call.arrival + call.wait
        lines.append(f"{n},{iso(call.arrival)},{iso(call.start)},{iso(gave_up)},"
                     f"{iso(call.end)},{'A' + str(call.agent) if call.served else ''}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

"""How a case's work gets done: parts from the shelf, then a member of staff, then time.

Part of the World (a mixin on the hot path, so `self` is the world and nothing is looked up
through another object): every case's work request takes its parts (waiting on backorders),
then a member of a pool that may do it, for a duration drawn from the case's own uniforms.

Who may do it: the pools `scenario/dispatch.py` names (role, skill, the playbook pool's
`serves`). Work with the same eligible pools shares one queue, ordered by the policy's key
(playbook priority; the autopilot puts escalated cases first). A case escalated while it
waits is queued again under its new key.

Patience: where the scenario gives customers a patience, a case waiting for staff (and for
parts too, if the scenario says so) gives up when it runs out: its entry leaves the queue and
the playbook's runtime closes it as abandoned or sends it where the playbook says. Patience
never runs while the work is being done.
"""

from __future__ import annotations

import heapq
from heapq import heappush
from functools import partial
from itertools import accumulate
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import NORMAL

from playbooks.effects import WorkRequested
from simulation.model.clock import JobEnd
from simulation.model.eventlog import EventLog
from simulation.model.staff import StaffPool, WorkQueue
from simulation.model.streams import PATIENCE, pick
from simulation.model.timers import TimerWheel
from simulation.scenario.dispatch import eligible_pools

if TYPE_CHECKING:
    from incidents.distributions import Distribution

__all__ = ["Work"]

_C = EventLog.code
ASSIGNED, WORK_DONE, PARTS_WAIT, ABANDONED = (_C("assigned"), _C("work_done"),
                                              _C("parts_wait"), _C("abandoned"))
_TIER_NAMES = ("VIP", "tier1", "tier2")


class Work:
    """The work half of the World (see the module docstring)."""

    # Attributes the World sets up (declared for readers and type checkers).
    env: simpy.Environment
    pools: dict[str, StaffPool]
    waiting: dict[int, list[Any]]

    def _setup_work(self) -> None:
        world: Any = self
        queues: dict[tuple[str, ...], WorkQueue] = {}

        def queue_of(pools: list[StaffPool]) -> WorkQueue:
            key = tuple(p.name for p in pools)
            if key not in queues:
                queue = queues[key] = WorkQueue("+".join(key))
                queue.pools = list(pools)
                for p in pools:
                    p.queues.append(queue)
            return queues[key]

        self.work_queues: dict[tuple[str, str], WorkQueue] = {}
        """(kind, state) -> the queue its work waits in."""
        for kind, pb in world.loaded.playbooks.items():
            for state, st in pb.lifecycle.states.items():
                if st.work is not None:
                    names = eligible_pools(pb, state, st.work.role, st.work.skill,
                                           world.loaded.staffing, world.loaded.playbooks)
                    self.work_queues[(kind, state)] = queue_of([self.pools[n] for n in names])
        role = world.loaded.scenario.messages.role
        writers = [p for p in self.pools.values() if role is not None and role in p.spec.roles]
        self.message_queue: WorkQueue | None = queue_of(writers) if writers else None
        """Where owed messages wait for a writer (None: sent at once, at no cost)."""
        self._outcomes = {k: {s: (list(st.outcomes),
                                  list(accumulate(o.p for o in st.outcomes.values())))
                              for s, st in pb.lifecycle.states.items() if st.outcomes}
                          for k, pb in world.loaded.playbooks.items()}
        """kind -> state -> (outcome triggers, cumulative probabilities)."""
        self.part_p = {k: dict(e.parts) for k, e in world.loaded.mix.items()}
        self._work: dict[int, tuple] = {}
        """id(prebuilt WorkRequested) -> its job record (`_job`), which keeps it alive."""
        self.waiting = {}
        """case -> its waiting job: [key, seq, start, heap, wait id, job, minute asked,
        patience armed] (`_request`), while something may need to find it."""
        self._patience = {k: self._patience_of(k) for k in world.kinds}
        self.track_waits = self._may_move_waiting()
        """Whether waiting jobs are recorded in `waiting` (see `_request`)."""
        self.patience_timers = TimerWheel(self.env, self._renege)
        self._done_cbs = (self._done,)

    def _may_move_waiting(self) -> bool:
        """Whether anything can take a waiting case out of its queue or change its place:
        customers who give up, a deadline (an SLA clock, an escalation or message timer, a
        state's timer) or an outside event the scenario fires. A drill's team can too
        (`watch`)."""
        world: Any = self
        if any(p is not None for p in self._patience.values()):
            return True
        for kind in world.kinds:
            plan = world.runtimes[kind].plan
            if (any(plan.sla.values()) or plan.esc_rules or plan.comms
                    or any(st.timers for st in plan.states.values())
                    or world.loaded.mix[kind].events):
                return True
        return False

    def _patience_of(self, kind: str) -> tuple[tuple[Distribution | None, ...], bool,
                                               frozenset[str] | None] | None:
        """(patience by tier index, runs while waiting for parts, states where customers
        may give up or None for all) of a kind, or None if its customers never give up."""
        world: Any = self
        entry = world.loaded.mix[kind]
        spec = getattr(entry, "patience", None)
        if spec is None and world.loaded.scenario.queue is not None:
            spec = getattr(world.loaded.scenario.queue, "patience", None)
        if spec is None:
            return None
        by_tier = tuple(spec.for_tier(t) for t in _TIER_NAMES)
        if not any(d is not None for d in by_tier):
            return None
        abandon = getattr(world.loaded.playbooks[kind].lifecycle, "abandon", None)
        states = frozenset(abandon.states) if abandon is not None and abandon.states else None
        return by_tier, bool(getattr(spec, "parts", False)), states

    def _job(self, kind: str, work: WorkRequested) -> tuple:
        """What starting and finishing a prebuilt WorkRequested needs, looked up once:
        (work, kind, state code, queue, duration quantile, outcome triggers, their cumulative
        probabilities, runtime, patience by tier or None, patience covers parts waits, the
        one outcome trigger or None if it is drawn)."""
        world: Any = self
        triggers, cumulative = self._outcomes[kind][work.state]
        patience = self._patience[kind]
        by_tier, parts = None, False
        if patience is not None and (patience[2] is None or work.state in patience[2]):
            by_tier, parts = patience[0], patience[1]
        job = self._work[id(work)] = (
            work, kind, world._state_code(kind, work.state), self.work_queues[(kind, work.state)],
            work.duration.quantile, triggers, cumulative, world.runtimes[kind], by_tier, parts,
            triggers[0] if len(triggers) == 1 else None)
        return job

    # -- parts, then staff, then time ---------------------------------------------------------
    def start(self, cid: int, kind: str, work: WorkRequested, now: float) -> None:
        """The case needs `work` done now: take its parts, then wait for a member of staff."""
        world: Any = self
        if work.parts:
            self._parts(cid, kind, work, 0, world.version[cid], now)
            return
        job = self._work.get(id(work)) or self._job(kind, work)  # _request, written out
        queue = job[3] if not world.pinned else world.pinned_queue(cid, job)
        for pool in queue.pools:
            if pool.busy < pool.capacity:
                pool.busy += 1
                self._begin(cid, job, world.version[cid], now, pool, now)
                return
        self._wait(cid, kind, job, queue, world.version[cid], now, now)

    def _parts(self, cid: int, kind: str, work: WorkRequested, i: int, version: int,
               since: float) -> None:
        world: Any = self
        parts = work.parts
        override = self.part_p[kind]
        while i < len(parts):
            sku, qty, p = parts[i]
            i += 1
            stock = world.stock.get(sku)
            if stock is None:
                continue  # no stock kept: treated as unlimited
            p = override.get(sku, p)
            if p <= 0.0 or (p < 1.0 and world.u(cid) >= p):
                continue  # not needed this time
            resume = partial(self._parts_arrived, cid, kind, work, i, version, stock.index,
                             qty, self.env.now, since)
            if not stock.take(qty, resume):
                return  # backordered: resumes when the units arrive
        self._request(cid, kind, work, version, self.env.now, since)

    def _parts_arrived(self, cid: int, kind: str, work: WorkRequested, i: int, version: int,
                       sku: int, qty: int, asked: float, since: float) -> None:
        world: Any = self
        now = self.env.now
        world.push((now, PARTS_WAIT, cid, sku, qty, now - asked))
        if world.version[cid] == version:  # else the case moved on while the parts came
            self._parts(cid, kind, work, i, version, since)

    def _request(self, cid: int, kind: str, work: WorkRequested, version: int,
                 now: float, since: float) -> None:
        """Start the work with a free member of a pool that may do it, or queue it (the
        priority key is computed only when the job has to wait).

        A waiting job is one list: the queue's entry `[key, seq, start]` followed by what
        taking it out again needs: `[..., heap, wait id, job, minute asked, patience armed]`
        (`waiting[case]`; the job at index 5). It is recorded only where something can take
        a waiting case out of its queue or move it (a deadline, an outside event, patience,
        a drill's team: `track_waits`, decided at set-up); in a plain queue a waiting job is
        just its entry."""
        world: Any = self
        job = self._work.get(id(work)) or self._job(kind, work)
        queue = job[3] if not world.pinned else world.pinned_queue(cid, job)
        for pool in queue.pools:
            if pool.busy < pool.capacity:
                pool.busy += 1
                self._begin(cid, job, version, now, pool, now)
                return
        self._wait(cid, kind, job, queue, version, now, since)

    def _wait(self, cid: int, kind: str, job: tuple, queue: WorkQueue, version: int,
              now: float, since: float) -> None:
        """Queue the job: nobody who may do it is free now (see `_request`)."""
        world: Any = self
        world.seq += 1
        seq = world.seq
        start = partial(self._begin, cid, job, version, now)
        if not self.track_waits:
            heappush(queue.heap, [self.key[kind](world.cases[cid]), seq, start])
            return
        by_tier = job[8]
        dist = by_tier[world.table.tier[cid]] if by_tier is not None else None
        entry = [world.queue_key(cid, kind, world.cases[cid]), seq, start, queue.heap, seq,
                 job, now, dist is not None]
        heappush(queue.heap, entry)
        self.waiting[cid] = entry
        if dist is not None:
            begin = since if job[9] else now
            self.patience_timers.arm(cid, seq, max(begin + dist.quantile(world.u_patience(cid)),
                                                   now))

    def _begin(self, cid: int, job: tuple, version: int, asked: float, pool: StaffPool,
               now: float = -1.0) -> None:
        world: Any = self
        if now < 0:  # started later by a pool's dispatch, not at once by `_request`
            now = self.env._now  # noqa: SLF001
            if self.track_waits:
                entry = self.waiting.pop(cid, None)
                if entry is not None and entry[7]:
                    self.patience_timers.cancel(cid, entry[4])
        if world.version[cid] != version:  # moved on while it waited for staff
            pool.give_back()
            return
        world.push((now, ASSIGNED, cid, pool.index, job[2], now - asked))
        k = world.cursor[cid]  # world.u(cid), written out on the hot path
        if k % world.row_width >= PATIENCE:
            world.cursor[cid] = k - 1
            minutes = job[4](world.blocks[cid][k])
        else:
            minutes = job[4](world.spill.random())
        if now < world.slowdown_until:
            minutes *= world.slowdown
        pool.started_sum += now
        end = JobEnd()
        end.callbacks = self._done_cbs
        end.cid, end.job, end.version, end.pool, end.minutes = cid, job, version, pool, minutes
        env = self.env
        heappush(env._queue, (env._now + minutes, NORMAL, next(env._eid), end))  # noqa: SLF001

    def _done(self, end: JobEnd) -> None:
        world: Any = self
        cid, job, pool, minutes = end.cid, end.job, end.pool, end.minutes
        now = self.env._now  # noqa: SLF001
        pool.finished(now, minutes)
        world.push((now, WORK_DONE, cid, pool.index, job[2], minutes))
        case = world.cases[cid]
        if world.version[cid] != end.version or case is None:
            return  # a timer moved the case meanwhile; whoever moved it started the new work
        trigger = job[10]
        if trigger is None:
            trigger = pick(job[5], job[6], world.u(cid))
        nxt = world.apply(cid, job[7].fire(case, trigger, now), now)
        if nxt is not None:
            self.start(cid, job[1], nxt, now)

    # -- what a drill watches (bound in place of the above by `watch`) ---------------------
    def _begin_watched(self, cid: int, job: tuple, version: int, asked: float,
                       pool: StaffPool, now: float = -1.0) -> None:
        """`_begin`, and the case is marked changed and served by the pool."""
        world: Any = self
        if world.version[cid] == version:
            world.touched.add(cid)
            world.serving[cid] = pool.name
        Work._begin(self, cid, job, version, asked, pool, now)

    def _done_watched(self, end: JobEnd) -> None:
        """`_done`, and the case is marked changed and no longer served."""
        world: Any = self
        world.touched.add(end.cid)
        world.serving.pop(end.cid, None)
        Work._done(self, end)

    def watch(self) -> None:
        """A drill watches this world (its board, its team's hooks): from now on jobs mark
        the cases they change. Called once at set-up, so that a plain run never pays for
        it; the world's `apply` is swapped the same way (World.begin)."""
        self._begin = self._begin_watched  # type: ignore[method-assign]
        self._done_cbs = (self._done_watched,)
        self.track_waits = True

    # -- leaving the queue -------------------------------------------------------------------
    def withdraw(self, cid: int) -> None:
        """The case moved on while its work waited: take the entry out of its queue."""
        entry = self.waiting.pop(cid)
        entry[2] = None
        if entry[7]:
            self.patience_timers.cancel(cid, entry[4])

    def requeue(self, cid: int, case: Any, queue: WorkQueue | None = None) -> None:
        """The case's priority changed while it waits (it was escalated, a team moved it
        forward or to another pool): queue it again under its key now, in `queue` if given,
        keeping the time it asked and its patience."""
        world: Any = self
        old = self.waiting[cid]
        key = world.queue_key(cid, world.case_kind[cid], case)
        if key == old[0] and (queue is None or queue.heap is old[3]):
            return
        world.seq += 1
        new = [key, world.seq, *old[2:]]
        old[2] = None
        if queue is not None:
            new[3] = queue.heap
        heapq.heappush(new[3], new)
        self.waiting[cid] = new
        if queue is not None:  # a pool of its new queue may be free to start it now
            for pool in queue.pools:
                if pool.busy < pool.capacity:
                    pool.dispatch()

    def _renege(self, cid: int, wait: int) -> None:
        """A waiting customer's patience ran out: out of the queue, and the playbook says
        where the case goes (closed as abandoned by default)."""
        world: Any = self
        entry = self.waiting.get(cid)
        if entry is None or entry[4] != wait:
            return
        del self.waiting[cid]
        entry[2] = None
        now = self.env.now
        case = world.cases[cid]
        kind = world.case_kind[cid]
        world.push((now, ABANDONED, cid, world._state_code(kind, case.state),
                    world.table.tier[cid], now - entry[6]))
        world._wake(cid, world.apply(cid, world.runtimes[kind].abandon(case, now), now), now)

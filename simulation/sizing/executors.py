"""Where replications run: a local process pool (the default, every core), a Dask
LocalCluster (`--cluster local`), or an existing Dask scheduler (`--scheduler tcp://...`).

All three take module-level functions and return results as they finish, through one small
interface (`Runner`): `submit(key, fn, *args)`, `collect(timeout)`, `cancel()`, `close()`.
A task carries its replications' seeds explicitly, so which worker runs it, and how many
workers there are, cannot change a result; Dask tasks are submitted with `pure=False` so
that two identical batches are never merged.

Ctrl-C: local workers ignore SIGINT and the parent terminates the pool; with Dask the
parent cancels the futures and closes the client (and the cluster it started). Either way
the replications already collected are kept (the caller writes them to the cache as they
arrive). `--workers 1` runs the tasks in this process. The base scenario goes to each worker
once: the local pool reloads a scenario file
by path (once per process) or receives a scenario built from text with every task (small);
Dask gets it scattered to every worker once.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
from functools import cache, partial
from pathlib import Path
from typing import Any, Callable, Hashable, Protocol

from simulation.errors import SimulationError
from simulation.scenario.loader import LoadedScenario, load_scenario

__all__ = ["Runner", "SerialRunner", "LocalPool", "DaskRunner", "make_runner", "base_of",
           "cpu_count"]


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)



def _drain(done: queue.Queue[Any], timeout: float) -> list[Any]:
    """What the workers have handed back: wait up to `timeout` for the first, then take
    whatever else is there without waiting (so results in one batch are filed together)."""
    try:
        items = [done.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            items.append(done.get_nowait())
        except queue.Empty:
            return items

class Runner(Protocol):
    """Runs module-level functions somewhere and hands back their results."""

    workers: int
    name: str

    def share(self, base: LoadedScenario) -> Any:
        """What to pass to tasks in place of the base scenario (`base_of` turns it back)."""

    def submit(self, key: Hashable, fn: Callable[..., Any], *args: Any) -> None: ...

    def collect(self, timeout: float) -> list[tuple[Hashable, Any]]:
        """Results finished since the last call (waiting up to `timeout` seconds for the
        first); a task's exception is raised here."""

    def pending(self) -> int: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


@cache
def _load(path: Path) -> LoadedScenario:
    """A scenario file, loaded once per worker process."""
    return load_scenario(path)


def base_of(shared: Any) -> LoadedScenario:
    """The base scenario inside a worker, from what `Runner.share` made of it."""
    return _load(shared) if isinstance(shared, Path) else shared


def _quiet() -> None:
    """Worker processes leave Ctrl-C to the parent, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class SerialRunner:
    """Tasks run here, one after another, when collected (`--workers 1`: no processes to
    start, and Ctrl-C needs nothing stopped)."""

    name = "this process"
    workers = 1

    def __init__(self) -> None:
        self._queue: list[tuple[Hashable, Callable[..., Any], tuple[Any, ...]]] = []

    def share(self, base: LoadedScenario) -> Any:
        return base

    def submit(self, key: Hashable, fn: Callable[..., Any], *args: Any) -> None:
        self._queue.append((key, fn, args))

    def collect(self, timeout: float) -> list[tuple[Hashable, Any]]:
        if not self._queue:
            return []
        key, fn, args = self._queue.pop(0)
        return [(key, fn(*args))]

    def pending(self) -> int:
        return len(self._queue)

    def cancel(self) -> None:
        self._queue.clear()

    def close(self) -> None:
        self._queue.clear()


class LocalPool:
    """A pool of `workers` spawned processes on this machine."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or cpu_count()
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(self.workers, initializer=_quiet)
        self._done: queue.SimpleQueue[tuple[Hashable, Any, bool]] = queue.SimpleQueue()
        self._pending = 0

    def share(self, base: LoadedScenario) -> Any:
        return base.path.resolve() if base.path is not None else base

    def _put(self, key: Hashable, failed: bool, value: Any) -> None:
        self._done.put((key, value, failed))

    def submit(self, key: Hashable, fn: Callable[..., Any], *args: Any) -> None:
        self._pool.apply_async(fn, args, callback=partial(self._put, key, False),
                               error_callback=partial(self._put, key, True))
        self._pending += 1

    def collect(self, timeout: float) -> list[tuple[Hashable, Any]]:
        out: list[tuple[Hashable, Any]] = []
        for key, value, failed in _drain(self._done, timeout):
            self._pending -= 1
            if failed:
                raise value
            out.append((key, value))
        return out

    def pending(self) -> int:
        return self._pending

    def cancel(self) -> None:
        self._pool.terminate()
        self._pending = 0

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()


class DaskRunner:
    """Tasks on a Dask cluster: a LocalCluster started here (`address=None`), or the
    scheduler at `address`. The base scenario is scattered to every worker once."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - a core dependency
            raise SimulationError("Dask is not installed: pip install 'dask[distributed]'") \
                from None
        self._cluster = None
        try:
            if address is None:
                self._cluster = LocalCluster(n_workers=workers or cpu_count(),
                                             threads_per_worker=1, processes=True,
                                             dashboard_address=None)
                self._client = Client(self._cluster)
                self.name = "dask LocalCluster"
            else:
                self._client = Client(address, timeout="10s")
                self.name = f"dask scheduler {address}"
        except (OSError, TimeoutError) as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise SimulationError(f"--scheduler {address}: cannot connect to the Dask "
                                  f"scheduler ({exc})") from None
        info = self._client.scheduler_info()
        self.workers = max(1, sum(w.get("nthreads", 1) for w in info["workers"].values()))
        self._done: queue.SimpleQueue[tuple[Hashable, Any]] = queue.SimpleQueue()
        self._futures: dict[Any, Hashable] = {}

    def share(self, base: LoadedScenario) -> Any:
        return self._client.scatter(base, broadcast=True, hash=False)

    def submit(self, key: Hashable, fn: Callable[..., Any], *args: Any) -> None:
        future = self._client.submit(fn, *args, pure=False)
        self._futures[future] = key
        future.add_done_callback(lambda f: self._done.put((key, f)))

    def collect(self, timeout: float) -> list[tuple[Hashable, Any]]:
        out: list[tuple[Hashable, Any]] = []
        for key, future in _drain(self._done, timeout):
            self._futures.pop(future, None)
            out.append((key, future.result()))  # a task's exception is raised here
        return out

    def pending(self) -> int:
        return len(self._futures)

    def cancel(self) -> None:
        if self._futures:
            self._client.cancel(list(self._futures))
        self._futures.clear()

    def close(self) -> None:
        self.cancel()
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_runner(cluster: str | None = None, scheduler: str | None = None,
                workers: int | None = None) -> Runner:
    """The runner the options ask for: a scheduler address, a local Dask cluster, or (by
    default) a local process pool."""
    if scheduler is not None:
        if not scheduler.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://")):
            raise SimulationError(f"--scheduler {scheduler!r}: give the scheduler's address, "
                                  f"e.g. tcp://10.0.0.5:8786")
        return DaskRunner(scheduler)
    if cluster is not None:
        if cluster != "local":
            raise SimulationError(f"--cluster {cluster!r}: only 'local' (a Dask "
                                  f"LocalCluster on this machine) is known; for another "
                                  f"cluster give --scheduler tcp://HOST:PORT")
        return DaskRunner(None, workers)
    if workers == 1:
        return SerialRunner()
    return LocalPool(workers)

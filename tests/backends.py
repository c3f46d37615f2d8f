"""The back ends the store and desk tests run on: one parametrised fixture, every back end.

`store_url` (and `live_url`, the same for desks) gives each test a fresh, empty store: a
SQLite file in the test's folder, or a database of its own on the PostgreSQL server named by
MUSTER_TEST_PG (the URL `.ci/postgres start` prints; the database is dropped after the
test). Tests written against it are the contract suite: they run unchanged on both.

Without MUSTER_TEST_PG the PostgreSQL half is not run, and the run says so in its summary
("PostgreSQL tests NOT RUN: ..."), never passing silently; when the run requires them (CI,
or MUSTER_REQUIRE_PG=1, as .ci/run sets) a missing or unreachable server fails them instead.

`private_pg` starts a cluster of the test's own (through .ci/postgres, in a folder of its
own), for tests that stop or restart the server: the shared one stays up for the others.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["NOT_RUN", "PG_ENV", "SCRIPT", "PrivateServer", "pg_server", "pg_url", "store_url",
           "live_url", "private_pg", "pytest_terminal_summary", "url_with_db", "psql",
           "eventually", "is_pg"]

PG_ENV = "MUSTER_TEST_PG"
NOT_RUN = f"PostgreSQL tests NOT RUN: {PG_ENV} not set"
SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "postgres"
BACKENDS = ("sqlite", "postgresql")


def _required() -> bool:
    return os.environ.get("MUSTER_REQUIRE_PG") == "1" or \
        os.environ.get("CI", "").lower() in ("1", "true", "yes")


def is_pg(url: str) -> bool:
    return url.startswith(("postgresql:", "postgres:"))


def url_with_db(url: str, dbname: str) -> str:
    """`url` naming the database `dbname` instead."""
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, ""))


def psql(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run raw SQL on the server (autocommit), as another program would: its rows."""
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Call `check` until it returns something true (returned), or fail after `timeout`
    seconds: the way to wait for another process, a notification or a server."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {timeout:g} s: {what}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The server of the PostgreSQL tests, reachable; else not run (or failed, if required)."""
    url = os.environ.get(PG_ENV, "")
    if not url:
        if _required():
            pytest.fail(f"{PG_ENV} is not set, but this run requires the PostgreSQL tests "
                        "(CI or MUSTER_REQUIRE_PG=1): export "
                        f"{PG_ENV}=$(bash .ci/postgres start | tail -1)", pytrace=False)
        pytest.skip(NOT_RUN)
    import psycopg
    try:
        psycopg.connect(url, connect_timeout=10).close()
    except psycopg.Error as exc:
        pytest.fail(f"{PG_ENV} is set but its server cannot be reached: {exc}", pytrace=False)
    return url


def _new_database(server: str) -> str:
    from psycopg import sql
    import psycopg
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8'").format(sql.Identifier(name)))
    return name


def _drop_database(server: str, name: str) -> None:
    from psycopg import sql
    import psycopg
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped after the test."""
    name = _new_database(pg_server)
    try:
        yield url_with_db(pg_server, name)
    finally:
        _drop_database(pg_server, name)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store on each back end in turn: a SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "s.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=BACKENDS)
def live_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A desk's database on each back end in turn (the desk tests' `store_url`)."""
    if request.param == "sqlite":
        return str(tmp_path / "live.sqlite")
    return str(request.getfixturevalue("pg_url"))


class PrivateServer:
    """A cluster of one test's own, driven by .ci/postgres (start, stop --keep, restart)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = ""

    def run(self, *args: str) -> str:
        env = {**os.environ, "MUSTER_PG_DIR": str(self.folder)}
        done = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True,
                              text=True, timeout=300)
        if done.returncode:
            raise AssertionError(f".ci/postgres {' '.join(args)} failed: {done.stderr}")
        lines = done.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    def start(self) -> str:
        self.url = self.run("start")
        return self.url

    def halt(self) -> None:
        self.run("stop", "--keep")

    def restart(self, *, crash: bool = False) -> None:
        self.run("restart", *(["--crash"] if crash else []))

    def remove(self) -> None:
        self.run("stop")


@pytest.fixture
def private_pg(pg_server: str) -> Iterator[PrivateServer]:
    """A PostgreSQL cluster of this test's own, started; removed after the test."""
    folder = Path(tempfile.mkdtemp(prefix="muster-pg-test-", dir="/tmp"))
    server = PrivateServer(folder)
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Say when the PostgreSQL half of the suite did not run (never a silent pass)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if NOT_RUN in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_line(
            f"{NOT_RUN}: {len(skipped)} test(s) need a server; run them with "
            f"`export {PG_ENV}=$(bash .ci/postgres start | tail -1)`", yellow=True, bold=True)

"""The PostgreSQL store's tables: telling a Muster store from anything else, creating and
migrating it, for incidents.store_pg.

Split from incidents.store_pg as incidents.store_file is from incidents.store_sqlite: this is
about the database as a place, before and beneath any stream or event.

Everything lives in the schema `muster` of one database: `muster.meta` says what it is
(`application` = APPLICATION, `schema` = the version), `muster.streams`, `muster.events`
(append-only: triggers refuse UPDATE, DELETE and TRUNCATE, whoever the SQL client is) and
`muster.snapshots` (derived, replaceable: a cache of desk projections). Payloads are `json`,
which keeps the text exactly as written (`jsonb` would reorder keys), times `timestamptz`.

Opening checks before it writes, and a refused database is left as it was: a database with a
`muster` schema that is not a Muster store, or with tables of another program and no Muster
store (Muster wants a database of its own), or a store of a newer schema, or a server older
than PostgreSQL 12 or not in UTF8. Creation and migration run in one transaction under an
advisory lock, so desks opening a new database at once make its tables once.
`_MIGRATIONS[k]` turns version k into k + 1 (version 0: no tables).
"""

from __future__ import annotations

from typing import Any

import psycopg

from incidents.store_file import StoreError

__all__ = ["SCHEMA", "PG_SCHEMA_VERSION", "APPLICATION", "CHANNEL", "WRITE_LOCK",
           "MIGRATIONS", "check_server", "prepare_database"]

SCHEMA = "muster"
"""The PostgreSQL schema (namespace) every table of the store is in."""
PG_SCHEMA_VERSION = 1
"""The schema of the tables this Muster writes, and the newest it reads."""
APPLICATION = "muster event store"
"""`muster.meta`'s `application`: what tells this store from another program's tables."""
CHANNEL = "muster_events"
"""The LISTEN/NOTIFY channel: each commit that appends events notifies its last position."""
WRITE_LOCK = 0x4D555354
"""Transaction-level advisory lock every writer holds (the bytes "MUST"), so writers commit
in the order they number events: a reader never sees a position before a smaller one."""
_SCHEMA_LOCK = WRITE_LOCK + 1
"""Advisory lock of creation and migration."""
_MIN_SERVER = 120000

_APPEND_ONLY = (
    """CREATE FUNCTION muster.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'Muster % are append-only (% refused)', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation';
    END $$""",
    *(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON muster.{t} "
      "FOR EACH ROW EXECUTE FUNCTION muster.append_only()" for t in ("events", "streams")),
    *(f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON muster.{t} "
      "FOR EACH STATEMENT EXECUTE FUNCTION muster.append_only()" for t in ("events", "streams")),
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: the store as schema 3 of the SQLite store has it: one global order (gseq),
    # stream versions, a unique idempotency key, actor, correlation and causation; snapshots.
    ("CREATE SCHEMA IF NOT EXISTS muster",
     "CREATE TABLE muster.meta (name text PRIMARY KEY, value text NOT NULL)",
     f"INSERT INTO muster.meta VALUES ('application', '{APPLICATION}'), ('schema', '0')",
     """CREATE TABLE muster.streams (
        id      text PRIMARY KEY,
        kind    text NOT NULL CHECK (length(kind) > 0),
        created timestamptz NOT NULL)""",
     """CREATE TABLE muster.events (
        gseq        bigint PRIMARY KEY CHECK (gseq >= 1),
        stream_id   text NOT NULL REFERENCES muster.streams (id),
        seq         integer NOT NULL CHECK (seq >= 1),
        kind        text NOT NULL CHECK (length(kind) > 0),
        sim_minute  double precision,
        wall        timestamptz NOT NULL,
        payload     json NOT NULL,
        actor       text,
        key         text UNIQUE,
        correlation text,
        causation   text,
        UNIQUE (stream_id, seq))""",
     "CREATE INDEX events_by_kind ON muster.events (stream_id, kind, seq)",
     *_APPEND_ONLY,
     """CREATE TABLE muster.snapshots (
        name     text PRIMARY KEY,
        position bigint NOT NULL CHECK (position >= 0),
        written  timestamptz NOT NULL,
        data     bytea NOT NULL)"""),
)


def _one(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _found(conn: Any) -> tuple[bool, int | None, str | None]:
    """(schema `muster` exists, its store's schema version, its application) as stored."""
    has_schema = bool(_one(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = %s",
                           (SCHEMA,)))
    if not _one(conn, "SELECT to_regclass('muster.meta') IS NOT NULL"):
        return has_schema, None, None
    meta = dict(conn.execute("SELECT name, value FROM muster.meta").fetchall())
    try:
        version = int(meta.get("schema", ""))
    except ValueError:
        version = -1
    return has_schema, version, meta.get("application")


def _foreign_tables(conn: Any) -> list[str]:
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class AS c "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname <> %s "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%' "
        "ORDER BY 1 LIMIT 4", (SCHEMA,)).fetchall()
    return [r[0] for r in rows]


def _problem(has_schema: bool, version: int | None, app: str | None) -> str | None:
    if version is None:
        return ("has a schema named muster that is not a Muster event store; give Muster a "
                "database of its own") if has_schema else None
    if app != APPLICATION:
        return (f"has a muster.meta table of another program (application {app!r}), not a "
                "Muster event store")
    if version > PG_SCHEMA_VERSION:
        return (f"written by a newer Muster (schema {version} of the PostgreSQL store); this "
                f"version reads up to schema {PG_SCHEMA_VERSION}; upgrade Muster")
    if version < 1:
        return f"holds a Muster event store whose schema version is damaged ({version})"
    return None


def check_server(conn: Any, name: str) -> None:
    """Refuse a server too old for the store's SQL, or a database not in UTF8."""
    version = conn.info.server_version
    if version < _MIN_SERVER:
        raise StoreError(name, f"the server is PostgreSQL {version // 10000}; Muster needs "
                               "PostgreSQL 12 or newer")
    encoding = str(_one(conn, "SHOW server_encoding"))
    if encoding.upper() not in ("UTF8", "UTF-8"):
        raise StoreError(name, f"the database's encoding is {encoding}; Muster stores UTF-8 "
                               "text: create the database with -E UTF8")


def prepare_database(conn: Any, name: str, *, create: bool, readonly: bool) -> int:
    """Check the database on `conn` (autocommit) and, unless `readonly`, create or migrate
    the store in it; the schema version it is at. StoreError (nothing changed) when refused."""
    check_server(conn, name)
    found = _found(conn)
    problem = _problem(*found)
    if problem:
        raise StoreError(name, problem)
    version = found[1]
    if version == PG_SCHEMA_VERSION:
        return version
    if version is None and (readonly or not create):
        raise StoreError(name, "holds no Muster event store (a desk or `muster live migrate "
                               "--to` makes one)")
    if readonly:
        raise StoreError(name, f"holds a Muster event store of schema {version}, older than "
                               f"this Muster's {PG_SCHEMA_VERSION}: open it once for writing "
                               "to upgrade it")
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        has_schema, version, app = _found(conn)  # another opener may have been first
        problem = _problem(has_schema, version, app)
        if problem:
            raise StoreError(name, problem)
        if version is None:
            others = _foreign_tables(conn)
            if others:
                raise StoreError(name, f"holds tables of another program ({', '.join(others)}"
                                       "); give Muster a database of its own (createdb muster)")
        start = version or 0
        try:
            for step in MIGRATIONS[start:PG_SCHEMA_VERSION]:
                for statement in step:
                    conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            raise
        except psycopg.DatabaseError as exc:
            what = "create the store" if not start else \
                f"upgrade the store from schema {start} to {PG_SCHEMA_VERSION}"
            detail = " ".join(str(exc).split())
            raise StoreError(name, f"cannot {what} ({detail}); it is unchanged") from None
        conn.execute("UPDATE muster.meta SET value = %s WHERE name = 'schema'",
                     (str(PG_SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        if not conn.closed and not conn.broken:
            conn.execute("ROLLBACK")
        raise
    return PG_SCHEMA_VERSION

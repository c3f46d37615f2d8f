"""Shared fixtures for the playbook loader, lint and CLI tests.

Every test starts from `base_playbook()`, a small playbook that lints clean, and changes ONE
thing, so the finding it expects can only come from that change. Expected line numbers are
computed from the YAML text with `line_of`, never typed in by hand.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

from incidents.source import Diagnostic
from playbooks.loader import check_file, library_files

BASE = textwrap.dedent("""\
    name: mini
    title: Minimal test playbook
    sla:
      VIP: {acknowledge: 2h}
      tier1: {acknowledge: 8h}
      tier2: {acknowledge: 24h}
    roles:
      agent: {skills: [doors]}
    parts:
      HINGE-01: {name: Cabinet hinge}
    lifecycle:
      initial: new
      events: [cancel, route]
      milestones: {acknowledge: triage}
      states:
        new:
          work: {role: agent, duration: 10m}
          outcomes: {taken: triage}
          on: {cancel: closed}
        triage:
          on:
            route: repair
            timeout: closed
          timers:
            - {after: 2h, fire: timeout}
        repair:
          work: {role: agent, duration: 30m, parts: {HINGE-01: 0.5}}
          outcomes:
            fixed: {to: closed, p: 0.8}
            failed: {to: triage, p: 0.2}
        closed:
          final: true
    """)

EXTRA = textwrap.dedent("""\
    escalation:
      levels: [front_line, supervisor]
      rules:
        late: {after: 4h, to: supervisor}
    emergency:
      levels:
        IV:
          label: blue
          enter: {any: [{signal: open_backlog, above: 50}]}
          exit: {all: [{signal: open_backlog, below: 20}]}
    resources:
      unlocks:
        - {level: IV, resource: overtime, hours_per_day: 2}
    communications:
      ack:
        audience: customer
        on: {enter: triage}
        template: "Dear {customer}, case {id} is {state}."
    """)


def base_playbook(*, extra: bool = False) -> str:
    """YAML text of a small valid playbook (4 states, one final); `extra` adds escalation,
    emergency, resources and communications sections, also valid."""
    return BASE + (EXTRA if extra else "")


def mutate(text: str, old: str, new: str) -> str:
    """`text` with the one occurrence of `old` replaced; fails if `old` is absent or repeated,
    so a test can never silently mutate nothing. Both are used verbatim (no dedent)."""
    count = text.count(old)
    assert count == 1, f"{old!r} occurs {count} times in the playbook text"
    return text.replace(old, new)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line number of the `nth` line containing `needle`."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} found {len(hits)} times, wanted #{nth}"
    return hits[nth - 1]


def col_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based column where `needle` starts on the line `line_of` finds."""
    line = text.splitlines()[line_of(text, needle, nth) - 1]
    return line.index(needle) + 1


def pos(text: str, line_needle: str, target: str | None = None, nth: int = 1) -> tuple[int, int]:
    """(line, col) of `target` (default: `line_needle`) on the `nth` line holding `line_needle`."""
    line = line_of(text, line_needle, nth)
    return line, text.splitlines()[line - 1].index(target or line_needle) + 1


@pytest.fixture
def write_playbook(tmp_path: Path) -> Callable[..., Path]:
    """Write YAML text (dedented) or bytes to a file in tmp_path and return its path."""
    counter = iter(range(10_000))

    def write(content: str | bytes, name: str | None = None) -> Path:
        path = tmp_path / (name or f"playbook{next(counter)}.yaml")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
        return path

    return write


@pytest.fixture
def check(write_playbook: Callable[..., Path]) -> Callable[[str], list[Diagnostic]]:
    """Write text to a file and return every finding `check_file` has for it."""

    def run(text: str) -> list[Diagnostic]:
        _, found = check_file(write_playbook(text))
        return found

    return run


def errors(found: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in found if d.severity == "error"]


def warnings(found: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in found if d.severity == "warning"]


def bundled_playbooks() -> list[Path]:
    """Every bundled playbook now on disk (others are adding more; never hard-code names)."""
    files = library_files()
    assert files, "no bundled playbooks found in playbooks/library"
    return files


def finding(found: list[Diagnostic], fragment: str, severity: str = "error") -> Diagnostic:
    """The first finding of `severity` whose message contains `fragment` (fails if none)."""
    for d in found:
        if d.severity == severity and fragment in d.message:
            return d
    listing = "\n".join(str(d) for d in found) or "(no findings)"
    raise AssertionError(f"no {severity} containing {fragment!r}; found:\n{listing}")


# The back ends of the store and desk tests (SQLite; PostgreSQL when MUSTER_TEST_PG names a
# server), and the line saying when the PostgreSQL half did not run: tests/backends.py.
from tests.backends import (live_url, pg_server, pg_url, private_pg,  # noqa: E402,F401
                            pytest_terminal_summary, store_url)

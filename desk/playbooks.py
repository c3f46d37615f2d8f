"""The playbooks a desk runs, kept in its own database.

A case is bound to a playbook when it is opened. The playbook's text goes into the database
once (stream `playbook:NAME:SHA12`, its header), and cases and operations name it by that
reference, so every desk replays a case with exactly the playbook it was opened with, even
after the file on disk was edited; a changed file is a new reference.

A `Book` is a stored playbook made ready to run: the clock-free case runtime and the
emergency-level runtime (playbooks/runtime.py, emergency.py) on the desk's epoch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from incidents.source import DiagnosticError, parse_document
from incidents.store import Pending
from playbooks.emergency import EmergencyRuntime
from playbooks.lint import semantic_diagnostics
from playbooks.loader import library_files, load_playbook, parse_playbook, resolve_playbook
from playbooks.runtime import Runtime
from playbooks.schema import Playbook

from desk.clock import EPOCH
from desk.errors import DeskError

__all__ = ["Book", "STREAM_PREFIX", "STREAM_KIND", "load_book", "book_from_text",
           "book_pending", "playbook_for_kind"]

STREAM_PREFIX = "playbook:"
STREAM_KIND = "live-playbook"


@dataclass(frozen=True)
class Book:
    """A playbook as the desk runs it."""

    ref: str
    """NAME:SHA12, the reference cases and operations carry."""
    playbook: Playbook
    runtime: Runtime
    emergency: EmergencyRuntime
    text: str

    @property
    def name(self) -> str:
        return self.playbook.name

    @property
    def zone(self) -> str:
        return self.playbook.calendar.timezone

    @property
    def stream(self) -> str:
        return STREAM_PREFIX + self.ref

    def pool_of(self, state: str) -> str:
        """The resource pool that serves a state (the playbook's `resources.pools`), or ''."""
        for name, pool in self.playbook.resources.pools.items():
            if state in pool.serves:
                return name
        return ""


def _ref(playbook: Playbook, text: str) -> str:
    return f"{playbook.name}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


def load_book(name_or_path: str | Path) -> Book:
    """A bundled playbook by name, or a playbook file, checked (PlaybookError lists every
    error at its line)."""
    path = resolve_playbook(name_or_path)
    playbook = load_playbook(path)
    text = path.read_text(encoding="utf-8")
    return _book(_ref(playbook, text), playbook, text)


def book_from_text(text: str, ref: str, where: str) -> Book:
    """A stored playbook made ready to run; DeskError if it no longer loads (a playbook
    language change since it was stored)."""
    try:
        doc = parse_document(text, ref)
        playbook, found = parse_playbook(doc)
        if playbook is not None:
            found = semantic_diagnostics(playbook, doc)
    except DiagnosticError as exc:
        raise DeskError(where, f"the stored playbook {ref} no longer loads: {exc}") from None
    errors = [d for d in found if d.severity == "error"]
    if playbook is None or errors:
        raise DeskError(where, f"the stored playbook {ref} no longer loads: "
                               + "; ".join(d.message for d in errors[:3]))
    return _book(ref, playbook, text)


def _book(ref: str, playbook: Playbook, text: str) -> Book:
    return Book(ref, playbook, Runtime(playbook, epoch=EPOCH),
                EmergencyRuntime(playbook, epoch=EPOCH), text)


def book_pending(book: Book, actor: str) -> Pending:
    """The event that stores the playbook (written once, whoever writes it first)."""
    return Pending(book.stream, "header", {"format": 1, "name": book.name, "text": book.text},
                   key=f"playbook:{book.ref}", actor=actor, stream_kind=STREAM_KIND)


def playbook_for_kind(kind: str, where: str) -> str:
    """The bundled playbook that serves a kind of case (its `kinds`), the first by name."""
    found = _served().get(kind)
    if found is None:
        raise DeskError(where, f"no bundled playbook serves cases of kind {kind!r}; name one "
                               "(--playbook NAME or FILE)")
    return found


@cache
def _served() -> dict[str, str]:
    """kind -> the first bundled playbook (by file name) that serves it."""
    out: dict[str, str] = {}
    for path in library_files():
        try:
            playbook = load_playbook(path)
        except DiagnosticError:
            continue
        for kind in playbook.kinds:
            out.setdefault(kind, playbook.name)
    return out

"""Reading playbooks: YAML file -> located document -> validated `Playbook`.

`load_playbook` is what every host uses; it refuses a playbook with any error, structural or
semantic, so the runtime never meets a dangling state name at 3 a.m. during a real emergency.
`check_file` is what the linter uses; it returns every finding instead of raising.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from incidents.source import Diagnostic, Document, SourceError, diagnostics_from_validation
from incidents.source import DiagnosticError, load_document, resolve_bundled
from playbooks.errors import PlaybookError
from playbooks.lint import semantic_diagnostics
from playbooks.schema import Playbook

__all__ = ["parse_playbook", "check_file", "load_playbook", "library_dir", "library_files",
           "resolve_playbook"]


def parse_playbook(doc: Document) -> tuple[Playbook | None, list[Diagnostic]]:
    """Validate a document's structure; return the playbook (or None) and the findings."""
    if not isinstance(doc.data, dict):
        return None, [doc.diag((), "a playbook must be a YAML mapping (key: value lines)")]
    try:
        return Playbook.model_validate(doc.data), []
    except ValidationError as exc:
        return None, diagnostics_from_validation(exc, doc, Playbook)


def check_file(path: str | Path) -> tuple[Playbook | None, list[Diagnostic]]:
    """All findings for one file, errors and warnings, sorted by position."""
    try:
        doc = load_document(path)
    except SourceError as exc:
        return None, exc.diagnostics
    playbook, found = parse_playbook(doc)
    if playbook is not None:
        found = semantic_diagnostics(playbook, doc)
    found.sort(key=lambda d: (d.line, d.col, d.message))
    return (playbook if not any(d.severity == "error" for d in found) else None), found


def load_playbook(path: str | Path) -> Playbook:
    """A playbook ready to run, or `PlaybookError` listing every error found."""
    playbook, found = check_file(resolve_playbook(path))
    errors = [d for d in found if d.severity == "error"]
    if playbook is None or errors:
        raise PlaybookError(errors)
    return playbook


def library_dir() -> Path:
    """Folder of the bundled playbooks (installed with the package)."""
    return Path(str(resources.files("playbooks") / "library"))


def library_files() -> list[Path]:
    """The bundled playbooks, by file name."""
    return sorted(library_dir().glob("*.yaml"))


def resolve_playbook(name_or_path: str | Path) -> Path:
    """A path as given, or the bundled playbook of that name (`standard-repair`)."""
    try:
        return resolve_bundled(name_or_path, library_dir(), "playbook")
    except DiagnosticError as exc:
        raise PlaybookError(exc.diagnostics) from None

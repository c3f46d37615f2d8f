"""Located YAML: every value a user wrote keeps the file, line and column it came from.

Playbooks and scenarios are written by people, so every error must point at the place to fix.
PyYAML's composer already knows where each node starts; we build plain Python data from the
node tree ourselves, recording a location for every path, and refuse what the safe loader would
silently accept (duplicate keys, which YAML forbids but PyYAML keeps the last of).
"""

from __future__ import annotations

import difflib
import functools
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Iterable, Literal, Union, get_args, get_origin

import yaml
from yaml.constructor import SafeConstructor
from pydantic import BaseModel, ValidationError

from incidents.errors import IncidentsError

__all__ = [
    "Diagnostic",
    "DiagnosticError",
    "Document",
    "SourceError",
    "MAX_BYTES",
    "MAX_DEPTH",
    "load_document",
    "parse_document",
    "diagnostics_from_validation",
    "suggest",
    "resolve_bundled",
]

MAX_BYTES = 2 * 1024 * 1024
"""Largest file we read: a playbook or scenario is a few kilobytes; more is a mistake."""

MAX_DEPTH = 50
"""Deepest nesting of lists and mappings we read. The deepest real playbook value is about
eight levels; PyYAML's composer (and our builder) recurse once per level, so a few hundred
`[` would end in a RecursionError instead of a located error. Checked while composing, one
level at a time, before the recursion can get deep."""

# Characters str.splitlines() breaks on: a diagnostic is printed as exactly one line.
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a user's file, printed as `FILE:LINE:COL: severity: message`."""

    file: str
    line: int
    col: int
    severity: Literal["error", "warning"]
    message: str

    def __str__(self) -> str:
        # A key or value quoted in a message may hold a line break ("a\\nb" in YAML); it is
        # shown escaped so that every diagnostic stays one `FILE:LINE:COL:` line.
        line = f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"
        return line.translate(_LINE_BREAKS)


class DiagnosticError(ValueError):
    """An error that carries located diagnostics (or a plain message), one line each.

    Each package keeps its own base exception (PlaybookError, SimulationError) derived from
    this one, so the CLI boundary prints any of them the same way.
    """

    def __init__(self, diagnostics: list[Diagnostic] | str) -> None:
        if isinstance(diagnostics, str):
            self.diagnostics: list[Diagnostic] = []
            super().__init__(diagnostics)
        else:
            self.diagnostics = diagnostics
            super().__init__("\n".join(str(d) for d in diagnostics))


class SourceError(DiagnosticError, IncidentsError):
    """A file could not be read as a document at all; carries its diagnostics."""


@dataclass(slots=True)
class Document:
    """Parsed YAML data plus where each path of it was written."""

    file: str
    data: Any
    locations: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_locations: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Iterable[str | int], *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the deepest known prefix of `path`.

        With `key=True` the location of the mapping key itself is preferred, which is where a
        misspelt or duplicate key should be reported.
        """
        parts = tuple(path)
        if key and parts in self.key_locations:
            return self.key_locations[parts]
        while parts:
            if parts in self.locations:
                return self.locations[parts]
            parts = parts[:-1]
        return self.locations.get((), (1, 1))

    def diag(self, path: Iterable[str | int], message: str, *,
             severity: Literal["error", "warning"] = "error", key: bool = False) -> Diagnostic:
        line, col = self.where(path, key=key)
        return Diagnostic(self.file, line, col, severity, message)


_C_LOADER: Any = getattr(yaml, "CSafeLoader", None)
_DEEPER = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_SHALLOWER = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _c_compose(text: str) -> list[yaml.Node] | None:
    """The node trees of `text` by libyaml (some seven times faster than PyYAML's Python
    parser), or None whenever anything is off: no libyaml, a character PyYAML's reader
    refuses, a tab anywhere (libyaml accepts a tab after `key:` where PyYAML refuses it:
    files keep the one behaviour they always had), a YAML error, nesting over MAX_DEPTH
    (libyaml's composer recurses in C, so the depth is counted over its events first, which
    it produces without recursing). Then the pure-Python `_Loader` parses it and reports the
    problem in its own, tested words. On text both accept, both give the same nodes, lines
    and columns (the fuzz mutants of every bundled file were compared)."""
    if _C_LOADER is None or "\t" in text or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_C_LOADER):
            if isinstance(event, _DEEPER):
                depth += 1
                if depth > MAX_DEPTH:
                    return None
            elif isinstance(event, _SHALLOWER):
                depth -= 1
        return list(yaml.compose_all(text, Loader=_C_LOADER))
    except (yaml.YAMLError, ValueError, RecursionError):
        return None


class _TooDeep(yaml.composer.ComposerError):
    """A list or mapping nested deeper than MAX_DEPTH, at the node that goes one too deep."""


def _too_deep_message() -> str:
    return (f"values nested more than {MAX_DEPTH} levels deep (lists or mappings inside each "
            f"other); the limit is {MAX_DEPTH}")


class _Loader(yaml.SafeLoader):
    """The safe loader with a nesting limit.

    PyYAML's scanner and parser keep their own stacks, but its composer calls itself once per
    level of nesting; counting levels as they open refuses a deep document at the level that
    exceeds the limit, long before Python's recursion limit.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        if self.depth >= MAX_DEPTH:
            raise _TooDeep(None, None, _too_deep_message(), self.peek_event().start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1


def _merge_sources(node: yaml.MappingNode) -> list[yaml.MappingNode]:
    """The mappings a `<<` merge key of `node` pulls in."""
    out: list[yaml.MappingNode] = []
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            items = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            out.extend(n for n in items if isinstance(n, yaml.MappingNode))
    return out


class _Builder:
    """Turns a composed YAML node tree into Python data, recording locations."""

    MAX_NODES = 200_000
    """Aliases can expand a small file into billions of nodes ("billion laughs"): stop here."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.constructor = SafeConstructor()
        self.locations: dict[Path_, tuple[int, int]] = {}
        self.key_locations: dict[Path_, tuple[int, int]] = {}
        self.errors: list[Diagnostic] = []
        self.active: set[int] = set()
        self.nodes = 0

    def fail(self, node: yaml.Node, message: str) -> None:
        line, col = self._pos(node)
        self.errors.append(Diagnostic(self.file, line, col, "error", message))

    @staticmethod
    def _pos(node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def build(self, node: yaml.Node, path: Path_, depth: int = 1) -> Any:
        self.nodes += 1
        if self.nodes > self.MAX_NODES:
            if self.nodes == self.MAX_NODES + 1:
                self.fail(node, f"the document expands to more than {self.MAX_NODES:,} values "
                                "(aliases repeated too often)")
            return None
        if id(node) in self.active:
            self.fail(node, "recursive alias: a value that contains itself")
            return None
        self.locations[path] = self._pos(node)
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            return self.scalar(node)
        if depth > MAX_DEPTH:
            # The composer limits nesting as written; aliases can still stack written nests.
            self.fail(node, _too_deep_message() + " (counting what aliases (*) repeat)")
            return None
        self.active.add(id(node))
        try:
            return self.collection(node, path, depth)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.fail(node, _problem(exc))
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            # A tag the value does not fit (!!int twelve, !!bool maybe): say which.
            self.fail(node, f"cannot read {node.value!r} as {node.tag.rsplit(':', 1)[-1]}"
                            f" ({type(exc).__name__})")
        return None

    def collection(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        if isinstance(node, yaml.MappingNode):
            try:
                self.flatten(node)
            except (yaml.YAMLError, ValueError, TypeError, KeyError, IndexError) as exc:
                mark = getattr(exc, "problem_mark", None)
                line, col = (mark.line + 1, mark.column + 1) if mark else self._pos(node)
                detail = _problem(exc) if isinstance(exc, yaml.YAMLError) else str(exc)
                self.errors.append(Diagnostic(self.file, line, col, "error",
                                              f"bad merge key (<<): {detail}"))
                return None
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build_key(key_node)
                if key is None:
                    continue
                here = path + (key,)
                if key in out:
                    first = self.key_locations[here]
                    line, col = self._pos(key_node)
                    self.errors.append(Diagnostic(
                        self.file, line, col, "error",
                        f"duplicate key {key!r} (first defined at line {first[0]})"))
                    continue
                self.key_locations[here] = self._pos(key_node)
                out[key] = self.build(value_node, here, depth + 1)
            return out
        return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]

    def flatten(self, node: yaml.MappingNode) -> None:
        """Resolve `<<` merge keys of `node`, the merged mappings' own merges first.

        PyYAML's flatten_mapping recurses into each merged mapping that still holds a merge
        key, so a long chain of anchors, each merging the one before, would overflow the
        stack. Flattening the chain from its far end, with an explicit stack, leaves each
        call nothing to recurse into.
        """
        order: list[yaml.MappingNode] = []
        stack, seen = [node], {id(node)}
        while stack:
            current = stack.pop()
            order.append(current)
            for source in _merge_sources(current):
                if id(source) not in seen:
                    seen.add(id(source))
                    stack.append(source)
        for current in reversed(order):
            self.constructor.flatten_mapping(current)

    def build_key(self, node: yaml.Node) -> str | int | None:
        if not isinstance(node, yaml.ScalarNode):
            line, col = self._pos(node)
            self.errors.append(Diagnostic(self.file, line, col, "error",
                                          "a mapping key must be a plain scalar"))
            return None
        try:
            value = self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError) as exc:
            self.fail(node, f"cannot read key {node.value!r} ({type(exc).__name__})")
            return None
        if isinstance(value, bool) or value is None:
            # `yes:`/`on:`/`null:` would silently become booleans; keep the text the user wrote.
            return str(node.value)
        if isinstance(value, (int, float)):
            return str(node.value)
        if not isinstance(value, str):
            self.fail(node, f"a mapping key must be text, not {type(value).__name__}")
            return None
        return value


def _problem(exc: yaml.YAMLError) -> str:
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    text = ", ".join(p for p in parts if p)
    return text or str(exc).splitlines()[0]


def parse_document(text: str, file: str) -> Document:
    """Parse YAML text into a located `Document`; raise `SourceError` on unreadable input.

    Even through libyaml (`_c_compose`), parsing and locating a playbook takes some 13 ms,
    and one sizing search, drill review or test run reads the same few files hundreds of
    times. A document parsed before is kept, pickled, by its exact text and file name, and
    each caller gets its own unpickled copy (about 0.6 ms, some 20 times cheaper), so no
    caller sees another's changes. Failures are not kept: they raise every time; nor are
    texts over CACHED_CHARS (a bundled file is a few kilobytes), which bounds the memory."""
    if len(text) > CACHED_CHARS:
        return _parse_document(text, file)
    return pickle.loads(_parsed(text, file))


CACHED_CHARS = 128 * 1024
"""Longest text whose parse is kept; with 128 kept, at most some tens of megabytes."""


@functools.lru_cache(maxsize=128)
def _parsed(text: str, file: str) -> bytes:
    return pickle.dumps(_parse_document(text, file), protocol=pickle.HIGHEST_PROTOCOL)


def _parse_document(text: str, file: str) -> Document:
    if not text.strip():
        raise SourceError([Diagnostic(file, 1, 1, "error", "the file is empty")])
    if "\x00" in text:
        raise SourceError([Diagnostic(file, 1, 1, "error",
                                      "this looks like a binary file, not YAML text")])
    try:
        nodes = _c_compose(text)
        if nodes is None:  # the pure-Python loader says what is wrong, and where
            nodes = list(yaml.compose_all(text, Loader=_Loader))
    except _TooDeep as exc:
        mark = exc.problem_mark
        raise SourceError([Diagnostic(file, mark.line + 1, mark.column + 1, "error",
                                      str(exc.problem))]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"invalid YAML: {_problem(exc)}"
        ctx = exc.context_mark
        if ctx is not None and ctx.line + 1 != line:
            # The parser notices an unclosed [ { or quote lines later: name where it opened.
            message += f" (opened at line {ctx.line + 1}, column {ctx.column + 1})"
        raise SourceError([Diagnostic(file, line, col, "error", message)]) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        raise SourceError([Diagnostic(file, line, col, "error",
                                      f"invalid YAML: character {exc.character!r} is not "
                                      "allowed in YAML text")]) from None
    except yaml.YAMLError as exc:
        raise SourceError([Diagnostic(file, 1, 1, "error",
                                      f"invalid YAML: {_problem(exc)}")]) from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise SourceError([Diagnostic(file, 1, 1, "error", "the file holds no YAML document")])
    if len(nodes) > 1:
        line = nodes[1].start_mark.line + 1
        raise SourceError([Diagnostic(file, line, 1, "error",
                                      "expected one YAML document, found several (---)")])
    builder = _Builder(file)
    data = builder.build(nodes[0], ())
    if builder.errors:
        raise SourceError(builder.errors)
    return Document(file, data, builder.locations, builder.key_locations)


def load_document(path: str | Path, *, max_bytes: int = MAX_BYTES) -> Document:
    """Read and parse one YAML file, refusing missing, huge, binary or non-UTF-8 files."""
    p = Path(path)
    name = str(path)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise SourceError([Diagnostic(name, 1, 1, "error", "is a directory, not a file")])
        if size > max_bytes:
            raise SourceError([Diagnostic(
                name, 1, 1, "error",
                f"file is {size:,} bytes; the limit is {max_bytes:,} bytes")])
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SourceError([Diagnostic(name, 1, 1, "error", "no such file")]) from None
    except OSError as exc:
        raise SourceError([Diagnostic(name, 1, 1, "error",
                                      f"cannot read: {exc.strerror or exc}")]) from None
    if b"\x00" in raw[:8192]:
        raise SourceError([Diagnostic(name, 1, 1, "error",
                                      "this looks like a binary file, not YAML text")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError([Diagnostic(name, line, 1, "error",
                                      "the file is not valid UTF-8 text")]) from None
    return parse_document(text, name)


def resolve_bundled(name_or_path: str | Path, folder: Path, what: str) -> Path:
    """A path as given, or the bundled file of that name in `folder` (`standard-repair`).

    Anything that looks like a path (exists, ends in .yaml/.yml, has a slash) is returned as
    it is, so a missing file gets the loader's own "no such file" message with its name.
    """
    path = Path(name_or_path)
    if path.exists() or path.suffix in {".yaml", ".yml"} or "/" in str(name_or_path):
        return path
    candidate = folder / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    raise DiagnosticError([Diagnostic(
        str(name_or_path), 1, 1, "error",
        f"no such file or bundled {what}{suggest(str(name_or_path), names)}; "
        f"bundled: {', '.join(names)}")])


def suggest(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean ...?)' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """Follow a validation location through nested models, dicts and lists to the model that
    owns its last key (so `lifecycle.states.closed.fianl` finds `State`)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = _strip(info.annotation)
        else:
            origin = get_origin(current)
            args = get_args(current)
            if origin in (list, tuple) and args:
                current = _strip(args[0])
            elif origin is dict and len(args) == 2:
                current = _strip(args[1])
            else:
                return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _strip(tp: Any) -> Any:
    """The annotation without Optional/Annotated wrappers."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def diagnostics_from_validation(exc: ValidationError, doc: Document,
                                model: type[BaseModel], prefix: Path_ = ()) -> list[Diagnostic]:
    """Turn pydantic errors into located diagnostics with readable field paths.

    Unknown keys get a "did you mean" suggestion drawn from the fields of the model they
    were found in, because a misspelt key is the most common playbook mistake.
    """
    out: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        loc = _document_loc(err["loc"], doc.data)
        path = prefix + loc
        dotted = ".".join(str(p) for p in path) or "(top level)"
        if err["type"] == "extra_forbidden":
            owner = _model_at(model, loc)
            hint = suggest(str(loc[-1]), owner.model_fields) if owner else ""
            out.append(doc.diag(path, f"{dotted}: unknown key {loc[-1]!r}{hint}", key=True))
            continue
        if err["type"] == "missing":
            out.append(doc.diag(path[:-1], f"{dotted}: required field is missing"))
            continue
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        out.append(doc.diag(path, f"{dotted}: {message}"))
    return out


def _document_loc(loc: tuple[str | int, ...], data: object) -> tuple[str | int, ...]:
    """The error location as keys of the document, without pydantic's union member tags.

    pydantic inserts the member type name ("function-after[...]", "str") into union
    locations. A part that is a key of the document at that point is always kept (a user may
    well write a key "str" or "0["), so only parts the document does not have are tags.
    """
    kept: list[str | int] = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            kept.append(part)
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            kept.append(part)
            data = data[part]
        elif not _is_union_tag(part):
            kept.append(part)
            data = None
    return tuple(kept)


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "dict"})

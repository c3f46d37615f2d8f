"""Reading a log as it comes: CSV or TSV with the delimiter sniffed, CRLF, .gz/.zip, or XES.

Planners get logs from telephony exports, ticketing systems and process-mining tools. Asking
them to convert a file first is where calibration used to go wrong (a TSV read as one huge
column, whose whole header then came back as "the column name" in an error). So the reader
takes what it is given and keeps, for every row, the file line it came from: every later
error can say FILE:LINE, the column and the row.

* Delimiter: tab, comma, semicolon or bar, the one that splits the first lines into the same
  number of columns, most columns first (`--delimiter` overrides). A file whose header does
  not split at all is read as one column, and an error about a missing column says so.
* Line ends: `\\n`, `\\r\\n` and a UTF-8 byte-order mark are all read as written.
* `.gz` of one file, `.zip` of exactly one data file.
* XES (IEEE 1849 event logs, `.xes` or `.xes.gz`): a light reader on the standard library's
  expat (no process-mining dependency): one row per event, with the trace's `concept:name`
  as column `case` and the event's attributes (`concept:name`, `time:timestamp`,
  `lifecycle:transition`, `org:resource`, ...) as columns under their keys.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.parsers import expat

from incidents.source import Diagnostic
from simulation.errors import SimulationError

__all__ = ["Table", "read_table", "DELIMITERS", "SNIFF_LINES", "XES_CASE"]

DELIMITERS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}
"""The delimiters sniffed, with the names `--delimiter` also accepts."""
SNIFF_LINES = 50
"""Lines looked at to choose the delimiter."""
XES_CASE = "case"
"""The column holding an XES event's trace name."""
MAX_BYTES = 2_000_000_000
"""A log larger than this (2 GB) is refused before it fills the memory."""


@dataclass(slots=True)
class Table:
    """A log as rows of text cells, each row with the file line it came from."""

    file: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    delimiter: str
    """The delimiter used, or "xes"."""
    notes: list[str] = field(default_factory=list)

    def column(self, name: str) -> int:
        """The index of a column of the header (exact, then ignoring surrounding spaces)."""
        if name in self.header:
            return self.header.index(name)
        stripped = [h.strip() for h in self.header]
        return stripped.index(name.strip())

    def col_of(self, row: int, index: int) -> int:
        """The 1-based character column where cell `index` of row `row` starts (exact for
        unquoted cells, which is what logs hold)."""
        cells = self.rows[row]
        if self.delimiter == "xes":
            return 1
        return 1 + sum(len(c) + 1 for c in cells[:index])

    def where(self, row: int, index: int, message: str,
              severity: str = "error") -> Diagnostic:
        """A diagnostic at a cell, naming its column and data row."""
        name = self.header[index] if index < len(self.header) else f"#{index + 1}"
        return Diagnostic(self.file, self.lines[row], self.col_of(row, index),
                          severity,  # type: ignore[arg-type]
                          f"column {name!r}, row {row + 1}: {message}")


def _delimiter(option: str | None) -> str | None:
    if option is None:
        return None
    names = {v: k for k, v in DELIMITERS.items()} | {"\\t": "\t", "tsv": "\t", "csv": ","}
    value = names.get(option.strip().lower(), option)
    if len(value) != 1 or value in "\r\n\"":
        raise SimulationError(f"--delimiter {option!r}: give one character, or tab, comma, "
                              "semicolon, bar")
    return value


def _sniff(sample: str) -> str:
    """The delimiter that splits the sample's lines into the same number of columns (most
    columns first); comma when none splits the header (a one-column file)."""
    lines = [line for line in sample.splitlines()[:SNIFF_LINES] if line.strip()]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut short
    best, best_cols = ",", 1
    for delim in DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        if not counts or counts[0] < 2:
            continue
        agree = sum(c == counts[0] for c in counts) / len(counts)
        if agree >= 0.9 and counts[0] > best_cols:
            best, best_cols = delim, counts[0]
    return best


@contextlib.contextmanager
def _open_binary(path: Path) -> Iterator[tuple[IO[bytes], str]]:
    """The bytes of `path` (plain, .gz, or a .zip holding one data file) and its name."""
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "no such file"
        raise SimulationError(f"{path}: {what}")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SimulationError(f"{path}: larger than {MAX_BYTES // 10**9} GB; cut it first")
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist()
                         if not n.endswith("/") and not n.startswith("__MACOSX/")]
                data = [n for n in names if n.lower().endswith((".csv", ".tsv", ".txt", ".xes"))]
                data = data or names
                if len(data) != 1:
                    raise SimulationError(f"{path}: a .zip must hold exactly one log file; "
                                          f"found {', '.join(data) or 'none'}")
                with archive.open(data[0]) as raw:
                    yield raw, f"{path}/{data[0]}"
        elif path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as raw:
                yield raw, str(path)
        else:
            with path.open("rb") as raw:
                yield raw, str(path)
    except zipfile.BadZipFile as exc:
        raise SimulationError(f"{path}: not a readable .zip file ({exc})") from None
    except (gzip.BadGzipFile, EOFError) as exc:
        raise SimulationError(f"{path}: not a readable .gz file ({exc})") from None
    except PermissionError:
        raise SimulationError(f"{path}: permission denied") from None


def _is_xes(path: Path, head: bytes) -> bool:
    name = path.name.lower()
    if name.endswith((".xes", ".xes.gz")):
        return True
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return text.startswith(b"<?xml") or text.startswith(b"<log")


def read_table(path: str | Path, delimiter: str | None = None) -> Table:
    """The log at `path` as a Table; SimulationError (located) if it cannot be read."""
    source = Path(path)
    delim = _delimiter(delimiter)
    with _open_binary(source) as (raw, file):
        buffered = io.BufferedReader(raw) if not isinstance(raw, io.BufferedReader) else raw
        head = buffered.peek(65536)[:65536]
        if _is_xes(source, head):
            return _read_xes(buffered, file)
        text = io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")
        try:
            sample = text.read(65536)
        except UnicodeDecodeError:
            raise SimulationError([Diagnostic(file, 1, 1, "error",
                                              "not UTF-8 text (save the log as UTF-8)")]) from None
        chosen = delim or _sniff(sample)
        return _read_delimited(io.StringIO(sample), text, file, chosen, delim is None)


def _read_delimited(first: io.StringIO, rest: IO[str], file: str, delim: str,
                    sniffed: bool) -> Table:
    chain = _Chain(first, rest)
    reader = csv.reader(chain, delimiter=delim)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise SimulationError([Diagnostic(file, 1, 1, "error", "empty file: no header")])
        width = len(header)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            rows.append(row + [""] * (width - len(row)) if len(row) < width else row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise SimulationError([Diagnostic(file, reader.line_num + 1, 1, "error",
                                          f"cannot read the file: {exc}")]) from None
    except UnicodeDecodeError:
        raise SimulationError([Diagnostic(file, reader.line_num + 1, 1, "error",
                                          "not UTF-8 text (save the log as UTF-8)")]) from None
    header = [h.strip() for h in header]
    how = "sniffed" if sniffed else "given"
    notes = [f"{DELIMITERS.get(delim, repr(delim))}-separated ({how}), {len(header)} columns, "
             f"{len(rows):,} rows"]
    return Table(file=file, header=header, rows=rows, lines=lines, delimiter=delim,
                 notes=notes)


class _Chain:
    """Lines of an already-read sample followed by the rest of the stream (csv reads lines)."""

    def __init__(self, first: io.StringIO, rest: IO[str]) -> None:
        self.first, self.rest = first, rest
        self.tail = ""

    def __iter__(self) -> Iterator[str]:
        for line in self.first:
            if line.endswith(("\n", "\r")):
                yield line
            else:
                self.tail = line  # the sample ended mid-line: join it to the next read
        for line in self.rest:
            if self.tail:
                line, self.tail = self.tail + line, ""
            yield line
        if self.tail:
            yield self.tail


def _read_xes(raw: IO[bytes], file: str) -> Table:
    """Events of an XES log as rows: `case` (the trace name) and each event attribute.

    Only attributes directly inside an `<event>` (or, for the name, a `<trace>`) count;
    attributes nested in attributes and the log's `<global>` defaults are not columns."""
    header: list[str] = [XES_CASE]
    index: dict[str, int] = {XES_CASE: 0}
    rows: list[list[str]] = []
    lines: list[int] = []
    stack: list[str] = []
    case = [""]
    event: dict[str, str] | None = None
    parser = expat.ParserCreate()

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal event
        name = tag.rsplit(":", 1)[-1]
        parent = stack[-1] if stack else ""
        stack.append(name)
        if name == "trace":
            case[0] = ""
        elif name == "event" and parent == "trace":
            event = {}
            lines.append(parser.CurrentLineNumber)
        elif "key" in attrs and "value" in attrs:
            if parent == "event" and event is not None:
                event[attrs["key"]] = attrs["value"]
            elif parent == "trace" and attrs["key"] == "concept:name":
                case[0] = attrs["value"]

    def end(tag: str) -> None:
        nonlocal event
        name = stack.pop() if stack else ""
        if name == "event" and event is not None:
            event.setdefault(XES_CASE, case[0])  # an event attribute `case` wins
            for key in event:
                if key not in index:
                    index[key] = len(header)
                    header.append(key)
            row = [""] * len(header)
            for key, value in event.items():
                row[index[key]] = value
            rows.append(row)
            event = None

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.ParseFile(raw)
    except expat.ExpatError as exc:
        raise SimulationError([Diagnostic(file, exc.lineno, exc.offset + 1, "error",
                                          f"not a readable XES file: "
                                          f"{expat.ErrorString(exc.code)}")]) from None
    if not rows:
        raise SimulationError([Diagnostic(file, 1, 1, "error", "an XES log with no events "
                                          "inside traces")])
    width = len(header)
    rows = [r + [""] * (width - len(r)) for r in rows]
    traces = len({r[0] for r in rows})
    notes = [f"XES event log, {len(rows):,} events of {traces:,} traces"]
    return Table(file=file, header=header, rows=rows, lines=lines, delimiter="xes",
                 notes=notes)

"""Cases from a CRM export (CSV) onto the desk: every row checked before anything is written.

Default columns: `id, opened, tier, kind, customer, batch` (plus, when present, `region,
product, sku, title, severity, channel, affected_customers`); any of them can be mapped to the
export's own header (`{"id": "工单号", "opened": "创建时间"}`). `id` and `opened` are
required; a missing `kind` column needs a default kind; a missing `tier` means tier 2. Times
are ISO 8601 (`2026-03-02 09:15`, `2026-03-02T09:15:00+08:00`) or a strptime format; a time
without a zone is read in `zone`.

Every bad row is reported as `FILE:LINE: error: column 'opened': ...` (the line where the row
starts, the header being line 1), up to twenty of them, and nothing is written; a file that is
not UTF-8 is refused naming the line (`encoding="gbk"` reads an export from Chinese Excel).
Rows whose case is already on the desk are skipped and counted, so a daily export can be
imported again; the same id twice in one file is an error.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from incidents.model import Incident

from desk.errors import DeskError

if TYPE_CHECKING:
    from desk.desk import Desk

__all__ = ["DEFAULT_COLUMNS", "OPTIONAL_COLUMNS", "MAX_ROWS", "BadInput", "Parsed",
           "ImportDone", "read_cases", "parse_columns", "import_file"]

DEFAULT_COLUMNS = ("id", "opened", "tier", "kind", "customer", "batch")
OPTIONAL_COLUMNS = ("region", "product", "sku", "title", "severity", "channel",
                    "affected_customers")
MAX_ROWS = 200_000
"""Most cases one import takes (a national recall is tens of thousands)."""
MAX_BYTES = 256 * 1024 * 1024
SHOWN = 20


class BadInput(DeskError):
    """Several located problems of one input file, one line each."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        ValueError.__init__(self, "\n".join(lines))
        self.where, self.reason = (lines[0].split(": error: ", 1) + [""])[:2]

    def __reduce__(self) -> tuple[object, ...]:
        return (BadInput, (self.lines,))


@dataclass
class Parsed:
    """The rows of a file as incidents, each with where it came from (FILE:LINE)."""

    incidents: list[Incident] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    rows: int = 0


def parse_columns(pairs: list[str], where: str) -> dict[str, str]:
    """`FIELD=HEADER` pairs (from --column) as a mapping, checked."""
    known = DEFAULT_COLUMNS + OPTIONAL_COLUMNS
    out: dict[str, str] = {}
    for pair in pairs:
        name, eq, header = pair.partition("=")
        name = name.strip()
        if not eq or not header.strip():
            raise DeskError(where, f"--column {pair!r}: write FIELD=HEADER, e.g. id=工单号")
        if name not in known:
            raise DeskError(where, f"--column {pair!r}: unknown field {name!r}; fields: "
                                   f"{', '.join(known)}")
        out[name] = header.strip()
    return out


def read_cases(path: Path, *, columns: dict[str, str] | None = None, kind: str | None = None,
               zone: str = "UTC", time_format: str | None = None,
               encoding: str = "utf-8-sig") -> Parsed:
    """Every row of the CSV at `path` as an incident, or BadInput naming each bad row."""
    name = str(path)
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DeskError(name, f"unknown time zone {zone!r} (an IANA name: Asia/Shanghai, "
                              "UTC)") from None
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise DeskError(name, f"is {size:,} bytes; the limit is {MAX_BYTES:,}")
        raw = path.read_bytes()
    except IsADirectoryError:
        raise DeskError(name, "is a folder, not a CSV file") from None
    except OSError as exc:
        raise DeskError(name, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise DeskError(name, f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DeskError(f"{name}:{line}", f"not {encoding} text (byte {raw[exc.start]:#04x}); "
                                          "an export from Chinese Excel may need --encoding "
                                          "gbk") from None
    if "\x00" in text:
        raise DeskError(name, "holds NUL bytes: not a CSV text file")
    return _rows(name, text, {**{c: c for c in DEFAULT_COLUMNS + OPTIONAL_COLUMNS},
                              **(columns or {})}, columns or {}, kind, tz, time_format)


def _rows(name: str, text: str, mapping: dict[str, str], given: dict[str, str],
          kind: str | None, tz: ZoneInfo, time_format: str | None) -> Parsed:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DeskError(name, "is empty: a header line is needed (id,opened,tier,kind,"
                              "customer,batch)") from None
    except csv.Error as exc:
        raise DeskError(f"{name}:1", f"cannot read the header: {exc}") from None
    header = [h.strip() for h in header]
    index = {h: i for i, h in enumerate(header)}
    need = ["id", "opened"] + ([] if kind else ["kind"])
    missing = [f for f in need if mapping[f] not in index]
    missing += [f for f in given if f not in need and given[f] not in index]
    if missing:
        cols = ", ".join(f"'{mapping[f]}'" + (f" (for {f})" if mapping[f] != f else "")
                         for f in missing)
        hint = " (or give --kind)" if "kind" in missing else ""
        raise DeskError(f"{name}:1", f"no column {cols}{hint}; the header has: "
                                     f"{', '.join(header)}")
    used = {f: index[mapping[f]] for f in DEFAULT_COLUMNS + OPTIONAL_COLUMNS
            if mapping[f] in index}
    out, problems, seen = Parsed(), [], {}
    line = 2
    while True:
        start = line
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{name}:{start}: error: {exc}")
            break
        line = reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        out.rows += 1
        if out.rows > MAX_ROWS:
            raise DeskError(name, f"has more than {MAX_ROWS:,} rows; split it")
        where = f"{name}:{start}"
        if len(row) != len(header):
            problems.append(f"{where}: error: {len(row)} cells where the header has "
                            f"{len(header)}")
            continue
        try:
            incident = _incident(row, used, mapping, kind, tz, time_format)
        except _RowError as exc:
            problems.append(f"{where}: error: {exc}")
            continue
        if incident.id in seen:
            problems.append(f"{where}: error: column '{mapping['id']}': case {incident.id} is "
                            f"already on line {seen[incident.id]}")
            continue
        seen[incident.id] = start
        out.incidents.append(incident)
        out.where.append(where)
    if problems:
        more = len(problems) - SHOWN
        raise BadInput(problems[:SHOWN] + ([f"{name}: error: and {more} more bad row(s); "
                                            "nothing was imported"] if more > 0 else []))
    if not out.incidents:
        raise DeskError(name, "has no case rows")
    return out


class _RowError(ValueError):
    pass


def _incident(row: list[str], used: dict[str, int], mapping: dict[str, str],
              kind: str | None, tz: ZoneInfo, time_format: str | None) -> Incident:
    values: dict[str, object] = {}
    for name, i in used.items():
        cell = row[i].strip()
        if cell:
            values[name] = cell
    if kind and "kind" not in values:
        values["kind"] = kind
    for required in ("id", "opened", "kind"):
        if required not in values:
            raise _RowError(f"column '{mapping[required]}': empty; a case needs its "
                            f"{required}")
    opened = str(values.pop("opened"))
    try:
        when = datetime.strptime(opened, time_format) if time_format else \
            datetime.fromisoformat(opened.replace("/", "-"))
    except ValueError:
        form = f"the format {time_format!r}" if time_format else "ISO 8601 (2026-03-02 09:15)"
        raise _RowError(f"column '{mapping['opened']}': {opened!r} is not a time in "
                        f"{form}") from None
    values["opened_at"] = when if when.tzinfo else when.replace(tzinfo=tz)
    try:
        return Incident.model_validate(values)
    except ValidationError as exc:
        e = exc.errors()[0]
        field_name = str(e["loc"][0]) if e["loc"] else "?"
        column = mapping.get("opened" if field_name == "opened_at" else field_name, field_name)
        raise _RowError(f"column '{column}': {e['msg']} (got {e.get('input')!r})") from None


def import_file(desk: Desk, path: Path, *, operation: str | None = None,
                playbook: str | None = None, columns: dict[str, str] | None = None,
                kind: str | None = None, zone: str | None = None,
                time_format: str | None = None, encoding: str = "utf-8-sig") -> "ImportDone":
    """Read, check and open every case of the file in one batch (all or nothing); cases
    already on the desk are skipped. `zone` defaults to the operation's playbook's."""
    from desk.case.service import open_cases
    if zone is None:
        with desk.lock:
            zone = desk.model.operation(operation).book.zone if operation else "UTC"
    parsed = read_cases(path, columns=columns, kind=kind, zone=zone, time_format=time_format,
                        encoding=encoding)
    with desk.lock:
        fresh = [(i, w) for i, w in zip(parsed.incidents, parsed.where)
                 if i.id not in desk.model.cases]
    skipped = len(parsed.incidents) - len(fresh)
    if fresh:
        source = [f"import {w}" for _, w in fresh]
        open_cases(desk, [i for i, _ in fresh], playbook=playbook, operation=operation,
                   sources=source, where=[w for _, w in fresh])
    return ImportDone(len(fresh), skipped, parsed.rows)


@dataclass(frozen=True)
class ImportDone:
    imported: int
    skipped: int
    """Rows whose case was already on the desk."""
    rows: int

    @property
    def message(self) -> str:
        text = f"imported {self.imported} case(s)"
        return text + (f"; {self.skipped} already on the desk, skipped" if self.skipped else "")

"""A real emergency turned into a drill: the operation's cases replayed, its key events as
the MSEL's injects, so the team rehearses what actually happened.

Input is plain data (desk/drill_source.py: the desk does not import the simulation, nor the
simulation the desk). The organisation (staff pools and shifts, parts, costs) comes from a
template: a bundled drill or scenario whose mix runs the same playbook (`drill-recall` for the
recall), or one given. The drill:

- starts at the hour the operation's first case came in and lasts until its end (rounded up
  to the hour, and at least two and a half hours past its last key event, so the action it
  expects can be taken), at a speed that plays it in about 75 minutes;
- replays the cases' arrival times (`demand.replay`, from a CSV written beside the drill), with
  the tier shares the real cases had;
- has one inject per key event, at its minute: a level the real team declared becomes the
  situation it was declared on (its reason) with that level expected within two hours; a
  management brief or public notice sent becomes a request for one; a bulk escalation, an
  escalation expected; handoffs, tactical updates, tasks and notes are told as they were.

The scenario is loaded and checked before it is written; what does not load is an error.
"""

from __future__ import annotations

import csv
import io
import math
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from incidents.source import load_document, parse_document
from playbooks.loader import parse_playbook
from playbooks.schema import Playbook
from simulation.errors import SimulationError
from simulation.scenario.loader import bundled_scenarios, load_scenario

__all__ = ["write_drill", "template_for", "PLAYING_MINUTES", "MAX_INJECTS"]

PLAYING_MINUTES = 75.0
"""About how long the drill plays at its default speed."""
MAX_INJECTS = 200
ROLE_OF = {"level": "incident_commander", "role": "incident_commander", "bulk":
           "incident_commander", "note": "incident_commander", "task": "resources_lead",
           "update": "communications_lead"}


def template_for(playbook: str) -> Path:
    """The bundled drill (else scenario) whose mix runs `playbook`."""
    found: list[tuple[int, Path]] = []
    for path in bundled_scenarios():
        data = load_document(path).data
        mix = (data or {}).get("mix") or {}
        if any(isinstance(m, dict) and m.get("playbook") == playbook for m in mix.values()):
            found.append((0 if "drill" in data else 1, path))
    if not found:
        raise SimulationError(f"<to-drill>: error: no bundled scenario runs playbook "
                              f"{playbook!r}; give one with --template SCENARIO")
    return sorted(found)[0][1]


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug or "operation"


def _minutes_text(minutes: float) -> str:
    return f"{max(minutes, 0.0):.0f}m"


def write_drill(source: dict[str, Any], out: Path, *, template: Path | None = None) -> Path:
    """Write the drill scenario at `out` and its arrivals CSV beside it; both checked by
    loading the scenario first. Returns the CSV's path."""
    if out.suffix not in (".yaml", ".yml"):
        raise SimulationError(f"{out}: error: the drill is a scenario file: give a name "
                              "ending in .yaml")
    if not out.parent.is_dir():
        raise SimulationError(f"{out}: error: the folder {out.parent} does not exist")
    if not source["cases"]:
        raise SimulationError(f"{out}: error: operation {source['id']} has no cases to replay")
    base = template or template_for(source["playbook"])
    data = load_document(base).data
    arrivals = out.with_name(out.stem + ".arrivals.csv")
    text, table = _scenario(source, data, arrivals.name)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".to-drill-") as folder:
        trial = Path(folder) / out.name
        trial.write_text(text, encoding="utf-8")
        (Path(folder) / arrivals.name).write_text(table, encoding="utf-8")
        try:
            load_scenario(trial)
        except SimulationError as exc:
            raise SimulationError(f"{out}: error: the drill made from operation "
                                  f"{source['id']} does not load: "
                                  + str(exc).replace(str(trial), str(out))) from None
        Path(folder, arrivals.name).replace(arrivals)
        trial.replace(out)
    return arrivals


def _scenario(source: dict[str, Any], data: dict[str, Any], csv_name: str) -> tuple[str, str]:
    playbook = _playbook(source)
    zone = ZoneInfo(playbook.calendar.timezone)
    start = datetime.fromisoformat(source["start"]).astimezone(zone)
    start = start.replace(minute=0, second=0, microsecond=0)
    end = datetime.fromisoformat(source["end"])
    opened = [datetime.fromisoformat(c["opened"]) for c in source["cases"]]
    events = [datetime.fromisoformat(e["at"]) for e in source["events"]]
    # Long enough for every case to arrive and for the last key event's expected action
    # (within two hours) to be taken.
    end = max([end] + [o + timedelta(minutes=1) for o in opened]
              + [e + timedelta(minutes=150) for e in events])
    hours = max(1, math.ceil((end - start).total_seconds() / 3600))
    length = hours * 60.0
    speed = max(1.0, min(3600.0, round(length / PLAYING_MINUTES)))
    kind = next(k for k, m in data["mix"].items()
                if isinstance(m, dict) and m.get("playbook") == source["playbook"])
    entry = dict(data["mix"][kind])
    tiers = {t: sum(c["tier"] == t for c in source["cases"]) / len(source["cases"])
             for t in ("VIP", "tier1", "tier2")}
    entry["tiers"] = {t: round(s, 6) for t, s in tiers.items() if s > 0}
    top = max(entry["tiers"], key=entry["tiers"].get)
    entry["tiers"][top] = round(entry["tiers"][top] + 1 - sum(entry["tiers"].values()), 6)
    entry.pop("share", None)
    data["mix"] = {kind: entry}
    data["name"] = f"drill-from-{_slug(source['id'])}"
    data["title"] = f"演练：{source['title']}"[:200]
    data["description"] = (f"Operation {source['id']} ({source['title']}) replayed as a drill: "
                           f"{len(source['cases'])} real cases at the minutes they arrived, "
                           "the real team's key events as injects.")
    data["start"] = start.isoformat()
    data["horizon"] = f"{hours}h"
    data["drain"] = "1d"
    data["demand"] = {"replay": {"file": csv_name, "column": "opened", "id_column": "id",
                                 "format": "iso", "start": start.isoformat(),
                                 "days": round(hours / 24, 6)}}
    drill = dict(data.get("drill") or {})
    drill.pop("participants", None)
    drill.update({
        "title": f"{source['title']}：真实事件演练"[:200],
        "team": str(source.get("team", ""))[:80],
        "length": f"{hours}h",
        "speed": speed,
        "briefing": _briefing(source, hours),
        "objectives": {
            "O1": {"title": "按实际情况及时定级", "description": "Declare the levels the real "
                   "situation called for, in time.", "capability": "运营协调"},
            "O2": {"title": "按时对外沟通", "description": "The briefs and notices the real "
                   "operation owed.", "capability": "公共信息与预警"},
            "O3": {"title": "保护客户", "description": "Escalate what the real team had to.",
                   "capability": "客户服务"}},
        "injects": _injects(source, start, length, _level_messages(playbook)),
        "contingency": [],
    })
    drill.pop("scoring", None)
    data["drill"] = drill
    header = (f"# Drill made by `muster live to-drill {source['id']}` from operation "
              f"{source['id']} ({source['title']}).\n# Arrivals: {csv_name} (the operation's "
              f"{len(source['cases'])} cases); injects: its key events.\n")
    text = header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    table = io.StringIO(newline="")
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(("id", "opened", "tier", "kind", "customer", "batch"))
    for c in sorted(source["cases"], key=lambda c: c["opened"]):
        writer.writerow((c["id"], c["opened"], c["tier"], c["kind"], c["customer"], c["batch"]))
    return text, table.getvalue()


def _briefing(source: dict[str, Any], hours: int) -> str:
    return (f"这是一次真实事件的复盘演练：{source['title']}。\n\n"
            f"Operation {source['id']} really happened: {len(source['cases'])} cases came in "
            f"over {hours} hours, and this drill replays them at the minutes they arrived. The "
            "injects are what the real team learnt and decided, at the time they did: a "
            "situation that made them raise the emergency level, a brief they were asked for, a "
            "handoff, a note. Decide again; the review compares your decisions with the "
            "playbook's autopilot and with no response.\n\n"
            + (f"Summary of the real operation: {source['summary']}\n" if source.get("summary")
               else ""))


def _playbook(source: dict[str, Any]) -> Playbook:
    playbook, found = parse_playbook(parse_document(source["playbook_text"],
                                                    f"<playbook {source['playbook']}>"))
    if playbook is None:
        raise SimulationError("<to-drill>: error: the operation's playbook does not load: "
                              + "; ".join(d.message for d in found[:3]))
    return playbook


def _level_messages(playbook: Playbook) -> dict[str, Any]:
    """audience -> [(rank of the level that makes it owed, obligation)] of the playbook's
    level-change messages (a brief expected in the drill must be one a level makes owed),
    and "_levels": the level names, normal first."""
    levels = [playbook.emergency.normal, *playbook.emergency.levels]
    out: dict[str, Any] = {"_levels": levels}
    for name, ob in playbook.communications.items():
        if ob.on.emergency in levels:
            out.setdefault(ob.audience, []).append((levels.index(ob.on.emergency), name))
    return out


def _injects(source: dict[str, Any], start: datetime, length: float,
             messages: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    levels: list[str] = messages.get("_levels", [])
    reached = 0
    for event in source["events"]:
        at = (datetime.fromisoformat(event["at"]) - start).total_seconds() / 60.0
        if not 0 <= at <= length or len(out) >= MAX_INJECTS:
            continue
        kind = event["kind"]
        text = str(event.get("text", ""))[:4000]
        sender = str(event.get("by", "")) or "指挥部"
        inject: dict[str, Any] = {"id": f"L{len(out) + 1}", "at": _minutes_text(at),
                                  "from": sender[:200], "to": ROLE_OF.get(kind,
                                                                           "incident_commander"),
                                  "method": "in person", "subject": "", "message": text}
        if kind == "level":
            reached = max(reached, levels.index(event["level"]) if event["level"] in levels
                          else 0)
            inject.update(subject=f"态势报告（实际定级 {event['level']}）",
                          method="system alert",
                          expect=[{"action": "declare_level", "level": event["level"],
                                   "within": "2h", "objective": "O1",
                                   "task": f"宣布 {event['level']} 级（实际：{event['from']} → "
                                           f"{event['level']}）"}])
        elif kind == "update" and any(rank <= reached for rank, _ in
                                      messages.get(event.get("audience"), [])):
            owed = [name for rank, name in messages[event["audience"]] if rank <= reached]
            what = "管理层简报" if event["audience"] == "management" else "公众告知"
            inject.update(subject=f"请发布{what}", method="e-mail",
                          expect=[{"action": "send", "obligation": owed[-1],
                                   "audience": event["audience"], "within": "2h",
                                   "objective": "O2", "task": f"发布{what}（{owed[-1]}）"}])
        elif kind == "bulk" and event.get("action") == "escalated":
            inject.update(subject="批量升级：" + text[:60], method="chat",
                          expect=[{"action": "escalate", "within": "1h", "objective": "O3",
                                   "task": "升级受影响的工单"}])
        else:
            subject = {"role": "交接班", "update": "现场通报", "task": "任务",
                       "note": "记录"}.get(kind, "通报")
            inject.update(subject=f"{subject}：{text[:60]}" if text else subject)
        inject["subject"] = inject["subject"][:200] or "通报"
        out.append(inject)
    return out

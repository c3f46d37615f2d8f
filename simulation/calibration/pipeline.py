"""From a log to a fitted model and a runnable scenario: the steps in order, and the file.

read (contacts.py) -> choose the training days -> fit arrivals (profile.py), service or
resolve time and patience (service.py), presence and availability (staffing.py) -> write the
scenario of the forecast days (build.py) under a header that says what was fitted, with the
intervals, and on what. The licence line of the bundled ServiceNow excerpt is written only
when the log is that excerpt: a user's own data carries no one else's licence.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from simulation.calibration.build import (Model, duration_text, label, load_data,
                                          scenario_data)
from simulation.calibration.contacts import Contacts, Period
from simulation.calibration.fit import ATTRIBUTION
from simulation.calibration.profile import fit_profile
from simulation.calibration.service import fit_patience, fit_times
from simulation.calibration.staffing import (Availability, Presence, fit_availability,
                                             presence)
from simulation.errors import SimulationError
from simulation.scenario.history import EXCERPT

__all__ = ["Calibrated", "calibrate_contacts", "parse_period", "parse_thresholds",
           "periods", "licence_for", "write_calibrated", "scenario_header",
           "DEFAULT_THRESHOLDS", "MARK", "dispersion_text"]

DEFAULT_THRESHOLDS = (20.0, 60.0)
"""Service-level thresholds (seconds) of a call log when none are given."""
MARK = "muster calibrate"
"""Written in the header: a file holding it near the top may be overwritten."""


@dataclass(frozen=True)
class Calibrated:
    """The fitted model of a training period, and how it was fitted."""

    contacts: Contacts
    model: Model
    presence: Presence | None = None
    availability: Availability | None = None


def parse_period(text: str, option: str) -> Period:
    """'FROM..TO' (ISO dates, both included) -> Period; a SimulationError naming the option."""
    m = re.fullmatch(r"\s*(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})\s*", text or "")
    hint = f"write {option} FROM..TO as dates, e.g. 1999-02-01..1999-02-14"
    if m is None:
        raise SimulationError(f"{option} {text!r}: {hint}")
    try:
        first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
    except ValueError as exc:
        raise SimulationError(f"{option} {text!r}: {exc}; {hint}") from None
    if last < first:
        raise SimulationError(f"{option} {text!r}: ends before it starts")
    return Period(first, last)


def parse_thresholds(text: str) -> tuple[float, ...]:
    """'20s,60s,2m' -> seconds; a SimulationError naming the bad one."""
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?", part)
        if m is None or float(m.group(1)) <= 0:
            raise SimulationError(f"--service-level {part!r}: write waits like 20s, 60s, 2m")
        unit = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[m.group(2) or "s"]
        out.append(float(m.group(1)) * unit)
    return tuple(sorted(set(out)))


def periods(contacts: Contacts, train: Period | None,
            forecast: Period | None) -> tuple[Period, Period]:
    """The training days (default: the whole log) and the forecast days (default: the
    7 days after training), each checked against the log."""
    span = contacts.span
    train = train or span
    if train.last < span.first or train.first > span.last:
        raise SimulationError(f"{contacts.file}: --train {train} is outside the log, which "
                              f"runs {span}")
    if not len(contacts.between(train)):
        raise SimulationError(f"{contacts.file}: no contacts in --train {train}")
    forecast = forecast or Period(train.last + timedelta(days=1),
                                  train.last + timedelta(days=7))
    return train, forecast


def licence_for(path: str | Path) -> str | None:
    """The attribution line to print with results, for the bundled excerpt only."""
    p = Path(path)
    try:
        if p.resolve() == EXCERPT.resolve():
            return ATTRIBUTION
        if p.is_file() and p.stat().st_size == EXCERPT.stat().st_size:
            digest = hashlib.sha256(p.read_bytes()).digest()
            if digest == hashlib.sha256(EXCERPT.read_bytes()).digest():
                return ATTRIBUTION
    except OSError:
        return None
    return None


def calibrate_contacts(contacts: Contacts, train: Period, *,
                       thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS,
                       reps: int | None = None, seed: int = 1, days: bool = False,
                       licence: str | None = None,
                       tick: Callable[[], None] | None = None) -> Calibrated:
    """Fit everything to the training days (see the module notes); the availability of a
    typical week, or with `days` of the training days themselves (staffing.py)."""
    data = contacts.between(train)
    profile = fit_profile(contacts, train)
    if contacts.kind == "tickets":
        resolve = fit_times(data.service[data.served], "resolve time")
        model = Model(kind="tickets", source=Path(contacts.file).name, tz=contacts.tz,
                      train=train, profile=profile, service=resolve, licence=licence)
        return Calibrated(contacts=contacts, model=model)
    service = fit_times(data.service[data.served], "service time")
    off = data.offered
    patience = fit_patience(data.wait[off], data.abandoned[off]) \
        if data.abandoned.sum() >= 5 else None
    seen = presence(contacts, train)
    if seen.agents == 0:
        raise SimulationError(f"{contacts.file}: no agent seen serving in {train}: staffing "
                              "cannot be read from the log (is there an agent column?)")
    model = Model(kind="calls", source=Path(contacts.file).name, tz=contacts.tz, train=train,
                  profile=profile, service=service, patience=patience,
                  weekly_presence=seen.weekly, thresholds=thresholds, licence=licence)
    fit = fit_availability(model, contacts, seen, days=days, reps=reps, seed=seed, tick=tick)
    model = replace(model, availability=fit.factor)
    return Calibrated(contacts=contacts, model=model, presence=seen, availability=fit)


def scenario_header(cal: Calibrated, forecast: Period) -> list[str]:
    """The comment lines above a written scenario: what was fitted, how sure, on what."""
    m, c = cal.model, cal.contacts
    p = m.profile
    what = "calls" if m.kind == "calls" else "tickets"
    lines = [f"Scenario written by `{MARK}` from {m.source}; edit freely.",
             f"Trained on {m.train} ({p.arrivals:,} {what}); runs {forecast}, time zone "
             f"{m.tz}.",
             f"Arrivals: weekday-by-hour profile, {p.base_rate:.2f} an hour on average; trend "
             f"{p.trend:+.1%} a week [{p.trend_low:+.1%}, {p.trend_high:+.1%}] "
             + ("(used)" if p.trend_used else "(not used: its interval holds zero)")
             + f"; day-to-day dispersion {dispersion_text(p.dispersion)} (1 = Poisson)."]
    s = m.service
    d = duration_text
    lines.append(f"{s.what.capitalize()}: mean {d(s.mean)} [{d(s.mean_low)}, "
                 f"{d(s.mean_high)}], p50 {d(s.p50)}, p90 {d(s.p90)}, n {s.n:,}; "
                 f"written as {s.family}.")
    if m.patience is not None:
        q = m.patience
        lines.append(f"Patience: Kaplan-Meier to {q.cut:.0f} s, then "
                     + (f"exponential, mean {q.exp_mean:.0f} s [{q.exp_low:.0f}, "
                        f"{q.exp_high:.0f}]" if q.tail == "exponential" else
                        f"Weibull shape {q.weibull_shape:.2f} [{q.shape_low:.2f}, "
                        f"{q.shape_high:.2f}], scale {q.weibull_scale:.0f} s")
                     + f" ({q.abandoned:,} of {q.n:,} calls gave up; exponential against "
                     f"Weibull p = {q.lr_p:.2g}).")
    if cal.availability is not None and cal.presence is not None:
        a = cal.availability
        act, sim = a.actual, a.simulated
        lines.append(f"Staffing: {cal.presence.agents} agents seen serving, "
                     f"{cal.presence.agent_hours:,.0f} agent-hours; availability "
                     f"{a.factor:.3f} [{a.low:.3f}, {a.high:.3f}] fitted by simulation of the "
                     f"training days: mean wait {sim['mean_wait']:.1f} s (log "
                     f"{act['mean_wait']:.1f} s), abandonment {sim['abandonment']:.1%} (log "
                     f"{act['abandonment']:.1%})"
                     + "".join(f", within {label(t)} {sim['within'][t]:.1%} (log "
                               f"{act['within'][t]:.1%})" for t in m.thresholds) + ".")
        if a.note:
            lines.append(f"Note: {a.note}.")
    for note in c.notes:
        lines.append(f"Read: {note}.")
    if m.licence:
        lines.append(m.licence)
    return lines


def dispersion_text(value: float) -> str:
    """The dispersion, or why there is none."""
    return "unknown (one week cannot tell)" if math.isnan(value) else f"{value:.1f}"


def write_calibrated(cal: Calibrated, forecast: Period, out: Path,
                     data: dict[str, Any] | None = None) -> Path:
    """Write the scenario of the forecast days; refuse to overwrite anything but a
    previous calibration. The written file must load."""
    if out.exists():
        try:
            head = out.read_text(encoding="utf-8", errors="replace")[:400]
        except OSError as exc:
            raise SimulationError(f"{out}: cannot read: {exc.strerror or exc}") from None
        if MARK not in head:
            raise SimulationError(f"{out}: exists and was not written by muster calibrate; "
                                  "choose another --out")
    if data is None:
        data = scenario_data(cal.model, forecast, name=_name(cal.model.source),
                             description=f"Calibrated by muster calibrate from "
                                         f"{cal.model.source}, trained on {cal.model.train}.")
    load_data(data)  # what we write must load
    header = "".join(f"# {line}\n" for line in scenario_header(cal, forecast))
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None,
                          width=100)
    try:
        out.write_text(header + body, encoding="utf-8")
    except OSError as exc:
        raise SimulationError(f"{out}: cannot write: {exc.strerror or exc}") from None
    return out


def _name(source: str) -> str:
    stem = re.sub(r"[^0-9A-Za-z_-]+", "-", Path(source).stem.split(".")[0]).strip("-")
    return f"calibrated-{stem or 'log'}"[:80]

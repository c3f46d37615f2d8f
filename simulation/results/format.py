"""Numbers as a planner reads them: shares, durations and money with their 95% CIs.

Used by the Markdown report and the terminal summary alike, so both say the same thing the
same way. A "stat" is what `replications.summarise` makes of a numeric leaf: a dict with
`mean` and `half_width` (None when undefined, or with one replication).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["mean_of", "half_of", "pct", "minutes", "dur", "num", "scaled", "clean", "table",
           "signed_pct", "signed_dur", "signed_num", "COST_LABELS"]

COST_LABELS = {"wages": "wages", "contractors": "contractors", "overtime": "overtime",
               "parts": "parts", "holding": "parts holding", "transfers": "parts transfers",
               "sla_penalties": "SLA penalties", "lost_customers": "lost customers",
               "open_past_deadline": "open past deadline"}
"""The cost parts as the report's table and the costs plot name them."""


def mean_of(stat: Any) -> float | None:
    return stat.get("mean") if isinstance(stat, dict) else None


def half_of(stat: Any) -> float | None:
    return stat.get("half_width") if isinstance(stat, dict) else None


def pct(stat: Any) -> str:
    """A share as "97.1% ± 0.8%" (no ± with one replication; "n/a" when undefined)."""
    mean, half = mean_of(stat), half_of(stat)
    if mean is None:
        return "n/a"
    return f"{100 * mean:.1f}%" + (f" ± {100 * half:.1f}%" if half is not None else "")


def minutes(value: float | None) -> str:
    """A duration in minutes in the unit a reader thinks in: 40 s, 4.5 min, 45 min, 3.2 h,
    2.5 d."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    size = abs(value)
    if size < 1:
        return f"{value * 60:.0f} s"
    if size < 10:
        return f"{value:.1f} min"
    if size < 120:
        return f"{value:.0f} min"
    if size < 2 * 1440:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} d"


def dur(stat: Any) -> str:
    mean, half = mean_of(stat), half_of(stat)
    return minutes(mean) + (f" ± {minutes(half)}" if mean is not None and half is not None
                            else "")


def num(stat: Any, digits: int = 0) -> str:
    mean, half = mean_of(stat), half_of(stat)
    if mean is None:
        return "n/a"
    return f"{mean:,.{digits}f}" + (f" ± {half:,.{digits}f}" if half is not None else "")


def _sign(value: float, text: str) -> str:
    """A plus sign before a positive difference, none before one that rounds to zero."""
    shown = text.lstrip("-")
    if value > 0 and any(c in "123456789" for c in shown.split(" ")[0]):
        return "+" + text
    return shown if not any(c in "123456789" for c in shown.split(" ")[0]) else text


def signed_pct(stat: Any) -> str:
    """A difference of shares in percentage points: "+3.2 pts ± 1.1"."""
    mean, half = mean_of(stat), half_of(stat)
    if mean is None:
        return "n/a"
    return _sign(mean, f"{100 * mean:.1f} pts") + (f" ± {100 * half:.1f}" if half is not None
                                                   else "")


def signed_dur(stat: Any) -> str:
    mean, half = mean_of(stat), half_of(stat)
    if mean is None:
        return "n/a"
    return _sign(mean, minutes(mean)) + (f" ± {minutes(half)}" if half is not None else "")


def signed_num(stat: Any, digits: int = 0) -> str:
    mean, half = mean_of(stat), half_of(stat)
    if mean is None:
        return "n/a"
    return _sign(mean, f"{mean:,.{digits}f}") + (f" ± {half:,.{digits}f}" if half is not None
                                                 else "")


def scaled(stat: Any, k: float) -> dict[str, float | None]:
    """A stat in other units (minutes -> hours)."""
    mean, half = mean_of(stat), half_of(stat)
    return {"mean": None if mean is None else mean * k,
            "half_width": None if half is None else half * k}


def clean(value: Any) -> Any:
    """NaN and infinities (not JSON) as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(head: list[str], rows: list[list[object]], text: int = 1) -> list[str]:
    """A Markdown table; the first `text` columns are left-aligned, the numbers right."""
    align = ["---"] * text + ["--:"] * (len(head) - text)
    return ["| " + " | ".join(map(_cell, head)) + " |", "| " + " | ".join(align) + " |",
            *("| " + " | ".join(map(_cell, r)) + " |" for r in rows), ""]

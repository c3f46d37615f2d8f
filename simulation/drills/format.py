"""KPIs as a reader takes them in, shared by the report, the terminal and the app.

Kept apart from the report (aar.py, which draws with matplotlib) so that the commands and
screens that only print figures start fast.
"""

from __future__ import annotations

from typing import Any

from simulation.drills.scoring import KPI_LABELS

__all__ = ["fmt_kpi", "interval_text", "measure_text"]


def fmt_kpi(key: str, value: float | None, signed: bool = False) -> str:
    """A KPI as a reader takes it in: 97.5%, 45 min, 12.0 h, 1,234 (a difference signed,
    no sign on one that rounds to zero)."""
    if value is None:
        return "n/a"
    unit = KPI_LABELS[key][1]
    if unit == "share":
        text = f"{100 * value:.1f}{' pts' if signed else '%'}"
    elif unit == "minutes":
        text = f"{value:.0f} min"
    elif unit == "hours":
        text = f"{value:.1f} h"
    else:
        text = f"{value:,.0f}"
    if text.startswith("-") and not any(c in "123456789" for c in text):
        text = text[1:]  # -0.0 pts
    if signed and not text.startswith("-") and any(c in "123456789" for c in text):
        text = "+" + text
    return text


def measure_text(part: str, value: float | None) -> str:
    """An outcome part's measure (scoring.OUTCOME_PARTS, oriented so that higher is better)
    as the reader knows it: attainment in percent, customers and money as positive counts."""
    if value is None:
        return "n/a"
    return {"service": f"{100 * value:.1f}%", "customers_lost": f"{-value:,.0f}",
            "cost": f"{-value:,.0f}", "communications": f"{value:+.0f}"}[part]


def interval_text(key: str, d: Any) -> str:
    """A paired difference (otherdays.Difference) with its interval, real or noise."""
    if d.mean is None:
        return "n/a"
    if d.low is None or d.high is None:
        return fmt_kpi(key, d.mean, True)
    return (f"{fmt_kpi(key, d.mean, True)} [{fmt_kpi(key, d.low, True)}, "
            f"{fmt_kpi(key, d.high, True)}] {'real' if d.real else 'noise'}"
            + (" (BCa)" if d.method.startswith("BCa") else ""))

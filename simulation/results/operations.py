"""Staff, stock and money, measured by window: while incidents arrive, and while the rest drain.

A planner sizing for a surge asks how busy people were *while the work came in*; the quiet
drain at the end of a run (open cases followed to their close, nobody new arriving) would
halve that figure if it were averaged in. So every resource total is measured over windows:
`arrivals` = [warm-up, horizon), `drain` = [horizon, end], and `measured` = both together;
the warm-up [0, warm-up) is left out of everything, as the case metrics leave out the cases
opened in it. The world snapshots its running totals at the window edges (world.py), so a
window's value is a difference of two snapshots, computed here.

Utilisation is busy time over on-duty time, where on-duty time includes the minutes people
worked past the end of their shift to finish a job (`overrun`): busy time never exceeds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.results.common import STOCK_POINTS, TIERS, LogView, case_mask, share

if TYPE_CHECKING:
    from simulation.model.world import Results

__all__ = ["MEASURED", "utilisation", "stock", "costs", "window_bounds"]

MEASURED = ("arrivals", "drain")
"""The windows that make up the measured part of a run (the warm-up is left out)."""


def window_bounds(results: Results) -> dict[str, tuple[float, float]]:
    """Start and end minute of each measured window and of the whole measured span."""
    return {"arrivals": (results.warmup, results.horizon),
            "drain": (results.horizon, max(results.end, results.horizon)),
            "measured": (results.warmup, max(results.end, results.horizon))}


def _windows(item: dict[str, Any]) -> dict[str, dict[str, float]]:
    """arrivals, drain, and measured (their sum) totals of a pool or stock."""
    w = item["windows"]
    out = {name: dict(w[name]) for name in MEASURED}
    out["measured"] = {k: w["arrivals"][k] + w["drain"][k] for k in w["arrivals"]}
    return out


def utilisation(results: Results) -> dict[str, dict[str, Any]]:
    """Per pool and window: busy, on-duty (with overrun), scheduled, overtime and overrun
    minutes, and utilisation = busy / on-duty."""
    out: dict[str, dict[str, Any]] = {}
    for name, pool in results.pools.items():
        out[name] = {}
        for window, t in _windows(pool).items():
            out[name][window] = {**{k: float(v) for k, v in t.items()},
                                 "utilisation": share(t["busy_minutes"], t["on_duty_minutes"])}
    return out


def _series(t: np.ndarray, level: np.ndarray, initial: float,
            end: float) -> dict[str, list[float]]:
    t = np.concatenate([[0.0], t])
    level = np.concatenate([[float(initial)], level])
    last = np.concatenate([t[1:] != t[:-1], [True]])  # moves at one minute: the level after
    t, level = t[last], level[last]
    if t.size > STOCK_POINTS and end > 0:
        bins = np.minimum((t / end * STOCK_POINTS).astype(np.int64), STOCK_POINTS - 1)
        starts = np.flatnonzero(np.concatenate([[True], bins[1:] != bins[:-1]]))
        level = np.minimum.reduceat(level, starts)
        t = bins[starts] * (end / STOCK_POINTS)
    return {"minute": t.tolist(), "on_hand": level.tolist()}


def stock(results: Results, log: LogView) -> dict[str, dict[str, Any]]:
    """Per SKU and window: fill rate (units filled from the shelf at once / units asked
    for), stock-out minutes and share, units used, transfers; and the on-hand level over the
    whole run (a time series, for the plot)."""
    ev = log("stock")
    waits = log("parts_wait")
    bounds = window_bounds(results)
    out: dict[str, dict[str, Any]] = {}
    for sku, s in results.stock.items():
        code = log.code(sku)
        # The level is rebuilt from the movements rather than read from x: a receipt's x is
        # logged before the backorders it fills are served; each such fill is one
        # parts_wait event (same minute, b units), so the running sum is the true level.
        mine, served = ev["a"] == code, waits["a"] == code
        t = np.concatenate([ev["t"][mine], waits["t"][served]])
        delta = np.concatenate([ev["b"][mine], -waits["b"][served]]).astype(float)
        order = np.argsort(t, kind="stable")
        level = float(s["initial"]) + np.cumsum(delta[order])
        row: dict[str, Any] = {}
        for window, w in _windows(s).items():
            lo, hi = bounds[window]
            row[window] = {
                "demand_units": w["demand_units"], "filled_units": w["filled_units"],
                "fill_rate": share(w["filled_units"], w["demand_units"]),
                "consumed_units": w["consumed_units"], "out_minutes": w["out_minutes"],
                "ordered_units": w.get("ordered_units", 0.0),
                "out_share": share(w["out_minutes"], hi - lo), "transfers": w["transfers"]}
        out[sku] = {**row, "on_hand_end": float(s["on_hand"]), "initial": float(s["initial"]),
                    "reorder_point": float(s["reorder_point"]),
                    "series": _series(t[order], level, s["initial"], results.end)}
    return out


def costs(results: Results, log: LogView, cases: dict[str, np.ndarray],
          counted: np.ndarray, lost: np.ndarray | None = None) -> dict[str, Any]:
    """What each window cost, by kind; `total` is the sum of every other entry (no cost is
    counted that is not shown).

    Spending: scheduled minutes include overtime minutes, so base pay is for scheduled minus
    overtime, and overtime is paid at wage x (1 + premium), never twice; so is staff overrun
    (working past the shift end to finish a job). Contractors are paid the scenario's
    contractor rate for every minute on duty, overrun included. Parts: units ordered from
    the supplier x unit cost, in the window the order was placed (`costs.parts_charged:
    ordered`, the default), or units fitted (`used`); holding: units on the shelf x time x
    unit cost x `costs.holding_rate` per year; transfers: each transfer's cost.
    The price of lost service: SLA penalties for each breach of a counted case, in the
    window it happened; each lost customer (gave up or withdrew: `lost`, the minute) at the
    tier's `lost_customer` price; each case still open at the end of the run with a missed
    deadline at the tier's `open_past_deadline` price (booked at the end)."""
    rates = results.scenario.scenario.costs
    bounds = window_bounds(results)
    breach = log("breach")
    keep = case_mask(breach["case"], counted)
    b_time = breach["t"][keep]
    b_tier = cases["tier"][breach["case"][keep]] if keep.any() else np.zeros(0, dtype=int)

    def prices(table: dict[Any, float]) -> np.ndarray:
        named = {getattr(k, "value", k): float(v) for k, v in table.items()}
        return np.array([named.get(tier, 0.0) for tier in TIERS])

    penalty, lost_price, open_price = (prices(rates.sla_penalty), prices(rates.lost_customer),
                                       prices(rates.open_past_deadline))
    gone = ~np.isnan(lost) if lost is not None else np.zeros(cases["tier"].shape, dtype=bool)
    l_time, l_tier = (lost[gone], cases["tier"][gone]) if gone.any() else (
        np.zeros(0), np.zeros(0, dtype=int))
    still_open = counted & np.isnan(cases["closed"])
    late = np.zeros(still_open.shape, dtype=bool)
    late[breach["case"][keep]] = True
    open_late = np.bincount(cases["tier"][still_open & late].astype(np.int64),
                            minlength=len(TIERS))
    years = 1.0 / (365.0 * 1440.0)
    out: dict[str, Any] = {}
    for window in ("arrivals", "drain", "measured"):
        wages = contractors = overtime = 0.0
        for pool in results.pools.values():
            w = _windows(pool)[window]
            if pool["contractor"]:
                contractors += w["on_duty_minutes"] / 60.0 * rates.contractor_rate
                continue
            wage = pool["wage_per_hour"]
            base = max(w["capacity_minutes"] - w["overtime_minutes"], 0.0)
            wages += base / 60.0 * wage
            overtime += ((w["overtime_minutes"] + w["overrun_minutes"]) / 60.0 * wage
                         * (1.0 + rates.overtime_premium))
        parts = holding = transfers = 0.0
        for s in results.stock.values():
            w = _windows(s)[window]
            units = w.get("ordered_units", 0.0) if rates.parts_charged == "ordered" \
                else w["consumed_units"]
            parts += units * s["unit_cost"]
            holding += w.get("held_unit_minutes", 0.0) * years * s["unit_cost"] \
                * rates.holding_rate
            transfers += w["transfer_cost"]
        lo, hi = bounds[window]

        def inside(t: np.ndarray) -> np.ndarray:
            return (t >= lo) & ((t < hi) if window == "arrivals" else (t <= hi))

        hit, gone_in = inside(b_time), inside(l_time)
        by_tier = {tier: float(((b_tier == t) & hit).sum() * penalty[t])
                   for t, tier in enumerate(TIERS)}
        lost_by = {tier: float(((l_tier == t) & gone_in).sum() * lost_price[t])
                   for t, tier in enumerate(TIERS)}
        left = float((open_late * open_price).sum()) if window != "arrivals" else 0.0
        row = {"wages": wages, "contractors": contractors, "overtime": overtime,
               "parts": float(parts), "holding": float(holding), "transfers": float(transfers),
               "sla_penalties": float(sum(by_tier.values())),
               "lost_customers": float(sum(lost_by.values())), "open_past_deadline": left}
        out[window] = {**row, "total": float(sum(row.values())), "sla_penalties_by_tier": by_tier,
                       "lost_customers_by_tier": lost_by,
                       "open_past_deadline_cases": int(open_late.sum())
                       if window != "arrivals" else 0}
    return out

"""The scenario language's limits: every number a user writes is finite and in range.

Each limit is refused where it is crossed, with the key and the limit named, so a typo such
as `horizon: 100000d` fails at once instead of looking like a hung simulator. The reference
table is in docs/scenarios.md ("Limits"); counts shared with playbooks live in
incidents/model.py, durations in incidents/sla.py.
"""

from __future__ import annotations

__all__ = ["MAX_RUN_DAYS", "MIN_SIGNAL_INTERVAL_MINUTES", "MAX_RATE_PER_HOUR",
           "MAX_SURGE_FACTOR", "MIN_SURGE_MINUTES", "MAX_WEIGHT", "MAX_OVERTIME_PREMIUM",
           "MAX_SLOWDOWN", "MAX_PLAN_STEPS", "MAX_PEAK_ARRIVALS", "START_YEARS", "MAX_SPEED",
           "MAX_DRILL_ITEMS"]

MAX_RUN_DAYS = 3660
"""Longest run: `horizon` plus `drain`, 10 years. A planner asks about weeks or months; a
typo such as `horizon: 100000d` must be refused at once, not look like a hung simulator."""

MIN_SIGNAL_INTERVAL_MINUTES = 1.0
"""Shortest `signal_interval`. Signals are measured over the whole run at this interval, so
0.001m would mean billions of measurements; emergency levels never need more than a minute."""

MAX_RATE_PER_HOUR = 100_000.0
"""Highest `demand.base_rate` and `queue.arrival_rate`, in arrivals per hour: about a
thousand times a busy regional service centre (MAX_PEAK_ARRIVALS bounds the whole run)."""

MAX_SURGE_FACTOR = 1000.0
"""Highest multiplier of a surge or a `demand_spike` inject."""

MIN_SURGE_MINUTES = 1 / 60
"""Shortest spike `decay` and step or ramp `duration` (of a surge or a `demand_spike`): a
second. Zero divides by zero (the spike decays as exp(-t / decay), the ramp climbs over its
duration) and a few nanoseconds overflow the same division; a step of no length is a typo."""

MAX_WEIGHT = 1e6
"""Highest relative weight (hourly and weekly profiles, mix and product shares, tier
weights): weights are normalised, so only ratios matter, and a million to one is already
past any real mix."""

MAX_OVERTIME_PREMIUM = 10.0
"""Highest `costs.overtime_premium`: an overtime hour costs at most 11 times the wage."""

MAX_SLOWDOWN = 1000.0
"""Highest `slowdown` of a `crm_outage` inject."""

MAX_PLAN_STEPS = 100_000
"""Longest staff plan: over eleven years of hours."""

MAX_PEAK_ARRIVALS = 50_000_000
"""Most arrivals a run may draw: the peak rate (base rate x busiest hour x busiest day x every
surge at once) over the whole horizon. Arrivals are drawn by thinning at that peak rate, and a
run handles about ten thousand incidents a second, so more would run for hours."""

START_YEARS = (1900, 2999)
"""First and last year of `start`: the calendar arithmetic looks years either side of a run,
and Python's dates end in the year 9999."""

MAX_SPEED = 3600.0
"""Fastest drill speed: an hour of simulated time per second of play."""

MAX_DRILL_ITEMS = 1000
"""Most injects, objectives, roles or participants in a drill: a drill is played by people."""

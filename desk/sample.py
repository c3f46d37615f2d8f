"""The quality-supervision sample: at least 5% of the cases closed in a month, at random,
reproducibly (industry service standard: a quality post samples at least 5% of service
records every month).

The draw is `random.Random(seed).sample` over the month's closed cases sorted by id; the seed
defaults to one derived from the month (`muster-quality:2026-12`), so anyone drawing the same
month from the same records gets the same cases, and giving another seed draws again. The
month is read in each case's playbook calendar zone. A drawn sample is recorded on the desk
(who drew it, the seed, the cases), so the quality post's work is on the timeline too.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from incidents.store import Pending

from desk.clock import instant
from desk.errors import DeskError
from desk.projection import DeskModel
from desk.settings import SETTINGS_STREAM

__all__ = ["MIN_SHARE", "Sample", "draw", "sample_pending", "month_seed"]

MIN_SHARE = 0.05


@dataclass(frozen=True)
class Sample:
    month: str
    seed: int
    share: float
    closed: list[str]
    """Every case closed in the month, by id."""
    cases: list[str]
    """The sample, in the order drawn."""


def month_seed(month: str) -> int:
    return int.from_bytes(hashlib.sha256(f"muster-quality:{month}".encode()).digest()[:8], "big")


def draw(model: DeskModel, month: str, *, share: float = MIN_SHARE,
         seed: int | None = None) -> Sample:
    """The sample of `month` (YYYY-MM): ceil(share x closed) cases, at least one if any."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise DeskError(model.where, f"month must be YYYY-MM, got {month!r}")
    if isinstance(share, bool) or not MIN_SHARE <= share <= 1:
        raise DeskError(model.where, f"share must be at least {MIN_SHARE:g} (the standard's "
                                     f"5%) and at most 1, got {share!r}")
    closed = sorted(v.id for v in model.cases.values() if v.closed_at is not None
                    and instant(v.closed_at).astimezone(ZoneInfo(v.book.zone))
                    .strftime("%Y-%m") == month)
    seed = month_seed(month) if seed is None else seed
    n = min(len(closed), math.ceil(share * len(closed) - 1e-9))
    return Sample(month, seed, share, closed, random.Random(seed).sample(closed, n))


def sample_pending(sample: Sample, actor: str) -> Pending:
    return Pending(SETTINGS_STREAM, "sample",
                   {"month": sample.month, "seed": sample.seed, "share": sample.share,
                    "closed": len(sample.closed), "cases": sample.cases}, actor=actor)


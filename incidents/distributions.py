"""How long a piece of work takes, as a distribution of minutes.

Playbooks (task durations) and scenarios (supplier lead times) describe uncertain durations in
YAML; the simulator draws from them millions of times. So, in the style of the Ciw library, a
distribution is a small immutable object: a validated constructor (bad YAML fails at load
time with the parameter named, never mid-run), ``sample(rng)`` (the caller owns the
``random.Random``, so a seed reproduces a whole run and parallel replications never share
state), analytic ``mean``/``variance`` (for reports and sanity checks without sampling), a
``to_yaml()`` that parses back to an equal object, and a ``repr`` that rebuilds it.

They are plain ``__slots__`` classes rather than pydantic models because ``sample`` sits on
the simulator's hot path; ``DistributionField`` lets pydantic models hold them anyway.
"""

from __future__ import annotations

import difflib
import math
import numbers
import random
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from statistics import NormalDist
from typing import Annotated, Any, ClassVar

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from incidents.errors import IncidentsError
from incidents.sla import MAX_DURATION_DAYS

__all__ = [
    "Distribution",
    "Fixed",
    "Exponential",
    "LogNormal",
    "Triangular",
    "Uniform",
    "Empirical",
    "parse_distribution",
    "FAMILIES",
    "DistributionField",
    "MAX_MINUTES",
]

MAX_MINUTES = MAX_DURATION_DAYS * 1440.0
"""Largest parameter (value, mean, sd, bound) of any distribution: 10 years, the longest
duration incidents.sla accepts. It also keeps every moment finite ((high - low)**2 overflows
past 1e154) and every lognormal draw inside the range of math.exp."""

# Deliberately tiny and private: incidents.sla owns the full duration grammar (with working
# time, which a sampled duration cannot use); these are its wall-clock units.
_UNITS: dict[str, float] = {
    "s": 1 / 60, "sec": 1 / 60, "secs": 1 / 60, "second": 1 / 60, "seconds": 1 / 60,
    "秒": 1 / 60, "秒钟": 1 / 60,
    "m": 1.0, "min": 1.0, "minute": 1.0, "minutes": 1.0, "分钟": 1.0,
    "h": 60.0, "hour": 60.0, "hours": 60.0, "小时": 60.0,
    "d": 1440.0, "day": 1440.0, "days": 1440.0, "天": 1440.0,
}
_DURATION = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(\D*?)\s*")
_UNIT_HELP = "s/sec/seconds, m/min/minutes, h/hours, d/days or 秒/分钟/小时/天"
_STANDARD_NORMAL = NormalDist()


def _minutes(value: object) -> float:
    """A number of minutes, or a duration string such as "30m", "1.5h", "2 days", "3天"."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an integer with hundreds of digits
            raise ValueError("the number is too large to be a duration in minutes") from None
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match is None:
            raise ValueError(f"cannot read {value!r} as a duration; write e.g. '30m', '2h', '1.5d'")
        number, unit = match.groups()
        factor = _UNITS.get(unit.lower(), None) if unit else 1.0
        if factor is None:
            raise ValueError(f"unknown unit {unit!r} in {value!r}; use {_UNIT_HELP}")
        return float(number) * factor
    raise ValueError(
        f"expected minutes as a number or a duration string like '30m', "
        f"got {type(value).__name__} {value!r}"
    )


def _num(x: float) -> str:
    """Show -3.0 as "-3" in messages, since users wrote -3."""
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


class Distribution(ABC):
    """A non-negative random duration in minutes; immutable, compared and hashed by value."""

    # The moments are computed once, in the constructor, next to each family's validation.
    __slots__ = ("_mean", "_variance")
    family: ClassVar[str]  # the YAML key, e.g. "exponential"
    fields: ClassVar[tuple[str, ...]]  # constructor parameters, in repr/YAML order

    @abstractmethod
    def sample(self, rng: random.Random) -> float:
        """One draw in minutes (never negative), using only the caller's generator."""

    @abstractmethod
    def quantile(self, u: float) -> float:
        """The inverse distribution function at `u` in [0, 1): a draw by inverse transform.

        Monotone in `u`, so runs that give a case the same uniform give it the same or a
        proportionally ordered duration: what common random numbers need."""

    @property
    def mean(self) -> float:
        """Analytic mean in minutes."""
        return self._mean  # type: ignore[no-any-return]

    @property
    def variance(self) -> float:
        """Analytic variance in minutes squared (math.inf where undefined)."""
        return self._variance  # type: ignore[no-any-return]

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.fields)

    def to_yaml(self) -> object:
        """Canonical YAML form in plain minutes; parse_distribution() gives back an equal one."""
        return {self.family: dict(zip(self.fields, self._values()))}

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={v!r}" for n, v in zip(self.fields, self._values()))
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __setattr__(self, name: str, value: object) -> None:
        # Hash by value is only safe if nobody can change the value afterwards.
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        # Slots plus a blocking __setattr__ would defeat the default pickle/copy protocol.
        return (type(self), self._values())

    def _set(self, **attrs: object) -> None:
        for name, value in attrs.items():
            object.__setattr__(self, name, value)

    def _param(self, name: str, value: object, *, positive: bool = False) -> float:
        """Read one parameter as finite minutes >= 0 (> 0 if positive), naming it on failure."""
        label = f"{type(self).__name__}: {name}"
        try:
            x = _minutes(value)
        except ValueError as exc:
            raise IncidentsError(f"{label}: {exc}") from None
        if not math.isfinite(x):
            raise IncidentsError(f"{label} must be finite, got {x!r}")
        if positive and x <= 0:
            raise IncidentsError(f"{label} must be > 0, got {_num(x)}")
        if x < 0:
            raise IncidentsError(f"{label} must be >= 0, got {_num(x)}")
        if x > MAX_MINUTES:
            raise IncidentsError(f"{label} must be at most {MAX_DURATION_DAYS} days (10 years, "
                                 f"{MAX_MINUTES:,.0f} minutes), got {_num(x)} minutes")
        return x + 0.0  # normalise -0.0 so that repr and YAML never show a minus sign


class Fixed(Distribution):
    """Always the same duration: scripted drills and steps with a contractual time."""

    __slots__ = ("value",)
    family, fields = "fixed", ("value",)
    value: float

    def __init__(self, value: float | str) -> None:
        v = self._param("value", value)
        self._set(value=v, _mean=v, _variance=0.0)

    def sample(self, rng: random.Random) -> float:
        return self.value

    def quantile(self, u: float) -> float:
        return self.value

    def to_yaml(self) -> object:
        return {"fixed": self.value}


class Exponential(Distribution):
    """Memoryless waits, e.g. time until a callback; one parameter, the mean."""

    __slots__ = ("_rate",)
    family, fields = "exponential", ("mean",)

    def __init__(self, mean: float | str) -> None:
        m = self._param("mean", mean, positive=True)
        self._set(_mean=m, _variance=m * m, _rate=1.0 / m)

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(self._rate)

    def quantile(self, u: float) -> float:
        return -math.log1p(-u) * self._mean


class LogNormal(Distribution):
    """Right-skewed task times (most repairs quick, a few very long).

    Parametrised by the mean and standard deviation of the *samples*, because that is what
    engineers can estimate from a ticket history; mu/sigma of the underlying normal are derived.
    """

    __slots__ = ("sd", "mu", "sigma")
    family, fields = "lognormal", ("mean", "sd")
    sd: float
    mu: float
    sigma: float

    def __init__(self, mean: float | str, sd: float | str) -> None:
        m, s = self._param("mean", mean, positive=True), self._param("sd", sd)
        ratio = s / m  # first: s*s could overflow; ratio*ratio goes to inf, never raises
        sigma2 = math.log1p(ratio * ratio)
        if not math.isfinite(sigma2) or not math.isfinite(s * s):
            raise IncidentsError(f"LogNormal: sd is too large (sd={_num(s)}, mean={_num(m)})")
        self._set(_mean=m, _variance=s * s, sd=s,
                  mu=math.log(m) - sigma2 / 2.0, sigma=math.sqrt(sigma2))

    def sample(self, rng: random.Random) -> float:
        return rng.lognormvariate(self.mu, self.sigma)

    def quantile(self, u: float) -> float:
        if u <= 0.0:
            return 0.0
        return math.exp(self.mu + self.sigma * _STANDARD_NORMAL.inv_cdf(u))


class Triangular(Distribution):
    """Three-point (PERT-style) estimates: best case, most likely, worst case."""

    __slots__ = ("low", "mode", "high")
    family, fields = "triangular", ("low", "mode", "high")
    low: float
    mode: float
    high: float

    def __init__(self, low: float | str, mode: float | str, high: float | str) -> None:
        a, c, b = self._param("low", low), self._param("mode", mode), self._param("high", high)
        if not a <= c <= b:
            raise IncidentsError(f"Triangular: need low <= mode <= high, got low={_num(a)}, "
                                 f"mode={_num(c)}, high={_num(b)}")
        # (a²+b²+c²-ab-ac-bc)/18 rewritten as squared gaps: never negative by rounding.
        var = ((b - a) ** 2 + (c - a) ** 2 + (b - c) ** 2) / 36.0
        self._set(low=a, mode=c, high=b, _mean=(a + b + c) / 3.0, _variance=var)

    def sample(self, rng: random.Random) -> float:
        return rng.triangular(self.low, self.high, self.mode)  # stdlib order: low, high, mode

    def quantile(self, u: float) -> float:
        a, c, b = self.low, self.mode, self.high
        if b == a:
            return a
        split = (c - a) / (b - a)
        if u < split:
            return a + math.sqrt(u * (b - a) * (c - a))
        return b - math.sqrt((1.0 - u) * (b - a) * (b - c))


class Uniform(Distribution):
    """Only a range is known ("somewhere between two and four hours")."""

    __slots__ = ("low", "high")
    family, fields = "uniform", ("low", "high")
    low: float
    high: float

    def __init__(self, low: float | str, high: float | str) -> None:
        a, b = self._param("low", low), self._param("high", high)
        if not a < b:
            raise IncidentsError(f"Uniform: low must be < high, got low={_num(a)}, high={_num(b)}")
        self._set(low=a, high=b, _mean=a + (b - a) / 2.0, _variance=(b - a) ** 2 / 12.0)

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    def quantile(self, u: float) -> float:
        return self.low + (self.high - self.low) * u


class Empirical(Distribution):
    """Replay observed durations (e.g. last year's lead times) without fitting a family."""

    __slots__ = ("values", "_sorted")
    family, fields = "empirical", ("values",)
    values: tuple[float, ...]

    def __init__(self, values: Iterable[float | str]) -> None:
        if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
            raise IncidentsError(
                f"Empirical: values must be a list of durations, got {type(values).__name__}")
        xs = tuple(self._param(f"values[{i}]", v) for i, v in enumerate(values))
        if not xs:
            raise IncidentsError("Empirical: values must not be empty")
        m = math.fsum(xs) / len(xs)
        # Population variance: sampling picks each observed value with equal probability.
        self._set(values=xs, _mean=m, _variance=math.fsum((x - m) ** 2 for x in xs) / len(xs),
                  _sorted=tuple(sorted(xs)))

    def sample(self, rng: random.Random) -> float:
        return rng.choice(self.values)

    def quantile(self, u: float) -> float:
        """Each observed value with equal probability (the step inverse of the sorted data)."""
        values = self._sorted
        return values[min(int(u * len(values)), len(values) - 1)]

    def to_yaml(self) -> object:
        return {"empirical": list(self.values)}


_FAMILIES: dict[str, type[Distribution]] = {
    cls.family: cls for cls in (Fixed, Exponential, LogNormal, Triangular, Uniform, Empirical)
}
FAMILIES = frozenset(_FAMILIES)
"""The names of the distribution families (the one key of a distribution mapping)."""


def parse_distribution(spec: object) -> Distribution:
    """Build a distribution from its YAML form; raises IncidentsError (a ValueError) if bad.

    A bare number or duration string is a Fixed duration; otherwise a mapping with exactly
    one key, the family, whose body is its parameters (or, for one-parameter families, the
    parameter itself: ``{"exponential": "30m"}``, ``{"empirical": ["10m", 45]}``).
    """
    if isinstance(spec, (str, numbers.Real)) and not isinstance(spec, bool):
        return Fixed(spec)
    known = ", ".join(_FAMILIES)
    if not isinstance(spec, Mapping):
        raise IncidentsError(
            f"a distribution is a duration like '30m' or a mapping with one of {known}; "
            f"got {type(spec).__name__} {spec!r}"
        )
    if len(spec) != 1:
        raise IncidentsError(
            f"a distribution mapping needs exactly one key (the family, one of {known}); "
            f"got {sorted(map(str, spec))}"
        )
    ((key, body),) = spec.items()
    name = str(key).strip().lower()
    cls = _FAMILIES.get(name)
    if cls is None:
        close = difflib.get_close_matches(name, _FAMILIES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise IncidentsError(f"unknown distribution {key!r}; known: {known}{hint}")
    if not isinstance(body, Mapping):
        if len(cls.fields) == 1:
            return cls(body)  # type: ignore[call-arg]
        raise IncidentsError(
            f"{name} needs a mapping with {', '.join(cls.fields)}; got {type(body).__name__} "
            f"{body!r}"
        )
    given = [str(k) for k in body]
    unknown = [k for k in given if k not in cls.fields]
    missing = [f for f in cls.fields if f not in given]
    if unknown or missing:
        problems = []
        for k in unknown:
            close = difflib.get_close_matches(k, cls.fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown parameter {k!r}{hint}")
        problems += [f"missing parameter {f!r}" for f in missing]
        raise IncidentsError(
            f"{name}: {'; '.join(problems)}; expected exactly {', '.join(cls.fields)}"
        )
    return cls(**{str(k): v for k, v in body.items()})


def _coerce(value: object) -> Distribution:
    return value if isinstance(value, Distribution) else parse_distribution(value)


def _dump(value: Distribution) -> object:
    return value.to_yaml()


DistributionField = Annotated[
    Distribution,
    # PlainValidator (not Before + InstanceOf) so that JSON input validates too and pydantic
    # never tries to build a schema for the Distribution class itself.
    PlainValidator(_coerce),
    PlainSerializer(_dump),
    WithJsonSchema({
        "description": "Duration distribution in minutes: a number, a duration such as '30m', "
        "or a one-key mapping such as {'exponential': {'mean': '30m'}}. Families: "
        + ", ".join(_FAMILIES),
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "string"},
            {"type": "object", "minProperties": 1, "maxProperties": 1},
        ],
    }),
]
"""Annotation for pydantic fields holding a Distribution: parses YAML forms, dumps to_yaml()."""

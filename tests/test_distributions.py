"""Tests for incidents.distributions: moments, reproducibility, round trips, errors, pydantic."""

from __future__ import annotations

import copy
import math
import pickle
import random

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

import incidents.distributions as dist_mod
from incidents.distributions import (
    MAX_MINUTES,
    Distribution,
    DistributionField,
    Empirical,
    Exponential,
    Fixed,
    LogNormal,
    Triangular,
    Uniform,
    _minutes,
    parse_distribution,
)
from incidents.errors import IncidentsError

N = 200_000
Z = 5.0  # tolerance: 5 standard errors (two-sided p ~ 6e-7 per check for a correct sampler)


# --- analytic moments, written out independently of the implementation ---
# Each returns (mean, variance, fourth central moment m4); m4 gives the standard error of the
# sample variance: SE(s²) ≈ sqrt((m4 - var²) / n). SE of the sample mean is sqrt(var / n).


def exponential_moments(theta: float) -> tuple[float, float, float]:
    return theta, theta**2, 9 * theta**4


def lognormal_moments(mean: float, sd: float) -> tuple[float, float, float]:
    s2 = math.log(1 + sd**2 / mean**2)
    mu = math.log(mean) - s2 / 2
    m = math.exp(mu + s2 / 2)
    var = (math.exp(s2) - 1) * math.exp(2 * mu + s2)
    w = math.exp(s2)
    kurtosis = w**4 + 2 * w**3 + 3 * w**2 - 3  # not excess
    return m, var, kurtosis * var**2


def triangular_moments(a: float, c: float, b: float) -> tuple[float, float, float]:
    var = (a**2 + b**2 + c**2 - a * b - a * c - b * c) / 18
    return (a + b + c) / 3, var, 2.4 * var**2  # kurtosis of any triangular is 12/5


def uniform_moments(a: float, b: float) -> tuple[float, float, float]:
    return (a + b) / 2, (b - a) ** 2 / 12, (b - a) ** 4 / 80


def empirical_moments(xs: list[float]) -> tuple[float, float, float]:
    m = sum(xs) / len(xs)
    return m, sum((x - m) ** 2 for x in xs) / len(xs), sum((x - m) ** 4 for x in xs) / len(xs)


CASES = [
    (Exponential(mean=30), exponential_moments(30)),
    (LogNormal(mean=120, sd=60), lognormal_moments(120, 60)),
    (LogNormal(mean=10, sd=25), lognormal_moments(10, 25)),
    (Triangular(low=60, mode=120, high=240), triangular_moments(60, 120, 240)),
    (Triangular(low=0, mode=90, high=100), triangular_moments(0, 90, 100)),
    (Uniform(low=10, high=50), uniform_moments(10, 50)),
    (Empirical([10, 20, 45, 45, 90]), empirical_moments([10, 20, 45, 45, 90])),
]
IDS = [repr(d) for d, _ in CASES]

ALL = [d for d, _ in CASES] + [Fixed(30)]


@pytest.mark.parametrize(("d", "moments"), CASES, ids=IDS)
def test_sample_mean_and_variance_match_analytic(d: Distribution, moments: tuple) -> None:
    mean, var, m4 = moments
    rng = random.Random(20240601)
    xs = [d.sample(rng) for _ in range(N)]
    xbar = math.fsum(xs) / N
    s2 = math.fsum((x - xbar) ** 2 for x in xs) / (N - 1)
    assert abs(xbar - mean) <= Z * math.sqrt(var / N), (xbar, mean)
    assert abs(s2 - var) <= Z * math.sqrt((m4 - var**2) / N), (s2, var)
    # The analytic properties agree with the formulas above.
    assert d.mean == pytest.approx(mean, rel=1e-12)
    assert d.variance == pytest.approx(var, rel=1e-12)


def test_fixed_always_returns_its_value() -> None:
    d = Fixed("2h")
    rng = random.Random(1)
    assert {d.sample(rng) for _ in range(1000)} == {120.0}
    assert (d.mean, d.variance) == (120.0, 0.0)


def test_lognormal_underlying_parameters() -> None:
    d = LogNormal(mean=120, sd=60)
    s2 = math.log(1 + 0.25)
    assert d.sigma == pytest.approx(math.sqrt(s2))
    assert d.mu == pytest.approx(math.log(120) - s2 / 2)


# --- reproducibility ---


def draws(d: Distribution, seed: int, n: int = 200) -> list[float]:
    rng = random.Random(seed)
    return [d.sample(rng) for _ in range(n)]


@pytest.mark.parametrize("d", ALL, ids=repr)
def test_same_seed_same_sequence_and_global_rng_untouched(d: Distribution) -> None:
    state = random.getstate()
    try:
        random.seed(1)
        first = draws(d, 42)
        random.seed(2)  # reseeding the global generator must not matter
        assert draws(d, 42) == first
        before = random.getstate()
        draws(d, 3)
        assert random.getstate() == before  # and sampling must not consume it
    finally:
        random.setstate(state)


@pytest.mark.parametrize("d", ALL[:-1], ids=repr)
def test_different_seeds_differ(d: Distribution) -> None:
    assert draws(d, 1, 50) != draws(d, 2, 50)


# --- repr, YAML, equality ---


@pytest.mark.parametrize("d", ALL, ids=repr)
def test_repr_rebuilds(d: Distribution) -> None:
    rebuilt = eval(repr(d), vars(dist_mod))  # noqa: S307 - the point of the test
    assert rebuilt == d and type(rebuilt) is type(d)


def test_repr_text() -> None:
    assert repr(Exponential("30m")) == "Exponential(mean=30.0)"
    assert repr(LogNormal("2h", "1h")) == "LogNormal(mean=120.0, sd=60.0)"
    assert repr(Triangular(1, 2, 4)) == "Triangular(low=1.0, mode=2.0, high=4.0)"
    assert repr(Empirical(["10m", 20])) == "Empirical(values=(10.0, 20.0))"


@pytest.mark.parametrize("d", ALL, ids=repr)
def test_to_yaml_round_trips_through_real_yaml(d: Distribution) -> None:
    assert parse_distribution(d.to_yaml()) == d
    assert parse_distribution(yaml.safe_load(yaml.safe_dump(d.to_yaml()))) == d


def test_to_yaml_canonical_forms() -> None:
    assert Fixed("30m").to_yaml() == {"fixed": 30.0}
    assert Exponential(30).to_yaml() == {"exponential": {"mean": 30.0}}
    assert LogNormal("2h", "1h").to_yaml() == {"lognormal": {"mean": 120.0, "sd": 60.0}}
    assert Uniform(1, 2).to_yaml() == {"uniform": {"low": 1.0, "high": 2.0}}
    assert Empirical([1, "1h"]).to_yaml() == {"empirical": [1.0, 60.0]}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (30, Fixed(30)),
        ("30m", Fixed(30)),
        ({"fixed": "30m"}, Fixed(30)),
        ({"fixed": {"value": "1h"}}, Fixed(60)),
        ({"exponential": {"mean": "30m"}}, Exponential(30)),
        ({"exponential": "30m"}, Exponential(30)),
        ({"Exponential": "30m"}, Exponential(30)),
        ({"lognormal": {"mean": "2h", "sd": "1h"}}, LogNormal(120, 60)),
        ({"triangular": {"low": "1h", "mode": "2h", "high": "4h"}}, Triangular(60, 120, 240)),
        ({"uniform": {"low": "10 min", "high": "1.5h"}}, Uniform(10, 90)),
        ({"empirical": ["10m", "20m", 45]}, Empirical([10, 20, 45])),
        ({"empirical": {"values": [1, 2]}}, Empirical([1, 2])),
    ],
)
def test_parse_forms(spec: object, expected: Distribution) -> None:
    got = parse_distribution(spec)
    assert got == expected and type(got) is type(expected)


def test_equality_and_hash_by_value() -> None:
    assert Fixed(30) == Fixed("30m") == Fixed(30.0)
    assert hash(Fixed(30)) == hash(Fixed("0.5h"))
    assert Fixed(30) != Exponential(30)
    assert Uniform(1, 2) != Uniform(1, 3)
    assert len({Exponential(30), Exponential("30m"), Exponential(31)}) == 2


def test_immutable_and_picklable() -> None:
    d = Triangular(1, 2, 4)
    with pytest.raises(AttributeError):
        d.low = 0  # type: ignore[misc]
    assert d.low == 1.0
    assert pickle.loads(pickle.dumps(d)) == d
    assert copy.deepcopy(Empirical([1, 2])) == Empirical([1, 2])


# --- the private duration reader ---


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        (45, 45.0), (2.5, 2.5), ("45", 45.0), ("30m", 30.0), ("30 min", 30.0),
        ("30 minutes", 30.0), ("2h", 120.0), ("1.5h", 90.0), ("2 hours", 120.0),
        ("1d", 1440.0), ("1.5d", 2160.0), ("2 days", 2880.0), ("45分钟", 45.0),
        ("2小时", 120.0), ("3天", 4320.0), (" 1.5 H ", 90.0), ("20s", 1 / 3),
        ("20 sec", 1 / 3), ("20 seconds", 1 / 3), ("20秒", 1 / 3), ("90 secs", 1.5),
        ("1 second", 1 / 60),
    ],
)
def test_minutes_reads_durations(text: object, minutes: float) -> None:
    assert _minutes(text) == minutes


def test_seconds_in_a_distribution() -> None:
    assert parse_distribution("20s") == Fixed(1 / 3)
    assert parse_distribution({"uniform": {"low": "20s", "high": "40 seconds"}}) == \
        Uniform(1 / 3, 2 / 3)


@pytest.mark.parametrize("bad", ["45y", "1h30m", "", "abc", "m", "2 weeks", True, None, [1],
                                 pytest.param(10**400, id="huge-int")])
def test_minutes_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="unit|duration|expected minutes"):
        _minutes(bad)


# --- errors ---


def test_constructor_message_names_parameter() -> None:
    with pytest.raises(ValueError, match=r"^Exponential: mean must be > 0, got -3$"):
        Exponential(-3)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"exponential": {"mean": -3}}, "Exponential: mean must be > 0, got -3"),
        ({"exponential": 0}, "Exponential: mean must be > 0, got 0"),
        ({"fixed": -1}, "Fixed: value must be >= 0, got -1"),
        ({"fixed": float("inf")}, "Fixed: value must be finite"),
        ({"uniform": {"low": float("nan"), "high": 1}}, "Uniform: low must be finite"),
        ({"fixed": "45y"}, "Fixed: value: unknown unit 'y'"),
        ({"fixed": 10**400}, "Fixed: value: the number is too large to be a duration"),
        ({"fixed": "3661d"}, "Fixed: value must be at most 3660 days (10 years"),
        ({"triangular": {"low": 0, "mode": 0, "high": 1e308}}, "Triangular: high must be at most"),
        ({"lognormal": {"mean": 1e-300, "sd": "3660d"}}, "LogNormal: sd is too large"),
        ({"lognormal": {"mean": "2h"}}, "missing parameter 'sd'"),
        ({"lognormal": {"mean": 0, "sd": 1}}, "LogNormal: mean must be > 0"),
        ({"lognormal": {"mean": 1, "sd": -1}}, "LogNormal: sd must be >= 0"),
        ({"lognormal": {"mean": 1, "sdev": 1}}, "unknown parameter 'sdev' (did you mean 'sd'?)"),
        ({"lognormal": {"mean": 1, "sdev": 1}}, "expected exactly mean, sd"),
        ({"lognormal": "2h"}, "lognormal needs a mapping with mean, sd"),
        ({"triangular": {"low": 3, "mode": 2, "high": 4}}, "need low <= mode <= high"),
        ({"triangular": {"low": 1, "mode": 5, "high": 4}}, "mode=5, high=4"),
        ({"uniform": {"low": 2, "high": 2}}, "Uniform: low must be < high"),
        ({"empirical": []}, "Empirical: values must not be empty"),
        ({"empirical": ["10m", "x"]}, "Empirical: values[1]"),
        ({"empirical": "10m"}, "Empirical: values must be a list"),
        ({"exponental": 3}, "did you mean 'exponential'?"),
        ({"gamma": 3}, "known: fixed, exponential, lognormal, triangular, uniform, empirical"),
        ({"fixed": 1, "uniform": {}}, "exactly one key"),
        ({}, "exactly one key"),
        ([1, 2], "got list"),
        (None, "got NoneType"),
        (True, "got bool"),
    ],
)
def test_bad_specs(spec: object, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_distribution(spec)
    assert isinstance(info.value, IncidentsError)
    assert fragment in str(info.value)


# --- property tests ---

_minutes_st = st.floats(min_value=0, max_value=MAX_MINUTES, allow_nan=False,
                        allow_infinity=False)


@st.composite
def distributions(draw: st.DrawFn) -> Distribution:
    kind = draw(st.sampled_from(["fixed", "exp", "lognormal", "tri", "uniform", "emp"]))
    if kind == "fixed":
        return Fixed(draw(_minutes_st))
    if kind == "exp":
        return Exponential(draw(st.floats(min_value=1e-3, max_value=MAX_MINUTES)))
    if kind == "lognormal":
        return LogNormal(draw(st.floats(min_value=1e-3, max_value=MAX_MINUTES)),
                         draw(_minutes_st))
    if kind == "tri":
        a, c, b = sorted(draw(st.lists(_minutes_st, min_size=3, max_size=3)))
        return Triangular(a, c, b)
    if kind == "uniform":
        a, b = sorted(draw(st.lists(_minutes_st, min_size=2, max_size=2, unique=True)))
        return Uniform(a, b)
    return Empirical(draw(st.lists(_minutes_st, min_size=1, max_size=20)))


@settings(max_examples=300, deadline=None)
@given(distributions(), st.integers(min_value=0, max_value=2**32))
def test_samples_never_negative(d: Distribution, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        x = d.sample(rng)
        assert x >= 0 and math.isfinite(x), (d, x)
    assert d.mean >= 0 and d.variance >= 0


@settings(max_examples=200, deadline=None)
@given(distributions())
def test_round_trips_for_random_parameters(d: Distribution) -> None:
    assert parse_distribution(d.to_yaml()) == d
    assert eval(repr(d), vars(dist_mod)) == d  # noqa: S307


# --- pydantic ---


class Step(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    duration: DistributionField


def test_pydantic_field_parses_and_dumps() -> None:
    step = Step(name="diagnose", duration={"lognormal": {"mean": "2h", "sd": "1h"}})
    assert step.duration == LogNormal(120, 60)
    assert Step(name="x", duration="30m").duration == Fixed(30)
    inst = Exponential(30)
    assert Step(name="x", duration=inst).duration is inst
    assert step.model_dump() == {
        "name": "diagnose", "duration": {"lognormal": {"mean": 120.0, "sd": 60.0}}
    }
    assert Step.model_validate_json(step.model_dump_json()) == step
    assert hash(step) == hash(Step(name="diagnose", duration=LogNormal("2h", "60m")))
    with pytest.raises(ValidationError):
        step.duration = Fixed(1)  # type: ignore[misc]
    assert "anyOf" in Step.model_json_schema()["properties"]["duration"]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"exponental": "30m"}, "did you mean 'exponential'?"),
        ({"exponential": {"mean": -3}}, "Exponential: mean must be > 0, got -3"),
        ("45y", "unknown unit 'y'"),
    ],
)
def test_pydantic_field_reports_errors(spec: object, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        Step(name="x", duration=spec)
    (error,) = info.value.errors()
    assert error["loc"] == ("duration",)
    assert fragment in error["msg"]
    assert fragment in str(info.value)

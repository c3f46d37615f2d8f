"""Fuzzing every bundled scenario and playbook: bad input is a located error, never a crash.

Each bundled file is mutated the ways people and tools break files: a misspelt key, a value
replaced by .nan / .inf / -.inf / 1e308 / -1 / 0 / a huge integer / text / an empty list, the
file cut at a random byte, deep nesting put in as a value, a key given twice, random bytes
flipped, a number made a thousand times larger or smaller. Every mutant either loads or
raises the package's error (SimulationError or PlaybookError) whose every line is
`FILE:LINE:COL: error|warning: message`; any other exception, or a mutant that takes too
long, fails the test. A scenario that loads is also run
(when its expected arrivals are few enough to run quickly), and every number in its metrics
must be finite or None.

Deterministic: each (file, mutation) pair has its own fixed seed, so CI sees the same mutants
every time; the example counts keep the whole file well under a minute on two cores.
"""

from __future__ import annotations

import math
import random
import re
import signal
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from incidents.source import MAX_DEPTH, DiagnosticError
from playbooks.errors import PlaybookError
from playbooks.loader import library_files, load_playbook
from simulation.errors import SimulationError
from simulation.model.arrivals import expected_arrivals
from simulation.model.world import World
from simulation.results.metrics import compute
from simulation.scenario.loader import LoadedScenario, bundled_scenarios, load_scenario
from simulation.scenario.model import Demand, Surge

LINE = re.compile(r"^.+:\d+:\d+: (error|warning): .+")
SPECIALS = (".nan", ".inf", "-.inf", "1e308", "-1", "0", "9" * 400, "some text", "[]")
"""What a value is replaced by; every one is tried on every file."""
EARLY_MINUTES = 720.0
"""Each mutant that loads runs this far (or to its end, if sooner)."""
MAX_RUN_ARRIVALS = 20_000
"""Mutants expecting more arrivals than this load but are not run (to keep the file fast)."""
SECONDS_PER_MUTANT = 30
"""A mutant taking longer than this to load and run counts as a hang."""

MutantMaker = Callable[[str, random.Random], "str | bytes"]


# -- where things are in a YAML text --------------------------------------------------------

class _Spots:
    """Keys and values of a (valid) YAML text, from its composed node tree."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.keys: list[tuple[yaml.Node, yaml.Node, bool]] = []  # key, value, flow mapping
        self.values: list[tuple[yaml.Node, bool, int]] = []  # value, in flow, parent key col
        stack: list[tuple[yaml.Node, bool]] = [(yaml.compose(text, Loader=yaml.SafeLoader),
                                                False)]
        while stack:
            node, in_flow = stack.pop()
            if isinstance(node, yaml.MappingNode):
                flow = in_flow or bool(node.flow_style)
                for key, value in node.value:
                    self.keys.append((key, value, flow))
                    self.values.append((value, flow, key.start_mark.column))
                    stack.append((value, flow))
            elif isinstance(node, yaml.SequenceNode):
                flow = in_flow or bool(node.flow_style)
                for item in node.value:
                    self.values.append((item, flow, node.start_mark.column))
                    stack.append((item, flow))

    def scalars(self) -> list[tuple[yaml.Node, bool, int]]:
        """Plain or quoted scalar values (not block scalars, whose extent is fuzzy)."""
        return [v for v in self.values if isinstance(v[0], yaml.ScalarNode)
                and v[0].style not in ("|", ">")]

    def replace(self, node: yaml.Node, new: str) -> str:
        return self.text[:node.start_mark.index] + new + self.text[node.end_mark.index:]


def _typo(word: str, rng: random.Random) -> str:
    """A misspelling: two letters swapped, one dropped, doubled or changed."""
    while True:
        i = rng.randrange(len(word))
        how = rng.choice(("swap", "drop", "double", "change"))
        if how == "swap" and len(word) > 1:
            i = min(i, len(word) - 2)
            out = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        elif how == "drop" and len(word) > 1:
            out = word[:i] + word[i + 1:]
        elif how == "double":
            out = word[:i] + word[i] + word[i:]
        else:
            out = word[:i] + rng.choice("aeiourstxz_") + word[i + 1:]
        if out != word:
            return out


# -- the mutations ---------------------------------------------------------------------------

def misspelt_key(text: str, rng: random.Random) -> str:
    spots = _Spots(text)
    key = rng.choice([k for k, _, _ in spots.keys if k.style is None])
    return spots.replace(key, _typo(key.value, rng))


def bad_value(text: str, rng: random.Random, special: str | None = None) -> str:
    """A value replaced: mostly one that starts with a digit (a number, a rate, a duration:
    where the special values do harm), sometimes any value, list or mapping."""
    spots = _Spots(text)
    numeric = [v for v in spots.scalars() if v[0].value[:1].isdigit()]
    pool = numeric if numeric and rng.random() < 0.8 else spots.values
    node, _, _ = rng.choice(pool)
    if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
        if isinstance(node, yaml.ScalarNode) or not node.flow_style:
            node, _, _ = rng.choice(spots.scalars())  # block text and blocks: fuzzy extent
    return spots.replace(node, special if special is not None else rng.choice(SPECIALS))


def truncated(text: str, rng: random.Random) -> bytes:
    raw = text.encode("utf-8")
    return raw[:rng.randrange(len(raw))]  # may cut a character of Chinese text in half


def deep_nesting(text: str, rng: random.Random) -> str:
    spots = _Spots(text)
    node, in_flow, key_col = rng.choice(spots.scalars())
    depth = rng.choice((MAX_DEPTH - 2, MAX_DEPTH, 400, 3000))
    style = rng.choice(("lists", "mappings", "block") if not in_flow else ("lists", "mappings"))
    if style == "lists":
        nest = "[" * depth + "]" * depth
    elif style == "mappings":
        nest = "{a: " * depth + "1" + "}" * depth
    else:
        nest = "".join("\n" + " " * (key_col + 2 + i) + "a:" for i in range(depth)) + " 1"
    return spots.replace(node, nest)


def duplicate_key(text: str, rng: random.Random) -> str:
    spots = _Spots(text)
    plain = [(k, v, flow) for k, v, flow in spots.keys
             if isinstance(v, yaml.ScalarNode) and v.style not in ("|", ">")]
    key, value, flow = rng.choice(plain)
    extra = (f", {key.value}: 0" if flow
             else f"\n{' ' * key.start_mark.column}{key.value}: {rng.choice(SPECIALS)}")
    at = value.end_mark.index
    return text[:at] + extra + text[at:]


def byte_flips(text: str, rng: random.Random) -> bytes:
    raw = bytearray(text.encode("utf-8"))
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(raw))
        raw[i] = raw[i] ^ (1 << rng.randrange(8)) if rng.random() < 0.7 else rng.randrange(256)
    return bytes(raw)


_NUMBER = re.compile(r"(?<![\w.:-])(\d+(?:\.\d+)?)(?![\w.:])")


def scaled_number(text: str, rng: random.Random) -> str:
    """A number (a rate, a headcount, the 2 of `2d`...) made 1000 times smaller or larger, or
    0: values that are valid but odd, so that more mutants get as far as a run."""
    spots = _Spots(text)
    numbers = [(node, m) for node, _, _ in spots.scalars() for m in _NUMBER.finditer(node.value)
               if node.style is None]
    node, match = rng.choice(numbers)
    x = float(match.group(1)) * rng.choice((0.0, 0.001, 0.1, 10.0, 1000.0))
    new = f"{x:.6g}"
    return spots.replace(node, node.value[:match.start()] + new + node.value[match.end():])


MUTATIONS: dict[str, tuple[MutantMaker, int]] = {
    "misspelt_key": (misspelt_key, 3),
    "bad_value": (bad_value, 3 * len(SPECIALS)),  # each special three times
    "truncated": (truncated, 4),
    "deep_nesting": (deep_nesting, 4),
    "duplicate_key": (duplicate_key, 3),
    "byte_flips": (byte_flips, 6),
    "scaled_number": (scaled_number, 5),
}
"""Mutation -> (maker, mutants per file)."""


def mutants(path: Path, mutation: str) -> Iterator[tuple[str, str | bytes]]:
    """(description, mutated content) of one file, from a seed fixed by file and mutation."""
    text = path.read_text(encoding="utf-8")
    make, count = MUTATIONS[mutation]
    rng = random.Random(zlib.crc32(f"{path.name}:{mutation}".encode()))
    for i in range(count):
        if mutation == "bad_value":
            content: str | bytes = bad_value(text, rng, SPECIALS[i % len(SPECIALS)])
        else:
            content = make(text, rng)
        yield f"{path.name} {mutation} #{i}", content


# -- the checks ------------------------------------------------------------------------------

@contextmanager
def time_limit(seconds: int, what: str) -> Iterator[None]:
    """Fail instead of hanging (SIGALRM: the main thread on POSIX; elsewhere no limit)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"{what}: still running after {seconds} s (a hang?)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_located(exc: DiagnosticError, what: str) -> None:
    lines = str(exc).splitlines()
    assert lines, f"{what}: {type(exc).__name__} without a message"
    bad = [line for line in lines if not LINE.match(line)]
    assert not bad, f"{what}: lines not of the form FILE:LINE:COL: error: ...: {bad}"


def assert_finite(value: Any, where: str = "metrics") -> None:
    """Every number in a nested dict/list is finite (None is fine)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert_finite(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            assert_finite(item, f"{where}[{i}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        assert math.isfinite(value), f"{where} = {value!r}"


def expected(loaded: LoadedScenario) -> float:
    """Mean arrivals of a loaded scenario (replayed ones are counted)."""
    sc = loaded.scenario
    if loaded.replay is not None:
        return float(len(loaded.replay))
    demand = Demand(base_rate=sc.queue.arrival_rate) if sc.queue is not None else sc.demand
    spikes = [Surge(kind="step", start=i.at, factor=i.factor, duration=i.duration)
              for i in sc.injects if i.kind == "demand_spike"]
    return expected_arrivals(demand, sc.horizon.wall_minutes, sc.start, loaded.calendar.zone,
                             spikes)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def check_scenario(path: Path, what: str) -> str:
    """Load (and maybe run) one mutant; returns what happened, for the summary."""
    with time_limit(SECONDS_PER_MUTANT, what):
        try:
            loaded = load_scenario(path)
        except SimulationError as exc:
            assert_located(exc, what)
            return "refused"
        if expected(loaded) > MAX_RUN_ARRIVALS:
            return "loaded"
        world = World(loaded, 1)  # half a day shows what a mutant does to the model:
        world.advance(min(world.end, EARLY_MINUTES))  # running it all only cost time
        assert_finite(compute(world.results()), f"{what}: metrics")
    return "ran"


def check_playbook(path: Path, what: str) -> str:
    with time_limit(SECONDS_PER_MUTANT, what):
        try:
            load_playbook(path)
        except PlaybookError as exc:
            assert_located(exc, what)
            return "refused"
    return "loaded"


# -- the tests -------------------------------------------------------------------------------

def _cases(files: list[Path]) -> list[Any]:
    return [pytest.param(f, m, id=f"{f.stem}-{m}") for f in files for m in MUTATIONS]


@pytest.mark.parametrize("path, mutation", _cases(bundled_scenarios()))
def test_mutated_scenarios_load_or_give_located_errors(tmp_path: Path, path: Path,
                                                       mutation: str) -> None:
    outcomes = [check_scenario(write(tmp_path, f"m{i}-{path.name}", content), what)
                for i, (what, content) in enumerate(mutants(path, mutation))]
    assert outcomes  # and every mutant passed its checks


@pytest.mark.parametrize("path, mutation", _cases(library_files()))
def test_mutated_playbooks_load_or_give_located_errors(tmp_path: Path, path: Path,
                                                       mutation: str) -> None:
    outcomes = [check_playbook(write(tmp_path, f"m{i}-{path.name}", content), what)
                for i, (what, content) in enumerate(mutants(path, mutation))]
    assert outcomes


def test_the_mutations_do_what_they_say() -> None:
    """The fuzzing is only as good as its mutants: each kind changes the text, the value
    mutants use every special value, and the deep ones go past the nesting limit."""
    path = bundled_scenarios()[0]
    text = path.read_text(encoding="utf-8")
    for mutation in MUTATIONS:
        found = list(mutants(path, mutation))
        assert found and all(content != text and content != text.encode() for _, content in found)
        assert found == list(mutants(path, mutation))  # deterministic
    values = [content for _, content in mutants(path, "bad_value")]
    assert all(any(s in str(v) for v in values) for s in SPECIALS)
    deep = [str(c) for _, c in mutants(path, "deep_nesting")]
    assert any(c.count("[") > MAX_DEPTH or c.count("{a:") > MAX_DEPTH or c.count("a:") > MAX_DEPTH
               for c in deep)

"""The fast effect builders (playbooks/effects.py) make the very objects the dataclasses do:
same class, fields, equality, hash and frozenness, so hosts cannot tell them apart."""

from __future__ import annotations

import dataclasses

import pytest

from playbooks.effects import (Arm, MessageOwed, MilestoneMet, arm, message_owed,
                               milestone_met)

CASES = [
    (arm, Arm, ("sla:resolve", 1440.5)),
    (milestone_met, MilestoneMet, ("acknowledge", None, True)),
    (milestone_met, MilestoneMet, ("resolve", 30.0, False)),
    (message_owed, MessageOwed, ("ack", "customer", 12.25, "Dear {customer}", {"a": 1})),
]


@pytest.mark.parametrize(("build", "cls", "args"), CASES)
def test_a_fast_builder_makes_the_dataclass_object(build, cls, args) -> None:
    fast, slow = build(*args), cls(*args)
    assert type(fast) is cls
    assert dataclasses.astuple(fast) == dataclasses.astuple(slow) == args
    assert fast == slow and repr(fast) == repr(slow)
    if cls is not MessageOwed:  # its context is a mapping: not hashable by design
        assert hash(fast) == hash(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(fast, dataclasses.fields(cls)[0].name, "changed")


def test_every_field_is_set() -> None:
    """A builder that forgot a field would leave its slot empty (AttributeError)."""
    for build, cls, args in CASES:
        made = build(*args)
        assert [getattr(made, f.name) for f in dataclasses.fields(cls)] == list(args)

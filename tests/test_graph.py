"""Diagrams: Mermaid node ids are plain ASCII, labels keep the playbook's own names."""

from __future__ import annotations

import re

import pytest

from playbooks.loader import library_files, load_playbook
from playbooks.machines import mermaid


@pytest.mark.parametrize("path", library_files(), ids=lambda p: p.stem)
@pytest.mark.parametrize("part", ["lifecycle", "escalation", "emergency"])
def test_mermaid_ids_are_ascii_and_every_edge_is_declared(path, part) -> None:
    pb = load_playbook(path)
    text = mermaid(pb, part)
    declared = dict(re.findall(r'state "(.+)" as (s\d+)', text))
    names = (list(pb.lifecycle.states) if part == "lifecycle" else pb.escalation.levels
             if part == "escalation" else [pb.emergency.normal, *pb.emergency.levels])
    assert sorted(declared) == sorted(names)
    ids = set(declared.values())
    edges = re.findall(r"^\s*(\S+) --> (\S+?)(?::|$)", text, flags=re.M)
    assert edges
    for source, dest in edges:
        assert (source == "[*]" or source in ids) and dest in ids, (source, dest)
        assert source.isascii() and dest.isascii()


def test_chinese_labels_survive() -> None:
    text = mermaid(load_playbook("defective-batch-recall"), "lifecycle")
    assert 'state "接待" as s0' in text and ": 受理" in text

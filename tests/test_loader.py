"""Located YAML (`incidents/source.py`) and structural checks (`playbooks/loader.py`).

Every bad input must come back as a `Diagnostic` at the line (and column) to fix, never as
an exception other than `SourceError`/`PlaybookError`.
"""

from __future__ import annotations

import textwrap

import pytest

from incidents.source import (
    MAX_BYTES,
    Diagnostic,
    SourceError,
    load_document,
    parse_document,
    suggest,
)
from playbooks.errors import PlaybookError
from playbooks.loader import check_file, library_files, load_playbook, resolve_playbook
from tests.conftest import base_playbook, col_of, errors, finding, line_of, mutate, pos

BASE = base_playbook()


def source_error(fn, *args, **kw) -> Diagnostic:
    """The single diagnostic of the SourceError `fn(*args)` must raise."""
    with pytest.raises(SourceError) as info:
        fn(*args, **kw)
    assert len(info.value.diagnostics) == 1, info.value.diagnostics
    return info.value.diagnostics[0]


# -- locations --------------------------------------------------------------------------------

def test_document_maps_nested_paths_to_line_and_column() -> None:
    doc = parse_document(BASE, "f.yaml")
    assert doc.data["lifecycle"]["states"]["triage"]["on"]["route"] == "repair"
    route = ("lifecycle", "states", "triage", "on", "route")
    assert doc.where(route) == pos(BASE, "route: repair", "repair")
    assert doc.where(route, key=True) == pos(BASE, "route: repair", "route")
    # Flow mappings and sequences: every item has its own column.
    fixed = ("lifecycle", "states", "repair", "outcomes", "fixed", "p")
    assert doc.where(fixed) == pos(BASE, "fixed:", "0.8")
    assert doc.where(("lifecycle", "events", 1)) == pos(BASE, "events:", "route]")
    timer = ("lifecycle", "states", "triage", "timers", 0, "fire")
    assert doc.where(timer) == pos(BASE, "fire: timeout", "timeout}")


def test_unknown_path_falls_back_to_the_deepest_known_prefix() -> None:
    doc = parse_document(BASE, "f.yaml")
    closed = ("lifecycle", "states", "closed")
    assert doc.where(closed + ("nothing", "here")) == doc.where(closed)
    assert doc.where(closed) == pos(BASE, "final: true")
    assert doc.where(closed, key=True) == pos(BASE, "    closed:", "closed")
    assert doc.where(("no", "such", "path")) == (1, 1)


def test_a_document_parsed_again_is_an_equal_copy_of_its_own() -> None:
    """Parses are kept (the same files are read hundreds of times a run), but each caller
    gets its own copy: changing one never shows in the next, and a file of another name
    names itself. An unparseable text fails every time, not only the first."""
    first = parse_document(BASE, "f.yaml")
    first.data["lifecycle"]["initial"] = "changed"
    first.locations.clear()
    again = parse_document(BASE, "f.yaml")
    assert again.data["lifecycle"]["initial"] == "new"
    assert again.where(("lifecycle", "initial")) == pos(BASE, "initial:", "new")
    assert again.data is not first.data
    assert parse_document(BASE, "g.yaml").file == "g.yaml"
    for _ in range(2):
        with pytest.raises(SourceError):
            parse_document("a: [1, 2\n", "bad.yaml")


def test_libyaml_and_pyyaml_give_the_same_document() -> None:
    """Files are parsed by libyaml when it accepts them; PyYAML's own loader, with its
    nesting limit and its error words, takes the rest. Where both accept, the data, the
    lines and the columns (Chinese text included) must be the same."""
    import yaml

    from incidents import source
    from simulation.scenario.loader import bundled_scenarios

    texts = [p.read_text(encoding="utf-8") for p in [*library_files(), *bundled_scenarios()]]
    texts.append(BASE.replace("name: mini", "name: 迷你\n# 注释\nlabels: {甲: [1, 2.5, '三']}"))
    for text in texts:
        fast = source._c_compose(text)
        assert fast is not None, "libyaml was not used for a valid file"

        def build(nodes: list[yaml.Node]) -> tuple[object, ...]:
            builder = source._Builder("f.yaml")
            return builder.build(nodes[0], ()), builder.locations, builder.key_locations

        assert build(fast) == build(list(yaml.compose_all(text, Loader=source._Loader)))
    deep = "a: " + "[" * (source.MAX_DEPTH + 1) + "]" * (source.MAX_DEPTH + 1) + "\n"
    assert source._c_compose(deep) is None
    with pytest.raises(SourceError, match="nested more than"):
        parse_document(deep, "deep.yaml")
    tabbed = BASE.replace("title: Minimal", "title:\tMinimal")  # libyaml would accept it
    assert source._c_compose(tabbed) is None
    with pytest.raises(SourceError, match="tab"):
        parse_document(tabbed, "tab.yaml")
    assert source._c_compose("a: b\x07\n") is None
    with pytest.raises(SourceError, match="not allowed"):
        parse_document("a: b\x07\n", "bell.yaml")


def test_diagnostic_prints_as_file_line_col_severity_message() -> None:
    doc = parse_document(BASE, "pb.yaml")
    d = doc.diag(("lifecycle", "initial"), "boom", severity="warning")
    assert str(d) == f"pb.yaml:{line_of(BASE, 'initial:')}:{col_of(BASE, 'new')}: warning: boom"


def test_chinese_keys_values_and_columns() -> None:
    text = textwrap.dedent("""\
        名称: 地板维修
        产品:
          标题: 实木复合地板
          批次: [批次一, 批次二]
        """)
    doc = parse_document(text, "中文.yaml")
    assert doc.data == {"名称": "地板维修",
                        "产品": {"标题": "实木复合地板", "批次": ["批次一", "批次二"]}}
    # Columns count characters, not bytes.
    assert doc.where(("产品", "批次", 1)) == pos(text, "批次:", "批次二")


def test_playbook_with_chinese_names_loads_clean(check) -> None:
    text = BASE.replace("closed", "已归档").replace("title: Minimal test playbook",
                                                    "title: 地板维修预案")
    text = mutate(text, "new:\n      work:", "new:\n      description: 受理客户报修\n      work:")
    assert check(text) == []


# -- duplicate keys ---------------------------------------------------------------------------

def test_duplicate_key_reported_at_second_occurrence_with_first_line() -> None:
    text = "name: a\ntitle: t\nname: b\n"
    d = source_error(parse_document, text, "f.yaml")
    assert (d.line, d.col) == (3, 1)
    assert d.message == "duplicate key 'name' (first defined at line 1)"


def test_duplicate_state_name(check) -> None:
    text = BASE + "    triage:\n      final: true\n"
    found = check(text)
    assert len(found) == 1
    d = found[0]
    assert (d.line, d.col) == pos(text, "    triage:", "triage", nth=2)
    first = line_of(text, "    triage:")
    assert d.message == f"duplicate key 'triage' (first defined at line {first})"


def test_every_duplicate_is_reported() -> None:
    text = "a: 1\nb: {x: 1, y: 2, x: 3}\na: 2\n"
    with pytest.raises(SourceError) as info:
        parse_document(text, "f.yaml")
    second_x = text.splitlines()[1].rindex("x") + 1
    assert {(d.line, d.col) for d in info.value.diagnostics} == {(2, second_x), (3, 1)}


def test_yes_and_null_keys_keep_their_text() -> None:
    doc = parse_document("yes: 1\nnull: 2\n12: 3\n", "f.yaml")
    assert doc.data == {"yes": 1, "null": 2, "12": 3}


# -- unreadable files -------------------------------------------------------------------------

@pytest.mark.parametrize("content", ["", "   \n\n\t \n"], ids=["empty", "whitespace"])
def test_empty_file(write_playbook, content: str) -> None:
    d = source_error(load_document, write_playbook(content))
    assert (d.line, d.col, d.severity) == (1, 1, "error")
    assert "empty" in d.message


def test_comment_only_file(write_playbook) -> None:
    d = source_error(load_document, write_playbook("# nothing but a comment\n"))
    assert d.message == "the file holds no YAML document"


def test_binary_file(write_playbook) -> None:
    d = source_error(load_document, write_playbook(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    assert "binary" in d.message and (d.line, d.col) == (1, 1)


def test_file_over_the_size_limit(write_playbook) -> None:
    path = write_playbook(BASE)
    d = source_error(load_document, path, max_bytes=100)
    size = path.stat().st_size
    assert d.message == f"file is {size:,} bytes; the limit is 100 bytes"
    load_document(path, max_bytes=size)  # exactly at the limit is fine


def test_default_size_limit_applies_to_playbooks(write_playbook) -> None:
    path = write_playbook(("# padding\n" * (MAX_BYTES // 10 + 1)) + BASE)
    _, found = check_file(path)
    assert len(found) == 1 and "the limit is 2,097,152 bytes" in found[0].message


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_invalid_utf8_reported_at_its_line(write_playbook, bom: bytes) -> None:
    raw = bom + b"name: mini\ntitle: ok\ndescription: caf\xe9 latin-1\n"
    d = source_error(load_document, write_playbook(raw))
    assert (d.line, d.message) == (3, "the file is not valid UTF-8 text")


def test_utf8_bom_is_accepted(write_playbook) -> None:
    doc = load_document(write_playbook(b"\xef\xbb\xbfname: mini\n"))
    assert doc.data == {"name": "mini"}


def test_directory(tmp_path) -> None:
    d = source_error(load_document, tmp_path)
    assert (d.file, d.message) == (str(tmp_path), "is a directory, not a file")
    _, found = check_file(tmp_path)
    assert [x.message for x in found] == ["is a directory, not a file"]


def test_missing_file(tmp_path) -> None:
    missing = tmp_path / "nope.yaml"
    d = source_error(load_document, missing)
    assert (d.file, d.line, d.col, d.message) == (str(missing), 1, 1, "no such file")


def test_unknown_bundled_name_suggests_the_close_one() -> None:
    with pytest.raises(PlaybookError) as info:
        resolve_playbook("standard-repiar")
    assert "did you mean 'standard-repair'?" in str(info.value)


# -- YAML shapes and syntax -------------------------------------------------------------------

def test_several_documents() -> None:
    text = "name: a\n---\nname: b\n"
    d = source_error(parse_document, text, "f.yaml")
    assert "found several" in d.message
    assert d.line in (line_of(text, "---"), line_of(text, "name: b"))


@pytest.mark.parametrize("text", ["- name: a\n- name: b\n", "just a sentence\n", "42\n"],
                         ids=["list", "text", "number"])
def test_top_level_must_be_a_mapping(check, text: str) -> None:
    found = check(text)
    assert [(d.line, d.col, d.message) for d in found] == [
        (1, 1, "a playbook must be a YAML mapping (key: value lines)")]


def test_bad_indentation_at_its_line() -> None:
    text = mutate(BASE, "  milestones:", "   milestones:")
    d = source_error(parse_document, text, "f.yaml")
    assert d.line == line_of(text, "   milestones:")
    text = mutate(BASE, "  events:", "   events:")  # now a plain-scalar continuation
    d = source_error(parse_document, text, "f.yaml")
    assert (d.line, d.col) == pos(text, "   events:", ":")
    assert d.message.startswith("invalid YAML:")


def test_tab_indentation_at_its_line_and_column() -> None:
    text = mutate(BASE, "  initial: new", "\tinitial: new")
    d = source_error(parse_document, text, "f.yaml")
    assert (d.line, d.col) == (line_of(text, "\tinitial"), 1)
    assert "'\\t'" in d.message


@pytest.mark.parametrize("old,new,opener", [
    ("events: [cancel, route]", "events: [cancel, route", "events: ["),
    ("milestones: {acknowledge: triage}", "milestones: {acknowledge: triage", "milestones: {"),
    ("title: Minimal test playbook", "title: 'Minimal test playbook", "title: '"),
], ids=["bracket", "brace", "quote"])
def test_unclosed_bracket_points_at_the_opening_line(old: str, new: str, opener: str) -> None:
    # The parser only notices a missing `]` lines later; the user must be sent to the `[`.
    text = mutate(BASE, old, new)
    d = source_error(parse_document, text, "f.yaml")
    opened = line_of(text, opener)
    assert d.line == opened or f"line {opened}" in d.message, str(d)


def test_control_character_reported_at_its_line() -> None:
    text = mutate(BASE, "title: Minimal", "title: Mini\x07mal")
    d = source_error(parse_document, text, "f.yaml")
    assert d.line == line_of(text, "\x07"), str(d)


@pytest.mark.parametrize("line2", [
    "title: !!int twelve", "title: !!float abc", "title: !!bool maybe", "title: !!timestamp nope",
    "!!int x: 1", "!!binary '@': 1", "<<: 1", "? !!omap\n",
], ids=["int", "float", "bool", "timestamp", "int-key", "binary-key", "merge-scalar", "omap-key"])
def test_value_the_tag_cannot_build_is_a_located_error(line2: str) -> None:
    # These used to escape as ValueError/KeyError/AttributeError/ConstructorError tracebacks.
    d = source_error(parse_document, f"name: mini\n{line2}\n", "f.yaml")
    assert d.line == 2, str(d)


def test_merge_keys_work_and_keep_locations() -> None:
    text = "base: &b {role: agent}\nwork:\n  <<: *b\n  duration: 5m\n"
    doc = parse_document(text, "f.yaml")
    assert doc.data["work"] == {"role": "agent", "duration": "5m"}
    assert doc.where(("work", "duration")) == pos(text, "duration", "5m")


def test_unknown_tag_is_a_located_error() -> None:
    d = source_error(parse_document, "name: mini\ntitle: !python/object:os.system x\n", "f.yaml")
    assert d.line == 2


def test_recursive_alias_is_a_located_error() -> None:
    d = source_error(parse_document, "name: mini\nloop: &a [1, *a]\n", "f.yaml")
    assert d.line == 2


def test_complex_key_is_a_located_error() -> None:
    d = source_error(parse_document, "name: mini\n[a, b]: 1\n", "f.yaml")
    assert (d.line, d.message) == (2, "a mapping key must be a plain scalar")


# -- structure: unknown keys, wrong types, pydantic errors ------------------------------------

def test_suggest() -> None:
    assert suggest("fianl", ["final", "work"]) == " (did you mean 'final'?)"
    assert suggest("zzzz", ["final", "work"]) == ""


@pytest.mark.parametrize("old,new,path,hint", [
    ("title: Minimal", "tilte: Minimal", "tilte", "title"),
    ("  initial: new", "  inital: new", "lifecycle.inital", "initial"),
    ("      final: true", "      fianl: true", "lifecycle.states.closed.fianl", "final"),
    ("      outcomes: {taken", "      outcome: {taken", "lifecycle.states.new.outcome", "outcomes"),
    ("{skills: [doors]}", "{skils: [doors]}", "roles.agent.skils", "skills"),
    ("{after: 2h, fire", "{aftr: 2h, fire", "lifecycle.states.triage.timers.0.aftr", "after"),
    ("{to: closed, p: 0.8}", "{too: closed, p: 0.8}",
     "lifecycle.states.repair.outcomes.fixed.too", "to"),
], ids=["top", "lifecycle", "state", "state-outcomes", "role", "timer", "outcome"])
def test_unknown_key_with_did_you_mean_at_the_key(check, old, new, path, hint) -> None:
    text = mutate(BASE, old, new)
    key = path.rsplit(".", 1)[-1]
    d = finding(check(text), f"{path}: unknown key {key!r}")
    assert d.message.endswith(f"(did you mean {hint!r}?)"), str(d)
    assert (d.line, d.col) == (line_of(text, new.strip()), col_of(text, key + ":"))


@pytest.mark.parametrize("old,new,path,needle", [
    ("name: mini", "name: 123", "name", "123"),
    ("name: mini", "name: [a, b]", "name", "[a, b]"),
    ("p: 0.8}", "p: often}", "lifecycle.states.repair.outcomes.fixed.p", "often"),
    ("p: 0.8}", "p: 1.8}", "lifecycle.states.repair.outcomes.fixed.p", "1.8"),
    ("  agent: {skills: [doors]}", "  agent: {skills: doors}", "roles.agent.skills", "doors}"),
    ("- {after: 2h", "- {after: 2 fortnights", "lifecycle.states.triage.timers.0.after",
     "2 fortnights"),
    ("events: [cancel, route]", "events: {cancel: 1}", "lifecycle.events", "{cancel"),
], ids=["int-name", "list-name", "text-p", "p-range", "skills-str", "duration", "events-map"])
def test_wrong_type_reported_with_dotted_path_at_the_value(check, old, new, path, needle) -> None:
    text = mutate(BASE, old, new)
    d = finding(check(text), f"{path}: ")
    assert d.message.startswith(f"{path}: ")
    assert (d.line, d.col) == (line_of(text, needle), col_of(text, needle))


def test_missing_required_field_is_located_at_its_parent(check) -> None:
    text = mutate(BASE, "route: repair", "route: {when: {tier: VIP}}")
    d = finding(check(text), "lifecycle.states.triage.on.route.0.to: required field is missing")
    assert d.line == line_of(text, "route: {when")


def test_missing_lifecycle(check) -> None:
    found = check("name: mini\n")
    assert [(d.line, d.message) for d in found] == [(1, "lifecycle: required field is missing")]


def test_model_validator_errors_are_located(check) -> None:
    text = mutate(base_playbook(extra=True), "late: {after: 4h, to: supervisor}",
                  "late: {to: supervisor}")
    d = finding(check(text), "escalation.rules.late: an escalation rule needs exactly one of")
    assert d.line == line_of(text, "late: {to")


def test_all_structural_errors_reported_at_once(check) -> None:
    text = mutate(BASE, "title: Minimal", "tilte: Minimal")
    text = mutate(text, "p: 0.8}", "p: often}")
    assert len(errors(check(text))) == 2


def test_load_playbook_raises_with_every_error(write_playbook) -> None:
    text = mutate(BASE, "route: repair", "route: repiar")
    with pytest.raises(PlaybookError) as info:
        load_playbook(write_playbook(text))
    lines = str(info.value).splitlines()
    assert any(f":{line_of(text, 'route: repiar')}:" in x and "repiar" in x for x in lines)
    assert all(d.severity == "error" for d in info.value.diagnostics)


def test_load_playbook_by_bundled_name() -> None:
    assert load_playbook("standard-repair").name == "standard-repair"


def test_alias_bomb_is_refused_quickly() -> None:
    # "Billion laughs": ten levels of ten aliases would expand to 10**10 values.
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    d = source_error(parse_document, "\n".join(lines) + "\n", "f.yaml")
    assert "expands to more than" in d.message

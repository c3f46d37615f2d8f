"""The `muster` command line: exit statuses, located error lines, never a traceback.

Most tests go through `tui.cli.main(argv)`, the error boundary of the console script; one
test runs the installed `muster` script in a real subprocess.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from hypothesis import example, HealthCheck, given, settings
from hypothesis import strategies as st
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from playbooks.loader import load_playbook
from tui.cli import app
from tests.cli_helpers import run_cli
from tests.conftest import base_playbook, bundled_playbooks, line_of, mutate

BASE = base_playbook()
LOCATED = re.compile(
    r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): (?P<msg>.+)$")


run = run_cli


def located(text: str) -> list[tuple[str, int, int, str, str]]:
    """(file, line, col, severity, message) of every `FILE:LINE:COL: sev: msg` line."""
    return [(m["file"], int(m["line"]), int(m["col"]), m["sev"], m["msg"])
            for m in map(LOCATED.match, text.splitlines()) if m]


@pytest.fixture
def wide(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def broken(write_playbook) -> tuple[Path, str]:
    text = mutate(BASE, "      final: true", "      fianl: true")
    return write_playbook(text), text


# -- help and version -------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(capsys, flag: str) -> None:
    code, out, _ = run(capsys, flag)
    assert code == 0
    assert "Usage" in out and "playbook" in out and "--version" in out


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(argv path, click command) of the root and of every command and subcommand under it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _help_rows(text: str) -> str:
    """The help screen as one line: box-drawing characters dropped, whitespace collapsed, so
    an option's help reads in order even where the panel wrapped it."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "muster")
def test_every_help_shows_defaults_and_bare_flags(path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "<bool>" not in out, out
    flat = _help_rows(out)
    options = [p for p in command.params if isinstance(p, TyperOption)]
    panel = flat.index(" Options ")
    starts = [flat.index(p.opts[0] + " ", panel) for p in options]  # each option's row
    assert starts == sorted(starts), flat
    for param, start, end in zip(options, starts, [*starts[1:], len(flat)]):
        row = flat[start:end]
        if param.is_flag:
            # A flag takes no value: no type after it; a toggle names both forms and its
            # default, so what happens without it is on the screen.
            after = [word for word in row.split() if not word.startswith("-")]
            assert not after[0].startswith("<"), row
            if not param.is_eager:
                assert param.secondary_opts and "[default: no-" in row, row
        elif param.default is not None or isinstance(param.show_default, str):
            shown = param.show_default if isinstance(param.show_default, str) else \
                getattr(param.default, "value", param.default)
            assert "[default: " in row and str(shown) in row, row
    for param in command.params:
        if isinstance(param, TyperArgument) and not param.required:
            assert f"[default: {param.default}]" in flat, flat


def test_help_keeps_bracketed_text() -> None:
    """Rich markup must not eat text in square brackets (it took "[default: ...]" from the
    help of --out before, leaving "Output folder .")."""
    result = CliRunner().invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"})
    flat = _help_rows(result.output)
    assert "Output folder. [default: (muster-out/<scenario name>)]" in flat, flat


def test_version(capsys) -> None:
    code, out, _ = run(capsys, "--version")
    assert (code, out.strip()) == (0, f"muster {version('muster')}")


def test_playbook_help_lists_the_commands(capsys) -> None:
    code, out, _ = run(capsys, "playbook", "--help")
    assert code == 0
    for command in ("lint", "show", "graph", "list"):
        assert re.search(rf"^\W*{command}\b", out, re.M), out


def test_no_arguments_prints_the_bundled_playbooks(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # a plain terminal: names must still be readable
    code, out, _ = run(capsys)
    assert code == 0
    for path in bundled_playbooks():
        assert path.stem in out, f"{path.stem!r} missing from the home screen:\n{out}"


def test_playbook_list(capsys) -> None:
    code, out, _ = run(capsys, "playbook", "list")
    assert code == 0
    assert sorted(line.split("\t")[0] for line in out.splitlines()) == sorted(
        p.stem for p in bundled_playbooks())


# -- lint -------------------------------------------------------------------------------------

def test_lint_all_bundled_playbooks_exits_0(capsys) -> None:
    files = bundled_playbooks()
    code, out, err = run(capsys, "playbook", "lint", *files)
    assert code == 0, out
    assert not [d for d in located(out) if d[3] == "error"]
    assert f"{len(files)} file" in err and "0 error(s)" in err


def test_lint_bundled_playbook_by_name(capsys) -> None:
    code, _, err = run(capsys, "playbook", "lint", *(p.stem for p in bundled_playbooks()))
    assert code == 0 and "0 error(s)" in err


def test_lint_clean_file_exits_0(capsys, write_playbook) -> None:
    code, out, err = run(capsys, "playbook", "lint", write_playbook(BASE))
    assert (code, out) == (0, "")
    assert "1 file checked: 0 error(s), 0 warning(s)" in err


def test_lint_broken_files_exit_2_with_located_lines(capsys, write_playbook, broken) -> None:
    path1, text1 = broken
    text2 = mutate(BASE, "route: repair", "route: repiar")
    path2 = write_playbook(text2)
    code, out, err = run(capsys, "playbook", "lint", path1, path2)
    assert code == 2
    found = located(out)
    assert (str(path1), line_of(text1, "fianl"), 7, "error") in [d[:4] for d in found]
    assert any(d[:2] == (str(path2), line_of(text2, "route: repiar")) and "'repiar'" in d[4]
               for d in found)
    assert all(d[3] == "error" for d in found)
    assert "2 files checked" in err


@pytest.mark.parametrize("content", ["", b"\x00\x01\x02binary", b"name: caf\xe9\n",
                                     "name: [unclosed\n", "- a\n- b\n"],
                         ids=["empty", "binary", "latin1", "syntax", "list"])
def test_lint_bad_input_exits_2_with_a_located_line(capsys, write_playbook, content) -> None:
    path = write_playbook(content)
    code, out, _ = run(capsys, "playbook", "lint", path)
    assert code == 2
    found = located(out)
    assert found and all(d[0] == str(path) and d[3] == "error" for d in found), out


def test_lint_missing_file_and_directory_exit_2(capsys, tmp_path) -> None:
    missing = tmp_path / "missing.yaml"
    code, out, err = run(capsys, "playbook", "lint", missing, tmp_path)
    assert code == 2
    assert [(d[0], d[4]) for d in located(out)] == [
        (str(missing), "no such file"), (str(tmp_path), "is a directory, not a file")]


def test_lint_too_large_file_exits_2(capsys, write_playbook) -> None:
    path = write_playbook("# filler line\n" * 200_000 + BASE)
    code, out, _ = run(capsys, "playbook", "lint", path)
    assert code == 2 and "the limit is" in out


def test_warnings_exit_0_unless_strict(capsys, write_playbook) -> None:
    text = mutate(BASE, "events: [cancel, route]", "events: [cancel, route, spare]")
    path = write_playbook(text)
    code, out, err = run(capsys, "playbook", "lint", path)
    assert code == 0
    assert [(d[1], d[3]) for d in located(out)] == [(line_of(text, "spare"), "warning")]
    assert "1 warning(s)" in err
    code, out, _ = run(capsys, "playbook", "lint", "--strict", path)
    assert code == 2
    assert [d[3] for d in located(out)] == ["warning"]


@pytest.mark.parametrize("argv", [
    ["playbook", "lint", "--bogus", "x.yaml"],
    ["playbook", "lint"],
    ["playbook", "graph", "standard-repair", "--format", "png"],
    ["playbook", "graph", "standard-repair", "--part", "everything"],
    ["playbook", "show"],
    ["playbook", "explode"],
    ["--no-such-flag"],
], ids=["unknown-option", "missing-files", "bad-format", "bad-part", "missing-playbook",
        "unknown-command", "unknown-root-option"])
def test_wrong_cli_arguments_exit_2(capsys, argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "Usage" in err or "Error" in err, (out, err)


# -- show and graph ---------------------------------------------------------------------------

def test_show_prints_states_and_tables(capsys, wide) -> None:
    pb = load_playbook("standard-repair")
    code, out, _ = run(capsys, "playbook", "show", "standard-repair")
    assert code == 0
    for title in ("States", "Transitions", "Timers and SLA deadlines", "Escalation",
                  "Emergency levels", "Communications"):
        assert re.search(rf"^\s*{title}", out, re.M), f"table {title!r} missing"
    for state in pb.lifecycle.states:
        assert re.search(rf"\b{re.escape(state)}\b", out), state
    for rule in pb.escalation.rules:
        assert rule in out


def test_graph_mermaid_has_front_matter_and_every_state(capsys) -> None:
    states = list(load_playbook("standard-repair").lifecycle.states)
    code, out, _ = run(capsys, "playbook", "graph", "standard-repair", "--format", "mermaid",
                       "--part", "lifecycle")
    assert code == 0
    assert out.startswith("---\n") and "stateDiagram-v2" in out
    assert all(re.search(rf"\b{s}\b", out) for s in states)
    code, out, _ = run(capsys, "playbook", "graph", "standard-repair", "--format", "mermaid")
    assert code == 0
    assert out.startswith("```mermaid\n---\n")
    assert out.count("stateDiagram-v2") == 3  # lifecycle, escalation, emergency
    assert all(re.search(rf"\b{s}\b", out) for s in states)


def test_graph_dot(capsys) -> None:
    states = list(load_playbook("standard-repair").lifecycle.states)
    code, out, _ = run(capsys, "playbook", "graph", "standard-repair", "-f", "dot",
                       "-p", "lifecycle")
    assert code == 0
    assert out.lstrip().startswith("digraph")
    assert all(re.search(rf"\b{s}\b", out) for s in states)


def test_graph_output_file(capsys, tmp_path) -> None:
    target = tmp_path / "diagram.mmd"
    code, out, err = run(capsys, "playbook", "graph", "standard-repair", "--output", target)
    assert code == 0 and out == ""
    assert str(target) in err
    written = target.read_text(encoding="utf-8")
    assert "stateDiagram-v2" in written and "diagnosis" in written


@pytest.mark.parametrize("command", [["show"], ["graph"], ["graph", "--format", "dot"]])
def test_show_and_graph_on_broken_file_exit_2(capsys, broken, command) -> None:
    path, text = broken
    code, out, err = run(capsys, "playbook", *command, path)
    assert code == 2 and out == ""
    found = located(err)
    assert found and all(d[3] == "error" for d in found)
    assert (str(path), line_of(text, "fianl")) in [d[:2] for d in found]


def test_show_unknown_bundled_name_exits_2(capsys) -> None:
    code, _, err = run(capsys, "playbook", "show", "standard-repiar")
    assert code == 2 and "did you mean 'standard-repair'?" in err


# -- the installed console script -------------------------------------------------------------

def _script() -> str:
    found = shutil.which("muster") or str(Path(sys.executable).with_name("muster"))
    assert os.access(found, os.X_OK), f"muster console script not found ({found})"
    return found


def test_installed_console_script(broken) -> None:
    path, text = broken
    env = {**os.environ, "COLUMNS": "120"}
    ok = subprocess.run([_script(), "playbook", "lint", *map(str, bundled_playbooks())],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([_script(), "playbook", "show", str(path)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stdout + bad.stderr
    assert f"{path}:{line_of(text, 'fianl')}:7: error:" in bad.stderr


# -- fuzz -------------------------------------------------------------------------------------

_FRAGMENTS = ["name: x\n", "lifecycle:\n", "  initial: a\n", "  states:\n", "    a:\n",
              "      final: true\n", "      on: {go: a}\n", "  events: [go]\n", "- ", ": ",
              "[", "]", "{", "}", ",", "\t", "  ", "\n", "#", "---\n", "...\n", "'", '"', "~",
              "&x ", "!!str ", "? ", "|\n", ">\n", "1e9", "null", "yes", "é", "维修", "\u2028",
              "\r\n", "\ufeff", "%YAML 1.1\n", "@", "`"]
_yamlish = st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=200), st.text(max_size=200), _yamlish))
@example(content="0[:")          # a key that looks like a pydantic union tag
@example(content="str: 1\n")
def test_lint_never_crashes_on_random_input(capsys, tmp_path, content: str | bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    path.write_bytes(content)
    code, out, err = run(capsys, "playbook", "lint", path)
    assert code in (0, 2)
    if code == 2:
        assert located(out), out

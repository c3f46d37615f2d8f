"""Shared helper for command-line tests: run `muster ARGV` in-process as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli import main

__all__ = ["run_cli"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str | Path | object) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `muster ARGV`; fails on any traceback, because a user
    must never see one (a mistake is a located message and exit status 2)."""
    capsys.readouterr()
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    return code, out, err

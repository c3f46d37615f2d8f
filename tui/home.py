"""What `muster` with no arguments shows: the bundled library and where to go next."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from playbooks.loader import check_file, library_files

__all__ = ["home"]


def home(console: Console) -> None:
    """Print the home overview: every bundled playbook, checked, and the commands to try."""
    table = Table(title="Muster: bundled playbooks", title_justify="left")
    table.add_column("name", no_wrap=True, min_width=22)
    table.add_column("title", ratio=1, overflow="fold")
    table.add_column("states", justify="right")
    table.add_column("levels", justify="right")
    table.add_column("check", no_wrap=True)
    for path in library_files():
        playbook, found = check_file(path)
        errors = sum(d.severity == "error" for d in found)
        if playbook is None:
            table.add_row(path.stem, "", "", "", Text(f"{errors} error(s)", style="red"))
            continue
        table.add_row(playbook.name, playbook.title, str(len(playbook.lifecycle.states)),
                      f"{len(playbook.escalation.levels)}/{len(playbook.emergency.levels)}",
                      Text("ok", style="green") if not found else f"{len(found)} warning(s)")
    table.caption = "levels: escalation levels / emergency levels"
    console.print(table)
    console.print(
        "\nTry:\n"
        "  muster simulate                         a normal week: report and plots\n"
        "  muster simulate defective-batch-surge   a 3x surge for two weeks\n"
        "  muster calibrate LOG                    a scenario from your call or ticket log\n"
        "  muster backtest LOG --train .. --forecast ..   is its forecast any good?\n"
        "  muster live                             the live coordination desk\n"
        "  muster playbook show standard-repair    states, transitions, timers\n"
        "  muster playbook graph standard-repair   a state diagram (mermaid, dot)\n"
        "  muster playbook lint my-playbook.yaml   check your own playbook\n"
        "  muster --help                           everything else",
        highlight=False)

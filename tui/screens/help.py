"""Help: what a drill is, how Muster plays one, and the keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

__all__ = ["HELP_TEXT", "HelpScreen"]

HELP_TEXT = """\
# Muster

**A drill** is a tabletop exercise played live against a simulated service organisation.
A surge unfolds (a product recall, a storm, a parts shortage); the simulated front line works
every case by the playbook on its own. Your team is the **command post**: it takes the
decisions the playbook reserves for command. What the team does not decide does not happen.

- **Injects** arrive on the clock (e-mails, phone calls, system alerts, social media) as
  the exercise's master scenario events list says; some change the world (stock lost, staff
  sick, a complaint). Acknowledge them; act on them.
- **The emergency level** is yours to declare. The autopilot's evaluation is shown as a
  recommendation and never applied for you. The level allows **unlocks** (overtime,
  contractors, parts transfers) that you then activate.
- **Messages** the level makes owed (management briefings, public notices) have due times;
  late ones are marked.
- Every decision carries the **acting role** and its simulated and wall-clock times, and
  goes into the drill's **record** (`muster-out/drills.sqlite`), which
  `muster drill replay` reproduces exactly and `muster drill resume` continues.

## Keys on the home screen

| key | |
|---|---|
| s / p / r / l / h | start a drill / past drills / reports / playbooks / help |
| v | the live coordination desk (`muster live`; docs/live.md has its keys) |
| up, down, enter | choose and open |
| ctrl+p | command palette |
| ctrl+q | quit (a drill left this way is kept: resume it from Past drills) |

## Keys in a drill

| key | |
|---|---|
| space | pause or run the clock |
| 1 2 3 4 | speed 1x, 10x, 60x, 360x (60x: a simulated hour a minute) |
| n | jump to the next inject |
| a | acknowledge the selected inject (or the newest one) |
| h | what needs me now: filters off, soonest deadline first, top case selected |
| enter | open the selected case (board) or inject (feed) |
| d | declare the emergency level |
| u | activate an unlock |
| o | order spare parts |
| m | send a message |
| f | prioritise a case, a tier or a kind |
| r | change the priority rule |
| e / x | escalate / de-escalate a case |
| v | move a case to another pool |
| t | note; b (or shift+t) observer's note |
| w | switch the acting role |
| c | controller: fire a contingency inject |
| i | controller (seat): send an ad-hoc inject |
| g | evaluator (seat): rate the selected critical task P/S/M/U |
| ? | every key of the screen, runnable (the footer shows what fits) |
| q | end the drill |
| tab | move between the board, its filters, the feed and the log |
| / [ ] s | search the board, previous / next page, change the sort |
| ctrl+p | every command, by name |

In a form: arrows choose, enter moves to the next field and submits on the last one,
escape cancels. The clock stops while a form is open (unless the drill says
`forms_pause: false`; every form says which). At a seated drill (`muster drill NAME --seat
controller|evaluator|player`) the controller runs the clock for everyone; each seat shows
the keys it may use.
"""


class HelpScreen(ModalScreen[None]):
    """The help text over any screen (escape closes it)."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 100;
        max-width: 100%;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    """

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP_TEXT)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)

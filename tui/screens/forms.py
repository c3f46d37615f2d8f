"""Small modal forms: the arguments of an action, and yes-or-no confirmations.

A form is built from a list of fields (a list of choices, or a line of text) and a function
that turns the values into an action; the action's own validation (pydantic) says what is
wrong, shown in the form, which stays open until the values make a valid action or the team
cancels. Keyboard: arrows pick, Enter moves to the next field and submits on the last one,
Escape cancels.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

__all__ = ["FormField", "ActionForm", "ConfirmScreen", "error_text"]


@dataclass(frozen=True)
class FormField:
    """One value a form asks for."""

    name: str
    label: str
    options: tuple[tuple[str, Hashable], ...] | None = None
    """Choices (label, value): a list to pick from; None: a line of text."""
    value: Any = None
    """Initial value: the choice's value, or the text."""
    placeholder: str = ""
    integer: bool = False
    optional: bool = False
    """An empty text field gives None instead of being refused."""


def error_text(exc: ValueError) -> str:
    """One readable line from a validation error (pydantic's, or a plain ValueError)."""
    if isinstance(exc, ValidationError):
        return "; ".join((".".join(str(p) for p in e["loc"]) + ": " if e["loc"] else "")
                         + e["msg"] for e in exc.errors())
    return str(exc)


class ActionForm(ModalScreen[Any]):
    """A modal form whose result is the action built from its values (None: cancelled)."""

    DEFAULT_CSS = """
    ActionForm {
        align: center middle;
    }
    ActionForm > #form {
        width: 84;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        overflow-y: auto;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ActionForm .form-title {
        text-style: bold;
        margin-bottom: 1;
    }
    ActionForm .form-note {
        color: $text-muted;
        margin-bottom: 1;
    }
    ActionForm OptionList {
        height: auto;
        max-height: 40vh;
        margin-bottom: 1;
    }
    ActionForm #form-clock {
        text-style: bold;
        color: $warning;
    }
    ActionForm Input {
        margin-bottom: 1;
    }
    ActionForm #form-error {
        color: $error;
        height: auto;
    }
    ActionForm .form-buttons {
        height: auto;
        align-horizontal: right;
    }
    ActionForm .form-buttons Button {
        margin-left: 1;
    }
    ActionForm .form-hint {
        color: $text-muted;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("ctrl+s", "submit", "Submit", priority=True)]

    def __init__(self, title: str, fields: list[FormField],
                 build: Callable[[dict[str, Any]], Any], note: str = "") -> None:
        super().__init__()
        self.form_title, self.fields, self.build, self.note = title, fields, build, note
        self.clock_note = ""
        """Whether the drill clock runs while the form is open (the drill screen says)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(Text(self.form_title), classes="form-title")
            if self.clock_note:
                yield Static(Text(self.clock_note), id="form-clock")
            if self.note:
                yield Static(Text(self.note), classes="form-note")
            for f in self.fields:
                yield Label(f.label)
                if f.options is not None:
                    yield OptionList(*(Option(Text(label), id=str(i))
                                       for i, (label, _) in enumerate(f.options)),
                                     id=f"field-{f.name}")
                else:
                    yield Input(value="" if f.value is None else str(f.value),
                                placeholder=f.placeholder,
                                type="integer" if f.integer else "text",
                                id=f"field-{f.name}")
            yield Static("", id="form-error")
            with Horizontal(classes="form-buttons"):
                yield Button("OK", variant="primary", id="form-ok")
                yield Button("Cancel", id="form-cancel")
            yield Static("arrows: choose  enter: next / submit  ctrl+s: submit  esc: cancel",
                         classes="form-hint")

    def on_mount(self) -> None:
        for f in self.fields:
            if f.options is not None:
                values = [v for _, v in f.options]
                widget = self.query_one(f"#field-{f.name}", OptionList)
                widget.highlighted = values.index(f.value) if f.value in values else 0
        if self.fields:
            self.query_one(f"#field-{self.fields[0].name}").focus()
        else:
            self.query_one("#form-ok").focus()

    def _field_widgets(self) -> list[Widget]:
        return [self.query_one(f"#field-{f.name}") for f in self.fields]

    def _next(self, widget: Widget) -> None:
        widgets = self._field_widgets()
        i = widgets.index(widget)
        if i + 1 < len(widgets):
            widgets[i + 1].focus()
        else:
            self.action_submit()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._next(event.option_list)

    @on(Input.Changed)
    @on(OptionList.OptionHighlighted)
    def _edited(self) -> None:
        """A value changed: an error about the old values no longer stands beside it (a
        stale "qty: Input should be a valid integer" next to a typed 1500 misleads)."""
        self.query_one("#form-error", Static).update("")

    @on(Input.Submitted)
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        self._next(event.input)

    @on(Button.Pressed, "#form-ok")
    def _ok(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#form-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def values(self) -> dict[str, Any]:
        """The values as the form holds them now (text fields converted)."""
        out: dict[str, Any] = {}
        for f in self.fields:
            if f.options is not None:
                index = self.query_one(f"#field-{f.name}", OptionList).highlighted
                out[f.name] = f.options[index][1] if index is not None and f.options else None
                continue
            text = self.query_one(f"#field-{f.name}", Input).value.strip()
            if not text:
                out[f.name] = None if f.optional else ""
            elif f.integer:
                try:
                    out[f.name] = int(text)
                except ValueError:
                    raise ValueError(f"{f.label}: a whole number, not {text!r}") from None
            else:
                out[f.name] = text
        return out

    def action_submit(self) -> None:
        try:
            action = self.build(self.values())
        except ValueError as exc:  # pydantic's ValidationError is one: say what, stay open
            self.query_one("#form-error", Static).update(error_text(exc))
            return
        self.dismiss(action)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no (y / n, Enter on a button, Escape for no)."""

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
    }
    ConfirmScreen > #confirm {
        width: 64;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    ConfirmScreen .confirm-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    ConfirmScreen .confirm-buttons Button {
        margin-left: 1;
    }
    """

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n", "answer(False)", "No"),
                Binding("escape", "answer(False)", "No")]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self.question)
            with Horizontal(classes="confirm-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="confirm-yes")
                yield Button(f"{self.no} (n)", variant="primary", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no").focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

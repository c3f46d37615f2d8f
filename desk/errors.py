"""The one base exception of the desk package.

Every refusal a coordinator or a script can meet (an unknown or closed case, a decision taken
on a stale version, a bad CSV row, a missing playbook) is a `DeskError`: one line per problem,
`WHERE: error: what`, where WHERE is the database, or the file and row of the input. The CLI
prints it and exits 2; the app shows it; nothing was written.
"""

from __future__ import annotations

__all__ = ["DeskError", "Conflict"]

_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


class DeskError(ValueError):
    """A refused desk action or input; the message says what and where."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason
        super().__init__(f"{where}: error: {reason}".translate(_LINE_BREAKS))

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.where, self.reason))


class Conflict(DeskError):
    """The case or operation changed after the action was decided: look again, decide again."""

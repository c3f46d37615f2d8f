"""The one base exception of the incidents package.

Every error raised for bad domain input (an unknown tier, an impossible calendar, a corrupt
store) derives from it, so the CLI can turn all of them into a located message and exit 2.
"""

from __future__ import annotations

__all__ = ["IncidentsError"]


class IncidentsError(ValueError):
    """Bad input to the domain layer; the message says what and where."""

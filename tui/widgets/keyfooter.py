"""The footer of every screen: Textual's Footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

__all__ = ["KeyFooter"]

Shown = tuple[tuple[str, str, str, bool, str], ...]
"""(key, description, action, enabled, tooltip) of every binding the footer shows."""


class KeyFooter(Footer):
    """Textual's Footer recomposes all its key widgets on every bindings signal: each focus
    move, each form opened or closed over the screen, each reactive that refreshes bindings.
    On the drill screen that is some 25 widgets mounted and styled per key press, most of the
    time for the very same keys. This footer remembers what it last showed and rebuilds only
    when that changed; it looks and clicks exactly like Textual's."""

    _shown: Shown | None = None

    def _signature(self, screen: Screen[object]) -> Shown:
        return tuple((binding.key, binding.description, binding.action, enabled,
                      tooltip or "")
                     for _, binding, enabled, tooltip in screen.active_bindings.values()
                     if binding.show)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            shown = self._signature(screen)
            if shown == self._shown and self._bindings_ready:
                return
            self._shown = shown
        super().bindings_changed(screen)

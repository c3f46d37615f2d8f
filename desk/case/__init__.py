"""Cases on the desk: one customer case bound to a playbook, its events, rules and view."""

__all__: list[str] = []

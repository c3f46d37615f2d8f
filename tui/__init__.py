"""The fronts: the `muster` command line and (later) the Textual app; no business rules here."""

__all__: list[str] = []

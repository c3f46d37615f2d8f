"""The live coordination desk: the drilled playbooks on the wall clock, on a shared timeline."""

__all__: list[str] = []

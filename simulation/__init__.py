"""The SimPy world in which incidents walk their playbooks against staff and stock."""

__all__: list[str] = []

"""Playbooks as code: YAML -> validated Playbook -> transitions machines -> clock-free runtime."""

__all__: list[str] = []

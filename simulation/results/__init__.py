"""What runs produce: metrics of the event log, replications with CIs, reports and plots."""

__all__: list[str] = []

"""The live chart: open backlog and SLA attainment over the drill so far (plotext)."""

from __future__ import annotations

from textual_plotext import PlotextPlot

__all__ = ["BacklogChart"]


class BacklogChart(PlotextPlot):
    """Backlog (left axis) and SLA attainment in % (right axis) at each signal, over the
    drill's simulated hours; redrawn only when a new signal point arrived."""

    DEFAULT_CSS = """
    BacklogChart {
        border: round $secondary;
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Backlog and SLA attainment"
        self._points = -1

    def show(self, data: dict[str, list[float]], end_minute: float) -> None:
        minutes = data["minute"]
        if len(minutes) == self._points:
            return
        self._points = len(minutes)
        hours = [m / 60.0 for m in minutes]
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlim(0, max(end_minute / 60.0, 1.0))
        plt.xlabel("simulated hours")
        if hours:
            plt.plot(hours, data["backlog"], label="backlog", color="cyan", marker="braille")
            judged = [(h, 100.0 * a) for h, a in zip(hours, data["attainment"], strict=True)
                      if a is not None]
            if judged:
                plt.plot([h for h, _ in judged], [a for _, a in judged], yside="right",
                         label="SLA %", color="yellow", marker="braille")
                plt.ylim(0, 100, yside="right")
        self.refresh()

"""The drill screen's widgets: clock, inject feed, incident board, panels, chart, action log."""

from tui.widgets.actionlog import ActionLog
from tui.widgets.board import Board
from tui.widgets.chart import BacklogChart
from tui.widgets.clock import ClockBar
from tui.widgets.comms import CommsPanel
from tui.widgets.exercise import EegPanel, MselPanel
from tui.widgets.injects import InjectFeed
from tui.widgets.keyfooter import KeyFooter
from tui.widgets.level import LevelPanel
from tui.widgets.resources import ResourcesPanel

__all__ = ["ActionLog", "Board", "BacklogChart", "ClockBar", "CommsPanel", "EegPanel",
           "InjectFeed", "KeyFooter", "LevelPanel", "MselPanel", "ResourcesPanel"]

"""The app's screens: home, briefing, drill, case, forms, records, score, help."""

from tui.screens.briefing import BriefingScreen
from tui.screens.case import CaseScreen
from tui.screens.drill import DrillScreen
from tui.screens.forms import ActionForm, ConfirmScreen, FormField
from tui.screens.help import HelpScreen
from tui.screens.home import HomeScreen
from tui.screens.inject import InjectScreen
from tui.screens.records import PastDrillScreen, ReportScreen
from tui.screens.score import ScoreScreen

__all__ = ["ActionForm", "BriefingScreen", "CaseScreen", "ConfirmScreen", "DrillScreen",
           "FormField", "HelpScreen", "HomeScreen", "InjectScreen", "PastDrillScreen",
           "ReportScreen", "ScoreScreen"]

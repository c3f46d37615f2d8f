"""The app's screens: home, briefing, drill, case, forms, records, drill end, help."""

from tui.screens.briefing import BriefingScreen
from tui.screens.case import CaseScreen
from tui.screens.drill import DrillScreen
from tui.screens.end import DrillEndScreen
from tui.screens.forms import ActionForm, ConfirmScreen, FormField
from tui.screens.help import HelpScreen
from tui.screens.home import HomeScreen
from tui.screens.inject import InjectScreen
from tui.screens.records import PastDrillScreen, ReportScreen

__all__ = ["ActionForm", "BriefingScreen", "CaseScreen", "ConfirmScreen", "DrillEndScreen",
           "DrillScreen", "FormField", "HelpScreen", "HomeScreen", "InjectScreen",
           "PastDrillScreen", "ReportScreen"]

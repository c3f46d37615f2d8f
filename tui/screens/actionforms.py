"""The form of each drill action: which values it asks for, offered from the session.

Each function returns an `ActionForm` whose choices come from screenviews (levels with the
declared and recommended ones marked, unlocks with their state, messages owed first) and
whose result is the action record; the session decides whether it is taken.
"""

from __future__ import annotations

from typing import Any

from textual.screen import ModalScreen

from simulation.drills.actions import (
    Activate,
    AdHocInject,
    DeclareLevel,
    Deescalate,
    Escalate,
    FireInject,
    MoveCase,
    Note,
    OrderParts,
    Prioritise,
    PriorityRule,
    Send,
)
from simulation.drills.screenviews import (
    PRIORITY_KEYS,
    case_levels,
    contingency_choices,
    level_choices,
    level_label,
    obligation_choices,
    pool_choices,
    priority_targets,
    role_title,
    sku_choices,
    task_choices,
    unlock_choices,
)
from simulation.drills.session import DrillSession
from tui.screens.forms import ActionForm, FormField

__all__ = ["FORMS", "form_for", "rating_form"]


def _acting(session: DrillSession) -> str:
    return f"Acting as {role_title(session, session.role)} ({session.role}); w switches role."


def declare_form(session: DrillSession, case: int | None) -> ActionForm:
    choices, default = level_choices(session)
    info = session.level()
    note = (f"Declared: {level_label(session, info['declared'])}. The autopilot would "
            f"declare {level_label(session, info['recommended'])}; only the team decides.\n"
            + _acting(session))
    return ActionForm("Declare the emergency level",
                      [FormField("level", "Level", tuple(choices), default)],
                      lambda v: DeclareLevel(level=v["level"]), note)


def unlock_form(session: DrillSession, case: int | None) -> ActionForm:
    choices, default = unlock_choices(session)
    return ActionForm("Activate an unlock",
                      [FormField("unlock", "Unlock  [state]", tuple(choices), default)],
                      lambda v: Activate(unlock=v["unlock"]),
                      "Locked unlocks need a higher emergency level.\n" + _acting(session))


def order_form(session: DrillSession, case: int | None) -> ActionForm:
    skus = sku_choices(session)
    return ActionForm("Order spare parts",
                      [FormField("sku", "Part", tuple(skus), skus[0][1] if skus else None),
                       FormField("qty", "Quantity", placeholder="units", integer=True)],
                      lambda v: OrderParts(sku=v["sku"], qty=v["qty"]), _acting(session))


def message_form(session: DrillSession, case: int | None) -> ActionForm:
    choices = obligation_choices(session)
    return ActionForm("Send a message",
                      [FormField("obligation", "Template -> audience  (owed ones first)",
                                 tuple(choices), choices[0][1] if choices else None),
                       FormField("case", "About case (optional)", placeholder="case number",
                                 integer=True, optional=True)],
                      lambda v: Send(obligation=v["obligation"], case=v["case"]),
                      _acting(session))


def prioritise_form(session: DrillSession, case: int | None) -> ActionForm:
    targets = priority_targets(session, case)

    def build(v: dict[str, Any]) -> Prioritise:
        field, value = v["what"]
        return Prioritise(**{field: value}, undo=v["undo"])

    return ActionForm("Move cases forward",
                      [FormField("what", "What", tuple(targets), targets[0][1]),
                       FormField("undo", "How", (("move forward", False),
                                                 ("take a boost back", True)), False)],
                      build, "Moved cases go ahead of others in every queue they wait in.\n"
                      + _acting(session))


def rule_form(session: DrillSession, case: int | None) -> ActionForm:
    keys = tuple((k, k) for k in PRIORITY_KEYS)
    rest = (("(nothing more)", None), *keys)

    def build(v: dict[str, Any]) -> PriorityRule:
        order: list[str] = []
        for name in ("first", "second", "third"):
            if v[name] is not None and v[name] not in order:
                order.append(v[name])
        return PriorityRule(order=order)  # type: ignore[arg-type]

    return ActionForm("Priority rule for waiting work",
                      [FormField("first", "Serve first by", keys, keys[0][1]),
                       FormField("second", "then by", rest, None),
                       FormField("third", "then by", rest, None)],
                      build, "Replaces the playbooks' own order (escalated cases still go "
                      "first).\n" + _acting(session))


def _level_field(session: DrillSession, case: int | None, up: bool) -> FormField:
    known = case_levels(session, case) if case is not None else None
    levels = known[0] if known else sorted({lv for rt in session.world.runtimes.values()
                                            for lv in rt.levels})
    here = f" (now {known[0][known[1]]})" if known else ""
    first = ("next level up" if up else "one level down") + here
    return FormField("level", "To level", ((first, None), *((lv, lv) for lv in levels)), None)


def escalate_form(session: DrillSession, case: int | None) -> ActionForm:
    return ActionForm("Escalate a case",
                      [FormField("case", "Case", value=case, integer=True),
                       _level_field(session, case, True)],
                      lambda v: Escalate(case=v["case"], level=v["level"]), _acting(session))


def deescalate_form(session: DrillSession, case: int | None) -> ActionForm:
    return ActionForm("De-escalate a case",
                      [FormField("case", "Case", value=case, integer=True),
                       _level_field(session, case, False)],
                      lambda v: Deescalate(case=v["case"], level=v["level"]),
                      _acting(session))


def move_form(session: DrillSession, case: int | None) -> ActionForm:
    pools = pool_choices(session)
    return ActionForm("Move a case to another pool",
                      [FormField("case", "Case", value=case, integer=True),
                       FormField("pool", "Pool", tuple(pools), pools[0][1] if pools else None)],
                      lambda v: MoveCase(case=v["case"], pool=v["pool"]),
                      "The pool must have the role (and skill) the case's work needs.\n"
                      + _acting(session))


def note_form(session: DrillSession, case: int | None, observer: bool = False) -> ActionForm:
    title = "Observer note" if observer else "Note"
    note = ("An evaluator's observation, tagged to a critical task if you name one; kept "
            "apart from the team's decisions." if observer else
            "Goes into the drill's record with the time and the acting role.")
    tasks = tuple(task_choices(session))
    return ActionForm(title,
                      [FormField("text", "Text", placeholder="what happened, what was decided"),
                       FormField("task", "Critical task", tasks, None)],
                      lambda v: Note(text=v["text"], task=v["task"], observer=observer),
                      note + "\n" + _acting(session))


def observer_form(session: DrillSession, case: int | None) -> ActionForm:
    return note_form(session, case, observer=True)


def contingency_form(session: DrillSession, case: int | None) -> ActionForm:
    choices = contingency_choices(session)
    return ActionForm("Facilitator: fire a contingency inject",
                      [FormField("inject", "Inject", tuple(choices),
                                 choices[0][1] if choices else None)],
                      lambda v: FireInject(inject=v["inject"]),
                      "Contingency injects wait aside until the facilitator fires them "
                      "(when play stalls or drifts)." if choices else
                      "Every contingency inject of this drill has fired.")


def adhoc_form(session: DrillSession, case: int | None) -> ActionForm:
    roles = tuple((f"{r.title} ({key})", key) for key, r in session.drill.roles.items())
    methods = tuple((m, m) for m in ("phone", "e-mail", "system alert", "news",
                                     "social media", "radio", "in person", "chat"))
    return ActionForm("Controller: send an ad-hoc inject",
                      [FormField("subject", "Subject", placeholder="what the players hear"),
                       FormField("message", "Message", placeholder="the text (optional)",
                                 optional=True),
                       FormField("to", "To", roles, roles[0][1] if roles else None),
                       FormField("method", "Method", methods, "phone")],
                      lambda v: AdHocInject(subject=v["subject"], message=v["message"] or "",
                                            to=v["to"], method=v["method"]),
                      "Not in the MSEL: written into the record, so replay and the "
                      "counterfactuals send it at the same minute.")


def rating_form(session: DrillSession, task: str, guide: str,
                current: str = "") -> ActionForm:
    """An evaluator's rating of one critical task (the result: (rating, note))."""
    choices = (("P  performed without challenges", "P"),
               ("S  performed with some challenges", "S"),
               ("M  performed with major challenges", "M"),
               ("U  unable to be performed", "U"))
    return ActionForm(f"Rate critical task {task}",
                      [FormField("rating", "Rating", choices, current or "P"),
                       FormField("note", "Why (what you observed)", optional=True,
                                 placeholder="the observation behind the rating")],
                      lambda v: (v["rating"], v["note"] or ""), guide)


FORMS = {"declare": declare_form, "unlock": unlock_form, "order": order_form,
         "message": message_form, "prioritise": prioritise_form, "rule": rule_form,
         "escalate": escalate_form, "deescalate": deescalate_form, "move": move_form,
         "note": note_form, "observer_note": observer_form, "contingency": contingency_form,
         "adhoc": adhoc_form}
"""Drill-screen action name -> the function that builds its form."""

CASE_KINDS = {"escalate": "escalate", "deescalate": "deescalate", "move_case": "move",
              "prioritise": "prioritise"}


def form_for(name: str, session: DrillSession, case: int | None) -> ModalScreen[Any]:
    """The form of a drill-screen action (or a case action kind, from the case screen)."""
    return FORMS[CASE_KINDS.get(name, name)](session, case)

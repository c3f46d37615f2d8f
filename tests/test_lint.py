"""Semantic checks (`playbooks/lint.py`): each check is triggered by ONE change to a clean
playbook, and the finding is expected at the line (and column) of the text that causes it."""

from __future__ import annotations

import pytest

from playbooks.loader import check_file
from tests.conftest import (EXTRA, base_playbook, bundled_playbooks, col_of, errors, finding, line_of,
                            mutate, warnings)

BASE = base_playbook()
FULL = base_playbook(extra=True)


@pytest.mark.parametrize("text", [BASE, FULL], ids=["base", "with-all-sections"])
def test_base_playbooks_are_clean(check, text: str) -> None:
    # Every other test relies on this: the only finding is the one its mutation causes.
    assert check(text) == []


@pytest.mark.parametrize("path", bundled_playbooks(), ids=lambda p: p.stem)
def test_bundled_playbook_lints_without_errors(path) -> None:
    playbook, found = check_file(path)
    assert errors(found) == [], "\n".join(str(d) for d in found)
    assert playbook is not None


# -- states and transitions -------------------------------------------------------------------

def test_unknown_target_state_with_suggestion(check) -> None:
    text = mutate(BASE, "route: repair", "route: repiar")
    d = finding(check(text), "unknown state 'repiar' (did you mean 'repair'?)")
    assert (d.line, d.col) == (line_of(text, "route: repiar"), col_of(text, "repiar"))


def test_unknown_target_state_in_outcome(check) -> None:
    text = mutate(BASE, "fixed: {to: closed", "fixed: {to: clsoed")
    d = finding(check(text), "unknown state 'clsoed' (did you mean 'closed'?)")
    assert (d.line, d.col) == (line_of(text, "fixed:"), col_of(text, "clsoed"))


def test_unknown_initial_state(check) -> None:
    text = mutate(BASE, "initial: new", "initial: nwe")
    found = check(text)
    d = finding(found, "unknown state 'nwe' (did you mean 'new'?)")
    assert (d.line, d.col) == (line_of(text, "initial: nwe"), col_of(text, "nwe"))
    # Reachability cannot be judged without a valid start, so no flood of "unreachable".
    assert not [x for x in found if "unreachable" in x.message]


def test_unreachable_state_reported_at_its_name(check) -> None:
    text = BASE + "    orphan:\n      final: true\n"
    found = check(text)
    d = finding(found, "state 'orphan' is unreachable from the initial state 'new'")
    assert (d.line, d.col) == (line_of(text, "orphan:"), col_of(text, "orphan"))
    assert len(errors(found)) == 1


def test_non_final_state_with_no_way_out(check) -> None:
    text = mutate(BASE, "timeout: closed", "timeout: limbo") + "    limbo:\n      description: x\n"
    d = finding(check(text), "state 'limbo' is not final and has no way out")
    assert d.line == line_of(text, "    limbo:")


def test_lifecycle_without_any_final_state(check) -> None:
    text = mutate(BASE, "final: true", "final: false\n      on: {cancel: new}")
    finding(check(text), "the lifecycle has no final state")


def test_cycle_that_can_never_reach_a_final_state(check) -> None:
    text = mutate(BASE, "timeout: closed", "timeout: closed\n        park: hold")
    text = mutate(text, "events: [cancel, route]", "events: [cancel, route, park, nudge]")
    text += "    hold:\n      on: {nudge: hold2}\n    hold2:\n      on: {nudge: hold}\n"
    found = check(text)
    for name in ("hold", "hold2"):
        d = finding(found, f"a case in state {name!r} can never reach a final state")
        assert d.line == line_of(text, f"    {name}:")
    assert len(errors(found)) == 2


def test_tier_condition_that_strands_one_tier(check) -> None:
    # A VIP case routed to `vip_desk` finds no alternative for its tier: it is stuck there.
    text = mutate(BASE, "route: repair", "route: repair\n        escalate: vip_desk")
    text = mutate(text, "events: [cancel, route]", "events: [cancel, route, escalate, done]")
    text += ("    vip_desk:\n      on:\n        done:\n"
             "          - {to: closed, when: {tier: [tier1, tier2]}}\n")
    d = finding(check(text), "a VIP case in state 'vip_desk' can never reach a final state")
    assert d.line == line_of(text, "    vip_desk:")


# -- triggers and timers ----------------------------------------------------------------------

def test_trigger_that_nothing_fires(check) -> None:
    text = mutate(BASE, "events: [cancel, route]", "events: [cancel]")
    d = finding(check(text), "trigger 'route' is never fired")
    assert (d.line, d.col) == (line_of(text, "route: repair"), col_of(text, "route: repair"))


def test_timer_fires_a_trigger_the_state_does_not_accept(check) -> None:
    text = mutate(BASE, "fire: timeout}", "fire: timout}")
    d = finding(check(text), "timer fires 'timout', which state 'triage' does not accept "
                             "(did you mean 'timeout'?)")
    assert (d.line, d.col) == (line_of(text, "fire: timout"), col_of(text, "timout"))


def test_timer_on_final_state(check) -> None:
    text = mutate(BASE, "final: true", "final: true\n      timers: [{after: 1h, fire: x}]")
    d = finding(check(text), "timer on final state 'closed'")
    assert (d.line, d.col) == (line_of(text, "timers: [{after: 1h"), col_of(text, "timers: [{"))


def test_escalation_timer_started_in_final_state(check) -> None:
    text = mutate(FULL, "late: {after: 4h, to: supervisor}",
                  "late: {after: 4h, since: closed, to: supervisor}")
    d = finding(check(text), "timer on final state 'closed'")
    assert (d.line, d.col) == (line_of(text, "since: closed"), col_of(text, "closed, to"))


def test_message_repeated_from_final_state(check) -> None:
    text = mutate(FULL, "on: {enter: triage}",
                  "on: {enter: closed}\n    repeat: {every: 4h, until: closed}")
    d = finding(check(text), "would never stop")
    assert d.line == line_of(text, "repeat: {every")


@pytest.mark.parametrize("field", ["work", "outcomes", "on"])
def test_final_state_cannot_have_work_outcomes_or_triggers(check, field: str) -> None:
    text = mutate(BASE, "final: true", "final: true\n      work: {role: agent, duration: 5m}\n"
                  "      outcomes: {done: closed}\n      on: {cancel: closed}")
    d = finding(check(text), f"final state 'closed' cannot have {field}")
    needle, nth = {"work": ("duration: 5m", 1), "outcomes": ("outcomes: {done", 1),
                   "on": ("on: {cancel: closed}", 2)}[field]
    assert (d.line, d.col) == (line_of(text, needle, nth), 7)


# -- references to roles, parts, levels -------------------------------------------------------

def test_unknown_role_in_work(check) -> None:
    text = mutate(BASE, "work: {role: agent, duration: 30m", "work: {role: agnet, duration: 30m")
    d = finding(check(text), "unknown role 'agnet' (did you mean 'agent'?)")
    assert (d.line, d.col) == (line_of(text, "role: agnet"), col_of(text, "agnet"))


def test_unknown_part_in_work(check) -> None:
    text = mutate(BASE, "parts: {HINGE-01: 0.5}", "parts: {HINGE-02: 0.5}")
    d = finding(check(text), "unknown part 'HINGE-02' (did you mean 'HINGE-01'?)")
    assert d.line == line_of(text, "HINGE-02")


def test_unknown_role_in_pool(check) -> None:
    text = mutate(FULL, "resources:\n",
                  "resources:\n  pools:\n    desk: {role: clerk, serves: [new]}\n")
    d = finding(check(text), "unknown role 'clerk'")
    assert (d.line, d.col) == (line_of(text, "role: clerk"), col_of(text, "clerk"))


def test_unknown_escalation_level_in_rule(check) -> None:
    text = mutate(FULL, "to: supervisor}", "to: supervsor}")
    d = finding(check(text), "unknown escalation level 'supervsor' (did you mean 'supervisor'?)")
    assert (d.line, d.col) == (line_of(text, "to: supervsor"), col_of(text, "supervsor"))


def test_unknown_emergency_level_in_unlock(check) -> None:
    text = mutate(FULL, "{level: IV, resource", "{level: V, resource")
    d = finding(check(text), "unknown emergency level 'V'")
    assert (d.line, d.col) == (line_of(text, "level: V,"), col_of(text, "V, resource"))


def test_unknown_levels_in_communications(check) -> None:
    text = mutate(FULL, "on: {enter: triage}", "on: {emergency: III}")
    d = finding(check(text), "unknown emergency level 'III'")
    assert (d.line, d.col) == (line_of(text, "emergency: III"), col_of(text, "III"))
    text = mutate(FULL, "on: {enter: triage}", "on: {escalation: supervsor}")
    d = finding(check(text), "unknown escalation level 'supervsor' (did you mean 'supervisor'?)")
    assert d.line == line_of(text, "escalation: supervsor")


def test_duplicate_escalation_levels(check) -> None:
    text = mutate(FULL, "levels: [front_line, supervisor]",
                  "levels: [front_line, supervisor, front_line]")
    d = finding(check(text), "duplicate escalation level 'front_line'")
    assert (d.line, d.col) == (line_of(text, "levels: [front_line"),
                               col_of(text, "front_line]"))


# -- ambiguity and probabilities --------------------------------------------------------------

def _route(alternatives: str) -> str:
    return mutate(BASE, "route: repair", "route:\n" + alternatives)


def test_same_trigger_with_identical_conditions_is_ambiguous(check) -> None:
    text = _route("          - {to: repair, when: {tier: VIP}}\n"
                  "          - {to: closed, when: {tier: VIP}}\n"
                  "          - {to: repair}\n")
    found = check(text)
    d = finding(found, "alternative 2 of trigger 'route' can never be taken")
    assert d.line == line_of(text, "{to: closed, when: {tier: VIP}}")
    assert len(errors(found)) == 1


def test_unconditional_alternative_before_another_is_ambiguous(check) -> None:
    text = _route("          - {to: repair}\n          - {to: closed, when: {tier: VIP}}\n")
    d = finding(check(text), "alternative 2 of trigger 'route' can never be taken")
    assert d.line == line_of(text, "{to: closed, when: {tier: VIP}}")


def test_distinct_conditions_then_fallback_are_not_ambiguous(check) -> None:
    text = _route("          - {to: repair, when: {tier: VIP}}\n"
                  "          - {to: repair, when: {tier: tier1}}\n"
                  "          - {to: closed}\n")
    assert check(text) == []


def test_trigger_both_outcome_and_external_is_ambiguous(check) -> None:
    text = mutate(BASE, "on: {cancel: closed}", "on: {cancel: closed, taken: closed}")
    text = mutate(text, "events: [cancel, route]", "events: [cancel, route, taken]")
    d = finding(check(text), "trigger 'taken' of state 'new' is both a work outcome and an "
                             "external trigger")
    assert (d.line, d.col) == (line_of(text, "taken: closed}"), col_of(text, "taken: closed}"))


def test_outcome_probabilities_must_add_up_to_one(check) -> None:
    text = mutate(BASE, "fixed: {to: closed, p: 0.8}", "fixed: {to: closed, p: 0.7}")
    d = finding(check(text), "outcome probabilities add up to 0.9, not 1")
    assert "lifecycle.states.repair" in d.message
    assert line_of(text, "repair:", nth=1) <= d.line <= line_of(text, "failed:")


# -- conditions and templates -----------------------------------------------------------------

def test_unknown_incident_field_in_condition(check) -> None:
    text = _route("          - {to: repair, when: {teir: VIP}}\n          - {to: closed}\n")
    d = finding(check(text), "unknown incident field 'teir' in condition (did you mean 'tier'?)")
    assert (d.line, d.col) == (line_of(text, "teir: VIP"), col_of(text, "teir"))


@pytest.mark.parametrize("value", ["gold", "[VIP, gold]"])
def test_bad_tier_value_in_condition(check, value: str) -> None:
    text = _route(f"          - {{to: repair, when: {{tier: {value}}}}}\n"
                  "          - {to: closed}\n")
    d = finding(check(text), "tier 'gold' is not one of VIP, tier1, tier2")
    assert d.line == line_of(text, "when: {tier:")


def test_tier_spellings_people_type_are_accepted(check) -> None:
    text = _route("          - {to: repair, when: {tier: vip}}\n          - {to: closed}\n")
    assert check(text) == []


def test_bad_severity_in_message_condition(check) -> None:
    text = mutate(FULL, "on: {enter: triage}", "on: {enter: triage}\n    when: {severity: hgh}")
    d = finding(check(text), "severity 'hgh' is not one of low, medium, high, critical "
                             "(did you mean 'high'?)")
    assert d.line == line_of(text, "severity: hgh")


def test_unknown_template_placeholder_with_suggestion(check) -> None:
    text = mutate(FULL, "Dear {customer}", "Dear {custmer}")
    d = finding(check(text), "unknown placeholder {custmer} in template (did you mean 'customer'?)")
    assert d.line == line_of(text, "{custmer}")


def test_emergency_placeholder_in_case_message_is_unknown(check) -> None:
    text = mutate(FULL, "is {state}.", "is {state}, backlog {open_backlog}.")
    d = finding(check(text), "unknown placeholder {open_backlog}")
    assert d.line == line_of(text, "{open_backlog}")


@pytest.mark.parametrize("template", ["case {id", "case }id{", "case {id{x}}"])
def test_broken_template_braces(check, template: str) -> None:
    text = mutate(FULL, '"Dear {customer}, case {id} is {state}."', f'"{template}"')
    d = finding(check(text), "broken template")
    assert d.line == line_of(text, f'template: "{template}"')


# -- warnings ---------------------------------------------------------------------------------

def test_sla_target_without_milestone_state_is_a_warning(check) -> None:
    text = mutate(BASE, "milestones: {acknowledge: triage}", "milestones: {}")
    found = check(text)
    assert errors(found) == []
    for tier in ("VIP", "tier1", "tier2"):
        d = finding(found, f"SLA target {tier}.acknowledge is never met", severity="warning")
        line = line_of(text, f"{tier}: {{acknowledge")
        assert (d.line, d.col) == (line, text.splitlines()[line - 1].index("acknowledge") + 1)
    assert len(warnings(found)) == 3


def test_declared_but_unused_event_is_a_warning(check) -> None:
    text = mutate(BASE, "events: [cancel, route]", "events: [cancel, route, spare]")
    found = check(text)
    assert errors(found) == []
    d = finding(found, "event 'spare' is accepted by no state", severity="warning")
    assert (d.line, d.col) == (line_of(text, "spare]"), col_of(text, "spare]"))


def test_skill_the_role_does_not_list_is_a_warning(check) -> None:
    text = mutate(BASE, "work: {role: agent, duration: 10m}",
                  "work: {role: agent, skill: windows, duration: 10m}")
    found = check(text)
    assert errors(found) == []
    d = finding(found, "role 'agent' does not list skill 'windows'", severity="warning")
    assert d.line == line_of(text, "skill: windows")


def test_findings_are_sorted_by_position(check) -> None:
    text = mutate(BASE, "events: [cancel, route]", "events: [cancel, route, spare]")
    text = mutate(text, "route: repair", "route: repiar")
    found = check(text)
    assert len(found) >= 3
    assert found == sorted(found, key=lambda d: (d.line, d.col, d.message))


# -- found while writing the bundled library -------------------------------------------------

def test_range_test_on_a_text_field(check) -> None:
    text = mutate(BASE, "        route: repair",
                  "        route: [{to: repair, when: {customer: {min: 5}}}, {to: closed}]")
    d = finding(check(text), "customer is text")
    assert d.line == line_of(text, "customer: {min: 5}")


def test_timer_firing_only_conditional_alternatives(check) -> None:
    text = mutate(BASE, "        timeout: closed", "        timeout: {to: closed, when: {tier: VIP}}")
    d = finding(check(text), "alternatives are all conditional")
    assert d.line == line_of(text, "fire: timeout")


def test_until_milestone_that_no_state_meets(check) -> None:
    text = mutate(BASE + EXTRA, "late: {after: 4h, to: supervisor}",
                  "late: {after: 4h, to: supervisor, until: resolve}")
    d = finding(check(text), "milestone 'resolve' is never reached")
    assert d.line == line_of(text, "until: resolve")


def test_when_on_an_emergency_message(check) -> None:
    text = mutate(BASE + EXTRA, "  ack:\n",
                  "  brief:\n    audience: management\n    on: {emergency: IV}\n"
                  "    when: {tier: VIP}\n    template: \"level {level}\"\n  ack:\n")
    d = finding(check(text), "`when` tests one incident")
    assert d.line == line_of(text, "when: {tier: VIP}")

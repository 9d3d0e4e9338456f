"""Routing rules (DOMAIN.md section 3), the derived GBVIMS flags and urgency, as tables."""

import pytest

from incidents.cases.classify import context_flags, urgency
from incidents.cases.routing import ROUTING_RULES, case_facts, decide_routing
from incidents.vocab import CHILD, CHILD_AGE_BANDS, MINOR, MINOR_AGE_BANDS, ROUTING_REASONS, codes

ALL = {"police", "officer", "chairman"}
CIVIL = {"officer", "chairman"}
ADULT = "26_40"


def _facts(
    kinds=("domestic_violence",),
    harms=(),
    acts=(),
    core=None,
    age=ADULT,
    danger=False,
    crime=False,
):
    return case_facts(
        kinds=kinds,
        harm_forms=harms,
        acts=acts,
        gbv_type=core,
        victim_age_band=age,
        immediate_danger=danger,
        signs_of_crime=crime,
    )


# (the facts, the desks, the reason the leader is told)
ROUTING_TABLE = [
    # The police are the first responders to physical violence (Art. 20.1, 23, 24).
    (_facts(harms=["physical"]), ALL, "physical_violence"),
    (_facts(acts=["a"]), ALL, "physical_violence"),  # beating
    (_facts(acts=["p"]), ALL, "physical_violence"),  # confinement
    (_facts(acts=["q"]), ALL, "physical_violence"),  # forced out of the lawful home
    (_facts(harms=["sexual"]), ALL, "sexual_violence"),
    (_facts(core="rape"), ALL, "sexual_violence"),
    (_facts(kinds=["gbv_outside_family"], core="sexual_assault"), ALL, "sexual_violence"),
    # Any child or minor victim; abuse of a child.
    (_facts(harms=["psychological"], age="14_15"), ALL, "minor_victim"),
    (_facts(harms=["psychological"], age="under_16"), ALL, "minor_victim"),  # an earlier band
    (_facts(harms=["psychological"], age="16_17"), ALL, "minor_victim"),
    (_facts(kinds=["child_abuse"], age="unknown"), ALL, "minor_victim"),
    (_facts(kinds=["trafficking"]), ALL, "trafficking"),
    (_facts(harms=["psychological"], danger=True), ALL, "immediate_danger"),
    # Every report with signs of a crime (criminal procedure starts at the commune police).
    (_facts(harms=["economic"], crime=True), ALL, "crime_signs"),
    (_facts(kinds=["gbv_outside_family"], crime=True), ALL, "crime_signs"),
    # The rest: the chairman (told of every report, Art. 20) and the officer.
    (_facts(harms=["psychological"]), CIVIL, "other_violence"),
    (_facts(harms=["economic"], acts=["n", "o"], age="60_plus"), CIVIL, "other_violence"),
    (_facts(acts=["b", "d", "l"], core="psychological_abuse"), CIVIL, "other_violence"),
    (_facts(kinds=["gbv_outside_family"], age="unknown"), CIVIL, "other_violence"),
    # The first rule that applies gives the reason: danger first, then the victim's age.
    (_facts(harms=["physical"], age="16_17", danger=True), ALL, "immediate_danger"),
    (_facts(kinds=["trafficking"], age="16_17", crime=True), ALL, "minor_victim"),
]


@pytest.mark.parametrize(("facts", "desks", "reason"), ROUTING_TABLE)
def test_routing_table(facts, desks, reason):
    rule = decide_routing(facts)
    assert set(rule.desks) == desks
    assert rule.reason == reason


def test_every_reason_the_rules_give_has_words_for_the_leader():
    assert {rule.reason for rule in ROUTING_RULES} <= set(codes(ROUTING_REASONS))


def test_the_last_rule_catches_everything():
    assert ROUTING_RULES[-1].conditions == {}


def test_every_route_includes_the_chairman_and_the_officer():
    # Law 13/2022 Art. 20: the chairman is told of every report; the officer follows it.
    assert all({"chairman", "officer"} <= set(rule.desks) for rule in ROUTING_RULES)


def test_a_child_is_under_16_and_a_minor_under_18():
    """Two lines, never one (DOMAIN.md section 2)."""
    assert (CHILD, MINOR) == (16, 18)
    assert CHILD_AGE_BANDS == {"under_12", "12_13", "14_15", "under_16", "0_11"}
    assert MINOR_AGE_BANDS == CHILD_AGE_BANDS | {"16_17", "12_17"}
    assert "16_17" not in CHILD_AGE_BANDS and "18_25" not in MINOR_AGE_BANDS


@pytest.mark.parametrize(
    ("core", "kinds", "relationship", "age", "harms", "indicators", "flags"),
    [
        ("rape", {"domestic_violence"}, "husband", "16_17", set(), set(),
         ["intimate_partner_violence", "child_sexual_abuse"]),
        ("forced_marriage", set(), "father", "12_13", set(), set(), ["early_marriage"]),
        ("forced_marriage", set(), "mother", "16_17", set(), set(), ["early_marriage"]),
        ("forced_marriage", set(), "father", ADULT, set(), set(), []),
        ("non_gbv", {"trafficking"}, "stranger", ADULT, set(), set(), ["trafficking_indicators"]),
        ("rape", set(), "stranger", ADULT, set(), set(), []),
        # Not classified yet (a leader's report): the sexual harm he reported stands for it.
        (None, {"domestic_violence"}, "unknown", "16_17", {"sexual"}, set(),
         ["child_sexual_abuse"]),
        (None, {"domestic_violence"}, "unknown", ADULT, {"sexual"}, set(), []),
        (None, {"trafficking"}, "stranger", ADULT, {"sexual"}, {"exchanged"},
         ["possible_sexual_exploitation", "trafficking_indicators"]),
        # Classified: the type decides, whatever harm form was reported.
        ("physical_assault", set(), "neighbour", "16_17", {"sexual"}, set(), []),
    ],
)  # fmt: skip
def test_context_flags_are_derived(core, kinds, relationship, age, harms, indicators, flags):
    assert context_flags(core, kinds, relationship, age, harms, indicators) == flags


def test_urgency():
    assert urgency(True, False) == "immediate"
    assert urgency(True, True) == "immediate"
    assert urgency(False, True) == "high"
    assert urgency(False, False) == "normal"

"""Routing rules and GBVIMS classification, as tables."""

import pytest

from incidents.cases.classify import context_flags, gbv_type, urgency
from incidents.cases.routing import ROUTING_RULES, case_facts, decide_routing

ALL = {"police", "officer", "chairman"}
CIVIL = {"officer", "chairman"}


@pytest.mark.parametrize(
    ("kinds", "harms", "core", "age", "danger", "desks", "reason"),
    [
        (["trafficking"], [], "non_gbv", "18_59", False, ALL, "serious"),
        (["domestic_violence"], ["sexual"], "non_gbv", "18_59", False, ALL, "serious"),
        (["gbv_outside_family"], [], "rape", "18_59", False, ALL, "serious"),
        (["domestic_violence"], [], "sexual_assault", "18_59", False, ALL, "serious"),
        (
            ["domestic_violence"],
            ["physical"],
            "physical_assault",
            "under_16",
            False,
            ALL,
            "serious",
        ),
        (["domestic_violence"], ["physical"], "physical_assault", "16_17", False, ALL, "serious"),
        (["child_abuse"], [], "non_gbv", "unknown", False, ALL, "serious"),
        (
            ["domestic_violence"],
            ["psychological"],
            "psychological_abuse",
            "60_plus",
            True,
            ALL,
            "serious",
        ),
        (
            ["domestic_violence"],
            ["physical"],
            "physical_assault",
            "18_59",
            False,
            CIVIL,
            "other_violence",
        ),
        (
            ["domestic_violence"],
            ["economic"],
            "denial_of_resources",
            "60_plus",
            False,
            CIVIL,
            "other_violence",
        ),
        (
            ["gbv_outside_family"],
            ["psychological"],
            "psychological_abuse",
            "unknown",
            False,
            CIVIL,
            "other_violence",
        ),
    ],
)
def test_routing_table(kinds, harms, core, age, danger, desks, reason):
    rule = decide_routing(case_facts(kinds, harms, core, age, danger))
    assert set(rule.desks) == desks
    assert rule.reason == reason


def test_the_last_rule_catches_everything():
    assert ROUTING_RULES[-1].conditions == {}


def test_every_route_includes_the_chairman():
    # Law 13/2022 Art. 20: the chairman is told of every report.
    assert all("chairman" in rule.desks for rule in ROUTING_RULES)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"rape", "physical_assault"}, "rape"),
        ({"sexual_assault", "physical_assault"}, "sexual_assault"),
        ({"physical_assault", "psychological_abuse"}, "physical_assault"),
        ({"forced_marriage", "denial_of_resources"}, "forced_marriage"),
        ({"denial_of_resources", "psychological_abuse"}, "denial_of_resources"),
        ({"psychological_abuse"}, "psychological_abuse"),
        (set(), "non_gbv"),
    ],
)
def test_gbvims_type_is_the_first_yes_in_order(answers, expected):
    assert gbv_type(answers) == expected


def test_context_flags_are_derived():
    assert context_flags("rape", {"domestic_violence"}, "spouse", "16_17") == [
        "intimate_partner_violence",
        "child_sexual_abuse",
    ]
    assert context_flags("forced_marriage", set(), "parent_child", "under_16") == ["early_marriage"]
    assert context_flags("non_gbv", {"trafficking"}, "stranger", "18_59") == [
        "trafficking_indicators"
    ]
    assert context_flags("rape", set(), "stranger", "18_59") == []


def test_urgency():
    assert urgency(True, "other_violence") == "immediate"
    assert urgency(False, "serious") == "high"
    assert urgency(False, "other_violence") == "normal"

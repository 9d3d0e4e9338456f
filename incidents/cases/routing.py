"""Routing as a rule table: the first rule whose conditions match decides the desks.

A rule's conditions map a fact to the values that trigger it; the rule matches when any
one fact takes one of its values (an empty mapping always matches).
"""

from dataclasses import dataclass, field

from incidents.vocab import CHILD_AGE_BANDS


@dataclass(frozen=True)
class RoutingRule:
    """Route to desks when any of the conditions holds; reason is a code in vocab."""

    reason: str
    desks: tuple[str, ...]
    conditions: dict[str, frozenset] = field(default_factory=dict)

    def matches(self, facts: dict[str, frozenset]) -> bool:
        """Whether any condition's values meet the case's facts."""
        if not self.conditions:
            return True
        return any(
            facts.get(name, frozenset()) & values for name, values in self.conditions.items()
        )


ROUTING_RULES = (
    RoutingRule(
        reason="serious",
        desks=("police", "officer", "chairman"),
        conditions={
            "kinds": frozenset({"trafficking", "child_abuse"}),
            "harm_forms": frozenset({"sexual"}),
            "gbv_type": frozenset({"rape", "sexual_assault"}),
            "victim_age_band": CHILD_AGE_BANDS,
            "immediate_danger": frozenset({True}),
        },
    ),
    RoutingRule(reason="other_violence", desks=("officer", "chairman")),
)


def case_facts(
    kinds, harm_forms, gbv_type: str, victim_age_band: str, immediate_danger: bool
) -> dict[str, frozenset]:
    """Put a case's clear columns in the shape the rules read."""
    return {
        "kinds": frozenset(kinds),
        "harm_forms": frozenset(harm_forms),
        "gbv_type": frozenset({gbv_type}),
        "victim_age_band": frozenset({victim_age_band}),
        "immediate_danger": frozenset({immediate_danger}),
    }


def decide_routing(facts: dict[str, frozenset]) -> RoutingRule:
    """Return the first rule that matches (the last rule matches everything)."""
    for rule in ROUTING_RULES:
        if rule.matches(facts):
            return rule
    raise LookupError("no routing rule matched")  # unreachable: the last rule is catch-all

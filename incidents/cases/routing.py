"""Routing as a rule table (DOMAIN.md section 3): the first rule that applies decides.

Every report goes to the chairman (Law 13/2022 Art. 20) and to the culture-social officer
who follows it up; the ward police, the first responders, also get every report a rule
below names. A rule applies when any one of its conditions holds: a fact of the case takes
one of the condition's values. Its reason is what the leader is told (vocab.ROUTING_REASONS).
"""

from dataclasses import dataclass, field

from incidents.vocab import MINOR_AGE_BANDS

EVERY_REPORT = ("officer", "chairman")
WITH_THE_POLICE = ("police", *EVERY_REPORT)


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
    RoutingRule("immediate_danger", WITH_THE_POLICE, {"immediate_danger": frozenset({True})}),
    # Any child or minor victim; abuse of a child is of a child.
    RoutingRule(
        "minor_victim",
        WITH_THE_POLICE,
        {"victim_age_band": MINOR_AGE_BANDS, "kinds": frozenset({"child_abuse"})},
    ),
    RoutingRule("trafficking", WITH_THE_POLICE, {"kinds": frozenset({"trafficking"})}),
    RoutingRule(
        "sexual_violence",
        WITH_THE_POLICE,
        {"harm_forms": frozenset({"sexual"}), "gbv_type": frozenset({"rape", "sexual_assault"})},
    ),
    # A crime report follows criminal procedure: the commune police receive it.
    RoutingRule("crime_signs", WITH_THE_POLICE, {"signs_of_crime": frozenset({True})}),
    # Beating (act a), confinement (p), forcing out of the home (q): the police stop it.
    RoutingRule(
        "physical_violence",
        WITH_THE_POLICE,
        {"harm_forms": frozenset({"physical"}), "acts": frozenset({"a", "p", "q"})},
    ),
    RoutingRule("other_violence", EVERY_REPORT),
)


def case_facts(
    *,
    kinds,
    harm_forms,
    acts=(),
    gbv_type: str | None = None,
    victim_age_band: str,
    immediate_danger: bool,
    signs_of_crime: bool,
) -> dict[str, frozenset]:
    """Put a case's clear columns in the shape the rules read."""
    return {
        "kinds": frozenset(kinds),
        "harm_forms": frozenset(harm_forms),
        "acts": frozenset(acts),
        "gbv_type": frozenset({gbv_type}),
        "victim_age_band": frozenset({victim_age_band}),
        "immediate_danger": frozenset({immediate_danger}),
        "signs_of_crime": frozenset({signs_of_crime}),
    }


def decide_routing(facts: dict[str, frozenset]) -> RoutingRule:
    """Return the first rule that matches (the last rule matches everything)."""
    for rule in ROUTING_RULES:
        if rule.matches(facts):
            return rule
    raise LookupError("no routing rule matched")  # unreachable: the last rule is catch-all

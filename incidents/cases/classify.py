"""The GBVIMS context flags and the urgency, derived from the facts of a case."""

from incidents.vocab import INTIMATE_RELATIONSHIPS, MINOR_AGE_BANDS

SEXUAL_TYPES = frozenset({"rape", "sexual_assault"})


def context_flags(
    core_type: str | None,
    kinds: set[str],
    relationship: str,
    age_band: str,
    harm_forms: set[str] = frozenset(),
    trafficking_indicators: set[str] = frozenset(),
) -> list[str]:
    """The GBVIMS context flags, derived (never chosen) from the other facts.

    A minor is under 18 (vocab.MINOR). Until a desk classifies the case (core_type None),
    the sexual harm reported stands for rape or sexual assault.
    """
    minor = age_band in MINOR_AGE_BANDS
    sexual = core_type in SEXUAL_TYPES if core_type else "sexual" in harm_forms
    flags = []
    if relationship in INTIMATE_RELATIONSHIPS:
        flags.append("intimate_partner_violence")
    if sexual and minor:
        flags.append("child_sexual_abuse")
    if core_type == "forced_marriage" and minor:
        flags.append("early_marriage")
    if sexual and "exchanged" in trafficking_indicators:
        flags.append("possible_sexual_exploitation")
    if "trafficking" in kinds:
        flags.append("trafficking_indicators")
    return flags


def urgency(immediate_danger: bool, police_told: bool) -> str:
    """Immediate danger first; then the cases that go to the police; then the rest."""
    if immediate_danger:
        return "immediate"
    return "high" if police_told else "normal"

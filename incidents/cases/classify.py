"""GBVIMS classification and derived flags, from the answers in the report."""

from incidents.vocab import CHILD_AGE_BANDS, GBVIMS_QUESTIONS, INTIMATE_RELATIONSHIPS


def gbv_type(answers: set[str]) -> str:
    """The core GBVIMS type: the first question answered "yes", in GBVIMS order."""
    for code, _ in GBVIMS_QUESTIONS:
        if code in answers:
            return code
    return "non_gbv"


def context_flags(core_type: str, kinds: set[str], relationship: str, age_band: str) -> list[str]:
    """The GBVIMS context flags, derived (never chosen) from the other answers."""
    child = age_band in CHILD_AGE_BANDS
    sexual = core_type in ("rape", "sexual_assault")
    flags = []
    if relationship in INTIMATE_RELATIONSHIPS:
        flags.append("intimate_partner_violence")
    if sexual and child:
        flags.append("child_sexual_abuse")
    if core_type == "forced_marriage" and child:
        flags.append("early_marriage")
    if "trafficking" in kinds:
        flags.append("trafficking_indicators")
    return flags


def urgency(immediate_danger: bool, routing_reason: str) -> str:
    """Immediate danger first; then the cases that go to the police; then the rest."""
    if immediate_danger:
        return "immediate"
    return "high" if routing_reason == "serious" else "normal"

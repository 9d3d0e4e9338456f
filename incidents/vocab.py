"""The vocabulary of DOMAIN.md as (code, label) choices.

Codes are stored in the clear and counted by the statistics; labels are shown to people
and translated (Vietnamese first).
"""

from flask_babel import lazy_gettext as _l

KINDS = (
    ("domestic_violence", _l("Domestic violence")),
    ("gbv_outside_family", _l("Gender-based violence outside the family")),
    ("child_abuse", _l("Abuse of a child")),
    ("trafficking", _l("Human trafficking")),
)

HARM_FORMS = (
    ("physical", _l("Physical")),
    ("psychological", _l("Psychological")),
    ("sexual", _l("Sexual")),
    ("economic", _l("Economic")),
)

# The same four forms as a neighbour would say them, for the group leader's form.
HARM_FORMS_IN_PLAIN_WORDS = (
    ("physical", _l("Beaten, hurt or locked up")),
    ("psychological", _l("Insulted, threatened or cut off from others")),
    ("sexual", _l("Raped, touched or forced into a sexual act")),
    ("economic", _l("Money or property taken, or kept without means")),
)

# Law 13/2022 Art. 3.1, points a–q (the law has no points f and j), with every limb of each
# point: the label is the law's own words, shown as help and in every printed output. The
# wording of points k to q is to be checked against the Official Gazette text (DOMAIN.md
# marks l, m and n "(check)").
ACTS = (
    (
        "a",
        _l(
            "a. Torturing, maltreating, beating, threatening or other intentional acts "
            "harming health or life"
        ),
    ),
    ("b", _l("b. Insulting, scolding or other intentional acts offending honour and dignity")),
    (
        "c",
        _l(
            "c. Forcing to witness violence against a person or an animal, to put "
            "constant psychological pressure"
        ),
    ),
    (
        "d",
        _l(
            "d. Abandoning, neglecting; not nurturing or caring for a family member who is "
            "a child, a pregnant woman, a woman nursing a child under 36 months, an elderly "
            "or disabled person, or a person unable to take care of himself; not educating "
            "a family member who is a child"
        ),
    ),
    (
        "đ",
        _l(
            "đ. Stigmatising or discriminating against a family member for body, gender, "
            "sex or ability"
        ),
    ),
    (
        "e",
        _l(
            "e. Preventing a family member from meeting relatives or from lawful, healthy "
            "social relations, or other acts isolating him or her, to put constant "
            "psychological pressure"
        ),
    ),
    (
        "g",
        _l(
            "g. Obstructing rights and obligations in family relations between "
            "grandparents and grandchildren, parents and children, husband and wife, "
            "brothers and sisters"
        ),
    ),
    (
        "h",
        _l(
            "h. Disclosing or spreading information on a family member's private life, "
            "personal or family secrets to offend honour and dignity"
        ),
    ),
    ("i", _l("i. Forcing a wife or husband to have sex against his or her will")),
    (
        "k",
        _l(
            "k. Forcing to perform pornography; forcing to listen to, watch or read "
            "pornographic or violence-inciting content"
        ),
    ),
    (
        "l",
        _l(
            "l. Forcing into child marriage, marriage or divorce, or obstructing lawful "
            "marriage or divorce"
        ),
    ),
    ("m", _l("m. Forcing into pregnancy, abortion or the choice of a foetus's sex")),
    (
        "n",
        _l(
            "n. Appropriating or destroying common family property or a family member's "
            "own property"
        ),
    ),
    (
        "o",
        _l(
            "o. Forcing family members to study or work beyond their strength or to "
            "contribute money beyond their means; controlling their property or income "
            "to make them materially, emotionally or otherwise dependent"
        ),
    ),
    ("p", _l("p. Isolating or confining a family member")),
    ("q", _l("q. Forcing a family member out of his or her lawful home against the law")),
)

# The GBVIMS core types, in GBVIMS order: the first that applies is the incident's type.
# The desk that verifies a case classifies it (GBVIMS: never the community focal point).
GBV_TYPES = (
    ("rape", _l("Rape")),
    ("sexual_assault", _l("Sexual assault")),
    ("physical_assault", _l("Physical assault")),
    ("forced_marriage", _l("Forced marriage")),
    ("denial_of_resources", _l("Denial of resources, opportunities or services")),
    ("psychological_abuse", _l("Psychological or emotional abuse")),
    ("non_gbv", _l("Not gender-based violence")),
)

# The GBVIMS context flags, derived from the facts (cases.classify), never chosen.
CONTEXT_FLAGS = (
    ("intimate_partner_violence", _l("Intimate partner violence")),
    ("child_sexual_abuse", _l("Sexual abuse of a minor (under 18)")),
    ("early_marriage", _l("Early marriage (under 18)")),
    ("possible_sexual_exploitation", _l("Possible sexual exploitation")),
    ("trafficking_indicators", _l("Signs of trafficking")),
)

SEXES = (
    ("female", _l("Female")),
    ("male", _l("Male")),
    ("unknown", _l("Unknown")),
)

# Two age lines, never one (DOMAIN.md section 2). A CHILD is under 16 (Law on Children
# Art. 1): Decree 56/2017's forms, clocks and plan are for children only. A MINOR is under
# 18: the line of the GBVIMS context flags, of trafficking (Law 53/2024) and of the police.
CHILD = 16
MINOR = 18

# Age bands that serve both the Vietnamese tables (under 16, 16–59, 60 and over) and GBVIMS
# (0–11, 12–17, 18–25, 26–40, 41–60, 61+), for victims and perpetrators (DOMAIN.md
# section 2). A perpetrator of 18 or more may face community criticism (Art. 32).
AGE_BANDS = (
    ("under_12", _l("Under 12 (a child)")),
    ("12_13", _l("12 to 13 (a child)")),
    ("14_15", _l("14 to 15 (a child)")),
    ("16_17", _l("16 to 17 (a minor)")),
    ("18_25", _l("18 to 25")),
    ("26_40", _l("26 to 40")),
    ("41_59", _l("41 to 59")),
    ("60_plus", _l("60 and over")),
    ("unknown", _l("Unknown")),
)
# The coarser bands of cases filed before (migration 0017): valid, shown as they are, and
# replaced by a band above when a desk verifies the case. "0_11" and "61_plus" remain only
# in what a reporter gave (Case.reported): the migration moved the cases' own columns.
EARLIER_AGE_BANDS = (
    ("under_16", _l("Under 16 (a child; to be verified)")),
    ("18_59", _l("18 to 59 (to be verified)")),
    ("12_17", _l("12 to 17 (to be verified)")),
    ("41_60", _l("41 to 60 (to be verified)")),
    ("0_11", _l("0 to 11 (a child)")),
    ("61_plus", _l("61 and over")),
)
ALL_AGE_BANDS = (*AGE_BANDS, *EARLIER_AGE_BANDS)
# The age each band starts at and the age it stops before (None: not known, no limit).
_AGE_RANGES = {
    "under_12": (0, 12),
    "12_13": (12, 14),
    "14_15": (14, 16),
    "16_17": (16, 18),
    "18_25": (18, 26),
    "26_40": (26, 41),
    "41_59": (41, 60),
    "60_plus": (60, None),
    "unknown": (None, None),
    "under_16": (0, 16),
    "18_59": (18, 60),
    "12_17": (12, 18),
    "41_60": (41, 61),
    "0_11": (0, 12),
    "61_plus": (61, None),
}
CHILD_AGE_BANDS = frozenset(
    band for band, (_, below) in _AGE_RANGES.items() if below is not None and below <= CHILD
)
MINOR_AGE_BANDS = frozenset(
    band for band, (_, below) in _AGE_RANGES.items() if below is not None and below <= MINOR
)
ADULT_AGE_BANDS = frozenset(
    band for band, (start, _) in _AGE_RANGES.items() if start is not None and start >= MINOR
)
# The official tables' groups (Circular 07/2017): under 16; 16 to 59; 60 and over. An
# earlier band that straddles two (12 to 17) counts as unknown until it is verified.
_UNDER_16 = CHILD_AGE_BANDS
_16_TO_59 = frozenset(
    band
    for band, (start, below) in _AGE_RANGES.items()
    if start is not None and start >= CHILD and below is not None and below <= 61
)
_60_PLUS = frozenset(
    band for band, (start, _) in _AGE_RANGES.items() if start is not None and start >= 60
)
OFFICIAL_AGE_GROUPS = (
    ("under_16", _l("Under 16"), _UNDER_16),
    ("16_59", _l("16 to 59"), _16_TO_59),
    ("60_plus", _l("60 and over"), _60_PLUS),
    ("unknown", _l("Unknown"), frozenset(_AGE_RANGES) - _UNDER_16 - _16_TO_59 - _60_PLUS),
)

# What the person who caused the harm is TO THE VICTIM: the relationship with its direction
# (DOMAIN.md section 2; Law on Marriage and Family Art. 3.16 counts in-laws and step-
# relations as family). "Father" is a father who harmed his child.
RELATIONSHIPS = (
    ("husband", _l("Her husband")),
    ("wife", _l("His wife")),
    ("former_spouse", _l("Former husband or wife")),
    ("cohabiting_partner", _l("Partner living with the victim unmarried")),
    ("father", _l("Father")),
    ("mother", _l("Mother")),
    ("stepfather", _l("Stepfather")),
    ("stepmother", _l("Stepmother")),
    ("son", _l("Son")),
    ("daughter", _l("Daughter")),
    ("child_in_law", _l("Son- or daughter-in-law")),
    ("parent_in_law", _l("Father- or mother-in-law")),
    ("grandparent", _l("Grandfather or grandmother")),
    ("grandchild", _l("Grandchild")),
    ("sibling", _l("Brother or sister")),
    ("sibling_in_law", _l("Brother- or sister-in-law")),
    ("adoptive_parent", _l("Adoptive father or mother")),
    ("adopted_child", _l("Adopted child")),
    ("other_family", _l("Other family member")),
    ("neighbour", _l("Neighbour")),
    ("acquaintance", _l("Acquaintance")),
    ("employer", _l("Employer")),
    ("stranger", _l("Stranger")),
    ("unknown", _l("Unknown")),
)
# The undirected codes of cases filed before (migration 0017 keeps those it cannot direct;
# "cohabiting", which it directs, remains in what a reporter gave, Case.reported).
EARLIER_RELATIONSHIPS = (
    ("spouse", _l("Husband or wife (direction to be verified)")),
    ("parent_child", _l("Parent and child (direction to be verified)")),
    ("grandparent_grandchild", _l("Grandparent and grandchild (direction to be verified)")),
    ("adoptive", _l("Adoptive parent and child (direction to be verified)")),
    ("cohabiting", _l("Living together as husband and wife")),
)
ALL_RELATIONSHIPS = (*RELATIONSHIPS, *EARLIER_RELATIONSHIPS)
_OUTSIDE_FAMILY = frozenset({"neighbour", "acquaintance", "employer", "stranger", "unknown"})
FAMILY_RELATIONSHIPS = frozenset(code for code, _ in ALL_RELATIONSHIPS) - _OUTSIDE_FAMILY
INTIMATE_RELATIONSHIPS = frozenset(
    {"husband", "wife", "former_spouse", "cohabiting_partner", "spouse", "cohabiting"}
)

# Trafficking (Law 53/2024): a confirmed victim and a person being identified as one have
# different support; whether the person has come back; what the trafficking was for.
TRAFFICKING_STATUSES = (
    ("confirmed_victim", _l("A victim (confirmed)")),
    ("being_identified", _l("Being identified as a victim")),
)
TRAFFICKING_WHEREABOUTS = (
    ("returned", _l("Has returned")),
    ("still_away", _l("Still away")),
)
TRAFFICKING_PURPOSES = (
    ("money_or_benefit", _l("Money, property or other benefit")),
    ("sexual_exploitation", _l("Sexual exploitation")),
    ("forced_labour", _l("Forced labour")),
    ("forced_criminal_activity", _l("Forced criminal activity (scam compounds and the like)")),
    ("organ_removal", _l("Removal of body parts")),
    ("sale_of_baby_or_foetus", _l("Sale of a baby or a foetus")),
    ("other_inhumane", _l("Another inhumane purpose")),
)

# Abuse of a child (Law on Children 2016 Art. 4.5) and where it happened.
CHILD_ABUSE_FORMS = (
    ("violence", _l("Violence")),
    ("exploitation", _l("Exploitation (child labour, prostitution, pornography)")),
    ("sexual_abuse", _l("Sexual abuse")),
    ("trafficking", _l("Trafficking in children")),
    ("abandonment", _l("Abandonment")),
    ("neglect", _l("Neglect")),
)
CHILD_ABUSE_ENVIRONMENTS = (
    ("family", _l("Family")),
    ("school", _l("School")),
    ("community", _l("Community")),
    ("online", _l("Online")),
)

# What the desks found when they verified a report. Official statistics count verified
# cases; a report found unfounded is not a case.
VERIFICATIONS = (
    ("pending", _l("Not verified yet")),
    ("verified", _l("Verified")),
    ("unfounded", _l("Unfounded")),
)

# Two cases of the ward a desk member linked: the same event (several victims), the same
# person who caused the harm, the same victim (another incident): counted once per person.
CASE_LINKS = (
    ("same_event", _l("The same event, another victim")),
    ("same_perpetrator", _l("The same person who caused the harm")),
    ("same_victim", _l("The same victim, another incident")),
)

VICTIM_CIRCUMSTANCES = (
    ("pregnant", _l("Pregnant")),
    ("nursing", _l("Nursing a child under 36 months")),
    ("disabled", _l("Living with a disability")),
    ("elderly", _l("Elderly")),
)

# Law 13/2022 Art. 19.2: how the report reached the one who received it.
CHANNELS = (
    ("in_person", _l("In person")),
    ("phone", _l("Phone call")),
    ("message", _l("Text message")),
    ("letter", _l("Letter or petition")),
)

# Law 13/2022 Art. 19.1: where a report was received. A group leader's and a partner's
# filing is received where they are; a desk member records one received at the others.
RECEIVING_POINTS = (
    ("group_leader", _l("Residential-group leader")),
    ("ward_committee", _l("Ward People's Committee (one-stop desk)")),
    ("police", _l("Ward police or border guard post")),
    ("hotline", _l("Hotline (111, the domestic-violence line), forwarded")),
    ("front", _l("Head of the Front's working committee")),
    ("womens_union", _l("Women's Union")),
    ("school", _l("School")),
    ("health_station", _l("Health station")),
    ("shelter", _l("Shelter")),
)
# The points a desk member records a report from (he received it, or it was passed on).
RECORDED_RECEIVING_POINTS = ("ward_committee", "police", "hotline", "front")

# Who gave the information. A group leader is asked only how he knows.
SOURCES = (
    ("victim", _l("The victim")),
    ("relative", _l("A relative of the victim")),
    ("neighbour", _l("A neighbour")),
    ("witnessed", _l("Seen by the one who reported it")),
    ("other", _l("Someone else")),
)
LEADER_SOURCES = (
    ("witnessed", _l("I saw it")),
    ("victim", _l("The victim told me")),
    ("other", _l("Others told me")),
)

# What the victim said about sharing beyond the desks that handle the case (referrals,
# partners, statistics shown outside the ward). It never decides whether a report is made.
CONSENTS = (
    ("agreed", _l("She agrees")),
    ("refused", _l("She does not agree")),
    ("not_asked", _l("Not asked yet")),
)

STATUSES = (
    ("new", _l("New")),
    ("acknowledged", _l("Acknowledged")),
    ("in_progress", _l("In progress")),
    ("waiting_info", _l("Waiting for information")),
    ("closed", _l("Closed")),
    ("reopened", _l("Reopened")),
)

CLOSE_REASONS = (
    ("resolved", _l("Resolved")),
    ("unfounded", _l("Unfounded")),
    ("duplicate", _l("Duplicate, merged into another case")),
    # Cases closed so before it became a state of an open case (migration 0017).
    ("criminal_procedure", _l("Handed to criminal procedure")),
)

# The legal clocks (DOMAIN.md section 3): what must happen, and by when.
CLOCKS = (
    ("chairman_informed", _l("The chairman is informed")),
    ("contact_ban_decision", _l("Decision on the contact ban request")),
    ("child_emergency", _l("Emergency protection of the child")),
    ("child_plan", _l("Support and intervention plan for the child")),
    ("trafficking_verification", _l("Initial verification of the trafficking report")),
)

URGENCIES = (
    ("immediate", _l("Immediate danger")),
    ("high", _l("High")),
    ("normal", _l("Normal")),
)

# The referral partners' desks (wards.models.PARTNER_KINDS): they receive referrals only.
PARTNER_DESKS = (
    ("health_station", _l("Health station")),
    ("womens_union", _l("Women's Union")),
    ("school", _l("School")),
    ("shelter", _l("Shelter")),
)

DESKS = (
    ("police", _l("Ward police")),
    ("officer", _l("Culture-social officer")),
    ("chairman", _l("Ward chairman")),
    *PARTNER_DESKS,
)

# Why a report went where it went (cases.routing), in the words the leader is shown. The
# first reason that applies is recorded; every report goes to the chairman and the officer.
ROUTING_REASONS = (
    ("immediate_danger", _l("Someone is in danger now: the police are told too")),
    ("minor_victim", _l("The victim is under 18: the police are told too")),
    ("trafficking", _l("Human trafficking: the police are told too")),
    ("sexual_violence", _l("Sexual violence: the police are told too")),
    ("crime_signs", _l("There are signs of a crime: the police are told too")),
    ("physical_violence", _l("Beating, confinement or being forced out: the police are told too")),
    ("other_violence", _l("The chairman and the culture-social officer are told of every report")),
    # Cases filed before these reasons (one rule for the police then).
    ("serious", _l("Trafficking, sexual violence, a child victim or immediate danger")),
)

ROLES = (
    ("reporter", _l("Group leader")),
    ("police", _l("Ward police")),
    ("officer", _l("Culture-social officer")),
    ("chairman", _l("Ward chairman")),
    ("admin", _l("Administrator")),
    ("partner", _l("Referral partner")),
)

# Signs of trafficking (Law 53/2024 Art. 2: recruiting, moving, harbouring or receiving a
# person by deceit or force, for money or exploitation), asked only of trafficking reports.
TRAFFICKING_INDICATORS = (
    ("false_promise", _l("Recruited with a promise of work, study or marriage that was not kept")),
    ("moved_away", _l("Taken far from home or across the border")),
    ("papers_taken", _l("Identity papers or phone taken away")),
    ("cannot_leave", _l("Not free to leave, or watched")),
    ("forced_work_or_sex", _l("Forced to work, to beg or to sell sex")),
    ("debt", _l("Made to pay off a debt for the journey, food or lodging")),
    ("exchanged", _l("Money or goods were given in exchange for the person")),
)

# Who looks after a child victim now (Decree 56/2017: the caregiver is part of the risk).
CHILD_CAREGIVERS = (
    ("parents", _l("Parents")),
    ("relatives", _l("Other relatives")),
    ("perpetrator", _l("The person who caused the harm (even a parent)")),
    ("nobody", _l("Nobody, or not known")),
)

# What an account's sign-in history shows (audit actions, in the owner's words).
SIGN_IN_EVENTS = (
    ("login.success", _l("Signed in")),
    ("login.failure", _l("Failed sign-in")),
    ("logout", _l("Signed out")),
    ("account.reauth", _l("Confirmed identity")),
    ("account.reauth_failure", _l("Failed identity confirmation")),
    ("account.recovery_code_used", _l("Used a recovery code")),
)


# A referral to a partner: what may be shared (the default shares only the message typed
# for the partner), on what basis, and who consented how (GBVIMS: consent first).
REFERRAL_SHARES = (
    ("victim_name", _l("Name of the victim")),
    ("victim_phone", _l("Phone number of the victim")),
    ("victim_address", _l("Address of the victim")),
    ("victim_profile", _l("Age band and sex of the victim")),
    ("kinds", _l("Kinds of violence")),
)
REFERRAL_BASES = (
    ("consent", _l("The victim (or her parent or guardian) consents")),
    ("emergency", _l("Emergency: danger to life or health, without consent")),
)
CONSENT_GIVERS = (
    ("victim", _l("The victim")),
    ("guardian", _l("Her parent or guardian")),
)
CONSENT_MEANS = (
    ("in_person", _l("In person")),
    ("phone", _l("By phone")),
    ("in_writing", _l("In writing")),
)
REFERRAL_STATES = (
    ("sent", _l("Sent, awaiting an answer")),
    ("accepted", _l("Accepted")),
    ("declined", _l("Declined")),
    ("closed", _l("Closed")),
)


def codes(choices) -> tuple[str, ...]:
    """Return the codes of a choice list."""
    return tuple(code for code, _ in choices)


def label(choices, code: str | None) -> str:
    """Return the translated label of a code, or the code itself if it is unknown."""
    for choice_code, choice_label in choices:
        if choice_code == code:
            return str(choice_label)
    return code or ""


# Why a notice was sent, in general words only: never what the case is about (SECURITY.md
# property 18). The e-mail does not even say which of these it is.
NOTICE_REASONS = (
    ("new_case", _l("A case needs your attention")),
    ("escalated", _l("A case is overdue")),
    ("question", _l("You were asked about a case")),
    ("answer", _l("A question about a case was answered")),
    ("assigned", _l("You were made the handler of a case")),
    ("email_changed", _l("Someone else changed the e-mail address of your account")),
)


# Law 13/2022 Art. 25: who may ask for a contact ban (an agency or another person only
# with the victim's consent).
CONTACT_BAN_REQUESTERS = (
    ("victim", _l("The victim")),
    ("guardian", _l("The victim's guardian or legal representative")),
    ("police", _l("The ward police")),
    ("other_authority", _l("Another competent agency or person, with the victim's consent")),
)

CONTACT_BAN_DECISIONS = (
    ("granted", _l("Granted")),
    ("refused", _l("Refused")),
)

# Where a contact ban stands (derived from its decision and period, never stored).
CONTACT_BAN_STATES = (
    ("pending", _l("Waiting for the chairman's decision")),
    ("in_force", _l("In force")),
    ("upcoming", _l("Not started yet")),
    ("ended", _l("Ended")),
    ("refused", _l("Refused")),
)

# Law 13/2022 Art. 22.1: the protection measures ("biện pháp đã áp dụng"), in its order.
PROTECTION_MEASURES = (
    ("order_to_stop", _l("Order to stop the violence")),
    ("summons", _l("Summons of the person who caused the harm to the ward police")),
    ("contact_ban", _l("Contact ban")),
    ("shelter", _l("Temporary shelter and essential needs")),
    ("medical_care", _l("Medical care")),
    ("legal_psychological", _l("Legal aid and psychological counselling")),
    ("behaviour_change", _l("Education and support for behaviour change")),
    ("community_criticism", _l("Criticism in the residential community")),
    ("community_service", _l("Community service")),
    ("administrative", _l("Administrative measures")),
    ("criminal_procedure", _l("Criminal-procedure measures")),
)

# The support a victim received (Law 13/2022; Law 53/2024 Art. 37 for trafficking): the
# National Strategy counts the victims who reached at least one basic service.
SUPPORT_SERVICES = (
    ("health_care", _l("Health care")),
    ("temporary_shelter", _l("Temporary shelter")),
    ("essential_needs", _l("Essential needs (food, clothing)")),
    ("legal_aid", _l("Legal advice and legal aid")),
    ("psychological_support", _l("Psychological support")),
    ("social_assistance", _l("Social assistance or hardship allowance")),
    ("education", _l("Schooling")),
    ("vocational_support", _l("Vocational training or help finding work")),
    ("interpretation", _l("Interpretation")),
    ("travel_costs", _l("Travel costs")),
)


# Every action the audit trail records (audit.service.record), as the viewer shows it.
AUDIT_ACTIONS = (
    ("login.success", _l("Signed in")),
    ("login.failure", _l("Failed sign-in")),
    ("logout", _l("Signed out")),
    ("account.create", _l("Account created")),
    ("account.activate", _l("Activation code issued")),
    ("account.activation_code", _l("Activation code handed out at the desks")),
    ("account.activate_again", _l("Activation code issued again")),
    ("account.password", _l("Password changed")),
    ("account.key_reset", _l("Account reset, with a new key")),
    ("account.restore", _l("Key restored with the recovery key")),
    ("account.role", _l("Role changed")),
    ("account.email", _l("E-mail address changed")),
    ("account.reauth", _l("Confirmed identity")),
    ("account.reauth_failure", _l("Failed identity confirmation")),
    ("account.second_factor", _l("Authenticator app set up")),
    ("account.recovery_codes", _l("Recovery codes made")),
    ("account.recovery_code_used", _l("Used a recovery code")),
    ("account.sessions_end", _l("Other sessions ended")),
    ("account.key_mismatch", _l("A public key in the database did not match: nothing sealed")),
    ("key.mismatch", _l("A key nothing vouches for: nothing sealed to it")),
    ("key.desk", _l("Desk key signed with the recovery key")),
    ("demo.seed", _l("Demo data seeded (development only)")),
    ("ward.create", _l("Ward created")),
    ("group.create", _l("Residential group added")),
    ("desk.grant", _l("Seated at a desk")),
    ("desk.grant.refused", _l("Seat refused")),
    ("desk.grant.dropped", _l("Seat dropped at a key renewal")),
    ("desk.remove", _l("Removed from a desk")),
    ("desk.rotate", _l("Desk key renewed")),
    ("draft.save", _l("Draft saved")),
    ("draft.open", _l("Draft opened")),
    ("draft.delete", _l("Draft deleted")),
    ("case.file", _l("Report filed")),
    ("case.read", _l("Case read")),
    ("case.decrypt_failure", _l("Case failed its integrity check")),
    ("case.note", _l("Note added")),
    ("case.status", _l("Status changed")),
    ("case.route", _l("Sent to another desk")),
    ("case.merge", _l("Duplicate merged")),
    ("case.handler", _l("Handler assigned")),
    ("case.clock_met", _l("Time limit met")),
    ("case.escalate", _l("Overdue, escalated to the chairman")),
    ("case.contact_ban_request", _l("Contact ban requested")),
    ("case.contact_ban_decision", _l("Contact ban decided")),
    ("case.measure", _l("Protection measure recorded")),
    ("case.service", _l("Support service recorded")),
    ("case.outcome", _l("Perpetrator's outcome recorded")),
    ("case.index", _l("Possible duplicates checked")),
    ("case.print", _l("Intake record printed")),
    ("case.refer", _l("Referred to a partner")),
    ("case.reseal_reporter", _l("Reporter given access again")),
    ("case.reseal_reporter.refused", _l("Reporter's access refused: wrong key code")),
    ("case.verify", _l("Report verified")),
    ("case.correct", _l("Verified facts corrected")),
    ("case.link", _l("Cases linked")),
    ("case.criminal_procedure", _l("Handed to criminal procedure")),
    ("question.ask", _l("Question asked")),
    ("question.answer", _l("Question answered")),
    ("question.close", _l("Question closed")),
    ("question.read", _l("Questions read")),
    ("referral.read", _l("Referral read")),
    ("referral.respond", _l("Referral answered")),
    ("notice.mail", _l("Notice e-mailed")),
    ("stats.view", _l("Statistics viewed")),
    ("stats.export", _l("Statistics exported")),
    ("stats.publish", _l("Figures of a period published")),
    ("audit.view", _l("Audit trail viewed")),
    ("audit.export", _l("Audit trail exported")),
    ("audit.checkpoint", _l("Audit checkpoint signed")),
)


# The choices each coded fact of a case is one or some of (models.CODED_FACTS), to show it.
FACT_CHOICES = {
    "kinds": KINDS,
    "harm_forms": HARM_FORMS,
    "acts": ACTS,
    "gbv_type": GBV_TYPES,
    "victim_sex": SEXES,
    "victim_age_band": ALL_AGE_BANDS,
    "victim_circumstances": VICTIM_CIRCUMSTANCES,
    "perpetrator_relationship": ALL_RELATIONSHIPS,
    "perpetrator_sex": SEXES,
    "perpetrator_age_band": ALL_AGE_BANDS,
    "trafficking_indicators": TRAFFICKING_INDICATORS,
    "trafficking_status": TRAFFICKING_STATUSES,
    "trafficking_whereabouts": TRAFFICKING_WHEREABOUTS,
    "trafficking_purposes": TRAFFICKING_PURPOSES,
    "child_abuse_forms": CHILD_ABUSE_FORMS,
    "child_abuse_environments": CHILD_ABUSE_ENVIRONMENTS,
    "child_caregiver": CHILD_CAREGIVERS,
}
# Their names, as a history of corrections says which fact changed.
FACT_NAMES = {
    "kinds": _l("Kind of case"),
    "harm_forms": _l("Forms of harm"),
    "acts": _l("Acts"),
    "gbv_type": _l("GBVIMS type"),
    "immediate_danger": _l("Someone in danger now"),
    "signs_of_crime": _l("Signs of a crime"),
    "victim_sex": _l("Victim's sex"),
    "victim_age_band": _l("Victim's age"),
    "victim_circumstances": _l("The victim is also"),
    "perpetrator_relationship": _l("What the person who caused the harm is to the victim"),
    "perpetrator_sex": _l("Sex of the person who caused the harm"),
    "perpetrator_age_band": _l("Age of the person who caused the harm"),
    "trafficking_indicators": _l("Signs of trafficking"),
    "trafficking_status": _l("Trafficking: the person is"),
    "trafficking_whereabouts": _l("Trafficking: where the person is"),
    "trafficking_purposes": _l("Trafficking: for what"),
    "child_abuse_forms": _l("Abuse of the child: its forms"),
    "child_abuse_environments": _l("Abuse of the child: where"),
    "child_serious_risk": _l("The child is at serious risk now"),
    "child_caregiver": _l("Who looks after the child"),
    "perpetrator_name": _l("Name of the person who caused the harm"),
    "perpetrator_birth_year": _l("His or her year of birth"),
}


def fact_text(name: str, value) -> str:
    """A coded fact's value in words: its labels, yes or no, or a dash for none."""
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    choices = FACT_CHOICES.get(name)
    if choices is None:
        return str(value)
    if isinstance(value, list):
        return "; ".join(label(choices, code) for code in value)
    return label(choices, value)

"""THE access policy: every (user, action, case) question is answered here.

Views, services and templates ask can(); list queries use case_scope(), which encodes the
same rules as a SQL condition (a test checks that the two agree). Cases a user may not
read are answered with 404, so their existence is not revealed.

The policy and the cryptography agree: a user reaches a case only through a desk he sits
at (a seat holds the desk's key sealed to him) that the case is routed to (a route holds
the case's key sealed to the desk), or as the reporter the case's key is sealed to.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, false, select

from incidents.accounts.models import User
from incidents.cases.models import Case, CaseRoute
from incidents.timeutil import as_utc, utcnow
from incidents.wards.models import DeskMember


@dataclass
class PolicySettings:
    """The policy's settings (from the app's configuration, see configure())."""

    # A leader reads back what he filed for this long; afterwards he sees its status only.
    reporter_readback: timedelta = timedelta(days=30)


SETTINGS = PolicySettings()


def configure(config) -> None:
    """Take the policy's settings from the application's configuration."""
    SETTINGS.reporter_readback = timedelta(days=config["REPORTER_READBACK_DAYS"])


# Who files reports and follows them as their reporter: the group leaders, and the
# partners (Women's Union, school, health station), receiving points in their own right
# (Law 13/2022 Art. 19.1). A reporter reads back what he filed and answers questions on it.
FILER_ROLES = frozenset({"reporter", "partner"})

# Actions on a case, and the roles that may take them once they can read the case.
CASE_ACTIONS = {
    "case.read": {"reporter", "partner", "police", "officer", "chairman"},
    "case.note": {"police", "officer", "chairman"},
    "case.change_status": {"police", "officer", "chairman"},
    "case.route": {"police", "officer", "chairman"},
    # His own report's status and clocks, whatever its age: its reporter alone.
    "case.track": FILER_ROLES,
    # Questions to the reporter (cases/questions.py): the desks ask, if a reporter filed
    # the case; only he answers, and which questions he may answer is can_question()'s.
    "question.ask": {"police", "officer", "chairman"},
    "question.answer": FILER_ROLES,
    # The printable intake record (cases/intake.py): the desks' paper, never the leader's.
    "case.print": {"police", "officer", "chairman"},
    # Compute the victim's blind index and see the possible duplicates: the desks only.
    "case.index": {"police", "officer", "chairman"},
    # The chairman handles the case or assigns who does (Law 13/2022 Art. 20).
    "case.assign_handler": {"chairman"},
    # Any desk records a request for a contact ban; the chairman alone decides (Art. 25).
    "case.contact_ban_request": {"police", "officer", "chairman"},
    "case.contact_ban_decide": {"chairman"},
    # The measures of Art. 22 are the police's to apply, and the chairman's: he orders
    # the contact ban, community service and administrative measures himself, and
    # convenes the community criticism, so he records what he ordered.
    "case.measure": {"police", "chairman"},
    # The officer follows the victim's support and the perpetrator's counselling, and
    # compiles the statistics these feed.
    "case.service": {"officer"},
    "case.outcome": {"officer"},
    # Referring to a partner desk shares what the case's reader chooses (cases.referrals).
    "case.refer": {"police", "officer", "chairman"},
    # Seal the case key again to its reporter, whose copy is sealed to a key he lost (a
    # key reset): the desks, who hold the key and can check with him that it is him.
    "case.reseal_reporter": {"police", "officer", "chairman"},
    # Verify a report (cases.verification): the desks, each for the regimes VERIFY_ROLES
    # gives him; correct the verified facts later: any desk that reads the case.
    "case.verify": {"police", "officer", "chairman"},
    "case.correct": {"police", "officer", "chairman"},
    # Link two cases (the same event, perpetrator or victim): a reader of both.
    "case.link": {"police", "officer", "chairman"},
    # Record that the case was handed to criminal procedure: the police.
    "case.criminal_procedure": {"police"},
}

# Who verifies which regime (a case of several regimes: who may verify every one of them).
# Trafficking is verified with the police (Law 53/2024 Art. 27); abuse of a child by the
# police and the culture-social officer, who leads child protection (Decree 56/2017).
VERIFY_ROLES: dict[str, frozenset[str]] = {
    "domestic_violence": frozenset({"police", "officer", "chairman"}),
    "gbv_outside_family": frozenset({"police", "officer", "chairman"}),
    "child_abuse": frozenset({"police", "officer"}),
    "trafficking": frozenset({"police"}),
}

# Actions on a referral: a partner reads and answers the referrals to his own desk only.
REFERRAL_ACTIONS = {
    "referral.read": {"partner"},
    "referral.answer": {"partner"},
}

# The desks' roles: each reads and works on the cases routed to his desk.
DESK_ROLES = frozenset({"police", "officer", "chairman"})

# The state machine, as who may take each step (from, to). A closed case is reopened by
# the police or the chairman, who answer for the handling (Law 13/2022 Art. 20, 22).
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("new", "acknowledged"): DESK_ROLES,
    ("acknowledged", "in_progress"): DESK_ROLES,
    ("acknowledged", "closed"): DESK_ROLES,
    ("in_progress", "waiting_info"): DESK_ROLES,
    ("in_progress", "closed"): DESK_ROLES,
    ("waiting_info", "in_progress"): DESK_ROLES,
    ("waiting_info", "closed"): DESK_ROLES,
    ("closed", "reopened"): frozenset({"police", "chairman"}),
    ("reopened", "in_progress"): DESK_ROLES,
    ("reopened", "waiting_info"): DESK_ROLES,
    ("reopened", "closed"): DESK_ROLES,
}

# Who may close for which reason: finding a report unfounded is for the police and the
# chairman. Handing a case to criminal procedure does not close it (support and protection
# go on): it is a state the police record ("case.criminal_procedure").
CLOSE_REASON_ROLES: dict[str, frozenset[str]] = {
    "resolved": DESK_ROLES,
    "unfounded": frozenset({"police", "chairman"}),
    "duplicate": DESK_ROLES,
}

# Who may mark a clock as met by hand. The chairman's own clock is also met by his first
# step on the case; a contact-ban decision's by the decision itself, never by hand.
CLOCK_ROLES: dict[str, frozenset[str]] = {
    "chairman_informed": frozenset({"chairman"}),
    "child_emergency": DESK_ROLES,
    "child_plan": frozenset({"officer", "chairman"}),
    "trafficking_verification": frozenset({"police"}),
}

# Actions without a case.
GLOBAL_ACTIONS = {
    # A reporter files what he was told; a desk member records a report received at the
    # ward (its one-stop desk, the police, a hotline, the Front): one form, one service.
    "case.file": {"reporter", "partner", "police", "officer", "chairman"},
    "case.list_own": FILER_ROLES,
    "queue.view": {"police", "officer", "chairman"},
    "stats.view": {"officer", "chairman"},
    "accounts.manage": {"admin"},
    # A partner sees (and seats a colleague at) his own desk only: wards.views.
    "desk.view": {"police", "officer", "chairman", "partner"},
    "audit.view": {"officer", "chairman"},
    "account.own": {"reporter", "police", "officer", "chairman", "admin", "partner"},
    "notices.view": {"reporter", "police", "officer", "chairman", "admin", "partner"},
    "referral.list": {"partner"},
    # The statistics as files (spreadsheet, CSV, the official report): they leave the
    # ward's screens, so only those who compile and sign the report make them.
    "stats.export": {"officer", "chairman"},
}
# Of those, the ones that also need a seat at a desk: the administrator creates accounts
# of any role (and sees their activation codes), but only a seated member or the ward's
# recovery key seats one, so an account he made for himself reads no audit trail and no
# statistics (SECURITY.md: the audit log is not the administrators' to read).
# A partner or a desk member files from the desk he sits at (it says where the report was
# received); group leaders have no desk.
SEATED_ACTIONS = frozenset({"stats.view", "audit.view", "stats.export", "case.file"})
SEATLESS_ROLES = frozenset({"reporter"})


# The ward's staff (everyone but the group leaders). Their accounts open survivors'
# files or run the accounts: they sign in with a second factor (TOTP). A referral partner
# opens what referrals share of survivors' files: staff too.
STAFF_ROLES = frozenset({"police", "officer", "chairman", "admin", "partner"})


def needs_second_factor(user) -> bool:
    """Whether the account must sign in with an authenticator code as well."""
    return user.role in STAFF_ROLES


def _active(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.active


def _reaches(user, case: Case, action: str) -> bool:
    """Whether the case is within the user's reach: his own report, or routed to his desk."""
    if user.role in FILER_ROLES:
        if case.reporter_id != user.id:
            return False
        age = utcnow() - as_utc(case.received_at)
        return action != "case.read" or age <= SETTINGS.reporter_readback
    return any(route.desk_id in user.desk_ids for route in case.routes)


def can(user, action: str, case: Case | None = None) -> bool:
    """Answer whether user may take action (on case, for case actions; on a referral, for
    referral actions). Deny by default."""
    if not _active(user):
        return False
    if action in GLOBAL_ACTIONS:
        seated = action not in SEATED_ACTIONS or user.role in SEATLESS_ROLES or bool(user.desk_ids)
        return case is None and user.role in GLOBAL_ACTIONS[action] and seated
    if action in REFERRAL_ACTIONS:
        return (
            case is not None
            and user.role in REFERRAL_ACTIONS[action]
            and getattr(case, "desk_id", None) in user.desk_ids
        )
    if action in CASE_ACTIONS:
        return (
            case is not None
            and user.role in CASE_ACTIONS[action]
            and _reaches(user, case, action)
            and (action != "question.ask" or case.reporter.role in FILER_ROLES)
            and (action != "case.verify" or may_verify_kinds(user, case.kinds))
        )
    return False


def may_verify_kinds(user, kinds) -> bool:
    """Whether the user's role verifies every one of these regimes (VERIFY_ROLES): a case
    is verified, and a kind given or taken away, only by whom the table names."""
    return all(user.role in VERIFY_ROLES.get(kind, ()) for kind in kinds)


def allowed_moves(user, case: Case) -> tuple[str, ...]:
    """The statuses this user may move the case to from its current status."""
    if not can(user, "case.change_status", case):
        return ()
    return tuple(
        to
        for (start, to), roles in TRANSITIONS.items()
        if start == case.status and user.role in roles
    )


def close_reasons_for(user) -> tuple[str, ...]:
    """The reasons this user may close a case for."""
    return tuple(reason for reason, roles in CLOSE_REASON_ROLES.items() if user.role in roles)


def may_meet_clock(user, case: Case, kind: str) -> bool:
    """Whether the user may mark the case's clock of this kind as met."""
    return user.role in CLOCK_ROLES.get(kind, ()) and can(user, "case.change_status", case)


def case_scope(user, action: str = "case.read"):
    """A SQL condition selecting exactly the cases for which can(user, action, case) holds."""
    if not _active(user) or user.role not in CASE_ACTIONS[action]:
        return false()
    if user.role in FILER_ROLES:
        if action != "case.read":
            return Case.reporter_id == user.id
        since = utcnow() - SETTINGS.reporter_readback
        return and_(Case.reporter_id == user.id, Case.received_at >= since)
    seats = select(DeskMember.desk_id).where(DeskMember.user_id == user.id)
    routed = Case.id.in_(select(CaseRoute.case_id).where(CaseRoute.desk_id.in_(seats)))
    if action == "question.ask":  # as can(): only a case a reporter filed has one to ask
        return and_(routed, Case.reporter_id.in_(select(User.id).where(User.role.in_(FILER_ROLES))))
    return routed


# Actions on one question to a reporter (a CaseQuestion), by role.
QUESTION_ACTIONS = {
    "question.read": {*FILER_ROLES, "police", "officer", "chairman"},
    "question.answer": FILER_ROLES,
    "question.close": {"police", "officer", "chairman"},
}


def can_question(user, action: str, question) -> bool:
    """Answer whether user may take action on one question of a case. Deny by default.

    The desks that read the case see and close its questions. The reporter sees and
    answers the questions of his own report while he reads the report back; after
    SETTINGS.reporter_readback, only the questions still open.
    """
    if not _active(user) or user.role not in QUESTION_ACTIONS.get(action, ()):
        return False
    case = question.case
    if user.role not in FILER_ROLES:
        return can(user, "case.read", case)
    # An open question is the ward asking him now, for what only he can tell: it must reach
    # him however old the report is, or the desks wait for an answer he cannot see. It
    # opens nothing else: he sees the text a desk member wrote for him (not who wrote it,
    # nor the desks' notes), never the report itself. Answered or withdrawn, it has no
    # more reason to reach him, and goes back under the window with the rest of the case.
    return can(user, "case.read", case) or (question.is_open and can(user, "case.track", case))

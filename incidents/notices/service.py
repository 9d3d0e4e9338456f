"""Notices: who is told that a case needs him. They flush; the caller commits.

A notice holds the case's random id and a reason code, nothing else about the case
(SECURITY.md property 18). Staff with an address are also e-mailed (the outbox, sent by
'flask notices send', see incidents.notices.mail); group leaders never are.
"""

from collections.abc import Iterable

from sqlalchemy import func, select, update

from incidents.access import FILER_ROLES
from incidents.accounts.models import User
from incidents.cases.models import Case
from incidents.extensions import db
from incidents.notices.models import MAIL_PENDING, Notice
from incidents.timeutil import utcnow
from incidents.vocab import NOTICE_REASONS, codes
from incidents.wards.models import Desk, DeskMember

PAGE_SIZE = 20


def takes_email(user) -> bool:
    """Whether notices to this user are e-mailed too: staff with an address only.

    Group leaders get notices in the app only: a message that pops up on a phone a
    relative or a neighbour may pick up could endanger the leader (and who told him).
    """
    return user.role != "reporter" and bool(user.email)


# Told in the app only: that someone else changed where one's e-mail goes must not be
# mailed to the new address, which may be the very one someone set to read it instead.
IN_APP_ONLY = frozenset({"email_changed"})


def _new_notice(user, case: Case | None, reason: str) -> Notice:
    if reason not in codes(NOTICE_REASONS):
        raise ValueError(f"unknown notice reason {reason!r}")
    now = utcnow()
    mail = takes_email(user) and reason not in IN_APP_ONLY
    notice = Notice(
        user_id=user.id,
        case_id=case.id if case is not None else None,
        reason=reason,
        created_at=now,
        mail_status=MAIL_PENDING if mail else None,
        mail_attempts=0,
        mail_next_at=now if mail else None,
    )
    db.session.add(notice)
    return notice


def notify_user(user, case: Case | None, reason: str) -> Notice:
    """Tell one user that a case needs him (reason: a code of vocab.NOTICE_REASONS)."""
    notice = _new_notice(user, case, reason)
    db.session.flush()
    return notice


def notify_desks(case: Case, desk_kinds: Iterable[str], reason: str) -> list[Notice]:
    """Tell every active member seated at these desks of the case's ward."""
    kinds = set(desk_kinds)
    if not kinds:
        return []
    members = db.session.scalars(
        select(User)
        .join(DeskMember, DeskMember.user_id == User.id)
        .join(Desk, Desk.id == DeskMember.desk_id)
        .where(Desk.ward_id == case.ward_id, Desk.kind.in_(kinds), User.active.is_(True))
        .distinct()
        .order_by(User.id)
    ).all()
    notices = [_new_notice(member, case, reason) for member in members]
    db.session.flush()
    return notices


def unread_count(user) -> int:
    """How many of the user's notices he has not marked read."""
    return db.session.scalar(
        select(func.count())
        .select_from(Notice)
        .where(Notice.user_id == user.id, Notice.read_at.is_(None))
    )


def notices_of(user, page: int = 1) -> tuple[list[Notice], bool]:
    """One page of the user's notices, newest first, and whether an older page follows."""
    rows = db.session.scalars(
        select(Notice)
        .where(Notice.user_id == user.id)
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    ).all()
    return list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def mark_read(user, notice_ids: Iterable[int] | None = None) -> int:
    """Mark the user's unread notices read (all, or those of notice_ids that are his)."""
    statement = (
        update(Notice)
        .where(Notice.user_id == user.id, Notice.read_at.is_(None))
        .values(read_at=utcnow())
    )
    if notice_ids is not None:
        statement = statement.where(Notice.id.in_(list(notice_ids)))
    result = db.session.execute(statement)
    db.session.flush()
    return result.rowcount


def target(notice: Notice, role: str) -> tuple[str, dict]:
    """The endpoint a notice links to: the case page by its random id, for its reader."""
    if notice.case_id is None:
        return "notices.index", {}
    if role in FILER_ROLES:
        return "reporting.my_report", {"case_id": notice.case_id}
    return "triage.case_page", {"case_id": notice.case_id}

"""Reading the audit trail: filtered queries for the viewer, its CSV, and a case's log."""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from incidents import access, vocab
from incidents.accounts.models import User
from incidents.audit.models import AuditEntry
from incidents.audit.service import record
from incidents.cases.models import Case
from incidents.extensions import db
from incidents.spreadsheets import safe_cell
from incidents.timeutil import format_datetime, local_day_bounds

PAGE_SIZE = 50
# What counts as touching a case, for its access log (a referral's partner included).
CASE_ACTIONS = (
    "case.file",
    "case.read",
    "case.status",
    "case.note",
    "case.route",
    "case.merge",
    "case.clock_met",
    "case.escalate",
    # The victim's blind index computed (cases/duplicates.py): it decrypts the name.
    "case.index",
    # Questions to the reporter (cases/questions.py) and the printed intake record.
    "case.print",
    "question.ask",
    "question.answer",
    "question.close",
    "question.read",
    "case.refer",
    # The case key sealed again to its reporter after his key reset.
    "case.reseal_reporter",
    # Verification and its corrections, and links to other cases.
    "case.verify",
    "case.correct",
    "case.link",
    "case.criminal_procedure",
    "referral.read",
    "referral.respond",
)


@dataclass
class AuditFilter:
    """The viewer's filters; None means any."""

    actor: str | None = None
    action: str | None = None
    case_reference: str | None = None
    first: date | None = None
    last: date | None = None


def _scoped(viewer, chosen: AuditFilter):
    """Entries of the viewer's ward only (installation-wide ones are not his)."""
    statement = select(AuditEntry).where(AuditEntry.ward_id == viewer.ward_id)
    if chosen.actor:
        actor_ids = select(User.id).where(User.username == chosen.actor.strip().lower())
        statement = statement.where(AuditEntry.actor_id.in_(actor_ids))
    if chosen.action:
        statement = statement.where(AuditEntry.action == chosen.action.strip())
    if chosen.case_reference:
        case_ids = select(Case.id).where(
            Case.reference == chosen.case_reference.strip().upper(),
            Case.ward_id == viewer.ward_id,
        )
        statement = statement.where(AuditEntry.target.in_(case_ids))
    if chosen.first or chosen.last:
        start, end = local_day_bounds(
            chosen.first or date(2000, 1, 1), chosen.last or date(2100, 1, 1)
        )
        statement = statement.where(AuditEntry.at >= start, AuditEntry.at < end)
    return statement


def page_of(viewer, chosen: AuditFilter, page: int) -> tuple[list[AuditEntry], int]:
    """One page of entries, newest first, and the number of pages; the view is audited."""
    if not access.can(viewer, "audit.view"):
        raise PermissionError("audit.view")
    statement = _scoped(viewer, chosen)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    entries = db.session.scalars(
        statement.order_by(AuditEntry.seq.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    record("audit.view", actor=viewer, detail=f"page {page}")
    db.session.flush()
    return entries, max(1, -(-total // PAGE_SIZE))


def export_csv(viewer, chosen: AuditFilter) -> str:
    """All entries matching the filters as CSV, oldest first; the export is audited."""
    if not access.can(viewer, "audit.view"):
        raise PermissionError("audit.view")
    names = dict(db.session.execute(select(User.id, User.username)).all())
    output = io.StringIO()
    writer = csv.writer(output, quoting=csv.QUOTE_ALL)  # ';' never splits a cell
    writer.writerow(["seq", "time", "actor", "role", "action", "target", "address", "detail"])
    for entry in db.session.scalars(_scoped(viewer, chosen).order_by(AuditEntry.seq)):
        writer.writerow(
            safe_cell(value)
            for value in (
                entry.seq,
                format_datetime(entry.at),
                names.get(entry.actor_id, ""),
                entry.actor_role,
                entry.action,
                entry.target,
                entry.client_address,
                entry.detail,
            )
        )
    filters = ", ".join(
        f"{name}={value}" for name, value in vars(chosen).items() if value is not None
    )
    record("audit.export", actor=viewer, detail=filters or "all")
    db.session.flush()
    return output.getvalue()


def access_log(case: Case) -> list[AuditEntry]:
    """Who did what with this case, and when (for its desks' members): the latest 50."""
    return db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.target == case.id, AuditEntry.action.in_(CASE_ACTIONS))
        .order_by(AuditEntry.seq.desc())
        .limit(50)
    ).all()


# Actions whose detail is made of vocabulary codes ("a", "a,b" or "a>b"), shown as words.
_DETAIL_CODES = {
    "case.file": vocab.DESKS,
    "case.route": vocab.DESKS,
    "case.status": vocab.STATUSES,
    "case.measure": vocab.PROTECTION_MEASURES,
    "case.service": vocab.SUPPORT_SERVICES,
    "case.clock_met": vocab.CLOCKS,
    "case.escalate": vocab.CLOCKS,
    "case.contact_ban_request": vocab.CONTACT_BAN_REQUESTERS,
    "case.contact_ban_decision": vocab.CONTACT_BAN_DECISIONS,
    "case.verify": vocab.VERIFICATIONS,
    "account.create": vocab.ROLES,
    "account.role": vocab.ROLES,
}
_DETAIL_PHRASES = {
    ("logout", "quick exit"): _l("quick exit"),
    ("logout", "idle"): _l("after a time without activity"),
    ("draft.save", "kept after sign-out"): _l("kept after the session had ended"),
    ("login.success", "recovery"): _l("with a recovery code"),
}
_SEPARATORS = re.compile(r"->|>|,")


def detail_in_words(entry: AuditEntry, desk_kinds: dict[int, str]) -> str | None:
    """An entry's detail as the viewer's page shows it: in words where the detail is made
    of codes the vocabulary names (desk_kinds: desk id -> kind, for a seat); None for the
    rest, which the CSV export keeps as recorded."""
    detail = entry.detail or ""
    if entry.action in ("desk.grant", "desk.grant.refused") and detail.startswith("desk:"):
        kind = desk_kinds.get(int(detail[5:])) if detail[5:].isdigit() else None
        return vocab.label(vocab.DESKS, kind) if kind else None
    if entry.action in _DETAIL_CODES and detail:
        choices = _DETAIL_CODES[entry.action]
        codes = _SEPARATORS.split(detail)
        if all(code in vocab.codes(choices) for code in codes):
            joiner = " → " if ">" in detail else ", "
            return joiner.join(vocab.label(choices, code) for code in codes)
        return None
    phrase = _DETAIL_PHRASES.get((entry.action, detail))
    return str(phrase) if phrase else None


SIGN_IN_ACTIONS = (
    "login.success",
    "login.failure",
    "logout",
    "account.reauth",
    "account.reauth_failure",
    "account.recovery_code_used",
)


def sign_in_history(user_id: int, limit: int = 50) -> list[AuditEntry]:
    """An account's sign-ins, failures and sign-outs, newest first (never any case)."""
    return db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.target == f"user:{user_id}", AuditEntry.action.in_(SIGN_IN_ACTIONS))
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    ).all()

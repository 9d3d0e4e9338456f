"""Queues and the case page for the police, the officer and the chairman."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from incidents import access
from incidents.accounts.models import User
from incidents.audit.viewer import access_log
from incidents.cases import clocks, service
from incidents.cases.models import Case
from incidents.extensions import db
from incidents.forms import as_choices
from incidents.referrals.panel import referral_panel
from incidents.timeutil import utcnow
from incidents.triage.forms import ClockForm, NoteForm, QueueFilterForm, RouteForm, StatusForm
from incidents.triage.queue import QueueFilters, queue_page
from incidents.vocab import CLOCKS, CLOSE_REASONS, DESKS, STATUSES, label
from incidents.wards.models import DESK_KINDS, Desk
from incidents.web import get_case_or_404, keyring

bp = Blueprint("triage", __name__, url_prefix="/cases")


@bp.route("/")
def queue():
    """The desk's queue, filtered and paged: most pressing first."""
    if not access.can(current_user, "queue.view"):
        abort(404)
    form = QueueFilterForm()
    form.group.choices = as_choices(
        (("", _("All")), *((str(group.id), group.name) for group in current_user.ward.groups))
    )
    staff = db.session.scalars(
        select(User)
        .where(User.ward_id == current_user.ward_id, User.role.in_(access.DESK_ROLES))
        .order_by(User.display_name)
    ).all()
    form.handler.choices = as_choices(
        (
            ("", _("Anyone")),
            ("mine", _("Me")),
            ("none", _("No handler yet")),
            *((str(user.id), user.display_name) for user in staff),
        )
    )
    if not form.validate():
        return render_template("triage/queue.html", form=form, result=None), 400
    filters = QueueFilters(
        reference=form.reference.data or "",
        status=form.status.data or "",
        kind=form.kind.data or "",
        urgency=form.urgency.data or "",
        group_id=int(form.group.data) if form.group.data else None,
        handler=form.handler.data or "",
        overdue=form.overdue.data == "1",
    )
    now = utcnow()
    result = queue_page(current_user, filters, form.page.data or 1, now)
    return render_template(
        "triage/queue.html",
        form=form,
        result=result,
        clocks={case.id: clocks.running(case, now) for case in result.cases},
    )


@bp.route("/<case_id>")
def case_page(case_id: str):
    """The case with its decrypted fields, clocks, timeline and notes; the read is audited."""
    case = get_case_or_404(current_user, case_id)
    if case.reporter_id == current_user.id:
        return redirect(url_for("reporting.my_report", case_id=case.id))
    return _render_case(case)


def _status_form(case: Case, submitted: StatusForm | None = None) -> StatusForm:
    """The status form offering only the moves and reasons this user may choose now."""
    form = submitted or StatusForm(formdata=None)
    allowed = access.allowed_moves(current_user, case)
    form.status.choices = as_choices((code, text) for code, text in STATUSES if code in allowed)
    reasons = access.close_reasons_for(current_user)
    form.close_reason.choices = as_choices(
        (("", _("Not closing")), *((code, text) for code, text in CLOSE_REASONS if code in reasons))
    )
    form.version.data = str(case.version)
    return form


def _clock_form(case: Case, submitted: ClockForm | None = None) -> ClockForm | None:
    """The form to record a clock met by hand, with the running clocks this user may meet."""
    kinds = {view.kind for view in clocks.running(case)}
    mine = [
        (code, text)
        for code, text in CLOCKS
        if code in kinds and access.may_meet_clock(current_user, case, code)
    ]
    if not mine:
        return None
    form = submitted or ClockForm(formdata=None)
    form.clock.choices = as_choices(mine)
    return form


def _render_case(
    case: Case,
    *,
    note_form: NoteForm | None = None,
    status_form: StatusForm | None = None,
    clock_form: ClockForm | None = None,
    conflict: bool = False,
    refer_form=None,
    status: int = 200,
):
    """Decrypt (and audit the read), then show the case with its action forms."""
    content = service.read_case(current_user, case, keyring())
    db.session.commit()
    page = render_template(
        "triage/case.html",
        case=case,
        content=content,
        clocks=clocks.running(case),
        status_form=_status_form(case, status_form),
        clock_form=_clock_form(case, clock_form),
        note_form=note_form or NoteForm(formdata=None),
        route_form=_route_form(case, submitted=False),
        access_log=access_log(case),
        conflict=conflict,
        referrals=referral_panel(case, refer_form),
    )
    return page, status


def _route_form(case: Case, submitted: bool) -> RouteForm | None:
    """The form to route the case to a desk it has not reached yet, if any and allowed."""
    if not access.can(current_user, "case.route", case):
        return None
    routed = {route.desk_id for route in case.routes}
    choices = [
        (desk.id, label(DESKS, desk.kind))
        for desk in case.ward.desks
        if desk.id not in routed and desk.kind in DESK_KINDS
    ]
    if not choices:
        return None
    form = RouteForm() if submitted else RouteForm(formdata=None)
    form.desk_id.choices = as_choices(choices)
    return form


@bp.route("/<case_id>/route", methods=["POST"])
def route(case_id: str):
    """Seal the case's key to one more desk."""
    case = get_case_or_404(current_user, case_id, "case.route")
    form = _route_form(case, submitted=True)
    if form is None or not form.validate_on_submit():
        flash(_("Choose a desk from the list."), "error")
    else:
        desk = db.session.get(Desk, form.desk_id.data)
        try:
            service.route_to_desk(current_user, case, desk, keyring())
        except service.CaseError:
            flash(_("Choose a desk from the list."), "error")
        else:
            db.session.commit()
            flash(_("The case was sent to %(desk)s.", desk=label(DESKS, desk.kind)), "success")
    return redirect(url_for("triage.case_page", case_id=case.id))


STATUS_ERRORS = {
    "status": lambda: _("This status change is not allowed from the case's current status."),
    "why": lambda: _("Say why, in at most %(max)s characters.", max=service.WHY_MAX_LENGTH),
    "close_reason": lambda: _("To close a case, choose a reason for closing you may give."),
    "merge_into": lambda: _(
        "A duplicate is merged into another open case of the ward: give its reference, and "
        "choose the reason Duplicate."
    ),
}


@bp.route("/<case_id>/status", methods=["POST"])
def change_status(case_id: str):
    """Apply a status change; a refusal or a conflict shows the page again with the input."""
    case = get_case_or_404(current_user, case_id, "case.change_status")
    form = _status_form(case, StatusForm())
    seen = form.version.raw_data[0] if form.version.raw_data else ""
    if seen.isdigit() and int(seen) != case.version:
        return _conflict(case_id, form)  # before validating: the choices may have changed
    if not form.validate_on_submit() or not seen.isdigit():
        flash(_("The change was not saved: correct what is marked below."), "error")
        return _render_case(case, status_form=form, status=400)
    target = None
    if form.merge_into.data:
        target = db.session.scalar(
            select(Case).where(
                Case.ward_id == case.ward_id, Case.reference == form.merge_into.data.strip().upper()
            )
        )
    try:
        service.change_status(
            current_user,
            case,
            form.status.data,
            keyring(),
            why=form.why.data or "",
            close_reason=form.close_reason.data or None,
            merge_into=target if form.merge_into.data else None,
            seen_version=int(seen),
        )
        db.session.commit()
    except service.Conflict:
        db.session.rollback()
        return _conflict(case_id, form)
    except StaleDataError:
        # Someone else's change was written between our read and our write.
        db.session.rollback()
        return _conflict(case_id, form)
    except service.CaseError as error:
        db.session.rollback()
        flash(STATUS_ERRORS.get(str(error), STATUS_ERRORS["status"])(), "error")
        return _render_case(case, status_form=form, status=400)
    flash(_("The status was changed."), "success")
    return redirect(url_for("triage.case_page", case_id=case.id))


def _conflict(case_id: str, form: StatusForm):
    """The case as it is now, with the user's input kept, to look at and send again."""
    case = get_case_or_404(current_user, case_id, "case.change_status")
    flash(
        _(
            "Someone else changed this case while you were working on it. Nothing of yours "
            "was saved yet: look at the case as it is now, then send your change again."
        ),
        "error",
    )
    return _render_case(case, status_form=form, conflict=True, status=409)


@bp.route("/<case_id>/clocks", methods=["POST"])
def meet_clock(case_id: str):
    """Record that what a clock asks for was done, and what."""
    case = get_case_or_404(current_user, case_id, "case.change_status")
    form = _clock_form(case, ClockForm())
    if form is None:
        flash(_("No clock of this case is yours to mark as done."), "error")
        return redirect(url_for("triage.case_page", case_id=case.id))
    if form.validate_on_submit():
        try:
            service.meet_clock(current_user, case, form.clock.data, keyring(), why=form.why.data)
        except service.CaseError:
            db.session.rollback()
        else:
            db.session.commit()
            flash(_("Recorded as done."), "success")
            return redirect(url_for("triage.case_page", case_id=case.id))
    flash(_("Choose the clock and say what was done."), "error")
    return _render_case(case, clock_form=form, status=400)


@bp.route("/<case_id>/notes", methods=["POST"])
def add_note(case_id: str):
    """Add an encrypted note; an empty or over-long note is refused with its reason."""
    case = get_case_or_404(current_user, case_id, "case.note")
    form = NoteForm()
    if form.validate_on_submit():
        service.add_note(current_user, case, form.text.data, keyring())
        db.session.commit()
        flash(_("The note was saved."), "success")
        return redirect(url_for("triage.case_page", case_id=case.id))
    # Show the case again with the typed note and its error, so nothing is lost.
    return _render_case(case, note_form=form, status=400)

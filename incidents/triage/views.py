"""Queues and the case page for the police, the officer and the chairman."""

import time
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from incidents import access
from incidents.accounts.models import User
from incidents.audit.service import record
from incidents.audit.viewer import access_log
from incidents.cases import actions, clocks, duplicates, intake, questions, service, verification
from incidents.cases.models import Case, ContactBan
from incidents.extensions import db
from incidents.forms import EmptyForm, as_choices, is_number
from incidents.referrals.panel import referral_panel
from incidents.timeutil import as_utc, format_date, from_ward_time, to_ward_time, utcnow
from incidents.triage.forms import (
    ClockForm,
    ContactBanDecisionForm,
    ContactBanRequestForm,
    HandlerForm,
    MeasureForm,
    NoteForm,
    OutcomeForm,
    QuestionForm,
    QueueFilterForm,
    RouteForm,
    ServiceForm,
    StatusForm,
)
from incidents.triage.intake import DECREE, paper_forms
from incidents.triage.queue import QueueFilters, queue_page
from incidents.triage.verify import CriminalProcedureForm, LinkForm
from incidents.vocab import CLOCKS, CLOSE_REASONS, DESKS, ROLES, STATUSES, label
from incidents.wards import service as wards
from incidents.wards.models import DESK_KINDS, Desk
from incidents.web import confirm_first, get_case_or_404, get_question_or_404, keyring

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
    if current_user.role in access.FILER_ROLES:  # his own report, as he filed it
        return redirect(url_for("reporting.my_report", case_id=case.id))
    return render_case(case)


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


def render_case(
    case: Case,
    *,
    note_form: NoteForm | None = None,
    status_form: StatusForm | None = None,
    clock_form: ClockForm | None = None,
    question_form: QuestionForm | None = None,
    conflict: bool = False,
    actions: dict | None = None,
    refer_form=None,
    duplicate_check: duplicates.DuplicateCheck | None = None,
    status: int = 200,
):
    """Decrypt (and audit the read), then show the case with its action forms.

    The one case page: the case actions of other blueprints (a referral) answer a refused
    form with it too, so their input shows again where it was typed.

    actions holds a submitted form of the case's actions section by its name there
    (handler, ban_request, ban_decision, measure, service, outcome), to show it again.
    duplicate_check is what the duplicates button just found (its POST only).
    """
    content = service.read_case(current_user, case, keyring())
    asked = _questions_context(case, question_form)
    links = verification.links_of(current_user, case)
    db.session.commit()
    page = render_template(
        "triage/case.html",
        case=case,
        facts=case,
        desk_view=True,
        content=content,
        clocks=clocks.running(case),
        status_form=_status_form(case, status_form),
        clock_form=_clock_form(case, clock_form),
        note_form=note_form or NoteForm(formdata=None),
        route_form=_route_form(case, submitted=False),
        access_log=access_log(case),
        conflict=conflict,
        **asked,
        duplicate_check=duplicate_check,
        duplicates_form=EmptyForm(formdata=None),
        actions=_actions_section(case, content, actions or {}),
        referrals=referral_panel(case, refer_form),
        history=verification.history(case),
        detail_changes=verification.detail_history(case, content.reasons),
        links=links,
        timeline=verification.timeline(case, links),
        link_form=LinkForm(formdata=None),
        criminal_procedure_form=CriminalProcedureForm(formdata=None),
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
    if is_number(seen) and int(seen) != case.version:
        return _conflict(case_id, form)  # before validating: the choices may have changed
    if not form.validate_on_submit() or not is_number(seen):
        flash(_("The change was not saved: correct what is marked below."), "error")
        return render_case(case, status_form=form, status=400)
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
        return render_case(case, status_form=form, status=400)
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
    return render_case(case, status_form=form, conflict=True, status=409)


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
    return render_case(case, clock_form=form, status=400)


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
    return render_case(case, note_form=form, status=400)


# Questions to the group leader (cases/questions.py) and the printable intake record.


def _reporter_access_context(case: Case) -> dict:
    """Whether the leader can open the case; if his key was reset, when, and its code."""
    state = service.reporter_access(case)
    context = {"reporter_access": state}
    if state in ("awaiting_key", "lost"):
        context["key_reset"] = service.last_key_reset(case.reporter)
    if state == "lost":
        context["reporter_needs_key"] = service.reporter_needs_key(case)
    return context


def _questions_context(case: Case, question_form: QuestionForm | None) -> dict:
    """The case's questions, decrypted (their read audited), and the forms to ask and close."""
    shown = questions.questions_for(current_user, case, keyring())
    return {
        "questions": shown,
        **_reporter_access_context(case),
        "closable": {
            view.question.id
            for view in shown
            if view.question.is_open
            and access.can_question(current_user, "question.close", view.question)
        },
        "question_form": question_form or QuestionForm(prefix="question", formdata=None),
        "close_question_form": EmptyForm(formdata=None),
    }


_QUESTION_REFUSALS = {
    "empty": _l("Write the question first."),
    "too_long": _l("The question is too long."),
    "answered": _l("This question has already been answered."),
    "closed": _l("This question is already closed."),
    "case_closed": _l("This case is closed: reopen it to ask the group leader a question."),
}


@bp.route("/<case_id>/questions", methods=["POST"])
def ask_question(case_id: str):
    """Put a question to the group leader; a refused one shows again as typed (400)."""
    case = get_case_or_404(current_user, case_id, "question.ask")
    form = QuestionForm(prefix="question")
    if form.validate_on_submit():
        try:
            questions.ask(current_user, case, form.text.data, keyring())
        except service.CaseError as error:
            db.session.rollback()
            form.text.errors.append(str(_QUESTION_REFUSALS[str(error)]))
        else:
            db.session.commit()
            flash(_("The question was sent to the group leader."), "success")
            return redirect(url_for("triage.case_page", case_id=case.id, _anchor="questions"))
    return render_case(case, status=400, question_form=form)


_RESEAL_REFUSALS = {
    "reseal_not_needed": _l(
        "Nothing was changed: the group leader can already open this case, or no longer "
        "needs to (its read-back time is over and no question waits for him)."
    ),
    "reseal_needs_second": _l(
        "Nothing was changed: a second member of the ward's police, officer or chairman "
        "must be present and confirm with his username, password and code."
    ),
    "reseal_key_changed": _l(
        "Nothing was changed: the code you typed is not the code of the group leader's key. "
        "Ask him to read it again from his account page; if it still differs, the key is not "
        "his: do not try again, and tell the chairman."
    ),
}


@bp.route("/<case_id>/reporter-key", methods=["POST"])
def reseal_reporter(case_id: str):
    """Seal the case key again to the group leader, whose copy a key reset made useless."""
    case = get_case_or_404(current_user, case_id, "case.reseal_reporter")
    if not EmptyForm().validate_on_submit():
        abort(400)
    if refusal := confirm_first("triage.case_page", case_id=case.id):
        return refusal
    try:
        second = wards.witness(
            case.ward,
            current_user,
            case.reporter,
            request.form.get("second_username", "")[:64],
            request.form.get("second_password", "")[:256],
            request.form.get("second_code", "")[:40],
            time.time(),
        )
        service.reseal_for_reporter(
            current_user, case, keyring(), checked_key=request.form.get("key", ""), second=second
        )
    except wards.WardError:
        db.session.rollback()
        wards.record_refused_witness(request.form.get("second_username", "")[:64])
        db.session.commit()
        flash(str(_RESEAL_REFUSALS["reseal_needs_second"]), "error")
    except service.CaseError as error:
        db.session.rollback()
        if str(error) == "reseal_key_changed":  # a mistyped code, or a key that is not his
            record(
                "case.reseal_reporter.refused",
                actor=current_user,
                target=case.id,
                detail="key code",
            )
            db.session.commit()
        flash(str(_RESEAL_REFUSALS[str(error)]), "error")
    else:
        db.session.commit()
        flash(_("The group leader can read his report and the questions to him again."), "success")
    return redirect(url_for("triage.case_page", case_id=case.id, _anchor="questions"))


@bp.route("/<case_id>/questions/<int:question_id>/close", methods=["POST"])
def close_question(case_id: str, question_id: int):
    """Close an open question that is no longer needed."""
    case = get_case_or_404(current_user, case_id)
    question = get_question_or_404(current_user, case, question_id, "question.close")
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        questions.close(current_user, question, keyring())
    except service.CaseError as error:
        db.session.rollback()
        flash(str(_QUESTION_REFUSALS[str(error)]), "error")
    else:
        db.session.commit()
        flash(_("The question was closed."), "success")
    return redirect(url_for("triage.case_page", case_id=case.id, _anchor="questions"))


@bp.route("/<case_id>/intake")
def intake_record(case_id: str):
    """The printable intake record, rendered from the decrypted case; each view audited.

    Paper leaves the system whole, like an export: it needs a recent re-authentication.
    """
    case = get_case_or_404(current_user, case_id, "case.print")
    if refusal := confirm_first():
        return refusal
    fields = intake.read_for_print(current_user, case, keyring())
    db.session.commit()
    return render_template(
        "triage/intake.html",
        case=case,
        forms=paper_forms(case, fields),
        decree=DECREE,
        printed_at=utcnow(),
    )


@bp.route("/<case_id>/duplicates", methods=["POST"])
def look_for_duplicates(case_id: str):
    """Compare the case with the ward's other cases the user can read; the page it answers
    with shows what was found, which is stored nowhere."""
    case = get_case_or_404(current_user, case_id, "case.index")
    if not EmptyForm().validate_on_submit():
        abort(400)
    check = duplicates.look_for_duplicates(current_user, case, keyring())
    return render_case(case, duplicate_check=check)


# --- The case's actions: handler, contact bans, measures, services, the outcome -----------

ACTION_ERRORS = {
    "closed": lambda case: _("The case is closed: reopen it first."),
    "handler": lambda case: _(
        "Choose the handler from the list: a member seated at a desk this case is sent to."
    ),
    "handler_unchanged": lambda case: _("This member already handles the case."),
    "requester": lambda case: _("Choose who asked for the ban from the list."),
    "requested_in_future": lambda case: _("The time of the request cannot be in the future."),
    "requested_before_incident": lambda case: _(
        "The time of the request cannot be before the day of the incident (%(day)s).",
        day=format_date(case.incident_date),
    ),
    "ban_pending": lambda case: _("A request is already waiting for the chairman's decision."),
    "requested_before_last": lambda case: _(
        "A new request comes after the previous one: check the time of the request."
    ),
    "no_request": lambda case: _("No request for a contact ban is waiting for a decision."),
    "why": lambda case: _(
        "To refuse, say why; a reason has at most %(max)s characters.",
        max=service.WHY_MAX_LENGTH,
    ),
    "period": lambda case: _("To grant the ban, enter when it starts and when it ends."),
    "starts_before_request": lambda case: _("The ban cannot start before it was asked for."),
    "ends_before_start": lambda case: _("The ban must end after it starts."),
    "too_long": lambda case: _(
        "A contact ban lasts at most %(time)s. To go on, record a new request and decide it "
        "again when this ban ends.",
        time=format_timedelta(clocks.SETTINGS.contact_ban_longest, threshold=1.0),
    ),
    "overlap": lambda case: _(
        "This ban overlaps a ban already granted: a renewal starts when the previous ban ends."
    ),
    "measure": lambda case: _("Choose the measure from the list."),
    "service": lambda case: _("Choose the service from the list."),
    "date_in_future": lambda case: _("The date cannot be in the future."),
    "date_before_incident": lambda case: _(
        "The date cannot be before the day of the incident (%(day)s).",
        day=format_date(case.incident_date),
    ),
    "measure_twice": lambda case: _("This measure is already recorded on that day."),
    "service_twice": lambda case: _("This service is already recorded on that day."),
    "outcome_unchanged": lambda case: _("These answers are already recorded."),
}


def _handler_choices(case: Case):
    candidates = actions.handler_candidates(case)
    return as_choices(
        (
            ("", _("— Choose —")),
            *((user.id, f"{user.display_name} · {label(ROLES, user.role)}") for user in candidates),
        )
    )


def _handler_names(case: Case) -> dict[int, str]:
    """The names of the members the timeline's handler steps name, by id."""
    ids = {event.detail.get("handler") for event in case.events if event.kind == "handler"}
    if not ids:
        return {}
    users = db.session.scalars(select(User).where(User.id.in_(ids)))
    return {user.id: user.display_name for user in users}


def _decision_form(pending: ContactBan, now) -> ContactBanDecisionForm:
    """The decision form, offering a ban from now (or the request) for the longest allowed."""
    start = to_ward_time(max(now, as_utc(pending.requested_at)) + timedelta(seconds=59))
    return ContactBanDecisionForm(
        formdata=None, starts_at=start, ends_at=start + clocks.SETTINGS.contact_ban_longest
    )


def _actions_section(case: Case, content, submitted: dict) -> dict:
    """What the actions section shows: the records, and the forms this user may use now."""
    user, now = current_user, utcnow()
    is_open = case.status != "closed"
    bans = actions.contact_bans(case)
    pending = next((ban for ban in bans if ban.decision is None), None)
    # A refusal's reason is sealed in its decision's timeline event (read_case opened it).
    reasons = {
        event.detail.get("ban"): content.reasons.get(event.id)
        for event in case.events
        if event.kind == "contact_ban_decision"
    }
    row = actions.outcome(case)
    forms = {}
    if is_open and access.can(user, "case.assign_handler", case):
        form = submitted.get("handler") or HandlerForm(formdata=None, handler_id=case.handler_id)
        form.handler_id.choices = _handler_choices(case)
        form.version.data = str(case.version)
        forms["handler"] = form
    if is_open and pending is None and access.can(user, "case.contact_ban_request", case):
        forms["ban_request"] = submitted.get("ban_request") or ContactBanRequestForm(
            formdata=None, requested_at=to_ward_time(now)
        )
    if is_open and pending is not None and access.can(user, "case.contact_ban_decide", case):
        form = submitted.get("ban_decision") or _decision_form(pending, now)
        form.request_id.data = str(pending.id)
        forms["ban_decision"] = form
    if access.can(user, "case.measure", case):
        forms["measure"] = submitted.get("measure") or MeasureForm(formdata=None)
    if access.can(user, "case.service", case):
        forms["service"] = submitted.get("service") or ServiceForm(formdata=None)
    if access.can(user, "case.outcome", case):
        answers = {}
        if row is not None:
            answers = {
                "counselled": "yes" if row.counselled else "no",
                "prosecuted": "yes" if row.prosecuted else "no",
            }
        form = submitted.get("outcome") or OutcomeForm(formdata=None, **answers)
        form.version.data = str(row.version if row else 0)
        forms["outcome"] = form
    return {
        "bans": [(ban, actions.ban_state(ban, now), reasons.get(ban.id)) for ban in bans],
        "pending": pending,
        "longest": clocks.SETTINGS.contact_ban_longest,
        "measures": actions.measures(case),
        "services": actions.services(case),
        "outcome": row,
        "names": _handler_names(case),
        "forms": forms,
    }


def _refuse(case: Case, name: str, form, code: str | None = None):
    """The case page again with the form as typed and why it was refused; nothing saved."""
    db.session.rollback()
    if code in ACTION_ERRORS:
        flash(ACTION_ERRORS[code](case), "error")
    else:
        flash(_("Nothing was saved: check the answers marked below."), "error")
    return render_case(case, actions={name: form}, status=400)


def _action_conflict(case_id: str, name: str, form, action: str):
    """Someone changed what the form was about: the case as it is now, the input kept."""
    db.session.rollback()
    case = get_case_or_404(current_user, case_id, action)
    flash(
        _(
            "Someone else changed this case while you were working on it. Nothing of yours "
            "was saved yet: look at the case as it is now, then send your change again."
        ),
        "error",
    )
    return render_case(case, actions={name: form}, status=409)


def _done(case: Case, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("triage.case_page", case_id=case.id))


@bp.route("/<case_id>/handler", methods=["POST"])
def assign_handler(case_id: str):
    """The chairman assigns who handles the case (it meets his clock)."""
    case = get_case_or_404(current_user, case_id, "case.assign_handler")
    form = HandlerForm()
    form.handler_id.choices = _handler_choices(case)
    seen = form.version.raw_data[0] if form.version.raw_data else ""
    if not form.validate_on_submit() or not is_number(seen):
        return _refuse(case, "handler", form)
    handler = db.session.get(User, form.handler_id.data)
    try:
        actions.assign_handler(current_user, case, handler, keyring(), seen_version=int(seen))
        db.session.flush()
    except (service.Conflict, StaleDataError):
        return _action_conflict(case_id, "handler", form, "case.assign_handler")
    except service.CaseError as error:
        return _refuse(case, "handler", form, str(error))
    return _done(case, _("The handler was assigned."))


@bp.route("/<case_id>/contact-bans", methods=["POST"])
def request_contact_ban(case_id: str):
    """Record a request for a contact ban: the chairman's 12-hour clock starts."""
    case = get_case_or_404(current_user, case_id, "case.contact_ban_request")
    form = ContactBanRequestForm()
    if not form.validate_on_submit():
        return _refuse(case, "ban_request", form)
    try:
        actions.request_contact_ban(
            current_user,
            case,
            keyring(),
            requester=form.requester.data,
            requested_at=from_ward_time(form.requested_at.data),
        )
    except IntegrityError:  # another request for the case was recorded at the same moment
        return _refuse(case, "ban_request", form, "ban_pending")
    except service.CaseError as error:
        return _refuse(case, "ban_request", form, str(error))
    return _done(case, _("The request was recorded: the chairman must decide on it in time."))


@bp.route("/<case_id>/contact-bans/decision", methods=["POST"])
def decide_contact_ban(case_id: str):
    """The chairman grants the waiting request for a period, or refuses it with a reason."""
    case = get_case_or_404(current_user, case_id, "case.contact_ban_decide")
    form = ContactBanDecisionForm()
    request_id = form.request_id.data or ""
    # An id past the column's range would be an error on PostgreSQL, not a miss.
    if not form.validate_on_submit() or not is_number(request_id) or int(request_id) >= 2**31:
        return _refuse(case, "ban_decision", form)
    starts, ends = form.starts_at.data, form.ends_at.data
    try:
        actions.decide_contact_ban(
            current_user,
            case,
            db.session.get(ContactBan, int(request_id)),
            keyring(),
            granted=form.decision.data == "granted",
            starts_at=from_ward_time(starts) if starts else None,
            ends_at=from_ward_time(ends) if ends else None,
            why=form.why.data or "",
        )
        db.session.flush()
    except (service.Conflict, StaleDataError):
        return _action_conflict(case_id, "ban_decision", form, "case.contact_ban_decide")
    except service.CaseError as error:
        return _refuse(case, "ban_decision", form, str(error))
    return _done(case, _("The decision was recorded."))


@bp.route("/<case_id>/measures", methods=["POST"])
def add_measure(case_id: str):
    """Record a protection measure applied (Law 13/2022 Art. 22)."""
    case = get_case_or_404(current_user, case_id, "case.measure")
    form = MeasureForm()
    if not form.validate_on_submit():
        return _refuse(case, "measure", form)
    try:
        actions.add_measure(current_user, case, form.measure.data, form.applied_on.data, keyring())
        db.session.flush()
    except IntegrityError:  # the same measure, the same day, recorded at the same moment
        return _refuse(case, "measure", form, "measure_twice")
    except service.CaseError as error:
        return _refuse(case, "measure", form, str(error))
    return _done(case, _("The measure was recorded."))


@bp.route("/<case_id>/services", methods=["POST"])
def add_service(case_id: str):
    """Record a support service the victim received."""
    case = get_case_or_404(current_user, case_id, "case.service")
    form = ServiceForm()
    if not form.validate_on_submit():
        return _refuse(case, "service", form)
    try:
        actions.add_service(current_user, case, form.service.data, form.received_on.data, keyring())
        db.session.flush()
    except IntegrityError:
        return _refuse(case, "service", form, "service_twice")
    except service.CaseError as error:
        return _refuse(case, "service", form, str(error))
    return _done(case, _("The service was recorded."))


@bp.route("/<case_id>/outcome", methods=["POST"])
def record_outcome(case_id: str):
    """Record whether the person who caused the harm was counselled and is prosecuted."""
    case = get_case_or_404(current_user, case_id, "case.outcome")
    form = OutcomeForm()
    seen = form.version.raw_data[0] if form.version.raw_data else ""
    if not form.validate_on_submit() or not is_number(seen):
        return _refuse(case, "outcome", form)
    answers = actions.OutcomeAnswers(
        counselled=form.counselled.data == "yes", prosecuted=form.prosecuted.data == "yes"
    )
    try:
        actions.record_outcome(current_user, case, answers, keyring(), seen_version=int(seen))
        db.session.flush()
    except (service.Conflict, StaleDataError, IntegrityError):
        return _action_conflict(case_id, "outcome", form, "case.outcome")
    except service.CaseError as error:
        return _refuse(case, "outcome", form, str(error))
    return _done(case, _("The answers were recorded."))

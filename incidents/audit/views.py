"""The audit viewer of the officer and the chairman, and its CSV export."""

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from incidents import access
from incidents.accounts.models import User
from incidents.audit import viewer
from incidents.audit.forms import AuditFilterForm
from incidents.cases.models import Case
from incidents.extensions import db
from incidents.wards.models import Desk
from incidents.web import confirm_first

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _filters() -> tuple[AuditFilterForm, viewer.AuditFilter | None]:
    form = AuditFilterForm(request.args, meta={"csrf": False})
    if request.args and not form.validate():
        return form, None
    return form, viewer.AuditFilter(
        actor=form.actor.data or None,
        action=form.action.data or None,
        case_reference=form.case.data or None,
        first=form.first.data,
        last=form.last.data,
    )


@bp.route("/")
def entries():
    """Filtered, paginated entries, newest first."""
    if not access.can(current_user, "audit.view"):
        abort(404)
    form, chosen = _filters()
    page = form.page.data or 1
    found, pages = viewer.page_of(current_user, chosen, page) if chosen else ([], 1)
    db.session.commit()
    ids = {entry.actor_id for entry in found} - {None}
    actors = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}
    targets = {entry.target for entry in found if entry.target}
    references = dict(
        db.session.execute(
            select(Case.id, Case.reference).where(
                Case.id.in_(targets), Case.ward_id == current_user.ward_id
            )
        ).all()
    )
    # An account as its name (of this ward only), never as its internal "user:<id>".
    user_ids = {int(t[5:]) for t in targets if t.startswith("user:") and t[5:].isdigit()}
    references.update(
        (f"user:{user_id}", name)
        for user_id, name in db.session.execute(
            select(User.id, User.display_name).where(
                User.id.in_(user_ids), User.ward_id == current_user.ward_id
            )
        )
    )
    desk_kinds = dict(
        db.session.execute(
            select(Desk.id, Desk.kind).where(Desk.ward_id == current_user.ward_id)
        ).all()
    )
    query = {key: value for key, value in request.args.items() if key != "page"}
    return render_template(
        "audit/entries.html",
        form=form,
        entries=found,
        actors=actors,
        references=references,
        details={entry.seq: viewer.detail_in_words(entry, desk_kinds) for entry in found},
        page=page,
        pages=pages,
        query=query,
    )


@bp.route("/export.csv")
def export():
    """The filtered entries as a CSV file (the export is audited too)."""
    if not access.can(current_user, "audit.view"):
        abort(404)
    if refusal := confirm_first():
        return refusal
    _form, chosen = _filters()
    if chosen is None:
        abort(400)
    body = viewer.export_csv(current_user, chosen)
    db.session.commit()
    return Response(
        "\ufeff" + body,  # a byte-order mark, so spreadsheets read the Vietnamese right
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )

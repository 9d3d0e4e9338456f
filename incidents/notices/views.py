"""One's own notices: the list (newest first) and "mark all read"; the count in the menu."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access
from incidents.extensions import db
from incidents.forms import EmptyForm, is_number
from incidents.notices import service

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.before_request
def require_access():
    """Every signed-in role has notices; each sees only his own."""
    if not access.can(current_user, "notices.view"):
        abort(404)


@bp.app_context_processor
def unread_notices():
    """The menu's count, asked only by a page that shows the menu to a signed-in user."""

    def count() -> int:
        return service.unread_count(current_user)

    return {"unread_notices": count}


@bp.route("")
def index():
    """The signed-in user's notices, a page at a time, the unread ones marked."""
    page = request.args.get("page", "1")
    if not is_number(page) or not 1 <= int(page) <= 10_000:
        abort(404)
    notices, older = service.notices_of(current_user, int(page))
    return render_template(
        "notices/index.html",
        notices=notices,
        page=int(page),
        older=older,
        link=_link,
        read_form=EmptyForm(formdata=None),
    )


def _link(notice) -> str:
    endpoint, values = service.target(notice, current_user.role)
    return url_for(endpoint, **values)


@bp.route("/read", methods=["POST"])
def mark_read():
    """Mark every notice of the signed-in user read."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    count = service.mark_read(current_user)
    db.session.commit()
    flash(_("Notices marked read: %(count)s.", count=count), "success")
    return redirect(url_for("notices.index"))

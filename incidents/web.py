"""Small helpers the views share: the keyring, hash parameters, safe redirects, case lookup."""

import re
import time
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case, CaseQuestion
from incidents.crypto.passwords import Argon2Params
from incidents.extensions import db

CASE_ID = re.compile(r"[0-9a-f]{32}")
UNSAFE_IN_NEXT = re.compile(r"[\x00-\x20\x7f\\]")


# The session key under which sign-in leaves the member's personal seed (server-side).
PERSONAL_KEY = "personal_key"
# When the member last proved who he is (sign-in or re-authentication), as Unix time.
AUTHENTICATED_AT = "authenticated_at"
# Set in a staff session once it gave a second factor (at sign-in or by enrolling one): a
# session opened with the password alone, before the account had an authenticator, must
# not inherit the authenticator the owner enrols later.
SECOND_FACTOR_PASSED = "second_factor_passed"


def keyring() -> MemberKeyring:
    """The signed-in user's keyring, with his personal seed from his server-side session."""
    return MemberKeyring(current_user, session.get(PERSONAL_KEY))


def argon2_params() -> Argon2Params:
    """The configured Argon2id cost of login hashes."""
    config = current_app.config
    return Argon2Params(
        memory_kib=config["ARGON2_MEMORY_KIB"],
        iterations=config["ARGON2_ITERATIONS"],
        lanes=config["ARGON2_LANES"],
    )


def is_safe_next(target: str | None) -> bool:
    """Accept only a relative path on this site as a post-login redirect."""
    # urlsplit silently drops tabs and line breaks that redirect() would then refuse.
    if not target or UNSAFE_IN_NEXT.search(target):
        return False
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    )


def get_case_or_404(user, case_id: str, action: str = "case.read") -> Case:
    """Load a case the user may act on; 404 for both missing and forbidden cases."""
    case = db.session.get(Case, case_id) if CASE_ID.fullmatch(case_id) else None
    if case is None or not access.can(user, action, case):
        abort(404)
    return case


def mark_authenticated() -> None:
    """Note in the session that its owner has just proved who he is."""
    session[AUTHENTICATED_AT] = int(time.time())


def recently_authenticated() -> bool:
    """Whether the owner proved who he is within REAUTH_WINDOW."""
    at = session.get(AUTHENTICATED_AT)
    window = current_app.config["REAUTH_WINDOW"].total_seconds()
    return isinstance(at, int) and 0 <= time.time() - at <= window


def confirm_first(back: str | None = None, **values):
    """None when the owner re-authenticated lately; else a redirect to do so.

    Exports, seat grants and security settings call this after their access check. A GET
    comes back to itself; a POST, whose input cannot be replayed, to the page named back
    (with values for its URL).
    """
    if recently_authenticated():
        return None
    flash(_("For this step, confirm that it is you."), "info")
    if request.method == "GET":
        target = request.full_path.rstrip("?")
    else:
        target = url_for(back or "accounts.home", **values)
    return redirect(url_for("accounts.confirm", next=target))


def get_question_or_404(user, case: Case, question_id: int, action: str):
    """Load a question of this case the user may act on; 404 for missing and forbidden."""
    # An id past the column's range would be an error on PostgreSQL, not a miss.
    question = db.session.get(CaseQuestion, question_id) if question_id < 2**31 else None
    if (
        question is None
        or question.case_id != case.id
        or not access.can_question(user, action, question)
    ):
        abort(404)
    return question

"""Deny by default and the role × endpoint × method matrix, over every rule of the app.

MATRIX says, for every endpoint and every method its rule accepts (GET, POST), what each
column (a role, or an account in a particular state) gets. The test walks app.url_map:
a rule without an entry, an entry without a rule and any other answer all fail it.
"""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from conftest import PASSWORD, login_data, status_change
from sqlalchemy import func, select

from incidents.accounts.models import SessionRecord, User
from incidents.accounts.service import create_user, new_activation_code, unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases import questions
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case
from incidents.cases.referrals import refer
from incidents.extensions import db as _db
from incidents.reporting import drafts
from incidents.security import PUBLIC_ENDPOINTS
from incidents.web import AUTHENTICATED_AT, argon2_params

# fmt: off
# The columns of MATRIX, in order. All accounts are of the test's ward unless named so.
COLUMNS = (
    "anonymous",         # anon:  nobody signed in
    "reporter",          # rep:   the group leader who filed the case
    "police",            # pol:   seated at the police desk (the case is routed there)
    "officer",           # off:   seated at the culture-social officer's desk
    "chairman",          # chair: seated at the chairman's desk
    "admin",             # admin: the ward's administrator
    "police_elsewhere",  # xpol:  police of another ward, seated at its police desk
    "admin_elsewhere",   # xadm:  the administrator of another ward
    "police_unseated",   # nosit: police without a seat at any desk
    "partner",           # part:  a partner at the health station desk (the case referred there)
    # Accounts that must take a step first (security.py's gates, web.confirm_first):
    "own_password",      # ownpw: signed in with an activation code, no password of his own
    "not_enrolled",      # enrol: police without an authenticator app
    "stale",             # stale: an officer who signed in longer than REAUTH_WINDOW ago
)
# fmt: on

# A name in MATRIX is a 302 to this path (the query string is not compared).
REDIRECTS = {
    "login": "/login",
    "home": "/",
    "reauth": "/account/confirm",
    "ownpw": "/account/own-password",
    "enrol": "/account/second-factor",
    "queue": "/cases/",
    "case": "/cases/{case_id}",
    "rpts": "/reports",
    "rpt": "/reports/{case_id}",
    "users": "/admin/users",
    "acct": "/account",
    "ntc": "/notices",
    "refs": "/referrals/",
}
# The answers that refuse the step: for them, nothing may change in the database.
REFUSALS = {"404", "login", "home", "reauth", "ownpw", "enrol"}

# Requests carry no body (CSRF is off in TestingConfig): a forbidden POST shows 404 (or a
# gate's redirect), an allowed one the refusal of its empty form (400, 200 or 302).
# fmt: off
MATRIX = {
    #            anon  rep   pol   off   chair admin xpol  xadm  nosit part  | ownpw enrol stale
    "static": {
        "GET":  "200   200   200   200   200   200   200   200   200   200   | 200   200   200",
    },
    "accounts.login": {
        "GET":  "200   home  home  home  home  home  home  home  home  home  | home  home  home",
        "POST": "200   home  home  home  home  home  home  home  home  home  | home  home  home",
    },
    "accounts.set_language": {
        "GET":  "login login login login login login login login login login | login login login",
    },
    "accounts.quick_exit": {
        "POST": "exit  exit  exit  exit  exit  exit  exit  exit  exit  exit  | exit  exit  exit",
    },
    "accounts.leave": {
        "GET":  "200   200   200   200   200   200   200   200   200   200   | 200   200   200",
    },
    "accounts.logout": {
        "POST": "login login login login login login login login login login | login login login",
    },
    "accounts.keep_alive": {
        "POST": "login 204   204   204   204   204   204   204   204   204   | 204   204   204",
    },
    "accounts.home": {
        "GET":  "login rpts  queue queue queue users queue users queue refs  | ownpw enrol queue",
    },
    "accounts.account": {
        "GET":  "login 200   200   200   200   200   200   200   200   200   | ownpw enrol 200",
    },
    "accounts.confirm": {
        "GET":  "login 200   200   200   200   200   200   200   200   200   | ownpw enrol 200",
        "POST": "login 200   200   200   200   200   200   200   200   200   | ownpw enrol 200",
    },
    "accounts.change_password": {
        "GET":  "login 200   200   200   200   200   200   200   200   200   | ownpw enrol reauth",
        "POST": "login 200   200   200   200   200   200   200   200   200   | ownpw enrol reauth",
    },
    "accounts.choose_password": {
        "GET":  "login home  home  home  home  home  home  home  home  home  | 200   enrol home",
        "POST": "login home  home  home  home  home  home  home  home  home  | 200   enrol home",
    },
    "accounts.second_factor": {
        "GET":  "login 404   200   200   200   200   200   200   200   200   | ownpw 200   reauth",
        "POST": "login 404   200   200   200   200   200   200   200   200   | ownpw 200   reauth",
    },
    "accounts.new_recovery_codes": {
        "POST": "login 404   200   200   200   200   200   200   200   200   | ownpw enrol reauth",
    },
    "accounts.end_session": {
        "POST": "login 400   400   400   400   400   400   400   400   400   | ownpw enrol 400",
    },
    # Every receiving point files: a leader, a partner, a desk member at his own desk.
    "reporting.new_report": {
        "GET":  "login 200   200   200   200   404   200   404   404   200   | ownpw enrol 200",
        "POST": "login 400   400   400   400   404   400   404   404   400   | ownpw enrol 400",
    },
    "reporting.filed": {
        "GET":  "login 200   404   404   404   404   404   404   404   404   | ownpw enrol 404",
    },
    "reporting.my_reports": {
        "GET":  "login 200   404   404   404   404   404   404   404   200   | ownpw enrol 404",
    },
    "reporting.delete_draft": {
        "POST": "login rpts  404   404   404   404   404   404   404   404   | ownpw enrol 404",
    },
    "reporting.my_report": {
        "GET":  "login 200   404   404   404   404   404   404   404   404   | ownpw enrol 404",
    },
    # Verification (the regimes' table: a domestic-violence case, every desk) and links.
    "verify.verify_case": {
        "GET":  "login 404   200   200   200   404   404   404   404   404   | ownpw enrol 200",
        "POST": "login 404   400   400   400   404   404   404   404   404   | ownpw enrol 400",
    },
    "verify.criminal_procedure": {
        "POST": "login 404   case  404   404   404   404   404   404   404   | ownpw enrol 404",
    },
    "verify.link_cases": {
        "POST": "login 404   case  case  case  404   404   404   404   404   | ownpw enrol case",
    },
    "triage.queue": {
        "GET":  "login 404   200   200   200   404   200   404   200   404   | ownpw enrol 200",
    },
    "triage.case_page": {
        "GET":  "login rpt   200   200   200   404   404   404   404   404   | ownpw enrol 200",
    },
    "triage.add_note": {
        "POST": "login 404   400   400   400   404   404   404   404   404   | ownpw enrol 400",
    },
    "triage.change_status": {
        "POST": "login 404   400   400   400   404   404   404   404   404   | ownpw enrol 400",
    },
    "triage.meet_clock": {
        "POST": "login 404   case  case  400   404   404   404   404   404   | ownpw enrol case",
    },
    "triage.route": {
        "POST": "login 404   case  case  case  404   404   404   404   404   | ownpw enrol case",
    },
    "triage.ask_question": {
        "POST": "login 404   400   400   400   404   404   404   404   404   | ownpw enrol 400",
    },
    # The {question_id} of these is an open question the police put to the reporter.
    "triage.close_question": {
        "POST": "login 404   case  case  case  404   404   404   404   404   | ownpw enrol case",
    },
    # The case's leader can open it: resealing is refused (nothing to mend), back to the case.
    "triage.reseal_reporter": {
        "POST": "login 404   case  case  case  404   404   404   404   404   | ownpw enrol reauth",
    },
    "triage.intake_record": {
        "GET":  "login 404   200   200   200   404   404   404   404   404   | ownpw enrol reauth",
    },
    "reporting.answer_question": {
        "POST": "login 400   404   404   404   404   404   404   404   404   | ownpw enrol 404",
    },
    # Its answer is the case page with what the comparison found (nothing is stored).
    "triage.look_for_duplicates": {
        "POST": "login 404   200   200   200   404   404   404   404   404   | ownpw enrol 200",
    },
    "triage.assign_handler": {
        "POST": "login 404   404   404   400   404   404   404   404   404   | ownpw enrol 404",
    },
    "triage.request_contact_ban": {
        "POST": "login 404   400   400   400   404   404   404   404   404   | ownpw enrol 400",
    },
    "triage.decide_contact_ban": {
        "POST": "login 404   404   404   400   404   404   404   404   404   | ownpw enrol 404",
    },
    "triage.add_measure": {
        "POST": "login 404   400   404   400   404   404   404   404   404   | ownpw enrol 404",
    },
    "triage.add_service": {
        "POST": "login 404   404   400   404   404   404   404   404   404   | ownpw enrol 400",
    },
    "triage.record_outcome": {
        "POST": "login 404   404   400   404   404   404   404   404   404   | ownpw enrol 400",
    },
    "stats.dashboard": {
        "GET":  "login 404   404   200   200   404   404   404   404   404   | ownpw enrol 200",
    },
    # The statistics as files: re-authentication first, like every export.
    # Publishing: the page changes nothing; the POST fixes the period (re-authenticated).
    "stats.publish": {
        "GET":  "login 404   404   200   200   404   404   404   404   404   | ownpw enrol 200",
        "POST": "login 404   404   400   400   404   404   404   404   404   | ownpw enrol reauth",
    },
    "stats.report_docx": {
        "GET":  "login 404   404   200   200   404   404   404   404   404   | ownpw enrol reauth",
    },
    "stats.indicator": {
        "GET":  "login 404   404   200   200   404   404   404   404   404   | ownpw enrol 200",
    },
    "stats.report_xlsx": {
        "GET":  "login 404   404   200   200   404   404   404   404   404   | ownpw enrol reauth",
    },
    "desks.overview": {
        "GET":  "login 404   200   200   200   404   200   404   200   200   | ownpw enrol 200",
    },
    "desks.seat": {
        "POST": "login 404   400   400   400   404   400   404   400   400   | ownpw enrol reauth",
    },
    "desks.remove": {
        "POST": "login 404   400   400   400   404   400   404   400   400   | ownpw enrol reauth",
    },
    "desks.rotate": {
        "POST": "login 404   400   400   400   404   400   404   400   400   | ownpw enrol reauth",
    },
    "desks.issue_code": {
        "POST": "login 404   400   400   400   404   400   404   400   400   | ownpw enrol reauth",
    },
    "audit.entries": {
        "GET":  "login 404   404   200   200   404   404   404   404   404   | ownpw enrol 200",
    },
    "audit.export": {
        "GET":  "login 404   404   200   200   404   404   404   404   404   | ownpw enrol reauth",
    },
    "admin.users": {
        "GET":  "login 404   404   404   404   200   404   200   404   404   | ownpw enrol 404",
    },
    "admin.new_user": {
        "GET":  "login 404   404   404   404   200   404   200   404   404   | ownpw enrol 404",
        "POST": "login 404   404   404   404   400   404   400   404   404   | ownpw enrol 404",
    },
    # The {user_id} of these is a throwaway police member of the test's ward.
    "admin.history": {
        "GET":  "login 404   404   404   404   200   404   404   404   404   | ownpw enrol 404",
    },
    "admin.reset": {
        "GET":  "login 404   404   404   404   200   404   404   404   404   | ownpw enrol 404",
        "POST": "login 404   404   404   404   200   404   404   404   404   | ownpw enrol 404",
    },
    "admin.set_active": {
        "POST": "login 404   404   404   404   users 404   404   404   404   | ownpw enrol 404",
    },
    "admin.change_role": {
        "GET":  "login 404   404   404   404   200   404   404   404   404   | ownpw enrol 404",
        "POST": "login 404   404   404   404   200   404   404   404   404   | ownpw enrol 404",
    },
    # Referrals: the desks refer a case they read; the partner reads and answers his own.
    "referrals.refer": {
        "POST": "login 404   400   400   400   404   404   404   404   404   | ownpw enrol 400",
    },
    "referrals.index": {
        "GET":  "login 404   404   404   404   404   404   404   404   200   | ownpw enrol 404",
    },
    # The {referral_id} is the world's referral of the case to the health station.
    "referrals.show": {
        "GET":  "login 404   404   404   404   404   404   404   404   200   | ownpw enrol 404",
    },
    "referrals.answer": {
        "POST": "login 404   404   404   404   404   404   404   404   400   | ownpw enrol 404",
    },
    "admin.change_email": {
        "GET":  "login 404   404   404   404   200   404   404   404   404   | ownpw enrol 404",
        "POST": "login 404   404   404   404   users 404   404   404   404   | ownpw enrol 404",
    },
    "accounts.email": {
        "GET":  "login 404   200   200   200   200   200   200   200   200   | ownpw enrol reauth",
        "POST": "login 404   acct  acct  acct  acct  acct  acct  acct   acct  | ownpw enrol reauth",
    },
    "notices.index": {
        "GET":  "login 200   200   200   200   200   200   200   200   200   | ownpw enrol 200",
    },
    "notices.mark_read": {
        "POST": "login ntc   ntc   ntc   ntc   ntc   ntc   ntc   ntc   ntc   | ownpw enrol ntc",
    },
}
# fmt: on

# Values for URL arguments, by name, from the test's world: a new argument name fails the
# matrix until it is given a real object here (a missing object would answer 404 anyway).
ARGUMENTS = {
    "case_id": lambda world: world["case_id"],  # filed by the reporter, routed by the rules
    "code": lambda world: "en",
    "filename": lambda world: "style.css",
    "user_id": lambda world: world["throwaway"].id,  # the admin's POSTs change only him
    "draft_id": lambda world: world["draft_id"],  # the reporter's own draft
    "question_id": lambda world: world["question_id"],  # open, on the case
    "referral_id": lambda world: world["referral_id"],  # the case, to the health station
    "key": lambda world: "victims_supported",  # an indicator of the statutory report
}


def _methods(rule) -> set[str]:
    return rule.methods & {"GET", "POST"}


def _row(endpoint: str, method: str) -> list[str]:
    return [cell for cell in MATRIX[endpoint][method].split() if cell != "|"]


def test_the_public_allowlist_is_short_and_known():
    assert PUBLIC_ENDPOINTS == {
        "accounts.login",
        "accounts.set_language",
        "accounts.quick_exit",
        "accounts.leave",
        "static",
    }


def test_the_matrix_has_an_entry_for_every_rule_and_method_and_no_other(app):
    rules = {rule.endpoint: _methods(rule) for rule in app.url_map.iter_rules()}
    assert len(rules) == len(list(app.url_map.iter_rules())), "MATRIX needs one rule each"
    missing, stale = sorted(set(rules) - set(MATRIX)), sorted(set(MATRIX) - set(rules))
    assert (missing, stale) == ([], []), f"rules without an entry {missing}, gone {stale}"
    for endpoint, methods in rules.items():
        assert set(MATRIX[endpoint]) == methods, endpoint
        for method in methods:
            row = _row(endpoint, method)
            assert len(row) == len(COLUMNS), (endpoint, method)
            valid = all(cell.isdigit() or cell in REDIRECTS or cell == "exit" for cell in row)
            assert valid, (endpoint, method)
    for rule in app.url_map.iter_rules():
        assert set(rule.arguments) <= set(ARGUMENTS), f"{rule.rule}: no test value"


def test_the_matrix_sends_anonymous_visitors_to_sign_in_but_for_the_allowlist():
    """Property 7 in the table itself: no entry may open a non-public rule to anonymous."""
    anonymous = COLUMNS.index("anonymous")
    for endpoint, methods in MATRIX.items():
        if endpoint not in PUBLIC_ENDPOINTS:
            for method in methods:
                assert _row(endpoint, method)[anonymous] == "login", (endpoint, method)


DAY = timedelta(days=1)


@pytest.fixture()
def world(db, ward, make_ward, make_user, file_report):
    """The accounts of every column, a case filed by the reporter, a throwaway member."""
    elsewhere = make_ward(code="EL")
    users = {
        role: make_user(role) for role in ("reporter", "police", "officer", "chairman", "admin")
    }
    users["police_elsewhere"] = make_user("police", in_ward=elsewhere)
    users["admin_elsewhere"] = make_user("admin", in_ward=elsewhere)
    users["police_unseated"] = make_user("police", seated=False)
    users["partner"] = make_user("partner")  # at the health station desk
    users["not_enrolled"] = make_user("police", enrolled=False)
    users["stale"] = make_user("officer")
    accounts = {column: (user, PASSWORD) for column, user in users.items()}
    # As the administrator makes an account: no key yet, an activation code to sign in.
    newcomer = create_user(
        None,
        ward=ward,
        username="newcomer",
        display_name="Newcomer",
        role="police",
        password=None,
        params=argon2_params(),
    )
    accounts["own_password"] = (newcomer, new_activation_code(newcomer, argon2_params(), DAY))
    db.session.commit()
    case_id = file_report(users["reporter"], immediate_danger="yes")  # every desk
    return {
        "accounts": accounts,
        "case_id": case_id,
        "throwaway": make_user("police", username="throwaway"),
        "draft_id": _draft_of(users["reporter"]),
        "question_id": _question_on_the_case(users["police"]),
        "referral_id": _referral_of(users["police"], case_id, ward.desk("health_station")),
    }


def _referral_of(police, case_id: str, desk) -> str:
    """The case referred to the partner desk, with the victim's consent."""
    keyring = MemberKeyring(police, unlock_personal_key(police, PASSWORD))
    referral = refer(
        police,
        _db.session.get(Case, case_id),
        desk,
        fields=["victim_name"],
        basis="consent",
        consent_by="victim",
        consent_how="in_person",
        why="",
        message="Xin khám sức khỏe cho chị.",
        keyring=keyring,
    )
    _db.session.commit()
    return referral.id


def _draft_of(leader) -> str:
    draft = drafts.save(
        leader, None, {"narrative": "a draft"}, timedelta(days=7), leader.public_key
    )
    _db.session.commit()
    return draft.id


def _question_on_the_case(police) -> int:
    """The police ask the reporter a question on the world's one case."""
    case = _db.session.scalars(select(Case)).one()
    keyring = MemberKeyring(police, unlock_personal_key(police, PASSWORD))
    question = questions.ask(police, case, "Câu hỏi cho tổ trưởng", keyring)
    _db.session.commit()
    return question.id


def _client_of(app, world, column):
    """A new client, signed in as the column's account (a fresh sign-in for each cell)."""
    web = app.test_client()
    if column == "anonymous":
        return web
    user, password = world["accounts"][column]
    if column == "own_password":  # an activation code works once: a new one each time
        password = new_activation_code(_db.session.get(User, user.id), argon2_params(), DAY)
        _db.session.commit()
    response = web.post("/login", data=login_data(user, password))
    assert response.status_code == 302, f"{column} could not sign in"
    if column == "stale":
        window = int(app.config["REAUTH_WINDOW"].total_seconds())
        with web.session_transaction() as session:
            session[AUTHENTICATED_AT] -= window + 1
    return web


def _answer(web, method: str, url: str) -> str:
    """The status, and for a redirect the path it goes to: "404", "302 /login"."""
    response = web.open(url, method=method)
    response.close()  # a static file is sent from an open file
    if response.status_code == 302:
        return "302 " + urlsplit(response.headers["Location"]).path
    if response.status_code == 303:  # the quick exit, to its page that moves on
        return "303 " + response.headers["Location"]
    return str(response.status_code)


def _expected(cell: str, world) -> str:
    if cell.isdigit():
        return cell
    if cell == "exit":
        return "303 /leave"
    return "302 " + REDIRECTS[cell].format(case_id=world["case_id"])


def _state(db, everything: bool):
    """Row counts (but sessions and audit, unless everything), case statuses, accounts."""
    skipped = set() if everything else {SessionRecord.__tablename__, AuditEntry.__tablename__}
    with db.engine.connect() as connection:
        counts = {
            table.name: connection.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if table.name not in skipped
        }
        statuses = connection.execute(select(Case.id, Case.status).order_by(Case.id)).all()
        users = connection.execute(
            select(
                User.id, User.role, User.active, User.needs_own_password, User.password_hash
            ).order_by(User.id)
        ).all()
    return counts, statuses, users


@pytest.mark.parametrize("column", COLUMNS)
def test_role_endpoint_matrix(app, db, world, column):
    index = COLUMNS.index(column)
    # An anonymous request writes nothing at all, not even a session or an audit entry.
    everything = column == "anonymous"
    wrong, changed, checked = [], [], 0
    spare = _client_of(app, world, column)  # for the methods a rule refuses (no view runs)
    for rule in app.url_map.iter_rules():
        values = {name: ARGUMENTS[name](world) for name in rule.arguments}
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        if set(MATRIX.get(rule.endpoint, ())) != _methods(rule):
            wrong.append(f"{rule.endpoint} {url}: no entry in MATRIX for each of its methods")
            continue
        for method in sorted(_methods(rule)):
            cell = _row(rule.endpoint, method)[index]
            web = _client_of(app, world, column)  # POSTs sign out, reset, end sessions
            watched = method == "GET" or cell in REFUSALS
            before = _state(db, everything) if watched else None
            answer = _answer(web, method, url)
            if answer != _expected(cell, world):
                wrong.append(f"{method} {rule.endpoint} {url}: {answer}, expected {cell}")
            if watched and _state(db, everything) != before:
                changed.append(f"{method} {rule.endpoint} ({answer}) changed the database")
            checked += 1
        for method in {"GET", "POST"} - _methods(rule):
            answer = _answer(spare, method, url)
            if answer != "405":
                wrong.append(f"{method} {rule.endpoint} {url}: {answer}, expected 405")
    assert not wrong and not changed, "\n".join([f"as {column}:", *wrong, *changed])
    assert checked == sum(len(methods) for methods in MATRIX.values())  # every cell, once


def test_posts_by_the_wrong_role_change_nothing(db, client, make_user, login_as, file_report):
    users = {role: make_user(role) for role in ("reporter", "admin")}
    case_id = file_report(users["reporter"], immediate_danger="yes")
    for role in ("admin", "reporter"):
        login_as(users[role])
        assert (
            client.post(
                f"/cases/{case_id}/status", data=status_change(case_id, "acknowledged")
            ).status_code
            == 404
        )
        assert client.post(f"/cases/{case_id}/notes", data={"text": "x"}).status_code == 404
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case.status == "new" and case.notes == []
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "case.status" not in actions and "case.note" not in actions


@pytest.mark.parametrize("case_id", ["a%00b", "%00" * 16, "A" * 32, "0" * 31, "g" * 32, "0" * 33])
def test_malformed_case_ids_are_404(db, client, make_user, login_as, case_id):
    login_as(make_user("officer"))
    assert client.get(f"/cases/{case_id}").status_code == 404

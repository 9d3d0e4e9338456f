"""Notices: who gets one, what it says (nothing of the case), and its e-mail.

The e-mail tests talk to a real SMTP server (aiosmtpd) on a free local port, through the
real command ('flask notices send'), and read the bytes the server received.
"""

import logging
import socket
import time
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from conftest import PASSWORD, YEAR_FIELDS, post_report, report_data, report_form
from flask_babel import force_locale
from sqlalchemy import func, select
from test_canary import canary_needles, new_canary

from config import Config
from incidents.accounts.models import User
from incidents.accounts.service import AccountError, set_email, unlock_personal_key
from incidents.audit.models import AuditEntry
from incidents.cases import service as cases
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import SEALED_FIELDS, Case
from incidents.notices import service as notices
from incidents.notices.mail import LEASE, MailConfigError, MailSettings
from incidents.notices.models import MAIL_FAILED, MAIL_PENDING, MAIL_SENT, Notice
from incidents.timeutil import utcnow
from incidents.vocab import KINDS, NOTICE_REASONS, label

BASE_URL = "https://phuong.example.vn"
SUBJECT = "Thông báo từ hệ thống phường / Notice from the ward system"


def notices_of(db, user) -> list[Notice]:
    db.session.expire_all()
    return db.session.scalars(select(Notice).where(Notice.user_id == user.id)).all()


def audit_actions(db, action: str) -> list[AuditEntry]:
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    ).all()


# --- Who is told ----------------------------------------------------------------------


def test_filing_tells_each_member_of_each_routed_desk_and_nobody_else(
    db, ward, make_ward, make_user, file_report
):
    elsewhere = make_ward(code="EL")
    officers = [make_user("officer"), make_user("officer")]
    chairman = make_user("chairman")
    police = make_user("police")
    gone = make_user("officer")
    gone.active = False
    db.session.commit()
    others = [
        make_user("admin"),
        make_user("police", seated=False),
        make_user("officer", in_ward=elsewhere),
        make_user("chairman", in_ward=elsewhere),
    ]
    leader = make_user("reporter")

    case_id = file_report(leader)  # domestic violence, no danger: the officer and chairman

    assert db.session.get(Case, case_id).desks == {"officer", "chairman"}
    for member in (*officers, chairman):
        [notice] = notices_of(db, member)
        assert (notice.case_id, notice.reason, notice.read_at) == (case_id, "new_case", None)
    for nobody in (police, gone, leader, *others):
        assert notices_of(db, nobody) == []
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 3


def test_routing_to_one_more_desk_tells_that_desk(db, make_user, file_report):
    leader, officer = make_user("reporter"), make_user("officer")
    police = [make_user("police"), make_user("police")]
    case = db.session.get(Case, file_report(leader))
    assert [notices_of(db, member) for member in police] == [[], []]

    keyring = MemberKeyring(officer, unlock_personal_key(officer, PASSWORD))
    cases.route_to_desk(officer, case, case.ward.desk("police"), keyring)
    db.session.commit()

    for member in police:
        assert [(n.case_id, n.reason) for n in notices_of(db, member)] == [(case.id, "new_case")]
    assert len(notices_of(db, officer)) == 1  # from the filing only


def test_notify_user_refuses_an_unknown_reason_and_adds_nothing(db, make_user, file_report):
    case_id = file_report(make_user("reporter"))
    officer = make_user("officer")
    before = db.session.scalar(select(func.count()).select_from(Notice))
    with pytest.raises(ValueError):
        notices.notify_user(officer, db.session.get(Case, case_id), "victim_named")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notice)) == before


# --- What a notice says: nothing of the case ------------------------------------------


def _forbidden_words(db, case: Case, lang: str) -> list[str]:
    with force_locale(lang):
        kinds = [label(KINDS, code) for code in case.kinds]
    return [case.reference, case.group.name, *kinds]


def test_the_notices_page_shows_no_case_content(app, db, client, make_user, login_as):
    leader, officer = make_user("reporter"), make_user("officer")
    canaries = {name: new_canary(name) for name in SEALED_FIELDS if name not in YEAR_FIELDS}
    login_as(leader)
    form = report_form(leader.groups[0].id, kinds=["domestic_violence", "trafficking"], **canaries)
    response = post_report(client, form)
    assert response.status_code == 302
    case = db.session.get(Case, response.headers["Location"].rsplit("/", 1)[-1])

    login_as(officer)
    for lang in ("vi", "en"):
        client.get(f"/language/{lang}")
        page = client.get("/notices")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        # The page shows the notice, its link by the case's random id, the count in the menu.
        assert f'href="/cases/{case.id}"' in html and "notice-unread" in html
        assert '<span class="badge">1</span>' in html
        with app.test_request_context(), force_locale(lang):
            assert label(NOTICE_REASONS, "new_case") in html
            forbidden = _forbidden_words(db, case, lang)
        body = page.get_data()
        for canary in canaries.values():
            for encoding, forms in canary_needles(canary).items():
                assert not any(form in body for form in forms), (canary, encoding)
        assert [word for word in forbidden if word in html] == []


def test_a_leader_is_told_in_the_app_with_a_link_to_his_own_report(
    db, client, make_user, file_report, login_as
):
    leader = make_user("reporter")
    case_id = file_report(leader)
    leader.email = "leader@example.vn"  # as if set behind the rules' back: still no e-mail
    notice = notices.notify_user(leader, db.session.get(Case, case_id), "question")
    db.session.commit()
    assert notice.mail_status is None

    login_as(leader)
    html = client.get("/notices").get_data(as_text=True)
    assert f'href="/reports/{case_id}"' in html and f"/cases/{case_id}" not in html


def test_notices_are_paged_newest_first_and_marked_read_by_their_owner_only(
    db, client, make_user, file_report, login_as
):
    leader, officer, other = make_user("reporter"), make_user("officer"), make_user("officer")
    case = db.session.get(Case, file_report(leader))
    start = utcnow()
    for number in range(notices.PAGE_SIZE + 4):
        notice = notices.notify_user(officer, case, "escalated")
        notice.created_at = start + timedelta(seconds=number)
    newest = notices.notify_user(officer, case, "assigned")
    newest.created_at = start + timedelta(hours=1)
    db.session.commit()
    total = notices.PAGE_SIZE + 6  # with the filing's and the newest

    login_as(officer)
    client.get("/language/en")
    first = client.get("/notices").get_data(as_text=True)
    assert first.count("<li class=") == notices.PAGE_SIZE
    assert first.index("You were made the handler") < first.index("A case is overdue")
    assert "?page=2" in first and f'<span class="badge">{total}</span>' in first
    second = client.get("/notices?page=2").get_data(as_text=True)
    assert second.count("<li class=") == 6 and "?page=3" not in second
    assert client.get("/notices?page=x").status_code == 404
    assert client.get("/notices?page=0").status_code == 404

    # Another member sees none of them, and cannot mark them read.
    login_as(other)
    client.get("/language/en")
    page = client.get("/notices").get_data(as_text=True)
    assert page.count("<li class=") == 1 and "You were made the handler" not in page
    assert client.post("/notices/read").status_code == 302
    assert notices.unread_count(officer) == total
    assert notices.mark_read(other, [n.id for n in notices_of(db, officer)]) == 0
    db.session.commit()
    assert notices.unread_count(officer) == total and notices.unread_count(other) == 0

    # Its owner marks them all read: no unread mark, no count in the menu.
    login_as(officer)
    assert client.post("/notices/read").status_code == 302
    assert notices.unread_count(officer) == 0
    html = client.get("/notices").get_data(as_text=True)
    assert "notice-unread" not in html and "notice-read" in html
    assert '<span class="badge">' not in html


def test_a_get_of_the_notices_page_changes_nothing(db, client, make_user, file_report, login_as):
    officer = make_user("officer")
    file_report(make_user("reporter"))
    login_as(officer)
    client.get("/notices")
    assert notices.unread_count(officer) == 1


# --- E-mail addresses ------------------------------------------------------------------

MALFORMED = [
    "officer",
    "officer@",
    "@example.vn",
    "officer@example",
    "officer @example.vn",
    "officer@example.vn\r\nBcc: thief@example.com",
    "cán.bộ@example.vn",
    "officer..x@example.vn",
    "officer@-example.vn",
    "a" * 250 + "@x.vn",
]
MESSAGE = "Enter an e-mail address such as ten@example.vn"


@pytest.mark.parametrize("address", MALFORMED)
def test_the_service_refuses_a_malformed_address(db, make_user, address):
    officer = make_user("officer")
    with pytest.raises(AccountError):
        set_email(None, officer, address)
    assert officer.email is None


@pytest.mark.parametrize("address", ["officer", "officer@example.vn\r\nBcc: x@example.com"])
def test_the_account_page_refuses_a_malformed_address_and_keeps_it(
    db, client, make_user, login_as, address
):
    officer = make_user("officer")
    set_email(officer, officer, "old@example.vn")
    db.session.commit()
    login_as(officer)
    client.get("/language/en")
    response = client.post("/account/email", data={"email": address})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert MESSAGE in html and 'value="officer' in html
    db.session.expire_all()
    assert db.session.get(User, officer.id).email == "old@example.vn"


def test_a_member_sets_and_clears_his_own_address(db, client, make_user, login_as):
    officer = make_user("officer")
    login_as(officer)
    assert client.get("/account/email").status_code == 200
    response = client.post("/account/email", data={"email": " can.bo@phuong.example.vn "})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    db.session.expire_all()
    assert db.session.get(User, officer.id).email == "can.bo@phuong.example.vn"
    client.post("/account/email", data={"email": ""})
    db.session.expire_all()
    assert db.session.get(User, officer.id).email is None
    entries = audit_actions(db, "account.email")
    assert [entry.detail for entry in entries] == ["set", "cleared"]
    assert all("phuong" not in (entry.detail or "") + (entry.target or "") for entry in entries)


def test_a_leader_has_no_address_to_set(db, client, make_user, login_as):
    leader = make_user("reporter")
    login_as(leader)
    assert client.get("/account/email").status_code == 404
    assert client.post("/account/email", data={"email": "x@example.vn"}).status_code == 404
    client.get("/language/en")
    assert "never by e-mail" in client.get("/account").get_data(as_text=True)
    assert db.session.get(User, leader.id).email is None


def _new_user_form(**changes) -> dict:
    return {"username": "canbo", "display_name": "Cán bộ", "role": "officer", **changes}


def test_the_admin_sets_an_address_when_creating_and_changing_an_account(
    db, client, make_user, login_as
):
    admin = make_user("admin")
    login_as(admin)
    response = client.post("/admin/users/new", data=_new_user_form(email="canbo@example.vn"))
    assert response.status_code == 200 and 'class="codes"' in response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.username == "canbo"))
    assert user.email == "canbo@example.vn"

    assert client.get(f"/admin/users/{user.id}/email").status_code == 200
    response = client.post(f"/admin/users/{user.id}/email", data={"email": "moi@example.vn"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "moi@example.vn"
    assert [e.actor_id for e in audit_actions(db, "account.email")] == [admin.id, admin.id]


@pytest.mark.parametrize("address", ["canbo@", "canbo example.vn"])
def test_the_admin_forms_refuse_a_malformed_address(db, client, make_user, login_as, address):
    admin, officer = make_user("admin"), make_user("officer")
    login_as(admin)
    client.get("/language/en")
    users_before = db.session.scalar(select(func.count()).select_from(User))

    response = client.post("/admin/users/new", data=_new_user_form(email=address))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert MESSAGE in html and 'value="canbo"' in html  # what was typed is kept
    response = client.post(f"/admin/users/{officer.id}/email", data={"email": address})
    assert response.status_code == 400 and MESSAGE in response.get_data(as_text=True)

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == users_before
    assert db.session.get(User, officer.id).email is None
    assert audit_actions(db, "account.email") == []


def test_the_admin_cannot_give_a_leader_an_address(db, client, make_user, login_as, ward):
    admin, leader = make_user("admin"), make_user("reporter")
    login_as(admin)
    client.get("/language/en")
    form = _new_user_form(role="reporter", groups=[str(ward.groups[0].id)], email="t@example.vn")
    response = client.post("/admin/users/new", data=form)
    assert response.status_code == 400
    assert "in the app only" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "canbo")) is None
    assert client.get(f"/admin/users/{leader.id}/email").status_code == 404


# --- The real SMTP server --------------------------------------------------------------


class Inbox:
    """aiosmtpd's handler: keeps every message as the server received it."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPServer:
    """A real SMTP server on a local port that a test can start and stop."""

    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture()
def smtp_server():
    server = SMTPServer()
    yield server
    server.stop()


def point_mail_at(app, monkeypatch, port: int, **settings) -> None:
    """The app's mail settings pointed at a test's SMTP server on this machine."""
    for key, value in {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_SENDER": "khong-tra-loi@phuong.example.vn",
        "MAIL_TIMEOUT": 5,
        "PUBLIC_BASE_URL": BASE_URL + "/",
        "MAIL_RETRY_DELAY": timedelta(0),
        **settings,
    }.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture()
def mail_on(app, smtp_server, monkeypatch):
    """The app's mail settings pointed at the test's SMTP server (no TLS on localhost)."""
    point_mail_at(app, monkeypatch, smtp_server.port, MAIL_USE_TLS=False)
    return smtp_server


@pytest.fixture()
def send(app, db):
    """Run 'flask notices send' as cron does; returns its output."""
    runner = app.test_cli_runner()

    def run() -> str:
        result = runner.invoke(args=["notices", "send"])
        assert result.exit_code == 0, result.output
        db.session.expire_all()
        return result.output

    return run


def _staff_with_addresses(make_user):
    first, second = make_user("officer"), make_user("officer")
    chairman = make_user("chairman")  # no address: the app only
    police = make_user("police")  # not routed
    for user, address in ((first, "mot@example.vn"), (second, "hai@example.vn")):
        set_email(None, user, address)
    set_email(None, police, "ca@example.vn")
    return first, second, chairman


def test_send_delivers_one_message_per_recipient_with_an_address_and_no_case_content(
    app, db, client, make_user, login_as, mail_on, send
):
    mail_on.start()
    first, second, chairman = _staff_with_addresses(make_user)
    leader = make_user("reporter")
    db.session.commit()
    canaries = {name: new_canary(name) for name in SEALED_FIELDS if name not in YEAR_FIELDS}
    login_as(leader)
    form = report_form(
        leader.groups[0].id, kinds=["domestic_violence", "gbv_outside_family"], **canaries
    )
    filed = post_report(client, form)
    assert filed.status_code == 302
    case = db.session.get(Case, filed.headers["Location"].rsplit("/", 1)[-1])
    assert mail_on.inbox.envelopes == []  # filing sends nothing itself: the outbox does

    output = send()

    assert "2 sent" in output
    received = {tuple(envelope.rcpt_tos): envelope for envelope in mail_on.inbox.envelopes}
    assert set(received) == {("mot@example.vn",), ("hai@example.vn",)}
    forbidden = [*_forbidden_words(db, case, "vi"), *_forbidden_words(db, case, "en")]
    for (address,), envelope in received.items():
        raw = envelope.original_content
        message = message_from_bytes(raw, policy=default_policy)
        assert message["To"] == address and message["Subject"] == SUBJECT
        assert message["From"] == "khong-tra-loi@phuong.example.vn"
        body = message.get_content()
        assert body.count(f"{BASE_URL}/cases/{case.id}") == 2  # in each language
        assert body.index("Có một vụ việc cần bạn xem") < body.index("A case needs your attention")
        for canary in canaries.values():
            for encoding, needles in canary_needles(canary).items():
                assert not any(needle in raw for needle in needles), (canary, encoding)
        text = f"{message['Subject']}\n{body}"
        assert [word for word in forbidden if word in text or word.encode() in raw] == []
    for user in (first, second):
        [notice] = notices_of(db, user)
        assert notice.mail_status == MAIL_SENT and notice.mail_sent_at is not None
    [chairman_notice] = notices_of(db, chairman)
    assert chairman_notice.mail_status is None  # no address: the app only

    # Each sent notice is audited by its id, with no address.
    entries = audit_actions(db, "notice.mail")
    sent = {f"notice:{notices_of(db, user)[0].id}" for user in (first, second)}
    assert {entry.target for entry in entries} == sent
    assert all(entry.detail is None and entry.actor_id is None for entry in entries)

    # A second run (cron, a minute later) sends nothing again.
    assert "0 sent" in send()
    assert len(mail_on.inbox.envelopes) == 2


def test_with_the_server_down_the_notice_waits_and_a_later_run_sends_it_once(
    db, make_user, file_report, mail_on, send, caplog
):
    first, _second, _chairman = _staff_with_addresses(make_user)
    db.session.commit()
    file_report(make_user("reporter"))
    [notice] = notices_of(db, first)

    with caplog.at_level(logging.INFO, logger="incidents"):
        output = send()  # nothing listens on the port yet

    assert "0 sent" in output and "2 failed" in output  # both officers' notices
    notice = db.session.get(Notice, notice.id)
    assert (notice.mail_status, notice.mail_attempts) == (MAIL_PENDING, 1)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"notice {notice.id}: e-mail attempt 1 failed" in logged
    assert "example.vn" not in logged
    assert audit_actions(db, "notice.mail") == []

    mail_on.start()
    assert "2 sent" in send()
    assert "0 sent" in send()
    assert [env.rcpt_tos for env in mail_on.inbox.envelopes].count(["mot@example.vn"]) == 1
    assert db.session.get(Notice, notice.id).mail_status == MAIL_SENT


def test_a_notice_is_given_up_after_the_attempt_limit(
    app, db, make_user, file_report, mail_on, send, monkeypatch, caplog
):
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 2)
    first, second, _chairman = _staff_with_addresses(make_user)
    set_email(None, second, None)
    db.session.commit()
    file_report(make_user("reporter"))
    [notice] = notices_of(db, first)

    with caplog.at_level(logging.INFO, logger="incidents"):
        send()
        send()
    notice = db.session.get(Notice, notice.id)
    assert (notice.mail_status, notice.mail_attempts) == (MAIL_FAILED, 2)
    assert f"notice {notice.id}: e-mail given up after 2 attempts" in caplog.text
    mail_on.start()
    assert "0 sent" in send()
    assert mail_on.inbox.envelopes == []
    assert notices.unread_count(first) == 1  # the notice itself is never lost


def test_a_notice_another_run_holds_is_left_alone_until_its_lease_ends(
    db, make_user, file_report, mail_on, send
):
    mail_on.start()
    first, second, _chairman = _staff_with_addresses(make_user)
    set_email(None, second, None)
    db.session.commit()
    file_report(make_user("reporter"))
    [notice] = notices_of(db, first)
    notice.mail_next_at = utcnow() + LEASE  # as a run that is sending it right now left it
    db.session.commit()

    assert "0 sent" in send()
    assert mail_on.inbox.envelopes == []

    db.session.get(Notice, notice.id).mail_next_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert "1 sent" in send()
    assert len(mail_on.inbox.envelopes) == 1


def test_a_removed_address_or_account_is_not_mailed(db, make_user, file_report, mail_on, send):
    mail_on.start()
    first, second, _chairman = _staff_with_addresses(make_user)
    db.session.commit()
    file_report(make_user("reporter"))
    set_email(None, first, None)
    second.active = False
    db.session.commit()

    output = send()
    assert "0 sent" in output and "2 no longer wanted" in output
    assert mail_on.inbox.envelopes == []


def test_filing_does_not_wait_for_a_mail_server_that_does_not_answer(
    db, make_user, file_report, mail_on, app, monkeypatch
):
    # A server that accepts the connection and never says a word.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    monkeypatch.setitem(app.config, "MAIL_PORT", silent.getsockname()[1])
    try:
        first, _second, _chairman = _staff_with_addresses(make_user)
        db.session.commit()
        started = time.monotonic()
        file_report(make_user("reporter"))
        assert time.monotonic() - started < app.config["MAIL_TIMEOUT"]
        assert notices_of(db, first)[0].mail_status == MAIL_PENDING
    finally:
        silent.close()


def test_mail_is_off_without_a_server_and_settings_come_from_the_environment(app, db, send):
    assert "mail is off" in send()

    config = dict(vars(Config).items())
    Config.load_environment(
        config,
        {
            "MAIL_SERVER": "smtp.example.vn",
            "MAIL_PORT": "2525",
            "MAIL_USE_TLS": "false",
            "MAIL_SENDER": "no-reply@example.vn",
            "MAIL_TIMEOUT": "3",
            "PUBLIC_BASE_URL": BASE_URL,
        },
    )
    settings = MailSettings.from_config(config)
    assert (settings.server, settings.port, settings.use_tls, settings.timeout) == (
        "smtp.example.vn",
        2525,
        False,
        3.0,
    )
    with pytest.raises(MailConfigError):
        MailSettings.from_config({**config, "PUBLIC_BASE_URL": ""})
    with pytest.raises(MailConfigError):
        MailSettings.from_config({**config, "MAIL_PORT": "smtp"})
    with pytest.raises(MailConfigError):  # a password in the clear over the network
        MailSettings.from_config({**config, "MAIL_USERNAME": "ward", "MAIL_PASSWORD": "x"})
    local = {**config, "MAIL_SERVER": "127.0.0.1", "MAIL_USERNAME": "ward"}
    assert MailSettings.from_config(local).username == "ward"
    with pytest.raises(MailConfigError):  # a mailed link must not lead to plain http
        MailSettings.from_config({**config, "PUBLIC_BASE_URL": "http://phuong.example.vn"})
    development = {**config, "PUBLIC_BASE_URL": "http://127.0.0.1:5000"}
    assert MailSettings.from_config(development).base_url == "http://127.0.0.1:5000"
    assert "hunter2" not in repr(MailSettings.from_config({**local, "MAIL_PASSWORD": "hunter2"}))


def test_send_refuses_settings_that_cannot_work(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    result = app.test_cli_runner().invoke(args=["notices", "send"])
    assert result.exit_code == 1 and "MAIL_SENDER" in result.output


def test_report_data_filed_through_the_service_tells_the_desks(db, make_user):
    """The service path (the CLI, the benchmarks) tells the desks as the web does."""
    leader, officer = make_user("reporter"), make_user("officer")
    case = cases.file_report(leader, report_data(leader.groups[0].id))
    db.session.commit()
    assert [(n.case_id, n.reason) for n in notices_of(db, officer)] == [(case.id, "new_case")]


def test_a_member_is_told_in_the_app_when_someone_else_changes_his_address(db, make_user):
    officer, admin = make_user("officer"), make_user("admin")
    set_email(officer, officer, "vanhoa@example.vn")  # his own change: nothing to tell
    set_email(admin, officer, "elsewhere@example.vn")
    db.session.commit()
    told = db.session.scalars(select(Notice).where(Notice.user_id == officer.id)).all()
    assert [(notice.reason, notice.case_id) for notice in told] == [("email_changed", None)]
    # Never mailed: the new address may be the very one set to read his mail instead.
    assert told[0].mail_status is None


# --- STARTTLS, as a real mail server across the network speaks it ---------------------


def _certificate_pair(tmp_path, host: str):
    """A private CA (its PEM file) and a server certificate for host, signed by it."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = (
        x509.CertificateBuilder().subject_name(name("Test CA")).issuer_name(name("Test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    try:
        subject = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        subject = x509.DNSName(host)
    server = (
        x509.CertificateBuilder().subject_name(name(host)).issuer_name(ca.subject)
        .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([subject]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = (tmp_path / n for n in ("ca.pem", "server.pem", "server.key"))
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(server.public_bytes(pem))
    key_file.write_bytes(
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


class TLSServer(SMTPServer):
    """A server that takes mail only after STARTTLS, and a password only over it."""

    def __init__(self, cert_file, key_file):
        import ssl

        super().__init__()
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert_file, key_file)
        self.logins = []

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        self.logins.append((auth_data.login, session.ssl is not None))
        good = (auth_data.login, auth_data.password) == (b"phuong", b"mat khau thu")
        return AuthResult(success=good)

    def start(self):
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, tls_context=self.context,
            require_starttls=True, authenticator=self._authenticate, auth_require_tls=True,
        )  # fmt: skip
        self.controller.start()


@pytest.fixture()
def tls_mail(app, tmp_path, monkeypatch, request):
    """The app's mail settings for a STARTTLS server with a password; the server's
    certificate is signed by a CA the test trusts (SSL_CERT_FILE) unless told otherwise."""
    host = getattr(request, "param", "127.0.0.1")
    ca_file, cert_file, key_file = _certificate_pair(tmp_path, host)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    server = TLSServer(cert_file, key_file)
    point_mail_at(
        app,
        monkeypatch,
        server.port,
        MAIL_USE_TLS=True,
        MAIL_USERNAME="phuong",
        MAIL_PASSWORD="mat khau thu",
    )
    server.start()
    yield server
    server.stop()


def test_mail_goes_over_starttls_and_the_password_only_inside_it(
    db, make_user, file_report, tls_mail, send
):
    first, _second, _chairman = _staff_with_addresses(make_user)
    db.session.commit()
    file_report(make_user("reporter"))

    assert "2 sent" in send()
    assert sorted(env.rcpt_tos for env in tls_mail.inbox.envelopes) == [
        ["hai@example.vn"],
        ["mot@example.vn"],
    ]
    assert tls_mail.logins and all(login == (b"phuong", True) for login in tls_mail.logins)
    assert notices_of(db, first)[0].mail_status == MAIL_SENT


@pytest.mark.parametrize("tls_mail", ["mail.elsewhere.example"], indirect=True)
def test_a_server_whose_certificate_does_not_name_it_gets_nothing(
    db, make_user, file_report, tls_mail, send
):
    first, _second, _chairman = _staff_with_addresses(make_user)
    db.session.commit()
    file_report(make_user("reporter"))

    assert "0 sent" in send() and tls_mail.inbox.envelopes == []
    assert tls_mail.logins == []  # the password never left
    notice = notices_of(db, first)[0]
    assert (notice.mail_status, notice.mail_attempts) == (MAIL_PENDING, 1)


def test_a_server_signed_by_a_ca_not_trusted_gets_nothing(
    db, make_user, file_report, tls_mail, send, monkeypatch, tmp_path
):
    (tmp_path / "other").mkdir()
    elsewhere, _cert, _key = _certificate_pair(tmp_path / "other", "127.0.0.1")
    monkeypatch.setenv("SSL_CERT_FILE", str(elsewhere))
    first, _second, _chairman = _staff_with_addresses(make_user)
    db.session.commit()
    file_report(make_user("reporter"))

    assert "0 sent" in send() and tls_mail.inbox.envelopes == [] and tls_mail.logins == []
    assert notices_of(db, first)[0].mail_status == MAIL_PENDING

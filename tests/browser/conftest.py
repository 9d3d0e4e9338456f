"""Browser tests: Playwright driving Debian's Chromium against a live server.

SECURITY.md property 24 in a real browser, on a phone-sized screen: no CSP violation,
nothing left after sign-out (back button, storage), plus what only a browser shows (the
quick exit's history, the double tap, a connection cut while sending, a slow network).

One server (a TestingConfig app on its own SQLite file, CSRF on) and one Chromium serve
the whole session; each test gets a fresh browser context and its own group leader. The
folder is skipped when Playwright or /usr/bin/chromium is missing, except with CI=true,
where it fails (as tests/conftest.py treats TEST_DATABASE_URL).
"""

import os
import shutil
import tempfile
import threading
import time
from itertools import count
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_migrate import upgrade
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from incidents.accounts import factors
from incidents.accounts.models import User
from incidents.accounts.service import create_user, unlock_personal_key
from incidents.accounts.sessions import end_sessions_of, sessions_of
from incidents.cases.models import Case
from incidents.crypto.keys import key_fingerprint
from incidents.crypto.totp import code_at, new_secret, step_at
from incidents.extensions import db
from incidents.reporting.models import Draft
from incidents.wards.models import ResidentialGroup
from incidents.wards.service import add_group, create_ward, seat_by_recovery
from incidents.web import argon2_params
from tests.conftest import PASSWORD, make_test_app, report_form

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # the dev extras are not installed
    sync_playwright = None
    PlaywrightError = Exception

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 360, "height": 740}
LOCALE = "vi-VN"
# Where the quick exit leads in these tests: another site, as the real default (a search
# engine) is; the machine's network is closed, so every context answers it itself.
NEUTRAL_URL = "https://neutral.example/search?q=thoi+tiet"

# Recorded in a page global (never in storage, which the tests check is empty) and handed
# to the test at once through an exposed binding, so a violation on a page the test has
# already left is not lost.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  var text = event.violatedDirective + " blocked " + (event.blockedURI || "inline") +
    " on " + document.location.href;
  window.__cspViolations.push(text);
  if (window.__reportCspViolation) { window.__reportCspViolation(text); }
});
"""

_usernames = count(1)


class LiveServer:
    """The app served over HTTP on 127.0.0.1, its schema built by the migrations."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.app = make_test_app(
            f"sqlite:///{folder}/browser.sqlite3",
            str(folder / "instance"),
            WTF_CSRF_ENABLED=True,
        )
        with self.app.app_context():
            upgrade()  # a fresh file: the migrations build the schema
            ward, self.recovery_seed = create_ward(None, code="BR", name="Phường Thử Nghiệm")
            self.group_id = add_group(None, ward, name="Tổ dân phố số 1").id
            db.session.commit()
        self.requests: list[tuple[str, str]] = []  # (method, path) as the server got them
        self.server = make_server("127.0.0.1", 0, self._serve, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.app.config["QUICK_EXIT_URL"] = self.exit_url = NEUTRAL_URL
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _serve(self, environ, start_response):
        """The app, noting each request, and closing what it answers with once sent.

        Werkzeug's development server skips close() when the browser drops the connection
        while it drains the request (a cancelled navigation does): the static file stays
        open and its ResourceWarning fails some later test. A generator closes it when
        exhausted or collected. Gunicorn, in production, is not concerned.
        """
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        answer = self.app(environ, start_response)
        try:
            yield from answer
        finally:
            if hasattr(answer, "close"):
                answer.close()

    def posts_to(self, path: str) -> int:
        """How many POSTs to path the server has received so far."""
        return self.requests.count(("POST", path))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        with self.app.app_context():
            db.engine.dispose()

    def new_leader(self):
        """A group leader of the ward's group, with his own password (and key)."""
        with self.app.app_context():
            group = db.session.get(ResidentialGroup, self.group_id)
            user = create_user(
                None,
                ward=group.ward,
                username=f"leader{next(_usernames)}",
                display_name="Tổ trưởng thử",
                role="reporter",
                password=PASSWORD,
                params=argon2_params(),
                groups=[group],
                chosen_by_owner=True,
            )
            db.session.commit()
            return Leader(user.id, user.username, self.group_id)

    def new_desk_member(self, role: str):
        """A member of the ward's desk of this role, seated, with an authenticator app."""
        with self.app.app_context():
            group = db.session.get(ResidentialGroup, self.group_id)
            user = create_user(
                None,
                ward=group.ward,
                username=f"{role}{next(_usernames)}",
                display_name=f"Cán bộ {role}",
                role=role,
                password=PASSWORD,
                params=argon2_params(),
                chosen_by_owner=True,
            )
            desk = group.ward.desk(role)
            seat_by_recovery(
                None, desk, user, self.recovery_seed, checked_code=key_fingerprint(user.public_key)
            )
            secret, now = new_secret(), time.time()
            seed = unlock_personal_key(user, PASSWORD)
            assert factors.enrol(user, seed, secret, code_at(secret, step_at(now)), now)
            db.session.commit()
            member = Leader(user.id, user.username, self.group_id)
            member.totp_secret = secret
            return member

    def forget_last_code(self, member) -> None:
        """One code signs in once: a test signing in twice within 30 s needs another."""
        with self.app.app_context():
            db.session.execute(update(User).where(User.id == member.id).values(totp_last_step=None))
            db.session.commit()

    def cases_of(self, leader) -> int:
        """How many cases this leader has filed, read from the server's database."""
        with self.app.app_context():
            return db.session.scalar(
                select(func.count()).select_from(Case).where(Case.reporter_id == leader.id)
            )

    def sessions_of(self, leader) -> int:
        """How many sessions of this leader the server still holds."""
        with self.app.app_context():
            return len(sessions_of(leader.id))

    def drafts_of(self, leader) -> int:
        """How many drafts of this leader the server holds (sealed: it cannot read them)."""
        with self.app.app_context():
            return db.session.scalar(
                select(func.count()).select_from(Draft).where(Draft.user_id == leader.id)
            )

    def end_sessions(self, leader) -> None:
        """What 15 minutes without a request do: the server forgets his sessions."""
        with self.app.app_context():
            end_sessions_of(leader.id)
            db.session.commit()

    def text(self, message: str, locale: str = "vi") -> str:
        """A message of the app as the browser's language shows it."""
        with self.app.test_request_context(), force_locale(locale):
            return _(message)


class Leader:
    def __init__(self, user_id: int, username: str, group_id: int):
        self.id, self.username, self.group_id = user_id, username, group_id
        self.password = PASSWORD


def _unavailable() -> str | None:
    if sync_playwright is None:
        return "the browser tests need the playwright package (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
    )
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(scope="session")
def live_server(browser):
    """The app on a port of 127.0.0.1 for the whole session (after the browser: skipped
    with it)."""
    folder = Path(tempfile.mkdtemp(prefix="browser-"))
    server = LiveServer(folder)
    yield server
    server.close()
    shutil.rmtree(folder, ignore_errors=True)


class Watch:
    """What a test must never see: CSP violations and script errors, on any page."""

    def __init__(self):
        self.csp: list[str] = []
        self.errors: list[str] = []

    def console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)

    def assert_clean(self) -> None:
        assert self.csp == [], f"CSP violations: {self.csp}"
        assert self.errors == [], f"script errors: {self.errors}"


def new_context(browser, watch: Watch, **options):
    """A fresh context (empty cache, no cookies) at the phone's size, watched."""
    context = browser.new_context(viewport=VIEWPORT, locale=LOCALE, **options)
    context.add_init_script(CSP_LISTENER)
    context.expose_binding(
        "__reportCspViolation", lambda source, text: watch.csp.append(f"event: {text}")
    )

    def watch_page(page):
        page.on("console", watch.console)
        page.on("pageerror", lambda error: watch.errors.append(str(error)))

    context.on("page", watch_page)
    context.route(
        NEUTRAL_URL.split("?")[0] + "*",
        lambda route: route.fulfill(body="<p>Thời tiết</p>", content_type="text/html"),
    )
    return context


@pytest.fixture()
def watch():
    return Watch()


@pytest.fixture()
def contexts(browser, live_server, watch):
    """Factory: fresh browser contexts (options as browser.new_context's); at the end of
    the test they are closed, and no page of them may have seen a CSP violation."""
    made = []

    def factory(**options):
        made.append(new_context(browser, watch, **options))
        return made[-1]

    yield factory
    for context in made:
        context.close()
    watch.assert_clean()


@pytest.fixture()
def context(contexts):
    """A fresh browser context with JavaScript on."""
    return contexts()


@pytest.fixture()
def page(context):
    return context.new_page()


@pytest.fixture()
def leader(live_server):
    return live_server.new_leader()


class Steps:
    """What a group leader does in the browser, the way he does it."""

    def __init__(self, server: LiveServer):
        self.server = server

    def url(self, path: str) -> str:
        return self.server.url + path

    def sign_in(self, page, leader) -> None:
        page.goto(self.url("/login"))
        page.fill("input[name=username]", leader.username)
        page.fill("input[name=password]", leader.password)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert page.url == self.url("/reports"), "sign-in failed"

    def sign_in_staff(self, page, member) -> None:
        """A desk member signs in with his password and his authenticator's code."""
        self.server.forget_last_code(member)
        page.goto(self.url("/login"))
        page.fill("input[name=username]", member.username)
        page.fill("input[name=password]", member.password)
        page.fill("input[name=code]", code_at(member.totp_secret, step_at(time.time())))
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert page.url == self.url("/cases/"), "sign-in failed"

    def sign_out(self, page) -> None:
        with page.expect_navigation():
            page.click("header form[action='/logout'] button")
        assert page.url == self.url("/login")

    def fill_report(self, page, leader, **changes) -> dict:
        """Fill every answer of the open report form; returns the answers."""
        answers = report_form(leader.group_id, **changes)
        form = page.locator("#report-form")
        for name, value in answers.items():
            fields = form.locator(f"[name={name}]")
            kind = fields.first.evaluate("e => e.type")
            if kind == "hidden":  # the leader's only group: shown, not asked
                continue
            self.unfold(page, fields.first)
            if kind == "checkbox":
                for item in value:
                    form.locator(f"[name={name}][value='{item}']").check()
            elif kind == "radio":
                form.locator(f"[name={name}][value='{value}']").check()
            elif kind.startswith("select"):
                fields.select_option(value)
            else:
                fields.fill(value)
        return answers

    def unfold(self, page, field) -> None:
        """Open the folded part of the form a field is in, as the leader taps its title."""
        folded = field.locator("xpath=ancestor::details[not(@open)]")
        if folded.count():
            folded.first.locator("summary").click()

    def send(self, page) -> None:
        with page.expect_navigation():
            page.click("#report-form button[value=send]")

    def arrive(self, page, part: str, seconds: float = 10) -> None:
        """Wait until the page's URL contains part and it has loaded (page.wait_for_url
        gives up at the first aborted navigation, which a cut or a second tap makes)."""
        deadline = time.monotonic() + seconds
        while part not in page.url:
            assert time.monotonic() < deadline, f"still at {page.url}, not {part}"
            page.wait_for_timeout(50)
        page.wait_for_load_state()

    def reload_error_page(self, page) -> None:
        """Reload Chromium's error page, as the leader taps "Reload" on it.

        Its chrome-error:// URL shows a moment before Chromium lets it be reloaded
        ("Not attached to an active page"): try again for up to two seconds.
        """
        for attempt in range(20):
            try:
                page.reload()
                return
            except PlaywrightError as error:
                if "Not attached to an active page" not in str(error) or attempt == 19:
                    raise
                page.wait_for_timeout(100)

    def assert_storage_empty(self, page) -> None:
        """Nothing in localStorage, sessionStorage, IndexedDB or the Cache API."""
        left = page.evaluate(
            """async () => ({
                storage: localStorage.length + sessionStorage.length,
                indexedDB: indexedDB.databases ? (await indexedDB.databases()).length : 0,
                caches: window.caches ? (await caches.keys()).length : 0,
            })"""
        )
        assert left == {"storage": 0, "indexedDB": 0, "caches": 0}

    def csp_violations_here(self, page) -> list:
        return page.evaluate("window.__cspViolations || []")


@pytest.fixture()
def steps(live_server):
    return Steps(live_server)

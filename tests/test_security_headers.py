"""Headers on every response, no inline script or style, generic error pages, CSRF."""

import logging
import secrets
from html.parser import HTMLParser

import pytest
from conftest import PASSWORD, close_app, login_data, post_report, report_form
from flask_babel import force_locale, gettext
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.exceptions import BadRequest, MethodNotAllowed, NotFound, RequestEntityTooLarge

from incidents import create_app

# The message each error page shows, as written in templates/errors/error.html.
ERROR_MESSAGES = {
    400: "The request could not be understood. Go back and try again.",
    404: "This page does not exist, or you do not have access to it.",
    405: "This action is not allowed here.",
    413: "What you sent is too large.",
}
# Werkzeug's own error texts: a generic page shows none of them.
WERKZEUG_TEXTS = [
    error.description for error in (BadRequest, NotFound, MethodNotAllowed, RequestEntityTooLarge)
] + ["Bad Request", "Not Found", "Method Not Allowed", "Request Entity Too Large"]
ALLOWED_SCRIPT_SOURCES = {"'self'", "'none'"}


# --- helpers ---------------------------------------------------------------------------


def policy(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as {directive: [sources]}."""
    headers = response.headers.getlist("Content-Security-Policy")
    assert len(headers) == 1, headers
    directives = {}
    for part in headers[0].split(";"):
        tokens = part.split()
        if tokens:
            directives[tokens[0].lower()] = tokens[1:]
    return directives


def assert_security_headers(response, *, page: bool = True) -> None:
    """The headers of property 16 (Cache-Control: no-store only on pages)."""
    csp = policy(response)
    header = response.headers["Content-Security-Policy"].lower()
    assert "'unsafe-inline'" not in header
    assert csp.get("object-src") == ["'none'"]
    assert csp.get("base-uri") == ["'none'"]
    assert csp.get("frame-ancestors") == ["'none'"]
    assert csp.get("form-action") == ["'self'"]
    for directive in ("script-src", "style-src"):
        sources = csp.get(directive, csp.get("default-src"))
        assert sources, f"no {directive} and no default-src: anything may run"
        assert set(sources) <= ALLOWED_SCRIPT_SOURCES, (directive, sources)
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "no-referrer"
    if page:
        cache = {
            part.strip().lower() for part in response.headers.get("Cache-Control", "").split(",")
        }
        assert "no-store" in cache, response.headers.get("Cache-Control")


class InlineFinder(HTMLParser):
    """Collect what a CSP without 'unsafe-inline' would block: inline script and style."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = {name.lower(): value or "" for name, value in attrs}
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            self._in_script = True
            if "src" not in attributes:
                self.problems.append("inline <script>")
        if "style" in attributes:
            self.problems.append(f"style= on <{tag}>")
        for name, value in attributes.items():
            if name.startswith("on"):
                self.problems.append(f"{name}= handler on <{tag}>")
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"javascript: URL on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("script content")


def inline_problems(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


class TokenFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.token = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("name") == "csrf_token":
            self.token = attributes.get("value")


def csrf_token(web, url: str) -> str:
    finder = TokenFinder()
    finder.feed(web.get(url).get_data(as_text=True))
    assert finder.token, f"no CSRF token on {url}"
    return finder.token


# The audit trail records refused sign-ins too (issue 5: "the failure recorded even when
# the request fails"): it is the one thing a refused request may add to.
AUDIT_TABLES = {"audit_entries", "audit_head"}


def row_counts(db) -> dict[str, int]:
    """Every table's row count but the audit trail's, read in a fresh transaction."""
    db.session.rollback()
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in AUDIT_TABLES
    }


def translated(app, locale: str, message: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(message)


@pytest.fixture()
def production_app(monkeypatch, tmp_path):
    """A production app with good secrets and a freshly migrated SQLite file."""
    for variable in ("INCIDENTS_ENV", "REDIS_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'production.sqlite3'}")
    handlers_before = set(logging.getLogger("incidents").handlers)
    application = create_app("production", instance_path=str(tmp_path / "instance"))
    with application.app_context():
        upgrade()  # sessions live in the database
    yield application
    close_app(application, handlers_before)


def get(web, url: str, status: int):
    response = web.get(url)
    body = response.get_data(as_text=True)
    response.close()
    assert response.status_code == status, (url, response.status_code, body[-500:])
    return response


# --- headers ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["page", "redirect", "404 page", "static file", "sign-in page"])
def test_security_headers_on_every_kind_of_response(client, make_user, login_as, kind):
    if kind == "page":
        login_as(make_user("reporter"))
        response = get(client, "/reports", 200)
    elif kind == "redirect":
        response = get(client, "/", 302)
        assert "/login" in response.headers["Location"]
    elif kind == "404 page":
        response = get(client, "/no-such-page", 404)
    elif kind == "static file":
        response = get(client, "/static/style.css", 200)
        assert response.mimetype == "text/css"
    else:
        response = get(client, "/login", 200)

    assert_security_headers(response, page=kind != "static file")


def test_hsts_in_production_only(client, production_app):
    web = production_app.test_client()
    for url, status in (("/login", 200), ("/", 302), ("/no-such-page", 404),
                        ("/static/style.css", 200)):  # fmt: skip
        response = get(web, url, status)
        assert_security_headers(response, page=url != "/static/style.css")
        hsts = response.headers.get("Strict-Transport-Security", "")
        directives = dict(
            part.strip().lower().partition("=")[::2] for part in hsts.split(";") if part.strip()
        )
        assert int(directives.get("max-age") or 0) >= 31536000, (url, hsts)

        testing = get(client, url, status)
        assert "Strict-Transport-Security" not in testing.headers, url


def test_logout_clears_site_data_and_ends_the_session(client, make_user, login_as):
    login_as(make_user("reporter"))
    get(client, "/reports", 200)

    response = client.post("/logout")

    assert response.status_code == 302
    assert_security_headers(response)
    cleared = {
        part.strip().strip('"') for part in response.headers.get("Clear-Site-Data", "").split(",")
    }
    assert {"cache", "cookies", "storage"} <= cleared, response.headers.get("Clear-Site-Data")
    assert "/login" in get(client, "/reports", 302).headers["Location"]


# --- no inline script or style ---------------------------------------------------------


def test_no_page_has_inline_script_or_style(client, make_user, login_as, file_report):
    leader, officer, admin = make_user("reporter"), make_user("officer"), make_user("admin")
    pages = {"sign-in": (get(client, "/login", 200), 'name="password"')}
    case_id = file_report(leader, victim_name="Lò Thị Hoa")
    pages["report form"] = (get(client, "/report/new", 200), 'name="narrative"')
    pages["filed"] = (get(client, f"/report/filed/{case_id}", 200), "<h1")
    pages["my reports"] = (get(client, "/reports", 200), "<h1")
    pages["my report"] = (get(client, f"/reports/{case_id}", 200), "Lò Thị Hoa")
    login_as(officer)
    pages["queue"] = (get(client, "/cases/", 200), "<h1")
    pages["case"] = (get(client, f"/cases/{case_id}", 200), "Lò Thị Hoa")
    pages["stats"] = (get(client, "/stats/", 200), 'class="total"')
    login_as(admin)
    pages["admin users"] = (get(client, "/admin/users", 200), admin.username)
    pages["admin new user"] = (get(client, "/admin/users/new", 200), 'name="username"')
    pages["error"] = (get(client, "/no-such-page", 404), "<h1>404</h1>")

    for name, (response, marker) in pages.items():
        html = response.get_data(as_text=True)
        assert marker in html, f"{name}: not the expected page"
        assert inline_problems(html) == [], name
        assert_security_headers(response)


def test_the_inline_finder_finds_inline_code():
    # The checker above is only worth something if it can fail.
    assert inline_problems('<p style="color:red">x</p>') == ["style= on <p>"]
    assert inline_problems("<style>p{}</style>") == ["<style> element"]
    assert inline_problems("<script>alert(1)</script>") == ["inline <script>", "script content"]
    assert inline_problems('<button onclick="go()">x</button>') == ["onclick= handler on <button>"]
    assert inline_problems('<a href=" JavaScript:go()">x</a>') == ["javascript: URL on <a>"]
    assert inline_problems('<script src="/static/app.js"></script><p class="x">y</p>') == []


# --- generic error pages ---------------------------------------------------------------


def trigger(code: int, web, app):
    if code == 404:
        return web.get("/no-such-page")
    if code == 405:
        return web.get("/logout")
    if code == 413:
        padding = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
        return web.post("/login", data={"username": "u", "password": "p", "padding": padding})
    # 400: a POST without a CSRF token, on the app that checks them
    return web.post("/login", data={"username": "u", "password": "p"})


@pytest.mark.parametrize("code", sorted(ERROR_MESSAGES))
def test_error_pages_are_generic_and_translated(app, db, csrf_app, code):
    target = csrf_app if code == 400 else app
    web = target.test_client()
    english = ERROR_MESSAGES[code]
    vietnamese = translated(target, "vi", english)
    assert vietnamese != english, "no Vietnamese translation of the error message"

    pages = {}
    pages["vi"] = trigger(code, web, target)
    get(web, "/language/en", 302)
    pages["en"] = trigger(code, web, target)

    for language, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == code, (language, html[-500:])
        assert response.mimetype == "text/html"
        assert f'<html lang="{language}">' in html
        assert (vietnamese if language == "vi" else english) in html
        assert (english if language == "vi" else vietnamese) not in html
        for leak in ("Traceback", 'File "', "werkzeug", "CSRF", *WERKZEUG_TEXTS):
            assert leak not in html, (language, leak)
        assert inline_problems(html) == []
        assert_security_headers(response)


# --- CSRF ------------------------------------------------------------------------------


def test_csrf_refuses_sign_in_without_a_token(db, csrf_app, make_user):
    user = make_user("police")
    web = csrf_app.test_client()
    before = row_counts(db)
    credentials = login_data(user)

    for data in (credentials, {**credentials, "csrf_token": "forged"}):
        response = web.post("/login", data=data)
        assert response.status_code == 400
        assert_security_headers(response)

    assert row_counts(db) == before
    assert db.session.get(type(user), user.id).last_login_at is None
    assert "/login" in get(web, "/cases/", 302).headers["Location"], "a session was opened"

    # Control: with the form's token the same credentials sign in.
    token = csrf_token(web, "/login")
    signed_in = web.post("/login", data=login_data(user, csrf_token=token))
    assert signed_in.status_code == 302
    get(web, "/cases/", 200)


def test_csrf_refuses_a_report_without_a_token(db, csrf_app, make_user):
    leader = make_user("reporter")
    web = csrf_app.test_client()
    token = csrf_token(web, "/login")
    signed_in = web.post(
        "/login", data={"username": leader.username, "password": PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 302
    before = row_counts(db)
    report = report_form(leader.groups[0].id)

    for data in (report, {**report, "csrf_token": "forged"}):
        response = post_report(web, data)
        assert response.status_code == 400
        assert_security_headers(response)

    assert row_counts(db) == before
    assert before["cases"] == 0

    # Control: with the form's token the same report is filed.
    token = csrf_token(web, "/report/new")
    assert post_report(web, {**report, "csrf_token": token}).status_code == 302
    assert row_counts(db)["cases"] == 1


def test_csrf_refuses_every_post_route_without_a_token(db, csrf_app, make_user):
    user = make_user("reporter")
    web = csrf_app.test_client()
    token = csrf_token(web, "/login")
    data = {"username": user.username, "password": PASSWORD, "csrf_token": token}
    assert web.post("/login", data=data).status_code == 302
    before = row_counts(db)

    rules = [rule for rule in csrf_app.url_map.iter_rules() if "POST" in rule.methods]
    assert {"accounts.login", "accounts.logout", "reporting.new_report"} <= {
        rule.endpoint for rule in rules
    }
    for rule in rules:
        values = {
            argument: 1 if argument.endswith("_id") and argument != "case_id" else "x"
            for argument in rule.arguments
        }
        url = rule.build(values)[1]
        response = web.post(url, data={"status": "closed", "text": "x"})
        # The quick exit always leaves; without a token it only skips the sign-out.
        refused = 303 if rule.endpoint == "accounts.quick_exit" else 400
        assert response.status_code == refused, (rule.rule, response.status_code)

    assert row_counts(db) == before
    get(web, "/reports", 200)  # the token-less logout and quick exit did not end the session

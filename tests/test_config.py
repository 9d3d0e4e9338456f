"""Configuration: production refuses unsafe secrets, development makes its own, cookies."""

import logging
import secrets
import stat

import pytest

from config import TestingConfig
from incidents import create_app
from incidents.extensions import db

GOOD_SECRET = secrets.token_urlsafe(48)
VARIABLES = ("INCIDENTS_ENV", "SECRET_KEY", "SERVER_KEY", "DATABASE_URL", "REDIS_URL")


@pytest.fixture()
def environ(monkeypatch, tmp_path):
    """A clean environment; .production() sets every variable production needs."""
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)

    class Environment:
        @staticmethod
        def production(**changes):
            values = {
                "SECRET_KEY": GOOD_SECRET,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
            }
            values.update(changes)
            for variable, value in values.items():
                if value is None:
                    monkeypatch.delenv(variable, raising=False)
                else:
                    monkeypatch.setenv(variable, value)

    return Environment


@pytest.fixture()
def build(tmp_path):
    """create_app() on an instance folder in tmp_path; engines and log files closed after."""
    logger = logging.getLogger("incidents")
    handlers_before = set(logger.handlers)
    created = []

    def factory(config=None, instance=None):
        application = create_app(config, instance_path=str(instance or tmp_path / "instance"))
        created.append(application)
        return application

    yield factory
    for application in created:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
    for handler in set(logger.handlers) - handlers_before:
        logger.removeHandler(handler)
        handler.close()


# --- production ------------------------------------------------------------------------


def test_production_starts_with_good_values(environ, build, tmp_path):
    environ.production()

    app = build("production")

    assert app.config["ENV_NAME"] == "production"
    assert app.config["SECRET_KEY"] == GOOD_SECRET
    assert "SERVER_KEY" not in app.config  # no server key opens a case any more
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'production.sqlite3'}"
    assert not app.debug and not app.testing
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert app.config.get("ALLOW_DEMO_SEED") is False


def test_production_is_chosen_by_incidents_env(environ, build):
    environ.production()
    build("production")  # the same environment is accepted when named directly
    environ.production(INCIDENTS_ENV="production", SECRET_KEY=None)

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        build()


@pytest.mark.parametrize(
    ("variable", "config_key"),
    [
        ("SECRET_KEY", "SECRET_KEY"),
        ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
    ],
)
@pytest.mark.parametrize("value", [None, ""])
def test_production_refuses_a_missing_setting(environ, build, variable, config_key, value):
    environ.production(**{variable: value})

    with pytest.raises(RuntimeError, match=f"missing.*{config_key}"):
        build("production")


@pytest.mark.parametrize(
    "secret", ["change-me", "dev", "CHANGE-ME", "secret", TestingConfig.SECRET_KEY]
)
def test_production_refuses_a_default_secret(environ, build, secret):
    environ.production(SECRET_KEY=secret)

    with pytest.raises(RuntimeError, match="default"):
        build("production")


def test_production_refuses_a_short_secret(environ, build):
    environ.production(SECRET_KEY=GOOD_SECRET[:31])

    with pytest.raises(RuntimeError, match="at least 32"):
        build("production")


def test_production_accepts_a_secret_of_exactly_32_characters(environ, build):
    environ.production(SECRET_KEY=GOOD_SECRET[:32])

    assert build("production").config["SECRET_KEY"] == GOOD_SECRET[:32]


def test_production_session_cookie_is_secure_and_host_prefixed(environ, build):
    environ.production()
    app = build("production")

    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert app.config["SESSION_COOKIE_SAMESITE"] in ("Strict", "Lax")
    assert app.config["KNOWN_DEVICE_COOKIE_NAME"].startswith("__Host-")  # see test_throttle

    # The sign-in form puts its CSRF token in the session: the cookie is really sent so.
    response = app.test_client().get("/login", base_url="https://localhost")
    assert response.status_code == 200
    cookies = [value for value in response.headers.getlist("Set-Cookie")
               if value.startswith("__Host-")]  # fmt: skip
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    attributes = [part.strip().lower() for part in cookies[0].split(";")[1:]]
    assert "secure" in attributes
    assert "httponly" in attributes
    assert "path=/" in attributes
    assert not any(part.startswith("domain=") for part in attributes)
    assert any(part in ("samesite=strict", "samesite=lax") for part in attributes)


# --- development -----------------------------------------------------------------------


def test_development_generates_its_secret_and_reuses_it(environ, build, tmp_path):
    instance = tmp_path / "instance"
    secret_file = instance / "secret_key"

    first = build("development", instance)

    assert secret_file.is_file()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600, oct(secret_file.stat().st_mode)
    secret_key = secret_file.read_text().strip()
    assert first.config["SECRET_KEY"] == secret_key
    assert len(secret_key) >= 32
    assert secret_key.lower() not in {"change-me", "dev", TestingConfig.SECRET_KEY}
    assert not (instance / "server_key").exists()  # no server key opens a case any more

    second = build("development", instance)

    assert second.config["SECRET_KEY"] == secret_key
    assert secret_file.read_text().strip() == secret_key
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600

    # Another instance folder gets its own, freshly generated secret.
    other = build("development", tmp_path / "other-instance")
    assert other.config["SECRET_KEY"] != secret_key


def test_development_is_the_default(environ, build):
    assert build().config["ENV_NAME"] == "development"


# --- INCIDENTS_ENV ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["staging", "Production", "prod", " "])
def test_an_invalid_incidents_env_is_refused(environ, build, monkeypatch, name):
    monkeypatch.setenv("INCIDENTS_ENV", name)

    with pytest.raises(RuntimeError, match="INCIDENTS_ENV"):
        build()


def test_an_invalid_config_name_is_refused(environ, build):
    with pytest.raises(RuntimeError, match="INCIDENTS_ENV"):
        build("staging")


# --- hardening found by review -------------------------------------------------------------


def test_production_refuses_a_secret_of_repeated_characters(environ, build):
    environ.production(SECRET_KEY="a" * 40)

    with pytest.raises(RuntimeError, match="random"):
        build("production")


@pytest.mark.parametrize("name", [None, "development", "testing"])
def test_production_secrets_without_production_env_are_refused(environ, build, monkeypatch, name):
    environ.production()
    if name:
        monkeypatch.setenv("INCIDENTS_ENV", name)

    with pytest.raises(RuntimeError, match="INCIDENTS_ENV"):
        build()


def test_an_https_post_without_referer_passes_csrf_in_production(environ, build, tmp_path):
    # Every page sends Referrer-Policy: no-referrer, so browsers post without a Referer.
    import re

    from flask_migrate import upgrade

    from incidents.accounts.service import create_user
    from incidents.wards.service import create_ward
    from incidents.web import argon2_params

    environ.production()
    app = build("production")
    with app.app_context():
        upgrade()
        ward, _ = create_ward(None, code="PR", name="Phường")
        create_user(
            None,
            ward=ward,
            username="congan",
            display_name="Công an",
            role="police",
            password="a long production password",
            params=argon2_params(),
            chosen_by_owner=True,
        )
        db.session.commit()
    client = app.test_client()
    page = client.get("/login", base_url="https://ward.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login",
        base_url="https://ward.example",
        data={"csrf_token": token, "username": "congan", "password": "a long production password"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    refused = app.test_client().post(
        "/login",
        base_url="https://ward.example",
        data={"username": "congan", "password": "a long production password"},
    )
    assert refused.status_code == 400  # and without the token, CSRF still refuses


@pytest.mark.parametrize(("hops", "recorded"), [(0, "10.9.8.7"), (1, "203.0.113.5")])
def test_the_client_address_comes_from_trusted_proxies_only(build, tmp_path, hops, recorded):
    from flask_migrate import upgrade
    from sqlalchemy import select

    from incidents.audit.models import AuditEntry

    class Behind(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'proxied.sqlite3'}"
        ENVIRONMENT_KEYS = {}
        TRUSTED_PROXY_HOPS = hops

    app = build(Behind)
    with app.app_context():
        upgrade()
    response = app.test_client().post(
        "/login",
        data={"username": "nobody", "password": "not the password"},
        headers={"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert response.status_code == 200
    with app.app_context():
        addresses = db.session.scalars(select(AuditEntry.client_address)).all()
    assert addresses == [recorded]

"""The ward's incident-reporting application: create_app() builds it in named steps."""

import logging
import os
import secrets
from datetime import timedelta
from logging.handlers import RotatingFileHandler
from pathlib import Path

from flask import Flask, has_request_context
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS, Config
from incidents import access
from incidents.cases import clocks
from incidents.extensions import babel, csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_SECRETS = ("SECRET_KEY",)


def create_app(config: type[Config] | str | None = None, instance_path: str | None = None):
    """Build the application: configuration, extensions, security, blueprints, CLI, errors."""
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    load_configuration(app, config)
    trust_proxies(app)
    configure_logging(app)
    init_extensions(app)
    from incidents.security import configure_security

    configure_security(app)
    access.configure(app.config)
    clocks.configure(app.config)
    register_blueprints(app)
    register_template_helpers(app)
    register_cli(app)
    from incidents.errors import register_error_handlers

    register_error_handlers(app)
    if app.config["ENV_NAME"] == "production" and _serving():
        refuse_untrusted_database(app)
    return app


def _serving() -> bool:
    """Whether this app is built to serve requests (gunicorn, 'flask run'), rather than for
    a command-line task: 'flask db upgrade' and 'ward certify' must run on the database a
    server would refuse, to mend it."""
    import click

    context = click.get_current_context(silent=True)
    return context is None or context.command.name == "run"


def refuse_untrusted_database(app: Flask) -> None:
    """Refuse to serve a database that seed-demo touched (its accounts, passwords and keys
    are public), or whose wards' keys this server has no pin for (SECURITY.md 26, 29)."""
    from sqlalchemy import inspect, select

    from incidents.cli import demo_traces
    from incidents.wards.models import Ward
    from incidents.wards.trust import untrusted_wards

    with app.app_context():
        if not inspect(db.engine).has_table("audit_entries"):
            db.engine.dispose()
            return  # no schema yet ('flask db upgrade' comes first): nothing to trust
        try:
            traces = demo_traces()
            refused = untrusted_wards(db.session.scalars(select(Ward)).all())
        finally:
            db.session.remove()
            db.engine.dispose()  # no connection outlives the check (nor crosses a fork)
    if traces:
        raise RuntimeError(
            "production refuses a demo database: " + "; ".join(traces) + ". Start from a "
            "new database (flask --app wsgi db upgrade, then ward create)."
        )
    if refused:
        raise RuntimeError(
            "production refuses wards whose recovery key is not pinned on this server, or "
            f"whose desk keys are not the ones it signed: {', '.join(refused)}. Run "
            "'flask --app wsgi ward certify --ward CODE' with the ward's recovery key, or set "
            "RECOVERY_KEY_PINS; if the pin was there, the database was changed: investigate."
        )


def load_configuration(app: Flask, config: type[Config] | str | None) -> None:
    """Pick the config class (INCIDENTS_ENV, default development), read the environment."""
    if config is None or isinstance(config, str):
        name = config or os.environ.get("INCIDENTS_ENV", "development")
        if name not in CONFIGS:
            raise RuntimeError(f"INCIDENTS_ENV must be one of {', '.join(CONFIGS)}")
        config = CONFIGS[name]
        if name != "production" and any(os.environ.get(key) for key in PRODUCTION_SECRETS):
            # A production secret in the environment of a development or testing app means a
            # forgotten INCIDENTS_ENV: refuse rather than ignore them and allow demo seeding.
            raise RuntimeError("SECRET_KEY is set but INCIDENTS_ENV is not 'production'")
    app.config.from_object(config)
    config.load_environment(app.config, os.environ)
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI") and config.ENV_NAME != "production":
        database = Path(app.instance_path) / "incidents.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    if config.ENV_NAME == "development":
        # Development keeps its own generated secrets in the instance folder (never in git).
        app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or _instance_secret(
            app, "secret_key", secrets.token_urlsafe(48)
        )
    config.validate(app.config)


def _instance_secret(app: Flask, name: str, fresh: str) -> str:
    """Read a secret file of the instance folder, creating it (mode 0600) when missing."""
    path = Path(app.instance_path) / name
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(fresh)
    return path.read_text().strip()


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS reverse proxies, take the client's address and scheme
    from their X-Forwarded-* headers (never more hops than are really there: the headers
    are the client's to forge). The rate limits and the audit need the real address."""
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def configure_logging(app: Flask) -> None:
    """Application logs go to the instance folder; they never hold case content."""
    if not app.config.get("LOG_TO_INSTANCE"):
        return
    log_dir = Path(app.instance_path) / "logs"
    log_dir.mkdir(mode=0o700, exist_ok=True)
    handler = RotatingFileHandler(log_dir / "app.log", maxBytes=1_000_000, backupCount=5)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    handler.incidents_instance_log = True
    # Every app of this package shares one logger: a second app in the same process (the
    # tests) must not keep writing into the first one's instance folder.
    for previous in [h for h in app.logger.handlers if getattr(h, "incidents_instance_log", 0)]:
        app.logger.removeHandler(previous)
        previous.close()
    app.logger.addHandler(handler)
    app.logger.setLevel(logging.INFO)


def init_extensions(app: Flask) -> None:
    """Bind the unbound extensions; SQLite gets WAL mode and foreign keys."""
    from incidents.babel_setup import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    limiter.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
            event.listen(db.engine, "begin", _sqlite_begin_immediate)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    # Writers wait their turn (BEGIN IMMEDIATE, below) rather than fail after 5 seconds.
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    """A request's transaction on SQLite takes the write lock when it begins.

    Left to itself, the sqlite3 driver runs a request's reads outside any transaction and
    begins one at its first write: two filings read the same last case number, and one of
    them fails. Nearly every request writes (its session, an audit entry), so a request's
    transaction begins IMMEDIATE and requests write one after another. Work outside a
    request (the CLI, the tests' own checks) keeps the driver's way, which never holds the
    lock while it only reads.
    """
    if has_request_context():
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE")


def register_blueprints(app: Flask) -> None:
    """Mount each feature's views."""
    from incidents.accounts.views import bp as accounts_bp
    from incidents.admin.views import bp as admin_bp
    from incidents.audit.views import bp as audit_bp
    from incidents.notices.views import bp as notices_bp
    from incidents.referrals.views import bp as referrals_bp
    from incidents.reporting.views import bp as reporting_bp
    from incidents.stats.views import bp as stats_bp
    from incidents.triage.verify import bp as verify_bp
    from incidents.triage.views import bp as triage_bp
    from incidents.wards.views import bp as desks_bp

    for blueprint in (accounts_bp, reporting_bp, triage_bp, stats_bp, admin_bp, desks_bp, audit_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(verify_bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(referrals_bp)


def register_template_helpers(app: Flask) -> None:
    """Date filters on the ward's clock, vocabulary labels and the policy for templates."""
    from incidents import access, vocab
    from incidents.timeutil import format_date, format_datetime

    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")
    from flask_babel import format_timedelta, get_locale

    @app.template_filter("duration")
    def duration(value):
        # A clock's time left (or late), rounded down to its two largest units ("1 ngày
        # 12 tiếng"): rounding to the nearest would show 11 h 40 min as "12 hours".
        seconds = int(abs(value).total_seconds())
        parts = (seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60)
        units = ("day", "hour", "minute")
        first = next((i for i, n in enumerate(parts) if n), 2)
        shown = [
            format_timedelta(timedelta(**{unit + "s": n}), granularity=unit, threshold=1)
            for n, unit in zip(parts[first : first + 2], units[first : first + 2], strict=True)
            if n or unit == "minute" and first == 2
        ]
        return " ".join(shown)

    from flask_login import current_user

    from incidents.forms import EmptyForm

    app.jinja_env.globals.update(
        can=access.can,
        vocab=vocab,
        label=vocab.label,
        fact_text=vocab.fact_text,
        get_locale=get_locale,
    )

    @app.context_processor
    def logout_button():
        # Only for a signed-in user: the form's CSRF token would otherwise open a session
        # for every anonymous page view. formdata=None: the button never reads the request,
        # which may be the very body that an error page (413) is reporting.
        if not getattr(current_user, "is_authenticated", False):  # or no request at all
            return {}
        config = app.config
        return {
            "logout_form": EmptyForm(formdata=None),
            "idle_seconds": int(config["SESSION_IDLE_TIMEOUT"].total_seconds()),
            "warning_seconds": int(config["SESSION_WARNING"].total_seconds()),
        }


def register_cli(app: Flask) -> None:
    """Add the flask commands (they call the same services as the views)."""
    from incidents.cli import register

    register(app)

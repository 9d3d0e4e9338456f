"""Flask extensions, created unbound and bound to the app in create_app()."""

import hashlib
import hmac
import ipaddress

import flask_login
from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LoginManager(flask_login.LoginManager):
    """Flask-Login without "remember me": a remember_token cookie signed with SECRET_KEY
    would let whoever holds that secret sign in as anyone, past every other check."""

    def _load_user_from_remember_cookie(self, cookie):
        return None


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def client_network() -> str:
    """The per-address throttle's key: an IPv4 address itself, an IPv6 address its /64.

    One subscriber usually holds a whole /64 and may take a new address for every
    request: keyed on the full address, the per-address limit would never bite.
    """
    address = get_remote_address()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


limiter = Limiter(key_func=client_network)


def account_throttle_key(username: str) -> str:
    """The throttle's key for one account: a keyed digest of the username, so that the
    counters' store (Redis) never holds what people typed in the username box."""
    from incidents.accounts.service import normalise_username  # it imports this module

    digest = hmac.new(
        current_app.config["SECRET_KEY"].encode(),
        normalise_username(username)[:64].encode(),
        hashlib.sha256,
    )
    return "account:" + digest.hexdigest()[:32]

"""Language choice: Vietnamese unless the visitor picked English (a plain cookie)."""

from flask import current_app, has_request_context, request

LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    """Return the visitor's chosen language if it is offered, else the default (vi)."""
    chosen = request.cookies.get(LANGUAGE_COOKIE) if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]

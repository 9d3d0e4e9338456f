"""Sign-in form."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from incidents.accounts.service import PASSWORD_MAX, USERNAME_MAX
from incidents.forms import Form


class LoginForm(Form):
    """Username and password. Lengths are checked before any hashing."""

    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(_l("Enter your username.")),
            Length(max=USERNAME_MAX),
            Regexp(r"^[^\x00-\x1f\x7f]*$", message=_l("The username has invalid characters.")),
        ],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )

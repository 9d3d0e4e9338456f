"""Sign-in and password forms."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from incidents.accounts.factors import CODE_MAX
from incidents.accounts.service import (
    EMAIL_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    AccountError,
    normalise_email,
)
from incidents.forms import Form


def new_password_field(label, missing=None) -> PasswordField:
    """A password being set: 12 to 128 characters (the length is checked before hashing)."""
    return PasswordField(
        label,
        validators=[
            DataRequired(missing or _l("Enter a new password.")),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=_l("The password must have 12 to 128 characters."),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def confirm_field() -> PasswordField:
    """The new password typed again, which must match the field 'new_password'."""
    return PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(_l("Enter the new password again.")),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def code_field(label, description=None, required=False) -> StringField:
    """An authenticator code (6 digits) or a recovery code: short, no autofill, no memory."""
    return StringField(
        label,
        description=description,
        validators=[
            DataRequired(_l("Enter the 6-digit code from your authenticator app."))
            if required
            else Optional(),
            Length(max=CODE_MAX, message=_l("The code is too long.")),
        ],
        render_kw={
            "autocomplete": "one-time-code",
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )


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
    code = code_field(
        _l("Code (ward staff)"),
        _l(
            "The 6 digits your authenticator app shows now, or one of your recovery codes. "
            "Group leaders leave this empty."
        ),
    )


class ConfirmForm(Form):
    """Re-authentication before a sensitive step: the password, and for staff a code."""

    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    code = code_field(_l("Code from your authenticator app"))


class SecondFactorForm(Form):
    """The first code of a newly added authenticator app, which proves it works."""

    code = code_field(_l("Code from your authenticator app"), required=True)


class EndSessionForm(Form):
    """Sign out one other device ("others": every other one)."""

    which = HiddenField(
        validators=[DataRequired(), Regexp(r"^([0-9a-f]{64}|others)$")],
    )


class PasswordChangeForm(Form):
    """Change one's own password: the current one first."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = new_password_field(_l("New password"))
    confirm = confirm_field()


class OwnPasswordForm(Form):
    """The first password of one's own: it makes the account's key."""

    new_password = new_password_field(_l("Your own password"))
    confirm = confirm_field()


def _valid_email(form, field) -> None:
    if len(field.data or "") > EMAIL_MAX:
        raise ValidationError(_l("An e-mail address has at most 254 characters."))
    try:
        field.data = normalise_email(field.data)
    except AccountError as error:
        raise ValidationError(
            _l("Enter an e-mail address such as ten@example.vn, without accents or spaces.")
        ) from error


def email_field(label=None) -> EmailField:
    """An optional e-mail address for notices (the same rule as accounts.service)."""
    return EmailField(
        label or _l("E-mail for notices (optional)"),
        validators=[_valid_email],
        description=_l(
            "The e-mail only says that a case needs you, with a link. Leave it empty to get "
            "notices in the app only."
        ),
        render_kw={"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"},
    )


class EmailForm(Form):
    """One's own, or (for the administrator) a staff member's, e-mail for notices."""

    email = email_field()

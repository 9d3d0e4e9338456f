"""Seating a member at a desk."""

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from incidents.forms import Form


class SeatForm(Form):
    """Seat a user at a desk: with one's own seat there, or with the ward's recovery key."""

    desk_id = SelectField(_l("Desk"), coerce=int, validators=[DataRequired()])
    user_id = SelectField(_l("Person to seat"), coerce=int, validators=[DataRequired()])
    # Typed, never filled in: the person reads it out from his own account page, in front
    # of the one who seats him (SECURITY.md property 25).
    key_code = StringField(
        _l("The code of his key, as he reads it out from his account page"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    second_username = StringField(
        _l("Second member present: his username"),
        validators=[Optional(), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    second_password = PasswordField(
        _l("Second member present: his password"),
        validators=[Optional(), Length(max=256)],
        render_kw={"autocomplete": "off"},
    )
    second_code = StringField(
        _l("Second member present: the code his authenticator app shows"),
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    # A password field: a refused form never shows the key back.
    recovery_key = PasswordField(
        _l("The ward's recovery key (only for a desk you do not sit at)"),
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )


class RemoveSeatForm(Form):
    """Take a member's seat away (he left the post)."""

    desk_id = IntegerField(validators=[DataRequired()])
    user_id = IntegerField(validators=[DataRequired()])


class RotateForm(Form):
    """Renew a desk's key pair, with the ward's recovery key."""

    desk_id = IntegerField(validators=[DataRequired()])
    recovery_key = PasswordField(
        _l("The ward's recovery key"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )


class IssueCodeForm(Form):
    """Give an account waiting for it its activation code."""

    user_id = IntegerField(validators=[DataRequired()])

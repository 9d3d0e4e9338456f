"""Seating a member at a desk."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField
from wtforms.validators import DataRequired, Length, Optional

from incidents.forms import Form


class SeatForm(Form):
    """Seat a user at a desk: with one's own seat there, or with the ward's recovery key."""

    desk_id = SelectField(_l("Desk"), coerce=int, validators=[DataRequired()])
    user_id = SelectField(_l("Person to seat"), coerce=int, validators=[DataRequired()])
    # A password field: a refused form never shows the key back.
    recovery_key = PasswordField(
        _l("The ward's recovery key (only for a desk you do not sit at)"),
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )

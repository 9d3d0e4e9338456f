"""Account creation by the administrator."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Regexp

from incidents.access import STAFF_ROLES
from incidents.accounts.forms import email_field
from incidents.accounts.service import USERNAME_MAX
from incidents.forms import Form, as_choices
from incidents.reporting.forms import MultiCheckboxField
from incidents.vocab import ROLES


class NewUserForm(Form):
    """A new account of one role in the administrator's ward."""

    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(_l("Enter a username.")),
            Length(max=USERNAME_MAX),
            Regexp(
                r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*$",
                message=_l(
                    "A username has letters, digits, dots, dashes or underscores, without "
                    "accents, and starts with a letter or a digit."
                ),
            ),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    display_name = StringField(
        _l("Full name"), validators=[DataRequired(_l("Enter the name.")), Length(max=120)]
    )
    role = SelectField(_l("Role"), choices=as_choices(ROLES), validators=[DataRequired()])
    groups = MultiCheckboxField(
        _l("Residential groups led (group leaders only)"), coerce=int, choices=[]
    )
    email = email_field(_l("E-mail for notices (optional, staff only)"))


class RoleForm(Form):
    """Another staff role for a staff member."""

    role = SelectField(
        _l("New role"),
        choices=as_choices(choice for choice in ROLES if choice[0] in STAFF_ROLES),
        validators=[DataRequired()],
    )


class ActiveForm(Form):
    """The deactivate / reactivate button: "1" to activate, "0" to deactivate."""

    active = HiddenField(validators=[AnyOf(("0", "1"))])

"""Filters of the audit viewer (a GET form: it changes nothing)."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from incidents.forms import DATE_FORMATS, Form, as_choices
from incidents.vocab import AUDIT_ACTIONS


class AuditFilterForm(Form):
    """Who, what, which case, when."""

    class Meta:
        csrf = False

    actor = StringField(_l("Username"), validators=[Optional(), Length(max=64)])
    action = SelectField(
        _l("Action"),
        choices=as_choices((("", _l("All")), *AUDIT_ACTIONS)),
        validators=[Optional()],
    )
    case = StringField(_l("Case reference"), validators=[Optional(), Length(max=32)])
    first = DateField(_l("From"), format=DATE_FORMATS, validators=[Optional()])
    last = DateField(_l("To"), format=DATE_FORMATS, validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)])

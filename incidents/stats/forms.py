"""The period of the statistics page."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField
from wtforms.validators import InputRequired, ValidationError

from incidents.forms import DATE_FORMATS, Form


class PeriodForm(Form):
    """A date range, read from the query string (a GET form: it changes nothing)."""

    class Meta:
        csrf = False

    first = DateField(
        _l("From"), format=DATE_FORMATS, validators=[InputRequired(_l("Enter the first day."))]
    )
    last = DateField(
        _l("To"), format=DATE_FORMATS, validators=[InputRequired(_l("Enter the last day."))]
    )

    def validate_last(self, field):
        """The period must not end before it starts."""
        if self.first.data and field.data and field.data < self.first.data:
            raise ValidationError(_l("The last day must not be before the first day."))

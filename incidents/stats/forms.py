"""The period of the statistics page."""

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField
from wtforms.validators import InputRequired, ValidationError

from incidents.forms import DATE_FORMATS, Form

EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _within_bounds(field):
    if field.data and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(_l("Choose a date from 2000 to 2100."))


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

    def validate_first(self, field):
        """Keep the period within dates the ward's clock can hold."""
        _within_bounds(field)

    def validate_last(self, field):
        """The period must not end before it starts."""
        _within_bounds(field)
        if self.first.data and field.data and field.data < self.first.data:
            raise ValidationError(_l("The last day must not be before the first day."))

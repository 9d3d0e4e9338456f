"""The period (and, optionally, the residential group) of the statistics page."""

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField
from wtforms.validators import InputRequired, ValidationError

from incidents.forms import DATE_FORMATS, Form, as_choices
from incidents.timeutil import ward_today

EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _within_bounds(field):
    if field.data and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(_l("Choose a date from 2000 to 2100."))


class _Period(Form):
    """A date range: begun, within dates the ward's clock can hold, not ending before it
    starts."""

    first = DateField(
        _l("From"), format=DATE_FORMATS, validators=[InputRequired(_l("Enter the first day."))]
    )
    last = DateField(
        _l("To"), format=DATE_FORMATS, validators=[InputRequired(_l("Enter the last day."))]
    )

    def validate_first(self, field):
        """Keep the period within dates the ward's clock can hold, and begun."""
        _within_bounds(field)
        if field.data and field.data > ward_today():
            raise ValidationError(_l("This period has not begun yet: choose a day up to today."))

    def validate_last(self, field):
        """The period must not end before it starts."""
        _within_bounds(field)
        if self.first.data and field.data and field.data < self.first.data:
            raise ValidationError(_l("The last day must not be before the first day."))


class PeriodForm(_Period):
    """A date range, read from the query string (a GET form: it changes nothing).

    The view sets group.choices to the ward's groups ("" for all of them).
    """

    class Meta:
        csrf = False

    group = SelectField(_l("Residential group"), choices=[], validate_choice=False, default="")

    def validate_group(self, field):
        """Only a group of the ward (or all of them)."""
        if (field.data or "") not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("This residential group is not one of the ward's."))

    @property
    def group_id(self) -> int | None:
        """The chosen group's id, None for all groups."""
        return int(self.group.data) if self.group.data else None


class PublishForm(_Period):
    """Publishing a period's figures (a POST: it fixes the period for good), and the file
    to download them as."""

    format = SelectField(
        _l("File"),
        choices=as_choices((("xlsx", _l("Spreadsheet (XLSX)")), ("csv", "CSV"))),
        default="xlsx",
    )

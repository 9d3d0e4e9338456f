"""Triage forms: a status change, a clock met, a note, a route, the queue's filters, and
the case's actions (handler, contact bans, measures, services, the perpetrator's outcome)."""

from flask import request
from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SearchField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from incidents.cases.questions import TEXT_MAX_LENGTH
from incidents.cases.service import NOTE_MAX_LENGTH, WHY_MAX_LENGTH
from incidents.forms import DATE_FORMATS, CaseTextForm, Form, as_choices, yes_no_field
from incidents.timeutil import ward_today
from incidents.vocab import (
    CLOCKS,
    CLOSE_REASONS,
    CONTACT_BAN_DECISIONS,
    CONTACT_BAN_REQUESTERS,
    KINDS,
    PROTECTION_MEASURES,
    STATUSES,
    SUPPORT_SERVICES,
    URGENCIES,
)


def _why_field(label, id=None):
    # id: the status and clock forms share the case page and carry no prefix; two fields
    # with one id would leave a label pointing at the wrong field.
    return TextAreaField(
        label,
        id=id,
        validators=[Optional(), Length(max=WHY_MAX_LENGTH)],
        render_kw={"rows": 3, "autocomplete": "off", "maxlength": WHY_MAX_LENGTH},
    )


class StatusForm(CaseTextForm):
    """Move the case to another status, saying why; closing needs a reason from the list."""

    status = SelectField(
        _l("New status"), choices=as_choices(STATUSES), validators=[DataRequired()]
    )
    why = _why_field(_l("Why (kept encrypted; only the desks see it)"), id="status-why")
    close_reason = SelectField(
        _l("Reason for closing"),
        choices=as_choices((("", _l("Not closing")), *CLOSE_REASONS)),
        validators=[Optional()],
    )
    merge_into = SearchField(
        _l("For a duplicate: the reference of the case it joins"),
        validators=[Optional(), Length(max=32)],
        render_kw={"autocomplete": "off"},
    )
    # The version of the case the page showed: a change made since is a conflict.
    version = HiddenField(validators=[DataRequired()])


class ClockForm(CaseTextForm):
    """Record that the act a clock asks for was done."""

    clock = SelectField(_l("Which"), choices=as_choices(CLOCKS), validators=[DataRequired()])
    why = _why_field(_l("What was done (kept encrypted)"), id="clock-why")


class NoteForm(CaseTextForm):
    """A note for the desks; it is stored encrypted."""

    text = TextAreaField(
        _l("Note"),
        validators=[
            DataRequired(_l("Write the note first.")),
            Length(max=NOTE_MAX_LENGTH),
        ],
        render_kw={"rows": 4, "autocomplete": "off", "maxlength": NOTE_MAX_LENGTH},
    )


class RouteForm(CaseTextForm):
    """Route the case to one more desk of the ward."""

    desk_id = SelectField(_l("Also send this case to"), coerce=int, validators=[DataRequired()])


class QueueFilterForm(Form):
    """The queue's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta(Form.Meta):
        csrf = False

        def wrap_formdata(self, form, formdata):
            return request.args

    reference = SearchField(
        _l("Case reference"),
        validators=[
            Optional(),
            Length(max=32),
            # No control or direction character: a NUL byte would reach the database
            # (PostgreSQL refuses it with an error), an override would reorder the page.
            Regexp(
                r"^[^\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]*$",
                message=_l("A reference has letters, digits and dashes, such as QT-2026-0001."),
            ),
        ],
        render_kw={"autocomplete": "off"},
    )
    status = SelectField(
        _l("Status"),
        choices=as_choices((("", _l("Open cases")), ("all", _l("All")), *STATUSES)),
        validators=[Optional()],
    )
    kind = SelectField(
        _l("Kind"), choices=as_choices((("", _l("All")), *KINDS)), validators=[Optional()]
    )
    urgency = SelectField(
        _l("Urgency"), choices=as_choices((("", _l("All")), *URGENCIES)), validators=[Optional()]
    )
    group = SelectField(_l("Residential group"), validators=[Optional()])
    handler = SelectField(_l("Handler"), validators=[Optional()])
    overdue = SelectField(
        _l("Clocks"),
        choices=as_choices((("", _l("All")), ("1", _l("Overdue only")))),
        validators=[Optional()],
    )
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)])


class QuestionForm(CaseTextForm):
    """A question to the group leader who filed the case; it is stored encrypted."""

    text = TextAreaField(
        _l("Your question to the group leader"),
        description=_l(
            "He sees only this text, signed “the ward staff”: not your name, not the notes."
        ),
        validators=[
            DataRequired(_l("Write the question first.")),
            Length(max=TEXT_MAX_LENGTH),
        ],
        render_kw={"rows": 3, "autocomplete": "off", "maxlength": TEXT_MAX_LENGTH},
    )


# A browser's picker sends yyyy-mm-ddTHH:MM; on a phone without one people type the rest.
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]


def _optional_int(value):
    """A member's id; the empty "choose" placeholder stays None (InputRequired refuses it)."""
    return int(value) if value not in (None, "") else None


def _ward_time_field(label):
    return DateTimeLocalField(
        label,
        format=DATETIME_FORMATS,
        validators=[Optional()],
        description=_l("Ward time, as dd/mm/yyyy hh:mm."),
    )


def _day_field(label):
    return DateField(
        label,
        format=DATE_FORMATS,
        default=ward_today,
        validators=[InputRequired(_l("Enter the date, as dd/mm/yyyy."))],
    )


class _ActionForm(CaseTextForm):
    """A form of the case page's actions section. Its fields' names and ids carry its
    prefix: the page holds many forms, and a label must point at its own field."""

    PREFIX = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.PREFIX)
        super().__init__(*args, **kwargs)


class HandlerForm(_ActionForm):
    """The chairman assigns who handles the case."""

    PREFIX = "handler"

    handler_id = SelectField(
        _l("Handler"),
        coerce=_optional_int,
        validators=[InputRequired(_l("Choose the handler from the list."))],
    )
    # The version of the case the page showed: a change made since is a conflict.
    version = HiddenField(validators=[DataRequired()])


class ContactBanRequestForm(_ActionForm):
    """A request for a contact ban: who asked, and when (it starts the 12-hour clock)."""

    PREFIX = "ban_request"

    requester = SelectField(
        _l("Who asked for the ban"),
        choices=as_choices(CONTACT_BAN_REQUESTERS),
        validators=[DataRequired()],
    )
    requested_at = DateTimeLocalField(
        _l("When it was asked"),
        format=DATETIME_FORMATS,
        validators=[InputRequired(_l("Enter when, as dd/mm/yyyy hh:mm."))],
        description=_l("Ward time, as dd/mm/yyyy hh:mm."),
    )


class ContactBanDecisionForm(_ActionForm):
    """The chairman's decision on the waiting request."""

    PREFIX = "ban"

    # The request the page showed: if another one waits now, the decision is a conflict.
    request_id = HiddenField(validators=[DataRequired()])
    decision = RadioField(
        _l("Decision"),
        choices=as_choices(CONTACT_BAN_DECISIONS),
        validators=[InputRequired(_l("Grant or refuse the ban."))],
    )
    starts_at = _ward_time_field(_l("The ban starts"))
    ends_at = _ward_time_field(_l("The ban ends"))
    why = _why_field(_l("Reason (needed to refuse; kept encrypted)"))


class MeasureForm(_ActionForm):
    """A protection measure of Law 13/2022 Art. 22 and the day it was applied."""

    PREFIX = "measure"

    measure = SelectField(
        _l("Protection measure"),
        choices=as_choices(PROTECTION_MEASURES),
        validators=[DataRequired()],
    )
    applied_on = _day_field(_l("Date applied"))


class ServiceForm(_ActionForm):
    """A support service the victim received and the day."""

    PREFIX = "service"

    service = SelectField(
        _l("Support service"), choices=as_choices(SUPPORT_SERVICES), validators=[DataRequired()]
    )
    received_on = _day_field(_l("Date received"))


class OutcomeForm(_ActionForm):
    """Whether the person who caused the harm was counselled and is prosecuted."""

    PREFIX = "outcome"

    counselled = yes_no_field(
        _l("Was the person who caused the harm counselled?"),
    )
    prosecuted = yes_no_field(
        _l("Is the person who caused the harm being criminally prosecuted?"),
    )
    # The version of the outcome the page showed ("0": none yet).
    version = HiddenField(validators=[InputRequired()])

"""Triage forms: a status change, a clock met, a note, a route, the queue's filters."""

from flask import request
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SearchField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from incidents.cases.questions import TEXT_MAX_LENGTH
from incidents.cases.service import NOTE_MAX_LENGTH, WHY_MAX_LENGTH
from incidents.forms import Form, as_choices
from incidents.vocab import CLOCKS, CLOSE_REASONS, KINDS, STATUSES, URGENCIES


def _why_field(label):
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=WHY_MAX_LENGTH)],
        render_kw={"rows": 3, "autocomplete": "off", "maxlength": WHY_MAX_LENGTH},
    )


class StatusForm(Form):
    """Move the case to another status, saying why; closing needs a reason from the list."""

    status = SelectField(
        _l("New status"), choices=as_choices(STATUSES), validators=[DataRequired()]
    )
    why = _why_field(_l("Why (kept encrypted; only the desks see it)"))
    close_reason = SelectField(
        _l("Reason for closing"),
        choices=as_choices((("", _l("Not closing")), *CLOSE_REASONS)),
        validators=[Optional()],
    )
    merge_into = SearchField(
        _l("For a duplicate: the reference of the case it joins"),
        validators=[Optional(), Length(max=32)],
        render_kw={"autocomplete": "off", "placeholder": "QT-2026-0001"},
    )
    # The version of the case the page showed: a change made since is a conflict.
    version = HiddenField(validators=[DataRequired()])


class ClockForm(Form):
    """Record that the act a clock asks for was done."""

    clock = SelectField(choices=as_choices(CLOCKS), validators=[DataRequired()])
    why = _why_field(_l("What was done (kept encrypted)"))


class NoteForm(Form):
    """A note for the desks; it is stored encrypted."""

    text = TextAreaField(
        _l("Note"),
        validators=[
            DataRequired(_l("Write the note first.")),
            Length(max=NOTE_MAX_LENGTH),
        ],
        render_kw={"rows": 4, "autocomplete": "off", "maxlength": NOTE_MAX_LENGTH},
    )


class RouteForm(Form):
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
        validators=[Optional(), Length(max=32)],
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


class QuestionForm(Form):
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

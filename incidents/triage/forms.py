"""Triage forms: a status change and a note."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from incidents.cases.questions import TEXT_MAX_LENGTH
from incidents.cases.service import NOTE_MAX_LENGTH
from incidents.forms import Form, as_choices
from incidents.vocab import CLOSE_REASONS, STATUSES


class StatusForm(Form):
    """Move the case to another status; closing needs a reason."""

    status = SelectField(
        _l("New status"), choices=as_choices(STATUSES), validators=[DataRequired()]
    )
    close_reason = SelectField(
        _l("Reason for closing"),
        choices=as_choices((("", _l("Not closing")), *CLOSE_REASONS)),
        validators=[Optional()],
    )


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

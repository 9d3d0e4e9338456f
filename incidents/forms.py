"""The forms' common base, shared fields and helpers."""

import re
from pathlib import Path

from flask import request
from flask_babel import Domain
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto, _is_submitted
from wtforms import PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

# A date picker sends yyyy-mm-dd; on a phone without one people type dd/mm/yyyy.
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]

# WTForms ships no Vietnamese: its own messages ("Not a valid choice.") come from our
# catalog of its "wtforms" domain, in the visitor's language like every other string.
_WTFORMS_MESSAGES = Domain(
    translation_directories=[str(Path(__file__).parent / "translations")], domain="wtforms"
)


class _WTFormsTranslations:
    """The gettext interface WTForms expects, answered from our wtforms catalogs."""

    # The raw catalog, not Domain.gettext: WTForms fills in %(max)d and the like itself.
    def gettext(self, string):
        return _WTFORMS_MESSAGES.get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return _WTFORMS_MESSAGES.get_translations().ungettext(singular, plural, n)


class Form(FlaskForm):
    """Base of every form here: CSRF from Flask-WTF, messages in the visitor's language."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return _WTFormsTranslations()

        def wrap_formdata(self, form, formdata):
            # Form fields only: Flask-WTF would also read uploaded files and JSON bodies
            # into text fields, where a number or a file crashes a validator (a 500), and
            # a JSON sign-in would slip past the throttle, which reads the form.
            if formdata is _Auto:
                return request.form if _is_submitted() else None
            return formdata

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A page holds many forms, each with its hidden token: an id on it would repeat.
        token = getattr(self, "csrf_token", None)
        if token is not None:
            token.id = False


class CaseTextForm(Form):
    """A form whose texts go into a case (a report, a note, a question, a referral): each
    loses what could disguise it on a page or a print (bidi overrides, control characters).
    A password is kept exactly as typed; names that identify (usernames) are refused by
    their own validators instead, elsewhere."""

    class Meta(Form.Meta):
        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
                filters = (*unbound_field.kwargs.get("filters", ()), without_hidden_characters)
                options = {**options, "filters": filters}
            return unbound_field.bind(form=form, **options)


class EmptyForm(Form):
    """A POST-only button: no fields, but a CSRF token."""


YES_NO = (("yes", _l("Yes")), ("no", _l("No")))


def yes_no_field(label, **kwargs) -> RadioField:
    """A question answered yes or no, and not left unanswered."""
    return RadioField(
        label,
        choices=as_choices(YES_NO),
        validators=[InputRequired(_l("Answer yes or no."))],
        **kwargs,
    )


# C0 controls but tab and line breaks, DEL and the C1 controls, the bidi marks,
# embeddings, overrides and isolates (which reorder how the text around them is shown),
# the zero-width space, the Unicode line separators and the BOM.
_HIDDEN_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f"
    "\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)


def without_hidden_characters(value):
    """A typed text without the characters that hide or reorder what is shown."""
    return _HIDDEN_CHARACTERS.sub("", value) if isinstance(value, str) else value


def is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts "²", which int() cannot read."""
    return text.isascii() and text.isdigit()


def as_choices(pairs) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs, such as the vocabulary lists."""
    return [SelectChoice(value, label) for value, label in pairs]

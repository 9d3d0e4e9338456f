"""Forms shared by several features."""

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice


class EmptyForm(FlaskForm):
    """A POST-only button: no fields, but a CSRF token."""


def as_choices(pairs) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs, such as the vocabulary lists."""
    return [SelectChoice(value, label) for value, label in pairs]

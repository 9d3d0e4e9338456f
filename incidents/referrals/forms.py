"""Referring a case to a partner, and a partner's answer."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from incidents.cases.referrals import MESSAGE_MAX_LENGTH, NOTE_MAX_LENGTH, WHY_MAX_LENGTH
from incidents.forms import CaseTextForm, as_choices
from incidents.reporting.forms import MultiCheckboxField
from incidents.vocab import CONSENT_GIVERS, CONSENT_MEANS, REFERRAL_BASES, REFERRAL_SHARES


def _text(label, maximum, description=None, validators=()):
    return TextAreaField(
        label,
        description=description,
        validators=[*validators, Length(max=maximum)],
        render_kw={"rows": 3, "autocomplete": "off", "maxlength": maximum},
    )


class ReferForm(CaseTextForm):
    """Refer the case to a partner desk: what to share, and the consent (or the emergency)."""

    desk_id = SelectField(_l("Refer to"), coerce=int, validators=[DataRequired()])
    fields = MultiCheckboxField(
        _l("What the partner may see"),
        choices=as_choices(REFERRAL_SHARES),
        description=_l(
            "Share only what the partner needs. Unticked, the partner sees only your message."
        ),
    )
    message = _text(
        _l("Message for the partner"),
        MESSAGE_MAX_LENGTH,
        _l("What you ask of the partner. The partner sees it, nothing else of the case."),
        [DataRequired(_l("Write what you ask of the partner."))],
    )
    basis = RadioField(
        _l("On what basis is this shared?"),
        choices=as_choices(REFERRAL_BASES),
        # An empty or unknown basis gets one message, the service's refusal (not two).
        validate_choice=False,
        validators=[
            DataRequired(
                _l(
                    "Nothing was shared: record the consent of the victim (or her parent or "
                    "guardian), or the emergency, first."
                )
            )
        ],
    )
    consent_by = SelectField(
        _l("Consent given by"),
        choices=as_choices((("", _l("Choose")), *CONSENT_GIVERS)),
        validators=[Optional()],
    )
    consent_how = SelectField(
        _l("Consent given"),
        choices=as_choices((("", _l("Choose")), *CONSENT_MEANS)),
        validators=[Optional()],
    )
    why = _text(
        _l("For an emergency: the danger to life or health (kept encrypted; only the desks)"),
        WHY_MAX_LENGTH,
        validators=[Optional()],
    )


class AnswerForm(CaseTextForm):
    """A partner's answer to a referral, with a note the referring desks read."""

    state = SelectField(_l("Your answer"), validators=[DataRequired()])
    note = _text(
        _l("Note for the ward (kept encrypted)"),
        NOTE_MAX_LENGTH,
        _l("Required when you decline: say why."),
        [Optional()],
    )
    # The state the page showed: an answer given meanwhile is not overwritten.
    seen = HiddenField(validators=[DataRequired()])

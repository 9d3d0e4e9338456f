"""The report form: grouped questions in the vocabulary of DOMAIN.md."""

import re

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from incidents.cases.models import SEALED_FIELDS
from incidents.cases.questions import TEXT_MAX_LENGTH
from incidents.cases.service import ReportData
from incidents.forms import DATE_FORMATS, YES_NO, Form, as_choices, yes_no_field
from incidents.timeutil import ward_today
from incidents.vocab import (
    ACTS,
    CHANNELS,
    CHILD_AGE_BANDS,
    CHILD_CAREGIVERS,
    GBVIMS_QUESTIONS,
    HARM_FORMS,
    KINDS,
    LEGAL_GROUNDS,
    PERPETRATOR_AGE_BANDS,
    RELATIONSHIPS,
    SEXES,
    SOURCES,
    TRAFFICKING_INDICATORS,
    VICTIM_AGE_BANDS,
    VICTIM_CIRCUMSTANCES,
)

# A select starts on this empty choice: a skipped question must not file the first answer.
CHOOSE = ("", _l("— Choose —"))
NAME_MAX = 200
TEXT_MAX = 4000


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes: works without JavaScript and with large touch targets."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _not_in_future(form, field):
    if field.data and field.data > ward_today():
        raise ValidationError(_l("The date cannot be in the future."))


def _birth_year(form, field):
    value = (field.data or "").strip()
    if not value:
        return
    # ASCII digits only: str.isdigit() also accepts "²⁰²⁰", which int() cannot read.
    if not re.fullmatch(r"[0-9]{4}", value) or not 1900 <= int(value) <= ward_today().year:
        raise ValidationError(_l("Enter a year such as 1990, or leave it empty."))


def _optional_int(value):
    """Coerce a group id; the empty placeholder stays None (and InputRequired refuses it)."""
    return None if value in ("", None) else int(value)


def _text(label, max_length=NAME_MAX, description=None):
    return StringField(
        label,
        validators=[Optional(), Length(max=max_length)],
        description=description,
        render_kw={"autocomplete": "off", "maxlength": max_length},
    )


def _long_text(label, description=None):
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=TEXT_MAX)],
        description=description,
        render_kw={"autocomplete": "off", "maxlength": TEXT_MAX, "rows": 5},
    )


class ReportForm(Form):
    """What a group leader tells the ward about one incident and one victim."""

    # 1. The incident
    group_id = SelectField(
        _l("Residential group"),
        coerce=_optional_int,
        validators=[InputRequired(_l("Choose a group."))],
    )
    kinds = MultiCheckboxField(
        _l("What kind of case is it?"),
        choices=as_choices(KINDS),
        validators=[DataRequired(_l("Choose at least one kind of case."))],
        description=_l("Choose all that apply. A child is a person under 16."),
    )
    immediate_danger = yes_no_field(
        _l("Is someone in danger right now?"),
        description=_l("If yes, also call the ward police at once."),
    )
    incident_date = DateField(
        _l("When did it happen?"),
        format=DATE_FORMATS,
        validators=[InputRequired(_l("Enter the date, as dd/mm/yyyy.")), _not_in_future],
        description=_l("The day is enough; if you are not sure, the closest day."),
    )
    harm_forms = MultiCheckboxField(
        _l("Forms of harm"),
        choices=as_choices(HARM_FORMS),
        description=_l(
            "Physical: hurting the body. Psychological: threats, insults, "
            "isolation. Sexual: any unwanted sexual act. Economic: taking money "
            "or property, control of income."
        ),
    )
    gbvims_answers = MultiCheckboxField(_l("What happened?"), choices=as_choices(GBVIMS_QUESTIONS))
    acts = MultiCheckboxField(
        _l("Acts of domestic violence (Law 13/2022, Article 3)"),
        choices=as_choices(ACTS),
        description=_l("Only for violence within the family."),
    )
    narrative = _long_text(
        _l("What happened, in your words"),
        description=_l("Where, how, how often. Do not guess; write what you were told."),
    )

    # 2. How the leader learned of it
    channel = RadioField(
        _l("How did the report reach you?"),
        choices=as_choices(CHANNELS),
        validators=[InputRequired(_l("Choose how the report reached you."))],
    )
    source = RadioField(
        _l("Who told you?"),
        choices=as_choices(SOURCES),
        validators=[InputRequired(_l("Choose who told you."))],
    )
    witnesses = _long_text(_l("Witnesses"), description=_l("Names and how to reach them."))
    reporter_contact = _text(
        _l("How can the ward reach you about this case?"),
        description=_l("Your phone number or another safe way. It is kept secret."),
    )

    # 3. The victim
    victim_name = _text(_l("Victim's name"))
    victim_birth_year = StringField(
        _l("Victim's year of birth"),
        validators=[Optional(), _birth_year],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "maxlength": 4},
    )
    victim_sex = RadioField(
        _l("Victim's sex"),
        choices=as_choices(SEXES),
        validators=[InputRequired(_l("Choose the sex."))],
    )
    victim_age_band = SelectField(
        _l("Victim's age"),
        choices=as_choices((CHOOSE, *VICTIM_AGE_BANDS)),
        validators=[InputRequired(_l("Choose an age group."))],
    )
    victim_circumstances = MultiCheckboxField(
        _l("The victim is"), choices=as_choices(VICTIM_CIRCUMSTANCES)
    )
    victim_address = _text(_l("Victim's address"))
    victim_phone = _text(_l("Victim's phone"), max_length=40)

    # Asked only when they apply (the page shows them only then, with JavaScript).
    trafficking_indicators = MultiCheckboxField(
        _l("Signs of trafficking"),
        choices=as_choices(TRAFFICKING_INDICATORS),
        description=_l("Choose what you were told. One sign is enough to report."),
    )
    child_serious_risk = RadioField(
        _l("Is the child at serious risk now?"),
        choices=as_choices((*YES_NO, ("unknown", _l("Not known")))),
        validators=[Optional()],
        description=_l(
            "Hurt, left alone, still with the person who caused the harm, or threatened. "
            "If yes, the ward must protect the child within 12 hours: call the police too."
        ),
    )
    child_caregiver = RadioField(
        _l("Who looks after the child now?"),
        choices=as_choices(CHILD_CAREGIVERS),
        validators=[Optional()],
    )

    # 4. The person who caused the harm
    perpetrator_name = _text(_l("Name of the person who caused the harm"))
    perpetrator_relationship = SelectField(
        _l("Relationship to the victim"),
        choices=as_choices((CHOOSE, *RELATIONSHIPS)),
        validators=[InputRequired(_l("Choose the relationship."))],
    )
    perpetrator_sex = RadioField(
        _l("Sex of the person who caused the harm"),
        choices=as_choices(SEXES),
        validators=[InputRequired(_l("Choose the sex."))],
    )
    perpetrator_age_band = SelectField(
        _l("Age of the person who caused the harm"),
        choices=as_choices((CHOOSE, *PERPETRATOR_AGE_BANDS)),
        validators=[InputRequired(_l("Choose an age group."))],
    )
    perpetrator_details = _long_text(
        _l("More about the person who caused the harm"),
        description=_l("Address, work, weapons, earlier violence."),
    )

    # 5. Consent (GBVIMS): asked of the victim, per purpose
    consent_referral = yes_no_field(
        _l("Does the victim agree that the police and support services are told?"),
    )
    consent_statistics = yes_no_field(
        _l("Does the victim agree to be counted, without name, in the ward's statistics?"),
    )
    legal_ground = SelectField(
        _l("If the victim does not agree: the legal ground for reporting anyway"),
        choices=as_choices((("", _l("None")), *LEGAL_GROUNDS)),
        validators=[Optional()],
        description=_l(
            "The law allows reporting without consent when life is in danger, "
            "the victim is a child, or there are signs of a crime."
        ),
    )

    # Not answers: the form's one-time token, and the draft it continues (if any).
    submission_token = HiddenField()
    draft_id = HiddenField()

    NOT_ANSWERS = frozenset({"csrf_token", "submission_token", "draft_id"})

    def answers_as_typed(self, formdata) -> dict:
        """Every answer as sent, valid or not, as a draft keeps it."""
        answers = {}
        for field in self:
            if field.name in self.NOT_ANSWERS:
                continue
            if isinstance(field, SelectMultipleField):
                answers[field.name] = [str(value) for value in formdata.getlist(field.name)]
            else:
                answers[field.name] = str(formdata.get(field.name, ""))
        return answers

    @staticmethod
    def formdata_of(answers: dict) -> MultiDict:
        """A draft's answers as the form would have posted them."""
        pairs = []
        for name, value in answers.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append((name, item))
        return MultiDict(pairs)

    def __init__(self, leader, *args, **kwargs):
        super().__init__(*args, **kwargs)
        groups = [(group.id, group.name) for group in leader.groups]
        if len(groups) == 1:
            self.group_id.choices = as_choices(groups)
            if self.group_id.data is None:
                self.group_id.data = groups[0][0]
        else:
            self.group_id.choices = as_choices([CHOOSE, *groups])

    def validate(self, extra_validators=None) -> bool:
        """The fields' own checks, and for a child victim an answer on the risk ("not
        known" will do): an optional field's inline check would never run when empty."""
        valid = super().validate(extra_validators)
        if self.victim_age_band.data in CHILD_AGE_BANDS and not self.child_serious_risk.data:
            self.child_serious_risk.errors = [
                *self.child_serious_risk.errors,
                _l("For a child, answer whether the child is at risk now."),
            ]
            valid = False
        return valid

    def validate_legal_ground(self, field):
        """Without consent to referral, the report needs the legal ground used."""
        if self.consent_referral.data == "no" and not field.data:
            raise ValidationError(
                _l("Without the victim's consent, choose the legal ground for reporting.")
            )

    def to_report(self) -> ReportData:
        """The validated answers as the service's plain values."""
        return ReportData(
            group_id=self.group_id.data,
            kinds=list(self.kinds.data),
            harm_forms=list(self.harm_forms.data or ()),
            acts=list(self.acts.data or ()),
            gbvims_answers=list(self.gbvims_answers.data or ()),
            immediate_danger=self.immediate_danger.data == "yes",
            victim_sex=self.victim_sex.data,
            victim_age_band=self.victim_age_band.data,
            victim_circumstances=list(self.victim_circumstances.data or ()),
            perpetrator_relationship=self.perpetrator_relationship.data,
            perpetrator_sex=self.perpetrator_sex.data,
            perpetrator_age_band=self.perpetrator_age_band.data,
            channel=self.channel.data,
            source=self.source.data,
            consent_referral=self.consent_referral.data == "yes",
            consent_statistics=self.consent_statistics.data == "yes",
            legal_ground=self.legal_ground.data or None,
            incident_date=self.incident_date.data,
            trafficking_indicators=list(self.trafficking_indicators.data or ()),
            child_serious_risk={"yes": True, "no": False}.get(self.child_serious_risk.data),
            child_caregiver=self.child_caregiver.data or None,
            sealed={
                name: getattr(self, name).data.strip()
                for name in SEALED_FIELDS
                if (getattr(self, name).data or "").strip()
            },
        )


class AnswerForm(Form):
    """The group leader's answer to a question from the ward staff; stored encrypted."""

    text = TextAreaField(
        _l("Your answer"),
        validators=[
            DataRequired(_l("Write your answer first.")),
            Length(max=TEXT_MAX_LENGTH),
        ],
        render_kw={"rows": 4, "autocomplete": "off", "maxlength": TEXT_MAX_LENGTH},
    )

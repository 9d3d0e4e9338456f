"""The report forms: a group leader's short one, and the one a desk member records with."""

import re

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
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

from incidents.access import DESK_ROLES
from incidents.cases.models import SEALED_FIELDS
from incidents.cases.questions import TEXT_MAX_LENGTH
from incidents.cases.service import ReportData, groups_for
from incidents.forms import DATE_FORMATS, YES_NO, CaseTextForm, as_choices, yes_no_field
from incidents.timeutil import ward_today
from incidents.vocab import (
    ACTS,
    AGE_BANDS,
    CHANNELS,
    CHILD_AGE_BANDS,
    CHILD_CAREGIVERS,
    CONSENTS,
    GBV_TYPES,
    HARM_FORMS_IN_PLAIN_WORDS,
    KINDS,
    LEADER_SOURCES,
    RECEIVING_POINTS,
    RELATIONSHIPS,
    SEXES,
    SOURCES,
    TRAFFICKING_INDICATORS,
    VICTIM_CIRCUMSTANCES,
)
from incidents.vocab import RECORDED_RECEIVING_POINTS as RECORDED

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


def _long_text(label, description=None, rows=5):
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=TEXT_MAX)],
        description=description,
        render_kw={"autocomplete": "off", "maxlength": TEXT_MAX, "rows": rows},
    )


class ReportForm(CaseTextForm):
    """A report as a group leader or a partner gives it: the minimal facts for a safe
    referral, and what identifies people only if he knows it.

    The GBVIMS classification and the detailed coded facts are the desks' (GBVIMS reserves
    them for the person providing services): they are not asked here.
    """

    # 1. What happened
    group_id = SelectField(
        _l("Residential group"),
        coerce=_optional_int,
        validators=[InputRequired(_l("Choose a group."))],
    )
    kinds = MultiCheckboxField(
        _l("What kind of case do you think it is?"),
        choices=as_choices(KINDS),
        validators=[DataRequired(_l("Choose at least one kind of case."))],
        description=_l("A child is under 16."),
    )
    harm_forms = MultiCheckboxField(
        _l("What was done to the victim?"),
        choices=as_choices(HARM_FORMS_IN_PLAIN_WORDS),
    )
    immediate_danger = yes_no_field(
        _l("Is someone in danger now?"),
        description=_l("If yes, call 113 at once too."),
    )
    signs_of_crime = BooleanField(
        _l("Signs of a crime (serious injury, rape, someone held or sold)"),
    )
    incident_date = DateField(
        _l("The day it happened (the closest will do)"),
        format=DATE_FORMATS,
        validators=[InputRequired(_l("Enter the date, as dd/mm/yyyy.")), _not_in_future],
    )
    narrative = _long_text(
        _l("What happened, as you know it"),
        description=_l("Where, what, how often."),
        rows=3,
    )

    # 2. Who is at risk
    victim_sex = RadioField(
        _l("The victim is"),
        choices=as_choices(SEXES),
        validators=[InputRequired(_l("Choose the sex."))],
    )
    victim_age_band = SelectField(
        _l("Victim's age"),
        choices=as_choices((CHOOSE, *AGE_BANDS)),
        validators=[InputRequired(_l("Choose an age group."))],
    )
    # Asked only when they apply (the page shows them only then, with JavaScript).
    child_serious_risk = RadioField(
        _l("Is the child at serious risk now?"),
        choices=as_choices((*YES_NO, ("unknown", _l("Not known")))),
        validators=[Optional()],
        description=_l("Hurt, left alone, or threatened."),
    )
    child_caregiver = RadioField(
        _l("Who looks after the child now?"),
        choices=as_choices(CHILD_CAREGIVERS),
        validators=[Optional()],
        description=_l(
            "If the child is at serious risk or lives with the person who caused the harm, "
            "the ward must protect the child within 12 hours: call the police too."
        ),
    )
    trafficking_indicators = MultiCheckboxField(
        _l("Signs of trafficking"),
        choices=as_choices(TRAFFICKING_INDICATORS),
        description=_l("Choose what you were told. One sign is enough to report."),
    )

    # 3. How he knows, and what the victim said about sharing
    source = RadioField(
        _l("How do you know?"),
        choices=as_choices(LEADER_SOURCES),
        validators=[InputRequired(_l("Choose how you know."))],
    )
    consent = RadioField(
        _l("Was the victim asked whether what happened may be shared?"),
        choices=as_choices(CONSENTS),
        validators=[InputRequired(_l("Choose one answer: “not asked yet” will do."))],
        description=_l("With support services. The report goes to the ward whatever she said."),
    )

    # 4. Only if he knows (all optional, folded away on the page)
    victim_name = _text(_l("Victim's name"))
    victim_birth_year = StringField(
        _l("Victim's year of birth"),
        validators=[Optional(), _birth_year],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "maxlength": 4},
    )
    victim_address = _text(_l("Victim's address"))
    victim_phone = _text(_l("Victim's phone"), max_length=40)
    victim_circumstances = MultiCheckboxField(
        _l("The victim is also"), choices=as_choices(VICTIM_CIRCUMSTANCES)
    )
    perpetrator_name = _text(_l("Name of the person who caused the harm"))
    perpetrator_birth_year = StringField(
        _l("His or her year of birth"),
        validators=[Optional(), _birth_year],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "maxlength": 4},
    )
    perpetrator_relationship = SelectField(
        _l("What is that person to the victim?"),
        choices=as_choices(RELATIONSHIPS),
        default="unknown",
        description=_l("From the victim: her husband, her father, his son…"),
    )
    perpetrator_sex = RadioField(
        _l("Sex of the person who caused the harm"),
        choices=as_choices(SEXES),
        default="unknown",
    )
    perpetrator_age_band = SelectField(
        _l("Age of the person who caused the harm"),
        choices=as_choices(AGE_BANDS),
        default="unknown",
    )
    perpetrator_details = _long_text(
        _l("More about the person who caused the harm"),
        description=_l("Address, work, weapons, earlier violence."),
    )
    channel = RadioField(
        _l("How did it reach you?"),
        choices=as_choices(CHANNELS),
        validators=[Optional()],
    )
    witnesses = _long_text(_l("Witnesses"), description=_l("Names and how to reach them."))
    reporter_contact = _text(
        _l("How can the ward reach you about this case?"),
        description=_l("Your phone number or another safe way. It is kept secret."),
    )

    # Not answers: the form's one-time token, and the draft it continues (if any).
    submission_token = HiddenField()
    draft_id = HiddenField()
    # Another victim of the event of this case (its id), to be linked to it.
    same_event = HiddenField()

    NOT_ANSWERS = frozenset({"csrf_token", "submission_token", "draft_id", "same_event"})
    # What a desk member's form opens with (RecordForm); a leader's has none of it.
    RECEIPT: tuple[str, ...] = ()
    # The optional details, folded away on the page; open when one of them has an answer
    # or an error, so that nothing the leader gave is out of sight.
    DETAILS = (
        "victim_name",
        "victim_birth_year",
        "victim_address",
        "victim_phone",
        "victim_circumstances",
        "perpetrator_name",
        "perpetrator_birth_year",
        "perpetrator_relationship",
        "perpetrator_sex",
        "perpetrator_age_band",
        "perpetrator_details",
        "channel",
        "witnesses",
        "reporter_contact",
    )

    def __init__(self, filer, *args, **kwargs):
        super().__init__(*args, **kwargs)
        groups = [(group.id, group.name) for group in groups_for(filer)]
        if len(groups) == 1:
            self.group_id.choices = as_choices(groups)
            if self.group_id.data is None:
                self.group_id.data = groups[0][0]
        else:
            self.group_id.choices = as_choices([CHOOSE, *groups])
        if self.incident_date.raw_data is None and self.incident_date.data is None:
            self.incident_date.data = ward_today()

    @property
    def details_given(self) -> bool:
        """Whether one of the folded-away details has an answer (other than "unknown")."""
        return any(
            getattr(self, name).errors
            or getattr(self, name).data not in (None, "", [], "unknown", False)
            for name in self.DETAILS
        )

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

    def validate(self, extra_validators=None) -> bool:
        """The fields' own checks, and the rules across fields: abuse of a child is of a
        child (under 16); for a child, an answer on the risk ("not known" will do)."""
        valid = super().validate(extra_validators)
        band = self.victim_age_band.data
        if "child_abuse" in (self.kinds.data or ()) and band and band not in CHILD_AGE_BANDS:
            self.victim_age_band.errors = [
                *self.victim_age_band.errors,
                _l(
                    "Abuse of a child is of a child under 16: choose “Under 16”, or for an "
                    "older victim another kind of case (the police are told all the same)."
                ),
            ]
            valid = False
        if band in CHILD_AGE_BANDS and not self.child_serious_risk.data:
            self.child_serious_risk.errors = [
                *self.child_serious_risk.errors,
                _l("For a child, answer whether the child is at risk now."),
            ]
            valid = False
        return valid

    def to_report(self) -> ReportData:
        """The validated answers as the service's plain values."""
        return ReportData(
            group_id=self.group_id.data,
            kinds=list(self.kinds.data),
            harm_forms=list(self.harm_forms.data or ()),
            immediate_danger=self.immediate_danger.data == "yes",
            signs_of_crime=bool(self.signs_of_crime.data),
            victim_sex=self.victim_sex.data,
            victim_age_band=self.victim_age_band.data,
            victim_circumstances=list(self.victim_circumstances.data or ()),
            perpetrator_relationship=self.perpetrator_relationship.data or "unknown",
            perpetrator_sex=self.perpetrator_sex.data or "unknown",
            perpetrator_age_band=self.perpetrator_age_band.data or "unknown",
            channel=self.channel.data or None,
            source=self.source.data,
            consent=self.consent.data,
            incident_date=self.incident_date.data,
            trafficking_indicators=list(self.trafficking_indicators.data or ()),
            child_serious_risk={"yes": True, "no": False}.get(self.child_serious_risk.data),
            child_caregiver=self.child_caregiver.data or None,
            sealed={
                name: getattr(self, name).data.strip()
                for name in SEALED_FIELDS
                if (getattr(self, name).data or "").strip()
            },
            same_event_as=self.same_event.data or None,
            **self.recorded_facts(),
        )

    def recorded_facts(self) -> dict:
        """What only a desk member recording a report adds (RecordForm)."""
        return {}


class RecordForm(ReportForm):
    """A report a desk member records: received at the ward's one-stop desk, by the police,
    forwarded by a hotline or passed on by the Front. He says where and how it came, who
    gave it (perhaps nobody who gave a name), and, as the one providing services, may
    already code it."""

    receiving_point = SelectField(
        _l("Where was it received?"),
        choices=as_choices(
            (CHOOSE, *((code, text) for code, text in RECEIVING_POINTS if code in RECORDED))
        ),
        validators=[InputRequired(_l("Choose where it was received."))],
    )
    channel = RadioField(
        _l("How did it come?"),
        choices=as_choices(CHANNELS),
        validators=[InputRequired(_l("Choose how it came."))],
    )
    source = RadioField(
        _l("Who gave the information?"),
        choices=as_choices(SOURCES),
        validators=[InputRequired(_l("Choose who gave it."))],
    )
    reporter_contact = _text(
        _l("The person who reported it, and how to reach them"),
        description=_l("Leave it empty if they did not give their name. It is kept secret."),
    )
    gbv_type = SelectField(
        _l("GBVIMS type, if you can tell"),
        choices=as_choices((("", _l("Not classified yet")), *GBV_TYPES)),
        validators=[Optional()],
        description=_l(
            "The first that applies, in this order. Leave it for the verification if unsure."
        ),
    )
    acts = MultiCheckboxField(
        _l("Acts of domestic violence (Law 13/2022, Article 3)"),
        choices=as_choices(ACTS),
        description=_l("Only for violence within the family."),
    )

    # Where and how it came and who gave it open the form; the rest folds away as before.
    RECEIPT = ("receiving_point", "channel", "source", "reporter_contact")
    DETAILS = (
        *(name for name in ReportForm.DETAILS if name not in ("channel", "reporter_contact")),
        "gbv_type",
        "acts",
    )

    def recorded_facts(self) -> dict:
        """Where and how it came, and the desk's coding."""
        return {
            "receiving_point": self.receiving_point.data,
            "gbv_type": self.gbv_type.data or None,
            "acts": list(self.acts.data or ()),
        }


def report_form_for(filer, **kwargs) -> ReportForm:
    """The report form of this filer: a desk member records, a leader or partner reports."""
    form_class = RecordForm if filer.role in DESK_ROLES else ReportForm
    return form_class(filer, **kwargs)


class AnswerForm(CaseTextForm):
    """The group leader's answer to a question from the ward staff; stored encrypted."""

    text = TextAreaField(
        _l("Your answer"),
        validators=[
            DataRequired(_l("Write your answer first.")),
            Length(max=TEXT_MAX_LENGTH),
        ],
        render_kw={"rows": 4, "autocomplete": "off", "maxlength": TEXT_MAX_LENGTH},
    )


# What a report of another victim of the same event takes from the first one's report:
# the event, not the victim (nor what the person who caused the harm is to her).
SAME_EVENT_FACTS = ("group_id", "incident_date", "kinds", "harm_forms", "immediate_danger",
                    "source", "channel", "receiving_point")  # fmt: skip

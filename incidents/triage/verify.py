"""The desks' record of a case (cases.verification): the verification page with its
corrections, links between cases, and handing a case to criminal procedure."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from incidents import access
from incidents.audit.service import record
from incidents.cases import service, verification
from incidents.cases.models import Case
from incidents.crypto.fields import open_text
from incidents.extensions import db
from incidents.forms import YES_NO, CaseTextForm, Form, as_choices, yes_no_field
from incidents.reporting.forms import CHOOSE, MultiCheckboxField, _birth_year, _text
from incidents.triage.forms import _why_field
from incidents.vocab import (
    ACTS,
    AGE_BANDS,
    CASE_LINKS,
    CHILD_ABUSE_ENVIRONMENTS,
    CHILD_ABUSE_FORMS,
    CHILD_CAREGIVERS,
    GBV_TYPES,
    HARM_FORMS,
    KINDS,
    RELATIONSHIPS,
    SEXES,
    TRAFFICKING_INDICATORS,
    TRAFFICKING_PURPOSES,
    TRAFFICKING_STATUSES,
    TRAFFICKING_WHEREABOUTS,
    VERIFICATIONS,
    VICTIM_CIRCUMSTANCES,
)
from incidents.web import get_case_or_404, keyring

bp = Blueprint("verify", __name__, url_prefix="/cases")

_NONE = ("", _l("— None —"))


class VerifyForm(CaseTextForm):
    """The ward's verified facts of a case: every coded fact, the outcome, and why."""

    outcome = RadioField(
        _l("What did the verification find?"),
        choices=as_choices(VERIFICATIONS[1:]),
        validators=[Optional()],
    )
    kinds = MultiCheckboxField(
        _l("Kinds of case (regimes)"),
        choices=as_choices(KINDS),
        validators=[DataRequired(_l("Choose at least one kind of case."))],
    )
    harm_forms = MultiCheckboxField(_l("Forms of harm"), choices=as_choices(HARM_FORMS))
    acts = MultiCheckboxField(
        _l("Acts of domestic violence (Law 13/2022, Article 3.1)"), choices=as_choices(ACTS)
    )
    gbv_type = SelectField(
        _l("GBVIMS type"),
        choices=as_choices((CHOOSE, *GBV_TYPES)),
        validators=[InputRequired(_l("Choose the GBVIMS type."))],
        description=_l("The first that applies, in this order."),
    )
    immediate_danger = yes_no_field(_l("Someone in danger now"))
    signs_of_crime = BooleanField(_l("Signs of a crime"))
    victim_sex = RadioField(
        _l("Victim's sex"), choices=as_choices(SEXES), validators=[InputRequired()]
    )
    victim_age_band = SelectField(
        _l("Victim's age"),
        choices=as_choices((CHOOSE, *AGE_BANDS)),
        validators=[InputRequired(_l("Choose an age group."))],
    )
    victim_circumstances = MultiCheckboxField(
        _l("The victim is also"), choices=as_choices(VICTIM_CIRCUMSTANCES)
    )
    perpetrator_relationship = SelectField(
        _l("What is the person who caused the harm to the victim?"),
        choices=as_choices((CHOOSE, *RELATIONSHIPS)),
        validators=[InputRequired(_l("Choose what the person is to the victim."))],
        description=_l("Say it from the victim: a father who beat his daughter is her father."),
    )
    perpetrator_sex = RadioField(
        _l("Sex of the person who caused the harm"),
        choices=as_choices(SEXES),
        validators=[InputRequired()],
    )
    perpetrator_age_band = SelectField(
        _l("Age of the person who caused the harm"),
        choices=as_choices((CHOOSE, *AGE_BANDS)),
        validators=[InputRequired(_l("Choose an age group."))],
    )
    perpetrator_name = _text(
        _l("Name of the person who caused the harm"),
        description=_l("With the year of birth, it shows the desks who was reported again."),
    )
    perpetrator_birth_year = StringField(
        _l("His or her year of birth"),
        validators=[Optional(), _birth_year],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "maxlength": 4},
    )
    trafficking_indicators = MultiCheckboxField(
        _l("Signs of trafficking"), choices=as_choices(TRAFFICKING_INDICATORS)
    )
    trafficking_status = SelectField(
        _l("Trafficking: the person is"),
        choices=as_choices((_NONE, *TRAFFICKING_STATUSES)),
        validators=[Optional()],
    )
    trafficking_whereabouts = SelectField(
        _l("Trafficking: where the person is"),
        choices=as_choices((_NONE, *TRAFFICKING_WHEREABOUTS)),
        validators=[Optional()],
    )
    trafficking_purposes = MultiCheckboxField(
        _l("Trafficking: for what"), choices=as_choices(TRAFFICKING_PURPOSES)
    )
    child_abuse_forms = MultiCheckboxField(
        _l("Abuse of the child: its forms"), choices=as_choices(CHILD_ABUSE_FORMS)
    )
    child_abuse_environments = MultiCheckboxField(
        _l("Abuse of the child: where"), choices=as_choices(CHILD_ABUSE_ENVIRONMENTS)
    )
    child_serious_risk = RadioField(
        _l("The child is at serious risk now"),
        choices=as_choices((*YES_NO, ("unknown", _l("Not known")))),
        validators=[Optional()],
    )
    child_caregiver = RadioField(
        _l("Who looks after the child now?"),
        choices=as_choices(CHILD_CAREGIVERS),
        validators=[Optional()],
    )
    why = _why_field(_l("Why (kept encrypted; only the desks see it)"), id="verify-why")
    version = HiddenField(validators=[DataRequired()])

    SECTIONS = (
        (_l("The case"), ("kinds", "harm_forms", "acts", "gbv_type", "immediate_danger",
                          "signs_of_crime")),
        (_l("The victim"), ("victim_sex", "victim_age_band", "victim_circumstances")),
        (_l("The person who caused the harm"), ("perpetrator_relationship", "perpetrator_sex",
                                               "perpetrator_age_band", "perpetrator_name",
                                               "perpetrator_birth_year")),
        (_l("Only for trafficking"), ("trafficking_indicators", "trafficking_status",
                                      "trafficking_whereabouts", "trafficking_purposes")),
        (_l("Only for a child (under 16)"), ("child_abuse_forms", "child_abuse_environments",
                                             "child_serious_risk", "child_caregiver")),
    )  # fmt: skip

    def facts(self) -> verification.Facts:
        """The coded facts as the service takes them."""
        return verification.Facts(
            kinds=list(self.kinds.data or ()),
            harm_forms=list(self.harm_forms.data or ()),
            acts=list(self.acts.data or ()),
            gbv_type=self.gbv_type.data or None,
            immediate_danger=self.immediate_danger.data == "yes",
            signs_of_crime=bool(self.signs_of_crime.data),
            victim_sex=self.victim_sex.data,
            victim_age_band=self.victim_age_band.data,
            victim_circumstances=list(self.victim_circumstances.data or ()),
            perpetrator_relationship=self.perpetrator_relationship.data,
            perpetrator_sex=self.perpetrator_sex.data,
            perpetrator_age_band=self.perpetrator_age_band.data,
            trafficking_indicators=list(self.trafficking_indicators.data or ()),
            trafficking_status=self.trafficking_status.data or None,
            trafficking_whereabouts=self.trafficking_whereabouts.data or None,
            trafficking_purposes=list(self.trafficking_purposes.data or ()),
            child_abuse_forms=list(self.child_abuse_forms.data or ()),
            child_abuse_environments=list(self.child_abuse_environments.data or ()),
            child_serious_risk={"yes": True, "no": False}.get(self.child_serious_risk.data),
            child_caregiver=self.child_caregiver.data or None,
        )

    def details(self) -> dict[str, str]:
        """The sealed details given here (the perpetrator's name and year of birth)."""
        return {name: getattr(self, name).data or "" for name in verification.SEALED_DETAILS}


def _form_of(case: Case) -> VerifyForm:
    """The form filled with the case's facts as they stand, and its sealed details."""
    facts = verification.Facts.of(case)
    data = {name: getattr(facts, name) for name in verification.CODED_FACTS}
    data["immediate_danger"] = "yes" if facts.immediate_danger else "no"
    data["child_serious_risk"] = {True: "yes", False: "no"}.get(facts.child_serious_risk)
    data_key = keyring().case_key(case)
    for name in verification.SEALED_DETAILS:
        value = getattr(case, name)
        data[name] = open_text(data_key, value, case.id, name, case.key_version) if value else ""
    data["version"] = str(case.version)
    # Opening the details is reading the case: audited like the case page (property 19).
    record("case.read", actor=current_user, target=case.id, detail="verify")
    db.session.commit()
    return VerifyForm(formdata=None, data=data)


_REFUSALS = {
    "why": _l("Say why (the reason is kept encrypted)."),
    "outcome": _l("Choose what the verification found; unfounded is the police's or the "
                  "chairman's to find."),
    "unchanged": _l("Nothing was changed."),
    # _check_kinds: a kind another desk verifies was given or taken away.
    "case.verify": _l("Only the desk that verifies that kind of case may add it or take it "
                      "away: trafficking, the police; abuse of a child, the police or the "
                      "culture-social officer."),
    "victim_age_band": _l("Abuse of a child is of a child under 16."),
}  # fmt: skip


@bp.route("/<case_id>/verify", methods=["GET", "POST"])
def verify_case(case_id: str):
    """Verify the case (the first time) or correct its verified facts (afterwards)."""
    case = get_case_or_404(current_user, case_id, "case.correct")
    first = case.verification == "pending"
    if first and not access.can(current_user, "case.verify", case):
        abort(404)
    if request.method == "GET":
        return _page(case, _form_of(case), first)
    form = VerifyForm()
    _outcome_choices(form, case, first)
    if form.validate():
        try:
            step = verification.verify if first else verification.correct
            extra = {"outcome": form.outcome.data or ("" if first else None)}
            step(
                current_user,
                case,
                form.facts(),
                keyring(),
                why=form.why.data,
                details=form.details(),
                seen_version=int(form.version.data),
                **extra,
            )
            db.session.commit()
        except (service.Conflict, StaleDataError):
            db.session.rollback()
            flash(_("The case changed meanwhile: nothing was saved. Check it and send again."),
                  "error")  # fmt: skip
            return _page(db.session.get(Case, case.id), form, first, status=409)
        except service.CaseError as error:
            db.session.rollback()
            code = str(error)
            name = "kinds" if code == "case.verify" else code
            target = getattr(form, name) if name in form else form.why
            target.errors = [*target.errors, str(_REFUSALS.get(code, _l("Not accepted.")))]
        else:
            flash(_("The verification was saved.") if first else _("The correction was saved."),
                  "success")  # fmt: skip
            return redirect(url_for("triage.case_page", case_id=case.id) + "#verification")
    return _page(case, form, first, status=400)


def _decides_unfounded() -> bool:
    return current_user.role in access.CLOSE_REASON_ROLES[verification.UNFOUNDED]


def _outcome_choices(form: VerifyForm, case: Case, first: bool) -> None:
    """The outcome: given at the first verification (unfounded only by the police and the
    chairman), and changed later by them alone; others correct the facts only."""
    if not _decides_unfounded():
        form.outcome.choices = [c for c in form.outcome.choices if c.value != "unfounded"]
        if not first:
            form.outcome.choices = []


def _page(case: Case, form: VerifyForm, first: bool, status: int = 200):
    _outcome_choices(form, case, first)
    if not first and form.outcome.data is None:
        form.outcome.data = case.verification
    if first and form.outcome.data is None and len(form.outcome.choices) == 1:
        form.outcome.data = form.outcome.choices[0].value  # his only outcome: verified
    return (
        render_template(
            "triage/verify.html",
            case=case,
            form=form,
            first=first,
            reported=case.reported or {},
        ),
        status,
    )


class LinkForm(Form):
    """Link this case to another of the ward, by its reference."""

    kind = SelectField(_l("How"), choices=as_choices(CASE_LINKS), validators=[DataRequired()])
    reference = StringField(
        _l("The other case's reference"),
        validators=[DataRequired(_l("Enter the reference, e.g. QT-2026-0007.")), Length(max=32)],
        render_kw={"autocomplete": "off"},
    )


@bp.route("/<case_id>/links", methods=["POST"])
def link_cases(case_id: str):
    """Link the case to another one the member reads (by reference)."""
    case = get_case_or_404(current_user, case_id, "case.link")
    form = LinkForm()
    if form.validate():
        other = db.session.scalar(
            select(Case).where(
                Case.reference == form.reference.data.strip().upper(),
                Case.ward_id == case.ward_id,
            )
        )
        try:
            if other is None:
                raise service.NotAllowed("case.link")
            verification.link(current_user, case, other, form.kind.data, keyring())
        except service.CaseError:
            db.session.rollback()
            flash(_("No case of yours has that reference: nothing was linked."), "error")
        else:
            db.session.commit()
            flash(_("The cases were linked."), "success")
    else:
        flash(_("Enter the reference, e.g. QT-2026-0007."), "error")
    return redirect(url_for("triage.case_page", case_id=case.id) + "#links")


class CriminalProcedureForm(CaseTextForm):
    """The police hand the case to criminal procedure; it stays open."""

    why = _why_field(
        _l("What was done (kept encrypted): to whom it was forwarded, when"),
        id="criminal-procedure-why",
    )


@bp.route("/<case_id>/criminal-procedure", methods=["POST"])
def criminal_procedure(case_id: str):
    """Record that the case was handed to criminal procedure."""
    case = get_case_or_404(current_user, case_id, "case.criminal_procedure")
    form = CriminalProcedureForm()
    if form.validate():
        try:
            verification.hand_to_criminal_procedure(
                current_user, case, keyring(), why=form.why.data
            )
        except service.CaseError as error:
            db.session.rollback()
            flash(
                _("Say what was done (the reason is kept encrypted).")
                if str(error) == "why"
                else _("This case cannot be handed to criminal procedure now."),
                "error",
            )
        else:
            db.session.commit()
            flash(_("Recorded: the case stays open for the victim's support."), "success")
    return redirect(url_for("triage.case_page", case_id=case.id) + "#verification")

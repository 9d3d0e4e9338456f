"""The case page's referral section, shared by the triage views and the refer view."""

from dataclasses import dataclass

from flask_login import current_user

from incidents import access
from incidents.cases import referrals
from incidents.forms import as_choices
from incidents.referrals.forms import ReferForm
from incidents.vocab import DESKS, label
from incidents.wards.models import PARTNER_KINDS
from incidents.web import keyring


@dataclass
class ReferralPanel:
    """The form to refer the case, and its referrals as the desks see them."""

    form: ReferForm
    referrals: list[referrals.ReferralContent]


def refer_form(case, submitted: bool = False) -> ReferForm:
    """The refer form, offering the partner desks of the case's ward."""
    form = ReferForm() if submitted else ReferForm(formdata=None)
    form.desk_id.choices = as_choices(
        (desk.id, label(DESKS, desk.kind)) for desk in case.ward.desks if desk.kind in PARTNER_KINDS
    )
    return form


def referral_panel(case, form: ReferForm | None = None) -> ReferralPanel | None:
    """The section for a desk member who may refer the case; None for anyone else."""
    if not access.can(current_user, "case.refer", case):
        return None
    return ReferralPanel(
        form=form or refer_form(case),
        referrals=referrals.referrals_for_desks(current_user, case, keyring()),
    )

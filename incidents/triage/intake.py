"""The layout of the printable intake record: which paper forms, which lines, what is filled.

For a child victim the record is forms 01, 02 and 03 of Decree 56/2017/NĐ-CP (intake,
initial assessment of the risk, detailed assessment); for anyone else, one intake record
of our own. A line the case holds a value for is filled in; the others are left blank, to
be filled by hand.

The forms' headings (FORM_TITLES) and the order and names of their sections are modelled
on the decree's forms, not copied from them: the exact wording of the annex was not
confirmed (DOMAIN.md marks such facts "(check)"), and must be checked against the decree
before the ward files these papers. The headings stay in Vietnamese whatever the
interface's language, as the forms are Vietnamese documents; other languages show their
own title beneath.
"""

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from incidents.cases.models import Case
from incidents.timeutil import format_date, format_datetime
from incidents.vocab import (
    ACTS,
    ALL_AGE_BANDS,
    ALL_RELATIONSHIPS,
    CHANNELS,
    CHILD_AGE_BANDS,
    CHILD_CAREGIVERS,
    CONSENTS,
    DESKS,
    HARM_FORMS,
    KINDS,
    RECEIVING_POINTS,
    SEXES,
    SOURCES,
    TRAFFICKING_INDICATORS,
    URGENCIES,
    VICTIM_CIRCUMSTANCES,
    label,
)

# The Decree 56/2017 forms' headings (wording to be checked, see above), and ours.
FORM_TITLES = {
    "01": "Phiếu ghi chép thông tin ban đầu về trẻ em bị xâm hại/có nguy cơ bị xâm hại",
    "02": "Phiếu đánh giá ban đầu về nguy cơ",
    "03": "Phiếu đánh giá chi tiết",
    "intake": "Phiếu tiếp nhận thông tin vụ việc",
}
FORM_GLOSSES = {
    "01": _l("Record of the first information about a child abused or at risk of abuse"),
    "02": _l("Initial assessment of the risk"),
    "03": _l("Detailed assessment"),
    "intake": _l("Intake record of the case"),
}
DECREE = "Nghị định 56/2017/NĐ-CP"


@dataclass
class Line:
    """One line of a paper form: its label and value, or blank lines to fill by hand."""

    label: str
    value: str | None = None
    blank_lines: int = 1


@dataclass
class Section:
    """A numbered part of a form."""

    title: str
    lines: list[Line] = field(default_factory=list)


@dataclass
class PaperForm:
    """One form of the record: its code (01, 02, 03 or intake), heading and sections."""

    code: str
    sections: list[Section]

    @property
    def title(self) -> str:
        """The heading, in Vietnamese."""
        return FORM_TITLES[self.code]

    @property
    def gloss(self) -> str:
        """The heading in the interface's language."""
        return str(FORM_GLOSSES[self.code])

    @property
    def of_the_decree(self) -> bool:
        """Whether this is one of Decree 56/2017's forms."""
        return self.code != "intake"


def is_child(case: Case) -> bool:
    """Whether the victim is a child, whose record is Decree 56/2017's forms."""
    return case.victim_age_band in CHILD_AGE_BANDS


def _labels(choices, codes) -> str | None:
    return ", ".join(label(choices, code) for code in codes) or None


def _yes_no(value: bool | None) -> str | None:
    if value is None:
        return None
    return _("Yes") if value else _("No")


def _receipt(case: Case, fields: dict[str, str]) -> Section:
    return Section(
        _("Receipt of the information"),
        [
            Line(_("Case reference"), case.reference),
            Line(_("Received"), format_datetime(case.received_at)),
            Line(_("Where it was received"), label(RECEIVING_POINTS, case.receiving_point)),
            Line(_("How it was reported"), label(CHANNELS, case.channel) if case.channel else None),
            Line(_("Who gave the information"), label(SOURCES, case.source)),
            Line(_("Residential group"), case.group.name),
            Line(_("How to reach the reporter"), fields.get("reporter_contact")),
            Line(_("Received and recorded by")),
        ],
    )


def _victim(case: Case, fields: dict[str, str], title: str) -> Section:
    lines = [
        Line(_("Full name"), fields.get("victim_name")),
        Line(_("Sex"), label(SEXES, case.victim_sex)),
        Line(_("Year of birth"), fields.get("victim_birth_year")),
        Line(_("Age"), label(ALL_AGE_BANDS, case.victim_age_band)),
        Line(_("Place of residence"), fields.get("victim_address")),
        Line(_("Phone"), fields.get("victim_phone")),
        Line(_("Circumstances"), _labels(VICTIM_CIRCUMSTANCES, case.victim_circumstances)),
    ]
    if is_child(case):
        lines.append(
            Line(_("Who looks after the child now"), _caregiver(case)),
        )
    return Section(title, lines)


def _caregiver(case: Case) -> str | None:
    return label(CHILD_CAREGIVERS, case.child_caregiver) if case.child_caregiver else None


def _incident(case: Case, fields: dict[str, str]) -> Section:
    lines = [
        Line(_("Date of the incident"), format_date(case.incident_date)),
        Line(_("Kind of case"), _labels(KINDS, case.kinds)),
        Line(_("Forms of harm"), _labels(HARM_FORMS, case.harm_forms)),
        Line(_("Acts of domestic violence"), _labels(ACTS, case.acts)),
        Line(_("Signs of a crime"), _yes_no(case.signs_of_crime)),
        Line(_("What happened"), fields.get("narrative"), blank_lines=4),
        Line(_("Witnesses"), fields.get("witnesses")),
    ]
    if "trafficking" in case.kinds:
        lines.append(
            Line(
                _("Signs of trafficking"),
                _labels(TRAFFICKING_INDICATORS, case.trafficking_indicators),
            )
        )
    return Section(_("The incident"), lines)


def _perpetrator(case: Case, fields: dict[str, str]) -> Section:
    return Section(
        _("The person who caused the harm"),
        [
            Line(_("Full name"), fields.get("perpetrator_name")),
            Line(_("Year of birth"), fields.get("perpetrator_birth_year")),
            Line(
                _("What the person is to the victim"),
                label(ALL_RELATIONSHIPS, case.perpetrator_relationship),
            ),
            Line(_("Sex"), label(SEXES, case.perpetrator_sex)),
            Line(_("Age"), label(ALL_AGE_BANDS, case.perpetrator_age_band)),
            Line(
                _("More about the person who caused the harm"),
                fields.get("perpetrator_details"),
                blank_lines=2,
            ),
        ],
    )


def _consent(case: Case) -> Section:
    return Section(
        _("Consent"),
        [
            Line(_("What the victim said about sharing"), label(CONSENTS, case.consent)),
            Line(_("Agrees to be counted in statistics"), _yes_no(case.consent_statistics)),
        ],
    )


def _handling(case: Case) -> Section:
    desks = ", ".join(label(DESKS, route.desk.kind) for route in case.routes)
    return Section(
        _("Handling"),
        [
            Line(_("Urgency"), label(URGENCIES, case.urgency)),
            Line(_("Routed to"), desks),
            Line(_("Protection measures applied"), blank_lines=3),
            Line(_("Services received"), blank_lines=2),
        ],
    )


def _form_01(case: Case, fields: dict[str, str]) -> PaperForm:
    return PaperForm(
        "01",
        [
            _receipt(case, fields),
            _victim(case, fields, _("The child")),
            _incident(case, fields),
            _perpetrator(case, fields),
            _consent(case),
        ],
    )


def _form_02(case: Case) -> PaperForm:
    perpetrator_cares = None
    if case.child_caregiver:
        perpetrator_cares = _yes_no(case.child_caregiver == "perpetrator")
    return PaperForm(
        "02",
        [
            Section(
                _("What the report says of the risk"),
                [
                    Line(_("The child is at serious risk now"), _yes_no(case.child_serious_risk)),
                    Line(_("Someone is in danger right now"), _yes_no(case.immediate_danger)),
                    Line(_("Who looks after the child now"), _caregiver(case)),
                    Line(
                        _("The person who caused the harm looks after the child"), perpetrator_cares
                    ),
                    Line(_("Urgency"), label(URGENCIES, case.urgency)),
                ],
            ),
            Section(
                _("Assessment"),
                [
                    Line(_("Level of risk (high, medium, low)")),
                    Line(_("Reasons for this assessment"), blank_lines=3),
                    Line(_("Emergency protection needed within 12 hours"), blank_lines=3),
                    Line(_("Date and time of the assessment")),
                    Line(_("Assessed by")),
                ],
            ),
        ],
    )


def _form_03(case: Case) -> PaperForm:
    return PaperForm(
        "03",
        [
            Section(
                _("The child"),
                [
                    Line(_("Forms of harm"), _labels(HARM_FORMS, case.harm_forms)),
                    Line(
                        _("Circumstances"), _labels(VICTIM_CIRCUMSTANCES, case.victim_circumstances)
                    ),
                    Line(_("Physical health"), blank_lines=2),
                    Line(_("Psychological state"), blank_lines=2),
                    Line(_("Schooling"), blank_lines=1),
                ],
            ),
            Section(
                _("Family and care"),
                [
                    Line(_("Who looks after the child now"), _caregiver(case)),
                    Line(_("Family situation"), blank_lines=3),
                    Line(_("Whether the carers can keep the child safe"), blank_lines=2),
                ],
            ),
            Section(
                _("Needs and plan"),
                [
                    Line(_("The child's needs for support"), blank_lines=3),
                    Line(_("Support and intervention plan (within 5 working days)"), blank_lines=4),
                    Line(_("Date of the assessment")),
                    Line(_("Assessed by")),
                ],
            ),
        ],
    )


def _intake(case: Case, fields: dict[str, str]) -> PaperForm:
    return PaperForm(
        "intake",
        [
            _receipt(case, fields),
            _victim(case, fields, _("The victim")),
            _incident(case, fields),
            _perpetrator(case, fields),
            _consent(case),
            _handling(case),
        ],
    )


def paper_forms(case: Case, fields: dict[str, str]) -> list[PaperForm]:
    """The forms of the case's intake record, filled from its clear and decrypted fields."""
    if is_child(case):
        return [_form_01(case, fields), _form_02(case), _form_03(case)]
    return [_intake(case, fields)]

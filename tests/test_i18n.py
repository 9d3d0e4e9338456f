"""Vietnamese first: every user-facing string has a Vietnamese translation."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from conftest import post_report

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "incidents/translations/vi/LC_MESSAGES/messages.po"
METHODS = [("incidents/**.py", "python"), ("templates/**.html", "jinja2")]


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        METHODS,
        keywords={"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _singular(message_id) -> str:
    """A message's id; a plural's (ngettext) is its singular."""
    return message_id if isinstance(message_id, str) else message_id[0]


def _translated(message) -> bool:
    """Whether the message has a translation: every plural form of an ngettext one."""
    if not message.id:
        return False
    if isinstance(message.id, str):
        return bool(message.string)
    return all(message.string)


def test_every_string_in_the_sources_has_a_vietnamese_translation():
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    translated = {_singular(message.id) for message in catalog if _translated(message)}
    fuzzy = {_singular(message.id) for message in catalog if message.id and message.fuzzy}
    sources = _source_messages()
    assert len(sources) > 100  # the extraction really found the interface's strings
    missing = sorted(sources - translated)
    assert not missing, f"no Vietnamese for: {missing[:10]}"
    assert not fuzzy & sources, f"fuzzy translations: {sorted(fuzzy & sources)[:10]}"


def test_pages_are_vietnamese_by_default_and_english_on_request(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Đăng nhập" in page
    client.get("/language/en")
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Sign in" in english


WTFORMS_CATALOG = ROOT / "incidents/translations/vi/LC_MESSAGES/wtforms.po"


def _wtforms_template():
    import wtforms

    with (Path(wtforms.__file__).parent / "locale/wtforms.pot").open("rb") as handle:
        return read_po(handle)


def test_wtforms_own_messages_have_vietnamese_too():
    with WTFORMS_CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalog
        if message.id
        and (all(message.string) if isinstance(message.string, tuple) else message.string)
    }
    expected = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in _wtforms_template()
        if message.id
    }
    assert len(expected) > 30
    assert not expected - translated, sorted(expected - translated)[:10]


def test_a_wtforms_message_is_shown_in_vietnamese(db, client, make_user, login_as):
    with WTFORMS_CATALOG.open("rb") as handle:
        vietnamese = read_po(handle).get("Not a valid date value.").string
    from conftest import report_form

    leader = make_user("reporter")
    login_as(leader)
    page = post_report(client, report_form(leader.groups[0].id, incident_date="31/02/2026"))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert vietnamese in text
    assert "Not a valid date value." not in text


def test_a_typed_dd_mm_yyyy_date_is_understood(db, client, make_user, login_as):
    from datetime import timedelta

    from conftest import report_form

    from incidents.cases.models import Case
    from incidents.timeutil import ward_today

    leader = make_user("reporter")
    login_as(leader)
    day = ward_today() - timedelta(days=3)
    response = post_report(
        client,
        report_form(leader.groups[0].id, incident_date=day.strftime("%d/%m/%Y")),
    )
    assert response.status_code == 302
    case = db.session.get(Case, response.headers["Location"].rsplit("/", 1)[-1])
    assert case.incident_date == day


def test_every_template_compiles(app):
    # The extraction above skips a template it cannot parse, with only a warning: its
    # strings would then go untranslated unnoticed. A syntax error fails here instead.
    names = [name for name in app.jinja_env.list_templates() if name.endswith(".html")]
    assert len(names) > 20
    for name in names:
        app.jinja_env.get_template(name)

"""Vietnamese first: every user-facing string has a Vietnamese translation."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "incidents/translations/vi/LC_MESSAGES/messages.po"
METHODS = [("incidents/**.py", "python"), ("templates/**.html", "jinja2")]


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords={"_": None, "_l": None, "gettext": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_in_the_sources_has_a_vietnamese_translation():
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    translated = {message.id for message in catalog if message.id and message.string}
    fuzzy = {message.id for message in catalog if message.id and message.fuzzy}
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

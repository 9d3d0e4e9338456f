"""Typed text loses the characters that hide or reorder what a page shows (issue 15)."""

from conftest import post_report, report_form

from incidents.forms import without_hidden_characters

DISGUISED = "Chồng\u202e đánh vợ\x07 tối qua\u2066.\ufeff"


def test_a_report_keeps_no_bidi_override_or_control_character(db, client, make_user, login_as):
    leader, officer = make_user("reporter"), make_user("officer")
    login_as(leader)
    response = post_report(
        client,
        report_form(leader.groups[0].id, narrative=DISGUISED, victim_name="Lò\u202dThị\x1bA"),
    )
    assert response.status_code == 302
    case_id = response.headers["Location"].rsplit("/", 1)[-1]
    login_as(officer)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Chồng đánh vợ tối qua." in page and "LòThịA" in page
    for hidden in ("\u202e", "\u202d", "\u2066", "\x07", "\x1b", "\ufeff"):
        assert hidden not in page


def test_line_breaks_and_tabs_stay_and_passwords_are_untouched(app):
    from wtforms import PasswordField, StringField

    from incidents.forms import CaseTextForm

    class Probe(CaseTextForm):
        name = StringField()
        secret = PasswordField()

    assert without_hidden_characters("một\ndòng\thai\r\n") == "một\ndòng\thai\r\n"
    typed = {"name": "Lò\u202eThị", "secret": "mật\u202ekhẩu\x07"}
    with app.test_request_context("/", method="POST", data=typed):
        form = Probe()
        assert form.name.data == "LòThị"
        assert form.secret.data == "mật\u202ekhẩu\x07"  # exactly as typed: it is hashed

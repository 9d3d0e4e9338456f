"""The audit viewer, its CSV export and a case's access log."""

import csv
import io

from sqlalchemy import select

from incidents.audit.models import AuditEntry
from incidents.audit.service import record
from incidents.cases.models import Case
from incidents.spreadsheets import safe_cell


def test_only_the_officer_and_the_chairman_see_the_trail(db, client, make_user, login_as):
    for role, status in (("officer", 200), ("chairman", 200), ("police", 404), ("reporter", 404),
                         ("admin", 404)):  # fmt: skip
        login_as(make_user(role))
        assert client.get("/audit/").status_code == status, role
        assert client.get("/audit/export.csv").status_code == status, role


def test_filters_find_who_read_a_case(db, client, make_user, file_report, login_as):
    leader, police, officer = make_user("reporter"), make_user("police"), make_user("officer")
    case_id = file_report(leader, immediate_danger="yes")
    reference = db.session.get(Case, case_id).reference
    login_as(police)
    client.get(f"/cases/{case_id}")
    login_as(officer)
    page = client.get(f"/audit/?action=case.read&case={reference}").get_data(as_text=True)
    assert "Test police" in page and "<td>Đọc vụ việc</td>" in page and reference in page
    assert "<td>Gửi tin báo" not in page
    everything = client.get("/audit/").get_data(as_text=True)
    assert "<td>Đã đăng nhập" in everything


def test_the_csv_export_is_audited_and_runs_no_formula(db, client, make_user, login_as):
    officer = make_user("officer")
    record("test.entry", detail='=HYPERLINK("http://evil")', ward_id=officer.ward_id)
    db.session.commit()
    login_as(officer)
    response = client.get("/audit/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["seq", "time", "actor"]
    details = [row[7] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in details
    assert not any(cell.startswith(("=", "+", "@")) for row in rows[1:] for cell in row)
    db.session.expire_all()
    assert "audit.export" in db.session.scalars(select(AuditEntry.action)).all()


def test_cells_that_look_like_formulas_are_neutralised():
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("-2") == "'-2" and safe_cell("@x") == "'@x" and safe_cell("+3") == "'+3"
    assert safe_cell("case.read") == "case.read" and safe_cell(None) == ""
    assert safe_cell("  =cmd") == "'  =cmd" and safe_cell("\uff1dSUM(A1)") == "'\uff1dSUM(A1)"


def test_the_case_page_shows_who_has_seen_the_case(db, client, make_user, file_report, login_as):
    leader, police, officer = make_user("reporter"), make_user("police"), make_user("officer")
    case_id = file_report(leader, immediate_danger="yes")
    login_as(police)
    client.get(f"/cases/{case_id}")
    login_as(officer)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    log = page.split("Ai đã xem vụ việc này")[1]
    assert log.count("Đọc vụ việc") == 2  # the police's reading and this one
    assert "Gửi tin báo" in log and "case." not in log


def test_the_pages_page_through(db, client, make_user, login_as):
    officer = make_user("officer")
    for number in range(60):
        record("notice.mail", detail=f"n{number}", ward_id=officer.ward_id)
    db.session.commit()
    seqs = db.session.scalars(
        select(AuditEntry.seq).where(AuditEntry.action == "notice.mail").order_by(AuditEntry.seq)
    ).all()
    login_as(officer)
    first = client.get("/audit/?action=notice.mail").get_data(as_text=True)
    second = client.get("/audit/?action=notice.mail&page=2").get_data(as_text=True)
    assert f"<td>{seqs[-1]}</td>" in first and f"<td>{seqs[0]}</td>" not in first
    assert f"<td>{seqs[0]}</td>" in second and f"<td>{seqs[-1]}</td>" not in second
    assert client.get("/audit/?page=0").status_code == 200  # refused quietly, not a 500


def test_another_wards_trail_stays_out_of_sight(
    db, client, make_ward, make_user, file_report, login_as
):
    leader = make_user("reporter")
    case_id = file_report(leader, immediate_danger="yes")
    reference = db.session.get(Case, case_id).reference
    elsewhere = make_ward(code="XB")
    chairman_elsewhere = make_user("chairman", in_ward=elsewhere)
    login_as(chairman_elsewhere)
    page = client.get("/audit/").get_data(as_text=True)
    assert reference not in page and case_id not in page and "<td>Gửi tin báo" not in page
    csv_text = client.get("/audit/export.csv").get_data(as_text=True)
    assert case_id not in csv_text and leader.username not in csv_text


def test_every_action_the_trail_records_has_words_on_the_page():
    """A new action cannot slip onto the viewer as a bare code: every record() call of the
    sources names an action of vocab.AUDIT_ACTIONS."""
    import re
    from pathlib import Path

    from incidents.vocab import AUDIT_ACTIONS, codes

    sources = Path(__file__).resolve().parent.parent / "incidents"
    recorded = set()
    for path in sources.rglob("*.py"):
        text = path.read_text()
        recorded |= set(re.findall(r'record\(\s*"([a-z_.]+)"', text))
        recorded |= set(re.findall(r'"(account\.reauth(?:_failure)?)"', text))
    assert len(recorded) > 40
    assert recorded <= set(codes(AUDIT_ACTIONS)), sorted(recorded - set(codes(AUDIT_ACTIONS)))


def test_details_made_of_codes_are_shown_in_words(db, client, make_user, login_as, ward):
    officer = make_user("officer")
    police = make_user("police")  # seated at the police desk: a desk.grant entry
    record("case.status", actor=officer, detail="new>acknowledged")
    record("case.file", actor=officer, detail="police,officer,chairman")
    record("case.read", actor=officer, detail="=not shown on the page")
    db.session.commit()
    login_as(officer)
    page = client.get("/audit/").get_data(as_text=True)
    assert "Mới → Đã tiếp nhận" in page
    assert "Công an phường, Công chức Văn hóa - xã hội, Chủ tịch UBND phường" in page
    assert "=not shown" not in page and "desk:" not in page and "user:" not in page
    assert police.display_name in page  # an account's entry names it, not "user:<id>"

"""Questions to the reporter: a desk member asks, the leader answers; sealed, on the timeline.

Every refusal is checked to change nothing: the rows of every table but the audit trail
and the sessions are compared before and after.
"""

import json
import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, status_change
from sqlalchemy import select, update
from test_canary import canary_needles, new_canary

from incidents import access
from incidents.accounts.models import SessionRecord, User
from incidents.accounts.service import unlock_personal_key
from incidents.audit.models import AuditEntry, AuditHead
from incidents.cases import questions, service
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case, CaseEvent, CaseQuestion
from incidents.crypto import DecryptionError
from incidents.crypto.fields import open_text
from incidents.notices.models import Notice
from incidents.timeutil import utcnow

# Tables a refused request may still write: its session, the audit of what it read, and
# the accounts (a test's sign-ins between the two snapshots note their last code step).
NOT_COMPARED = {
    SessionRecord.__tablename__,
    AuditEntry.__tablename__,
    AuditHead.__tablename__,
    User.__tablename__,
}


def timeline_of(page: str) -> str:
    """The case page's timeline, its lines with their spacing folded."""
    section = page.split('<ol class="timeline">')[1].split("</ol>")[0]
    return re.sub(r"\s+", " ", section)


def keyring_of(user) -> MemberKeyring:
    """The user's keyring, as his session holds it after sign-in."""
    return MemberKeyring(user, unlock_personal_key(user, PASSWORD))


def snapshot(db) -> dict:
    """Every row of every table that a refusal must leave alone (as committed)."""
    with db.engine.connect() as connection:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in connection.execute(select(table))), key=str
            )
            for table in db.metadata.sorted_tables
            if table.name not in NOT_COMPARED
        }


def audited(db, action: str) -> list[AuditEntry]:
    """The audit entries of one action, oldest first."""
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    ).all()


@pytest.fixture()
def people(make_user, make_ward, ward):
    """The case's leader and desks, a leader of another group, police of another ward."""
    elsewhere = make_ward(code="EL")
    return {
        "leader": make_user("reporter", groups=[ward.groups[0]]),
        "neighbour": make_user("reporter", groups=[ward.groups[1]]),
        "police": make_user("police"),
        "officer": make_user("officer"),
        "police_elsewhere": make_user("police", in_ward=elsewhere),
    }


@pytest.fixture()
def case(db, people, file_report):
    """A serious case (routed to every desk), filed by the leader over HTTP."""
    return db.session.get(
        Case, file_report(people["leader"], immediate_danger="yes", victim_name="Lò Thị Mai")
    )


def ask(db, user, case, text="Nạn nhân hiện ở đâu?") -> CaseQuestion:
    """A question put through the service, committed."""
    question = questions.ask(user, case, text, keyring_of(user))
    db.session.commit()
    return question


def answer_field(question) -> str:
    return f"q{question.id}-text"


# --- The whole way, over HTTP ------------------------------------------------------------


def test_ask_answer_and_the_desk_sees_it_sealed_and_on_the_timeline(
    db, client, people, case, login_as
):
    question_text, answer_text = new_canary("question"), new_canary("answer")
    police, leader = people["police"], people["leader"]

    login_as(police)
    asked = client.post(f"/cases/{case.id}/questions", data={"question-text": question_text})
    assert asked.status_code == 302
    assert asked.headers["Location"].endswith(f"/cases/{case.id}#questions")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert question_text in page and "Đang chờ trả lời" in page
    question = db.session.scalars(select(CaseQuestion)).one()

    # The leader is told in My reports, and sees the question (not who asked) on his report.
    login_as(leader)
    reports = client.get("/reports").get_data(as_text=True)
    assert "Có câu hỏi đang chờ bạn trả lời" in reports
    assert f'href="/reports/{case.id}#questions"' in reports
    mine = client.get(f"/reports/{case.id}")
    text = mine.get_data(as_text=True)
    assert mine.headers["Cache-Control"] == "no-store"
    assert question_text in text and "Cán bộ phường hỏi" in text
    assert police.display_name not in text
    assert f'name="{answer_field(question)}"' in text
    assert "<title>Dịch vụ phường</title>" in text  # neutral, as every leader's page

    answered = client.post(
        f"/reports/{case.id}/questions/{question.id}", data={answer_field(question): answer_text}
    )
    assert answered.status_code == 302
    assert "Có câu hỏi đang chờ bạn trả lời" not in client.get("/reports").get_data(as_text=True)
    mine = client.get(f"/reports/{case.id}").get_data(as_text=True)
    assert answer_text in mine and f'name="{answer_field(question)}"' not in mine

    # The desks see the answer, and both steps on the timeline.
    login_as(people["officer"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert question_text in page and answer_text in page
    timeline = timeline_of(page)
    assert "Đã gửi câu hỏi cho tổ trưởng, trưởng bản · Test police" in timeline
    assert "Tổ trưởng, trưởng bản đã trả lời câu hỏi · Test reporter" in timeline
    db.session.expire_all()
    events = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    assert [(event.kind, event.detail) for event in events[-2:]] == [
        ("question", {"question": question.id}),
        ("answer", {"question": question.id}),
    ]
    assert [event.actor_id for event in events[-2:]] == [police.id, leader.id]
    question = db.session.get(CaseQuestion, question.id)
    assert question.closed_at == question.answered_at and question.closed_by_id == leader.id
    assert [entry.detail for entry in audited(db, "question.ask")] == [str(question.id)]
    assert [entry.actor_id for entry in audited(db, "question.answer")] == [leader.id]
    # The leader is told a question waits; the asker's desk, that it was answered.
    told = db.session.execute(
        select(Notice.user_id, Notice.reason).where(Notice.reason.in_(["question", "answer"]))
    ).all()
    assert sorted(told) == sorted([(leader.id, "question"), (police.id, "answer")])
    # Each sight of the texts is audited, by whom.
    readers = {entry.actor_id for entry in audited(db, "question.read")}
    assert readers == {police.id, leader.id, people["officer"].id}

    # Both texts are stored sealed: no row of any table holds them, in any encoding.
    assert rows_holding(db, [question_text, answer_text]) == []


def _as_bytes(value) -> bytes:
    if isinstance(value, bytes | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, default=str).encode("ascii")


def rows_holding(db, canaries) -> list[tuple[str, str]]:
    """(table, canary) for each stored value that holds a canary in any of its encodings."""
    needles = {canary: canary_needles(canary) for canary in canaries}
    hits = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in map(_as_bytes, row):
                    for canary, encodings in needles.items():
                        if any(form in value for forms in encodings.values() for form in forms):
                            hits.append((table.name, canary))
    return hits


def test_each_text_is_bound_to_its_own_row(db, people, case):
    police, leader = people["police"], people["leader"]
    first, second = ask(db, police, case, "Câu hỏi một"), ask(db, police, case, "Câu hỏi hai")
    questions.answer(leader, first, "Trả lời một", keyring_of(leader))
    db.session.commit()
    key = keyring_of(police).case_key(case)
    assert open_text(key, first.answer, case.id, f"answer:{first.id}", 1) == "Trả lời một"
    # A ciphertext moved to another question, or from question to answer, does not open.
    for sealed, field in (
        (first.question, f"question:{second.id}"),
        (first.answer, f"answer:{second.id}"),
        (first.question, f"answer:{first.id}"),
    ):
        with pytest.raises(DecryptionError):
            open_text(key, sealed, case.id, field, 1)


# --- Refusals: a clear message, nothing changed ------------------------------------------


def test_a_reply_to_a_closed_question_is_refused(db, client, people, case, login_as):
    police, leader = people["police"], people["leader"]
    question = ask(db, police, case)
    login_as(police)
    closed = client.post(f"/cases/{case.id}/questions/{question.id}/close")
    assert closed.status_code == 302
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Đã đóng khi chưa có câu trả lời" in page
    assert "Câu hỏi đã đóng · Test police" in timeline_of(page)
    kinds = db.session.scalars(
        select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    assert kinds[-1] == "question_closed"

    before = snapshot(db)
    with pytest.raises(service.CaseError, match="closed"):
        questions.answer(leader, question, "Muộn rồi", keyring_of(leader))
    db.session.rollback()
    login_as(leader)
    typed = "Chị ấy đang ở nhà người thân."
    refused = client.post(
        f"/reports/{case.id}/questions/{question.id}", data={answer_field(question): typed}
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Cán bộ phường đã đóng câu hỏi này trước khi câu trả lời của bạn đến nơi" in text
    assert typed in text  # what he wrote is shown back, not lost
    assert snapshot(db) == before
    assert audited(db, "question.answer") == []


def test_a_second_reply_is_refused(db, client, people, case, login_as):
    police, leader = people["police"], people["leader"]
    question = ask(db, police, case)
    login_as(leader)
    url = f"/reports/{case.id}/questions/{question.id}"
    assert client.post(url, data={answer_field(question): "Lần đầu"}).status_code == 302
    before = snapshot(db)
    again = client.post(url, data={answer_field(question): "Lần thứ hai"})
    assert again.status_code == 400
    assert "Bạn đã trả lời câu hỏi này rồi" in again.get_data(as_text=True)
    with pytest.raises(service.CaseError, match="answered"):
        questions.answer(leader, question, "Lần thứ ba", keyring_of(leader))
    db.session.rollback()
    assert snapshot(db) == before
    key = keyring_of(police).case_key(case)
    db.session.expire_all()
    stored = db.session.get(CaseQuestion, question.id).answer
    assert open_text(key, stored, case.id, f"answer:{question.id}", 1) == "Lần đầu"
    # Nor may the desk close it again.
    with pytest.raises(service.CaseError, match="answered"):
        questions.close(police, db.session.get(CaseQuestion, question.id), keyring_of(police))
    db.session.rollback()
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Hãy viết câu trả lời trước."),
        ("   \n ", "Hãy viết câu trả lời trước."),
        ("Dài " + "x" * questions.TEXT_MAX_LENGTH, "4000"),
    ],
)
def test_an_empty_or_over_long_reply_is_refused(db, client, people, case, login_as, typed, message):
    question = ask(db, people["police"], case)
    login_as(people["leader"])
    before = snapshot(db)
    refused = client.post(
        f"/reports/{case.id}/questions/{question.id}", data={answer_field(question): typed}
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert message in text
    if typed.strip():
        assert typed[:40] in text  # the typed answer is in its box again
    assert snapshot(db) == before
    leader = people["leader"]
    with pytest.raises(service.CaseError, match="empty|too_long"):
        questions.answer(leader, question, typed, keyring_of(leader))
    db.session.rollback()
    assert snapshot(db) == before


def test_another_leader_cannot_reply(db, client, people, case, login_as):
    question = ask(db, people["police"], case)
    neighbour = people["neighbour"]
    before = snapshot(db)
    login_as(neighbour)
    refused = client.post(
        f"/reports/{case.id}/questions/{question.id}", data={answer_field(question): "Xen vào"}
    )
    assert refused.status_code == 404
    assert "Nạn nhân hiện ở đâu?" not in client.get("/reports").get_data(as_text=True)
    with pytest.raises(service.NotAllowed):
        questions.answer(neighbour, question, "Xen vào", keyring_of(neighbour))
    db.session.rollback()
    assert snapshot(db) == before


def test_police_of_another_ward_cannot_ask(db, client, people, case, login_as):
    stranger = people["police_elsewhere"]
    before = snapshot(db)
    login_as(stranger)
    refused = client.post(f"/cases/{case.id}/questions", data={"question-text": "Tò mò"})
    assert refused.status_code == 404
    with pytest.raises(service.NotAllowed):
        questions.ask(stranger, case, "Tò mò", keyring_of(stranger))
    db.session.rollback()
    assert snapshot(db) == before


def test_a_desk_the_case_is_not_routed_to_cannot_ask_or_close(
    db, client, people, file_report, login_as
):
    civil = db.session.get(Case, file_report(people["leader"]))  # officer and chairman only
    question = ask(db, people["officer"], civil)
    police = people["police"]
    before = snapshot(db)
    login_as(police)
    assert (
        client.post(f"/cases/{civil.id}/questions", data={"question-text": "?"}).status_code == 404
    )
    assert client.post(f"/cases/{civil.id}/questions/{question.id}/close").status_code == 404
    with pytest.raises(service.NotAllowed):
        questions.close(police, question, keyring_of(police))
    db.session.rollback()
    assert snapshot(db) == before


def test_the_leader_cannot_close_and_a_question_of_another_case_is_404(
    db, client, people, case, file_report, login_as
):
    question = ask(db, people["police"], case)
    other = db.session.get(Case, file_report(people["leader"], immediate_danger="yes"))
    before = snapshot(db)
    login_as(people["leader"])
    assert client.post(f"/cases/{case.id}/questions/{question.id}/close").status_code == 404
    # The right question under the wrong case's URL is no question at all.
    login_as(people["police"])
    assert client.post(f"/cases/{other.id}/questions/{question.id}/close").status_code == 404
    login_as(people["leader"])
    wrong_case = client.post(
        f"/reports/{other.id}/questions/{question.id}", data={answer_field(question): "x"}
    )
    assert wrong_case.status_code == 404
    assert client.post(f"/reports/{case.id}/questions/{2**40}", data={}).status_code == 404
    assert snapshot(db) == before


def test_an_empty_question_shows_again_and_an_over_long_one_keeps_its_text(
    db, client, people, case, login_as
):
    login_as(people["police"])
    before = snapshot(db)
    empty = client.post(f"/cases/{case.id}/questions", data={"question-text": "  "})
    assert empty.status_code == 400 and "Hãy viết câu hỏi trước." in empty.get_data(as_text=True)
    typed = "Một câu hỏi quá dài " + "y" * questions.TEXT_MAX_LENGTH
    long = client.post(f"/cases/{case.id}/questions", data={"question-text": typed})
    assert long.status_code == 400 and typed[:40] in long.get_data(as_text=True)
    assert snapshot(db) == before
    with pytest.raises(service.CaseError, match="empty"):
        questions.ask(people["police"], case, " ", keyring_of(people["police"]))
    db.session.rollback()
    assert snapshot(db) == before


def test_closing_a_closed_question_is_refused(db, client, people, case, login_as):
    police = people["police"]
    question = ask(db, police, case)
    questions.close(police, question, keyring_of(police))
    db.session.commit()
    before = snapshot(db)
    login_as(people["officer"])
    again = client.post(f"/cases/{case.id}/questions/{question.id}/close", follow_redirects=True)
    assert "Câu hỏi này đã được đóng." in again.get_data(as_text=True)
    assert snapshot(db) == before
    assert len(audited(db, "question.close")) == 1


def _move(client, case, status, **fields):
    response = client.post(
        f"/cases/{case.id}/status", data=status_change(case.id, status, **fields)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-600:]


def test_closing_the_case_closes_its_open_questions_and_asking_waits_for_a_reopening(
    db, client, people, case, login_as
):
    police, leader = people["police"], people["leader"]
    answered, waiting = ask(db, police, case, "Câu hỏi một"), ask(db, police, case, "Câu hỏi hai")
    questions.answer(leader, answered, "Đã trả lời", keyring_of(leader))
    db.session.commit()
    login_as(police)
    for status in ("acknowledged", "in_progress"):
        _move(client, case, status)
    _move(client, case, "closed", close_reason="resolved")

    db.session.expire_all()
    waiting, answered = (
        db.session.get(CaseQuestion, waiting.id),
        db.session.get(CaseQuestion, answered.id),
    )
    assert not waiting.is_open and waiting.closed_by_id == police.id and waiting.answer is None
    assert answered.closed_by_id == leader.id  # an answered question is left as it was
    kinds = db.session.scalars(
        select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    assert kinds[-2:] == ["status", "question_closed"]
    assert [entry.detail for entry in audited(db, "question.close")] == [str(waiting.id)]
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'name="question-text"' not in page
    assert "hãy mở lại vụ việc để hỏi tổ trưởng, trưởng bản" in page

    # asking anyway (a page from before the closing) is refused, the text kept
    before = snapshot(db)
    typed = "Một câu hỏi sau khi đóng vụ việc"
    refused = client.post(f"/cases/{case.id}/questions", data={"question-text": typed})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Vụ việc đã đóng: hãy mở lại vụ việc để hỏi tổ trưởng, trưởng bản." in text
    assert typed in text
    assert snapshot(db) == before

    # the leader is no longer asked, and a late reply is refused with the reason
    login_as(leader)
    assert "Có câu hỏi đang chờ bạn trả lời" not in client.get("/reports").get_data(as_text=True)
    late = client.post(
        f"/reports/{case.id}/questions/{waiting.id}", data={answer_field(waiting): "Muộn"}
    )
    assert late.status_code == 400
    assert "Cán bộ phường đã đóng câu hỏi này" in late.get_data(as_text=True)

    login_as(police)
    _move(client, case, "reopened")
    asked = client.post(f"/cases/{case.id}/questions", data={"question-text": typed})
    assert asked.status_code == 302
    db.session.expire_all()
    assert (
        db.session.scalars(select(CaseQuestion).where(CaseQuestion.case_id == case.id))
        .all()[-1]
        .is_open
    )


def test_a_question_sent_while_the_case_is_being_closed_waits_and_is_refused(
    app, db, people, case, login_as
):
    """The closing holds the case row (not yet committed) when the question arrives."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite lets one writer in at a time")
    import threading
    import time

    web = login_as(people["police"], on=app.test_client())
    answers = []
    closing = db.engine.connect()
    try:
        closing.execute(
            update(Case).where(Case.id == case.id).values(status="closed", version=Case.version + 1)
        )
        asking = threading.Thread(
            target=lambda: answers.append(
                web.post(f"/cases/{case.id}/questions", data={"question-text": "Còn ai ở đó?"})
            )
        )
        asking.start()
        time.sleep(0.5)
        assert answers == []  # the question waits for the closing's lock
        closing.commit()
    finally:
        closing.close()
    asking.join(timeout=30)
    assert answers[0].status_code == 400
    assert "Vụ việc đã đóng" in answers[0].get_data(as_text=True)
    db.session.expire_all()
    assert (
        db.session.scalars(select(CaseQuestion).where(CaseQuestion.case_id == case.id)).all() == []
    )


def test_an_answer_racing_a_close_does_not_overwrite_it(db, people, case):
    """The leader's page showed the question open; a desk closed it meanwhile."""
    police, leader = people["police"], people["leader"]
    question = ask(db, police, case)
    assert question.is_open  # what the leader's request loaded
    with db.engine.begin() as connection:  # another request closes it, and commits
        connection.execute(
            update(CaseQuestion)
            .where(CaseQuestion.id == question.id)
            .values(closed_at=utcnow(), closed_by_id=police.id)
        )
    before = snapshot(db)
    with pytest.raises(service.CaseError, match="closed"):
        questions.answer(leader, question, "Trả lời muộn", keyring_of(leader))
    db.session.rollback()
    assert snapshot(db) == before
    assert db.session.get(CaseQuestion, question.id).answer is None


# --- The read-back window ----------------------------------------------------------------


def _age(db, case, days=31) -> None:
    db.session.execute(
        update(Case).where(Case.id == case.id).values(received_at=utcnow() - timedelta(days=days))
    )
    db.session.commit()
    db.session.expire_all()


def test_after_the_window_an_open_question_still_reaches_the_leader(
    db, client, people, case, login_as
):
    police, leader = people["police"], people["leader"]
    service.add_note(police, case, "Ghi chú nội bộ của công an", keyring_of(police))
    old_open = ask(db, police, case, "Câu hỏi vẫn mở")
    old_closed = ask(db, police, case, "Câu hỏi đã đóng")
    answered = ask(db, police, case, "Câu hỏi đã trả lời")
    questions.close(police, old_closed, keyring_of(police))
    questions.answer(leader, answered, "Câu trả lời cũ", keyring_of(leader))
    db.session.commit()
    _age(db, case)

    # The policy: the case itself is closed to him; the open question is not.
    case = db.session.get(Case, case.id)
    assert not access.can(leader, "case.read", case)
    question = {q.id: q for q in case.questions}
    assert access.can_question(leader, "question.read", question[old_open.id])
    assert access.can_question(leader, "question.answer", question[old_open.id])
    for closed in (old_closed.id, answered.id):
        assert not access.can_question(leader, "question.read", question[closed])
        assert not access.can_question(leader, "question.answer", question[closed])
        assert access.can_question(police, "question.read", question[closed])  # desks: always

    login_as(leader)
    page = client.get(f"/reports/{case.id}").get_data(as_text=True)
    assert "Câu hỏi vẫn mở" in page
    for hidden in (
        "Câu hỏi đã đóng",
        "Câu hỏi đã trả lời",
        "Câu trả lời cũ",
        "Lò Thị Mai",  # the report's own fields stay closed
        "Ghi chú nội bộ",  # the desks' notes, never
        police.display_name,  # nor who asked
    ):
        assert hidden not in page, hidden
    assert "Có câu hỏi đang chờ bạn trả lời" in client.get("/reports").get_data(as_text=True)

    # He answers it; then it is closed, and gone from his page like the others.
    reply = client.post(
        f"/reports/{case.id}/questions/{old_open.id}",
        data={answer_field(old_open): "Trả lời sau 31 ngày"},
    )
    assert reply.status_code == 302
    page = client.get(f"/reports/{case.id}").get_data(as_text=True)
    assert "Câu hỏi vẫn mở" not in page and "Trả lời sau 31 ngày" not in page
    before = snapshot(db)
    late = client.post(
        f"/reports/{case.id}/questions/{old_closed.id}", data={answer_field(old_closed): "x"}
    )
    assert late.status_code == 404  # a closed question past the window: not his to see
    assert snapshot(db) == before
    login_as(police)
    assert "Trả lời sau 31 ngày" in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_within_the_window_the_leader_sees_his_closed_questions_too(
    db, client, people, case, login_as
):
    police, leader = people["police"], people["leader"]
    answered = ask(db, police, case, "Câu hỏi đã trả lời")
    questions.answer(leader, answered, "Câu trả lời của tôi", keyring_of(leader))
    db.session.commit()
    login_as(leader)
    page = client.get(f"/reports/{case.id}").get_data(as_text=True)
    assert "Câu hỏi đã trả lời" in page and "Câu trả lời của tôi" in page
    assert "Lò Thị Mai" in page
    assert re.search(r"Bạn đã trả lời, lúc \d\d/\d\d/\d{4} \d\d:\d\d:", page)

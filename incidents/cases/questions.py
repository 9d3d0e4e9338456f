"""Questions to the reporter: a desk member asks, the case's group leader answers.

Both texts are sealed under the case key, each bound to its own row ("question:<id>",
"answer:<id>"). Every operation checks the policy (access.can / access.can_question),
adds a timeline event whose detail is the question's id only, writes an audit entry and
flushes; the request commits once. An answer closes its question; a desk member closes
one that is no longer needed. Closing is a conditional UPDATE, so an answer and a close
that race (or a reply sent twice) cannot both win: the loser is refused, nothing changed.
"""

from dataclasses import dataclass

from sqlalchemy import select, update

from incidents import access
from incidents.audit.service import record
from incidents.cases.keys import MemberKeyring
from incidents.cases.models import Case, CaseEvent, CaseQuestion
from incidents.cases.service import NOTE_MAX_LENGTH, CaseError, NotAllowed
from incidents.crypto.fields import open_text, seal_text
from incidents.extensions import db
from incidents.notices import service as notices
from incidents.timeutil import utcnow

# Questions and answers are notes between the desks and the leader: the notes' limit.
TEXT_MAX_LENGTH = NOTE_MAX_LENGTH


def question_field(question_id: int) -> str:
    """The field name a question's text is sealed under (unique to its row)."""
    return f"question:{question_id}"


def answer_field(question_id: int) -> str:
    """The field name an answer's text is sealed under (unique to its row)."""
    return f"answer:{question_id}"


@dataclass
class QuestionView:
    """One question as its reader may see it, decrypted.

    asker is the name of the desk member who asked, for the desks only: the leader is
    told "the ward staff" (None here).
    """

    question: CaseQuestion
    text: str
    answer: str | None
    asker: str | None


def _clean(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise CaseError("empty")
    if len(text) > TEXT_MAX_LENGTH:
        raise CaseError("too_long")
    return text


def _why_closed(question: CaseQuestion) -> CaseError:
    """The refusal for a question found closed: answered already, or closed by a desk."""
    db.session.refresh(question)
    return CaseError("answered" if question.answer is not None else "closed")


def _close_if_open(question: CaseQuestion, user, closed_at, **values) -> bool:
    """Close the question with values if it is still open; whether this call closed it."""
    result = db.session.execute(
        update(CaseQuestion)
        .where(CaseQuestion.id == question.id, CaseQuestion.closed_at.is_(None))
        .values(closed_at=closed_at, closed_by_id=user.id, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(question)
    return True


def ask(user, case: Case, text: str, keyring: MemberKeyring) -> CaseQuestion:
    """Put a question to the case's reporter, sealed; the desks of the case may ask."""
    if not access.can(user, "question.ask", case):
        raise NotAllowed("question.ask")
    # The case row is locked and its status read afresh, so that a question and a closing
    # sent at once cannot leave an open question on a closed case: closing closes the
    # questions, and one asked after it waits for a reopening.
    status = db.session.scalar(select(Case.status).where(Case.id == case.id).with_for_update())
    if status == "closed":
        raise CaseError("case_closed")
    text = _clean(text)
    data_key = keyring.case_key(case)
    question = CaseQuestion(case=case, asked_by_id=user.id, asked_at=utcnow(), question=b"")
    db.session.add(question)
    db.session.flush()  # the question's id is part of its ciphertext's context
    question.question = seal_text(
        data_key, text, case.id, question_field(question.id), case.key_version
    )
    db.session.add(
        CaseEvent(
            case_id=case.id,
            at=question.asked_at,
            actor_id=user.id,
            kind="question",
            detail={"question": question.id},
        )
    )
    record("question.ask", actor=user, target=case.id, detail=str(question.id))
    notices.notify_user(case.reporter, case, "question")
    db.session.flush()
    return question


def answer(leader, question: CaseQuestion, text: str, keyring: MemberKeyring) -> None:
    """The reporter answers an open question, sealed; the answer closes it."""
    if not access.can_question(leader, "question.answer", question):
        raise NotAllowed("question.answer")
    if not question.is_open:
        raise _why_closed(question)
    text = _clean(text)
    case = question.case
    sealed = seal_text(
        keyring.case_key(case), text, case.id, answer_field(question.id), case.key_version
    )
    answered_at = utcnow()
    if not _close_if_open(question, leader, answered_at, answer=sealed, answered_at=answered_at):
        raise _why_closed(question)
    db.session.add(
        CaseEvent(
            case_id=case.id,
            at=answered_at,
            actor_id=leader.id,
            kind="answer",
            detail={"question": question.id},
        )
    )
    record("question.answer", actor=leader, target=case.id, detail=str(question.id))
    # The asker's desk is told; the case's other desks see the answer on its page.
    asker_desk = question.asked_by.role
    notices.notify_desks(case, [asker_desk] if asker_desk in case.desks else case.desks, "answer")
    db.session.flush()


def close(user, question: CaseQuestion, keyring: MemberKeyring) -> None:
    """A desk member closes an open question that is no longer needed."""
    if not access.can_question(user, "question.close", question):
        raise NotAllowed("question.close")
    case = question.case
    keyring.case_key(case)  # a write needs the same proof as a read
    if not question.is_open or not _close_if_open(question, user, utcnow()):
        raise _why_closed(question)
    db.session.add(
        CaseEvent(
            case_id=case.id,
            at=question.closed_at,
            actor_id=user.id,
            kind="question_closed",
            detail={"question": question.id},
        )
    )
    record("question.close", actor=user, target=case.id, detail=str(question.id))
    db.session.flush()


def questions_for(user, case: Case, keyring: MemberKeyring) -> list[QuestionView]:
    """The case's questions the user may see, oldest first, decrypted; audited when any.

    All or nothing: a question that fails to open raises DecryptionError.
    """
    shown = [q for q in case.questions if access.can_question(user, "question.read", q)]
    if not shown:
        return []
    data_key = keyring.case_key(case)
    desk = user.role not in access.FILER_ROLES
    views = [
        QuestionView(
            question=question,
            text=open_text(
                data_key, question.question, case.id, question_field(question.id), case.key_version
            ),
            answer=None
            if question.answer is None
            else open_text(
                data_key, question.answer, case.id, answer_field(question.id), case.key_version
            ),
            asker=question.asked_by.display_name if desk else None,
        )
        for question in shown
    ]
    record("question.read", actor=user, target=case.id, detail=str(len(views)))
    db.session.flush()
    return views


def cases_waiting_for(leader) -> set[str]:
    """The ids of the leader's cases with a question waiting for his answer (clear columns)."""
    if not access.can(leader, "case.list_own"):
        return set()
    return set(
        db.session.scalars(
            select(CaseQuestion.case_id)
            .join(Case, Case.id == CaseQuestion.case_id)
            .where(
                Case.reporter_id == leader.id,
                CaseQuestion.closed_at.is_(None),
                # not a case sealed to a key he lost: he could not open the question
                Case.reporter_sealed_to == leader.public_key,
            )
        )
    )

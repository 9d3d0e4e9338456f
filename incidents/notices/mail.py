"""The outbox: notices e-mailed through SMTP, each message sent once and marked at once.

The message says that a case needs the reader's attention, with a link to the case page
by its random id: no reference, no kind, no name, no group, not even the reason (a
mailbox is read on phones and shared computers). Subject and body are in Vietnamese,
then English.

Delivery runs from 'flask notices send' (cron), never inside a request: a filing must
not wait for a mail server, and a mail server that is down must not lose a notice. Each
notice is claimed (a short lease in mail_next_at) and committed before its message goes
out, and marked sent right after, so runs that overlap never send one twice.
"""

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from incidents.accounts.service import AccountError, normalise_email
from incidents.audit.service import record
from incidents.extensions import db
from incidents.notices.models import MAIL_DROPPED, MAIL_FAILED, MAIL_PENDING, MAIL_SENT, Notice
from incidents.notices.service import takes_email, target
from incidents.timeutil import utcnow

log = logging.getLogger("incidents.notices")

# A sender holds a notice this long: another run leaves it alone meanwhile.
LEASE = timedelta(minutes=15)
BATCH = 200
# A mail server on the same machine may be spoken to without TLS, even with a password.
LOCAL = frozenset({"localhost", "127.0.0.1", "::1"})
# Refusals of one message (its recipient, its sender or its data): the others may go.
REFUSED_ONE = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class MailConfigError(ValueError):
    """The mail settings cannot work (the message says which)."""


@dataclass(frozen=True)
class MailSettings:
    """What the sender needs, from the app's configuration (see from_config)."""

    server: str
    port: int
    use_tls: bool
    username: str
    password: str = field(repr=False)  # never in a log line or a traceback's locals
    sender: str
    timeout: float
    base_url: str
    max_attempts: int
    retry_delay: timedelta

    @classmethod
    def from_config(cls, config) -> "MailSettings":
        """Read MAIL_* and PUBLIC_BASE_URL; the environment gives strings, so parse them."""
        try:
            settings = cls(
                server=(config.get("MAIL_SERVER") or "").strip(),
                port=int(config.get("MAIL_PORT") or 587),
                use_tls=_flag(config.get("MAIL_USE_TLS", True)),
                username=config.get("MAIL_USERNAME") or "",
                password=config.get("MAIL_PASSWORD") or "",
                sender=config.get("MAIL_SENDER") or "",
                timeout=float(config.get("MAIL_TIMEOUT") or 10),
                base_url=(config.get("PUBLIC_BASE_URL") or "").rstrip("/"),
                max_attempts=int(config.get("MAIL_MAX_ATTEMPTS") or 8),
                retry_delay=config.get("MAIL_RETRY_DELAY", timedelta(minutes=1)),
            )
        except ValueError as error:
            raise MailConfigError(f"a mail setting is not a number: {error}") from error
        if settings.enabled:
            if not settings.sender:
                raise MailConfigError("MAIL_SENDER is needed to send mail")
            if settings.username and not settings.use_tls and settings.server not in LOCAL:
                raise MailConfigError(
                    "MAIL_USERNAME needs MAIL_USE_TLS: the password would cross the network "
                    "in the clear"
                )
            parts = urlsplit(settings.base_url)
            # A link sent by mail may be a device's first visit, before HSTS protects it:
            # plain http only for a server on this machine (development, tests).
            local = parts.hostname in LOCAL
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or (parts.scheme == "http" and not local)
            ):
                raise MailConfigError("PUBLIC_BASE_URL must be the site's address (https://...)")
        return settings

    @property
    def enabled(self) -> bool:
        """Mail is off when MAIL_SERVER is empty."""
        return bool(self.server)


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@dataclass
class Outcome:
    """What one run did, in counts."""

    sent: int = 0
    failed: int = 0
    given_up: int = 0
    dropped: int = 0


# The whole message, bar the link: it is the same for every notice, whatever the reason.
SUBJECT = _l("Notice from the ward system")
NEEDS_YOU = _l("A case needs your attention. Open it here after signing in:")
NOTHING_MORE = _l(
    "This message says nothing more on purpose. Do not forward it and do not reply to it."
)


def _both_languages(text) -> tuple[str, str]:
    """The Vietnamese and the English of one (lazy) message."""
    with force_locale("vi"):
        vietnamese = str(text)
    with force_locale("en"):
        english = str(text)
    return vietnamese, english


def build_message(settings: MailSettings, recipient: str, link: str) -> EmailMessage:
    """The e-mail of a notice: a neutral subject, "a case needs your attention", a link."""
    subject = _both_languages(SUBJECT)
    needs = _both_languages(NEEDS_YOU)
    never = _both_languages(NOTHING_MORE)
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = recipient
    message["Subject"] = f"{subject[0]} / {subject[1]}"
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    body = [needs[0], link, "", never[0], "", "---", "", needs[1], link, "", never[1], ""]
    message.set_content("\n".join(body))
    return message


def notice_link(settings: MailSettings, url_map, notice: Notice) -> str:
    """The absolute address of the page the notice points to, on PUBLIC_BASE_URL."""
    parts = urlsplit(settings.base_url)
    adapter = url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    endpoint, values = target(notice, notice.user.role)
    return adapter.build(endpoint, values, force_external=True)


def _due(now: datetime) -> list[int]:
    return list(
        db.session.scalars(
            select(Notice.id)
            .where(Notice.mail_status == MAIL_PENDING, Notice.mail_next_at <= now)
            .order_by(Notice.id)
            .limit(BATCH)
        )
    )


def _claim(notice_id: int, now: datetime) -> bool:
    """Take the notice for this run, if no other run holds it; committed at once."""
    claimed = db.session.execute(
        update(Notice)
        .where(
            Notice.id == notice_id,
            Notice.mail_status == MAIL_PENDING,
            Notice.mail_next_at <= now,
        )
        .values(mail_next_at=now + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _failed(notice: Notice, settings: MailSettings, error: Exception, outcome: Outcome) -> None:
    """Count a failed attempt: back off and retry later, or give up at the limit."""
    notice.mail_attempts += 1
    # Only the kind of error: an SMTP reply may quote the recipient's address.
    reason = type(error).__name__
    if notice.mail_attempts >= settings.max_attempts:
        notice.mail_status = MAIL_FAILED
        notice.mail_next_at = None
        outcome.given_up += 1
        log.error(
            "notice %s: e-mail given up after %s attempts (%s)",
            notice.id,
            notice.mail_attempts,
            reason,
        )
    else:
        delay = min(settings.retry_delay * 2 ** (notice.mail_attempts - 1), timedelta(hours=1))
        notice.mail_next_at = utcnow() + delay
        outcome.failed += 1
        log.warning(
            "notice %s: e-mail attempt %s failed (%s)", notice.id, notice.mail_attempts, reason
        )
    db.session.commit()


def _connect(settings: MailSettings) -> smtplib.SMTP:
    connection = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
    try:
        if settings.use_tls:
            connection.starttls(context=ssl.create_default_context())
        if settings.username:
            connection.login(settings.username, settings.password)
    except BaseException:
        connection.close()
        raise
    return connection


def _take(notice_id: int, now: datetime, outcome: Outcome) -> Notice | None:
    """Claim a due notice; None if another run holds it or its e-mail is no longer wanted."""
    if not _claim(notice_id, now):
        return None
    notice = db.session.get(Notice, notice_id)
    user = notice.user
    if user.active and takes_email(user) and _valid(user):
        return notice
    notice.mail_status, notice.mail_next_at = MAIL_DROPPED, None
    db.session.commit()
    outcome.dropped += 1
    return None


def send_pending(settings: MailSettings, url_map, now: datetime | None = None) -> Outcome:
    """Send every notice whose e-mail is due; each one is committed as it goes.

    A failure leaves the notice in the outbox with one more attempt counted, to be tried
    again after a back-off. While the server cannot be reached, every due notice counts
    the failed attempt, so they back off (and are given up) together.
    """
    outcome = Outcome()
    if not settings.enabled:
        return outcome
    now = now or utcnow()
    due = _due(now)
    if not due:
        return outcome
    connection, refusal = None, None
    try:
        connection = _connect(settings)
    except (smtplib.SMTPException, OSError) as error:
        refusal = error
    try:
        for notice_id in due:
            notice = _take(notice_id, now, outcome)
            if notice is None:
                continue
            if connection is None:
                _failed(notice, settings, refusal, outcome)
                continue
            try:
                link = notice_link(settings, url_map, notice)
                connection.send_message(build_message(settings, notice.user.email, link))
            except REFUSED_ONE as error:
                _failed(notice, settings, error, outcome)  # this message only
                continue
            except (smtplib.SMTPException, OSError) as error:
                _failed(notice, settings, error, outcome)  # the connection is gone
                _close(connection)
                connection, refusal = None, error
                continue
            notice.mail_status = MAIL_SENT
            notice.mail_sent_at = utcnow()
            notice.mail_next_at = None
            notice.mail_attempts += 1
            record("notice.mail", target=f"notice:{notice.id}", ward_id=notice.user.ward_id)
            db.session.commit()
            outcome.sent += 1
    finally:
        _close(connection)
    return outcome


def _valid(user) -> bool:
    """An address stored before (or around) the rules is checked again: never a header."""
    try:
        return normalise_email(user.email) == user.email
    except AccountError:
        return False


def _close(connection: smtplib.SMTP | None) -> None:
    if connection is None:
        return
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def pending_count() -> int:
    """How many notices wait in the outbox (due now or later)."""
    return db.session.scalar(
        select(func.count()).select_from(Notice).where(Notice.mail_status == MAIL_PENDING)
    )

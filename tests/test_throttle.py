"""Brute force (SECURITY.md property 11): the sign-in throttle, per account and per address.

Refusals on one account (a wrong password or code, known username or not) are throttled
wherever they come from, without locking anyone else out; every attempt from one address
counts toward a second limit; an unknown username and a wrong password get the same
answer. With TEST_REDIS_URL, two application instances share the counters.

The test apps have the limiter on (TestingConfig has it off). Flask-Limiter's `limiter`
is one module-level object: every create_app() re-binds it, replacing its storage and its
on/off switch, and it keeps the first key prefix it was given. The `limited` fixture
therefore restores it afterwards, so that nothing leaks into the other tests.
"""

import os
import re
import threading
import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from conftest import PASSWORD, login_data, make_test_app, without_csrf_token
from sqlalchemy import func, select

from incidents.accounts import service
from incidents.accounts.models import SessionRecord
from incidents.audit.models import AuditEntry
from incidents.crypto.passwords import hash_password
from incidents.extensions import db as _db
from incidents.extensions import limiter
from incidents.timeutil import utcnow
from incidents.web import argon2_params

ACCOUNT_LIMIT = 5  # LOGIN_ACCOUNT_RATE_LIMIT's first part: 5 per minute
COOKIE = "known_device"  # KNOWN_DEVICE_COOKIE_NAME outside production
GENERIC_ERROR = "The username, password or code is not correct."
CSRF_FIELD = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+(")')
_LIMITER_STATE = ("enabled", "_storage", "_limiter", "_key_prefix")


def _redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true requires TEST_REDIS_URL (Redis)")
        pytest.skip("the shared throttle tests need TEST_REDIS_URL")
    return url


@pytest.fixture()
def limited(app, db, tmp_path):
    """Factory: an app on the test database with the limiter on (config overrides given).

    Each call binds the shared limiter anew: a fresh storage object and the given prefix.
    """
    saved = {name: getattr(limiter, name) for name in _LIMITER_STATE}
    made, storages = [], []

    def factory(**overrides):
        limiter._key_prefix = ""  # else the prefix of the first app bound stays for good
        instance = make_test_app(
            app.config["SQLALCHEMY_DATABASE_URI"],
            str(tmp_path / f"instance{len(made)}"),
            RATELIMIT_ENABLED=True,
            **overrides,
        )
        made.append(instance)
        storages.append(limiter.storage)
        return instance

    yield factory
    for instance in made:
        with instance.app_context():
            _db.engine.dispose()
    for storage in storages:
        client = getattr(storage, "storage", None)
        if hasattr(client, "connection_pool"):  # a Redis client: close its sockets
            client.close()
            client.connection_pool.disconnect()
    for name, value in saved.items():
        setattr(limiter, name, value)


def _client(instance, address="192.0.2.10"):
    web = instance.test_client()
    web.environ_base["REMOTE_ADDR"] = address
    web.get("/language/en")
    return web


def _wrong(user, **extra) -> dict:
    return {"username": user.username, "password": "not the password at all", **extra}


def _assert_throttled(db, response) -> None:
    """The generic error page, no form, no session; audited as a refused sign-in."""
    assert response.status_code == 429
    assert "<h1>429</h1>" in response.text and "Too many attempts" in response.text
    assert 'name="password"' not in response.text
    db.session.expire_all()
    last = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "login.failure").order_by(AuditEntry.seq)
    ).all()[-1]
    assert last.detail == "refused 429"


def _sessions(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(SessionRecord))


@pytest.fixture()
def sign_ins(monkeypatch):
    """How many attempts reached the password check (and its Argon2id hash)."""
    calls = []
    real = service.sign_in

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "sign_in", counting)
    return calls


@pytest.mark.parametrize("failure", ["wrong password", "wrong code", "no code", "empty form"])
def test_refusals_on_one_account_throttle_it_even_for_its_owner(
    db, limited, make_user, totp_code, sign_ins, failure
):
    officer, colleague = make_user("officer"), make_user("officer")
    web = _client(limited())
    window = {totp_code(officer, steps) for steps in (-1, 0, 1)}
    not_a_code = next(code for code in ("000000", "111111", "222222") if code not in window)
    attempt = {
        "wrong password": _wrong(officer, code=totp_code(officer)),
        "wrong code": {"username": officer.username, "password": PASSWORD, "code": not_a_code},
        "no code": {"username": officer.username, "password": PASSWORD},
        "empty form": {"username": officer.username, "password": ""},
    }[failure]
    for _ in range(ACCOUNT_LIMIT):
        refused = web.post("/login", data=attempt)
        assert refused.status_code == 200
    reached = len(sign_ins)

    throttled = web.post("/login", data=login_data(officer))  # right password and code

    _assert_throttled(db, throttled)
    assert len(sign_ins) == reached  # stopped before the hash
    assert web.get("/cases/").headers["Location"].startswith("/login")
    assert _sessions(db) == 0
    # Another account from the same address is not locked out.
    assert web.post("/login", data=login_data(colleague)).status_code == 302
    assert web.get("/cases/").status_code == 200


def test_refusals_from_many_addresses_add_up_on_one_account(db, limited, make_user):
    police = make_user("police")
    instance = limited()
    for n in range(ACCOUNT_LIMIT):
        web = _client(instance, f"198.51.100.{n + 1}")
        assert web.post("/login", data=_wrong(police)).status_code == 200
    fresh = _client(instance, "203.0.113.77")
    _assert_throttled(db, fresh.post("/login", data=login_data(police)))


def test_every_attempt_counts_the_owners_own_included(db, limited, make_user):
    # Counted before any work, so that guesses sent at once cannot all get through (see
    # the burst test below): a success cannot be known yet, so it counts too.
    police, officer = make_user("police"), make_user("officer")
    web = _client(limited())
    for _ in range(ACCOUNT_LIMIT):
        assert web.post("/login", data=login_data(police)).status_code == 302
        assert web.post("/logout").status_code == 302
    _assert_throttled(db, web.post("/login", data=login_data(police)))
    assert web.post("/login", data=login_data(officer)).status_code == 302


def test_the_address_limit_throttles_many_names_from_one_address(db, limited, make_user):
    officer = make_user("officer")
    instance = limited(LOGIN_RATE_LIMIT="4 per minute")
    office = _client(instance, "192.0.2.50")
    for n in range(4):  # four names, each failing once: no account limit is reached
        guess = {"username": f"guess{n}-{uuid.uuid4().hex[:6]}", "password": PASSWORD}
        assert office.post("/login", data=guess).status_code == 200

    _assert_throttled(db, office.post("/login", data=login_data(officer)))

    elsewhere = _client(instance, "192.0.2.51")
    assert elsewhere.post("/login", data=login_data(officer)).status_code == 302
    assert elsewhere.get("/cases/").status_code == 200


@pytest.mark.parametrize("hops", [0, 1])
def test_a_forged_forwarded_for_header_does_not_dodge_the_address_limit(
    db, limited, make_user, hops
):
    """Without a trusted proxy the header is ignored; behind one, only its own entry
    (the last) counts, whatever the client wrote before it."""
    leader = make_user("reporter")
    instance = limited(LOGIN_RATE_LIMIT="3 per minute", TRUSTED_PROXY_HOPS=hops)
    web = _client(instance, "192.0.2.60")
    for n in range(3):
        forged = {"X-Forwarded-For": f"10.9.8.{n}, 203.0.113.5"}
        guess = {"username": f"nobody{n}-{uuid.uuid4().hex[:6]}", "password": PASSWORD}
        assert web.post("/login", data=guess, headers=forged).status_code == 200
    forged = {"X-Forwarded-For": "10.9.8.200, 203.0.113.5"}
    _assert_throttled(db, web.post("/login", data=login_data(leader), headers=forged))


def _page_without_secrets(response, username: str) -> tuple:
    """Status, headers and body, less what differs by design: the CSRF token, the
    sealed anonymous cookie and the username typed (which the form shows back)."""
    body = without_csrf_token(response.text).replace(username, "USERNAME")
    headers = sorted(
        (name, re.sub(r"^session=[^;]*", "session=SEALED", value))
        for name, value in response.headers.items()
        if name != "Date"
    )
    return response.status_code, headers, body


def _post_with_token(web, form: dict):
    page = web.get("/login").text
    token = CSRF_FIELD.search(page).group(0).split('value="')[1].rstrip('"')
    return web.post("/login", data={**form, "csrf_token": token})


@pytest.mark.parametrize("role", ["reporter", "officer"])
def test_an_unknown_username_and_a_wrong_password_get_the_same_answer(db, limited, make_user, role):
    tag = uuid.uuid4().hex[:8]
    known = make_user(role, username=f"known-{tag}")
    unknown = f"ghost-{tag}"  # as long as the real one: the page's length tells nothing
    instance = limited(WTF_CSRF_ENABLED=True)
    first, second = _client(instance, "192.0.2.70"), _client(instance, "192.0.2.71")

    wrong_password = _post_with_token(first, _wrong(known))
    no_such_user = _post_with_token(second, {"username": unknown, "password": PASSWORD})

    assert wrong_password.status_code == no_such_user.status_code == 200
    assert GENERIC_ERROR in wrong_password.text
    assert _page_without_secrets(wrong_password, known.username) == _page_without_secrets(
        no_such_user, unknown
    )
    db.session.expire_all()
    failures = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "login.failure").order_by(AuditEntry.seq)
    ).all()
    # The audit tells them apart (the real account is named); the visitor cannot.
    assert [(f.target, f.detail) for f in failures] == [
        (f"user:{known.id}", "password"),
        (None, None),
    ]


@pytest.mark.parametrize("which", ["known", "unknown"])
def test_known_and_unknown_usernames_are_throttled_alike(db, limited, make_user, which):
    tag = uuid.uuid4().hex[:8]
    real = make_user("police", username=f"kestrel-{tag}")
    name = real.username if which == "known" else f"krypton-{tag}"
    web = _client(limited(), "192.0.2.80")
    # The name as typed in different ways is still one account (and one counter):
    # case, spaces around it, and a Kelvin sign that lower() makes a "k".
    typed = [name, name.upper(), f"  {name} ", name.title(), "\u212a" + name[1:]]
    for variant in typed[:ACCOUNT_LIMIT]:
        assert (
            web.post("/login", data={"username": variant, "password": "wrong!"}).status_code == 200
        )
    throttled = web.post("/login", data={"username": name, "password": PASSWORD})
    _assert_throttled(db, throttled)
    # The other name of the pair was not touched by this one's failures.
    other = f"krypton-{tag}" if which == "known" else real.username
    assert web.post("/login", data={"username": other, "password": "wrong!"}).status_code == 200


def test_the_throttled_answer_is_the_same_for_known_and_unknown_names(db, limited, make_user):
    tag = uuid.uuid4().hex[:8]
    real = make_user("reporter", username=f"known-{tag}")
    web = _client(limited(), "192.0.2.90")
    pages = []
    for name in (real.username, f"ghost-{tag}"):
        for _ in range(ACCOUNT_LIMIT):
            web.post("/login", data={"username": name, "password": "wrong!"})
        pages.append(web.post("/login", data={"username": name, "password": PASSWORD}))
    assert [page.status_code for page in pages] == [429, 429]
    assert without_csrf_token(pages[0].text) == without_csrf_token(pages[1].text)


# --- known devices ---------------------------------------------------------------------


def _known_browser(instance, user, address):
    """A browser the user signed in with earlier, whose session has since timed out: only
    its known-device cookie is left."""
    first = _client(instance, address)
    assert first.post("/login", data=login_data(user)).status_code == 302
    cookie = first.get_cookie(COOKIE)
    assert cookie is not None
    later = _client(instance, address)
    later.set_cookie(COOKIE, cookie.value)
    return later, cookie


def _spend_the_shared_allowance(db, instance, user) -> None:
    """Wrong passwords from many addresses until the account's shared allowance is gone."""
    answers = [
        _client(instance, f"198.51.100.{n + 1}").post("/login", data=_wrong(user)).status_code
        for n in range(ACCOUNT_LIMIT)
    ]
    assert set(answers) <= {200, 429} and answers.count(200) >= ACCOUNT_LIMIT - 1, answers
    _assert_throttled(db, _client(instance, "203.0.113.9").post("/login", data=login_data(user)))


def test_others_spending_an_accounts_allowance_do_not_lock_out_its_known_browser(
    db, limited, make_user
):
    police = make_user("police")
    instance = limited()
    owner, _ = _known_browser(instance, police, "192.0.2.20")
    _spend_the_shared_allowance(db, instance, police)

    assert owner.post("/login", data=login_data(police)).status_code == 302
    assert owner.get("/cases/").status_code == 200
    # the attackers are still held back
    stranger = _client(instance, "203.0.113.10")
    _assert_throttled(db, stranger.post("/login", data=login_data(police)))


def test_a_known_browser_is_throttled_on_its_own_as_strictly(db, limited, make_user, sign_ins):
    police = make_user("police")
    instance = limited()
    owner, _ = _known_browser(instance, police, "192.0.2.21")
    for _ in range(ACCOUNT_LIMIT):
        assert owner.post("/login", data=_wrong(police)).status_code == 200
    reached = len(sign_ins)
    _assert_throttled(db, owner.post("/login", data=login_data(police)))
    assert len(sign_ins) == reached
    # its refusals were its own: a stranger still has the shared allowance (one attempt of
    # it went on the sign-in that made the browser known)
    assert _client(instance, "192.0.2.22").post("/login", data=login_data(police)).status_code == (
        302
    )


@pytest.mark.parametrize(
    "cookie", ["another account's", "forged tag", "no tag", "reissued later", "garbage"]
)
def test_a_cookie_not_given_for_the_account_typed_buys_nothing(db, limited, make_user, cookie):
    police, officer = make_user("police"), make_user("officer")
    instance = limited()
    _, polices = _known_browser(instance, police, "192.0.2.26")
    _, officers = _known_browser(instance, officer, "192.0.2.23")
    nonce, issued, tag = polices.value.split(".")
    value = {
        "another account's": officers.value,
        "forged tag": f"{nonce}.{issued}.{'0' * len(tag)}",
        "no tag": f"{nonce}.{issued}",
        "reissued later": f"{nonce}.{int(issued) + 1}.{tag}",  # the day is under the MAC
        "garbage": "\u00e9." * 300,
    }[cookie]
    _spend_the_shared_allowance(db, instance, police)
    web = _client(instance, "192.0.2.24")
    web.set_cookie(COOKIE, value)
    _assert_throttled(db, web.post("/login", data=login_data(police)))


def test_a_known_browser_is_a_stranger_once_the_password_changed(db, limited, make_user):
    """A copy of the cookie (a borrowed phone) is worth nothing after a password change,
    a reset or a restore: each gives the account a new password hash."""
    police = make_user("police")
    instance = limited()
    owner, _ = _known_browser(instance, police, "192.0.2.27")
    police.password_hash = hash_password("a new passphrase for him", argon2_params())
    db.session.commit()
    _spend_the_shared_allowance(db, instance, police)
    _assert_throttled(db, owner.post("/login", data=login_data(police, "a new passphrase for him")))


def test_a_known_browser_is_a_stranger_after_the_cookies_lifetime(db, limited, make_user):
    police = make_user("police")
    instance = limited()
    owner, _ = _known_browser(instance, police, "192.0.2.28")
    lifetime = instance.config["KNOWN_DEVICE_LIFETIME"]
    with time_machine.travel(utcnow() + lifetime + timedelta(minutes=1), tick=False):
        _spend_the_shared_allowance(db, instance, police)
        _assert_throttled(db, owner.post("/login", data=login_data(police)))


def test_a_username_the_form_refuses_is_refused_cleanly_with_a_cookie(db, limited, make_user):
    police = make_user("police")
    instance = limited()
    owner, _ = _known_browser(instance, police, "192.0.2.29")
    for typed in (police.username + "\x00", "\x00", "x" * 10_000):
        response = owner.post("/login", data={"username": typed, "password": PASSWORD})
        assert response.status_code == 200, repr(typed[:20])
        assert 'class="error"' in response.text  # the form's own refusal, no server error


def test_the_known_device_cookie_is_opaque_and_strict(db, limited, make_user):
    leader = make_user("reporter")
    web = _client(limited())
    response = web.post("/login", data=login_data(leader))
    assert response.status_code == 302
    header = next(
        value for value in response.headers.getlist("Set-Cookie") if value.startswith(COOKIE + "=")
    )
    attributes = [part.strip().lower() for part in header.split(";")[1:]]
    assert {"httponly", "path=/", "samesite=strict"} <= set(attributes), header
    assert not any(part.startswith("domain=") for part in attributes)  # as __Host- needs
    max_age = next(int(part.split("=")[1]) for part in attributes if part.startswith("max-age"))
    assert max_age == 90 * 24 * 3600
    value = header.split(";")[0].split("=", 1)[1]
    # a random nonce, the second it was issued, an HMAC: no name, no id
    nonce, issued, tag = value.split(".")
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", nonce) and re.fullmatch(r"[0-9a-f]{64}", tag)
    assert abs(int(issued) - time.time()) < 60
    assert leader.username not in value
    # another sign-in, another nonce: two browsers of one account are not linkable
    again = _client(limited())
    assert again.post("/login", data=login_data(leader)).status_code == 302
    assert again.get_cookie(COOKIE).value.split(".")[0] != nonce


def test_signing_out_makes_the_browser_a_stranger_again(db, limited, make_user):
    police = make_user("police")
    instance = limited()
    web = _client(instance, "192.0.2.25")
    assert web.post("/login", data=login_data(police)).status_code == 302
    assert web.get_cookie(COOKIE) is not None
    response = web.post("/logout")
    assert "cookies" in response.headers["Clear-Site-Data"]
    assert web.get_cookie(COOKIE) is None
    _spend_the_shared_allowance(db, instance, police)
    _assert_throttled(db, web.post("/login", data=login_data(police)))


# --- two instances, one Redis -----------------------------------------------------------


def _keys_with(url: str, prefix: str) -> list[bytes]:
    import redis

    connection = redis.Redis.from_url(url)
    try:
        return list(connection.scan_iter(match=f"*{prefix}*"))
    finally:
        connection.close()


@pytest.fixture()
def redis_prefix():
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    url = _redis_url()
    prefix = f"incidents-test-{uuid.uuid4().hex}"
    yield url, prefix
    connection = redis.Redis.from_url(url)
    try:
        keys = list(connection.scan_iter(match=f"*{prefix}*"))
        if keys:
            connection.delete(*keys)
    finally:
        connection.close()


def test_two_instances_sharing_redis_share_the_account_throttle(
    db, limited, make_user, redis_prefix
):
    url, prefix = redis_prefix
    officer = make_user("officer")
    shared = {"RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": prefix}
    one = _client(limited(**shared), "192.0.2.100")
    for _ in range(ACCOUNT_LIMIT):
        assert one.post("/login", data=_wrong(officer)).status_code == 200
    assert any(b"sign-in-account" in key for key in _keys_with(url, prefix))
    first_storage = limiter.storage

    # Instance two is built after the failures, with its own connection to Redis: what
    # it knows of them, it knows from Redis (the limiter object is shared in-process).
    two = _client(limited(**shared), "192.0.2.200")
    assert limiter.storage is not first_storage

    _assert_throttled(db, two.post("/login", data=login_data(officer)))
    assert _sessions(db) == 0


def test_without_shared_storage_a_new_instance_counts_afresh(db, limited, make_user):
    """The control of the test above: with memory storage (one per instance, as in each
    worker process), instance two knows nothing of instance one's failures."""
    officer = make_user("officer")
    one = _client(limited(RATELIMIT_STORAGE_URI="memory://"))
    for _ in range(ACCOUNT_LIMIT):
        one.post("/login", data=_wrong(officer))
    _assert_throttled(db, one.post("/login", data=login_data(officer)))
    two = _client(limited(RATELIMIT_STORAGE_URI="memory://"))
    assert two.post("/login", data=login_data(officer)).status_code == 302


def test_a_burst_of_concurrent_refusals_cannot_outrun_the_account_throttle(
    db, limited, make_user, monkeypatch
):
    """Guesses sent at once, from many addresses, are checked no more often than the
    account limit allows: a count that is only tested when a request starts, and added
    to when it ends, lets every request in flight through."""
    police = make_user("police")
    instance = limited()
    burst = ACCOUNT_LIMIT + 3
    arrived, lock, all_in = [], threading.Lock(), threading.Event()
    real = service.sign_in

    def held(*args, **kwargs):
        # Each guess waits here (a second at most) until the whole burst is in flight.
        with lock:
            arrived.append(args[0])
            if len(arrived) == burst:
                all_in.set()
        all_in.wait(timeout=1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "sign_in", held)
    statuses, errors = [], []
    form = _wrong(police)  # read here: the threads have no app context of the test's
    clients = [_client(instance, f"198.51.100.{n + 1}") for n in range(burst)]

    def guess(web):
        try:
            statuses.append(web.post("/login", data=form).status_code)
        except Exception as error:  # noqa: BLE001 (reported below, in the test's thread)
            errors.append(error)

    threads = [threading.Thread(target=guess, args=(web,)) for web in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [] and 500 not in statuses
    assert len(arrived) <= ACCOUNT_LIMIT, f"{len(arrived)} guesses reached the password check"


def test_guesses_count_against_the_account_however_they_are_encoded(
    db, limited, make_user, sign_ins
):
    """Flask-WTF also reads a JSON body into the sign-in form, so a JSON guess is checked
    against the account's password: it must count toward that account like a form one."""
    leader = make_user("reporter")
    web = _client(limited(), "192.0.2.120")
    for _ in range(ACCOUNT_LIMIT):
        web.post("/login", json={"username": leader.username, "password": "a json guess!"})
    statuses = []
    for _ in range(ACCOUNT_LIMIT + 1):
        statuses.append(web.post("/login", data=_wrong(leader)).status_code)
        if statuses[-1] == 429:
            break
    checked = [name for name in sign_ins if service.normalise_username(name) == leader.username]
    assert len(checked) <= ACCOUNT_LIMIT, (
        f"{len(checked)} guesses were checked against one account within a minute "
        f"(form answers {statuses})"
    )


def test_an_ipv6_subscriber_cannot_dodge_the_address_limit_with_new_addresses(
    db, limited, make_user
):
    """A /64 is usually one subscriber's: it shares one count; the next /64 has its own."""
    officer = make_user("officer")
    instance = limited(LOGIN_RATE_LIMIT="3 per minute")
    for n in range(3):  # three addresses of one /64, each a new name
        web = _client(instance, f"2001:db8:1:2::{n + 1:x}")
        guess = {"username": f"guess{n}-{uuid.uuid4().hex[:6]}", "password": PASSWORD}
        assert web.post("/login", data=guess).status_code == 200
    _assert_throttled(
        db, _client(instance, "2001:db8:1:2:ffff::9").post("/login", data=login_data(officer))
    )
    neighbour = _client(instance, "2001:db8:1:3::1")  # the next /64: another subscriber
    assert neighbour.post("/login", data=login_data(officer)).status_code == 302


def test_sign_ins_refused_for_their_csrf_token_are_throttled_and_audited_sparingly(
    db, limited, make_user
):
    """A flood of token-less sign-ins from one address: the throttle counts them (it runs
    before the CSRF check) and the audit trail gets one entry per refusal it let through,
    then one a minute for the throttle's own refusals (600 in 40 s before)."""
    instance = limited(LOGIN_RATE_LIMIT="5 per minute", WTF_CSRF_ENABLED=True)
    web = _client(instance, "192.0.2.77")
    statuses = [
        web.post("/login", data={"username": "x", "password": "y"}).status_code for _ in range(40)
    ]
    assert statuses == [400] * 5 + [429] * 35
    db.session.expire_all()
    audited = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "login.failure")
    ).all()
    assert audited == ["refused 400"] * 5 + ["refused 429"]


def test_the_password_change_form_spends_the_accounts_allowance(db, limited, make_user):
    """Each try runs Argon2id, and a cookie thief inside the re-authentication window
    would guess the password there: the account's sign-in allowance bounds it."""
    officer = make_user("officer")
    instance = limited()
    web = _client(instance, "192.0.2.78")
    assert web.post("/login", data=login_data(officer)).status_code == 302
    from incidents.web import AUTHENTICATED_AT

    with web.session_transaction() as session:
        session[AUTHENTICATED_AT] = int(time.time())
    wrong = {"current_password": "a guess", "new_password": "x" * 20, "confirm": "x" * 20}
    statuses = [web.post("/account/password", data=wrong).status_code for _ in range(8)]
    assert 429 in statuses and statuses.index(429) <= ACCOUNT_LIMIT

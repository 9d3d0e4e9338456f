"""incidents.crypto: sealing, context binding, key wrapping and password hashes."""

import base64
import os
import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.crypto import DecryptionError
from incidents.crypto.fields import new_data_key, open_text, seal_text
from incidents.crypto.keys import (
    format_recovery_key,
    key_encryption_key,
    key_fingerprint,
    new_seed,
    open_with,
    parse_recovery_key,
    public_key,
    seal_to,
    unwrap_seed,
    wrap_seed,
)
from incidents.crypto.passwords import Argon2Params, hash_password, needs_rehash, verify_password

CHEAP = Argon2Params(memory_kib=1024, iterations=1, lanes=1)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=300))
def test_seal_then_open_returns_the_text(text):
    key = new_data_key()
    sealed = seal_text(key, text, "case1", "narrative", 1)
    assert open_text(key, sealed, "case1", "narrative", 1) == text


def test_every_seal_uses_a_fresh_nonce():
    key = new_data_key()
    assert seal_text(key, "x", "c", "f", 1) != seal_text(key, "x", "c", "f", 1)


def test_ciphertext_does_not_contain_the_plaintext():
    sealed = seal_text(new_data_key(), "Nguyễn Thị Hoa", "c", "victim_name", 1)
    assert "Nguyễn Thị Hoa".encode() not in sealed


def test_a_flipped_byte_anywhere_fails_to_open():
    key = new_data_key()
    sealed = seal_text(key, "Nguyễn Thị Hoa", "c", "victim_name", 1)
    for position in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            open_text(key, bytes(tampered), "c", "victim_name", 1)


@pytest.mark.parametrize(
    ("case_id", "field", "version"),
    [("other", "victim_name", 1), ("c", "narrative", 1), ("c", "victim_name", 2)],
)
def test_a_ciphertext_moved_to_another_case_field_or_version_fails(case_id, field, version):
    key = new_data_key()
    sealed = seal_text(key, "secret", "c", "victim_name", 1)
    with pytest.raises(DecryptionError):
        open_text(key, sealed, case_id, field, version)


def test_another_key_fails_and_truncation_fails():
    sealed = seal_text(new_data_key(), "secret", "c", "f", 1)
    with pytest.raises(DecryptionError):
        open_text(new_data_key(), sealed, "c", "f", 1)
    with pytest.raises(DecryptionError):
        open_text(new_data_key(), sealed[:10], "c", "f", 1)


def test_separator_in_context_is_refused():
    with pytest.raises(ValueError):
        seal_text(new_data_key(), "x", "a|b", "f", 1)


def test_a_sealed_key_opens_only_with_its_seed_and_its_info():
    seed, other = new_seed(), new_seed()
    sealed = seal_to(public_key(seed), b"k" * 32, "incidents/case-key/v1|c|1|desk:1")
    assert open_with(seed, sealed, "incidents/case-key/v1|c|1|desk:1") == b"k" * 32
    assert "k" * 32 not in sealed.decode("latin-1")
    for wrong_seed, info in (
        (other, "incidents/case-key/v1|c|1|desk:1"),  # another desk's key
        (seed, "incidents/case-key/v1|c|1|desk:2"),  # copied to another desk's route
        (seed, "incidents/case-key/v1|d|1|desk:1"),  # copied to another case
    ):
        with pytest.raises(DecryptionError):
            open_with(wrong_seed, sealed, info)
    for position in (0, len(sealed) // 2, len(sealed) - 1):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            open_with(seed, bytes(tampered), "incidents/case-key/v1|c|1|desk:1")


def test_every_seal_is_fresh_and_the_public_key_is_the_hybrid_one():
    seed = new_seed()
    public = public_key(seed)
    assert len(public) == 1184 + 32  # ML-KEM-768 and X25519
    assert public == public_key(seed)  # derived from the seed alone
    assert seal_to(public, b"x", "i") != seal_to(public, b"x", "i")
    with pytest.raises(ValueError):
        seal_to(public[:-1], b"x", "i")


def test_a_wrapped_seed_needs_the_password():
    seed, salt = new_seed(), os.urandom(16)
    wrapped = wrap_seed(key_encryption_key("mật khẩu thật dài", salt, CHEAP), seed, "ctx|1")
    assert (
        unwrap_seed(key_encryption_key("mật khẩu thật dài", salt, CHEAP), wrapped, "ctx|1") == seed
    )
    with pytest.raises(DecryptionError):
        unwrap_seed(key_encryption_key("mật khẩu thật dàI", salt, CHEAP), wrapped, "ctx|1")
    with pytest.raises(DecryptionError):
        unwrap_seed(key_encryption_key("mật khẩu thật dài", salt, CHEAP), wrapped, "ctx|2")


def test_the_key_encryption_key_is_not_the_login_hash():
    password, params = "a long enough password", CHEAP
    login = hash_password(password, params)
    kek = key_encryption_key(password, os.urandom(16), params)
    assert base64.b64encode(kek).decode().rstrip("=") not in login


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_a_recovery_key_survives_writing_down(seed):
    text = format_recovery_key(seed)
    assert parse_recovery_key(text) == seed
    assert parse_recovery_key(text.lower().replace("-", " ")) == seed


def test_a_mistyped_recovery_key_is_told_apart():
    text = format_recovery_key(new_seed())
    swapped = text[:3] + ("A" if text[3] != "A" else "B") + text[4:]
    for typo in (swapped, text[:-2], text + "AAAA", "not a key at all!"):
        with pytest.raises(ValueError):
            parse_recovery_key(typo)


def test_password_hash_is_argon2id_with_own_salt():
    first, second = (
        hash_password("mật khẩu rất dài", CHEAP),
        hash_password("mật khẩu rất dài", CHEAP),
    )
    assert first.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert first != second
    assert verify_password("mật khẩu rất dài", first)
    assert not verify_password("mật khẩu rất dàI", first)
    assert not verify_password("x", "not a hash")


def test_needs_rehash_when_parameters_change():
    encoded = hash_password("some long password", CHEAP)
    assert not needs_rehash(encoded, CHEAP)
    assert needs_rehash(encoded, Argon2Params(memory_kib=65536, iterations=3, lanes=4))
    assert needs_rehash("$2b$legacy", CHEAP)


def test_production_parameters_are_the_documented_cost():
    from config import ProductionConfig

    assert (ProductionConfig.ARGON2_MEMORY_KIB, ProductionConfig.ARGON2_ITERATIONS) == (65536, 3)


def test_argon2id_calls_from_several_threads_all_finish():
    # With several lanes, two Argon2id computations at once in one process never return
    # (cryptography 50 / OpenSSL 4); the threaded development server would hang at two
    # sign-ins. Daemon threads, so that a regression fails here instead of hanging.
    params = Argon2Params(memory_kib=8192, iterations=1, lanes=4)
    encoded = hash_password("a long test password", params)
    jobs = [
        lambda: hash_password("another long password", params),
        lambda: verify_password("a long test password", encoded),
        lambda: key_encryption_key("a long test password", bytes(16), params),
    ] * 2
    finished = []
    threads = [
        threading.Thread(target=lambda job=job: finished.append(job()), daemon=True) for job in jobs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(finished) == len(jobs), "an Argon2id computation never returned"


def test_a_key_code_is_short_to_read_out_and_tells_keys_apart():
    first, second = public_key(new_seed()), public_key(new_seed())
    code = key_fingerprint(first)
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", code)  # 80 bits, base32, no 0/1/8
    assert key_fingerprint(first) == code and key_fingerprint(second) != code

"""incidents.crypto: sealing, context binding, key wrapping and password hashes."""

import base64
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.crypto import DecryptionError
from incidents.crypto.fields import new_data_key, open_text, seal_text
from incidents.crypto.keywrap import decode_server_key, unwrap_case_key, wrap_case_key
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


def test_case_key_wrap_is_bound_to_its_case_and_version():
    server_key, data_key = os.urandom(32), new_data_key()
    wrapped = wrap_case_key(server_key, data_key, "case-a", 1)
    assert unwrap_case_key(server_key, wrapped, "case-a", 1) == data_key
    for case_id, version in (("case-b", 1), ("case-a", 2)):
        with pytest.raises(DecryptionError):
            unwrap_case_key(server_key, wrapped, case_id, version)
    with pytest.raises(DecryptionError):
        unwrap_case_key(os.urandom(32), wrapped, "case-a", 1)


def test_server_key_must_be_32_bytes_of_base64():
    assert decode_server_key(base64.b64encode(b"k" * 32).decode()) == b"k" * 32
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError):
            decode_server_key(bad)


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

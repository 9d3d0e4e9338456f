"""Key pairs for HPKE (RFC 9180) with the post-quantum hybrid KEM ML-KEM-768 + X25519.

Every private key here — a member's, a desk's, a ward's recovery key — is a 32-byte seed;
both halves of the hybrid key pair are derived from it with HKDF. Records of violence must
stay secret for decades, so a sealed key must also withstand a future quantum computer
("harvest now, decrypt later"): hence the hybrid KEM.

Sealing needs only a public key; opening needs the seed. Every seal binds an `info`
string naming what is sealed and for whom, so a sealed key copied to another case, desk
or member fails to open.
"""

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.hpke import (
    AEAD,
    KDF,
    KEM,
    MLKEM768X25519PrivateKey,
    MLKEM768X25519PublicKey,
    Suite,
)
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from incidents.crypto import DecryptionError
from incidents.crypto.fields import open_sealed, seal
from incidents.crypto.passwords import ARGON2_LOCK, Argon2Params

SEED_BYTES = 32
MLKEM_PUBLIC_BYTES = 1184
PUBLIC_KEY_BYTES = MLKEM_PUBLIC_BYTES + 32  # followed by the X25519 public key
SUITE = Suite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_KEYPAIR_INFO = b"incidents/hpke-keypair/v1"


def new_seed() -> bytes:
    """A fresh private key (seed)."""
    return os.urandom(SEED_BYTES)


def _halves(seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    if len(seed) != SEED_BYTES:
        raise ValueError("a key seed is 32 bytes")
    material = HKDF(algorithm=hashes.SHA256(), length=96, salt=None, info=_KEYPAIR_INFO).derive(
        seed
    )
    return (
        mlkem.MLKEM768PrivateKey.from_seed_bytes(material[:64]),
        x25519.X25519PrivateKey.from_private_bytes(material[64:]),
    )


def public_key(seed: bytes) -> bytes:
    """The public key of a seed: ML-KEM-768 public bytes followed by X25519 public bytes."""
    kem_key, dh_key = _halves(seed)
    return kem_key.public_key().public_bytes_raw() + dh_key.public_key().public_bytes_raw()


def seal_to(public: bytes, plaintext: bytes, info: str) -> bytes:
    """Seal plaintext so that only the holder of public's seed can open it, bound to info."""
    if len(public) != PUBLIC_KEY_BYTES:
        raise ValueError("not a public key of this scheme")
    recipient = MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(public[:MLKEM_PUBLIC_BYTES]),
        x25519.X25519PublicKey.from_public_bytes(public[MLKEM_PUBLIC_BYTES:]),
    )
    return SUITE.encrypt(plaintext, recipient, info=info.encode())


def open_with(seed: bytes, sealed: bytes, info: str) -> bytes:
    """Open what seal_to() sealed to seed's public key under the same info."""
    try:
        return SUITE.decrypt(sealed, MLKEM768X25519PrivateKey(*_halves(seed)), info=info.encode())
    except (InvalidTag, ValueError) as error:
        raise DecryptionError("sealed key failed to open") from error


# A recovery seed also gives the ward's signing key, which vouches for its desks' public
# keys: whoever can write to the database cannot make a desk key the server will seal to.
_SIGNING_INFO = b"incidents/recovery-signing/v1"
SIGNING_PUBLIC_BYTES = 32


def _signing_key(seed: bytes) -> ed25519.Ed25519PrivateKey:
    if len(seed) != SEED_BYTES:
        raise ValueError("a key seed is 32 bytes")
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SIGNING_INFO).derive(
        seed
    )
    return ed25519.Ed25519PrivateKey.from_private_bytes(material)


def signing_public_key(seed: bytes) -> bytes:
    """The Ed25519 public key that checks what sign() signs with this seed."""
    return _signing_key(seed).public_key().public_bytes_raw()


def sign(seed: bytes, message: bytes) -> bytes:
    """An Ed25519 signature of message under the signing key derived from seed."""
    return _signing_key(seed).sign(message)


def signature_holds(signing_public: bytes, signature: bytes, message: bytes) -> bool:
    """Whether signature is signing_public's over message."""
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(signing_public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


_BINDING_INFO = b"incidents/seat-binding/v1"


def binding(seed: bytes, statement: bytes) -> bytes:
    """A MAC of statement under a key derived from a desk's seed: whoever holds the desk
    vouches that a member's key is the one a person checked (never a database row alone)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_BINDING_INFO).derive(seed)
    return hmac.new(key, statement, hashlib.sha256).digest()


def key_encryption_key(password: str, salt: bytes, params: Argon2Params) -> bytes:
    """The key that wraps a member's seed: Argon2id of the password with its own salt.

    Its salt is not the login hash's, so nothing stored computes it without the password.
    """
    kdf = Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    with ARGON2_LOCK:
        return kdf.derive(password.encode("utf-8"))


def wrap_seed(kek: bytes, seed: bytes, context: str) -> bytes:
    """Encrypt a seed under a key-encryption key, bound to context."""
    return seal(kek, seed, context.encode())


def unwrap_seed(kek: bytes, wrapped: bytes, context: str) -> bytes:
    """Decrypt a wrapped seed; DecryptionError for a wrong password or a moved value."""
    return open_sealed(kek, wrapped, context.encode())


# The recovery key is written down: base32 in groups of five, with a checksum, so that a
# mistyped key is told apart from a wrong one.
_CHECK_BYTES = 3


def key_fingerprint(public: bytes) -> str:
    """A public key's short code for two people to compare aloud, e.g. 'ABCD-EFGH-IJKL-MNOP'.

    80 bits of its SHA-256: making another key with the same code is out of reach.
    """
    digest = hashlib.sha256(b"incidents/key-fingerprint|" + public).digest()[:10]
    text = base64.b32encode(digest).decode()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def format_recovery_key(seed: bytes) -> str:
    """The printable form of a recovery seed, e.g. 'ABCDE-FGHIJ-...'."""
    check = hashlib.sha256(b"incidents/recovery-check|" + seed).digest()[:_CHECK_BYTES]
    text = base64.b32encode(seed + check).decode().rstrip("=")
    return "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def parse_recovery_key(text: str) -> bytes:
    """The seed of a typed recovery key; ValueError (with the reason) if it is mistyped."""
    compact = "".join(text.split()).replace("-", "").upper()
    compact = compact.replace("0", "O").replace("1", "I").replace("8", "B")
    try:
        raw = base64.b32decode(compact + "=" * (-len(compact) % 8))
    except ValueError as error:
        raise ValueError("the recovery key has characters that are not in it") from error
    if len(raw) != SEED_BYTES + _CHECK_BYTES:
        raise ValueError("the recovery key has the wrong length")
    seed, check = raw[:SEED_BYTES], raw[SEED_BYTES:]
    expected = hashlib.sha256(b"incidents/recovery-check|" + seed).digest()[:_CHECK_BYTES]
    if not hmac.compare_digest(check, expected):
        raise ValueError("the recovery key is mistyped (its checksum does not match)")
    return seed

"""Signed checkpoints of the chain's head, kept outside the database. Pure.

A checkpoint says "entry seq had hash h at time t", signed with an Ed25519 key that
lives outside the database; the ward keeps the file elsewhere. Against it, the verifier
also detects a chain cut short after the checkpoint was taken.
"""

import base64
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of the chain's head."""

    seq: int
    hash: bytes
    at: str

    def message(self) -> bytes:
        """The bytes the signature covers."""
        return f"incidents-audit-checkpoint/v1|{self.seq}|{self.hash.hex()}|{self.at}".encode()


def new_signing_key() -> tuple[bytes, bytes]:
    """A fresh Ed25519 key pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def sign(checkpoint: Checkpoint, private_pem: bytes) -> str:
    """The checkpoint file's text: the statement and its signature, as JSON."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key is not an Ed25519 key")
    return json.dumps(
        {
            "seq": checkpoint.seq,
            "hash": checkpoint.hash.hex(),
            "at": checkpoint.at,
            "signature": base64.b64encode(key.sign(checkpoint.message())).decode(),
        },
        indent=2,
    )


def load_verified(text: str, public_pem: bytes) -> Checkpoint:
    """Read a checkpoint file; ValueError unless its signature verifies with public_pem."""
    try:
        data = json.loads(text)
        checkpoint = Checkpoint(int(data["seq"]), bytes.fromhex(data["hash"]), str(data["at"]))
        signature = base64.b64decode(data["signature"], validate=True)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError("the checkpoint file is malformed") from error
    key = serialization.load_pem_public_key(public_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    try:
        key.verify(signature, checkpoint.message())
    except InvalidSignature as error:
        raise ValueError("the checkpoint's signature does not verify") from error
    return checkpoint

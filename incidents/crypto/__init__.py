"""Pure cryptographic functions. Nothing here imports Flask or the application."""

from cryptography.exceptions import InvalidTag


class DecryptionError(Exception):
    """A ciphertext failed to authenticate: tampered, moved, or sealed under another key."""


__all__ = ["DecryptionError", "InvalidTag"]

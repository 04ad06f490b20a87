"""Encrypting secrets kept in the database (a business's processor keys) under keys from the environment.

A `SecretBox` is made from one or more keys, newest first (`PORTAL_CREDENTIALS_KEYS`, else the deployment's secret
key): it encrypts with the first and opens what any of them encrypted, so a key is rotated by putting the new one in
front, re-encrypting (`rotate`) and then dropping the old one. Each configured key is turned into a Fernet key of
its own for this use alone, so any text will do as a key and nothing else keyed by the same text opens these secrets.
"""

import base64
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "SecretBox"]

_PURPOSE = b"processor-credentials"


def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hmac.new(key.encode(), _PURPOSE, hashlib.sha256).digest()))


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys or not all(keys):
            raise ValueError("a SecretBox needs at least one non-empty key")
        self._fernet = MultiFernet([_fernet(key) for key in keys])

    def __repr__(self) -> str:
        return "SecretBox([redacted])"

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret; raises InvalidToken when none of the keys sealed it (or it was tampered with)."""
        return self._fernet.decrypt(sealed.encode()).decode()

    def rotate(self, sealed: str) -> str:
        """The same secret sealed under the first key."""
        return self._fernet.rotate(sealed.encode()).decode()

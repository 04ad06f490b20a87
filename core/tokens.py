"""Bearer secrets: how they are made, how they are stored (SHA-256 only) and how they are compared.

Each kind has a recognisable prefix so secret scanners and people can tell a leaked token's kind.
"""

import hashlib
import hmac
import secrets

SESSION_PREFIX = "cps_"
LINK_PREFIX = "cpl_"
CHECKOUT_PREFIX = "cpc_"


def new_token(prefix: str) -> tuple[str, str]:
    """A fresh token with 256 bits of randomness and its hash; only the hash may be stored."""
    token = prefix + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison, so timing says nothing about how much of a secret matched."""
    return hmac.compare_digest(given.encode(), expected.encode())

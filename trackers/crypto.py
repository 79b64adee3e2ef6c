"""Tracker credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) under TRACKER_ENCRYPTION_KEY.

The key comes from the environment. Development and tests derive one from SECRET_KEY;
a production server without the key refuses to store or read a credential rather than
keep it in the clear.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialUnreadable(Exception):
    """A stored credential no longer decrypts (the key changed): enter it again."""


def _fernet() -> Fernet:
    key = settings.TRACKER_ENCRYPTION_KEY
    if not key:
        if not settings.TRACKER_DERIVE_DEV_KEY:
            raise ImproperlyConfigured("Set TRACKER_ENCRYPTION_KEY (a Fernet key) before storing tracker credentials.")
        key = base64.urlsafe_b64encode(hashlib.sha256(f"trackers:{settings.SECRET_KEY}".encode()).digest())
    return Fernet(key)


def encrypt(secret: str) -> str:
    """The ciphertext to store for ``secret`` ("" stays "")."""
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def decrypt(token: str) -> str:
    """The secret stored as ``token``; raises ``CredentialUnreadable`` when it will not decrypt."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialUnreadable("The stored credential cannot be decrypted; enter it again.") from exc

"""Passwords in the system keyring, where the platform has one (call from a worker thread: some backends talk
to a daemon). Headless Linux usually has none; callers then keep the password another way and say so."""

from __future__ import annotations

import keyring
import keyring.backends.fail
import keyring.backends.null
from keyring.errors import KeyringError

SERVICE = "Desk"


def keyring_available() -> bool:
    """Whether a real keyring backend works here."""
    try:
        backend = keyring.get_keyring()
    except KeyringError:
        return False
    return not isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring)


def stored_password(key: str) -> str | None:
    if not keyring_available():
        return None
    try:
        return keyring.get_password(SERVICE, key)
    except KeyringError:  # locked or broken keyring: the person types the password instead
        return None


def remember_password(key: str, password: str | None) -> bool:
    """Store the password (or forget it when None); False when no keyring could take it."""
    if not keyring_available():
        return False
    try:
        if password:
            keyring.set_password(SERVICE, key, password)
        elif keyring.get_password(SERVICE, key) is not None:
            keyring.delete_password(SERVICE, key)
    except KeyringError:
        return False
    return True

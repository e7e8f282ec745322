"""Passwords in the system keyring, where the platform has one (call from a worker thread: some backends talk
to a daemon). Headless Linux usually has none; callers then keep the password another way and say so.

keyring is imported at first use, not with this module: it looks through every installed package for backends,
which the window's start on a local file or a Desk server need not wait for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "Desk"


def _backend() -> KeyringBackend | None:
    """The working keyring backend; None where there is none."""
    import keyring
    from keyring.backends import fail, null
    from keyring.errors import KeyringError

    try:
        backend = keyring.get_keyring()
    except KeyringError:
        return None
    return None if isinstance(backend, fail.Keyring | null.Keyring) else backend


def keyring_available() -> bool:
    """Whether a real keyring backend works here."""
    return _backend() is not None


def stored_password(key: str) -> str | None:
    backend = _backend()
    if backend is None:
        return None
    from keyring.errors import KeyringError  # loaded by _backend()

    try:
        return backend.get_password(SERVICE, key)
    except KeyringError:  # locked or broken keyring: the person types the password instead
        return None


def remember_password(key: str, password: str | None) -> bool:
    """Store the password (or forget it when None); False when no keyring could take it."""
    backend = _backend()
    if backend is None:
        return False
    from keyring.errors import KeyringError  # loaded by _backend()

    try:
        if password:
            backend.set_password(SERVICE, key, password)
        elif backend.get_password(SERVICE, key) is not None:
            backend.delete_password(SERVICE, key)
    except KeyringError:
        return False
    return True
